"""What each kind of change does to a dossier, from its checked answers: one planner per kind (or per
family of kinds) in the table `PLANNERS`. The same plan serves the summary shown before confirming
(`preview`) and the write (`log`, the approval of a declaration).

Adding a kind of change:
1. services/regime/change_kinds.py: one `ChangeKind` in `KINDS`: its name, title, category and own
   questions (`Prompt`s with their `Ask`). `prompts_of` adds the paper and the effective date.
2. Here: one planner `async def _my_kind(draft: Draft) -> None` that calls `draft.change(column, value)`
   for each dossier column and `draft.add_record(record_kind, data)` for each repeating record (the
   paper is added to the record's data), registered in `PLANNERS` under the kind's name. A rule about the
   dossier as it stands (e.g. a final status) goes in `refuse_inapplicable`, so that it is said before
   the first question.
3. The rest is shared: handlers/changes.py builds the form from the kind's prompts; checks follow each
   prompt's `Ask`; logging, declaring, deadlines, versions and the audit are the same for every kind.
   What may still be needed (a status kind, a label, a new record kind, the catalogs) is listed in
   ARCHITECTURE.md, "How to add a kind of change". tests/test_changes.py fails if a kind has no planner.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.changes.checks import answer_date, optional_date, unit_for
from services.core.actor import Actor
from services.core.clock import format_date
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.regime.change_kinds import NEW_DOSSIER, PAPER_KEYS, Ask, Category, ChangeKind
from services.regime.dossier_fields import MARITAL
from services.regime.profiles import SalaryRule
from services.regime.salary import (
    COEFFICIENT_TOLERANCE,
    SalaryStep,
    next_step,
    postponed_months,
    raise_due,
    same_coefficient,
    step_on_new_rank,
    step_period,
    steps_of,
    table_coefficient,
)
from services.regime.setup import profile_of
from storage import Repositories
from storage.models import Dossier

# A final status cannot change again; each refusal says which it is.
FINAL_STATUSES = {
    "retired": N_("The person has retired; the status cannot change again."),
    "resigned": N_("The person has resigned; the status cannot change again."),
    "deceased": N_("The person is deceased; the status cannot change again."),
    "transferred_out": N_("The person was transferred out; the status cannot change again."),
}
STATUS_AFTER = {"probation_passed": "active", "retirement": "retired", "resignation": "resigned", "death": "deceased"}
# The forms of discipline as the dossier (and the printed 2C form) names them.
DISCIPLINE_TEXTS = {
    "khien_trach": "Khiển trách", "canh_cao": "Cảnh cáo", "ha_bac_luong": "Hạ bậc lương", "giang_chuc": "Giáng chức",
    "cach_chuc": "Cách chức", "buoc_thoi_viec": "Buộc thôi việc",
}
# A supplemented field is labelled by its question (a message id; the front end shortens it).
SUPPLEMENT_LABELS = {prompt.key: prompt.question for prompt in NEW_DOSSIER.prompts if prompt.group is not None}
LABELS = {
    "post": N_("Current post"), "position_allowance": N_("Position allowance"), "working_unit": N_("Working unit"),
    "salary_step": N_("Salary step"), "salary_coefficient": N_("Coefficient"),
    "over_ceiling_percent": N_("Over-ceiling allowance (%)"), "rank": N_("Rank or title"),
    "employment_status": N_("Employment status"), "permanent_address": N_("Permanent address"),
    "current_address": N_("Current address"),
}
# Coefficients: SQLite hands back 3.00 as the integer 3, which must still read "3.00".
DECIMAL_COLUMNS = frozenset({"salary_coefficient", "position_allowance"})


@dataclass(frozen=True, slots=True)
class Line:
    """One changed field for the summary: its label (message id), the old and the new value as text, and
    the salary table's value beside a step or coefficient a decision sets."""

    label: str
    old: str
    new: str
    table: str | None = None


