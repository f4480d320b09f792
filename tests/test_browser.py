"""The web chat in a real browser: Debian's Chromium, headless, driven by Playwright (no browser download).

One province, one clerk, the whole day of a user: activation, /find without diacritics and the card, a
guided change with a bad date asked again, the 2C form downloaded, a chart shown inline, a reminder
arriving live, sign-out and sign-in again; on a 360-pixel-wide screen, by keyboard where a user would.
Skipped, with the reason, where Chromium is not installed (`.ci/run` installs it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.runtime import Runtime
from handlers.changes import ChangeKindPick
from handlers.dossiers import OpenDossier, PrintDossier, UpdatePick
from handlers.forms import FormConfirm
from services.platform.outbox import Due, enqueue
from services.regime.calendar import working_calendar
from services.regime.reference import install_reference_lists
from services.regime.setup import install_profile
from storage.models import ChangeEvent
from tests.test_accounts import tree
from tests.test_lookup import add_people
from tests.webchat import WebChatUnderTest, served

CHROMIUM = os.environ.get("HOSO_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian package `chromium`; `.ci/run` installs it): "
                             "the browser tests are skipped")

HOA = "001188000111"  # Đặng Thị Hoà, at SYT
PASSWORD = "mat-khau-web-2026"
WIDTH = 360


@pytest.fixture
async def province(runtime: Runtime) -> AsyncIterator[tuple[WebChatUnderTest, dict[str, int]]]:
    uow, clock = runtime.uow, runtime.clock
    await tree(uow, clock)
    await install_reference_lists(uow)
    await install_profile(uow, clock, "hau-giang-2016")
    people = await add_people(uow, clock)
    async with served(runtime) as web:
        yield web, people


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[object]:
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                   args=["--no-sandbox", "--disable-gpu"])
        context = await browser.new_context(viewport={"width": WIDTH, "height": 740}, accept_downloads=True,
                                            locale="vi-VN")
        page = await context.new_page()
        # Generous bounds for a loaded 2-core machine: each wait ends as soon as its condition holds.
        page.set_default_timeout(30_000)
        expect.set_options(timeout=30_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        # A refused sign-in answers 401 on purpose (the browser notes it); a CSP violation is a defect.
        page.on("console", lambda message: errors.append(message.text)
                if message.type == "error" and "status of 401" not in message.text else None)
        yield page
        await context.close()
        await browser.close()
        assert errors == [], errors  # no script error, no CSP violation, nothing missing


def last_bot(page: object) -> object:
    return page.locator("article.msg.bot").last  # type: ignore[attr-defined]


async def type_line(page: object, text: str) -> None:
    """Typed and sent with Enter, as a user at a keyboard does; returns once the whole answer is shown."""
    box = page.locator("#text")  # type: ignore[attr-defined]
    await box.focus()
    await box.fill(text)
    await box.press("Enter")
    await settled(page)


async def settled(page: object) -> None:
    """The page's readiness signal: the answer to the last line or press is all on screen."""
    await page.locator('body[data-busy="0"]').wait_for(state="attached")  # type: ignore[attr-defined]


async def tap(page: object, data: str) -> None:
    await page.locator(f'button[data-callback="{data}"]').last.click()  # type: ignore[attr-defined]
    await settled(page)


