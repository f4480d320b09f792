"""The to-do list (việc cần làm): what is open in a set of units on a day, computed from the data.

/reminders shows it to a clerk for the units they keep, and `hoso reminders preview` prints it for a unit or
the whole province: both call `todo_list`. The reminders of `service.py` are when the outbox brings some of
these up; this list is everything that is open, whether or not a reminder falls on the day.

Each item names what it opens (`opens`: a dossier, a report, the pending declarations or custody requests,
the sub-account requests) so that the chat can give it one button. Items are sorted by urgency: the
earliest date first (what is overdue comes before what is coming), then by the order of `KINDS`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.core.clock import Clock, format_date
from services.core.i18n import N_
from services.oversight.inspection import FIELD_LABELS, FINDINGS, Finding, inspect
from services.oversight.periods import Period, overdue_period, period_for
from services.oversight.reports import NEW, REPORT_STATES, SUBMITTED, reporting_units
from services.regime.dossier_fields import MANDATORY_FIELDS
from services.regime.retirement import decision_due, notice_due, retirement_date
from services.regime.salary import postponed_months, raise_due, step_period
from services.regime.setup import profile_of
from storage import Repositories
from storage.models import OrgUnit

# The kinds, in the order two items of the same date are shown.
KINDS = ("report", "registered", "declaration", "transfer", "new_dossier", "salary_raise", "retirement_notice",
         "retirement_decision", "finding", "subaccount", "report_board")
SALARY_HORIZON = dt.timedelta(days=60)  # raises due within this, and those overdue
RETIREMENT_HORIZON = dt.timedelta(days=60)  # a notice comes up this long before it is due
NEW_DOSSIER_HISTORY = dt.timedelta(days=365)  # an incomplete new dossier stays on the list this long past its limit
# What the inspection finds and the list already carries as its own item (the raise, the retirement).
COVERED_FINDINGS = frozenset({"salary_overdue", "past_retirement"})

# The line of each kind, for the chat and the command line alike.
TEXTS = {
    "report": N_("Half-yearly report {period} of {unit}: due before {due_before}; {state}"),
    "report_board": N_("Half-yearly report {period}: {count} of {total} units have not submitted (due before "
                       "{due_before})"),
    "registered": N_("Decision {number} for {name}: enter it by {due}"),
    "declaration": N_("Declaration #{event} of {name} waits for your decision (since {due})"),
    "transfer": N_("Custody request #{request} of {receiver} for {name} waits for your decision (since {due})"),
    "new_dossier": N_("New dossier of {name}: complete it by {due}; missing: {missing}"),
    "salary_raise": N_("Regular salary step raise of {name}: due on {due}"),
    "retirement_notice": N_("Retirement notice for {name}: due by {due} (retirement on {retires})"),
    "retirement_decision": N_("Retirement decision for {name}: due by {due} (retirement on {retires})"),
    "finding": N_("Inspection finding: {finding} — {name}"),
    "subaccount": N_("Sub-account request #{request} of {unit} ({username}) waits for the personnel office"),
}
OVERDUE = N_("OVERDUE")


@dataclass(frozen=True, slots=True)
class Todo:
    kind: str
    due: dt.date  # the date it is due (or, for what waits on someone, since when it waits)
    unit_code: str
    unit_name: str
    name: str = ""  # the person, when it is about a dossier
    dossier_id: int | None = None
    facts: dict[str, Any] = field(default_factory=dict)  # what the text needs: codes, numbers, ISO dates

    def overdue(self, day: dt.date) -> bool:
        return self.due < day and self.kind not in ("declaration", "transfer", "finding", "subaccount")

    @property
    def opens(self) -> tuple[str, str]:
        """What one tap opens: ("dossier", id), ("report", "UNIT:PERIOD"), ("board", period), or a list."""
        if self.kind == "report":
            return "report", f"{self.unit_code}:{self.facts['period']}"
        if self.kind == "report_board":
            return "board", str(self.facts["period"])
        if self.kind in ("declaration", "transfer", "subaccount"):
            return self.kind, ""
        return "dossier", str(self.dossier_id)

    def as_json(self) -> dict[str, Any]:
        kind, target = self.opens
        return {"kind": self.kind, "due": self.due.isoformat(), "unit": self.unit_code, "unit_name": self.unit_name,
                "name": self.name, "dossier_id": self.dossier_id, "opens": f"{kind}:{target}" if target else kind,
                **self.facts}


def describe(item: Todo, today: dt.date, translate: Callable[[str], str], quote: Callable[[str], str] = str,
             strong: Callable[[str], str] = str) -> str:
    """The item's line in the reader's language; `quote` escapes every value and `strong` sets the person's
    name (and the overdue mark) apart, for the chat's HTML."""
    f = item.facts
    values: dict[str, Any] = {
        "name": item.name, "unit": item.unit_name, "due": format_date(item.due), "period": f.get("period", ""),
        "number": f.get("doc_number", ""), "event": f.get("event", ""), "request": f.get("request", ""),
        "receiver": f.get("receiver", ""), "username": f.get("username", ""), "count": f.get("count", ""),
        "total": f.get("of", ""),
        "due_before": format_date(dt.date.fromisoformat(f["due_before"])) if "due_before" in f else "",
        "retires": format_date(dt.date.fromisoformat(f["retires"])) if "retires" in f else "",
        "state": translate(REPORT_STATES[f["state"]]) if "state" in f else "",
        "missing": "; ".join(translate(FIELD_LABELS.get(key, key)) for key in f.get("missing", ())),
        "finding": translate(FINDINGS[f["finding"]]) if "finding" in f else "",
    }
    params = {key: quote(str(value)) for key, value in values.items()}
    params["name"] = strong(params["name"])
    line = translate(TEXTS[item.kind]).format(**params)
    return line + " — " + strong(translate(OVERDUE)) if item.overdue(today) else line


