"""The dossier card: a summary, then each section behind its own button, and the printable 2C form."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiogram import Router
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from handlers.views import MAX_MESSAGE_LENGTH, button, esc, keyboard, number
from services.core.clock import format_date
from services.core.i18n import N_
from services.core.policy import Action
from services.dossiers.service import DossierCard
from services.facade import Services
from services.regime.dossier_fields import HISTORY_KINDS, RECORD_KINDS, SECTION_TITLES, SECTIONS, DossierFull, Record
from services.regime.reference import coded

SEX_LABELS = {"M": N_("Male"), "F": N_("Female")}
EMPLOYMENT_LABELS = {
    "active": N_("working"), "probation": N_("on probation"), "retired": N_("retired"), "resigned": N_("resigned"),
    "deceased": N_("deceased"), "transferred_out": N_("transferred out"),
}


class OpenDossier(CallbackData, prefix="dos"):
    id: int


class DossierSection(CallbackData, prefix="dsec"):
    id: int
    section: str


class PrintDossier(CallbackData, prefix="dprn"):
    id: int


class UpdatePick(CallbackData, prefix="upd"):
    """Log a change to this dossier: the kinds of change follow."""

    id: int


class HistoryOpen(CallbackData, prefix="hist"):
    id: int


# What a candidate of a lookup opens: the card, the change menu, the history.
PICKS: dict[str, type[OpenDossier] | type[UpdatePick] | type[HistoryOpen]] = {
    "open": OpenDossier, "update": UpdatePick, "history": HistoryOpen,
}


def shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, dt.date):
        return format_date(value)
    if isinstance(value, float):  # a coefficient, an allowance: with the reader's decimal mark
        return number(value)
    return str(value)


def render_card(card: DossierCard) -> str:
    lines = [
        f"<b>{esc(card.full_name)}</b>",
        _("Personal ID: {value}").format(value=f"<code>{esc(card.personal_id)}</code>" if card.personal_id
                                         else _("withheld on this channel")),
        _("Born: {date} · {sex}").format(date=format_date(card.birth_date), sex=esc(_(SEX_LABELS.get(card.sex, "-")))),
        _("Post: {value}").format(value=esc(card.post or "—")),
        _("Rank or title: {value}").format(value=esc(coded(card.rank_code, card.rank_name) or "—")),
        _("Dossier kept by: {value}").format(value=esc(card.custodian_unit)),
        _("Working at: {value}").format(value=esc(card.working_unit)),
        _("Status: {value}").format(value=esc(_(EMPLOYMENT_LABELS.get(card.employment_status, card.employment_status)))),
    ]
    return "\n".join(lines)


def card_keyboard(dossier_id: int, sections: tuple[str, ...], can_edit: bool = False) -> InlineKeyboardMarkup:
    buttons = [button(_(SECTION_TITLES[section]), DossierSection(id=dossier_id, section=section)) for section in sections]
    buttons.append(button(_("Print 2C"), PrintDossier(id=dossier_id)))
    buttons.append(button(_("Change history"), HistoryOpen(id=dossier_id)))
    if can_edit:
        buttons.append(button(_("Log a change"), UpdatePick(id=dossier_id)))
    markup = keyboard(buttons, 3)
    assert markup is not None  # the Print 2C button is always there
    return markup


def within_limit(title: str, lines: list[str], limit: int = MAX_MESSAGE_LENGTH) -> str:
    """As many lines as fit in one message, then how many were left out: never cut mid-line."""
    whole = "\n".join([title, *lines])
    if len(whole) <= limit:
        return whole
    reserve = len(_("… and {count} more rows: print the 2C form for all of them.").format(count=len(lines))) + 1
    kept, used = [title], len(title)
    for line in lines:
        if used + 1 + len(line) + reserve > limit:
            break
        kept.append(line)
        used += 1 + len(line)
    left = len(lines) - (len(kept) - 1)
    kept.append(_("… and {count} more rows: print the 2C form for all of them.").format(count=left))
    return "\n".join(kept)


def record_line(record: Record) -> str:
    period = " – ".join(format_date(day) for day in (record.date_from, record.date_to) if day)
    return f"• {esc(period)} {esc(record.text)}".replace("•  ", "• ")


def render_section(dossier: DossierFull, section: str) -> str:
    title = f"<b>{esc(dossier.values.get('full_name', ''))}</b> — {esc(_(SECTION_TITLES[section]))}"
    if section in SECTIONS:
        lines = []
        for name, label in SECTIONS[section]:
            if name not in dossier.values:
                continue  # not for this role
            value = dossier.values[name]
            if name == "sex":
                value = _(SEX_LABELS.get(value, "-"))
            elif name == "employment_status":
                value = _(EMPLOYMENT_LABELS.get(value, value))
            elif name == "rank_code":  # a code is never shown without its name
                value = coded(value, dossier.values.get("rank_name"))
            lines.append(f"{esc(_(label))}: {esc(shown(value))}")
        return within_limit(title, lines)
    kinds = ("family",) if section == "family" else HISTORY_KINDS
    lines = []
    for kind in kinds:
        records = dossier.of_kind(kind)
        if records:
            lines.append(f"<i>{esc(_(RECORD_KINDS[kind]))}</i>")
            lines += [record_line(record) for record in records]
    return within_limit(title, lines or [_("Nothing recorded yet.")])


async def open_dossier(query: CallbackQuery, callback_data: OpenDossier, services: Services) -> None:
    card = await services.dossiers.card(callback_data.id)
    if isinstance(query.message, Message):
        can_edit = services.allows(Action.EDIT_DOSSIER)
        await query.message.answer(render_card(card),
                                   reply_markup=card_keyboard(card.id, services.dossiers.sections(), can_edit))


async def open_section(query: CallbackQuery, callback_data: DossierSection, services: Services) -> None:
    if callback_data.section not in services.dossiers.sections():
        await query.answer(_("This section is not shown to your role."), show_alert=True)
        return
    dossier = await services.dossiers.full(callback_data.id)
    if isinstance(query.message, Message):
        await query.message.answer(render_section(dossier, callback_data.section))


async def print_dossier(query: CallbackQuery, callback_data: PrintDossier, services: Services) -> None:
    filename, content = await services.printed_2c(callback_data.id)
    if isinstance(query.message, Message):
        await query.message.answer_document(BufferedInputFile(content, filename=filename),
                                            caption=_("Resume form (Mẫu 2C-BNV/2008) to print."))


def build_router() -> Router:
    router = Router(name="dossiers")
    router.callback_query.register(open_dossier, OpenDossier.filter())
    router.callback_query.register(open_section, DossierSection.filter())
    router.callback_query.register(print_dossier, PrintDossier.filter())
    return router
