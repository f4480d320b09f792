"""The web chat over HTTP on loopback: sign-in and activation, sessions and their cookie, CSRF, headers,
files, rate limits, bad input, live delivery, and a prompt that survives an expired session."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSMsgType
from sqlalchemy import event, select
from yarl import URL

from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from bot.web.security import RateLimiter
from bot.web.server import Limits
from bot.web.transport import Preloaded
from services.core.actor import Channel
from services.core.clock import FrozenClock
from services.core.identity import load_actor
from services.platform.outbox import Due, enqueue
from services.regime.calendar import working_calendar
from storage.models import ChannelIdentity, Outbox, WebSession
from tests.conftest import sqlite_url
from tests.test_accounts import audit_actions, tree
from tests.test_lookup import add_people
from tests.webchat import Browser, WebChatUnderTest, served

NEW_PASSWORD = "mat-khau-web-2026"


@pytest.fixture
async def web(runtime: Runtime) -> AsyncIterator[WebChatUnderTest]:
    await tree(runtime.uow, runtime.clock)
    async with served(runtime) as chat:
        yield chat


async def active(web: WebChatUnderTest, username: str = "lan.syt", unit: str = "SYT", role: str = "clerk") -> Browser:
    browser = web.browser()
    response = await browser.activate(await web.issue(username, unit, role), NEW_PASSWORD)
    assert response.status == 303
    return browser


async def identities(runtime: Runtime) -> list[tuple[str, str, bool]]:
    async with runtime.uow.read() as repos:
        rows = (await repos.session.scalars(select(ChannelIdentity).order_by(ChannelIdentity.id))).all()
        return [(row.channel, row.address, row.revoked_at is None) for row in rows]


# -- activation and sign-in ----------------------------------------------------------------------------
async def test_activation_sets_the_password_binds_the_web_and_opens_the_chat(web: WebChatUnderTest) -> None:
    browser = web.browser()
    code = await web.issue("lan.syt", "SYT", "clerk")
    response = await browser.activate(code, NEW_PASSWORD)
    assert response.status == 303 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "hoso_session=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain http on loopback; https makes it Secure (below)
    page = await browser.open_chat()
    assert "Lan.Syt" in page
    assert await identities(web.runtime) == [("web", "1", True)]  # the account's own id is its web address
    assert ["auth.activate", "auth.password_set"] == [a for a in await audit_actions(web.runtime.uow)
                                                      if a.startswith("auth.")]
    # The password set there signs in on the web again.
    again = web.browser()
    assert (await again.sign_in("lan.syt", NEW_PASSWORD)).status == 303


@pytest.mark.parametrize("case", ["garbage", "reused", "expired"])
async def test_a_bad_activation_code_is_refused_by_name_and_the_form_stays_filled(web: WebChatUnderTest,
                                                                                  case: str) -> None:
    code = await web.issue("lan.syt", "SYT", "clerk")
    if case == "reused":
        await active_with(web, code)
    if case == "expired":
        assert isinstance(web.runtime.clock, FrozenClock)
        web.runtime.clock.advance(dt.timedelta(hours=73))
    typed = "not-a-code-<b>" if case == "garbage" else code
    browser = web.browser()
    response = await browser.post_form("/activate", code=typed, password=NEW_PASSWORD, password2=NEW_PASSWORD)
    page = await response.text()
    assert response.status == 400
    assert "Mã kích hoạt không hợp lệ" in page  # translated, Vietnamese first
    assert 'value="not-a-code-&lt;b&gt;"' in page if case == "garbage" else f'value="{code}"' in page
    assert "Traceback" not in page


async def active_with(web: WebChatUnderTest, code: str) -> None:
    assert (await web.browser().activate(code, NEW_PASSWORD)).status == 303


async def test_a_password_that_breaks_the_rule_does_not_spend_the_code(web: WebChatUnderTest) -> None:
    code = await web.issue("lan.syt", "SYT", "clerk")
    browser = web.browser()
    short = await browser.post_form("/activate", code=code, password="ngan", password2="ngan")
    assert short.status == 400 and "8" in await short.text()
    differ = await browser.post_form("/activate", code=code, password=NEW_PASSWORD, password2=NEW_PASSWORD + "x")
    assert differ.status == 400 and "không giống nhau" in await differ.text()
    assert (await browser.activate(code, NEW_PASSWORD)).status == 303  # still usable


async def test_a_wrong_password_is_refused_without_naming_what_was_wrong(web: WebChatUnderTest) -> None:
    await active(web)
    browser = web.browser()
    wrong = await browser.sign_in("lan.syt", "sai-mat-khau")
    unknown = await browser.sign_in("ai.do", "sai-mat-khau")
    for response in (wrong, unknown):
        page = await response.text()
        assert response.status == 401 and "Sai tên đăng nhập hoặc mật khẩu." in page
    assert 'value="lan.syt"' in await wrong.text()  # the username stays; a password is never sent back


async def test_five_failures_lock_the_account_counting_telegram_and_the_web_together(web: WebChatUnderTest) -> None:
    from services.accounts.service import AccountService
    from services.core.identity import load_actor

    await active(web)
    async with web.runtime.uow.write() as repos:  # the same account is also bound to a Telegram user
        await repos.identities.bind(1, "telegram", "501", web.runtime.clock.now())
    telegram = AccountService(web.runtime.uow, await load_actor(web.runtime.uow, "telegram", 501), web.runtime.clock)
    for _ in range(3):
        assert not (await telegram.confirm_password("sai")).ok
    browser = web.browser()
    assert (await browser.sign_in("lan.syt", "sai")).status == 401
    locked = await browser.sign_in("lan.syt", "sai")
    assert "tài khoản đã bị khoá" in await locked.text()
    right = await browser.sign_in("lan.syt", NEW_PASSWORD)  # the right password no longer opens it
    assert right.status == 401 and "tài khoản đã bị khoá" in await right.text()


async def test_a_form_without_its_token_is_refused(web: WebChatUnderTest) -> None:
    await active(web)
    browser = web.browser()
    response = await browser.http.post(browser.url("/login"), data={"username": "lan.syt", "password": NEW_PASSWORD},
                                       allow_redirects=False)
    assert response.status == 403 and "Biểu mẫu này đã hết hạn" in await response.text()
    await browser.form("/login")  # the cookie is set, but the token is forged
    forged = await browser.http.post(browser.url("/login"), allow_redirects=False,
                                     data={"csrf": "forged", "username": "lan.syt", "password": NEW_PASSWORD})
    assert forged.status == 403


# -- sessions ---------------------------------------------------------------------------------------------
async def test_each_sign_in_issues_a_new_session_and_stores_only_its_hash(web: WebChatUnderTest) -> None:
    await active(web)
    browser = web.browser()
    planted = "fixed-by-an-attacker-0123456789"
    browser.http.cookie_jar.update_cookies({"hoso_session": planted}, URL(web.base))
    await browser.sign_in("lan.syt", NEW_PASSWORD)
    first = session_cookie(browser)
    await browser.http.post(browser.url("/logout"), data={"csrf": browser.csrf}, allow_redirects=False)
    await browser.sign_in("lan.syt", NEW_PASSWORD)
    second = session_cookie(browser)
    assert len({planted, first, second}) == 3
    async with web.runtime.uow.read() as repos:
        stored = [row.token_hash for row in (await repos.session.scalars(select(WebSession))).all()]
    assert len(stored) == 3 and first not in stored and second not in stored  # only hashes
    assert all(len(value) == 64 for value in stored)


def session_cookie(browser: Browser) -> str:
    return browser.http.cookie_jar.filter_cookies(URL(browser.base))["hoso_session"].value


async def test_a_session_cookie_replayed_after_logout_is_refused(web: WebChatUnderTest) -> None:
    browser = await active(web)
    token = session_cookie(browser)
    response = await browser.http.post(browser.url("/logout"), data={"csrf": browser.csrf}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/login?why=bye"
    replay = web.browser()
    replay.http.cookie_jar.update_cookies({"hoso_session": token}, response.url)
    async with replay.http.get(replay.url("/api/events?after=0")) as refused:
        assert refused.status == 401
        assert (await refused.json())["error"] == "Phiên làm việc đã kết thúc. Vui lòng đăng nhập lại."
    async with replay.http.get(replay.url("/"), allow_redirects=False) as page:
        assert page.status == 303 and page.headers["Location"] == "/login"


async def test_logout_needs_the_page_token(web: WebChatUnderTest) -> None:
    browser = await active(web)
    response = await browser.http.post(browser.url("/logout"), data={"csrf": "forged"}, allow_redirects=False)
    assert response.status == 403
    assert (await browser.say("/start"))[0] == 200  # still signed in


async def test_an_idle_session_ends_and_the_prompt_resumes_after_signing_in_again(web: WebChatUnderTest,
                                                                                 ) -> None:
    browser = await active(web)
    assert (await browser.say("/find"))[0] == 200  # asks who to look for
    assert "Gõ họ tên" in (await browser.bot_texts())[-1]
    assert isinstance(web.runtime.clock, FrozenClock)
    web.runtime.clock.advance(dt.timedelta(hours=9))  # past HOSO_WEB_SESSION_HOURS (8)
    status, answer = await browser.say("31/02/1990")
    assert status == 401 and answer["error"] == "Phiên làm việc đã kết thúc. Vui lòng đăng nhập lại."
    assert (await browser.sign_in("lan.syt", NEW_PASSWORD)).status == 303
    before = (await browser.events())[-1]["seq"]
    assert (await browser.say("31/02/1990"))[0] == 200  # the same prompt answers: re-asked with the reason
    assert "31/02/1990" in (await browser.bot_texts(before))[-1]


async def test_a_revoked_account_loses_its_web_session(web: WebChatUnderTest) -> None:
    from services.accounts.service import AccountService
    from services.core.actor import Actor

    browser = await active(web)
    await AccountService(web.runtime.uow, Actor.system(), web.runtime.clock).revoke("lan.syt", "05/QĐ")
    assert (await browser.say("/start"))[0] == 401


async def test_the_cookie_is_secure_behind_https(tmp_path: object, clock: FrozenClock) -> None:
    settings = Settings(_env_file=None, database_url=sqlite_url(tmp_path), files_dir=tmp_path / "files",  # type: ignore[operator]
                        web_url="https://hoso.cantho.gov.vn/")
    async with open_runtime(settings, clock) as runtime:
        await runtime.database.upgrade()
        await tree(runtime.uow, runtime.clock)
        async with served(runtime) as chat:
            browser = chat.browser()
            response = await browser.post_form("/activate", code=await chat.issue("lan.syt", "SYT", "clerk"),
                                               password=NEW_PASSWORD, password2=NEW_PASSWORD)
            assert "Secure" in response.headers["Set-Cookie"]
            assert response.headers["Strict-Transport-Security"].startswith("max-age=")


# -- headers, CSRF and bad input of the page's calls ---------------------------------------------------------
@pytest.mark.parametrize("path", ["/login", "/api/events", "/no-such-page", "/static/hoso.js"])
async def test_every_response_carries_the_strict_headers(web: WebChatUnderTest, path: str) -> None:
    browser = web.browser()
    async with browser.http.get(browser.url(path)) as response:
        headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "http" not in csp  # nothing from elsewhere
    assert headers["Referrer-Policy"] == "no-referrer" and headers["X-Content-Type-Options"] == "nosniff"
    if not path.startswith("/static/"):
        assert headers["Cache-Control"] == "no-store"


async def test_pages_load_nothing_from_elsewhere(web: WebChatUnderTest) -> None:
    browser = await active(web)
    page = await browser.open_chat()
    login = await (await browser.http.get(browser.url("/login?x"))).text()
    for html in (page, login):
        assert "http://" not in html and "https://" not in html and "//" not in html.replace("<!doctype", "")


async def test_the_page_calls_need_the_session_token(web: WebChatUnderTest) -> None:
    browser = await active(web)
    assert (await browser.call("/api/say", {"text": "/start"}, csrf=None))[0] == 403
    status, answer = await browser.call("/api/say", {"text": "/start"}, csrf="forged")
    assert status == 403 and answer["error"] == "Biểu mẫu này đã hết hạn. Vui lòng tải lại trang và thử lại."
    assert await browser.messages() == []  # nothing was fed


async def test_oversized_and_malformed_messages_get_a_translated_refusal(web: WebChatUnderTest) -> None:
    browser = await active(web)
    status, answer = await browser.say("x" * 4097)
    assert status == 413 and answer["error"] == "Mỗi tin nhắn có tối đa 4096 ký tự."
    async with browser.http.post(browser.url("/api/say"), data=b"{" + b"x" * 70_000,
                                 headers={"X-CSRF-Token": browser.csrf or "", "Content-Type": "application/json"}) as big:
        assert big.status == 413 and (await big.json())["error"] == "Nội dung gửi lên quá lớn."
    assert (await browser.call("/api/say", ["not", "an", "object"]))[0] == 400
    assert (await browser.call("/api/press", {"message_id": "1", "data": "x"}))[0] == 400


async def test_html_typed_or_stored_is_shown_as_text(web: WebChatUnderTest) -> None:
    browser = await active(web)
    await browser.say("/find <script>alert(1)</script>")
    mine, reply = await browser.messages()
    assert mine == {"id": mine["id"], "from": "me", "text": "/find <script>alert(1)</script>", "buttons": []}
    assert "<script>" not in reply["html"] and "&lt;script&gt;alert(1)&lt;/script&gt;" in reply["html"]


async def test_a_flood_of_messages_is_rate_limited(runtime: Runtime) -> None:
    await tree(runtime.uow, runtime.clock)
    slow = Limits(messages=RateLimiter(3, 0.01), sign_in=RateLimiter(10, 0.1), requests=RateLimiter(300, 100.0))
    async with served(runtime, slow) as web:
        browser = await active(web)
        statuses = [(await browser.say("/start"))[0] for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
        status, answer = await browser.say("/start")
        assert answer["error"] == "Quá nhiều yêu cầu. Vui lòng đợi một lát rồi thử lại."


async def test_sign_in_attempts_are_rate_limited_per_address(runtime: Runtime) -> None:
    await tree(runtime.uow, runtime.clock)
    strict = Limits(messages=RateLimiter(30, 10.0), sign_in=RateLimiter(3, 0.001), requests=RateLimiter(300, 100.0))
    async with served(runtime, strict) as web:
        browser = web.browser()
        statuses = [(await browser.sign_in("ai.do", "sai")).status for _ in range(4)]
        assert statuses == [401, 401, 401, 429]


async def test_a_flood_of_requests_is_limited_per_client_behind_a_trusted_proxy(runtime: Runtime) -> None:
    await tree(runtime.uow, runtime.clock)
    runtime.settings = runtime.settings.model_copy(update={"web_trusted_proxies": "127.0.0.1"})
    tight = Limits(messages=RateLimiter(30, 10.0), sign_in=RateLimiter(10, 0.1), requests=RateLimiter(5, 0.01))
    async with served(runtime, tight) as web:
        browser = web.browser()
        statuses = []
        for _ in range(6):  # the proxy names the client; a cookie of its own invention changes nothing
            async with browser.http.get(browser.url("/login"), headers={"X-Forwarded-For": "10.1.2.3"},
                                        cookies={"hoso_session": f"made-up-{len(statuses)}"}) as response:
                statuses.append(response.status)
                last = (await response.text(), response.headers.get("Retry-After"))
        assert statuses == [200, 200, 200, 200, 200, 429]
        assert "Quá nhiều yêu cầu. Vui lòng đợi một lát rồi thử lại." in last[0] and last[1] == "100"
        async with browser.http.get(browser.url("/login"), headers={"X-Forwarded-For": "10.1.2.4"}) as other:
            assert other.status == 200  # another clerk behind the same proxy is not held back


# -- buttons, files and live delivery -------------------------------------------------------------------
async def test_a_button_press_goes_through_and_a_forged_one_is_refused(web: WebChatUnderTest) -> None:
    browser = await active(web)
    await browser.say("/lang")
    keyboard = [m for m in await browser.messages() if m["buttons"]][-1]
    english = next(cell["data"] for row in keyboard["buttons"] for cell in row if "English" in cell["text"])
    assert (await browser.press(keyboard["id"], english))[0] == 200
    assert "The language is now English." in (await browser.bot_texts())[-1]
    status, answer = await browser.press(keyboard["id"], "admin:grant:everything")
    assert status == 409 and answer["error"] == "This button is no longer available."  # now in English


async def test_a_document_is_served_only_to_its_account_and_only_for_a_while(web: WebChatUnderTest) -> None:
    await add_people(web.runtime.uow, web.runtime.clock)
    browser = await active(web)
    await browser.say("/export")
    files = [m["file"] for m in await browser.messages() if m.get("file")]
    assert files and files[0]["name"].endswith(".xlsx")
    path = browser.url(f"/files/{files[0]['id']}")
    async with browser.http.get(path) as response:
        assert response.status == 200 and (await response.read())[:2] == b"PK"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "web.file_download" in await audit_actions(web.runtime.uow)
    other = await active(web, "hoa.stc", "STC", "clerk")
    async with other.http.get(path) as refused:
        assert refused.status == 404 and (await refused.json())["error"] == "Không tìm thấy, hoặc không còn nữa."
    assert isinstance(web.runtime.clock, FrozenClock)
    web.runtime.clock.advance(dt.timedelta(minutes=61))
    await browser.sign_in("lan.syt", NEW_PASSWORD)
    async with browser.http.get(path) as expired:
        assert expired.status == 404


async def events_until(socket: ClientWebSocketResponse, kind: str) -> list[dict[str, Any]]:
    """The page's events, up to the first of `kind` (a readiness signal: no sleeping)."""
    seen = []
    while True:
        message = await socket.receive(timeout=10)
        assert message.type == WSMsgType.TEXT, message
        seen.append(message.json())
        if seen[-1]["type"] == kind:
            return seen


