"""/inspect: the personnel office's inspection of how the units keep their dossiers (admin and auditor).

    /inspect                the province, the units worst first
    /inspect SYT            one unit and its subunits
    /inspect SYT 30/06/2026 on a date

A unit's button shows its figures and findings, with a button per dossier (for whoever may open it),
its subunits, the list sent to the unit's clerks (the personnel office), and the whole as .xlsx.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

from aiogram import Router
from aiogram.enums import ChatAction
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from handlers.dossiers import OpenDossier
from handlers.stats import parse_args
from handlers.views import button, clip, esc, keyboard, or_usage, share
from services.core.clock import format_date
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.core.policy import Action
from services.facade import Services
from services.oversight.inspection import FIELD_LABELS, FINDINGS, Finding, Inspection, badness, finding_text
from services.oversight.statistics import StatRow

USAGE_HINT = N_("/inspect [UNIT] [dd/mm/yyyy]")  # the arguments named in the reader's language
SHOWN_FINDINGS = 25


class InspectUnit(CallbackData, prefix="isu"):
    unit: str
    day: str  # YYYYMMDD


class InspectSend(CallbackData, prefix="iss"):
    unit: str
    day: str


class InspectFile(CallbackData, prefix="isf"):
    unit: str  # "" for the whole scope
    day: str


def day_key(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def day_of(key: str) -> dt.date:
    try:
        return dt.datetime.strptime(key, "%Y%m%d").date()
    except ValueError:  # not a button we made
        raise InvalidInput("day", N_("This button is no longer active.")) from None



def row_line(inspection: Inspection, row: StatRow) -> str:
    """A unit's figures in a line: completeness, timeliness over 12 months, findings, badness."""
    value = inspection.table.value
    findings = sum(value(row, f"finding.{kind}") for kind in FINDINGS)
    on_time, late = value(row, "changes12.on_time"), value(row, "changes12.late")
    return _("complete {complete}/{total} ({share}); on time (12 months) {on_time}/{changes}; findings {findings}; "
             "{issues} issues per 100 dossiers").format(
        complete=value(row, "complete"), total=row.people, share=share(value(row, "complete"), row.people),
        on_time=on_time, changes=on_time + late, findings=findings,
        issues=f"{badness({'issues': value(row, 'issues'), 'total': row.people}):.0f}")


def overview(inspection: Inspection) -> tuple[str, InlineKeyboardMarkup | None]:
    table, day = inspection.table, inspection.as_of
    head = table.total
    lines = [_("<b>Inspection of the dossiers</b> on {date}, the worst first").format(date=format_date(day)),
             f"<b>{esc(head.unit_name or _('Total'))}</b>: {row_line(inspection, head)}", ""]
    top = [r for r in table.rows[1:] if r.depth == 1 and r.kind != "own"]
    picks = []
    for number, row in enumerate(top, start=1):
        lines.append(f"{number}. <b>{esc(row.unit_name)}</b>: {row_line(inspection, row)}")
        picks.append(button(str(number), InspectUnit(unit=row.unit_code or "", day=day_key(day))))
    lines.append(_("Press a number for the unit's findings."))
    file_button = button("📊 " + _("Everything as .xlsx"), InspectFile(unit=head.unit_code or "", day=day_key(day)))
    return clip("\n".join(lines)), keyboard(picks[:40], 8, [file_button])