def _within(unit: OrgUnit | None, prefixes: tuple[str, ...]) -> bool:
    return unit is not None and any(unit.path.startswith(prefix) for prefix in prefixes)


async def todo_list(repos: Repositories, prefixes: tuple[str, ...], day: dt.date, clock: Clock) -> list[Todo]:
    """Everything open on `day` in the units under `prefixes` (a clerk's custody scope), most urgent first."""
    if not prefixes:
        return []
    units = {u.id: u for u in await repos.units.subtree("/")}
    items: list[Todo] = []
    items += await _reports(repos, prefixes, day, units)
    items += await _registered(repos, prefixes)
    items += await _waiting(repos, prefixes, clock, units)
    items += await _new_dossiers(repos, prefixes, day, units)
    items += await _salary_raises(repos, prefixes, day, units)
    items += await _retirements(repos, prefixes, day, units)
    items += await _findings(repos, prefixes, day, clock)
    return sorted(items, key=lambda item: (item.due, KINDS.index(item.kind), item.name, item.dossier_id or 0))


async def office_list(repos: Repositories, day: dt.date, clock: Clock) -> list[Todo]:
    """The personnel office's own: the reports not submitted yet, the sub-account requests waiting."""
    profile = await profile_of(repos)
    units = reporting_units(list(await repos.units.subtree("/")), profile)
    items: list[Todo] = []
    for period in _open_periods(day, profile):
        submitted = {r.unit_id for r in await repos.reports.of_period(period.code) if r.status == SUBMITTED}
        late = [u for u in units if u.id not in submitted]
        if late:
            items.append(Todo("report_board", period.end, "", "", facts={
                "period": period.code, "count": len(late), "of": len(units), "due_before": period.due.isoformat()}))
    for request, unit in await repos.subaccounts.listing("pending"):
        items.append(Todo("subaccount", request.created_at.astimezone(clock.tz).date(), unit.code, unit.name,
                          facts={"request": request.id, "username": request.username}))
    return sorted(items, key=lambda item: (item.due, KINDS.index(item.kind)))


def _open_periods(day: dt.date, profile: Any) -> list[Period]:
    late = overdue_period(day, profile)
    return [p for p in (late, period_for(day, profile)) if p is not None]


async def _reports(repos: Repositories, prefixes: tuple[str, ...], day: dt.date,
                   units: dict[int, OrgUnit]) -> list[Todo]:
    """The report of the period (and the last one, while it is late) of each reporting unit, until submitted."""
    profile = await profile_of(repos)
    items: list[Todo] = []
    for unit in reporting_units(list(units.values()), profile):
        if not _within(unit, prefixes):
            continue
        for period in _open_periods(day, profile):
            report = await repos.reports.get(unit.id, period.code)
            state = report.status if report is not None else NEW
            if state == SUBMITTED:
                continue
            # Due *before* the date: its last day is the period's end.
            items.append(Todo("report", period.end, unit.code, unit.name,
                              facts={"period": period.code, "state": state, "due_before": period.due.isoformat()}))
    return items


async def _registered(repos: Repositories, prefixes: tuple[str, ...]) -> list[Todo]:
    return [Todo("registered", event.deadline, unit.code, unit.name, dossier.full_name, dossier.id,
                 {"doc_number": event.doc_number or "", "for_kind": (event.payload or {}).get("for_kind") or ""})
            for event, dossier, unit in await repos.changes.registered()
            if event.deadline is not None and _within(unit, prefixes)]