async def wait_for(socket: ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    return (await events_until(socket, kind))[-1]


async def test_a_reminder_waits_for_the_page_and_then_arrives_live(web: WebChatUnderTest) -> None:
    browser = await active(web)
    clock = web.runtime.clock
    async with web.runtime.uow.write() as repos:
        calendar = await working_calendar(repos)
        added = await enqueue(repos, clock, [Due("incident", 1, "incident", "1", clock.now().date(),
                                                 {"text": "Mất điện <b>toàn tỉnh</b>", "locale": "vi"})],
                              calendar, wanted=clock.now())
    assert added == 1
    assert await web.deliver() == 0  # no page open: it waits in the outbox
    async with web.runtime.uow.read() as repos:
        assert [row.status for row in (await repos.session.scalars(select(Outbox))).all()] == ["pending"]
    async with browser.http.ws_connect(browser.url("/ws?after=0"), origin=web.base) as socket:
        event = await wait_for(socket, "message")  # the page opening sends what waited
        assert "Mất điện" in str(event["message"])
        assert web.server.delivering is not None
        await web.server.delivering  # the row is marked once its message is out
    async with web.runtime.uow.read() as repos:
        assert [row.status for row in (await repos.session.scalars(select(Outbox))).all()] == ["sent"]


async def test_a_websocket_from_another_site_is_refused(web: WebChatUnderTest) -> None:
    browser = await active(web)
    async with browser.http.get(browser.url("/ws"), headers={
            "Origin": "https://evil.example", "Connection": "Upgrade", "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}) as response:
        assert response.status == 403


async def test_reminders_reach_an_account_on_every_channel_it_has(web: WebChatUnderTest) -> None:
    await active(web)
    async with web.runtime.uow.write() as repos:
        await repos.identities.bind(1, "telegram", "501", web.runtime.clock.now())
        calendar = await working_calendar(repos)
        await enqueue(repos, web.runtime.clock, [Due("incident", 1, "incident", "2", web.runtime.clock.now().date(),
                                                     {"text": "x", "locale": "vi"})], calendar,
                      wanted=web.runtime.clock.now())
        rows = (await repos.session.scalars(select(Outbox).order_by(Outbox.channel))).all()
    assert [(row.channel, row.address) for row in rows] == [("telegram", "501"), ("web", "1")]


async def test_an_open_page_is_told_when_its_session_ends(web: WebChatUnderTest) -> None:
    browser = await active(web)
    async with browser.http.ws_connect(browser.url("/ws?after=0"), origin=web.base) as socket:
        await browser.say("/logout")  # typed in the chat: the web identity is revoked
        seen = await events_until(socket, "signed_out")
    assert any("Đã đăng xuất. Để quay lại" in str(event.get("message")) for event in seen)
    assert (await browser.say("/start"))[0] == 401


# -- uploads -------------------------------------------------------------------------------------------------
async def test_a_scanned_paper_uploaded_from_the_page_is_attached_to_the_change(web: WebChatUnderTest) -> None:
    from aiohttp import FormData

    from handlers.changes import ChangeKindPick
    from handlers.dossiers import UpdatePick
    from handlers.forms import FormConfirm
    from services.regime.reference import install_reference_lists
    from services.regime.setup import install_profile
    from storage.models import Attachment, ChangeEvent
    from tests.test_attachments import PDF

    await install_reference_lists(web.runtime.uow)
    await install_profile(web.runtime.uow, web.runtime.clock, "hau-giang-2016")
    people = await add_people(web.runtime.uow, web.runtime.clock)
    hoa = people["001188000111"]
    browser = await active(web)

    async def press_latest(data: str) -> None:
        message = [m for m in await browser.messages() if any(c.get("data") == data for r in m["buttons"] for c in r)][-1]
        assert (await browser.press(message["id"], data))[0] == 200

    async def send_file(name: str, content: bytes) -> tuple[int, dict[str, Any]]:
        form = FormData()
        form.add_field("file", content, filename=name, content_type="application/octet-stream")
        async with browser.http.post(browser.url("/api/upload"), data=form,
                                     headers={"X-CSRF-Token": browser.csrf or ""}) as response:
            return response.status, await response.json()

    await browser.say("/update 001188000111")
    await press_latest(UpdatePick(id=hoa).pack())
    await press_latest(ChangeKindPick(id=hoa, kind="training").pack())
    for answer in ("Bồi dưỡng", "Học viện Hành chính", "01/03/2026", "30/04/2026", "Chứng chỉ", "12/QĐ-SYT",
                   "15/06/2026", "Sở Y tế", "20/06/2026"):
        assert (await browser.say(answer))[0] == 200
    assert (await send_file("quyet-dinh.exe", b"MZ\x90\x00"))[0] == 200  # refused by the form, by its type
    assert ".exe" in (await browser.bot_texts())[-1]
    assert (await send_file("quyet-dinh-12.pdf", PDF))[0] == 200
    assert "📎 quyet-dinh-12.pdf" in str(await browser.messages())
    await press_latest(FormConfirm(action="confirm").pack())
    async with web.runtime.uow.read() as repos:
        [event] = (await repos.session.scalars(select(ChangeEvent))).all()
        [paper] = (await repos.session.scalars(select(Attachment))).all()
    assert event.kind == "training" and paper.file_name == "quyet-dinh-12.pdf"


async def test_an_oversized_or_malformed_upload_gets_a_translated_refusal(web: WebChatUnderTest) -> None:
    from aiohttp import FormData

    browser = await active(web)
    form = FormData()
    form.add_field("file", b"%PDF-" + b"0" * (20 * 1024 * 1024), filename="lon.pdf")
    async with browser.http.post(browser.url("/api/upload"), data=form,
                                 headers={"X-CSRF-Token": browser.csrf or ""}) as response:
        assert response.status == 413 and (await response.json())["error"] == "Nội dung gửi lên quá lớn."
    assert (await browser.call("/api/upload", {"file": "x"}))[0] == 400
    async with browser.http.post(browser.url("/api/upload"), data=FormData({"file": "x"})) as no_token:
        assert no_token.status == 403
    assert await browser.messages() == []


# -- the upgrade ------------------------------------------------------------------------------------------
async def test_an_upgraded_province_keeps_its_telegram_users_and_reaches_them_on_the_web_too(
        database_url: str, clock: FrozenClock) -> None:
    from services.accounts.service import hash_password
    from services.accounts.sign_in import PasswordSignIn
    from services.core.actor import Actor
    from storage import Database, UnitOfWork
    from tests.test_channels import at_revision_0009

    database = Database(database_url)
    try:
        await at_revision_0009(database)  # lan.ct is bound to Telegram user 7000000001 there
        await database.upgrade()
        uow = UnitOfWork(database)
        async with uow.write() as repos:
            account = await repos.accounts.by_username("lan.ct")
            assert account is not None
            account.secret_hash = hash_password(NEW_PASSWORD)
        signed = await PasswordSignIn(uow, Actor.anonymous("web", None), clock).sign_in("lan.ct", NEW_PASSWORD)
        async with uow.write() as repos:
            calendar = await working_calendar(repos)
            await enqueue(repos, clock, [Due("incident", signed.account_id, "incident", "up", clock.now().date(),
                                             {"text": "x", "locale": "vi"})], calendar, wanted=clock.now())
            rows = (await repos.session.scalars(select(Outbox).where(Outbox.object_id == "up")
                                                .order_by(Outbox.channel))).all()
        assert [(row.channel, row.address) for row in rows] == [("telegram", "7000000001"), ("web", "1")]
    finally:
        await database.dispose()


# -- sessions that must stay ended ---------------------------------------------------------------------------
async def test_a_sign_out_typed_in_the_chat_ends_every_browser_for_good(web: WebChatUnderTest) -> None:
    first = await active(web)
    second = web.browser()
    assert (await second.sign_in("lan.syt", NEW_PASSWORD)).status == 303
    assert (await first.say("/logout"))[0] == 200
    assert (await second.say("/start"))[0] == 401
    third = web.browser()  # the account signs in again: the old browsers stay out
    assert (await third.sign_in("lan.syt", NEW_PASSWORD)).status == 303
    assert (await first.say("/start"))[0] == 401 and (await second.say("/start"))[0] == 401
    assert (await third.say("/start"))[0] == 200


async def test_a_reset_ends_the_sessions_even_after_the_new_activation(web: WebChatUnderTest) -> None:
    from services.accounts.service import AccountService
    from services.core.actor import Actor

    lost_device = await active(web)
    issued = await AccountService(web.runtime.uow, Actor.system(), web.runtime.clock).reset("lan.syt", "07/ĐN")
    assert (await lost_device.say("/start"))[0] == 401
    assert (await web.browser().activate(issued.activation_code, NEW_PASSWORD + "2")).status == 303
    assert (await lost_device.say("/start"))[0] == 401


async def test_a_locked_account_loses_its_session_and_is_told_why_at_sign_in(web: WebChatUnderTest) -> None:
    browser = await active(web)
    for _ in range(5):
        await web.browser().sign_in("lan.syt", "sai")
    assert (await browser.say("/start"))[0] == 401
    async with browser.http.get(browser.url("/"), allow_redirects=False) as page:
        assert page.headers["Location"] == "/login"
    refused = await browser.sign_in("lan.syt", NEW_PASSWORD)
    assert "tài khoản đã bị khoá" in await refused.text()


async def test_reading_a_session_for_the_page_does_not_keep_it_alive(web: WebChatUnderTest) -> None:
    browser = await active(web)
    token = session_cookie(browser)
    assert isinstance(web.runtime.clock, FrozenClock)
    for _ in range(9):  # an open page re-checks its session for 9 hours, with no request of the user
        web.runtime.clock.advance(dt.timedelta(hours=1))
        await web.server.sessions.current(token, touch=False)
    assert (await browser.say("/start"))[0] == 401


async def test_a_request_reads_its_session_and_its_sender_in_one_statement(web: WebChatUnderTest) -> None:
    """Every line typed and button pressed reads the session with the account as the update's sender: one
    SELECT, and the same actor as recognising the sender on its own gives (the locale chosen on the web, the
    role, the unit and its scope)."""
    browser = await active(web)
    assert (await browser.say("/lang en"))[0] == 200
    token = session_cookie(browser)
    statements: list[str] = []
    keep = lambda _conn, _cursor, sql, *_rest: statements.append(sql)  # noqa: E731
    engine = web.runtime.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", keep)
    try:
        signed_in = await web.server.sessions.current(token, touch=False, with_actor=True)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert signed_in is not None and signed_in.actor is not None
    work = [sql for sql in statements if not sql.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK"))]
    assert len(work) == 1 and work[0].lstrip().startswith("SELECT"), work
    alone = await load_actor(web.runtime.uow, Channel.WEB, signed_in.account_id)
    assert signed_in.actor == alone
    assert (alone.locale, alone.username, alone.unit_code, alone.role) == ("en", "lan.syt", "SYT", "clerk")


async def test_sign_out_is_audited_and_signing_in_again_replaces_the_session(web: WebChatUnderTest) -> None:
    browser = await active(web)
    token = await browser.form("/activate")  # signed in, the browser opens a sign-in form and signs in again
    again = await browser.http.post(browser.url("/login"), allow_redirects=False,
                                    data={"csrf": token, "username": "lan.syt", "password": NEW_PASSWORD})
    assert again.status == 303
    await browser.open_chat()
    await browser.http.post(browser.url("/logout"), data={"csrf": browser.csrf}, allow_redirects=False)
    async with web.runtime.uow.read() as repos:
        reasons = [row.ended_reason for row in (await repos.session.scalars(select(WebSession)
                                                                           .order_by(WebSession.id))).all()]
    assert reasons == ["replaced", "logout"]
    assert "auth.logout" in await audit_actions(web.runtime.uow)


async def test_a_garbage_position_in_the_conversation_reads_as_the_start(web: WebChatUnderTest) -> None:
    browser = await active(web)
    await browser.say("/start")
    for garbage in ("²", "9" * 5000, "-1", "abc"):
        async with browser.http.get(browser.url("/api/events"), params={"after": garbage}) as response:
            assert response.status == 200 and len((await response.json())["events"]) == 2


async def test_html_in_dossier_data_is_shown_as_text(web: WebChatUnderTest) -> None:
    await add_people(web.runtime.uow, web.runtime.clock, [
        ("001190000999", "Lê <b>Văn</b> <img src=x onerror=alert(1)>", dt.date(1990, 1, 1), "SYT", "active",
         "01.003")])
    browser = await active(web)
    await browser.say("/find 001190000999")
    reply = (await browser.bot_texts())[-1]
    assert "&lt;b&gt;Văn&lt;/b&gt; &lt;img src=x onerror=alert(1)&gt;" in reply and "<img" not in reply


async def test_uploads_have_a_limit_of_their_own(runtime: Runtime) -> None:
    from aiohttp import FormData

    await tree(runtime.uow, runtime.clock)
    tight = Limits(messages=RateLimiter(30, 10.0), sign_in=RateLimiter(10, 0.1), requests=RateLimiter(300, 100.0),
                   uploads=RateLimiter(2, 0.001))
    async with served(runtime, tight) as web:
        browser = await active(web)
        statuses = []
        for number in range(3):
            form = FormData()
            form.add_field("file", b"%PDF-1.4", filename=f"giay-{number}.pdf")
            async with browser.http.post(browser.url("/api/upload"), data=form,
                                         headers={"X-CSRF-Token": browser.csrf or ""}) as response:
                statuses.append(response.status)
        assert statuses == [200, 200, 429]
        assert (await browser.say("/start"))[0] == 200  # messages are not held back by it


# -- the sender read with the session --------------------------------------------------------------------------
def last_bot_text(web: WebChatUnderTest, account_id: int) -> str:
    events = [json.loads(text) for *_kept, text in web.server.conversations.since(account_id, 0)]
    shown = [event["message"] for event in events
             if event.get("type") == "message" and event["message"].get("from") == "bot"]
    return str(shown[-1]["html"])


async def test_the_sender_read_with_the_session_is_not_used_once_another_update_of_the_account_ran(
        web: WebChatUnderTest) -> None:
    await active(web)
    chat = web.server.chat
    read_before = Preloaded(await load_actor(web.runtime.uow, Channel.WEB, 1), chat.mark())
    assert read_before.actor.username == "lan.syt"
    await chat.say(1, "lan.syt", "/logout")  # an update of the account ran since that read: it signed out
    await chat.say(1, "lan.syt", "/start", read_before)
    assert "Lan.Syt" not in last_bot_text(web, 1)  # read again: nobody is signed in at that address any more


async def test_the_sender_read_with_the_session_stands_only_for_its_own_account(web: WebChatUnderTest) -> None:
    await active(web)
    await active(web, "hoa.syt")
    chat = web.server.chat
    other = Preloaded(await load_actor(web.runtime.uow, Channel.WEB, 2), chat.mark())
    await chat.say(1, "lan.syt", "/start", other)
    assert "Lan.Syt" in last_bot_text(web, 1) and "Hoa.Syt" not in last_bot_text(web, 1)
    own = Preloaded(await load_actor(web.runtime.uow, Channel.WEB, 1), chat.mark())
    await chat.say(1, "lan.syt", "/start", own)
    assert "Lan.Syt" in last_bot_text(web, 1)
