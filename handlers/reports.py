"""/report: the unit's half-yearly report, and the personnel office's submission board.

A clerk opens the report of their unit for the period (`/report`, or `/report 2026-H1`): a card with the
five sections, the measured figures of (a) and the statistics of (b) filled in from the data, and a
button per section to write. Each section is one guided prompt whose answer is kept in the draft at
once, so nothing is lost between sessions (or restarts). Preview sends the draft as a .docx; Submit, after
a confirmation, freezes it and sends the report (.docx) and its statistics (.xlsx).

The administrator's `/report` is the board of the period: who submitted (late or not), who has a draft,
who has not begun, and the reminders sent; with the province's report (.docx + .xlsx). `/report CODE`
opens one unit's report.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiogram import Router
from aiogram.enums import ChatAction
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from handlers.forms import Field, Form, Reply, busy, register, start_form
from handlers.views import button, clip, error_text, esc, keyboard, percent, refusal, share
from services.core.clock import format_date, format_local_date, format_local_datetime
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.core.policy import Action
from services.facade import Services
from services.oversight.compliance import Compliance
from services.oversight.inspection import FINDINGS
from services.oversight.periods import PERIOD, period_title
from services.oversight.reports import (
    CAPACITIES,
    CAPACITY,
    ON_BEHALF,
    REPORT_STATES,
    SECTION_TITLES,
    SUBMITTED,
    Board,
    Quality,
    ReportView,
)

PART_LABELS = {"a": "a)", "c": "c)", "d": "d)", "dd": "đ)"}
MAX_PICKS = 40


class ReportOpen(CallbackData, prefix="rpo"):
    unit: str
    period: str


class ReportEdit(CallbackData, prefix="rpe"):
    unit: str
    period: str
    part: str  # a | c | d | dd | sign


class ReportPreview(CallbackData, prefix="rpv"):
    unit: str
    period: str


class ReportSubmit(CallbackData, prefix="rps"):
    unit: str
    period: str
    sure: bool


class ReportFiles(CallbackData, prefix="rpf"):
    unit: str
    period: str


class BoardOpen(CallbackData, prefix="rpb"):
    period: str


class ProvinceReport(CallbackData, prefix="rpp"):
    period: str


# -- the prompts: one per section, and the number and signer -----------------------------------------------
QUESTIONS = {
    "a": N_("Write the unit's own assessment of how it applies the regulation, in one message (the measured "
            "figures above go in the report as they are):"),
    "c": N_("Describe the state of the equipment (computers, network, scanners, security), in one message:"),
    "d": N_("Describe the training of the staff who run the system in this period, in one message:"),
    "dd": N_("Write the unit's recommendations to the personnel office, in one message (or “Không có kiến nghị”):"),
}


async def _check(services: Services, context: dict[str, Any], key: str, value: str) -> str:
    """Checked, then kept in the draft at once: an answer is never lost to a /cancel or a later question."""
    checked = await services.reports.check(key, value)
    await services.reports.save(context["unit"], context["period"], {key: checked})
    return checked


async def _save(services: Services, answers: dict[str, str]) -> Reply:
    saved = await services.reports.save(answers["_unit"], answers["_period"],
                                        {k: v for k, v in answers.items() if not k.startswith("_")})
    view = await services.reports.open(saved.unit_code, saved.period.code, full=True)  # with the measured figures
    text, markup = card(view, services.clock.tz, _("Saved in the draft."))
    return Reply(text, markup=markup)


KEPT = N_("Send /cancel at any time to stop; each answer is kept in the draft as soon as you send it.")
SECTION_FORMS = {key: register(Form(f"report_{key}", SECTION_TITLES[key], (Field(key, question),), _save,
                                    check=_check, keeping=KEPT, action=Action.FILE_REPORT))
                 for key, question in QUESTIONS.items()}
SIGN_FORM = register(Form("report_sign", N_("Number and signer of the report"), (
    Field("doc_number", N_("Number of the report (e.g. 12/BC-SYT):")),
    Field("signer", N_("Full name of who signs it:")),
    Field(CAPACITY, N_("How do they sign?"), choices=tuple(CAPACITIES.items())),
    Field("signer_title", N_("Their own title (e.g. Giám đốc; for a deputy: Phó Giám đốc):")),
    Field(ON_BEHALF, N_("For KT., TL. or TUQ.: the title of the head they sign for (e.g. Giám đốc):"),
          optional=True),
), _save, check=_check, keeping=KEPT, action=Action.FILE_REPORT))


# -- rendering -------------------------------------------------------------------------------------------
def compliance_text(c: Compliance) -> list[str]:
    return [
        _("Changes entered on time: {on_time}/{total} ({share})").format(
            on_time=c.changes_on_time, total=c.changes, share=percent(c.changes_share)),
        _("New dossiers completed within the deadline: {on_time}/{judged} ({share}); incomplete and overdue: "
          "{overdue}; still within the deadline: {open}").format(
            on_time=c.new_on_time, judged=c.new_judged, share=percent(c.new_share), overdue=c.new_overdue,
            open=c.new_open),
        _("Pending: {declarations} declarations, {transfers} custody requests, {registered} decisions not "
          "entered ({overdue} overdue)").format(declarations=c.declarations, transfers=c.transfers,
                                                 registered=c.registered, overdue=c.registered_overdue),
    ]


def quality_text(quality: Quality | None) -> list[str]:
    """What the inspection finds of the unit's dossiers, for section (a)."""
    if quality is None:
        return []
    lines = [_("Dossiers with every mandatory field: {complete}/{total} ({share})").format(
        complete=quality.complete, total=quality.people, share=share(quality.complete, quality.people))]
    found = [f"{esc(_(FINDINGS[kind]))}: {count}" for kind, count in quality.findings.items() if count]
    lines.append(_("Findings of the inspection: {count}").format(count=quality.found) +
                 (" (" + "; ".join(found) + ")" if found else ""))
    return lines


