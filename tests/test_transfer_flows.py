"""Custody transfers through the real Dispatcher: /transfer with its request form, the holding clerk's
Approve / Reject (with a reason), the requester's Withdraw, the refusals, /cancel, the chain of custody in
/history, and the escalation job with a frozen clock.

Two clerks of two units talk to the bot: 501 of SYT, which holds Đặng Thị Hoà's dossier, and 502 of STC,
which asks for it. What a step tells the other side is a notice in the outbox, written with the step: the
tests read its row, then send the outbox as `hoso run` does (`harness.deliver`) and read the message from
every call the bot made (`harness.session.calls`), whichever chat it went to.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from aiogram.types import Message
from sqlalchemy import select

from bot.jobs import Jobs
from handlers.dossiers import HistoryOpen, OpenDossier, UpdatePick
from handlers.forms import FormBack, FormChoice, FormConfirm
from handlers.transfers import TransferConfirm, TransferDecide, TransferMore, TransferPick, TransferWithdraw
from handlers.views import esc
from services.changes.log import ChangeLog
from services.core.actor import Actor
from services.core.clock import format_local_datetime
from services.core.identity import load_actor
from services.regime.reference import install_reference_lists
from services.regime.setup import install_profile
from storage.models import ChangeEvent, DossierRecord, DossierVersion, TransferRequest
from tests.conftest import BotHarness, outbox_rows
from tests.talk import Talk, buttons_of, tr
from tests.test_accounts import PASSWORD, audit_actions, sign_in, tree
from tests.test_lookup import add_people

pytestmark = pytest.mark.both_transports  # the same flows over the web chat's transport (tests/conftest.py)

HOLDING, RECEIVING, OTHER_STC, MANAGER, ADMIN = 501, 502, 503, 504, 509
HOA = "001188000111"  # Đặng Thị Hoà, born 09/03/1988, kept by SYT
HOA_NAME, HOA_ADDRESS = "Đặng Thị Hoà", "12 Trần Hưng Đạo"
SYT_NAME, STC_NAME = "Sở Y tế", "Sở Tài chính"
LETTER = {"doc_number": "56/CV-STC", "doc_date": "25/06/2026", "doc_issuer": "Nguyễn Văn Tài, Giám đốc"}
REASON = "Chưa có quyết định điều động"


# -- the conversation --------------------------------------------------------------------------------------
def sent_to(harness: BotHarness, chat_id: int, since: int = 0) -> list[Any]:
    """Every sendMessage to `chat_id` from call number `since` on, whoever caused it."""
    return [c for c in harness.session.calls[since:] if c.__api_method__ == "sendMessage" and int(c.chat_id) == chat_id]


def stored(harness: BotHarness, call: Any) -> Message:
    """The message a sendMessage call produced, as the recipient's client holds it (to press its buttons)."""
    for (chat, _id), message in reversed(list(harness.session.messages.items())):
        if chat == int(call.chat_id) and message.text == call.text:
            return message
    raise AssertionError(f"no stored message for {call.text!r}")


# -- the data ---------------------------------------------------------------------------------------------
@pytest.fixture
async def people(harness: BotHarness) -> dict[str, int]:
    uow, clock = harness.runtime.uow, harness.runtime.clock
    await tree(uow, clock)  # CT > SNV, SYT > BV, STC
    await install_reference_lists(uow)
    await install_profile(uow, clock, "vn-2026")
    people = await add_people(uow, clock)
    await sign_in(uow, clock, "lan.syt", "SYT", "clerk", HOLDING)
    await sign_in(uow, clock, "yen.stc", "STC", "clerk", RECEIVING)
    return people


async def requests(harness: BotHarness) -> list[TransferRequest]:
    async with harness.runtime.uow.read() as repos:
        return list((await repos.session.scalars(select(TransferRequest).order_by(TransferRequest.id))).all())


async def custodian(harness: BotHarness, dossier_id: int) -> str:
    async with harness.runtime.uow.read() as repos:
        found = await repos.dossiers.with_units(dossier_id)
    assert found is not None
    return found[1].code


async def move_to_stc(harness: BotHarness, dossier_id: int) -> None:
    """She is sent to work at STC (a change of working unit), which is why STC asks for her dossier."""
    clerk = await load_actor(harness.runtime.uow, harness.channel, HOLDING)
    await ChangeLog(harness.runtime.uow, clerk, harness.runtime.clock).log("transfer", dossier_id, {
        "working_unit": "STC", "doc_number": "12/QĐ-UBND", "doc_date": "20/06/2026", "doc_issuer": "UBND",
        "effective_on": "22/06/2026"})


async def fill_request(talk: Talk, dossier_id: int, query: str = "dang hoa") -> str:
    """/transfer QUERY, the candidate, the four answers: returns the summary."""
    await talk.say(f"/transfer {query}")
    await talk.tap(TransferPick(id=dossier_id))
    await talk.tap(FormChoice(value="STC"))
    await talk.say(LETTER["doc_number"])
    await talk.say(LETTER["doc_date"])
    return await talk.say(LETTER["doc_issuer"])


async def ask_for_hoa(harness: BotHarness, people: dict[str, int], talk: Talk | None = None) -> TransferRequest:
    """STC's clerk asks for her dossier, through the bot, and the holding clerk is sent the notice; the
    request as stored."""
    talk = talk or Talk(harness, RECEIVING)
    await fill_request(talk, people[HOA])
    await talk.tap(FormConfirm(action="confirm"))
    made = await requests(harness)
    assert made, talk.text
    await harness.deliver()
    return made[-1]