@dataclass(frozen=True, slots=True)
class Caution:
    """Something the clerk should check against the paper before confirming: a message id and its values,
    already written as text. It does not stop the change: the signed decision prevails."""

    message: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Plan:
    changes: dict[str, Any] = field(default_factory=dict)  # dossier column → new value
    records: list[dict[str, Any]] = field(default_factory=list)  # kind, date_from, date_to, data
    lines: list[Line] = field(default_factory=list)
    cautions: list[Caution] = field(default_factory=list)


def shown(value: Any, decimal: bool = False) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, dt.date):
        return format_date(value)
    if isinstance(value, float) or (decimal and isinstance(value, int)):
        return f"{value:.2f}"
    return str(value)


@dataclass(slots=True)
class Draft:
    """What a planner reads (the dossier as it stands, the checked answers) and fills (`plan`)."""

    repos: Repositories
    actor: Actor
    kind: ChangeKind
    dossier: Dossier
    answers: dict[str, str]
    effective: dt.date
    plan: Plan = field(default_factory=Plan)

    def change(self, column: str, new: Any, label: str | None = None, table: str | None = None,
               *, line: bool = True) -> None:
        """A dossier column takes a new value; a summary line says so (nothing when it is the same), with
        the salary table's value beside it when given. `line=False` when the planner writes the line itself."""
        old = getattr(self.dossier, column)
        if old != new:
            self.plan.changes[column] = new
            if not line:
                return
            decimal = column in DECIMAL_COLUMNS
            self.plan.lines.append(Line(label or LABELS.get(column, column), shown(old, decimal), shown(new, decimal),
                                        table))

    def warn(self, message: str, **params: str) -> None:
        self.plan.cautions.append(Caution(message, params))

    def add_record(self, record_kind: str, data: dict[str, Any], date_from: dt.date | None = None,
                   date_to: dt.date | None = None, *, undated: bool = False) -> None:
        """A repeating record, from the effective date unless told otherwise, citing the paper."""
        reference = {k: self.answers.get(k) or None for k in PAPER_KEYS}
        start = None if undated else date_from or self.effective
        self.plan.records.append({"kind": record_kind, "date_from": start, "date_to": date_to,
                                  "data": {k: v for k, v in {**data, **reference}.items() if v not in (None, "")}})


Planner = Callable[[Draft], Awaitable[None]]


def refuse_inapplicable(kind: ChangeKind, dossier: Dossier) -> None:
    """The rules a kind of change has about the dossier as it stands, whatever the answers."""
    if kind.category is Category.STATUS:
        if dossier.employment_status in FINAL_STATUSES:
            raise InvalidInput("kind", FINAL_STATUSES[dossier.employment_status])
        if kind.name == "probation_passed" and dossier.employment_status != "probation":
            raise InvalidInput("kind", N_("The person is not on probation."))
    if kind.name == "salary_raise" and dossier.salary_step is None:
        raise InvalidInput("kind", N_("The dossier has no salary step yet; enter it first."))


async def plan_change(repos: Repositories, actor: Actor, kind: ChangeKind, dossier: Dossier,
                      answers: dict[str, str]) -> Plan:
    """What the change does to the dossier, from the checked answers."""
    draft = Draft(repos, actor, kind, dossier, answers, answer_date(answers["effective_on"]))
    refuse_inapplicable(kind, dossier)
    planner = PLANNERS.get(kind.name)
    if planner is not None:  # none for /new and custody, which are not changes of a dossier's content
        await planner(draft)
    # A registration changes nothing yet: it waits for the decision to be entered.
    if not draft.plan.lines and not draft.plan.records and kind.name != "registration":
        raise InvalidInput("kind", N_("This changes nothing in the dossier."))
    return draft.plan


# -- the planners, by kind ------------------------------------------------------------------------------
async def _status(d: Draft) -> None:
    d.change("employment_status", STATUS_AFTER[d.kind.name])
    if d.kind.name == "retirement":
        d.add_record("work_history", {"text": "Nghỉ hưu"})


async def _training(d: Draft) -> None:
    a = d.answers
    d.add_record("training", {"major": a["course"], "school": a["institution"], "degree": a.get("result")},
                 answer_date(a["date_from"]), optional_date(a.get("date_to")))
    if a.get("date_to") and answer_date(a["date_to"]) < answer_date(a["date_from"]):
        raise InvalidInput("date_to", N_("The course cannot end before it starts."))