def status_line(view: ReportView, tz: dt.tzinfo) -> str:
    if view.status == SUBMITTED and view.submitted_at is not None:
        line = _("Submitted on {when} by {who}").format(when=format_local_date(view.submitted_at, tz),
                                                        who=esc(view.submitted_by or ""))
        return line + (" — " + _("late") if view.late else "")
    if view.status == "draft" and view.updated_at is not None:
        return _("Draft, last saved on {when}").format(when=format_local_date(view.updated_at, tz))
    return _("Not begun")


def people_line(view: ReportView) -> str:
    stats = view.statistics
    return _("{count} people in service on {date}, of which {women} women; the table goes with the report").format(
        count=stats.total.people, date=format_date(stats.as_of), women=stats.value(stats.total, "women"))


def card(view: ReportView, tz: dt.tzinfo, head: str | None = None) -> tuple[str, InlineKeyboardMarkup | None]:
    period = view.period
    lines = [head, ""] if head else []
    if view.overdue_before:
        lines += ["❗ " + _("The report {period} is overdue and not submitted: /report {period}").format(
            period=esc(view.overdue_before)), ""]
    lines += [_("<b>Half-yearly report {period}</b> — {unit}").format(period=esc(period_title(period.code, _)),
                                                                    unit=esc(view.unit_name)),
              _("Data from {start} to {end}; due before {due}").format(
                  start=format_date(period.start), end=format_date(period.end), due=format_date(period.due)),
              status_line(view, tz), "",
              f"<b>{esc(_(SECTION_TITLES['a']))}</b>"]
    lines += [f"• {line}" for line in compliance_text(view.compliance) + quality_text(view.quality)]
    lines.append(_written(view, "a"))
    lines.append(f"<b>{esc(_(SECTION_TITLES['b']))}</b>")
    lines.append("• " + people_line(view))
    for key in ("c", "d", "dd"):
        lines.append(f"<b>{esc(_(SECTION_TITLES[key]))}</b>")
        lines.append(_written(view, key))
    signature = (_("Number {number}, signed by {signer}, {title}").format(
        number=esc(view.doc_number), signer=esc(view.signer), title=esc(" / ".join(view.signature)))
        if view.doc_number else _("Number and signer: not given yet"))
    lines.append(signature)
    return clip("\n".join(lines)), card_keyboard(view)


def _written(view: ReportView, key: str) -> str:
    content = view.sections.get(key)
    if not content:
        return "• " + _("not written yet")
    return "• " + esc(content if len(content) <= 300 else content[:300] + "…")