def unit_detail(inspection: Inspection, unit_code: str, services: Services
                ) -> tuple[str, InlineKeyboardMarkup | None]:
    table, day = inspection.table, inspection.as_of
    row = table.total
    value = table.value
    shown = inspection.findings  # the first of the findings of this unit and its subunits (SHOWN_FINDINGS)
    lines = [_("<b>{unit}</b> on {date}").format(unit=esc(row.unit_name), date=format_date(day)),
             _("Dossiers of people in service: {count}; complete {complete} ({share})").format(
                 count=row.people, complete=value(row, "complete"), share=share(value(row, "complete"), row.people))]
    missing = inspection.most_missing(row)
    if missing:
        lines.append(_("Most often missing: {fields}").format(fields=", ".join(
            f"{esc(_(FIELD_LABELS[name]))} {count}" for name, count in missing)))
    lines.append(_("Changes on time: 6 months {on6}/{all6}, 12 months {on12}/{all12}").format(
        on6=value(row, "changes6.on_time"), all6=value(row, "changes6.on_time") + value(row, "changes6.late"),
        on12=value(row, "changes12.on_time"), all12=value(row, "changes12.on_time") + value(row, "changes12.late")))
    lines.append(_("New dossiers completed in time: {on_time}, late {late}, incomplete and overdue {overdue}; "
                   "decisions registered and not entered {registered} ({late_registered} overdue)").format(
        on_time=value(row, "new.on_time"), late=value(row, "new.late"), overdue=value(row, "new.overdue"),
        registered=value(row, "registered"), late_registered=value(row, "registered.overdue")))
    lines.append(_("Accounts never activated {pending}, unused for 90 days {idle}, locked {locked}; dossiers "
                   "untouched for 24 months {untouched}").format(
        pending=value(row, "accounts.pending"), idle=value(row, "accounts.idle"),
        locked=value(row, "accounts.locked"), untouched=value(row, "untouched")))
    lines += ["", _("<b>Findings</b>: {count}").format(count=inspection.count)]
    opens = []
    may_open = services.allows(Action.OPEN_DOSSIER) and services.allows(Action.VIEW_DOSSIER)
    for number, finding in enumerate(shown[:SHOWN_FINDINGS], start=1):
        lines.append(f"{number}. {esc(_(FINDINGS[finding.kind]))} — <b>{esc(finding.full_name)}</b> "
                     f"(<code>{esc(finding.personal_id)}</code>, {esc(finding.unit_name)}): "
                     f"{esc(finding_text(finding, _))}")
        if may_open:
            opens.append(button(str(number), OpenDossier(id=finding.dossier_id)))
    if inspection.count > SHOWN_FINDINGS:
        lines.append(_("… and {count} more in the .xlsx.").format(count=inspection.count - SHOWN_FINDINGS))
    subunits = [r for r in table.rows[1:] if r.depth == 1 and r.kind != "own"]
    below = [button("↳ " + (r.unit_name or ""), InspectUnit(unit=r.unit_code or "", day=day_key(day)))
             for r in subunits[:10]]
    actions = [button("📊 .xlsx", InspectFile(unit=unit_code, day=day_key(day)))]
    if services.allows(Action.MANAGE_UNITS) and inspection.count:
        actions.insert(0, button("📨 " + _("Send the list to the unit's clerks"), InspectSend(unit=unit_code,
                                                                                             day=day_key(day))))
    rows = [opens[i:i + 8] for i in range(0, len(opens), 8)] + [[b] for b in below] + [actions]
    return clip("\n".join(lines)), InlineKeyboardMarkup(inline_keyboard=[r for r in rows if r])


# -- handlers --------------------------------------------------------------------------------------------
async def inspect(message: Message, command: CommandObject, services: Services) -> None:
    async def inspection_of_the_arguments() -> tuple[str | None, Inspection]:
        unit, day = parse_args(command.args)
        if message.bot is not None:
            await message.bot.send_chat_action(message.chat.id, ChatAction.TYPING)
        return unit, await services.inspection.run(unit, day, keep=SHOWN_FINDINGS if unit else 0)

    found = await or_usage(message, USAGE_HINT, inspection_of_the_arguments)
    if found is None:
        return
    unit, inspection = found
    text, markup = (unit_detail(inspection, unit.upper(), services) if unit else overview(inspection))
    await message.answer(text, reply_markup=markup)


async def open_unit(query: CallbackQuery, callback_data: InspectUnit, services: Services) -> None:
    inspection = await services.inspection.run(callback_data.unit, day_of(callback_data.day), keep=SHOWN_FINDINGS)
    if isinstance(query.message, Message):
        text, markup = unit_detail(inspection, callback_data.unit, services)
        await query.message.answer(text, reply_markup=markup)


async def send(query: CallbackQuery, callback_data: InspectSend, services: Services) -> None:
    count = await services.inspection.remind(callback_data.unit, day_of(callback_data.day))
    await query.answer(_("The list goes to {count} clerks of the unit.").format(count=count) if count else
                       _("The unit has no clerk signed in to receive it (or it was sent today)."), show_alert=True)


async def file(query: CallbackQuery, callback_data: InspectFile, services: Services) -> None:
    if not isinstance(query.message, Message):
        return
    from services.documents.inspection_workbook import InspectionWorkbook  # openpyxl: on first use, not at start

    book = InspectionWorkbook(_, services.clock.tz)

    async def write(findings: Sequence[Finding]) -> None:  # row by row as they stream, off the event loop
        await asyncio.to_thread(book.add, findings)

    inspection = await services.inspection.run(callback_data.unit or None, day_of(callback_data.day), keep=0,
                                               each=write)
    title = _("Inspection of {scope} on {date}").format(scope=inspection.table.total.unit_name or _("Total"),
                                                        date=format_date(inspection.as_of))
    name = f"kiem-tra-{(callback_data.unit or 'all').lower()}-{callback_data.day}.xlsx"
    workbook = await asyncio.to_thread(book.finish, inspection, title)
    await query.message.answer_document(
        BufferedInputFile(workbook, filename=name),
        caption=_("The figures per unit, every finding with its dossier, and the accounts not in use."))


def build_router() -> Router:
    router = Router(name="inspect")
    router.message.register(inspect, Command("inspect"))
    router.callback_query.register(open_unit, InspectUnit.filter())
    router.callback_query.register(send, InspectSend.filter())
    router.callback_query.register(file, InspectFile.filter())
    return router