async def _waiting(repos: Repositories, prefixes: tuple[str, ...], clock: Clock,
                   units: dict[int, OrgUnit]) -> list[Todo]:
    """Declarations of the units' people and custody requests for their dossiers: waiting on these clerks."""
    items: list[Todo] = []
    for event, dossier in await repos.changes.pending(prefixes):
        unit = units[dossier.custodian_unit_id]
        items.append(Todo("declaration", event.recorded_at.astimezone(clock.tz).date(), unit.code, unit.name,
                          dossier.full_name, dossier.id, {"event": event.id}))
    for request, dossier, _requesting, holding in await repos.transfers.pending(prefixes):
        if _within(holding, prefixes):  # a request these units made waits on the other side
            items.append(Todo("transfer", request.requested_at.astimezone(clock.tz).date(), holding.code,
                              holding.name, dossier.full_name, dossier.id,
                              {"request": request.id, "receiver": _requesting.name}))
    return items


async def _new_dossiers(repos: Repositories, prefixes: tuple[str, ...], day: dt.date,
                        units: dict[int, OrgUnit]) -> list[Todo]:
    items: list[Todo] = []
    for event, dossier in await repos.reminder_sources.new_dossiers_open(day - NEW_DOSSIER_HISTORY):
        unit = units.get(dossier.custodian_unit_id)
        missing = [name for name in MANDATORY_FIELDS if getattr(dossier, name) in (None, "")]
        if missing and event.deadline is not None and _within(unit, prefixes):
            assert unit is not None
            items.append(Todo("new_dossier", event.deadline, unit.code, unit.name, dossier.full_name, dossier.id,
                              {"missing": missing}))
    return items


async def _salary_raises(repos: Repositories, prefixes: tuple[str, ...], day: dt.date,
                         units: dict[int, OrgUnit]) -> list[Todo]:
    """Regular raises due within 60 days, and those overdue; a registered raise decision is its own item."""
    profile = await profile_of(repos)
    ranks = {item.code: dict(item.extra) for item in await repos.references.listing("rank")}
    postponements = await repos.changes.postponements()
    awaited = {dossier_id for dossier_id, for_kind in await repos.changes.registered_kinds()
               if for_kind in ("salary_raise", "rank_raise")}
    items: list[Todo] = []
    for dossier in await repos.reminder_sources.active_with_salary(day + SALARY_HORIZON):
        unit = units.get(dossier.custodian_unit_id)
        if dossier.id in awaited or not _within(unit, prefixes):
            continue
        assert dossier.salary_since is not None and unit is not None
        months = step_period(ranks.get(dossier.rank_code or "", {}), profile.salary, dossier.over_ceiling_percent)
        months += postponed_months(dossier.salary_since, postponements.get(dossier.id, []))
        due = raise_due(dossier.salary_since, months)
        if due <= day + SALARY_HORIZON:
            items.append(Todo("salary_raise", due, unit.code, unit.name, dossier.full_name, dossier.id,
                              {"step": dossier.salary_step}))
    return items


async def _retirements(repos: Repositories, prefixes: tuple[str, ...], day: dt.date,
                       units: dict[int, OrgUnit]) -> list[Todo]:
    """The notice from 60 days before it is due; then the decision, until the person is retired."""
    horizon = day + RETIREMENT_HORIZON + dt.timedelta(days=200)
    items: list[Todo] = []
    for dossier in await repos.reminder_sources.active_born_before(dt.date(horizon.year - 55, horizon.month, 1)):
        unit = units.get(dossier.custodian_unit_id)
        if not _within(unit, prefixes):
            continue
        assert unit is not None
        retires = retirement_date(dossier.sex, dossier.birth_date)
        notice = notice_due(retires)
        if notice - RETIREMENT_HORIZON <= day <= notice:
            items.append(Todo("retirement_notice", notice, unit.code, unit.name, dossier.full_name, dossier.id,
                              {"retires": retires.isoformat()}))
        elif day > notice:
            items.append(Todo("retirement_decision", decision_due(retires), unit.code, unit.name, dossier.full_name,
                              dossier.id, {"retires": retires.isoformat()}))
    return items


async def _findings(repos: Repositories, prefixes: tuple[str, ...], day: dt.date, clock: Clock) -> list[Todo]:
    """What the personnel office's inspection finds in these units today, beyond the raises and retirements."""
    items: list[Todo] = []

    async def listed(findings: Sequence[Finding]) -> None:
        items.extend(Todo("finding", day, f.unit_code, f.unit_name, f.full_name, f.dossier_id, {"finding": f.kind})
                     for f in findings if f.kind not in COVERED_FINDINGS)

    await inspect(repos, prefixes, day, clock, keep=0, each=listed)
    return items