def card_keyboard(view: ReportView) -> InlineKeyboardMarkup | None:
    unit, period = view.unit_code, view.period.code
    if view.editable:
        edits = [button("✏️ " + label, ReportEdit(unit=unit, period=period, part=key)) for key, label in PART_LABELS.items()]
        edits.append(button("✏️ " + _("Number, signer"), ReportEdit(unit=unit, period=period, part="sign")))
        actions = [button("👁 " + _("Preview"), ReportPreview(unit=unit, period=period)),
                   button("📤 " + _("Submit"), ReportSubmit(unit=unit, period=period, sure=False))]
        return keyboard(edits, 4, actions)
    if view.status == SUBMITTED:
        return keyboard([button("📄 " + _("Report and table"), ReportFiles(unit=unit, period=period))], 1)
    return keyboard([button("👁 " + _("Preview"), ReportPreview(unit=unit, period=period))], 1)


def preview_text(view: ReportView) -> str:
    lines = [_("<b>Preview of the report {period} of {unit}</b>").format(period=esc(period_title(view.period.code, _)),
                                                                          unit=esc(view.unit_name)), ""]
    for key, title in SECTION_TITLES.items():
        lines.append(f"<b>{esc(_(title))}</b>")
        if key == "a":
            lines += [f"• {line}" for line in compliance_text(view.compliance) + quality_text(view.quality)]
        if key == "b":
            lines.append(people_line(view))
        elif view.sections.get(key):
            lines.append(esc(view.sections[key]))
        else:
            lines.append(_("not written yet"))
    if view.missing:
        lines += ["", missing_text(view)]
    return clip("\n".join(lines))


def missing_text(view: ReportView) -> str:
    return _("Still to fill in before submitting: {parts}").format(parts=", ".join(
        _("number and signer") if part == "sign" else PART_LABELS[part] for part in view.missing))


def board_text(board: Board, tz: dt.tzinfo) -> tuple[str, InlineKeyboardMarkup | None]:
    period = board.period
    lines = [_("<b>Half-yearly reports {period}</b> (due before {due})").format(
                 period=esc(period_title(period.code, _)), due=format_date(period.due)),
             board.summary(_), ""]
    for line in board.lines:
        if line.status == SUBMITTED:
            mark = "⚠️" if line.late else "✅"
            state = _("submitted on {date}").format(date=format_local_date(line.submitted_at, tz)) + (
                " — " + _("late") if line.late else "")
        else:
            mark = "📝" if line.status == "draft" else ("❗" if board.overdue else "✖")
            state = _(REPORT_STATES[line.status])
        entry = f"{mark} <b>{esc(line.unit_name)}</b> (<code>{esc(line.unit_code)}</code>): {state}"
        if line.reminders:
            entry += "\n   " + _("reminded {count}×, last on {date}, to {accounts}").format(
                count=line.reminders, date=format_local_date(line.last_reminded, tz),
                accounts=esc(", ".join(line.reminded)))
        lines.append(entry)
    lines += ["", _("Open one unit's report: /report CODE {period}").format(period=esc(period.code))]
    return clip("\n".join(lines)), keyboard(
        [button("📑 " + _("Province's report (.docx + .xlsx)"), ProvinceReport(period=period.code)),
         button("‹ " + neighbour(period.code, -1), BoardOpen(period=neighbour(period.code, -1)))], 1)


def neighbour(code: str, step: int) -> str:
    """The period `step` half-years from `code`: 2026-H1 − 1 = 2025-H2."""
    year, half = int(code[:4]), int(code[-1])
    index = year * 2 + half - 1 + step
    return f"{index // 2}-H{index % 2 + 1}"


# -- sending files ---------------------------------------------------------------------------------------
def _vi(i18n: I18n) -> Any:
    return lambda message: i18n.gettext(message, locale="vi")