async def delivered(harness: BotHarness, chat_id: int) -> list[Any]:
    """The outbox sent as `hoso run` does: the messages that went to `chat_id`."""
    return [c for c in await harness.deliver() if c.__api_method__ == "sendMessage" and int(c.chat_id) == chat_id]


async def notice_to(harness: BotHarness, chat_id: int) -> Any:
    """The one notice the outbox held for `chat_id`, sent."""
    sent = await delivered(harness, chat_id)
    assert len(sent) == 1, (chat_id, [c.text for c in sent])
    return sent[0]


async def unit_path(harness: BotHarness, code: str) -> str:
    async with harness.runtime.uow.read() as repos:
        unit = await repos.units.by_code(code)
    assert unit is not None
    return unit.path


async def account_of(harness: BotHarness, telegram_id: int) -> int:
    account = (await load_actor(harness.runtime.uow, harness.channel, telegram_id)).account_id
    assert account is not None
    return account


# -- end to end ---------------------------------------------------------------------------------------------
async def test_two_clerks_hand_a_dossier_over(harness: BotHarness, people: dict[str, int]) -> None:
    hoa = people[HOA]
    await move_to_stc(harness, hoa)
    receiving, holding = Talk(harness, RECEIVING), Talk(harness, HOLDING)
    # The holding clerk still has the dossier: a search shows its change and card buttons (kept for later).
    await holding.say("/update dang hoa")
    stale_update = holding.keyboard()
    assert UpdatePick(id=hoa).pack() in buttons_of(stale_update.reply_markup)
    await holding.say("/find dang hoa")
    stale_open = holding.keyboard()
    assert OpenDossier(id=hoa).pack() in buttons_of(stale_open.reply_markup)

    # 1. STC's clerk looks her up province-wide and sees only her name, birth year and holding unit.
    listing = await receiving.say("/transfer dang hoa")
    assert f"<b>{HOA_NAME}</b> — 1988 — {SYT_NAME}" in listing
    for private in (HOA, HOA_ADDRESS, "09/03/1988", "Chuyên viên"):
        assert private not in listing
    assert buttons_of(receiving.keyboard().reply_markup) == [TransferPick(id=hoa).pack()]

    # 2. The form: the receiving unit is a button among the clerk's own units only.
    intro = await receiving.tap(TransferPick(id=hoa))
    assert HOA_NAME in intro and SYT_NAME in intro and "(1/4)" in intro
    assert buttons_of(receiving.keyboard().reply_markup) == [FormChoice(value="STC").pack()]
    assert "(2/4)" in await receiving.tap(FormChoice(value="STC"))
    assert "(3/4)" in await receiving.say(LETTER["doc_number"])
    assert "(4/4)" in await receiving.say(LETTER["doc_date"])
    summary = await receiving.say(LETTER["doc_issuer"])
    for shown in (HOA_NAME, "1988", SYT_NAME, STC_NAME, *LETTER.values()):
        assert esc(shown) in summary
    for private in (HOA, HOA_ADDRESS, "09/03/1988"):
        assert private not in summary and private not in intro
    assert buttons_of(receiving.keyboard().reply_markup) == [FormConfirm(action=a).pack() for a in
                                                             ("confirm", "edit", "cancel")]
    assert await requests(harness) == []  # nothing is written before the confirmation

    # 3. Confirmed: the request is stored, and the holding clerk is asked with Approve / Reject: a notice in the
    # outbox, written with the request, to the clerk's Telegram chat (the one channel the account is bound on).
    before = len(harness.session.calls)
    done = await receiving.tap(FormConfirm(action="confirm"))
    [request] = await requests(harness)
    assert f"#{request.id}" in done and SYT_NAME in done
    assert (request.status, request.request_number, request.request_date, request.signer) == (
        "pending", "56/CV-STC", dt.date(2026, 6, 25), LETTER["doc_issuer"])
    assert await receiving.state() is None
    assert sent_to(harness, HOLDING, before) == []  # not by the handler: by the sender
    [row] = await outbox_rows(harness.runtime.uow)
    assert (row.kind, row.account_id, row.channel, row.address, row.status, row.object_id) == (
        "transfer_requested", await account_of(harness, HOLDING), harness.channel, str(HOLDING), "pending", str(request.id))
    assert row.due_at == harness.runtime.clock.now()  # at once, not held to working hours
    assert row.payload == {"request": request.id, "name": HOA_NAME, "holder": SYT_NAME, "receiver": STC_NAME,
                           "letter": "56/CV-STC", "date": "2026-06-25", "signer": LETTER["doc_issuer"],
                           "dossier_id": hoa, "unit_path": await unit_path(harness, "SYT"), "locale": None,
                           "due_on": "2026-07-01"}
    await harness.deliver()
    [asked] = sent_to(harness, HOLDING, before)
    for shown in (STC_NAME, HOA_NAME, f"#{request.id}", "56/CV-STC", "25/06/2026", esc(LETTER["doc_issuer"])):
        assert shown in asked.text
    assert HOA not in asked.text
    approve, reject = TransferDecide(id=request.id, approve=True), TransferDecide(id=request.id, approve=False)
    assert buttons_of(asked.reply_markup) == [approve.pack(), reject.pack()]
    assert await custodian(harness, hoa) == "SYT"  # still held until the decision

    # 4. The holding clerk approves from the notification, confirms what moves where; the requester is told.
    question = await holding.tap(approve, stored(harness, asked))
    assert f"#{request.id}" in question and HOA_NAME in question and STC_NAME in question and SYT_NAME in question
    assert holding.sent_buttons() == [TransferConfirm(id=request.id).pack(), reject.pack()]
    assert await custodian(harness, hoa) == "SYT"  # nothing moves before the confirmation
    approved = await holding.tap(TransferConfirm(id=request.id))
    assert len(holding.sent()) == 1 and holding.alerts() == []  # the result, shown once
    assert f"#{request.id}" in approved and HOA_NAME in approved and STC_NAME in approved
    assert holding.sent(RECEIVING) == []
    [row] = await outbox_rows(harness.runtime.uow, "transfer_decided")
    assert (row.account_id, row.channel, row.address, row.object_id) == (
        await account_of(harness, RECEIVING), harness.channel, str(RECEIVING), str(request.id))
    assert row.payload == {"request": request.id, "name": HOA_NAME, "status": "approved", "unit": STC_NAME,
                           "reason": None, "locale": None, "due_on": "2026-07-01"}
    told = await notice_to(harness, RECEIVING)
    assert told.reply_markup is None
    assert f"#{request.id}" in told.text and HOA_NAME in told.text and STC_NAME in told.text
    assert await custodian(harness, hoa) == "STC"
    [request] = await requests(harness)
    assert request.status == "approved" and request.decided_at is not None
    assert {"transfer.request", "transfer.approve"} <= set(await audit_actions(harness.runtime.uow))

    # 5. The old unit lost the dossier: no change can be logged, and (no longer the working unit) no card.
    await holding.tap(UpdatePick(id=hoa), stale_update)
    assert holding.alerts() == [tr(harness, "You are not allowed to do that.")]
    await holding.tap(OpenDossier(id=hoa), stale_open)
    assert holding.alerts() == [tr(harness, "You are not allowed to do that.")]
    assert HOA_NAME not in await holding.say("/find dang hoa")
    # A second press of Approve finds it decided.
    await holding.tap(approve, stored(harness, asked))
    assert len(holding.alerts()) == 1 and f"#{request.id}" in holding.alerts()[0]
    assert await custodian(harness, hoa) == "STC"

    # 6. The new holder's /history shows the chain of custody: both units and the written request.
    await receiving.say("/history dang hoa")
    history = await receiving.tap(HistoryOpen(id=hoa))
    custody = [line for line in history.splitlines() if SYT_NAME in line and STC_NAME in line and "→" in line]
    assert len(custody) == 1, history
    assert "56/CV-STC" in history and "25/06/2026" in history and esc(LETTER["doc_issuer"]) in history
    # Who asked (STC's clerk) and who approved (SYT's clerk): the move is not credited to the asker alone.
    async with harness.runtime.uow.read() as repos:
        moved = (await repos.session.scalars(select(ChangeEvent).where(ChangeEvent.kind == "custody"))).one()
    clock = harness.runtime.clock
    assert tr(harness, "Asked {when} by {who}", when=format_local_datetime(moved.recorded_at, clock),
              who="yen.stc") in history
    assert tr(harness, "Approved {when} by {who}", when=format_local_datetime(moved.decided_at, clock),
              who="lan.syt") in history