async def _appointment(d: Draft) -> None:
    d.change("post", d.answers["post"])
    d.change("post_since", d.effective, N_("In the post since"))
    if d.answers.get("position_allowance"):
        d.change("position_allowance", float(d.answers["position_allowance"]))
    d.add_record("work_history", {"text": d.answers["post"]})


async def _working_unit(d: Draft) -> None:
    """A transfer to any unit, or a rotation within the clerk's scope."""
    unit = await unit_for(d.repos, d.actor, d.answers["working_unit"], "working_unit",
                          in_scope=d.kind.name == "rotation")
    if unit.id == d.dossier.working_unit_id:
        raise InvalidInput("working_unit", N_("The person already works in {code}."), code=unit.code)
    current = await d.repos.units.get(d.dossier.working_unit_id)
    d.plan.changes["working_unit_id"] = unit.id
    d.plan.lines.append(Line(LABELS["working_unit"], current.name if current else "—", unit.name))
    post = d.answers.get("post")
    if post:
        d.change("post", post)
        d.change("post_since", d.effective, N_("In the post since"))
    d.add_record("work_history", {"text": f"{unit.name}" + (f" — {post}" if post else "")})


# What a raise is checked against in the salary table: each a warning in the summary, the paper prevails.
OFF_TABLE = N_("The dossier's step {step} has the coefficient {coefficient}, but the table gives {table} for "
               "this rank and step: check the dossier against the last salary decision.")
STEP_NOT_ON_TABLE = N_("The dossier's step {step} is not on this rank's table (1 to {last}).")
NOT_THE_NEXT_STEP = N_("The decision gives step {given}; the table's next step is {step}.")
NOT_THE_TABLES = N_("The decision gives the coefficient {given}; the table gives {table} for step {step}.")
LOWER = N_("The new coefficient {new} is lower than the current {old}.")
TOO_SOON = N_("Only {months} months since the current step ({since}); this rank's period is {period} months, "
              "so the raise falls due on {due}.")


async def _salary_raise(d: Draft) -> None:
    """The table's next step, or what the decision says (its step, its coefficient) with the table's value
    beside it; the summary warns when the dossier is off the table, the salary goes down or the period since
    the current step is shorter than the rank's."""
    dossier, answers = d.dossier, d.answers
    extra = await rank_extra(d.repos, dossier.rank_code)
    group = str(extra.get("group") or "") if extra is not None else None
    rule = (await profile_of(d.repos)).salary
    assert dossier.salary_step is not None  # a dossier without a step is refused before any question
    old = dossier.salary_coefficient or 0.0
    steps = steps_of(group)
    table_now = table_coefficient(group, dossier.salary_step)
    if table_now is None:
        d.warn(STEP_NOT_ON_TABLE, step=str(dossier.salary_step), last=str(len(steps)))
        table_next = SalaryStep(min(dossier.salary_step + 1, len(steps)), steps[min(dossier.salary_step, len(steps)) - 1])
    else:
        if dossier.salary_coefficient is not None and not same_coefficient(table_now, old):
            d.warn(OFF_TABLE, step=str(dossier.salary_step), coefficient=shown(old, True), table=shown(table_now, True))
        table_next = next_step(group, SalaryStep(dossier.salary_step, old, dossier.over_ceiling_percent), rule)
    step = int(answers["salary_step"]) if answers.get("salary_step") else table_next.step
    table = table_next.coefficient if step == table_next.step else coefficient_on(steps, step)
    coefficient = float(answers["salary_coefficient"]) if answers.get("salary_coefficient") else table
    if step != table_next.step:
        d.warn(NOT_THE_NEXT_STEP, given=str(step), step=str(table_next.step))
    if not same_coefficient(coefficient, table):
        d.warn(NOT_THE_TABLES, given=shown(coefficient, True), table=shown(table, True), step=str(step))
    if coefficient < old - COEFFICIENT_TOLERANCE:
        d.warn(LOWER, new=shown(coefficient, True), old=shown(old, True))
    over_ceiling = table_next.over_ceiling_percent if step == table_next.step else None
    _too_soon(d, extra or {}, rule, dossier.over_ceiling_percent,
              await d.repos.changes.postponements())
    d.change("salary_step", step, table=str(table_next.step))
    d.change("salary_coefficient", coefficient, table=shown(table, True))
    if over_ceiling is not None:
        d.change("over_ceiling_percent", over_ceiling)
    d.change("salary_since", d.effective, N_("Salary since"))
    d.add_record("salary_history", {"rank_code": dossier.rank_code, "step": step, "coefficient": f"{coefficient:.2f}",
                                    "over_ceiling_percent": over_ceiling})


