"""End to end on Zalo: `hoso run` as a subprocess, its Zalo channel against the local Zalo double
(tests/zalo_stub.py) and its Telegram channel against the Telegram double, both on 127.0.0.1.

Most Zalo users are linked by binding their identities in the database before `hoso` starts; the last test
links one with a code from `hoso account link-code`, served by `hoso web` alone (no Telegram)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import secrets
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, update

from services.core.actor import Channel
from services.core.clock import SystemClock
from services.demo import DEMO_PASSWORD, seed_demo
from services.platform.outbox import Due, enqueue
from services.regime.deadlines import WorkingCalendar
from storage import Database, UnitOfWork
from storage.models import Account, Dossier, LinkCode, OrgUnit, Outbox
from tests.botapi_stub import BotAPIStub
from tests.test_e2e import (  # noqa: F401 - the fixtures are used by name
    START_TIMEOUT,
    STOP_TIMEOUT,
    Hoso,
    Launcher,
    assert_no_secret,
    fake_token,
    free_port,
    launcher,
)
from tests.webchat import Browser
from tests.zalo_stub import ZaloStub

pytestmark = pytest.mark.e2e

ZALO_TOKEN = "3141592653:" + secrets.token_urlsafe(24)
ADMIN, CLERK = "ad00ad00ad00ad00", "c1e2a3b4c5d6e7f8"
REFUSED = "Nội dung này không hiển thị trên Zalo"


@pytest.fixture
async def zalo() -> AsyncIterator[ZaloStub]:
    async with ZaloStub(ZALO_TOKEN) as stub:
        yield stub


@pytest.fixture
async def telegram() -> AsyncIterator[tuple[BotAPIStub, str]]:
    token = fake_token()
    async with BotAPIStub(token=token) as stub:
        yield stub, token


@pytest.fixture
def env(launcher: Launcher, zalo: ZaloStub, telegram: tuple[BotAPIStub, str]) -> dict[str, str]:
    stub, token = telegram
    launcher.env.update({
        "HOSO_BOT_TOKEN": token, "HOSO_TELEGRAM_API_BASE": stub.base_url,
        "HOSO_ZALO_TOKEN": ZALO_TOKEN, "HOSO_ZALO_API_BASE": zalo.base_url,
        "HOSO_ZALO_RATE": "50",
    })
    return launcher.env


async def prepared(launcher: Launcher) -> Database:
    """`hoso init`, the demo province, and the demo admin and clerk linked on Zalo."""
    await launcher.init()
    database = Database(launcher.env["HOSO_DATABASE_URL"])
    uow, clock = UnitOfWork(database), SystemClock()
    await seed_demo(uow, clock, size=40)
    async with uow.write() as repos:
        for username, address in (("snv.quantri", ADMIN), ("sgddt.vanthu", CLERK)):
            account = await repos.accounts.by_username(username)
            assert account is not None
            await repos.identities.bind(account.id, Channel.ZALO, address, clock.now())
    return database


async def serving(launcher: Launcher, zalo: ZaloStub, *args: str, web: bool = False) -> Hoso:
    """`hoso run` (or `hoso web`, with no Telegram) once it polls Zalo."""
    since = len(zalo.calls)
    hoso = await launcher.start("web") if web else await launcher.start("run", *args)
    try:
        await zalo.wait_for("deleteWebhook", timeout=START_TIMEOUT, since=since)  # just before its first poll
    except TimeoutError:
        pytest.fail(f"Zalo was not polled within {START_TIMEOUT:.0f}s\n{hoso.output()}")
    return hoso


async def answer(zalo: ZaloStub, user: str, text: str | None, event: str = "message.text.received",
                 settle: str | None = None) -> list[str]:
    """Say this on Zalo; what the user reads once the answer has come (the last message matching `settle`)."""
    before = len(zalo.texts_to(user))
    zalo.enqueue(zalo.update(user, text, event=event))
    await zalo.wait_for("sendMessage", lambda call: call.params["chat_id"] == user and len(zalo.texts_to(user)) > before
                        and (settle is None or settle in call.params["text"]), timeout=START_TIMEOUT)
    return zalo.texts_to(user)[before:]


def number_of(menu: str, label: str) -> str:
    found = re.search(rf"^(\d+)\. {re.escape(label)}$", menu, re.M)
    assert found, f"no {label!r} in\n{menu}"
    return found.group(1)


async def first_dossier(database: Database) -> Dossier:
    async with UnitOfWork(database).read() as repos:
        return (await repos.session.scalars(select(Dossier).order_by(Dossier.id).limit(1))).one()


async def test_a_numbered_menu_bad_input_and_the_summary_policy(launcher: Launcher, zalo: ZaloStub,
                                                                  env: dict[str, str]) -> None:
    env["HOSO_CHANNEL_CONTENT"] = "zalo=summary"
    database = await prepared(launcher)
    dossier = await first_dossier(database)
    await database.dispose()
    hoso = await serving(launcher, zalo)

    [menu] = await answer(zalo, ADMIN, "/lang", settle="(1–2)")
    assert "1. Tiếng Việt\n2. English" in menu
    assert await answer(zalo, ADMIN, "3") == ["3 không phải là một lựa chọn: hãy trả lời bằng một số từ 1 đến 2."]
    only_text = await answer(zalo, ADMIN, None, event="message.image.received")
    assert only_text[0].startswith("Ở đây chỉ đọc được tin nhắn chữ.")
    assert await answer(zalo, ADMIN, None, event="message.sticker.received") == only_text
    assert "English" in (await answer(zalo, ADMIN, "2"))[-1]
    await answer(zalo, ADMIN, "/lang vi")

    # A form half filled survives a number out of range, a word where a number is expected, and a photo.
    await answer(zalo, CLERK, "/new")
    asked = await answer(zalo, CLERK, "Trần Thị Mai", settle="(1–")
    count = int(re.search(r"\(1–(\d+)\)", asked[-1]).group(1))  # type: ignore[union-attr]
    assert await answer(zalo, CLERK, "99") == [
        f"99 không phải là một lựa chọn: hãy trả lời bằng một số từ 1 đến {count}."]
    assert (await answer(zalo, CLERK, "không phải số", settle="(1–"))[-1].startswith("Vui lòng chọn một")
    await answer(zalo, CLERK, None, event="message.image.received")
    after = await answer(zalo, CLERK, number_of(asked[-1], "Nữ"))
    assert "ngày sinh" in after[-1].lower()

    # The summary policy: the card without the identity number, withheld where the data is read.
    found = await answer(zalo, ADMIN, dossier.full_name, settle="(1–")
    assert dossier.personal_id not in "".join(found)
    card = await answer(zalo, ADMIN, "1", settle="(1–")
    assert any(dossier.full_name in text and "Số định danh: không hiển thị trên kênh này" in text for text in card)
    assert dossier.personal_id not in "".join(card)
    assert all(len(text) <= 2000 and isinstance(text, str) for text in zalo.texts_to(ADMIN))

    assert await hoso.stop(signal.SIGTERM, STOP_TIMEOUT) == 0, hoso.output()
    assert_no_secret(hoso, ZALO_TOKEN)


async def test_notices_refuses_the_card_and_a_long_notice_is_split(launcher: Launcher, zalo: ZaloStub,
                                                                    env: dict[str, str]) -> None:
    database = await prepared(launcher)  # HOSO_CHANNEL_CONTENT unset: zalo=notices
    dossier = await first_dossier(database)
    long_text = "\n".join(f"Dòng {n:03d}: " + "mất điện toàn khu " * 2 for n in range(50))
    assert 2000 < len(long_text) < 3000
    async with UnitOfWork(database).write() as repos:
        admin = await repos.accounts.by_username("snv.quantri")
        assert admin is not None
        await enqueue(repos, SystemClock(), [Due("incident", admin.id, "notice", "long", SystemClock().now().date(),
                                                 {"text": long_text})], WorkingCalendar(), immediate=True)
    await database.dispose()
    env["HOSO_WEB_URL"] = "https://hoso.example.gov.vn/"
    hoso = await serving(launcher, zalo)

    await zalo.wait_for("sendMessage", lambda call: call.params["chat_id"] == ADMIN and "Dòng 049" in call.params["text"],
                        timeout=START_TIMEOUT)
    notice = [text for text in zalo.texts_to(ADMIN) if "Dòng" in text]
    assert len(notice) == 2 and all(len(part) <= 2000 for part in notice)
    assert notice[0].split("\n")[-1].startswith("Dòng") and notice[1].endswith("https://hoso.example.gov.vn/")

    texts = await answer(zalo, ADMIN, dossier.full_name)
    assert texts == [f"{REFUSED}: đơn vị triển khai không cho nội dung hồ sơ đi qua kênh này. "
                     "Hãy mở trên trang trò chuyện web: https://hoso.example.gov.vn/"]
    assert await hoso.stop(signal.SIGTERM, STOP_TIMEOUT) == 0, hoso.output()
    assert_no_secret(hoso, ZALO_TOKEN)


async def test_a_document_is_a_link_that_opens_for_its_account_only(launcher: Launcher, zalo: ZaloStub,
                                                                     env: dict[str, str]) -> None:
    port = free_port()
    env.update({"HOSO_CHANNEL_CONTENT": "zalo=full", "HOSO_WEB_PORT": str(port),
                "HOSO_WEB_URL": f"http://127.0.0.1:{port}/"})
    database = await prepared(launcher)
    dossier = await first_dossier(database)
    await database.dispose()
    hoso = await serving(launcher, zalo, "--web")

    await answer(zalo, ADMIN, dossier.full_name, settle="(1–")
    card = await answer(zalo, ADMIN, "1", settle="(1–")
    sent = await answer(zalo, ADMIN, number_of(card[-1], "In mẫu 2C"), settle="/files/")
    link = next(text for text in sent if "/files/" in text).rsplit(" ", 1)[-1]
    assert link.startswith(f"http://127.0.0.1:{port}/files/")
    path = link.removeprefix(f"http://127.0.0.1:{port}")

    base = f"http://127.0.0.1:{port}"
    nobody, admin, clerk = Browser(base), Browser(base), Browser(base)
    try:
        async with nobody.http.get(link) as response:
            assert response.status == 401
        assert (await clerk.sign_in("sgddt.vanthu", DEMO_PASSWORD)).status == 303
        async with clerk.http.get(nobody.url(path)) as response:
            assert response.status == 404  # another account's file: as if it did not exist
        assert (await admin.sign_in("snv.quantri", DEMO_PASSWORD)).status == 303
        async with admin.http.get(admin.url(path)) as response:
            assert response.status == 200 and len(await response.read()) > 1000
    finally:
        for browser in (nobody, admin, clerk):
            await browser.close()
    assert await hoso.stop(signal.SIGTERM, STOP_TIMEOUT) == 0, hoso.output()
    assert_no_secret(hoso, ZALO_TOKEN)


async def test_the_webhook_refuses_a_wrong_secret(launcher: Launcher, zalo: ZaloStub, env: dict[str, str]) -> None:
    port, secret = free_port(), secrets.token_urlsafe(24)
    env.update({"HOSO_ZALO_WEBHOOK_SECRET": secret, "HOSO_ZALO_WEBHOOK_PORT": str(port)})
    await (await prepared(launcher)).dispose()
    hoso = await launcher.start("run")
    url = f"http://127.0.0.1:{port}/zalo/webhook"
    deadline = time.monotonic() + START_TIMEOUT
    while True:  # until it listens
        try:
            status, _body = await zalo.post_update(url, zalo.update(ADMIN, "/start"), "wrong-" + secret)
            break
        except OSError:
            assert time.monotonic() < deadline, hoso.output()
            await asyncio.sleep(0.2)
    assert status == 401
    assert (await zalo.post_update(url, zalo.update(ADMIN, "/start"), None))[0] == 401
    assert (await zalo.post_update(url, zalo.update(ADMIN, "/start", envelope=False), secret))[0] == 200
    await zalo.wait_for("sendMessage", lambda call: call.params["chat_id"] == ADMIN, timeout=START_TIMEOUT)
    assert len(zalo.texts_to(ADMIN)) == 1 and zalo.calls_of("getUpdates", ok=None) == []
    assert await hoso.stop(signal.SIGTERM, STOP_TIMEOUT) == 0, hoso.output()
    assert_no_secret(hoso, ZALO_TOKEN, secret)


async def test_a_reminder_goes_exactly_once_across_a_kill_9_of_the_sender(launcher: Launcher, zalo: ZaloStub,
                                                                          env: dict[str, str]) -> None:
    people = 40
    await launcher.init()
    database = Database(env["HOSO_DATABASE_URL"])
    uow, clock = UnitOfWork(database), SystemClock()
    await seed_demo(uow, clock, size=5)
    addresses = {f"{n:016x}": 0 for n in range(1, people + 1)}
    async with uow.write() as repos:
        unit = (await repos.session.scalars(select(OrgUnit).limit(1))).one()
        for address in addresses:
            account = Account(username=f"z{address[-4:]}", full_name=f"Zalo {address[-4:]}", unit_id=unit.id,
                              role="clerk", status="active", failed_attempts=0, created_at=clock.now())
            repos.session.add(account)
            await repos.session.flush()
            await repos.identities.bind(account.id, Channel.ZALO, address, clock.now())
            addresses[address] = account.id
        await enqueue(repos, clock, [Due("incident", account, "notice", "kill-9", clock.now().date(),
                                         {"text": "Mất điện"}) for account in addresses.values()],
                      WorkingCalendar(), immediate=True)
    zalo.send_delay = 0.3  # slow answers: some requests are in flight when the process dies
    env["HOSO_ZALO_RATE"] = "10"
    first = await serving(launcher, zalo)
    await zalo.wait_for("sendMessage", lambda call: call.params["chat_id"] in addresses and
                        len([c for c in zalo.calls_of("sendMessage") if c.params["chat_id"] in addresses]) >= 5,
                        timeout=START_TIMEOUT)
    first.process.send_signal(signal.SIGKILL)
    await first.wait(STOP_TIMEOUT)
    delivered_before = len([c for c in zalo.calls_of("sendMessage") if c.params["chat_id"] in addresses])
    assert delivered_before < people, "the kill came too late to test anything"

    second = await serving(launcher, zalo)
    deadline = time.monotonic() + 60
    while True:
        async with uow.read() as repos:
            rows = (await repos.session.scalars(select(Outbox).where(Outbox.channel == Channel.ZALO))).all()
        if all(row.status in ("sent", "ambiguous") for row in rows):
            break
        assert time.monotonic() < deadline, Counter(row.status for row in rows)
        await asyncio.sleep(0.5)
    assert await second.stop(signal.SIGTERM, STOP_TIMEOUT) == 0, second.output()
    await database.dispose()

    got = Counter(call.params["chat_id"] for call in zalo.calls_of("sendMessage") if call.params["chat_id"] in addresses)
    assert max(got.values()) == 1, "a reminder went twice"
    status = {row.address: row.status for row in rows}
    assert all(got[address] == 1 for address, state in status.items() if state == "sent")
    ambiguous = [address for address, state in status.items() if state == "ambiguous"]
    assert len(ambiguous) <= 8  # at most the requests in flight when it died: maybe delivered, never resent
    assert sum(got.values()) + len([a for a in ambiguous if got[a] == 0]) == people  # every one accounted for


async def test_a_zalo_token_refused_is_one_line_naming_it(launcher: Launcher, zalo: ZaloStub,
                                                          env: dict[str, str]) -> None:
    from tests.test_e2e import one_line

    wrong = "2718281828:" + secrets.token_urlsafe(24)
    env["HOSO_ZALO_TOKEN"] = wrong  # the double refuses any token but its own
    await launcher.init()
    hoso = await launcher.run("run", timeout=START_TIMEOUT)
    assert hoso.process.returncode != 0
    line = one_line(hoso.stderr)
    assert "HOSO_ZALO_TOKEN: Zalo từ chối mã bot này" in line
    assert_no_secret(hoso, wrong)


async def test_hoso_web_serves_zalo_without_telegram_and_links_an_account_with_a_code(
        launcher: Launcher, zalo: ZaloStub) -> None:
    """A province without Telegram: `hoso web` serves the web chat and Zalo. A code printed by `hoso account
    link-code` links a Zalo user once; reused or expired, it is refused with the reason."""
    from tests.test_e2e_signin import cli

    launcher.env.update({"HOSO_ZALO_TOKEN": ZALO_TOKEN, "HOSO_ZALO_API_BASE": zalo.base_url, "HOSO_ZALO_RATE": "50",
                         "HOSO_WEB_PORT": str(free_port())})
    launcher.env.pop("HOSO_BOT_TOKEN", None)
    database = await prepared(launcher)
    newcomer, other = "0a1b2c3d4e5f6a7b", "9f8e7d6c5b4a3f2e"

    async def link_code() -> str:
        issued = await cli(launcher, "account", "link-code", "sgddt.giamdoc", "--channel", "zalo", "--json")
        return str(json.loads(issued.stdout)["link_code"])

    try:
        first = await link_code()
        hoso = await serving(launcher, zalo, web=True)
        [explained] = await answer(zalo, newcomer, "xin chào")
        assert explained.startswith("Đây là HoSo") and "/zalo" in explained
        linked = await answer(zalo, newcomer, first.lower().replace("-", " "))  # as a phone may type it
        assert "sgddt.giamdoc" in linked[-1] and "Lê Hoàng Minh" in linked[-1], linked
        reused = await answer(zalo, other, first)
        assert reused == ["Mã này đã được sử dụng. Hãy lấy mã mới trong trang trò chuyện web (/zalo)."], reused
        second = await link_code()
        async with UnitOfWork(database).write() as repos:  # fifteen minutes later
            await repos.session.execute(update(LinkCode).where(LinkCode.used_at.is_(None))
                                        .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        expired = await answer(zalo, other, second)
        assert expired[-1].startswith("Mã này đã hết hạn"), expired
        helped = await answer(zalo, newcomer, "/help")  # linked now: the conversation, not the explanation
        assert not helped[-1].startswith("Đây là HoSo"), helped
        assert await hoso.stop(signal.SIGTERM) == 0, hoso.output()
        assert_no_secret(hoso, ZALO_TOKEN, first, second)
    finally:
        await database.dispose()