async def test_the_old_unit_still_reads_but_no_longer_writes(harness: BotHarness, people: dict[str, int]) -> None:
    hoa = people[HOA]
    request = await ask_for_hoa(harness, people)
    holding = Talk(harness, HOLDING)
    pending = await holding.say("/transfer")  # the incoming request, with Approve / Reject
    assert f"#{request.id}" in pending and HOA_NAME in pending
    assert buttons_of(holding.keyboard().reply_markup) == [TransferDecide(id=request.id, approve=True).pack(),
                                                          TransferDecide(id=request.id, approve=False).pack()]
    await holding.tap(TransferDecide(id=request.id, approve=True))
    await holding.tap(TransferConfirm(id=request.id))
    assert await custodian(harness, hoa) == "STC"

    # She still works at SYT: its clerk finds her and opens her card, but may not log a change.
    await holding.say("/update dang hoa")
    await holding.tap(UpdatePick(id=hoa))
    assert holding.alerts() == [tr(harness, "You are not allowed to do that.")]
    assert holding.sent() == []
    await holding.say("/find dang hoa")
    card = await holding.tap(OpenDossier(id=hoa))
    assert HOA_NAME in card and holding.alerts() == []


async def test_custody_moves_on_the_day_of_approval(harness: BotHarness, people: dict[str, int]) -> None:
    """Asked on Wed 01/07, approved on Fri 03/07 after the clerk's password is asked again: the dossier
    was SYT's until the approval, and its history says so."""
    hoa = people[HOA]
    request = await ask_for_hoa(harness, people)
    notice = stored(harness, sent_to(harness, HOLDING)[0])
    harness.runtime.clock.advance(dt.timedelta(days=2))
    holding = Talk(harness, HOLDING)
    approve = TransferDecide(id=request.id, approve=True)
    await holding.tap(approve, notice)
    question, confirm = holding.keyboard(), TransferConfirm(id=request.id)
    await holding.tap(confirm, question)
    assert holding.alerts() == [tr(harness, "For your security, please send your password again to continue.")]
    assert await custodian(harness, hoa) == "SYT"
    await holding.say(PASSWORD)
    await holding.tap(confirm, question)
    assert await custodian(harness, hoa) == "STC"

    [request] = await requests(harness)
    async with harness.runtime.uow.read() as repos:
        event = await repos.session.get(ChangeEvent, request.change_event_id)
        version = (await repos.session.scalars(select(DossierVersion).where(
            DossierVersion.change_event_id == event.id))).one()
        moved = (await repos.session.scalars(select(DossierRecord).where(
            DossierRecord.dossier_id == hoa, DossierRecord.kind == "work_history"))).all()
    holder = await load_actor(harness.runtime.uow, harness.channel, HOLDING)
    assert (event.status, event.effective_on, event.decided_by) == ("applied", dt.date(2026, 7, 3), holder.account_id)
    assert version.valid_from == dt.date(2026, 7, 3)
    assert [(r.date_from, r.data["doc_number"]) for r in moved] == [(dt.date(2026, 7, 3), "56/CV-STC")]
    assert SYT_NAME in moved[0].data["text"] and STC_NAME in moved[0].data["text"]
    receiving = Talk(harness, RECEIVING)
    assert await receiving.say("/history dang hoa") == tr(  # the requester's session is as old
        harness, "For your security, please send your password again to continue.")
    await receiving.say(PASSWORD)
    await receiving.say("/history dang hoa")
    history = await receiving.tap(HistoryOpen(id=hoa))
    assert "03/07/2026" in history and "01/07/2026" not in history.split("56/CV-STC")[0]

