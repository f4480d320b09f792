"""/transfer: a receiving unit asks in writing for a dossier another unit holds; the holding unit
approves or rejects with a reason; the requester may withdraw while it is pending."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from handlers.forms import Field, Form, Reply, ask_reason, guard_prompt, register, start_form, take_reason
from handlers.views import button, clip, echo, error_text, esc, keyboard
from services.core.clock import format_date
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.core.policy import Action
from services.custody.transfers import CandidatePage, TransferView
from services.facade import Services
from services.platform.attachments import Upload
from services.regime.change_kinds import CUSTODY

LAST_QUERY = "transfer_query"
STATUS_LABELS = {"pending": N_("pending"), "approved": N_("approved"), "rejected": N_("rejected"),
                 "withdrawn": N_("withdrawn")}


class TransferPick(CallbackData, prefix="trp"):
    id: int


class TransferMore(CallbackData, prefix="trm"):
    page: int


class TransferDecide(CallbackData, prefix="trd"):
    id: int
    approve: bool


class TransferWithdraw(CallbackData, prefix="trw"):
    id: int


class TransferConfirm(CallbackData, prefix="trc"):
    """The approval confirmed: the dossier changes hands on this press."""
    id: int


class TransferStates(StatesGroup):
    reject_reason = State()


guard_prompt(TransferStates.reject_reason, Action.APPROVE_TRANSFER)


# -- the request form -----------------------------------------------------------------------------------
async def _units(services: Services, context: dict[str, Any]) -> list[tuple[str, str]]:
    """Only the units that may ask for this dossier: never the one that keeps it."""
    return await services.transfers.asking_units(int(context["dossier"]))


async def _check(services: Services, context: dict[str, Any], key: str, value: str) -> str:
    checked = await services.transfers.check(key, value)
    if key == "receiving_unit" and checked not in {code for code, _label in await _units(services, context)}:
        raise InvalidInput(key, N_("The dossier is kept by {unit}, one of your units: there is nothing to ask "
                                   "for."), unit=context.get("holder", ""))
    return checked


async def _summary(services: Services, context: dict[str, Any], answers: dict[str, str], shown: dict[str, str]) -> str:
    lines = [_("<b>Request for a dossier</b> — please check:"),
             _("Person: <b>{name}</b>, born {year}, dossier kept by {unit}").format(
                 name=esc(context.get("name", "")), year=context.get("born", ""), unit=esc(context.get("holder", ""))),
             _("Asking unit: <b>{unit}</b>").format(unit=esc(shown.get("receiving_unit") or answers["receiving_unit"])),
             _("Written request {number} of {date}, signed by {signer}").format(
                 number=esc(answers["doc_number"]), date=esc(answers["doc_date"]), signer=esc(answers["doc_issuer"])),
             _("The holding unit's clerks will be asked to approve it.")]
    return "\n".join(lines)


async def _submit(services: Services, answers: dict[str, str], uploads: list[Upload]) -> Reply:
    view = await services.transfers.request(int(answers["_dossier"]), answers, uploads)
    return Reply(_("Request #{number} sent to {unit}. You will be told their decision; /transfer shows it "
                   "meanwhile.").format(number=view.id, unit=esc(view.holding_unit)))


TRANSFER_FORM = register(Form(
    "transfer", CUSTODY.title,
    tuple(Field(p.key, p.question, optional=p.optional,
                context_options=_units if p.key == "receiving_unit" else None,
                free=p.key == "receiving_unit") for p in CUSTODY.prompts),
    _submit, check=_check, summary=_summary, attachments=True, action=Action.REQUEST_TRANSFER,
    # the paper of a custody request is the asking unit's letter, not a decision
    attachment_hint=N_("You can send the scanned letter (PDF, JPG, PNG or DOCX, up to 20 MB) at any step."),
    attachment_reminder=N_("You may still send the scanned letter as a document or photo.")))


# -- rendering ------------------------------------------------------------------------------------------
def request_head(number: int, name: str, holder: str, receiver: str, letter: str, date: dt.date, signer: str) -> str:
    return _("#{number} <b>{name}</b>: {holder} → {receiver}, request {letter} of {date} ({signer})").format(
        number=number, name=esc(name), holder=esc(holder), receiver=esc(receiver), letter=esc(letter),
        date=format_date(date), signer=esc(signer))


def request_line(view: TransferView) -> str:
    line = request_head(view.id, view.full_name, view.holding_unit, view.requesting_unit, view.request_number,
                        view.request_date, view.signer)
    if view.status != "pending":
        line += " — " + esc(_(STATUS_LABELS.get(view.status, view.status)))
    if view.reason:
        line += "\n" + _("Reason: {reason}").format(reason=esc(view.reason))
    if view.escalated:
        line += " " + _("(escalated to the personnel office)")
    return line


def decided_text(number: int, status: str, name: str, unit: str, reason: str | None) -> str:
    """What became of a request: the decider's (or withdrawer's) answer, and the other side's notice."""
    if status == "approved":
        return _("Request #{number} approved: the dossier of <b>{name}</b> is now kept by {unit}.").format(
            number=number, name=esc(name), unit=esc(unit))
    if status == "withdrawn":
        return _("Request #{number} for the dossier of <b>{name}</b> was withdrawn by {unit}.").format(
            number=number, name=esc(name), unit=esc(unit))
    return _("Request #{number} for the dossier of <b>{name}</b> was rejected: {reason}").format(
        number=number, name=esc(name), reason=esc(reason or ""))


