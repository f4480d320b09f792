"""End to end: a custody transfer between two clerks of two units, over real HTTP against the Bot API stub.

`hoso run` polls the stub as in tests/test_e2e.py (whose fixtures are reused). The database is prepared
in this process before the bot starts, the way `hoso init` does it (`prepare_database`), plus the unit
tree, the people and two clerks whose Telegram accounts are already bound: 501 of SYT, which holds
Đặng Thị Hoà's dossier, and 502 of STC. 502 asks for it through /transfer and the form, 501 presses
Approve on the notification, 502 is told, and the database shows the new custodian. Only 127.0.0.1 is
ever contacted.

The notifications are outbox rows that the background sender delivers: each must reach the stub along with
the bot's answer to the one who acted (the commit wakes the sender), not at its next pass, `SEND_EVERY`
seconds later at worst. The stub's arrival times of the two messages say so.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
from collections.abc import Callable

import pytest
from sqlalchemy import select

from bot.cli.serving import prepare_database
from bot.jobs import SEND_EVERY
from handlers.forms import FormChoice, FormConfirm
from handlers.transfers import TransferConfirm, TransferDecide, TransferPick
from services.core.clock import SystemClock, local_today
from storage import Database, UnitOfWork
from storage.models import TransferRequest
from tests.botapi_stub import BotAPIStub, Call
from tests.test_accounts import sign_in, tree

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
from tests.test_lookup import add_people

pytestmark = pytest.mark.e2e

HOLDING, RECEIVING = 501, 502
HOA, HOA_NAME = "001188000111", "Đặng Thị Hoà"
STEP_TIMEOUT = 10.0  # one answer of a serving bot (start-up is START_TIMEOUT)
PROMPTLY = 1.0  # seconds between the answer to the one who acted and the notice to the other side, at most
assert PROMPTLY < SEND_EVERY / 4  # a notice left to the sender's next pass would mostly come later


async def prepare(url: str) -> tuple[int, dt.date]:
    """The database as `hoso init` leaves it, with the province, its people and the two bound clerks.
    The real clock: the bot runs on it, and a sign-in it judged stale would ask for the password."""
    clock = SystemClock()
    database = Database(url)
    try:
        await prepare_database(database, clock, "vn-2026")
        uow = UnitOfWork(database)
        await tree(uow, clock)
        people = await add_people(uow, clock)
        await sign_in(uow, clock, "lan.syt", "SYT", "clerk", HOLDING)
        await sign_in(uow, clock, "yen.stc", "STC", "clerk", RECEIVING)
    finally:
        await database.dispose()
    return people[HOA], local_today(clock) - dt.timedelta(days=3)


async def stored(url: str) -> list[tuple[TransferRequest, str]]:
    """Every request with the code of its dossier's custodian now."""
    database = Database(url)
    try:
        async with UnitOfWork(database).read() as repos:
            found = []
            for request in (await repos.session.scalars(select(TransferRequest))).all():
                units = await repos.dossiers.with_units(request.dossier_id)
                assert units is not None
                found.append((request, units[1].code))
            return found
    finally:
        await database.dispose()


def buttons(call: Call) -> list[str]:
    markup = call.params.get("reply_markup") or {}
    return [b.get("callback_data") for row in markup.get("inline_keyboard", []) for b in row]


def to(chat_id: int, *fragments: str, button: str | None = None) -> Callable[[Call], bool]:
    def matches(call: Call) -> bool:
        text = str(call.params.get("text", ""))
        return (call.params.get("chat_id") == chat_id and all(f in text for f in fragments)
                and (button is None or button in buttons(call)))

    return matches


class Chat:
    """Drives the stub as the clerks' Telegram clients, waiting for each answer of the bot."""

    def __init__(self, stub: BotAPIStub, hoso: Hoso) -> None:
        self.stub, self.hoso = stub, hoso

    async def expect(self, predicate: Callable[[Call], bool], since: int, what: str) -> Call:
        try:
            return await self.stub.wait_for("sendMessage", predicate, timeout=STEP_TIMEOUT, since=since)
        except TimeoutError:
            seen = [(c.method, c.params.get("chat_id"), c.params.get("text")) for c in self.stub.calls[since:]
                    if c.method != "getUpdates"]
            pytest.fail(f"{what}: no matching sendMessage within {STEP_TIMEOUT:.0f}s.\nsince: {seen}\n"
                        f"{self.hoso.output()}")

    async def say(self, user_id: int, text: str, then: Callable[[Call], bool], what: str) -> Call:
        since = len(self.stub.calls)
        self.stub.enqueue_private_message(text, user_id=user_id)
        return await self.expect(then, since, what)

    async def press(self, user_id: int, message: Call, data: str, then: Callable[[Call], bool], what: str) -> Call:
        since = len(self.stub.calls)
        self.stub.enqueue_callback_query(message, data, user_id=user_id)
        return await self.expect(then, since, what)


