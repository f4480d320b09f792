"""End to end: signing in with an activation code, over real HTTP against the Bot API stub.

`hoso` runs as subprocesses exactly as in tests/test_e2e.py (whose helpers are reused): the CLI issues
an account and its one-time code, `hoso run` polls the stub, a Telegram user binds the account with
`/start CODE`, chooses a password, and is greeted by name; the code then no longer works. Messages
that carried a secret are deleted, no secret reaches the logs, and the audit chain stays intact.
Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from typing import Any

import pytest

from tests.botapi_stub import BotAPIStub, Call

# The fixtures are imported by name: pytest then serves them in this module too.
from tests.test_e2e import (  # noqa: F401
    START_TIMEOUT,
    Hoso,
    Launcher,
    assert_no_secret,
    bot_env,
    launcher,
    stub,
    token,
)

pytestmark = pytest.mark.e2e

CLERK_ID = 5005001
STRANGER_ID = 5005002
USERNAME = "lan.syt"
FULL_NAME = "Trần Thị Lan"
PASSWORD = "mat-khau-an-toan-2026"
# Incoming message ids, far from the ids the stub gives the bot's own messages (1, 2, 3...).
CODE_MESSAGE_ID, PASSWORD_MESSAGE_ID, START_MESSAGE_ID, REUSE_MESSAGE_ID = 7001, 7002, 7003, 7004




async def cli(launcher: Launcher, *args: str) -> Hoso:
    hoso = await launcher.run(*args)
    assert hoso.process.returncode == 0, f"hoso {' '.join(args)} failed.\n{hoso.output()}"
    return hoso


def send_private(stub: BotAPIStub, text: str, user_id: int, message_id: int) -> dict[str, Any]:
    """Queue a private message whose message_id the test chooses."""
    update = stub.private_message_update(text, user_id=user_id)
    update["message"]["message_id"] = message_id
    return stub.enqueue_update(update)


def text_to(chat_id: int, *fragments: str) -> Callable[[Call], bool]:
    def matches(call: Call) -> bool:
        text = str(call.params.get("text", ""))
        return call.params.get("chat_id") == chat_id and all(fragment in text for fragment in fragments)

    return matches


def deletion_of(chat_id: int, message_id: int) -> Callable[[Call], bool]:
    def matches(call: Call) -> bool:
        return call.params.get("chat_id") == chat_id and call.params.get("message_id") == message_id

    return matches


def sent_to(stub: BotAPIStub, chat_id: int, since: int = 0) -> list[str]:
    return [str(call.params.get("text")) for call in stub.calls_of("sendMessage", since)
            if call.params.get("chat_id") == chat_id]


async def expect(stub: BotAPIStub, hoso: Hoso, method: str, predicate: Callable[[Call], bool], since: int,
                 what: str) -> Call:
    """The matching call, or a failure that shows what the bot did instead."""
    try:
        return await stub.wait_for(method, predicate, timeout=START_TIMEOUT, since=since)
    except TimeoutError:
        recorded = [(call.method, call.params) for call in stub.calls[since:] if call.method != "getUpdates"]
        pytest.fail(f"{what}: no matching {method} within {START_TIMEOUT:.0f}s.\n"
                    f"calls since: {recorded}\n{hoso.output()}")


async def test_activation_code_binds_the_account_once_and_no_secret_leaks(
    launcher: Launcher, stub: BotAPIStub, bot_env: dict[str, str], token: str
) -> None:
    # 1. The personnel office issues the account from the CLI.
    await launcher.init()
    await cli(launcher, "unit", "add", "CT", "UBND Cần Thơ")
    await cli(launcher, "unit", "add", "SYT", "Sở Y tế", "--parent", "CT")
    issued_by = await cli(launcher, "account", "add", USERNAME, "--unit", "SYT", "--role", "clerk",
                          "--name", FULL_NAME, "--request", "45/CV-SYT 01/07/2026", "--json")
    issued = json.loads(issued_by.stdout)
    assert issued["username"] == USERNAME, issued
    assert set(issued) >= {"username", "activation_code", "expires_at"}, issued
    code = issued["activation_code"]
    assert code, issued

    # 2. The bot serves; /start CODE binds the account, deletes the code, asks for a password.
    hoso = await launcher.start("run")
    try:
        await asyncio.wait_for(stub.first_get_updates.wait(), START_TIMEOUT)
    except TimeoutError:
        pytest.fail(f"no getUpdates within {START_TIMEOUT:.0f}s; calls: {stub.methods()}\n{hoso.output()}")

    since = len(stub.calls)
    send_private(stub, f"/start {code}", CLERK_ID, CODE_MESSAGE_ID)
    bound = await expect(stub, hoso, "sendMessage", text_to(CLERK_ID, USERNAME, "mật khẩu"), since,
                         "/start CODE was not answered with the account and a password prompt")
    await expect(stub, hoso, "deleteMessage", deletion_of(CLERK_ID, CODE_MESSAGE_ID), since,
                 "the message carrying the activation code was not deleted")
    assert FULL_NAME in bound.params["text"], bound.params

    # 3. The password: deleted, and the user is signed in.
    since = len(stub.calls)
    send_private(stub, PASSWORD, CLERK_ID, PASSWORD_MESSAGE_ID)
    await expect(stub, hoso, "sendMessage", text_to(CLERK_ID, "Bạn đã đăng nhập"), since,
                 "the first password did not sign the user in")
    await expect(stub, hoso, "deleteMessage", deletion_of(CLERK_ID, PASSWORD_MESSAGE_ID), since,
                 "the message carrying the password was not deleted")

    # 4. /start now greets the signed-in user by name.
    since = len(stub.calls)
    send_private(stub, "/start", CLERK_ID, START_MESSAGE_ID)
    await expect(stub, hoso, "sendMessage", text_to(CLERK_ID, "Xin chào", FULL_NAME), since,
                 "/start after signing in did not greet the user by name")

    # 5. The code is single-use: another Telegram user is refused, and their message deleted too.
    since = len(stub.calls)
    send_private(stub, f"/start {code}", STRANGER_ID, REUSE_MESSAGE_ID)
    await expect(stub, hoso, "sendMessage", text_to(STRANGER_ID, "không hợp lệ"), since,
                 "a used activation code was not refused")
    await expect(stub, hoso, "deleteMessage", deletion_of(STRANGER_ID, REUSE_MESSAGE_ID), since,
                 "the message carrying the reused code was not deleted")
    assert not any(USERNAME in text or FULL_NAME in text for text in sent_to(stub, STRANGER_ID)), \
        sent_to(stub, STRANGER_ID)

    # The bot never echoes a secret back into the chat either.
    for call in stub.calls_of("sendMessage"):
        text = str(call.params.get("text", ""))
        assert code not in text and PASSWORD not in text, call.params

    # 6. SIGINT stops it cleanly; neither the code nor the password (nor the token) was logged.
    exit_code = await hoso.stop(signal.SIGINT)
    assert exit_code == 0, hoso.output()
    assert_no_secret(hoso, code, PASSWORD, token)

    # 7. The audit chain is intact and holds at least the issue, the activation and the sign-in.
    verified = await cli(launcher, "audit", "verify", "--json")
    report = json.loads(verified.stdout)
    assert report["ok"] is True, report
    assert report["count"] >= 4, report
    assert_no_secret(verified, code, PASSWORD)