def _too_soon(d: Draft, extra: dict[str, Any], rule: SalaryRule, over_ceiling: int | None,
              postponements: dict[int, list[tuple[dt.date, int]]]) -> None:
    """A regular raise comes a whole period after the current step (longer by the decisions that put it off)."""
    since = d.dossier.salary_since
    if since is None:
        return
    period = step_period(extra, rule, over_ceiling) + postponed_months(since, postponements.get(d.dossier.id, []))
    due = raise_due(since, period)
    if d.effective < due:
        months = (d.effective.year - since.year) * 12 + d.effective.month - since.month - (d.effective.day < since.day)
        d.warn(TOO_SOON, months=str(max(months, 0)), since=format_date(since), period=str(period),
               due=format_date(due))


async def _rank_raise(d: Draft) -> None:
    items = {i.code: i for i in await d.repos.references.listing("rank")}
    rank = items[d.answers["rank_code"]]
    if rank.code == d.dossier.rank_code:
        raise InvalidInput("rank_code", N_("The person already holds the rank {code}."), code=rank.code)
    # The new step is the first not below the whole current salary, over-ceiling allowance included.
    current = (d.dossier.salary_coefficient or 0.0) * (1 + (d.dossier.over_ceiling_percent or 0) / 100)
    new = step_on_new_rank(rank.extra.get("group"), current or None)
    # One line names both ranks, code and name, as the paper does: a code alone means nothing to the reader.
    old_name = items[d.dossier.rank_code].name if d.dossier.rank_code in items else d.dossier.rank_name
    d.plan.lines.append(Line(N_("Rank"), _rank_text(d.dossier.rank_code, old_name), _rank_text(rank.code, rank.name)))
    d.change("rank_code", rank.code, line=False)
    d.change("rank_name", rank.name, line=False)
    d.change("rank_since", d.effective, N_("In the rank since"))
    d.change("salary_step", new.step)
    d.change("salary_coefficient", new.coefficient)
    d.change("over_ceiling_percent", None)
    d.change("salary_since", d.effective, N_("Salary since"))
    d.add_record("salary_history", {"rank_code": rank.code, "step": new.step, "coefficient": f"{new.coefficient:.2f}"})


def _rank_text(code: str | None, name: str | None) -> str:
    return " ".join(part for part in (code, name) if part) or "—"


async def _commendation(d: Draft) -> None:
    d.add_record("commendation", {"text": d.answers["form"], "reason": d.answers.get("reason")})


async def _discipline(d: Draft) -> None:
    form = d.answers["form"]
    d.add_record("discipline", {"text": DISCIPLINE_TEXTS[form], "form": form, "reason": d.answers["reason"]})


async def _raise_postponed(d: Draft) -> None:
    months, reason = d.answers["months"], d.answers["reason"]
    d.add_record("salary_history", {"text": f"Kéo dài thời gian nâng bậc lương {months} tháng: {reason}",
                                    "postponed_months": int(months), "reason": reason})


async def _asset_declaration(d: Draft) -> None:
    d.add_record("declaration", {"type": "assets", "year": d.answers["year"], "text": d.answers["summary"]})


async def _income_tax(d: Draft) -> None:
    d.add_record("declaration", {"type": "tax", "year": d.answers["year"], "tax_code": d.answers.get("tax_code"),
                                 "text": d.answers["summary"]})