async def test_a_clerk_asks_for_a_dossier_and_the_holding_clerk_approves(
    launcher: Launcher, stub: BotAPIStub, bot_env: dict[str, str], token: str
) -> None:
    url = launcher.env["HOSO_DATABASE_URL"]
    hoa, letter_day = await prepare(url)
    letter_date = letter_day.strftime("%d/%m/%Y")

    hoso = await launcher.start("run")
    try:
        await asyncio.wait_for(stub.first_get_updates.wait(), START_TIMEOUT)
    except TimeoutError:
        pytest.fail(f"no getUpdates within {START_TIMEOUT:.0f}s; calls: {stub.methods()}\n{hoso.output()}")
    chat = Chat(stub, hoso)

    # STC's clerk looks her up: name, birth year and holding unit, nothing more.
    pick = TransferPick(id=hoa).pack()
    found = await chat.say(RECEIVING, "/transfer dang hoa", to(RECEIVING, HOA_NAME, button=pick),
                           "/transfer did not list the candidate")
    assert "1988" in found.params["text"] and "Sở Y tế" in found.params["text"]
    assert HOA not in found.params["text"] and "12 Trần Hưng Đạo" not in found.params["text"]

    # The form, answered with a button and three typed answers, ends on a summary.
    stc = FormChoice(value="STC").pack()
    unit = await chat.press(RECEIVING, found, pick, to(RECEIVING, "(1/4)", button=stc), "the form did not start")
    await chat.press(RECEIVING, unit, stc, to(RECEIVING, "(2/4)"), "the unit button was not taken")
    await chat.say(RECEIVING, "56/CV-STC", to(RECEIVING, "(3/4)"), "the request number was not taken")
    await chat.say(RECEIVING, letter_date, to(RECEIVING, "(4/4)"), "the request date was not taken")
    confirm = FormConfirm(action="confirm").pack()
    summary = await chat.say(RECEIVING, "Nguyễn Văn Tài, Giám đốc", to(RECEIVING, "56/CV-STC", button=confirm),
                             "no summary with Confirm")
    assert letter_date in summary.params["text"] and "Sở Tài chính" in summary.params["text"]

    # Confirmed: the request is stored, and the holding clerk is asked with Approve / Reject.
    since = len(stub.calls)
    asked = await chat.press(RECEIVING, summary, confirm, to(HOLDING, HOA_NAME, "56/CV-STC", "Sở Tài chính"),
                             "the holding clerk was not asked")
    [(request, holder)] = await stored(url)
    assert (request.status, holder, request.request_number, request.request_date) == (
        "pending", "SYT", "56/CV-STC", letter_day)
    approve = TransferDecide(id=request.id, approve=True).pack()
    assert buttons(asked) == [approve, TransferDecide(id=request.id, approve=False).pack()]
    sent = await chat.expect(to(RECEIVING, f"#{request.id}", "Sở Y tế"), since,
                             "the requester was not told the request went out")
    assert asked.at - sent.at < PROMPTLY, f"the holding clerk was asked {asked.at - sent.at:.1f}s after the answer"

    # The holding clerk approves and confirms; the requester hears of it, and the dossier has changed hands.
    confirm = TransferConfirm(id=request.id).pack()
    question = await chat.press(HOLDING, asked, approve, to(HOLDING, f"#{request.id}", HOA_NAME, button=confirm),
                                "the approval was not put to the clerk to confirm")
    since = len(stub.calls)
    told = await chat.press(HOLDING, question, confirm, to(RECEIVING, f"#{request.id}", HOA_NAME, "Sở Tài chính"),
                            "the requester was not told of the approval")
    assert buttons(told) == []
    done = await chat.expect(to(HOLDING, f"#{request.id}", "Sở Tài chính"), since, "the approver saw no confirmation")
    assert told.at - done.at < PROMPTLY, f"the requester was told {told.at - done.at:.1f}s after the approver's answer"
    # the pressed button stops spinning: answered once the handler is done (a refusal would be that answer)
    assert await stub.wait_for("answerCallbackQuery", since=since, timeout=STEP_TIMEOUT) is not None
    [(request, holder)] = await stored(url)
    assert (request.status, holder) == ("approved", "STC")

    code = await hoso.stop(signal.SIGTERM)
    assert code == 0, hoso.output()
    assert_no_secret(hoso, token)