# -- the form's refusals -------------------------------------------------------------------------------------
async def test_bad_answers_are_asked_again_with_the_reason(harness: BotHarness, people: dict[str, int]) -> None:
    receiving = Talk(harness, RECEIVING)
    await receiving.say("/transfer dang hoa")
    await receiving.tap(TransferPick(id=people[HOA]))

    # An out-of-scope unit typed instead of pressed: the same question again, with why.
    refused = await receiving.say("SYT")
    assert refused.startswith(tr(harness, "Unit {code} is outside your scope.", code="SYT"))
    assert "(1/4)" in refused
    assert "(1/4)" in await receiving.say("XYZ") and "XYZ" in receiving.text
    # A typed code of the clerk's own unit is accepted like its button.
    assert "(2/4)" in await receiving.say("stc")

    refused = await receiving.say("abc")
    assert refused.startswith(tr(harness, "Not a valid document number: {value} (e.g. 123/QĐ-UBND)", value="abc"))
    assert "(2/4)" in refused
    assert "(3/4)" in await receiving.say(LETTER["doc_number"])

    refused = await receiving.say("31/02/2026")
    assert refused.startswith(tr(harness, "Not a valid date: {value} (use dd/mm/yyyy)", value="31/02/2026"))
    assert "(3/4)" in refused
    refused = await receiving.say("01/08/2026")  # a letter cannot be dated after today (01/07/2026)
    assert "01/08/2026" in refused and "(3/4)" in refused
    assert "(4/4)" in await receiving.say(LETTER["doc_date"])

    # Back returns to the date, the earlier answers kept.
    await receiving.tap(FormBack())
    assert "(3/4)" in receiving.text
    await receiving.say("24/06/2026")
    summary = await receiving.say(LETTER["doc_issuer"])
    assert STC_NAME in summary and "56/CV-STC" in summary and "24/06/2026" in summary
    await receiving.tap(FormConfirm(action="confirm"))
    [request] = await requests(harness)
    assert (request.request_number, request.request_date) == ("56/CV-STC", dt.date(2026, 6, 24))


async def test_cancel_in_the_middle_writes_nothing(harness: BotHarness, people: dict[str, int]) -> None:
    receiving = Talk(harness, RECEIVING)
    await receiving.say("/transfer dang hoa")
    await receiving.tap(TransferPick(id=people[HOA]))
    await receiving.tap(FormChoice(value="STC"))
    await receiving.say(LETTER["doc_number"])
    assert await receiving.state() is not None
    assert await receiving.say("/cancel") == tr(harness, "Cancelled. Nothing was saved.")
    assert await receiving.state() is None
    assert await requests(harness) == []
    async with harness.runtime.uow.read() as repos:
        assert (await repos.session.scalars(select(ChangeEvent))).all() == []
    assert await outbox_rows(harness.runtime.uow) == []  # nobody is asked
    # Cancel on the summary too.
    await fill_request(receiving, people[HOA])
    assert await receiving.tap(FormConfirm(action="cancel")) == tr(harness, "Cancelled. Nothing was saved.")
    assert await requests(harness) == [] and await outbox_rows(harness.runtime.uow) == []


async def test_a_manager_cannot_ask(harness: BotHarness, people: dict[str, int]) -> None:
    await sign_in(harness.runtime.uow, harness.runtime.clock, "minh.stc", "STC", "manager", MANAGER)
    manager = Talk(harness, MANAGER)
    denied = tr(harness, "You are not allowed to do that.")
    assert await manager.say("/transfer dang hoa") == denied
    assert await manager.state() is None
    assert await manager.say("/transfer") == denied
    # Not even with a candidate's button from elsewhere.
    anchor = Talk(harness, RECEIVING)
    await anchor.say("/transfer dang hoa")
    manager.calls = await harness.press(anchor.keyboard(), TransferPick(id=people[HOA]).pack(), user_id=MANAGER)
    assert manager.alerts() == [denied] and manager.sent() == []
    assert await manager.state() is None and await requests(harness) == []