async def test_a_clerks_day_in_the_browser(province: tuple[WebChatUnderTest, dict[str, int]], page: object,
                                           tmp_path: Path) -> None:
    from playwright.async_api import expect

    web, people = province
    hoa = people[HOA]
    p = page  # the Playwright page (typed loosely so that the module imports without Playwright's stubs)

    # Activation with the code from the personnel office, then the chat.
    code = await web.issue("lan.syt", "SYT", "clerk")
    await p.goto(web.base + "/activate")  # type: ignore[attr-defined]
    await p.fill("#code", code)  # type: ignore[attr-defined]
    await p.fill("#password", PASSWORD)  # type: ignore[attr-defined]
    await p.fill("#password2", PASSWORD)  # type: ignore[attr-defined]
    await p.press("#password2", "Enter")  # type: ignore[attr-defined]
    await p.wait_for_url(web.base + "/")  # type: ignore[attr-defined]
    await expect(p.locator("body")).to_have_attribute("data-live", "1")  # type: ignore[attr-defined]
    assert await p.evaluate("document.scrollingElement.scrollWidth") <= WIDTH  # type: ignore[attr-defined]

    # /find without diacritics, then the card, by keyboard.
    await type_line(p, "/find dang thi hoa")
    await expect(last_bot(p)).to_contain_text("Đặng Thị Hoà")
    card_button = p.locator(f'button[data-callback="{OpenDossier(id=hoa).pack()}"]').last  # type: ignore[attr-defined]
    await card_button.focus()
    await card_button.press("Enter")
    await settled(p)
    await expect(last_bot(p)).to_contain_text(HOA)

    # The 2C form, downloaded.
    await tap(p, PrintDossier(id=hoa).pack())
    link = p.locator("article.msg.bot .file a").last  # type: ignore[attr-defined]
    await expect(link).to_contain_text(".docx")
    async with p.expect_download() as waiting:  # type: ignore[attr-defined]
        await link.click()
    download = await waiting.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.suffix == ".docx" and saved.read_bytes()[:2] == b"PK"

    # A whole guided change; a bad date is asked again with the reason.
    await type_line(p, f"/update {HOA}")
    await tap(p, UpdatePick(id=hoa).pack())
    await tap(p, ChangeKindPick(id=hoa, kind="training").pack())
    answers = ["Bồi dưỡng quản lý nhà nước", "Học viện Hành chính", "31/02/2026", "01/03/2026", "30/04/2026",
               "Chứng chỉ chuyên viên chính", "12/QĐ-SYT", "15/06/2026", "Sở Y tế", "20/06/2026"]
    for answer in answers:
        await type_line(p, answer)
        if answer == "31/02/2026":  # the reason quotes it
            await expect(p.locator("article.msg.bot", has_text="31/02/2026 (")).to_have_count(1)  # type: ignore[attr-defined]
    await expect(last_bot(p)).to_contain_text("12/QĐ-SYT")  # the summary
    await tap(p, FormConfirm(action="confirm").pack())
    await expect(last_bot(p)).to_contain_text("#")
    async with web.runtime.uow.read() as repos:
        [event] = (await repos.session.scalars(select(ChangeEvent))).all()
    assert (event.kind, event.dossier_id, event.doc_number) == ("training", hoa, "12/QĐ-SYT")
    assert f"#{event.id}" in await last_bot(p).inner_text()  # type: ignore[attr-defined]

    # A chart, shown inline.
    await type_line(p, "/stats")
    image = p.locator("article.msg.bot .file img").last  # type: ignore[attr-defined]
    await expect(image).to_be_visible()
    assert await image.evaluate("element => element.naturalWidth") > 0

    # A reminder, arriving live while the page is open.
    clock = web.runtime.clock
    async with web.runtime.uow.write() as repos:
        calendar = await working_calendar(repos)
        await enqueue(repos, clock, [Due("incident", 1, "incident", "live", clock.now().date(),
                                         {"text": "Mất điện toàn tỉnh", "locale": "vi"})], calendar,
                      wanted=clock.now())
    assert await web.deliver() == 1
    await expect(last_bot(p)).to_contain_text("Mất điện toàn tỉnh")

    # Sign-out, and sign-in again with the password.
    await p.click("#logout")  # type: ignore[attr-defined]
    await p.wait_for_url(web.base + "/login?why=bye")  # type: ignore[attr-defined]
    await expect(p.locator(".info")).to_be_visible()  # type: ignore[attr-defined]
    await p.fill("#username", "lan.syt")  # type: ignore[attr-defined]
    await p.fill("#password", "sai-mat-khau")  # type: ignore[attr-defined]
    await p.press("#password", "Enter")  # type: ignore[attr-defined]
    await expect(p.locator("#form-error")).to_contain_text("Sai tên đăng nhập hoặc mật khẩu")  # type: ignore[attr-defined]
    await expect(p.locator("#username")).to_have_value("lan.syt")  # type: ignore[attr-defined]
    await p.fill("#password", PASSWORD)  # type: ignore[attr-defined]
    await p.press("#password", "Enter")  # type: ignore[attr-defined]
    await p.wait_for_url(web.base + "/")  # type: ignore[attr-defined]
    await expect(p.locator("article.msg").first).to_be_visible()  # the conversation is still there


async def test_a_draft_survives_an_expired_session(province: tuple[WebChatUnderTest, dict[str, int]],
                                                   page: object) -> None:
    import datetime as dt

    from playwright.async_api import expect

    web, _people = province
    p = page
    code = await web.issue("lan.syt", "SYT", "clerk")
    await p.goto(web.base + "/activate")  # type: ignore[attr-defined]
    for field, value in (("#code", code), ("#password", PASSWORD), ("#password2", PASSWORD)):
        await p.fill(field, value)  # type: ignore[attr-defined]
    await p.press("#password2", "Enter")  # type: ignore[attr-defined]
    await p.wait_for_url(web.base + "/")  # type: ignore[attr-defined]
    await type_line(p, "/find")
    await expect(last_bot(p)).to_contain_text("Gõ họ tên")
    web.runtime.clock.advance(dt.timedelta(hours=9))  # type: ignore[attr-defined]
    await p.fill("#text", "dang hoa")  # type: ignore[attr-defined]
    await p.press("#text", "Enter")  # type: ignore[attr-defined]
    await p.wait_for_url(web.base + "/login?why=expired")  # type: ignore[attr-defined]
    await p.fill("#username", "lan.syt")  # type: ignore[attr-defined]
    await p.fill("#password", PASSWORD)  # type: ignore[attr-defined]
    await p.press("#password", "Enter")  # type: ignore[attr-defined]
    await p.wait_for_url(web.base + "/")  # type: ignore[attr-defined]
    await expect(p.locator("#text")).to_have_value("dang hoa")  # the draft is back in the box
    await p.press("#text", "Enter")  # type: ignore[attr-defined]
    await expect(last_bot(p)).to_contain_text("Đặng Thị Hoà")  # and the prompt it answers resumed
