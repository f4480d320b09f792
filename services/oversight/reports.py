"""The half-yearly report (Hậu Giang Art. 12, HCMC Art. 13): every department and district reports to
the personnel office before 15 June and before 15 December, in five sections:

  a) the unit's own assessment of how it applies the regulation, with its measured compliance;
  b) the quantity and quality of its dossiers: the statistics, computed from the data;
  c) the state of the equipment;  d) the training of the staff who run the system;  đ) recommendations.

A report is a draft until submitted; submitting records the time, marks it late when the due date has
come, freezes the figures it reported, stops the unit's reminders and tells the personnel office, which
follows the submissions on a board and merges them into the province's report.

The data of a period run from the previous due date to the day before this one (the reporting regime's
cut-off: 15/12 to 14/06, 15/06 to 14/12); the figures are as of that last day, or today if it is earlier.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from services.core.actor import Actor
from services.core.clock import Clock, format_date, local_today
from services.core.errors import InvalidInput, PermissionDenied
from services.core.i18n import N_
from services.core.policy import Action, allows, can
from services.oversight.compliance import Compliance, compliance_by_unit, rolled_up
from services.oversight.inspection import inspect
from services.oversight.periods import Period, overdue_period, parse_period, period_for
from services.oversight.statistics import StatTable, compute_table
from services.platform.audit import actor_label, record
from services.platform.outbox import Due, enqueue
from services.platform.sessions import sensitive, touch_session
from services.platform.units import ACTIVE, normalise_code
from services.regime.calendar import working_calendar
from services.regime.profiles import Profile
from services.regime.setup import profile_of
from storage import Repositories, UnitOfWork
from storage.models import OrgUnit, UnitReport

TEXT_SECTIONS = ("a", "c", "d", "dd")  # typed by the unit; (b) is computed
SECTION_TITLES = {
    "a": N_("a) Assessment of how the unit applies the regulation"),
    "b": N_("b) Quantity and quality of the dossiers"),
    "c": N_("c) State of the equipment"),
    "d": N_("d) Training of the staff who run the system"),
    "dd": N_("đ) Recommendations"),
}
MAX_SECTION = 3000
# How the signer signs (Nghị định 30/2020/NĐ-CP, Appendix I): in their own name, or for the head of the body.
# Kept in the draft's sections beside the texts, under these keys (no column of their own).
CAPACITY, ON_BEHALF = "sign_capacity", "sign_for"
OWN_NAME = "own"
CAPACITIES = {
    OWN_NAME: N_("In their own name (the head)"),
    "KT": N_("KT. — a deputy signs for the head"),
    "TL": N_("TL. — signs by order of the head"),
    "TUQ": N_("TUQ. — signs by the head's authorisation"),
    "Q": N_("Q. — acting head"),
}
FOR_SOMEONE = ("KT", "TL", "TUQ")  # these name whom they sign for above the signer's own title
MAX_NUMBER, MAX_NAME = 64, 255
NEW, DRAFT, SUBMITTED = "new", "draft", "submitted"
REPORT_STATES = {NEW: N_("not begun"), DRAFT: N_("draft"), SUBMITTED: N_("submitted")}


def reporting_units(units: list[OrgUnit], profile: Profile) -> list[OrgUnit]:
    """The units that report: the active units of the profile's reporting level (the departments and
    districts right under the province, in the shipped profiles)."""
    return [u for u in units if u.status == ACTIVE and u.path.count("/") == profile.report_depth + 1]


def place_of(province: str) -> str:
    """"Ủy ban nhân dân thành phố Cần Thơ" → "Cần Thơ", for the date line of a document."""
    name = re.sub(r"^(ủy ban nhân dân|uỷ ban nhân dân|ubnd)\s+", "", province.strip(), flags=re.IGNORECASE)
    return re.sub(r"^(tỉnh|thành phố|tp\.?)\s+", "", name, flags=re.IGNORECASE) or province


# -- plain results --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReportView:
    unit_code: str
    unit_name: str
    parent_name: str  # the unit's governing body, for the document's header
    province: str
    period: Period
    status: str  # new | draft | submitted
    sections: dict[str, str]
    doc_number: str | None
    signer: str | None
    signer_title: str | None
    updated_at: dt.datetime | None
    submitted_at: dt.datetime | None
    submitted_by: str | None
    late: bool | None
    compliance: Compliance
    statistics: StatTable
    legal_basis: str
    editable: bool  # the actor may fill it in and submit it
    quality: Quality | None = None  # the inspection's figures, when asked for (they take a while)
    overdue_before: str | None = None  # the previous period, when it is overdue and not submitted

    @property
    def missing(self) -> list[str]:
        return missing_parts(self.sections, self.doc_number, self.signer, self.signer_title)

    @property
    def signature(self) -> list[str]:
        return signature_title(self.sections, self.signer_title)


def missing_parts(sections: dict[str, str], *signature: str | None) -> list[str]:
    """What must still be filled in before a report can be submitted: section keys, and "sign" for its
    number and signer (and, signing for the head, whose title)."""
    signed = all(signature) and (sections.get(CAPACITY) not in FOR_SOMEONE or bool(sections.get(ON_BEHALF)))
    return [key for key in TEXT_SECTIONS if not sections.get(key)] + ([] if signed else ["sign"])


def signature_title(sections: dict[str, str], signer_title: str | None) -> list[str]:
    """The lines above the signature, upper-case as Appendix I prints them: "KT. GIÁM ĐỐC" over "PHÓ GIÁM
    ĐỐC"; "Q. GIÁM ĐỐC"; or the head's own title."""
    title = (signer_title or "").upper()
    capacity, head = sections.get(CAPACITY, OWN_NAME), (sections.get(ON_BEHALF) or "").upper()
    if capacity in FOR_SOMEONE and head:
        return [f"{capacity}. {head}", title]
    if capacity == "Q":
        return [f"Q. {title}"]
    return [title] if title else []