async def _marriage(d: Draft) -> None:
    spouse = d.answers["spouse_name"]
    d.add_record("declaration", {"type": MARITAL, "status": "married", "text": f"Kết hôn với {spouse}"})
    d.add_record("family", {"side": "spouse", "relation": "Vợ/Chồng", "name": spouse,
                            "born": d.answers["spouse_birth_year"], "details": d.answers.get("spouse_occupation")},
                 undated=True)


async def _divorce(d: Draft) -> None:
    spouse = d.answers["spouse_name"]
    d.add_record("declaration", {"type": MARITAL, "status": "divorced", "text": f"Ly hôn với {spouse}"})


async def _address(d: Draft) -> None:
    if d.answers.get("permanent_address"):
        d.change("permanent_address", d.answers["permanent_address"])
    d.change("current_address", d.answers["current_address"])


async def _supplement(d: Draft) -> None:
    """The optional groups of /new, filled later: only what is still empty."""
    for column, value in (await _group_values(d.repos, d.dossier.rank_code, d.answers)).items():
        if getattr(d.dossier, column) not in (None, "") and getattr(d.dossier, column) != value:
            raise InvalidInput(column, N_("This field is already filled; a change to it needs its own "
                                          "kind of change and decision."))
        d.change(column, value, SUPPLEMENT_LABELS.get(column) or LABELS.get(column, column))


async def _registration(d: Draft) -> None:
    """A decision received, to be entered later: nothing changes until then."""


PLANNERS: dict[str, Planner] = {
    # made by the agency
    "training": _training,
    "appointment": _appointment,
    "transfer": _working_unit,
    "rotation": _working_unit,
    "salary_raise": _salary_raise,
    "rank_raise": _rank_raise,
    "commendation": _commendation,
    "discipline": _discipline,
    "raise_postponed": _raise_postponed,
    "registration": _registration,
    "supplement": _supplement,
    # the person's own
    "asset_declaration": _asset_declaration,
    "income_tax": _income_tax,
    "marriage": _marriage,
    "divorce": _divorce,
    "address": _address,
    # employment status: probation passed, retirement, resignation, death
    **{name: _status for name in STATUS_AFTER},
}


# -- salary helpers -------------------------------------------------------------------------------------
def coefficient_on(scale: Sequence[float], step: int) -> float:
    """The coefficient of `step` on a rank's table, refused when the table has no such step."""
    if step > len(scale):
        raise InvalidInput("salary_step", N_("Step {step} is not on this rank's table (1 to {last})."),
                           step=step, last=len(scale))
    return scale[step - 1]


async def rank_extra(repos: Repositories, rank_code: str | None) -> dict[str, Any] | None:
    """The rank's entry in the reference list (its group, its own raise period), None when unlisted."""
    for item in await repos.references.listing("rank"):
        if item.code == rank_code:
            return dict(item.extra)
    return None


async def rank_group(repos: Repositories, rank_code: str | None) -> str | None:
    extra = await rank_extra(repos, rank_code)
    return None if extra is None else str(extra.get("group") or "")


async def _group_values(repos: Repositories, rank_code: str | None, answers: dict[str, str]) -> dict[str, Any]:
    """The optional groups' answers as column values: dates typed, the education level by its name
    (as import and the demo keep it), a salary step with its coefficient from the rank's table."""
    values: dict[str, Any] = {}
    for prompt in NEW_DOSSIER.prompts:
        text = answers.get(prompt.key)
        if prompt.group is None or not text:
            continue
        if prompt.ask in (Ask.DATE, Ask.PAST_DATE):
            values[prompt.key] = answer_date(text)
        elif prompt.ask is Ask.EDUCATION:
            levels = {i.code: i.name for i in await repos.references.listing("education")}
            values[prompt.key] = levels.get(text, text)
        elif prompt.key == "salary_step":
            scale = steps_of(await rank_group(repos, rank_code))
            step = int(text)
            values.update(salary_step=step, salary_coefficient=coefficient_on(scale, step))
        else:
            values[prompt.key] = text
    return values