async def send_report_files(message: Message, services: Services, i18n: I18n, view: ReportView) -> None:
    stem = f"{view.unit_code.lower()}-{view.period.code.lower()}"
    draft = view.status != SUBMITTED
    # The renderers' module loads openpyxl: here, on first use, not at the bot's start.
    from services.documents.stats_workbook import statistics_title

    title = statistics_title(view.unit_name, view.statistics, _)
    # Written off the event loop, so that other users are not kept waiting meanwhile.
    document, workbook = await services.unit_report_files(view, _vi(i18n), _, title)
    await message.answer_document(
        BufferedInputFile(document, filename=f"bao-cao-{stem}{'-du-thao' if draft else ''}.docx"),
        caption=(_("Draft of the report {period} of {unit}.") if draft else
                 _("The report {period} of {unit}, as submitted.")).format(
            period=esc(period_title(view.period.code, _)), unit=esc(view.unit_name)))
    await message.answer_document(
        BufferedInputFile(workbook, filename=f"thong-ke-{stem}.xlsx"),
        caption=_("Its statistics table (section b)."))


# -- handlers --------------------------------------------------------------------------------------------
def parse_args(text: str | None) -> tuple[str | None, str | None]:
    unit, period = None, None
    for token in (text or "").split():
        if PERIOD.match(token.upper()):
            period = token.upper()
        else:
            unit = token
    return unit, period


async def report(message: Message, command: CommandObject, services: Services) -> None:
    unit, period = parse_args(command.args)
    try:
        if unit is None and services.allows(Action.REVIEW_REPORTS):
            text, markup = board_text(await services.reports.board(period), services.clock.tz)
            await message.answer(text, reply_markup=markup)
            return
        if unit is None:
            await _own_report(message, services, period)
            return
        text, markup = card(await services.reports.open(unit, period, full=True), services.clock.tz)
    except InvalidInput as error:
        await message.answer(error_text(error))
        return
    await message.answer(text, reply_markup=markup)


async def _own_report(message: Message, services: Services, period: str | None) -> None:
    units = await services.reports.units()
    if len(units) == 1:
        text, markup = card(await services.reports.open(units[0].code, period, full=True), services.clock.tz)
        await message.answer(text, reply_markup=markup)
        return
    if not units:
        through = await services.reports.reporting_unit_of_actor()
        await message.answer(_("Your unit reports through {unit}, whose clerks file the half-yearly report.").format(
            unit=esc(through.name)) if through else _("No unit of your scope files the half-yearly report."))
        return
    code = period or (await services.reports.period()).code
    picks = [button(u.name, ReportOpen(unit=u.code, period=code)) for u in units[:MAX_PICKS]]
    text = _("Which unit's report {period}?").format(period=esc(code))
    if len(units) > MAX_PICKS:
        text += "\n" + _("{count} more: /report CODE {period}").format(count=len(units) - MAX_PICKS, period=esc(code))
    await message.answer(text, reply_markup=keyboard(picks, 1))


async def open_report(query: CallbackQuery, callback_data: ReportOpen, services: Services) -> None:
    view = await services.reports.open(callback_data.unit, callback_data.period, full=True)
    if isinstance(query.message, Message):
        text, markup = card(view, services.clock.tz)
        await query.message.answer(text, reply_markup=markup)


async def edit(query: CallbackQuery, callback_data: ReportEdit, state: FSMContext, services: Services) -> None:
    services.require(Action.FILE_REPORT)
    if await busy(query, state):
        return
    view = await services.reports.open(callback_data.unit, callback_data.period)
    if not view.editable:
        await query.answer(_("The report {period} of {unit} was already submitted; it can no longer "
                             "change.").format(period=period_title(view.period.code, _), unit=view.unit_name), show_alert=True)
        return
    if not isinstance(query.message, Message):
        return
    context = {"unit": view.unit_code, "period": view.period.code}
    if callback_data.part == "sign":
        await start_form(query.message, state, SIGN_FORM, services, context)
        return
    form = SECTION_FORMS.get(callback_data.part)
    if form is None:
        return
    intro = []
    if callback_data.part == "a":  # the measured figures beside the assessment written of them
        measured = await services.reports.open(callback_data.unit, callback_data.period, full=True)
        intro += [f"• {line}" for line in compliance_text(measured.compliance) + quality_text(measured.quality)]
    current = view.sections.get(callback_data.part)
    if current:
        intro.append(_("Now: {text}").format(text=esc(current if len(current) <= 1500 else current[:1500] + "…")))
        intro.append(_("Your answer replaces it; /cancel keeps it."))
    await start_form(query.message, state, form, services, context, intro="\n".join(intro) or None)