def decided_answer(view: TransferView) -> str:
    return decided_text(view.id, view.status, view.full_name, view.requesting_unit, view.reason)


def decision_keyboard(request_id: int) -> InlineKeyboardMarkup | None:
    return keyboard([button(_("✅ Approve"), TransferDecide(id=request_id, approve=True)),
                     button(_("✖ Reject"), TransferDecide(id=request_id, approve=False))], 2)


# -- the notices, rendered from their outbox payload (handlers.reminders `render`) -------------------------
def request_notice(p: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup | None]:
    """`transfer_requested`, to the holding unit's clerks: the written request, with Approve / Reject."""
    head = request_head(int(p["request"]), p["name"], p["holder"], p["receiver"], p["letter"],
                        dt.date.fromisoformat(p["date"]), p["signer"])
    text = _("{receiver} asks in writing for the dossier of <b>{name}</b>, which your unit holds:").format(
        receiver=esc(p["receiver"]), name=esc(p["name"])) + "\n" + head
    return clip(text), decision_keyboard(int(p["request"]))


def decided_notice(p: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup | None]:
    """`transfer_decided`: its approval or rejection to the clerk who asked, its withdrawal to the holding unit's."""
    return clip(decided_text(int(p["request"]), p["status"], p["name"], p["unit"], p.get("reason"))), None


def candidates_text(found: CandidatePage) -> tuple[str, InlineKeyboardMarkup | None]:
    if not found.candidates:
        return _("Nobody matches <b>{query}</b>.").format(query=echo(found.query)), None
    lines = [_("Whose dossier do you ask for? (Only the name, birth year and holding unit are shown.)")]
    picks = []
    for number, candidate in enumerate(found.candidates, start=found.page * 10 + 1):
        lines.append(f"{number}. <b>{esc(candidate.full_name)}</b> — {candidate.birth_year} — "
                     f"{esc(candidate.holding_unit)}")
        picks.append(button(str(number), TransferPick(id=candidate.id)))
    paging = []
    if found.page > 0:
        paging.append(button(_("‹ Previous"), TransferMore(page=found.page - 1)))
    if found.has_next:
        paging.append(button(_("Next ›"), TransferMore(page=found.page + 1)))
    return clip("\n".join(lines)), keyboard(picks, 5, paging)


# -- handlers -------------------------------------------------------------------------------------------
async def transfer(message: Message, command: CommandObject, state: FSMContext, services: Services) -> None:
    if not (services.allows(Action.REQUEST_TRANSFER) or services.allows(Action.APPROVE_TRANSFER)):
        services.require(Action.REQUEST_TRANSFER)
    if command.args:
        services.require(Action.REQUEST_TRANSFER)
        await state.update_data({LAST_QUERY: command.args})
        await _candidates(message, services, command.args, 0)
        return
    await show_pending(message, services)