@dataclass(frozen=True, slots=True)
class UnitChoice:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class BoardLine:
    unit_code: str
    unit_name: str
    status: str  # new | draft | submitted
    submitted_at: dt.datetime | None
    late: bool | None
    reminders: int  # report reminders sent for the period
    last_reminded: dt.datetime | None
    reminded: tuple[str, ...]  # the accounts they went to


@dataclass(frozen=True, slots=True)
class Board:
    period: Period
    lines: tuple[BoardLine, ...]
    today: dt.date

    def count(self, status: str) -> int:
        return sum(1 for line in self.lines if line.status == status)

    @property
    def late(self) -> int:
        return sum(1 for line in self.lines if line.status == SUBMITTED and line.late)

    @property
    def overdue(self) -> bool:
        return self.today >= self.period.due

    def summary(self, translate: Callable[[str], str]) -> str:
        """The counts in a line, in the reader's language (the chat's board, the command line's)."""
        return translate(N_("Submitted {submitted} of {total} ({late} late); drafts {drafts}; not begun {new}")).format(
            submitted=self.count(SUBMITTED), total=len(self.lines), late=self.late, drafts=self.count(DRAFT),
            new=self.count(NEW))


@dataclass(frozen=True, slots=True)
class UnitSummary:
    """One reporting unit in the province's report."""

    code: str
    name: str
    status: str
    late: bool | None
    compliance: Compliance
    sections: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProvincialReport:
    period: Period
    province: str
    office: str  # the personnel office (the admin's unit)
    legal_basis: str
    board: Board
    compliance: Compliance
    units: tuple[UnitSummary, ...]
    statistics: StatTable


def already_submitted(unit: OrgUnit, period: Period) -> InvalidInput:
    return InvalidInput("report", N_("The report {period} of {unit} was already submitted; it can no longer "
                                     "change."), period=period.code, unit=unit.name)