async def test_a_second_request_for_the_same_dossier_names_the_first(harness: BotHarness,
                                                                    people: dict[str, int]) -> None:
    first = await ask_for_hoa(harness, people)
    await sign_in(harness.runtime.uow, harness.runtime.clock, "binh.stc", "STC", "clerk", OTHER_STC)
    other = Talk(harness, OTHER_STC)
    before = len(harness.session.calls)
    await fill_request(other, people[HOA])
    refused = await other.tap(FormConfirm(action="confirm"))
    assert refused == tr(harness, "Request #{number} of {unit} for this dossier is already pending; wait for its "
                                  "decision.", number=first.id, unit=STC_NAME)
    assert [r.id for r in await requests(harness)] == [first.id]
    assert await other.state() is None
    assert [r.object_id for r in await outbox_rows(harness.runtime.uow, "transfer_requested")] == [str(first.id)]
    assert await harness.deliver() == [] and sent_to(harness, HOLDING, before) == []  # not asked twice


async def test_a_clerk_cannot_ask_for_a_dossier_their_unit_holds(harness: BotHarness, people: dict[str, int]) -> None:
    """Refused on the pick, before the first question, naming the unit that keeps it (issue 18, point 4)."""
    holding = Talk(harness, HOLDING)
    await holding.say("/transfer dang hoa")
    await holding.tap(TransferPick(id=people[HOA]))
    refused = holding.alerts() + holding.texts()
    assert refused == [tr(harness, "The dossier is kept by {unit}, one of your units: there is nothing to ask for.",
                          unit=SYT_NAME)]
    assert await requests(harness) == [] and await holding.state() is None


async def test_the_asking_units_are_only_those_that_may_ask(harness: BotHarness, people: dict[str, int]) -> None:
    """A clerk of SYT (with BV below it) asks for a dossier STC keeps: SYT and BV are offered, never STC; a
    typed STC is refused too."""
    async with harness.runtime.uow.write() as repos:
        stc = await repos.units.by_code("STC")
        await repos.dossiers.add_many([{
            "personal_id": "001190000777", "full_name": "Lê Văn Tài", "folded_name": "le van tai", "sex": "M",
            "birth_date": dt.date(1990, 1, 1), "custodian_unit_id": stc.id, "working_unit_id": stc.id,
            "employment_status": "active", "created_at": harness.runtime.clock.now(),
            "updated_at": harness.runtime.clock.now()}])
        tai = (await repos.dossiers.ids_by_personal_id(["001190000777"]))["001190000777"]
    holding = Talk(harness, HOLDING)
    await holding.say("/transfer le van tai")
    await holding.tap(TransferPick(id=tai))
    assert holding.sent_buttons()[:2] == [FormChoice(value="SYT").pack(), FormChoice(value="BV").pack()]
    assert FormChoice(value="STC").pack() not in holding.sent_buttons()
    typed = await holding.say("STC")  # typed, it is refused and asked again
    assert "(1/4)" in typed and await requests(harness) == []


async def test_the_personnel_office_is_told_up_front_it_does_not_ask(harness: BotHarness,
                                                                     people: dict[str, int]) -> None:
    """The administrator, whose unit is the personnel office, is refused at the first step with the true
    reason, not after five questions with another unit named as theirs."""
    await sign_in(harness.runtime.uow, harness.runtime.clock, "snv.admin", "SNV", "admin", ADMIN)
    admin = Talk(harness, ADMIN)
    refused = await admin.say("/transfer dang hoa")
    assert refused == tr(harness, "The personnel office does not ask for dossiers: it already reaches every dossier "
                                  "of the province. A dossier changes hands when the unit that needs it asks in "
                                  "writing (its clerk sends /transfer); /transfer alone lists the requests waiting "
                                  "for a decision.")
    assert SYT_NAME not in refused and await admin.state() is None


# -- deciding and withdrawing -------------------------------------------------------------------------------
async def test_reject_asks_for_a_reason_and_tells_the_requester(harness: BotHarness, people: dict[str, int]) -> None:
    request = await ask_for_hoa(harness, people)
    [asked] = sent_to(harness, HOLDING)
    holding = Talk(harness, HOLDING)
    question = await holding.tap(TransferDecide(id=request.id, approve=False), stored(harness, asked))
    assert f"#{request.id}" in question

    assert await holding.say("   ") == tr(harness, "A rejection needs a reason.")
    assert await holding.say("x" * 501) == tr(harness, "Too long: at most {limit} characters.", limit=500)
    assert (await requests(harness))[0].status == "pending"
    assert await outbox_rows(harness.runtime.uow, "transfer_decided") == []

    before = len(harness.session.calls)
    answer = await holding.say(f"  {REASON}  ")
    assert f"#{request.id}" in answer and REASON in answer
    [row] = await outbox_rows(harness.runtime.uow, "transfer_decided")
    assert (row.account_id, row.address, row.payload["status"], row.payload["reason"]) == (
        await account_of(harness, RECEIVING), str(RECEIVING), "rejected", REASON)
    told = await notice_to(harness, RECEIVING)
    assert f"#{request.id}" in told.text and HOA_NAME in told.text and REASON in told.text
    assert len(sent_to(harness, RECEIVING, before)) == 1
    assert await holding.state() is None
    [request] = await requests(harness)
    assert (request.status, request.reason) == ("rejected", REASON)
    assert await custodian(harness, people[HOA]) == "SYT"
    async with harness.runtime.uow.read() as repos:
        event = await repos.session.get(ChangeEvent, request.change_event_id)
    assert (event.status, event.decision_note) == ("rejected", REASON)

    # The requester's /transfer no longer lists it; a new request may be made.
    receiving = Talk(harness, RECEIVING)
    assert f"#{request.id}" not in await receiving.say("/transfer")
    second = await ask_for_hoa(harness, people, receiving)
    assert second.id != request.id and second.status == "pending"