async def preview(query: CallbackQuery, callback_data: ReportPreview, services: Services, i18n: I18n) -> None:
    view = await services.reports.open(callback_data.unit, callback_data.period, full=True)
    if isinstance(query.message, Message):
        await query.message.answer(preview_text(view), reply_markup=card_keyboard(view))
        await send_report_files(query.message, services, i18n, view)


async def submit(query: CallbackQuery, callback_data: ReportSubmit, services: Services, i18n: I18n) -> None:
    services.require(Action.FILE_REPORT)
    if not isinstance(query.message, Message):
        return
    if not callback_data.sure:
        view = await services.reports.open(callback_data.unit, callback_data.period)
        if view.missing:
            await query.answer(missing_text(view), show_alert=True)
            return
        await query.message.answer(
            _("Submit the report {period} of {unit} to the personnel office? Once submitted it cannot be "
              "changed.").format(period=esc(period_title(view.period.code, _)), unit=esc(view.unit_name)),
            reply_markup=keyboard([button("📤 " + _("Yes, submit"), ReportSubmit(
                unit=view.unit_code, period=view.period.code, sure=True)),
                button(_("Not yet"), ReportOpen(unit=view.unit_code, period=view.period.code))], 2))
        return
    try:
        view = await services.reports.submit(callback_data.unit, callback_data.period)
    except InvalidInput as error:
        await query.answer(refusal(error), show_alert=True)
        return
    assert view.submitted_at is not None
    text = _("Report {period} of {unit} submitted on {when}.").format(
        period=esc(period_title(view.period.code, _)), unit=esc(view.unit_name), when=format_local_datetime(view.submitted_at, services.clock))
    if view.late:
        text += " " + _("It was due before {due}, so it is marked late.").format(due=format_date(view.period.due))
    text += "\n" + _("The personnel office is told; its reminders stop.")
    await query.message.answer(text)
    await send_report_files(query.message, services, i18n, view)


async def files(query: CallbackQuery, callback_data: ReportFiles, services: Services, i18n: I18n) -> None:
    view = await services.reports.open(callback_data.unit, callback_data.period, full=True)
    if isinstance(query.message, Message):
        await send_report_files(query.message, services, i18n, view)


async def board(query: CallbackQuery, callback_data: BoardOpen, services: Services) -> None:
    text, markup = board_text(await services.reports.board(callback_data.period), services.clock.tz)
    if isinstance(query.message, Message):
        await query.message.answer(text, reply_markup=markup)


async def province(query: CallbackQuery, callback_data: ProvinceReport, services: Services, i18n: I18n) -> None:
    services.require(Action.REVIEW_REPORTS)
    await query.answer(_("Preparing the province's report…"))
    if not isinstance(query.message, Message):
        return
    if query.bot is not None:
        await query.bot.send_chat_action(query.message.chat.id, ChatAction.UPLOAD_DOCUMENT)
    made = await services.reports.provincial(callback_data.period)
    stem = f"tong-hop-{made.period.code.lower()}"
    from services.documents.stats_workbook import statistics_title  # as in send_report_files

    title = statistics_title(made.province, made.statistics, _)
    document, workbook = await services.province_report_files(made, _vi(i18n), _, title)
    await query.message.answer_document(BufferedInputFile(document, filename=f"bao-cao-{stem}.docx"), caption=_(
        "The province's report {period}: {submitted} of {total} units submitted.").format(
        period=esc(period_title(made.period.code, _)), submitted=made.board.count(SUBMITTED), total=len(made.board.lines)))
    await query.message.answer_document(BufferedInputFile(workbook, filename=f"thong-ke-{stem}.xlsx"),
                                        caption=_("The statistics summed up the tree, each unit's compliance and the "
                                                  "submissions."))


def build_router() -> Router:
    router = Router(name="reports")
    router.message.register(report, Command("report"))
    router.callback_query.register(open_report, ReportOpen.filter())
    router.callback_query.register(edit, ReportEdit.filter())
    router.callback_query.register(preview, ReportPreview.filter())
    router.callback_query.register(submit, ReportSubmit.filter())
    router.callback_query.register(files, ReportFiles.filter())
    router.callback_query.register(board, BoardOpen.filter())
    router.callback_query.register(province, ProvinceReport.filter())
    return router