async def show_pending(message: Message, services: Services) -> None:
    pending = await services.transfers.pending()
    if not pending:
        await message.answer(_("No custody request is pending. To ask for a dossier: /transfer followed by the "
                               "person's name, personal ID or birth date."))
        return
    await message.answer(_("<b>Pending custody requests</b>: {count}").format(count=len(pending)))
    for view in pending[:20]:
        actions = []
        if view.incoming:
            actions += [button(_("✅ Approve"), TransferDecide(id=view.id, approve=True)),
                        button(_("✖ Reject"), TransferDecide(id=view.id, approve=False))]
        if view.outgoing:
            actions.append(button(_("Withdraw"), TransferWithdraw(id=view.id)))
        await message.answer(request_line(view), reply_markup=keyboard(actions, 3))


async def _candidates(message: Message, services: Services, query: str, page: int) -> None:
    try:
        found = await services.transfers.candidates(query, page)
    except InvalidInput as error:
        await message.answer(error_text(error))
        return
    text, markup = candidates_text(found)
    await message.answer(text, reply_markup=markup)


async def more(query: CallbackQuery, callback_data: TransferMore, state: FSMContext, services: Services) -> None:
    text = (await state.get_data()).get(LAST_QUERY)
    if text and isinstance(query.message, Message):
        await _candidates(query.message, services, text, callback_data.page)


async def picked(query: CallbackQuery, callback_data: TransferPick, state: FSMContext, services: Services) -> None:
    person = await services.transfers.describe(callback_data.id)
    if isinstance(query.message, Message):
        context = {"dossier": person.id, "name": person.full_name, "born": person.birth_year,
                   "holder": person.holding_unit}
        await start_form(query.message, state, TRANSFER_FORM, services, context, intro=_(
            "Request for the dossier of <b>{name}</b>, kept by {unit}.").format(
            name=esc(person.full_name), unit=esc(person.holding_unit)))


async def decide(query: CallbackQuery, callback_data: TransferDecide, state: FSMContext, services: Services) -> None:
    services.require(Action.APPROVE_TRANSFER)
    if not callback_data.approve:
        await ask_reason(query, state, TransferStates.reject_reason, "request", callback_data.id, _(
            "Why is request #{number} rejected? The requesting unit will read it.").format(number=callback_data.id))
        return
    # Approving moves the dossier for good: it is confirmed first, with what moves where.
    view = await services.transfers.to_decide(callback_data.id)
    if isinstance(query.message, Message):
        text = _("Approve request #{number}? The dossier of <b>{name}</b> will be kept by {receiver}; {holder} "
                 "will no longer keep it.").format(number=view.id, name=esc(view.full_name),
                                                   receiver=esc(view.requesting_unit), holder=esc(view.holding_unit))
        await query.message.answer(text, reply_markup=keyboard([
            button(_("✅ Yes, approve"), TransferConfirm(id=view.id)),
            button(_("✖ Reject"), TransferDecide(id=view.id, approve=False))], 2))


async def confirm(query: CallbackQuery, callback_data: TransferConfirm, services: Services) -> None:
    services.require(Action.APPROVE_TRANSFER)
    view = await services.transfers.approve(callback_data.id)
    if isinstance(query.message, Message):  # one answer; a second press finds the request decided
        await query.message.answer(decided_answer(view))


async def reject_reason(message: Message, state: FSMContext, services: Services) -> None:
    view = await take_reason(message, state, "request", services.transfers.reject)
    if view is None:
        return
    await message.answer(decided_answer(view))


async def withdraw(query: CallbackQuery, callback_data: TransferWithdraw, services: Services) -> None:
    view = await services.transfers.withdraw(callback_data.id)
    if isinstance(query.message, Message):
        await query.message.answer(decided_answer(view))


def build_router() -> Router:
    router = Router(name="transfers")
    router.message.register(transfer, Command("transfer"))
    router.message.register(reject_reason, TransferStates.reject_reason, F.text, ~F.text.startswith("/"))
    router.callback_query.register(more, TransferMore.filter())
    router.callback_query.register(picked, TransferPick.filter())
    router.callback_query.register(decide, TransferDecide.filter())
    router.callback_query.register(confirm, TransferConfirm.filter())
    router.callback_query.register(withdraw, TransferWithdraw.filter())
    return router