async def test_the_reason_prompt_ends_on_a_decided_request_and_survives_a_password(
    harness: BotHarness, people: dict[str, int]
) -> None:
    holding, receiving = Talk(harness, HOLDING), Talk(harness, RECEIVING)
    # Reject pressed, then the requester withdraws before the reason comes: the prompt ends with why.
    first = await ask_for_hoa(harness, people)
    await holding.tap(TransferDecide(id=first.id, approve=False), stored(harness, sent_to(harness, HOLDING)[-1]))
    await receiving.say("/transfer")
    await receiving.tap(TransferWithdraw(id=first.id))
    refused = await holding.say(REASON)
    assert refused == tr(harness, "Request #{number} was already withdrawn.", number=first.id)
    assert await holding.state() is None
    assert await delivered(harness, RECEIVING) == []  # the withdrawal went to the holding clerk, nothing back

    # An hour on the phone: the reason waits for the password, then is asked for again.
    second = await ask_for_hoa(harness, people)
    await holding.tap(TransferDecide(id=second.id, approve=False), stored(harness, sent_to(harness, HOLDING)[-1]))
    harness.runtime.clock.advance(dt.timedelta(hours=1))
    assert await holding.say(REASON) == tr(harness, "For your security, please send your password again to continue.")
    await holding.say(PASSWORD)
    assert await holding.state() == "TransferStates:reject_reason"
    answer = await holding.say(REASON)
    assert f"#{second.id}" in answer and REASON in (await notice_to(harness, RECEIVING)).text
    assert [r.status for r in await requests(harness)] == ["withdrawn", "rejected"]


async def test_reject_does_not_replace_a_half_filled_form(harness: BotHarness, people: dict[str, int]) -> None:
    request = await ask_for_hoa(harness, people)
    notice = stored(harness, sent_to(harness, HOLDING)[-1])
    holding = Talk(harness, HOLDING)
    await holding.say("/transfer do hoang yen")  # SYT's clerk is asking STC for someone else meanwhile
    await holding.tap(TransferPick(id=people["092189000888"]))
    await holding.tap(FormChoice(value="SYT"))
    reject = TransferDecide(id=request.id, approve=False)
    await holding.tap(reject, notice)
    assert holding.alerts() == [tr(harness, "Finish the form under way first, or send /cancel.")]
    assert await holding.state() == "FormStates:answering"
    assert "(3/4)" in await holding.say(LETTER["doc_number"])  # the form goes on where it was
    await holding.say("/cancel")
    assert f"#{request.id}" in await holding.tap(reject, notice)
    assert await holding.state() == "TransferStates:reject_reason"

async def test_the_requester_withdraws(harness: BotHarness, people: dict[str, int]) -> None:
    request = await ask_for_hoa(harness, people)
    [asked] = sent_to(harness, HOLDING)
    receiving = Talk(harness, RECEIVING)
    pending = await receiving.say("/transfer")
    assert f"#{request.id}" in pending and HOA_NAME in pending and "56/CV-STC" in pending
    withdraw = TransferWithdraw(id=request.id).pack()
    assert buttons_of(receiving.keyboard().reply_markup) == [withdraw]  # no Approve / Reject on this side

    # The holding side cannot withdraw it, even with the button.
    holding = Talk(harness, HOLDING)
    await holding.tap(withdraw, receiving.keyboard(), check=False)
    assert holding.alerts() == [tr(harness, "You are not allowed to do that.")]

    done = await receiving.tap(withdraw)
    assert f"#{request.id}" in done and HOA_NAME in done
    [row] = await outbox_rows(harness.runtime.uow, "transfer_decided")
    assert (row.account_id, row.address, row.payload["status"]) == (
        await account_of(harness, HOLDING), str(HOLDING), "withdrawn")
    told = await notice_to(harness, HOLDING)
    assert f"#{request.id}" in told.text and HOA_NAME in told.text and STC_NAME in told.text
    assert told.reply_markup is None
    [request] = await requests(harness)
    assert request.status == "withdrawn"
    assert HOA_NAME not in await receiving.say("/transfer")

    # The holding clerk's Approve, pressed afterwards, finds it withdrawn.
    await holding.tap(TransferDecide(id=request.id, approve=True), stored(harness, asked))
    assert len(holding.alerts()) == 1 and f"#{request.id}" in holding.alerts()[0]
    assert await custodian(harness, people[HOA]) == "SYT"


async def test_only_the_holding_side_decides(harness: BotHarness, people: dict[str, int]) -> None:
    request = await ask_for_hoa(harness, people)
    receiving = Talk(harness, RECEIVING)
    await receiving.say("/transfer")
    own = receiving.keyboard()  # the requester's own listing, with a forged Approve / Reject pressed on it
    await receiving.tap(TransferDecide(id=request.id, approve=True), own, check=False)
    assert receiving.alerts() == [tr(harness, "You are not allowed to do that.")]
    # Reject pressed from the wrong side: the reason is refused, and the prompt does not linger.
    await receiving.tap(TransferDecide(id=request.id, approve=False), own, check=False)
    await receiving.say(REASON)
    assert tr(harness, "You are not allowed to do that.") in receiving.text
    assert await receiving.state() is None
    assert (await requests(harness))[0].status == "pending"


