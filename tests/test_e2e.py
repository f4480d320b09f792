"""End to end: the installed `hoso` command as a subprocess, talking over real HTTP to a fake Bot API
on 127.0.0.1 (tests/botapi_stub.py). Nothing here leaves the machine.

Start-up is slow (importing aiogram alone takes seconds), so every wait is generous but bounded, and
every process started here is killed at teardown if it is still running.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import string
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.botapi_stub import BotAPIStub, Call

pytestmark = pytest.mark.e2e

HOSO = Path(sys.executable).with_name("hoso")
# Upper bounds for a process that hangs, never waits: each wait ends at the readiness signal or the exit. They
# leave a 2-core machine at a load of 12 room (`hoso init` has taken over 30 s there).
START_TIMEOUT = 60.0  # launch → the bot is serving (~5 s here; a loaded CI machine has taken over 30)
STOP_TIMEOUT = 45.0  # signal → exit
CLI_TIMEOUT = 90.0  # a command that does not serve (init, configuration errors)
WELCOME = "Chào mừng"  # the anonymous /start reply: "Chào mừng bạn đến với <b>HoSo</b>…"
USER_ID = 4242001


def fake_token() -> str:
    alphabet = string.ascii_letters + string.digits
    return "123456:" + "".join(secrets.choice(alphabet) for _ in range(35))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Hoso:
    """One `hoso` subprocess; its output goes to files (a pipe nobody reads could block it)."""

    process: asyncio.subprocess.Process
    stdout_path: Path
    stderr_path: Path
    launched_at: float

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def output(self) -> str:
        return f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"

    async def wait(self, timeout: float) -> int:
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.kill()
            await self.process.wait()
            pytest.fail(f"hoso did not exit within {timeout:.0f}s; killed it.\n{self.output()}")

    async def stop(self, sig: signal.Signals, timeout: float = STOP_TIMEOUT) -> int:
        assert self.process.returncode is None, f"hoso exited early ({self.process.returncode}).\n{self.output()}"
        self.process.send_signal(sig)
        return await self.wait(timeout)

    def kill(self) -> None:
        if self.process.returncode is None:
            try:
                self.process.kill()
            except ProcessLookupError:
                pass


class Launcher:
    """Starts `hoso` with a clean environment in tmp_path (so no .env is read) and kills leftovers."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[Hoso] = []
        self.env: dict[str, str] = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("HOSO_") and key.lower() not in ("http_proxy", "https_proxy", "all_proxy")
        }
        self.env["NO_PROXY"] = self.env["no_proxy"] = "127.0.0.1,localhost"
        self.env["PYTHONUNBUFFERED"] = "1"
        self.env["HOSO_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}"
        # Never api.telegram.org, even by mistake: a closed local port unless a test sets the stub.
        self.env["HOSO_TELEGRAM_API_BASE"] = "http://127.0.0.1:9"

    async def start(self, *args: str, env: dict[str, str] | None = None) -> Hoso:
        index = len(self.started)
        stdout_path = self.tmp_path / f"hoso-{index}.stdout"
        stderr_path = self.tmp_path / f"hoso-{index}.stderr"
        with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
            launched_at = time.monotonic()
            process = await asyncio.create_subprocess_exec(
                str(HOSO), *args,
                cwd=self.tmp_path,
                env=self.env if env is None else env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
            )
        hoso = Hoso(process, stdout_path, stderr_path, launched_at)
        self.started.append(hoso)
        return hoso

    async def run(self, *args: str, env: dict[str, str] | None = None, timeout: float = CLI_TIMEOUT) -> Hoso:
        """Run a command that is expected to finish on its own."""
        hoso = await self.start(*args, env=env)
        await hoso.wait(timeout)
        return hoso

    async def init(self) -> None:
        hoso = await self.run("init")
        assert hoso.process.returncode == 0, f"hoso init failed.\n{hoso.output()}"

    async def cleanup(self) -> None:
        for hoso in self.started:
            hoso.kill()
            try:
                await asyncio.wait_for(hoso.process.wait(), 10)
            except TimeoutError:  # pragma: no cover - a SIGKILLed child always goes
                pass


@pytest.fixture
async def launcher(tmp_path: Path) -> AsyncIterator[Launcher]:
    launcher = Launcher(tmp_path)
    try:
        yield launcher
    finally:
        await launcher.cleanup()


@pytest.fixture
def token() -> str:
    return fake_token()


@pytest.fixture
async def stub(token: str) -> AsyncIterator[BotAPIStub]:
    async with BotAPIStub(token=token) as stub:
        yield stub


@pytest.fixture
def bot_env(launcher: Launcher, stub: BotAPIStub, token: str) -> dict[str, str]:
    launcher.env["HOSO_BOT_TOKEN"] = token
    launcher.env["HOSO_TELEGRAM_API_BASE"] = stub.base_url
    return launcher.env


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected exactly one line on stderr, got {len(lines)}:\n{stderr}"
    assert "Traceback" not in stderr
    return lines[0]


def assert_no_secret(hoso: Hoso, *values: str) -> None:
    output = hoso.stdout + hoso.stderr
    for value in values:
        assert value not in output, "a secret reached the output of hoso"
    assert "Traceback" not in output, hoso.output()


def welcome_to(chat_id: int) -> Callable[[Call], bool]:
    def matches(call: Call) -> bool:
        return call.params.get("chat_id") == chat_id and WELCOME in str(call.params.get("text", ""))

    return matches


async def test_polling_answers_start_and_stops_on_sigint(
    launcher: Launcher, stub: BotAPIStub, bot_env: dict[str, str], token: str
) -> None:
    await launcher.init()
    hoso = await launcher.start("run")
    try:
        await asyncio.wait_for(stub.first_get_updates.wait(), START_TIMEOUT)
    except TimeoutError:
        pytest.fail(f"no getUpdates within {START_TIMEOUT:.0f}s; calls: {stub.methods()}\n{hoso.output()}")

    update = stub.enqueue_private_message("/start", user_id=USER_ID)
    reply = await stub.wait_for("sendMessage", welcome_to(USER_ID), timeout=START_TIMEOUT)

    assert "HoSo" in reply.params["text"]
    assert reply.params.get("parse_mode") == "HTML"
    assert reply.params.get("protect_content") is True  # dossier content is never forwardable
    assert reply.at > stub.first_get_updates_at
    # Before polling: no stale webhook, and the command menu in both languages.
    assert stub.find("deleteWebhook") is not None
    menus = {call.params.get("language_code") for call in stub.calls_of("setMyCommands")}
    assert {"vi", "en"} <= menus, menus
    assert all(call.token == token for call in stub.calls)
    # The update was confirmed: a later getUpdates asks past it.
    await stub.wait_for(
        "getUpdates", lambda call: (call.params.get("offset") or 0) > update["update_id"], timeout=START_TIMEOUT
    )

    code = await hoso.stop(signal.SIGINT)
    assert code == 0, hoso.output()
    assert_no_secret(hoso, token)


async def test_group_message_is_refused_and_the_bot_leaves(
    launcher: Launcher, stub: BotAPIStub, bot_env: dict[str, str], token: str
) -> None:
    await launcher.init()
    hoso = await launcher.start("run")
    await asyncio.wait_for(stub.first_get_updates.wait(), START_TIMEOUT)
    group_id = -1009876543210
    stub.enqueue_group_message("/start", user_id=USER_ID, chat_id=group_id)
    await stub.wait_for("leaveChat", lambda call: call.params.get("chat_id") == group_id, timeout=START_TIMEOUT)
    refusal = stub.find("sendMessage", lambda call: call.params.get("chat_id") == group_id)
    assert refusal is not None and "riêng" in refusal.params["text"]  # "…chỉ làm việc trong trò chuyện riêng…"
    assert stub.find("sendMessage", welcome_to(group_id)) is None
    code = await hoso.stop(signal.SIGTERM)
    assert code == 0, hoso.output()
    assert_no_secret(hoso, token)


async def test_run_without_token_names_the_setting(launcher: Launcher) -> None:
    hoso = await launcher.run("run")
    assert hoso.process.returncode != 0
    assert "HOSO_BOT_TOKEN" in one_line(hoso.stderr)


async def test_webhook_without_secret_names_the_setting(launcher: Launcher, token: str) -> None:
    launcher.env["HOSO_BOT_TOKEN"] = token
    launcher.env["HOSO_WEBHOOK_URL"] = f"http://127.0.0.1:{free_port()}/tg/hook"
    hoso = await launcher.run("run", "--webhook")
    assert hoso.process.returncode != 0
    assert "HOSO_WEBHOOK_SECRET" in one_line(hoso.stderr)
    assert_no_secret(hoso, token)


async def test_run_on_a_database_never_initialised_asks_for_init(
    launcher: Launcher, stub: BotAPIStub, bot_env: dict[str, str], token: str
) -> None:
    hoso = await launcher.run("run", timeout=START_TIMEOUT)
    assert hoso.process.returncode != 0
    assert "hoso init" in one_line(hoso.stderr)
    assert stub.calls == [], "the bot contacted Telegram before checking the schema"
    assert_no_secret(hoso, token)


async def post_update(
    http: aiohttp.ClientSession, url: str, update: dict, secret: str | None, deadline: float
) -> tuple[int, str]:
    """POST an update to the webhook, retrying only while its server is not listening yet."""
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    while True:
        try:
            async with http.post(url, json=update, headers=headers) as response:
                return response.status, await response.text()
        except aiohttp.ClientConnectorError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def test_webhook_end_to_end(
    launcher: Launcher, stub: BotAPIStub, bot_env: dict[str, str], token: str
) -> None:
    secret = secrets.token_urlsafe(24)
    port = free_port()
    url = f"http://127.0.0.1:{port}/tg/hook"
    bot_env.update({
        "HOSO_WEBHOOK_SECRET": secret,
        "HOSO_WEBHOOK_URL": url,
        "HOSO_WEBHOOK_HOST": "127.0.0.1",
        "HOSO_WEBHOOK_PORT": str(port),
    })
    await launcher.init()
    hoso = await launcher.start("run", "--webhook")
    try:
        registered = await stub.wait_for("setWebhook", timeout=START_TIMEOUT)
    except TimeoutError:
        pytest.fail(f"no setWebhook within {START_TIMEOUT:.0f}s; calls: {stub.methods()}\n{hoso.output()}")
    assert registered.params.get("url") == url
    assert registered.params.get("secret_token") == secret
    menus = {call.params.get("language_code") for call in stub.calls_of("setMyCommands")}
    assert {"vi", "en"} <= menus, menus

    intruder_id, user_id = USER_ID + 1, USER_ID
    deadline = time.monotonic() + START_TIMEOUT
    timeout = aiohttp.ClientTimeout(total=START_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        for wrong in ("not-the-secret-" + secrets.token_hex(4), None):
            forged = stub.private_message_update("/start", user_id=intruder_id)
            forged["update_id"] = stub.next_update_id()
            status, body = await post_update(http, url, forged, wrong, deadline)
            assert status in (401, 403), (status, body)
            assert WELCOME not in body

        update = stub.private_message_update("/start", user_id=user_id)
        update["update_id"] = stub.next_update_id()
        status, body = await post_update(http, url, update, secret, deadline)
    assert status == 200, (status, body)
    if WELCOME not in body:  # not answered inside the HTTP response: then through the Bot API
        await stub.wait_for("sendMessage", welcome_to(user_id), timeout=START_TIMEOUT)
    assert stub.find("sendMessage", lambda call: call.params.get("chat_id") == intruder_id) is None

    code = await hoso.stop(signal.SIGTERM)
    assert code == 0, hoso.output()
    assert stub.find("sendMessage", lambda call: call.params.get("chat_id") == intruder_id) is None
    assert_no_secret(hoso, token, secret)


async def test_a_token_telegram_refuses_is_one_line(
    launcher: Launcher, stub: BotAPIStub, bot_env: dict[str, str], token: str
) -> None:
    await launcher.init()
    wrong = fake_token()  # the stub answers 401 to any token but its own
    bot_env["HOSO_BOT_TOKEN"] = wrong
    hoso = await launcher.run("run", timeout=START_TIMEOUT)
    assert hoso.process.returncode != 0
    assert "HOSO_BOT_TOKEN" in one_line(hoso.stderr)
    assert_no_secret(hoso, wrong)


async def test_webhook_port_in_use_is_one_line_and_never_registered(
    launcher: Launcher, stub: BotAPIStub, bot_env: dict[str, str], token: str
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        bot_env.update({
            "HOSO_WEBHOOK_SECRET": secrets.token_urlsafe(24),
            "HOSO_WEBHOOK_URL": f"http://127.0.0.1:{port}/tg/hook",
            "HOSO_WEBHOOK_PORT": str(port),
        })
        await launcher.init()
        hoso = await launcher.run("run", "--webhook", timeout=START_TIMEOUT)
    assert hoso.process.returncode != 0
    assert "HOSO_WEBHOOK_PORT" in one_line(hoso.stderr)
    assert stub.calls_of("setWebhook") == [], "Telegram was pointed at a server that never started"
    assert_no_secret(hoso, token)
