"""End to end: `hoso web`, `hoso run --web` and `hoso demo` as subprocesses, the web chat used over real
HTTP on 127.0.0.1 as the page's script uses it (tests/webchat.py), Telegram's side against the Bot API double.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import time
from pathlib import Path

import pytest
from aiohttp import WSMsgType

from services.demo import DEMO_PASSWORD
from tests.botapi_stub import BotAPIStub
from tests.test_e2e import (  # noqa: F401 - the fixtures are used by name
    START_TIMEOUT,
    USER_ID,
    Hoso,
    Launcher,
    assert_no_secret,
    bot_env,
    free_port,
    launcher,
    one_line,
    stub,
    token,
    welcome_to,
)
from tests.test_e2e_signin import cli
from tests.webchat import Browser

pytestmark = pytest.mark.e2e

READY = "HoSo web chat: "
PASSWORD = "mat-khau-web-2026"


async def web_ready(hoso: Hoso) -> str:
    """The address `hoso` prints once the web chat listens (its readiness line), read as it is written."""
    async with asyncio.timeout(START_TIMEOUT):
        while True:
            for line in hoso.stdout.splitlines():
                if line.startswith(READY):
                    return line.removeprefix(READY).strip().rstrip("/")
            if hoso.process.returncode is not None:
                pytest.fail(f"hoso exited before serving the web chat.\n{hoso.output()}")
            await asyncio.sleep(0.05)  # the next look at the output file, not a guess at a duration


async def province(launcher: Launcher) -> str:
    """A province with one clerk issued from the command line; the activation code."""
    await launcher.init()
    await cli(launcher, "unit", "add", "CT", "UBND Cần Thơ")
    await cli(launcher, "unit", "add", "SYT", "Sở Y tế", "--parent", "CT")
    issued = await cli(launcher, "account", "add", "lan.syt", "--unit", "SYT", "--role", "clerk",
                       "--name", "Trần Thị Lan", "--request", "45/CV-SYT 01/07/2026", "--json")
    return str(json.loads(issued.stdout)["activation_code"])


async def test_hoso_web_serves_the_chat_without_telegram(launcher: Launcher, tmp_path: Path) -> None:
    code = await province(launcher)
    launcher.env["HOSO_WEB_PORT"] = str(free_port())
    hoso = await launcher.start("web")
    base = await web_ready(hoso)
    browser = Browser(base)
    try:
        assert (await browser.activate(code, PASSWORD)).status == 303
        assert (await browser.say("/start"))[0] == 200
        assert "Trần Thị Lan" in (await browser.bot_texts())[-1]
        async with browser.http.ws_connect(browser.url("/ws?after=0"), origin=base) as page:
            await page.receive(timeout=START_TIMEOUT)  # the page is open and live
            stopping = time.monotonic()
            assert await hoso.stop(signal.SIGTERM) == 0, hoso.output()  # an open page does not hold it up
            assert time.monotonic() - stopping < 30, "the server waited for the open page"  # aiohttp waits 60 s
            closing = await page.receive(timeout=START_TIMEOUT)
            while closing.type == WSMsgType.TEXT:  # the replay of the conversation, then the close
                closing = await page.receive(timeout=START_TIMEOUT)
            assert closing.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
    finally:
        await browser.close()
    assert_no_secret(hoso, code, PASSWORD)


async def test_run_web_serves_telegram_and_the_web_chat_in_one_process(
    launcher: Launcher, stub: BotAPIStub, bot_env: dict[str, str], token: str
) -> None:
    code = await province(launcher)
    launcher.env["HOSO_WEB_PORT"] = str(free_port())
    hoso = await launcher.start("run", "--web")
    base = await web_ready(hoso)
    await asyncio.wait_for(stub.first_get_updates.wait(), START_TIMEOUT)
    browser = Browser(base)
    try:
        assert (await browser.activate(code, PASSWORD)).status == 303
        assert (await browser.say("/start"))[0] == 200
        assert "Trần Thị Lan" in (await browser.bot_texts())[-1]
        stub.enqueue_private_message("/start", user_id=USER_ID)  # and a Telegram user, meanwhile
        await stub.wait_for("sendMessage", welcome_to(USER_ID), timeout=START_TIMEOUT)
    finally:
        await browser.close()
    assert stub.find("sendMessage", lambda call: "Trần Thị Lan" in str(call.params.get("text"))) is None
    assert await hoso.stop(signal.SIGINT) == 0, hoso.output()
    assert_no_secret(hoso, token, code, PASSWORD)


async def test_demo_serves_the_web_chat_and_prints_its_address_and_accounts(launcher: Launcher) -> None:
    launcher.env["HOSO_WEB_PORT"] = str(free_port())
    hoso = await launcher.start("demo", "--size", "30")
    base = await web_ready(hoso)
    assert "sgddt.vanthu" in hoso.stdout and DEMO_PASSWORD in hoso.stdout
    browser = Browser(base)
    try:
        assert (await browser.sign_in("sgddt.vanthu", DEMO_PASSWORD)).status == 303
        assert (await browser.say("/start"))[0] == 200
        assert "Nguyễn Văn Bình" in (await browser.bot_texts())[-1]
    finally:
        await browser.close()
    assert await hoso.stop(signal.SIGTERM) == 0, hoso.output()


async def test_a_web_port_in_use_is_one_line(launcher: Launcher) -> None:
    await launcher.init()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        launcher.env["HOSO_WEB_PORT"] = str(taken.getsockname()[1])
        hoso = await launcher.run("web", timeout=START_TIMEOUT)
    assert hoso.process.returncode != 0
    assert "HOSO_WEB_HOST/HOSO_WEB_PORT" in one_line(hoso.stderr)