@dataclass(frozen=True, slots=True)
class Quality:
    """What the personnel office's inspection finds of the unit's dossiers, for section (a)."""

    people: int  # dossiers of people in service
    complete: int  # with every mandatory field
    findings: dict[str, int]  # by kind of finding

    @property
    def found(self) -> int:
        return sum(self.findings.values())


async def quality_of(repos: Repositories, unit: OrgUnit, day: dt.date, clock: Clock) -> Quality:
    inspection = await inspect(repos, (unit.path,), day, clock, keep=0)  # counted by kind in its table
    head = inspection.table.total
    return Quality(head.people, inspection.value(head, "complete"), inspection.counts())


def _figures(compliance: Compliance, statistics: StatTable, quality: Quality) -> dict[str, Any]:
    return {"compliance": asdict(compliance), "statistics": statistics.as_json(), "quality": asdict(quality)}


# -- the use cases --------------------------------------------------------------------------------------
class ReportService:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock

    def _today(self) -> dt.date:
        return local_today(self.clock)

    # -- whose reports -----------------------------------------------------------------------------
    async def units(self) -> list[UnitChoice]:
        """The reporting units whose report the actor may open (fill in, or read as a manager)."""
        self._may_open()
        async with self.uow.read() as repos:
            units = reporting_units(list(await repos.units.subtree("/")), await profile_of(repos))
        return [UnitChoice(u.code, u.name) for u in units if self._may_read(u)]

    async def reporting_unit_of_actor(self) -> UnitChoice | None:
        """The reporting unit the actor's own unit belongs to (its report may be someone else's)."""
        if self.actor.unit_path is None:
            return None
        async with self.uow.read() as repos:
            units = reporting_units(list(await repos.units.subtree("/")), await profile_of(repos))
        found = next((u for u in units if self.actor.unit_path.startswith(u.path)), None)
        return None if found is None else UnitChoice(found.code, found.name)

    async def period(self, code: str | None = None) -> Period:
        async with self.uow.read() as repos:
            return await self._parse(repos, code)

    def _may_open(self) -> None:
        """Reports are the clerks' to fill in and the managers' to read: refused to anyone else up front."""
        if not (allows(self.actor, Action.FILE_REPORT) or allows(self.actor, Action.VIEW_STATISTICS)):
            raise PermissionDenied()

    def _may_read(self, unit: OrgUnit) -> bool:
        return can(self.actor, Action.FILE_REPORT, unit.path) or can(self.actor, Action.VIEW_STATISTICS, unit.path)

    async def _unit(self, repos: Repositories, code: str, write: bool) -> OrgUnit:
        unit = await repos.units.by_code(normalise_code(code))
        if unit is None or not reporting_units([unit], await profile_of(repos)):
            raise InvalidInput("unit", N_("{code} is not a unit that files the half-yearly report."), code=code)
        if not (can(self.actor, Action.FILE_REPORT, unit.path) if write else self._may_read(unit)):
            raise PermissionDenied()
        return unit

    # -- one unit's report ---------------------------------------------------------------------------
    async def open(self, unit_code: str, period_code: str | None = None, full: bool = False) -> ReportView:
        """The report as it stands: a submitted one with its frozen figures, else the figures now; `full`
        adds the inspection's (for the preview and the document)."""
        self._may_open()
        async with self.uow.write() as repos:
            await touch_session(repos, self.actor, self.clock)
            unit = await self._unit(repos, unit_code, write=False)
            period = await self._parse(repos, period_code, unit)
            await record(repos, self.clock, self.actor, "report.view", "unit", unit.code, period=period.code)
        return await self._view(unit.code, period, full)

    async def _parse(self, repos: Repositories, code: str | None, unit: OrgUnit | None = None) -> Period:
        """The period named, else the one to report now: the one just past its due date while it is
        chased (for a unit, unless it submitted it), else the next to come."""
        profile = await profile_of(repos)
        if code:
            return parse_period(code, profile)
        overdue = overdue_period(self._today(), profile)
        if overdue is not None and (unit is None or await self._unsubmitted(repos, unit, overdue)):
            return overdue
        return period_for(self._today(), profile)

    @staticmethod
    async def _unsubmitted(repos: Repositories, unit: OrgUnit, period: Period) -> bool:
        report = await repos.reports.get(unit.id, period.code)
        return report is None or report.status != SUBMITTED

    def _writable(self, period: Period) -> None:
        if period.start > self._today():
            raise InvalidInput("period", N_("The period {period} has not begun; its report can be written from "
                                            "{date} on."), period=period.code, date=format_date(period.start))

    async def _view(self, unit_code: str, period: Period, full: bool = False) -> ReportView:
        async with self.uow.read() as repos:
            unit = await self._unit(repos, unit_code, write=False)
            report = await repos.reports.get(unit.id, period.code)
            profile = await profile_of(repos)
            quality: Quality | None = None
            if report is not None and report.status == SUBMITTED and report.figures:
                compliance = Compliance(**report.figures["compliance"])
                statistics = StatTable.from_json(report.figures["statistics"])
                frozen = report.figures.get("quality")
                quality = Quality(**frozen) if frozen else None
            else:
                compliance, statistics = await self._measure(repos, unit, period)
                if full:
                    quality = await quality_of(repos, unit, period.as_of(self._today()), self.clock)
            parent = await repos.units.get(unit.parent_id) if unit.parent_id else None
            # The province is the root of the tree: the first id of the unit's path.
            province = await repos.units.get(int(unit.path.strip("/").split("/")[0])) or unit
            submitter = await repos.accounts.get(report.submitted_by) if report and report.submitted_by else None
            overdue = overdue_period(self._today(), profile)  # the round still chased, if another one
            late_before = (overdue.code if overdue is not None and overdue.code != period.code
                           and await self._unsubmitted(repos, unit, overdue) else None)
        return ReportView(
            unit.code, unit.name, parent.name if parent else "", province.name, period,
            report.status if report else NEW, dict(report.sections) if report else {},
            report.doc_number if report else None, report.signer if report else None,
            report.signer_title if report else None, report.updated_at if report else None,
            report.submitted_at if report else None, submitter.username if submitter else None,
            report.late if report else None, compliance, statistics, profile.legal_basis,
            can(self.actor, Action.FILE_REPORT, unit.path) and (report is None or report.status != SUBMITTED), quality,
            late_before)

    async def _measure(self, repos: Repositories, unit: OrgUnit, period: Period) -> tuple[Compliance, StatTable]:
        day = period.as_of(self._today())
        units = list(await repos.units.subtree(unit.path))
        own = await compliance_by_unit(repos, period.start, day, self.clock, (unit.path,))
        return rolled_up(unit, units, own), await compute_table(repos, (unit.path,), day)

    async def check(self, key: str, value: str) -> str:
        """One answer of the report's prompts, checked as it comes."""
        text = value.strip()
        if key == ON_BEHALF and text in ("", "-"):
            return ""  # signing in one's own name or as acting head: nobody to name
        if key == CAPACITY and text not in CAPACITIES:
            raise InvalidInput(key, N_("Please choose one of the buttons."))
        if not text:
            raise InvalidInput(key, N_("An answer is needed here."))
        limit = {"doc_number": MAX_NUMBER, "signer": MAX_NAME, "signer_title": MAX_NAME, ON_BEHALF: MAX_NAME}.get(key, MAX_SECTION)
        if len(text) > limit:
            raise InvalidInput(key, N_("Too long: at most {limit} characters."), limit=limit)
        return text

    async def save(self, unit_code: str, period_code: str, answers: dict[str, str]) -> ReportView:
        """Keep answers in the draft: section texts (a, c, d, dd) or the number and signer."""
        allowed = {*TEXT_SECTIONS, CAPACITY, ON_BEHALF, "doc_number", "signer", "signer_title"}
        checked = {key: await self.check(key, value) for key, value in answers.items() if key in allowed}
        if not checked:
            raise InvalidInput("section", N_("Nothing to save."))
        async with sensitive(self.uow, self.actor, self.clock, Action.FILE_REPORT) as repos:
            unit = await self._unit(repos, unit_code, write=True)
            period = await self._parse(repos, period_code, unit)
            self._writable(period)
            report = await self._draft(repos, unit, period)
            sections = dict(report.sections or {})
            for key, value in checked.items():
                if key in TEXT_SECTIONS or key in (CAPACITY, ON_BEHALF):
                    sections[key] = value
                else:
                    setattr(report, key, value)
            report.sections, report.updated_at = sections, self.clock.now()
            await record(repos, self.clock, self.actor, "report.save", "unit", unit.code, period=period.code,
                         fields=sorted(checked))
        return await self._view(unit.code, period)

    async def _draft(self, repos: Repositories, unit: OrgUnit, period: Period) -> UnitReport:
        report = await repos.reports.draft(unit.id, period.code, self.clock.now())
        if report.status == SUBMITTED:
            raise already_submitted(unit, period)
        return report

    async def submit(self, unit_code: str, period_code: str) -> ReportView:
        """Submit the draft: its figures frozen as they are now, late if the due date has come."""
        async with sensitive(self.uow, self.actor, self.clock, Action.FILE_REPORT) as repos:
            unit = await self._unit(repos, unit_code, write=True)
            period = await self._parse(repos, period_code, unit)
            self._writable(period)
            self._complete(unit, period, await repos.reports.get(unit.id, period.code))
        # Measured outside the write transaction: on a large department it takes a while, and SQLite's
        # write lock must not be held meanwhile.
        async with self.uow.read() as repos:
            compliance, statistics = await self._measure(repos, unit, period)
            quality = await quality_of(repos, unit, period.as_of(self._today()), self.clock)
        async with self.uow.write() as repos:
            report = self._complete(unit, period, await repos.reports.get(unit.id, period.code, for_update=True))
            now, today = self.clock.now(), self._today()
            report.status, report.submitted_at, report.submitted_by = SUBMITTED, now, self.actor.account_id
            report.late, report.updated_at = today >= period.due, now
            report.figures = _figures(compliance, statistics, quality)
            dropped = await repos.reports.drop_reminders(unit.id, period.code)
            await self._tell_the_office(repos, unit, period, report.late)
            await record(repos, self.clock, self.actor, "report.submit", "unit", unit.code, period=period.code,
                         late=report.late, dropped_reminders=dropped)
        return await self._view(unit.code, period)

    @staticmethod
    def _complete(unit: OrgUnit, period: Period, report: UnitReport | None) -> UnitReport:
        """The draft, if it can be submitted: not submitted yet, every section and the signature given."""
        if report is not None and report.status == SUBMITTED:
            raise already_submitted(unit, period)
        gaps = (missing_parts(report.sections or {}, report.doc_number, report.signer, report.signer_title)
                if report is not None else [*TEXT_SECTIONS, "sign"])
        if any(key in TEXT_SECTIONS for key in gaps):
            raise InvalidInput("report", N_("The report cannot be submitted yet: sections {parts} are still "
                                            "empty."), parts=", ".join(f"{k.replace('dd', 'đ')})" for k in gaps
                                                                      if k in TEXT_SECTIONS))
        if gaps or report is None:
            raise InvalidInput("report", N_("The report cannot be submitted yet: give its number and signer."))
        return report

    async def _tell_the_office(self, repos: Repositories, unit: OrgUnit, period: Period, late: bool) -> None:
        admins = await repos.reminder_sources.admin_chats()
        payload = {"unit": unit.name, "unit_code": unit.code, "period": period.code, "late": late,
                   "by": actor_label(self.actor)}
        items = [Due("report_submitted", account, "unit", f"{unit.id}:{period.code}", self._today(),
                     {**payload, "locale": locale}) for account, locale in admins]
        calendar = await working_calendar(repos)
        await enqueue(repos, self.clock, items, calendar)

    # -- the personnel office's side -----------------------------------------------------------------
    async def board(self, period_code: str | None = None) -> Board:
        """Every reporting unit's state for the period: submitted (late or not), draft, not begun, and
        the reminders it was sent."""
        period = await self._reviewed("report.board", period_code)
        async with self.uow.read() as repos:
            everything, reports = await self._state(repos, period)
            return self._board(period, everything, reports, await repos.reports.reminded(period.code),
                               await profile_of(repos))

    async def _reviewed(self, action: str, period_code: str | None) -> Period:
        """The office's read of a period, audited first in a short transaction of its own (what follows
        reads the whole province and must not hold SQLite's write lock)."""
        async with sensitive(self.uow, self.actor, self.clock, Action.REVIEW_REPORTS) as repos:
            period = await self._parse(repos, period_code)
            await record(repos, self.clock, self.actor, action, "period", period.code)
        return period

    @staticmethod
    async def _state(repos: Repositories, period: Period) -> tuple[list[OrgUnit], dict[int, UnitReport]]:
        """Every unit, and the reports of the period by unit."""
        return (list(await repos.units.subtree("/")),
                {r.unit_id: r for r in await repos.reports.of_period(period.code)})

    def _board(self, period: Period, everything: list[OrgUnit], reports: dict[int, UnitReport],
               reminded: dict[int, tuple[int, dt.datetime | None, list[str]]], profile: Profile) -> Board:
        lines = []
        for unit in reporting_units(everything, profile):
            report = reports.get(unit.id)
            count, last, names = reminded.get(unit.id, (0, None, []))
            lines.append(BoardLine(unit.code, unit.name, report.status if report else NEW,
                                   report.submitted_at if report else None, report.late if report else None,
                                   count, last, tuple(names)))
        order = {SUBMITTED: 2, DRAFT: 1, NEW: 0}
        lines.sort(key=lambda line: (order[line.status], line.unit_name))  # the ones to chase first
        return Board(period, tuple(lines), self._today())

    async def provincial(self, period_code: str | None = None) -> ProvincialReport:
        """The province's report: the submissions, the units' sections merged, the compliance and the
        statistics summed up the tree."""
        period = await self._reviewed("report.provincial", period_code)
        async with self.uow.read() as repos:
            profile = await profile_of(repos)
            everything, reports = await self._state(repos, period)
            board = self._board(period, everything, reports, await repos.reports.reminded(period.code), profile)
            day = period.as_of(self._today())
            own = await compliance_by_unit(repos, period.start, day, self.clock)
            summaries = []
            for unit in reporting_units(everything, profile):
                report = reports.get(unit.id)
                submitted = report if report is not None and report.status == SUBMITTED else None
                compliance = (Compliance(**submitted.figures["compliance"]) if submitted and submitted.figures
                              else rolled_up(unit, everything, own))
                summaries.append(UnitSummary(unit.code, unit.name, report.status if report else NEW,
                                             report.late if report else None, compliance,
                                             dict(submitted.sections) if submitted else {}))
            statistics = await compute_table(repos, ("/",), day)
            office = await repos.units.get(self.actor.unit_id) if self.actor.unit_id else None
            roots = [u for u in everything if u.parent_id is None]
        total = Compliance()
        for summary in summaries:
            total = total.plus(summary.compliance)
        return ProvincialReport(period, roots[0].name if roots else "", office.name if office else "",
                                profile.legal_basis, board, total, tuple(summaries), statistics)
