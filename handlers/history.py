"""/history: the changes of a dossier with their papers, and the dossier as it stood on a date."""

from __future__ import annotations

import datetime as dt

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.changes import kind_title
from handlers.dossiers import EMPLOYMENT_LABELS, SEX_LABELS, HistoryOpen, within_limit
from handlers.find import look_up
from handlers.forms import busy, guard_prompt
from handlers.views import button, error_text, esc, keyboard, number
from services.core.clock import format_date, format_local_datetime, parse_date
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.core.policy import Action
from services.dossiers.history import AsOf, History, HistoryEntry
from services.dossiers.service import DATE_FIELDS
from services.facade import Services
from services.regime.dossier_fields import SECTIONS

STATUS_NOTES = {"pending": N_("waiting for the clerk"), "rejected": N_("rejected"), "withdrawn": N_("withdrawn"),
                "registered": N_("registered, not entered yet"), "entered": N_("registered, then entered")}


class AsOfAsk(CallbackData, prefix="asof"):
    id: int


class AttachmentGet(CallbackData, prefix="att"):
    id: int


class AsOfStates(StatesGroup):
    day = State()


guard_prompt(AsOfStates.day, Action.OPEN_DOSSIER)


def entry_lines(entry: HistoryEntry, services: Services) -> list[str]:
    head = f"<b>#{entry.event_id} {esc(kind_title(entry.kind))}</b> — " + _("effective {date}").format(
        date=format_date(entry.effective_on))
    if entry.status in STATUS_NOTES:
        head += f" ({esc(_(STATUS_NOTES[entry.status]))})"
    lines = [head]
    if entry.kind == "custody":  # the chain of custody: from, to, and what moved it
        moved = _("Dossier kept by {old} → {new}").format(old=esc(entry.payload.get("from_name", "")),
                                                          new=esc(entry.payload.get("to_name", "")))
        if entry.payload.get("merge"):
            moved += " " + _("(unit merge)")
        lines.append("  " + moved)
    if entry.doc_number:
        paper = (_("Written request {number} of {date}, signed by {issuer}") if entry.kind == "custody"
                 else _("Decision {number} of {date}, {issuer}"))
        lines.append("  " + paper.format(number=esc(entry.doc_number), date=format_date(entry.doc_date),
                                         issuer=esc(entry.doc_issuer or "—")))
    recorded = format_local_datetime(entry.recorded_at, services.clock)
    timing = ""
    if entry.deadline is not None:
        timing = " — " + (_("on time") if entry.on_time else _("LATE")) + " " + _("(deadline {date})").format(
            date=format_date(entry.deadline))
    if entry.kind == "custody" and entry.status == "applied" and entry.decided_by and entry.decided_at:
        # the move is the holding unit's approval of the asking unit's request: both are named
        lines.append("  " + _("Asked {when} by {who}").format(when=recorded, who=esc(entry.recorded_by)))
        lines.append("  " + _("Approved {when} by {who}").format(
            when=format_local_datetime(entry.decided_at, services.clock), who=esc(entry.decided_by)) + timing)
    else:
        lines.append("  " + _("Entered {when} by {who}").format(when=recorded, who=esc(entry.recorded_by)) + timing)
    if entry.decision_note:
        lines.append("  " + _("Reason: {reason}").format(reason=esc(entry.decision_note)))
    for item in entry.attachments:
        lines.append(f"  📎 {esc(item.file_name)}")
    return lines


def render_history(history: History, services: Services) -> str:
    title = _("<b>{name}</b> — change history").format(name=esc(history.full_name))
    lines: list[str] = []
    for entry in history.entries:
        lines += entry_lines(entry, services)
    return within_limit(title, lines or [_("No change has been logged yet.")])


def render_as_of(view: AsOf) -> str:
    title = _("<b>{name}</b> as of {date}").format(name=esc(view.full_name), date=format_date(view.day))
    if view.values is None:
        return title + "\n" + _("The dossier was not yet recorded on that date.")
    lines = []
    for section in SECTIONS.values():
        for name, label in section:
            if name not in view.values:
                continue
            value = view.values[name]
            if value in (None, ""):
                continue
            if name == "sex":
                value = _(SEX_LABELS.get(value, value))
            elif name == "employment_status":
                value = _(EMPLOYMENT_LABELS.get(value, value))
            elif name in DATE_FIELDS and isinstance(value, str):
                value = format_date(dt.date.fromisoformat(value))
            elif isinstance(value, float):  # a coefficient: with the reader's decimal mark
                value = number(value)
            lines.append(f"{esc(_(label))}: {esc(value)}")
    return within_limit(title, lines)


async def history(message: Message, command: CommandObject, state: FSMContext, services: Services,
                  raw_state: str | None = None) -> None:
    services.require(Action.OPEN_DOSSIER)
    if services.actor.role is not None and services.actor.role.value == "employee":
        target = await services.declarations.own_dossier()
        await show_history(message, services, target.id)
        return
    await look_up(message, state, services, command.args, raw_state, purpose="history")


async def show_history(message: Message, services: Services, dossier_id: int) -> None:
    found = await services.history.history(dossier_id)
    files = [item for entry in found.entries for item in entry.attachments][:20]
    buttons = [button(f"📎 {item.file_name[:30]}", AttachmentGet(id=item.id)) for item in files]
    await message.answer(render_history(found, services), reply_markup=keyboard(
        buttons, 2, [button(_("As of a date…"), AsOfAsk(id=dossier_id))]))


async def history_picked(query: CallbackQuery, callback_data: HistoryOpen, services: Services) -> None:
    if isinstance(query.message, Message):
        await show_history(query.message, services, callback_data.id)


async def ask_day(query: CallbackQuery, callback_data: AsOfAsk, state: FSMContext) -> None:
    if await busy(query, state):
        return
    await state.set_state(AsOfStates.day)
    await state.set_data({"dossier": callback_data.id})
    if isinstance(query.message, Message):
        await query.message.answer(_("As of which date (dd/mm/yyyy)?"))


async def day_typed(message: Message, state: FSMContext, services: Services) -> None:
    text = (message.text or "").strip()
    try:
        day = parse_date(text)
    except ValueError:
        await message.answer(error_text(InvalidInput("day", N_("Not a valid date: {value} (use dd/mm/yyyy)"),
                                                     value=text)) + "\n" + _("As of which date (dd/mm/yyyy)?"))
        return
    dossier_id = int((await state.get_data()).get("dossier", 0))
    await state.clear()
    await message.answer(render_as_of(await services.history.as_of(dossier_id, day)))


async def send_attachment(query: CallbackQuery, callback_data: AttachmentGet, services: Services) -> None:
    file_name, content = await services.history.attachment(callback_data.id)
    if isinstance(query.message, Message):
        await query.message.answer_document(BufferedInputFile(content, filename=file_name))


def build_router() -> Router:
    router = Router(name="history")
    router.message.register(history, Command("history"))
    router.message.register(day_typed, AsOfStates.day, F.text, ~F.text.startswith("/"))
    router.callback_query.register(history_picked, HistoryOpen.filter())
    router.callback_query.register(ask_day, AsOfAsk.filter())
    router.callback_query.register(send_attachment, AttachmentGet.filter())
    return router
