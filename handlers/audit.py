"""/audit: the auditor and the personnel office read the trail, by account, person or day."""

from __future__ import annotations

import re
from typing import Any

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.views import clip, echo, esc
from services.core.clock import format_local_datetime, parse_date
from services.facade import Services
from services.platform.audit import AuditFilter, AuditPage

PERSONAL_ID = re.compile(r"^\d{12}$")
FILTER_KEY = "audit_filter"  # kept in the conversation's data, so that paging keeps the filter


class AuditOlder(CallbackData, prefix="aud"):
    before: int


def broken_notice(p: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup | None]:
    """What the daily check tells the administrators when the trail does not hold (once per break)."""
    text = _("<b>The audit trail does not hold</b>: the daily check found it broken at event #{seq} ({reason}). "
             "Keep the database and its files as they are, and check with <code>hoso audit verify</code>.").format(
        seq=p["seq"], reason=esc(_(p["reason"])) if p.get("reason") else "")
    return clip(text), None


def parse_filter(text: str | None) -> AuditFilter | None:
    """'' → everything; 12 digits → a person; dd/mm/yyyy → a day; anything else → an account."""
    text = (text or "").strip().lstrip("@")
    if not text:
        return AuditFilter()
    if PERSONAL_ID.match(text):
        return AuditFilter(personal_id=text)
    if re.match(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{4}$", text):
        try:
            return AuditFilter(day=parse_date(text))
        except ValueError:
            return None
    return AuditFilter(username=text.lower())


def render(page: AuditPage, services: Services) -> tuple[str, InlineKeyboardMarkup | None]:
    if not page.entries:
        return _("No audit event matches."), None
    lines = [_("<b>Audit trail</b>, newest first:")]
    for entry in page.entries:
        target = f" {esc(entry.object_type)}:{esc(entry.object_id)}" if entry.object_type else ""
        lines.append(f"#{entry.seq} {format_local_datetime(entry.occurred_at, services.clock)} "
                     f"<code>{esc(entry.actor_label)}</code> {esc(entry.action)}{target}")
    keyboard = None
    if page.older_than is not None:
        builder = InlineKeyboardBuilder()
        builder.button(text=_("Older ›"), callback_data=AuditOlder(before=page.older_than))
        keyboard = builder.as_markup()
    return clip("\n".join(lines)), keyboard


async def audit(message: Message, command: CommandObject, state: FSMContext, services: Services) -> None:
    where = parse_filter(command.args)
    if where is None:
        await message.answer(_("Not a real date: {text}. Use dd/mm/yyyy.").format(text=echo(command.args or "")))
        return
    page = await services.audit.events(where)
    await state.update_data({FILTER_KEY: {"username": where.username, "personal_id": where.personal_id,
                                          "day": where.day.isoformat() if where.day else None}})
    text, keyboard = render(page, services)
    await message.answer(text, reply_markup=keyboard)


async def older(query: CallbackQuery, callback_data: AuditOlder, state: FSMContext, services: Services) -> None:
    import datetime as dt

    stored = (await state.get_data()).get(FILTER_KEY) or {}
    day = stored.get("day")
    where = AuditFilter(stored.get("username"), stored.get("personal_id"), dt.date.fromisoformat(day) if day else None)
    page = await services.audit.events(where, before_seq=callback_data.before)
    text, keyboard = render(page, services)
    if isinstance(query.message, Message):
        await query.message.answer(text, reply_markup=keyboard)


def build_router() -> Router:
    router = Router(name="audit")
    router.message.register(audit, Command("audit"))
    router.callback_query.register(older, AuditOlder.filter())
    return router