async def test_candidates_come_in_pages(harness: BotHarness, people: dict[str, int]) -> None:
    uow, clock = harness.runtime.uow, harness.runtime.clock
    await add_people(uow, clock, [(f"0921900{n:05d}", f"Võ Văn Tâm {n:02d}", dt.date(1990, 1, 1), "SYT", "active",
                                   "01.003") for n in range(12)])
    receiving = Talk(harness, RECEIVING)
    first = await receiving.say("/transfer tam")
    assert "10. <b>Võ Văn Tâm" in first and "11." not in first
    assert TransferMore(page=1).pack() in buttons_of(receiving.keyboard().reply_markup)
    second = await receiving.tap(TransferMore(page=1))
    assert "11. <b>Võ Văn Tâm" in second and "12. <b>Võ Văn Tâm" in second
    assert TransferMore(page=0).pack() in buttons_of(receiving.keyboard().reply_markup)
    assert "0921900" not in first + second  # no personal IDs
    refused = await receiving.say("/transfer 31/02/1990")
    assert refused == tr(harness, "Not a valid date: {value} (use dd/mm/yyyy)", value="31/02/1990")
    by_birth = await receiving.say("/transfer 09/03/1988")  # a birth date finds her too
    assert f"<b>{HOA_NAME}</b> — 1988 — {SYT_NAME}" in by_birth and "09/03/1988" not in by_birth
    await receiving.tap(TransferPick(id=999_999), check=False)  # no such dossier: refused, nothing started
    assert receiving.alerts() == [tr(harness, "You are not allowed to do that.")] and await receiving.state() is None
    nobody = await receiving.say("/transfer nobody")
    assert "<b>nobody</b>" in nobody and receiving.sent()[0].reply_markup is None
    assert await receiving.say("/transfer") == tr(harness, "No custody request is pending. To ask for a dossier: "
                                                           "/transfer followed by the person's name, personal ID "
                                                           "or birth date.")


async def test_history_names_a_unit_merge_in_the_chain_of_custody(harness: BotHarness,
                                                                   people: dict[str, int]) -> None:
    from services.custody.merge import UnitMerge

    await UnitMerge(harness.runtime.uow, Actor.system(), harness.runtime.clock).merge("BV", "SYT")
    holding = Talk(harness, HOLDING)
    await holding.say("/history nguyen van thuy")
    history = await holding.tap(HistoryOpen(id=people["092190000222"]))
    moved = tr(harness, "Dossier kept by {old} → {new}", old="Bệnh viện Đa khoa", new=SYT_NAME)
    assert f"{moved} {tr(harness, '(unit merge)')}" in history


# -- escalation -----------------------------------------------------------------------------------------------
# The background pass may send other things too (reminders): these tests look only at what names the request.
def naming(harness: BotHarness, request: TransferRequest, since: int) -> list[Any]:
    """Messages sent from call number `since` on that name the request, whoever they went to."""
    return [c for c in harness.session.calls[since:] if c.__api_method__ == "sendMessage" and f"#{request.id}" in c.text]


async def test_a_request_left_pending_is_escalated_once(harness: BotHarness, people: dict[str, int]) -> None:
    await sign_in(harness.runtime.uow, harness.runtime.clock, "snv.admin", "SNV", "admin", ADMIN)
    request = await ask_for_hoa(harness, people)
    jobs = Jobs(harness.runtime)
    before = len(harness.session.calls)
    await jobs.run_once(harness.bot)
    assert naming(harness, request, before) == []  # a day old: not yet overdue (the profile allows 7)
    assert (await requests(harness))[0].escalated_at is None

    harness.runtime.clock.advance(dt.timedelta(days=8))
    before = len(harness.session.calls)
    await jobs.run_once(harness.bot)
    [told] = [c for c in naming(harness, request, before) if int(c.chat_id) == ADMIN]
    assert HOA_NAME in told.text
    [request] = await requests(harness)
    assert request.escalated_at is not None and request.status == "pending"
    assert "transfer.escalate" in await audit_actions(harness.runtime.uow)

    again = len(harness.session.calls)
    await jobs.run_once(harness.bot)
    assert harness.session.calls[again:] == []  # nothing more, to anyone
    assert (await requests(harness))[0].escalated_at == request.escalated_at

    # The requester's list says so...
    receiving = Talk(harness, RECEIVING)
    assert tr(harness, "(escalated to the personnel office)") in await receiving.say("/transfer")
    # ...and the personnel office may decide it, as the holding unit would (its password first: a week passed).
    admin = Talk(harness, ADMIN)
    listed = await admin.say("/transfer")
    assert f"#{request.id}" in listed and HOA_NAME in listed
    approve = TransferDecide(id=request.id, approve=True)
    listing = admin.keyboard()
    assert approve.pack() in buttons_of(listing.reply_markup)
    await admin.tap(approve, listing)
    question = admin.keyboard()
    await admin.tap(TransferConfirm(id=request.id), question)
    assert admin.alerts() == [tr(harness, "For your security, please send your password again to continue.")]
    await admin.say(PASSWORD)
    await admin.tap(TransferConfirm(id=request.id), question)
    assert f"#{request.id}" in (await notice_to(harness, RECEIVING)).text
    assert await custodian(harness, people[HOA]) == "STC"


