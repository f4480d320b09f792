"""The personnel office's inspection of how each unit builds and keeps its dossiers (Hậu Giang Art. 13.4,
HCMC Art. 14.4): per unit, with subtotals up the tree and the worst first,

- completeness: the share of the dossiers of people in service with every mandatory 2C/HS02 field, and
  the fields most often missing;
- timeliness: changes entered within their deadline over the last 6 and 12 months, new dossiers
  completed in time, decisions registered and still not entered;
- consistency: the dossiers that break a rule, each named (see FINDINGS);
- activity: accounts never activated, unused for 90 days, locked; dossiers untouched for 24 months.

On a past date the timeliness windows end on that date; completeness, findings and activity are those
of the dossiers and accounts as they stand (the versions are not replayed for a whole province).

A unit's badness is its issues (incomplete dossiers, findings, late changes and new dossiers, overdue
decisions) per 100 dossiers of people in service; siblings are ranked by it. Every figure comes from a
set-based query (storage/inspection.py); only a handful of candidates are weighed one by one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from services.core.actor import Actor
from services.core.clock import Clock, add_months, format_date, local_today
from services.core.errors import InvalidInput, PermissionDenied
from services.core.i18n import N_
from services.core.policy import Action, allows, can, scope_of
from services.oversight.compliance import compliance_by_unit, local_bounds
from services.oversight.statistics import StatColumn, StatRow, StatTable, build_table, scope_units
from services.platform.audit import record
from services.platform.outbox import Due, enqueue
from services.platform.sessions import sensitive
from services.platform.units import unit_by_code
from services.regime.calendar import working_calendar
from services.regime.change_kinds import CUSTODY, KINDS, NEW_DOSSIER, Category, Paper
from services.regime.dossier_fields import MANDATORY_FIELDS, SECTIONS
from services.regime.profiles import Profile
from services.regime.retirement import retirement_date
from services.regime.salary import (
    postponed_months,
    raise_due,
    raise_months,
    salary_scale,
    step_period,
    table_coefficient,
)
from services.regime.setup import profile_of
from storage import Repositories, UnitOfWork
from storage.inspection import FlagRules
from storage.models import OrgUnit

IDLE_DAYS = 90
MESSAGE_FINDINGS = 40  # named in the message to the clerks; the rest are counted
UNTOUCHED_MONTHS = 24
FINDINGS = {
    "salary_overdue": N_("Salary step older than its raise period"),
    "salary_off_table": N_("Coefficient not the salary table's for the rank and step"),
    "past_retirement": N_("Past the retirement date, still in service"),
    "probation_overdue": N_("Probation longer than its period"),
    "duplicate_person": N_("Same name and birth date as another dossier"),
    "bad_personal_id": N_("Personal ID not of 12 digits"),
    "merged_custodian": N_("Kept by a unit that was merged away"),
    "no_source_document": N_("Change without its source document"),
}
# What makes each one a finding, as shown beside the dossier.
FACTS = {
    "salary_overdue": N_("step {step} since {since}; the raise was due on {due}"),
    "salary_off_table": N_("rank {rank}, step {step}: coefficient {coefficient}, the table gives {table}"),
    "past_retirement": N_("retirement date {date}"),
    "probation_overdue": N_("on probation since {since}; the period ended on {end}"),
    "duplicate_person": N_("born {born}, as the dossier(s) {others}"),
    "bad_personal_id": N_("personal ID {value}"),
    "merged_custodian": N_("kept by {unit}, merged into {into}"),
    "no_source_document": N_("change #{event} ({kind}) effective {date}"),
}
# The kinds of change that must cite a paper: the recruitment decision, the agency's and the status
# changes (a custody transfer cites the written request).
PAPER_KINDS = tuple([NEW_DOSSIER.name, "custody", *(k.name for k in KINDS.values() if k.paper is Paper.REQUIRED
                                                     and k.category in (Category.AGENCY, Category.STATUS))])
FIELD_LABELS = {name: label for fields in SECTIONS.values() for name, label in fields}
ISSUES = ("finding.", "changes12.late", "new.late", "new.overdue", "registered.overdue")

COMPLETENESS, TIMELINESS, CONSISTENCY, ACTIVITY = (N_("Completeness"), N_("Timeliness"), N_("Consistency"),
                                                   N_("Activity"))
COLUMNS: tuple[StatColumn, ...] = (
    StatColumn("complete", COMPLETENESS, N_("Complete")),
    *(StatColumn(f"missing.{name}", COMPLETENESS, N_("Missing: {field}"), ()) for name in MANDATORY_FIELDS),
    StatColumn("changes6.on_time", TIMELINESS, N_("Changes on time, 6 months")),
    StatColumn("changes6.late", TIMELINESS, N_("Changes late, 6 months")),
    StatColumn("changes12.on_time", TIMELINESS, N_("Changes on time, 12 months")),
    StatColumn("changes12.late", TIMELINESS, N_("Changes late, 12 months")),
    StatColumn("new.on_time", TIMELINESS, N_("New dossiers completed on time")),
    StatColumn("new.late", TIMELINESS, N_("Completed late")),
    StatColumn("new.overdue", TIMELINESS, N_("Incomplete, overdue")),
    StatColumn("registered", TIMELINESS, N_("Decisions not entered")),
    StatColumn("registered.overdue", TIMELINESS, N_("Of them overdue")),
    *(StatColumn(f"finding.{kind}", CONSISTENCY, title) for kind, title in FINDINGS.items()),
    StatColumn("accounts.pending", ACTIVITY, N_("Accounts never activated")),
    StatColumn("accounts.idle", ACTIVITY, N_("Accounts unused for 90 days")),
    StatColumn("accounts.locked", ACTIVITY, N_("Accounts locked")),
    StatColumn("untouched", ACTIVITY, N_("Dossiers untouched for 24 months")),
    StatColumn("issues", N_("Issues"), N_("Issues")),
)


def column_title(column: StatColumn, translate: Any) -> str:
    """A column's name in the reader's language; a missing field is named by its own label."""
    if column.key.startswith("missing."):
        return translate(column.label).format(field=translate(FIELD_LABELS[column.key.split(".", 1)[1]]))
    return column.title(translate)


def finding_text(finding: Finding, translate: Any) -> str:
    """The finding's facts in the reader's language (a change is named by its kind's title)."""
    params = finding.params
    if "kind" in params:
        kind = KINDS.get(params["kind"]) or {NEW_DOSSIER.name: NEW_DOSSIER, CUSTODY.name: CUSTODY}.get(params["kind"])
        params["kind"] = translate(kind.title) if kind else params["kind"]
    return translate(FACTS[finding.kind]).format(**params)


def badness(values: dict[str, int]) -> float:
    """Issues per 100 dossiers of people in service."""
    return 100 * values.get("issues", 0) / max(values.get("total", 0), 1)


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    dossier_id: int
    full_name: str
    personal_id: str
    unit_code: str
    unit_name: str
    unit_path: str
    facts: tuple[tuple[str, str], ...]  # what makes it a finding, as shown: dates dd/mm/yyyy, numbers, codes

    @property
    def params(self) -> dict[str, str]:
        return dict(self.facts)


@dataclass(frozen=True, slots=True)
class AccountIssue:
    username: str
    full_name: str
    unit_code: str
    state: str  # pending | idle | locked
    last_used: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Inspection:
    as_of: dt.date
    table: StatTable  # the figures per unit, siblings worst first; the findings counted by kind
    findings: tuple[Finding, ...]  # the first of them in order, as many as were kept (all by default)
    accounts: tuple[AccountIssue, ...]
    count: int = 0  # the findings, kept or not

    def counts(self, row: StatRow | None = None) -> dict[str, int]:
        """The findings of a row (the total) by kind."""
        row = row or self.table.total
        return {kind: self.table.value(row, f"finding.{kind}") for kind in FINDINGS}

    def value(self, row: StatRow, key: str) -> int:
        return self.table.value(row, key)

    def most_missing(self, row: StatRow, count: int = 3) -> list[tuple[str, int]]:
        missing = [(c.key.split(".", 1)[1], row.counts[i]) for i, c in enumerate(self.table.columns)
                   if c.key.startswith("missing.") and row.counts[i]]
        return sorted(missing, key=lambda item: -item[1])[:count]


def retirement_cutoff(sex: str, day: dt.date) -> dt.date:
    """The first day of the first birth month whose retirement date is not before `day`: anyone born
    earlier is past the retirement date on `day`."""
    month = (day.year - 70) * 12
    while True:
        first = dt.date(month // 12, month % 12 + 1, 1)
        if retirement_date(sex, first) >= day:
            return first
        month += 1


def probation_months(rank_code: str | None, extra: dict[str, Any], profile: Profile) -> int:
    """How long a probation lasts in a rank: the rank list's own figure, else by the salary table's group
    (A1 and above need a university degree; A0 is a viên chức's college level, or a công chức's cán sự)."""
    months = extra.get("probation_months")
    if isinstance(months, int) and not isinstance(months, bool) and months > 0:
        return months
    group = str(extra.get("group") or "").upper()
    rule = profile.probation
    if not group or group.startswith(("A1", "A2", "A3")):
        return rule.months_college_or_higher
    if group.startswith("A0") and (rank_code or "").upper().startswith("V."):
        return rule.months_college
    return rule.months_lower


async def rules_for(repos: Repositories, profile: Profile, day: dt.date) -> tuple[FlagRules, dict[str, dict]]:
    """The dates each dossier-level rule compares with on `day`, by rank; and the ranks' list. The dates
    are a day generous: whole months end on different days, so the exact test is the service's."""
    ranks = {item.code: dict(item.extra) for item in await repos.references.listing("rank")}
    by_period: dict[int, list[str]] = defaultdict(list)
    by_probation: dict[int, list[str]] = defaultdict(list)
    by_group: dict[str, list[str]] = defaultdict(list)
    for code, extra in ranks.items():
        by_period[raise_months(extra, profile.salary)].append(code)
        by_probation[probation_months(code, extra, profile)].append(code)
        if extra.get("group") in salary_scale():
            by_group[str(extra["group"])].append(code)
    after = day + dt.timedelta(days=1)

    def before(months: int) -> dt.date:
        return add_months(after, -months)

    rules = FlagRules(
        salary=[*((codes, before(m)) for m, codes in by_period.items()), (None, before(raise_months({}, profile.salary)))],
        over_ceiling_before=before(step_period({}, profile.salary, 1)),
        men_born_before=retirement_cutoff("M", day),
        women_born_before=retirement_cutoff("F", day),
        probation=[*((codes, before(m)) for m, codes in by_probation.items()),
                   (None, before(probation_months(None, {}, profile)))],
        salary_table=[(codes, salary_scale()[group]) for group, codes in by_group.items()],
    )
    return rules, ranks


Sink = Callable[[Sequence[Finding]], Awaitable[None]]


async def inspect(repos: Repositories, prefixes: tuple[str, ...], day: dt.date, clock: Clock, *,
                  keep: int | None = None, each: Sink | None = None) -> Inspection:
    """The whole inspection of the units under `prefixes` on `day`. The findings stream from the database
    in their order and are counted as they pass; the first `keep` of them (all when None) stay in the
    result, and `each` (a writer) is given every one, batch by batch, before the result is made."""
    profile = await profile_of(repos)
    roots, units = await scope_units(repos, prefixes)
    paths = [root.path for root in roots]
    by_id = {u.id: u for u in units}
    everything = {u.id: u for u in await repos.units.subtree("/")}
    figures: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    # Completeness and untouched dossiers, per custodian unit.
    untouched_since, _end = local_bounds(add_months(day, -UNTOUCHED_MONTHS), day, clock)
    for unit_id, values in (await repos.inspection.completeness(paths, MANDATORY_FIELDS, untouched_since)).items():
        figures[unit_id].update(values)

    # Timeliness over the last 6 and 12 months.
    since, until = local_bounds(add_months(day, -6), day, clock)
    for unit_id, (on_time, late) in (await repos.reports.change_timeliness(since, until, paths)).items():
        figures[unit_id]["changes6.on_time"] += on_time
        figures[unit_id]["changes6.late"] += late
    year = await compliance_by_unit(repos, add_months(day, -12), day, clock, paths)
    for unit_id, c in year.items():
        for key, value in (("changes12.on_time", c.changes_on_time), ("changes12.late", c.changes_late),
                           ("new.on_time", c.new_on_time), ("new.late", c.new_late), ("new.overdue", c.new_overdue),
                           ("registered", c.registered), ("registered.overdue", c.registered_overdue)):
            figures[unit_id][key] += value

    # The findings, each with its dossier: counted, the first kept, every one handed to `each`.
    kept: list[Finding] = []
    count = 0
    async for batch in _findings(repos, paths, day, profile, everything):
        for unit_id, finding in batch:
            figures[unit_id][f"finding.{finding.kind}"] += 1
        count += len(batch)
        if keep is None or len(kept) < keep:
            kept += [finding for _unit_id, finding in batch[:None if keep is None else keep - len(kept)]]
        if each is not None and batch:
            await each([finding for _unit_id, finding in batch])

    # The accounts.
    idle_before, _end = local_bounds(day - dt.timedelta(days=IDLE_DAYS), day, clock)
    accounts = []
    for row in await repos.inspection.accounts(paths, idle_before):
        figures[row["unit_id"]][f"accounts.{row['state']}"] += 1
        accounts.append(AccountIssue(row["username"], row["full_name"], everything[row["unit_id"]].code, row["state"],
                                     row["used"]))

    for values in figures.values():
        values["issues"] = (values.get("total", 0) - values.get("complete", 0)) + sum(
            count for key, count in values.items() if key.startswith(ISSUES) and key != "issues")
    counted = {unit_id: dict(values) for unit_id, values in figures.items() if unit_id in by_id}
    table = build_table(day, COLUMNS, roots, units, counted, worst=badness)
    return Inspection(day, table, tuple(kept), tuple(accounts), count)


async def _findings(repos: Repositories, paths: list[str], day: dt.date, profile: Profile,
                    units: dict[int, OrgUnit]) -> AsyncIterator[list[tuple[int, Finding]]]:
    """The findings in order, batch by batch, each with the id of the unit it is counted in: the
    database's candidates, less those a recorded reason or the exact date clears."""
    rules, ranks = await rules_for(repos, profile, day)
    postponements = await repos.changes.postponements()
    # A decision registered to enter later that sets a new step (a raise, a rank raise) is its reason.
    awaited = {dossier_id for dossier_id, for_kind in await repos.changes.registered_kinds()
               if for_kind in ("salary_raise", "rank_raise")}

    def finding(row: dict[str, Any]) -> Finding | None:
        kind, unit_id = row["kind"], row["unit_id"]
        facts: dict[str, str]
        if kind == "salary_overdue":
            if row["id"] in awaited:
                return None
            since = row["salary_since"]
            months = step_period(ranks.get(row["rank_code"] or "", {}), profile.salary, row["over_ceiling_percent"])
            due = raise_due(since, months + postponed_months(since, postponements.get(row["id"], [])))
            if due >= day:  # a decision putting it off is the recorded reason, for its months
                return None
            facts = {"step": str(row["salary_step"] or "—"), "since": format_date(since), "due": format_date(due)}
        elif kind == "salary_off_table":
            group = str(ranks.get(row["rank_code"] or "", {}).get("group") or "")
            table = table_coefficient(group, row["salary_step"])
            facts = {"rank": row["rank_code"], "step": str(row["salary_step"]),
                     "coefficient": f"{row['salary_coefficient']:.2f}",
                     "table": f"{table:.2f}" if table is not None else "—"}
        elif kind == "past_retirement":
            facts = {"date": format_date(retirement_date(row["sex"], row["birth_date"]))}
        elif kind == "probation_overdue":
            end = add_months(row["recruited_on"], probation_months(row["rank_code"],
                                                                   ranks.get(row["rank_code"] or "", {}), profile))
            if end >= day:
                return None
            facts = {"since": format_date(row["recruited_on"]), "end": format_date(end)}
        elif kind == "bad_personal_id":
            facts = {"value": row["personal_id"]}
        elif kind == "merged_custodian":
            into = units.get(row["merged_into_id"] or 0)
            facts = {"unit": units[unit_id].name, "into": into.name if into else "—"}
        elif kind == "duplicate_person":
            facts = {"others": row["others"], "born": format_date(row["birth_date"])}
        else:  # no_source_document
            facts = {"event": str(row["event_id"]), "kind": row["change_kind"], "date": format_date(row["effective_on"])}
        unit = units[unit_id]
        return Finding(kind, int(row["id"]), row["full_name"], row["personal_id"], unit.code, unit.name, unit.path,
                       tuple(facts.items()))

    async for rows in repos.inspection.candidates(paths, rules, PAPER_KINDS, list(FINDINGS)):
        found = ((row["unit_id"], finding(row)) for row in rows)
        yield [(unit_id, f) for unit_id, f in found if f is not None]


class InspectionService:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock

    async def run(self, unit_code: str | None = None, as_of: dt.date | None = None, *, keep: int | None = None,
                  each: Sink | None = None) -> Inspection:
        """The inspection of the province (or of one unit's subtree) on a date (today), with the first
        `keep` findings (all when None); `each` is given every finding as they stream (see `inspect`)."""
        day = as_of or local_today(self.clock)
        if day > local_today(self.clock):
            raise InvalidInput("as_of", N_("The date {value} is in the future."), value=format_date(day))
        # Audited first, in a short transaction: the inspection reads the whole scope and must not hold
        # SQLite's write lock meanwhile.
        async with sensitive(self.uow, self.actor, self.clock, Action.INSPECT) as repos:
            prefixes = await self._prefixes(repos, unit_code)
            await record(repos, self.clock, self.actor, "inspection.run", "unit", unit_code or None,
                         as_of=day.isoformat())
        async with self.uow.read() as repos:
            return await inspect(repos, prefixes, day, self.clock, keep=keep, each=each)

    async def _prefixes(self, repos: Repositories, unit_code: str | None) -> tuple[str, ...]:
        if unit_code is None:
            return scope_of(self.actor, Action.INSPECT)
        unit = await unit_by_code(repos, unit_code, active=False)
        if not can(self.actor, Action.INSPECT, unit.path):
            raise PermissionDenied()
        return (unit.path,)

    async def remind(self, unit_code: str, as_of: dt.date | None = None) -> int:
        """Send the unit's clerks its findings, through the outbox; the number of clerks it goes to."""
        if not allows(self.actor, Action.MANAGE_UNITS):  # the personnel office tells the units
            raise PermissionDenied()
        inspection = await self.run(unit_code, as_of, keep=MESSAGE_FINDINGS)
        head = inspection.table.total
        async with sensitive(self.uow, self.actor, self.clock, Action.MANAGE_UNITS) as repos:
            unit = await unit_by_code(repos, unit_code, active=False)
            clerks = await repos.changes.clerks_reached(unit.path)
            people = [{"name": f.full_name, "kind": f.kind, "personal_id": f.personal_id} for f in inspection.findings]
            counts = {kind: count for kind, count in inspection.counts().items() if count}
            payload = {"unit": unit.name, "unit_path": unit.path, "as_of": inspection.as_of.isoformat(),
                       "total": head.people, "complete": inspection.value(head, "complete"),
                       "counts": counts, "people": people, "count": inspection.count}
            items = [Due("inspection_findings", account, "unit", str(unit.id), local_today(self.clock),
                         {**payload, "locale": locale}) for account, locale in clerks]
            calendar = await working_calendar(repos)
            added = await enqueue(repos, self.clock, items, calendar)
            await record(repos, self.clock, self.actor, "inspection.remind", "unit", unit.code, clerks=len(clerks),
                         findings=inspection.count)
        return added
