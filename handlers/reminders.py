"""Reminder texts, and /reminders: a user's to-do list (việc cần làm), what is scheduled, the kinds
they mute, and the linked channels their reminders go to.

`render` turns an outbox row's kind and payload into the message, in the language the caller has set
(the sender sets the recipient's). A button opens what the reminder is about. The notices (a declaration to
review, a custody request to decide, what became of either: services.platform.outbox `NOTICES`) are rendered
by the handlers of what they are about, with the buttons that decide it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from handlers.admin import AdminMenu
from handlers.audit import broken_notice
from handlers.changes import declaration_decided_notice, declaration_notice
from handlers.changes import pending as pending_declarations
from handlers.dossiers import OpenDossier
from handlers.reports import BoardOpen, ReportOpen
from handlers.transfers import decided_notice, request_notice, show_pending
from handlers.views import button, clip, esc, keyboard
from services.core.actor import CHANNEL_LABELS
from services.core.clock import format_date, format_local_datetime
from services.facade import Services
from services.oversight.feedback import STATUSES as FEEDBACK_STATUSES
from services.oversight.inspection import FINDINGS
from services.oversight.periods import period_title
from services.reminders.titles import KIND_TITLES
from services.reminders.todo import Todo, describe

Rendered = tuple[str, InlineKeyboardMarkup | None]
NOTICES: dict[str, Callable[[dict[str, Any]], Rendered]] = {
    "declaration_new": declaration_notice,
    "declaration_decided": declaration_decided_notice,
    "transfer_requested": request_notice,
    "transfer_decided": decided_notice,
}


class MuteToggle(CallbackData, prefix="mute"):
    kind: str


class ChannelToggle(CallbackData, prefix="rch"):
    channel: str


class OpenPending(CallbackData, prefix="todo"):
    what: str  # declaration | transfer: the list of what waits on this clerk, with its buttons


MAX_TODO = 30  # items shown, each with its button; the rest are counted


def _date(value: Any) -> str:
    return format_date(dt.date.fromisoformat(str(value))) if value else ""


def backup_failed(p: dict[str, Any]) -> Rendered:
    """The day's backup failed (bot/jobs.py): the reason is a message id and its values, or an error's kind."""
    reason = _(p["message"]).format(**p.get("params", {})) if p.get("message") else p.get("detail", "")
    if p.get("setting"):
        reason = f"{p['setting']}: {reason}"
    return _("The backup of {day} failed: {reason}. Check HOSO_BACKUP_DIR and HOSO_BACKUP_KEY, then run "
             "<code>hoso backup --schedule</code>.").format(day=_date(p["day"]), reason=esc(reason)), None


# What the system tells the admins of itself, without a button.
ALERTS: dict[str, Callable[[dict[str, Any]], Rendered]] = {"backup_failed": backup_failed,
                                                          "audit_broken": broken_notice}


def render(kind: str, p: dict[str, Any]) -> Rendered:
    """The message of one reminder or notice; every dynamic value escaped."""
    special = NOTICES.get(kind) or ALERTS.get(kind)
    if special is not None:
        return special(p)
    opener = keyboard([button(_("Open the dossier"), OpenDossier(id=int(p["dossier_id"])))], 1) if "dossier_id" in p else None
    if kind == "report_due":
        text = _("The half-yearly report {period} of {unit} is due before {due} ({days} days left). "
                 "Send /report to prepare it.").format(period=esc(period_title(p["period"], _)), unit=esc(p["unit"]),
                                                       due=_date(p["due"]), days=p["days"])
    elif kind == "report_overdue":
        text = _("The half-yearly report {period} of {unit} was due before {due} and is not submitted yet. "
                 "Send /report {period} to file it now.").format(
            period=esc(p["period"]), unit=esc(p["unit"]), due=_date(p["due"]))
    elif kind == "report_overdue_summary":
        text = _("{count} units have not submitted the half-yearly report {period} (due before {due}):").format(
            count=p["count"], period=esc(period_title(p["period"], _)), due=_date(p["due"])) + "\n" + "\n".join(
            f"• {esc(name)}" for name in p["units"])
    elif kind == "report_submitted":
        text = (_("{unit} submitted its half-yearly report {period}, late.") if p.get("late") else
                _("{unit} submitted its half-yearly report {period}.")).format(
            unit=esc(p["unit"]), period=esc(period_title(p["period"], _))) + "\n" + _("/report {code} {period} opens it.").format(
            code=esc(p.get("unit_code", "")), period=esc(p["period"]))
    elif kind == "inspection_findings":
        text = _("The personnel office's inspection of {unit} on {date}: {complete} of {total} dossiers complete; "
                 "{count} findings to put right:").format(
            unit=esc(p["unit"]), date=_date(p["as_of"]), complete=p["complete"], total=p["total"],
            count=p["count"]) + "\n" + "\n".join(
            f"• {esc(_(FINDINGS.get(person['kind'], person['kind'])))} — {esc(person['name'])} "
            f"(<code>{esc(person['personal_id'])}</code>)" for person in p["people"])
        if p["count"] > len(p["people"]):
            text += "\n" + _("… and {count} more; the personnel office has the whole list.").format(
                count=p["count"] - len(p["people"]))
    elif kind == "feedback_answer":
        text = _("The personnel office answered your feedback #{number} ({status}):").format(
            number=p["number"], status=esc(_(FEEDBACK_STATUSES.get(p["status"], p["status"])))) + "\n" + esc(
            p["answer"]) + "\n\n" + _("You wrote: {text}").format(text=esc(p["asked"]))
    elif kind == "new_dossier_deadline":
        text = _("The dossier of <b>{name}</b> must be complete by {deadline}; still missing: {missing}. "
                 "Use /update → Complete the dossier.").format(
            name=esc(p["name"]), deadline=_date(p["deadline"]), missing=esc(", ".join(p["missing"])))
    elif kind == "salary_raise_due":
        text = _("Regular salary step raises due on {due} in {unit} ({count}):").format(
            due=_date(p["due"]), unit=esc(p["unit"]), count=p["count"]) + "\n" + "\n".join(
            f"• {esc(person['name'])}" for person in p["people"])
    elif kind in ("retirement_notice", "retirement_decision"):
        template = (_("The retirement notice for <b>{name}</b> is due by {due} (retirement on {retires}).")
                    if kind == "retirement_notice" else
                    _("The retirement decision for <b>{name}</b> is due by {due} (retirement on {retires})."))
        text = template.format(name=esc(p["name"]), due=_date(p["due"]), retires=_date(p["retires"]))
    elif kind == "declaration_pending":
        text = _("Declaration #{event} of <b>{name}</b> is waiting for your decision: /pending").format(
            event=p["event"], name=esc(p["name"]))
    elif kind == "transfer_pending":
        text = _("Custody request #{request} for the dossier of <b>{name}</b> is waiting for your decision: "
                 "/transfer").format(request=p["request"], name=esc(p["name"]))
    elif kind == "transfer_escalation":
        text = _("Custody request #{request} for the dossier of <b>{name}</b> ({holder} → {receiver}, request "
                 "{letter}) has waited more than {days} days; /transfer to decide it.").format(
            request=p["request"], name=esc(p["name"]), days=p["days"], holder=esc(p.get("holder", "")),
            receiver=esc(p.get("receiver", "")), letter=esc(p.get("letter", "")))
    elif kind == "outage":
        text = _("HoSo was unavailable from {since} to {until} ({days} working days). The regulation asks the "
                 "personnel office to notify the units: /broadcast followed by the notice.").format(
            since=_date(p["since"]), until=_date(p["until"]), days=p["days"])
    elif kind == "change_deadline":
        text = _("Decision {number} for <b>{name}</b> must be entered by {deadline}: /update, then the change "
                 "it makes.").format(number=esc(p.get("doc_number") or ""), name=esc(p["name"]),
                                     deadline=_date(p["deadline"]))
    elif kind == "subaccount_pending":
        text = _("Sub-account request #{request} of {unit} ({username}) is waiting for the personnel office: "
                 "/admin").format(request=p["request"], unit=esc(p["unit"]), username=esc(p["username"]))
    elif kind == "annual_supplement":
        text = _("The {year} supplementary resume campaign (phiếu bổ sung lý lịch) starts today: collect the "
                 "changes of your units' people and log them with /update.").format(year=p["year"])
    elif kind == "incident":
        text = _("<b>Notice from the personnel office</b>") + "\n" + esc(p["text"])
    else:
        text = esc(p.get("text", kind))
    return clip(text), opener


def todo_text(item: Todo, today: dt.date) -> str:
    """One line of the to-do list; every dynamic value escaped."""
    return describe(item, today, _, esc, lambda value: f"<b>{value}</b>")


def todo_opener(item: Todo) -> CallbackData:
    """The existing button of what the item names: the dossier card, the report, the lists that decide."""
    kind, target = item.opens
    if kind == "report":
        unit, period = target.split(":", 1)
        return ReportOpen(unit=unit, period=period)
    if kind == "board":
        return BoardOpen(period=target)
    if kind == "subaccount":
        return AdminMenu(item="requests")
    if kind in ("declaration", "transfer"):
        return OpenPending(what=kind)
    return OpenDossier(id=int(target))


async def reminders(message: Message, services: Services) -> None:
    todo, upcoming = await services.my_reminders.todo(), await services.my_reminders.upcoming()
    muted = await services.my_reminders.muted()
    today = services.clock.now().astimezone(services.clock.tz).date()
    lines = [_("<b>To do</b> (most urgent first)")]
    if todo:
        lines += [f"{number}. {todo_text(item, today)}" for number, item in enumerate(todo[:MAX_TODO], start=1)]
        if len(todo) > MAX_TODO:
            lines.append(_("… and {count} more.").format(count=len(todo) - MAX_TODO))
        lines.append(_("Press an item's number to open it."))
    else:
        lines.append(_("Nothing is waiting for you."))
    if upcoming:
        lines.append("")
        lines.append(_("<b>Scheduled reminders</b>"))
        lines += [f"• {format_local_datetime(when, services.clock)} — {esc(_(KIND_TITLES.get(kind, kind)))}"
                  for when, kind in upcoming]
    blocked = await services.my_reminders.blocked()
    if blocked:
        lines.append(_("Accounts whose Telegram users blocked the bot (nothing reaches them on Telegram):"))
        lines += [f"• <code>{esc(username)}</code> {esc(name)}" for username, name in blocked]
    channels = await services.my_reminders.channels()
    if len(channels) > 1:
        lines.append("")
        lines.append(_("<b>Reminders go to</b>: {channels}. Press a channel to turn it off or on; the personnel "
                       "office's escalations go to every linked channel.").format(
            channels=", ".join(esc(channel_label(channel)) for channel, on in channels if on)))
    lines.append(_("Press a kind to mute or unmute it; /lang changes the language."))
    toggles = [button(("🔕 " if kind in muted else "🔔 ") + _(title), MuteToggle(kind=kind))
               for kind, title in KIND_TITLES.items() if services.my_reminders.can_mute(kind)]
    toggles += [button(("✅ " if on else "⬜ ") + channel_label(channel), ChannelToggle(channel=channel))
                for channel, on in channels] if len(channels) > 1 else []
    openers = [button(str(number), todo_opener(item)) for number, item in enumerate(todo[:MAX_TODO], start=1)]
    markup = keyboard(openers, 5, *[[toggle] for toggle in toggles]) if openers else keyboard(toggles, 1)
    await message.answer(clip("\n".join(lines)), reply_markup=markup)


async def open_pending(query: CallbackQuery, callback_data: OpenPending, services: Services) -> None:
    if isinstance(query.message, Message):
        if callback_data.what == "transfer":
            await show_pending(query.message, services)
        else:
            await pending_declarations(query.message, services)


async def toggle(query: CallbackQuery, callback_data: MuteToggle, services: Services) -> None:
    muted = await services.my_reminders.toggle(callback_data.kind)
    title = _(KIND_TITLES.get(callback_data.kind, callback_data.kind))
    await query.answer((_("Muted: {kind}") if muted else _("Unmuted: {kind}")).format(kind=title), show_alert=True)


def channel_label(channel: str) -> str:
    label = CHANNEL_LABELS.get(channel)
    return _(label) if label is not None else channel


async def toggle_channel(query: CallbackQuery, callback_data: ChannelToggle, services: Services) -> None:
    on = await services.my_reminders.toggle_channel(callback_data.channel)  # a refusal: bot/errors.py answers
    label = channel_label(callback_data.channel)
    await query.answer((_("Reminders go to {channel} again.") if on else
                        _("Reminders no longer go to {channel}.")).format(channel=label), show_alert=True)


async def broadcast(message: Message, command: CommandObject, services: Services) -> None:
    count = await services.broadcast(command.args or "")
    await message.answer(_("The notice goes to {count} accounts.").format(count=count))


def build_router() -> Router:
    router = Router(name="reminders")
    router.message.register(reminders, Command("reminders"))
    router.message.register(broadcast, Command("broadcast"))
    router.callback_query.register(toggle, MuteToggle.filter())
    router.callback_query.register(toggle_channel, ChannelToggle.filter())
    router.callback_query.register(open_pending, OpenPending.filter())
    return router