async def test_the_job_survives_an_unreachable_admin(harness: BotHarness, people: dict[str, int]) -> None:
    from aiogram.exceptions import TelegramForbiddenError

    await sign_in(harness.runtime.uow, harness.runtime.clock, "snv.admin", "SNV", "admin", ADMIN)
    request = await ask_for_hoa(harness, people)
    harness.runtime.clock.advance(dt.timedelta(days=8))
    answer = harness.session._answer

    async def blocked(bot: Any, method: Any) -> Any:
        if method.__api_method__ == "sendMessage" and int(method.chat_id) == ADMIN:
            raise TelegramForbiddenError(method=method, message="Forbidden: bot was blocked by the user")
        return await answer(bot, method)

    harness.session._answer = blocked  # type: ignore[method-assign]
    await Jobs(harness.runtime).run_once(harness.bot)  # the pass completes
    assert any(int(c.chat_id) == ADMIN for c in naming(harness, request, 0))  # it was tried
    assert (await requests(harness))[0].escalated_at is not None  # and marked: /transfer shows it escalated


async def test_the_background_loop_outlives_a_failed_pass(harness: BotHarness, people: dict[str, int],
                                                          caplog: pytest.LogCaptureFixture) -> None:
    await sign_in(harness.runtime.uow, harness.runtime.clock, "snv.admin", "SNV", "admin", ADMIN)
    request = await ask_for_hoa(harness, people)
    harness.runtime.clock.advance(dt.timedelta(days=8))
    jobs = Jobs(harness.runtime, 0.01)  # a pass every 10 ms
    real, passes = jobs.run_once, []

    async def flaky(*args: Any, **kwargs: Any) -> int:
        passes.append(args)
        if len(passes) == 1:
            raise RuntimeError("the database is away")
        return await real(*args, **kwargs)

    jobs.run_once = flaky  # type: ignore[method-assign]
    before = len(harness.session.calls)
    await jobs.start(harness.bot)
    try:
        async with asyncio.timeout(5):
            while len(passes) < 3:
                await asyncio.sleep(0.01)
    finally:
        await jobs.stop()
    stopped = len(passes)
    await asyncio.sleep(0.05)
    assert len(passes) == stopped  # cancelled for good
    await jobs.stop()  # a second stop is harmless
    assert "background pass failed" in caplog.text
    # escalated by the second pass, and only once
    assert [int(c.chat_id) for c in naming(harness, request, before) if int(c.chat_id) == ADMIN] == [ADMIN]


async def test_the_background_loop_sends_a_notice_as_soon_as_it_is_committed(harness: BotHarness,
                                                                              people: dict[str, int]) -> None:
    """The loop of `hoso run` here passes once an hour: the request's notice still goes out at once, the
    commit that queued it waking the sender."""
    jobs = Jobs(harness.runtime, send_every=3600)
    await jobs.run_once(harness.bot)  # today's reminders planned and sent: the loop's own passes only send
    real, passes, idle, delivered = jobs.run_once, [], asyncio.Event(), asyncio.Event()

    async def counted(*args: Any, **kwargs: Any) -> int:
        sent = await real(*args, **kwargs)
        passes.append(sent)
        idle.set()
        if sent:
            delivered.set()  # the pass that sent it is over: its row is marked
        return sent

    asked = asyncio.Event()

    def observe(method: Any, _result: Any) -> None:
        if method.__api_method__ == "sendMessage" and int(method.chat_id) == HOLDING and "56/CV-STC" in method.text:
            asked.set()

    jobs.run_once = counted  # type: ignore[method-assign]
    harness.session.on_call = observe
    await jobs.start(harness.bot)
    try:
        async with asyncio.timeout(30):
            await idle.wait()  # the first pass is over: the next is an hour away, unless woken
        receiving = Talk(harness, RECEIVING)
        await fill_request(receiving, people[HOA])
        await receiving.tap(FormConfirm(action="confirm"))
        async with asyncio.timeout(30):  # an hour before the loop's next pass: only the wake-up sends it
            await asked.wait()
            await delivered.wait()
    finally:
        await jobs.stop()
    [request] = await requests(harness)
    [notice] = [c for c in sent_to(harness, HOLDING) if f"#{request.id}" in c.text]
    assert buttons_of(notice.reply_markup) == [TransferDecide(id=request.id, approve=True).pack(),
                                               TransferDecide(id=request.id, approve=False).pack()]
    assert [r.status for r in await outbox_rows(harness.runtime.uow, "transfer_requested")] == ["sent"]
    assert passes[0] == 0  # the first pass found nothing to send: the one the commit woke sent it


async def test_the_request_form_asks_for_the_letter_not_a_decision(harness: BotHarness, people: dict[str, int]) -> None:
    """A custody request cites the asking unit's công văn: the form names that paper, not a decision."""
    receiving = Talk(harness, RECEIVING)
    await receiving.say("/transfer dang hoa")
    first = await receiving.tap(TransferPick(id=people[HOA]))
    assert tr(harness, "You can send the scanned letter (PDF, JPG, PNG or DOCX, up to 20 MB) at any step.") in first
    summary = await fill_request(receiving, people[HOA])
    assert tr(harness, "You may still send the scanned letter as a document or photo.") in summary
    assert tr(harness, "You can send the scanned decision (PDF, JPG, PNG or DOCX, up to 20 MB) at any step.") not in first
