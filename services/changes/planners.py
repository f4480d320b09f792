"""Logging changes to dossiers against their paper: new dossiers, every kind of change, the person's own
declarations, and the dossier as it stood on any date.

A change is applied in one transaction: the dossier, its repeating records, a version, the change event
with its deadline verdict, the attachments, and the audit. The answers arrive as text, exactly as typed
and checked one by one (`check`); `plan` turns them into what changes, the same way for the summary
shown before confirming and for the write.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from services.core.actor import Actor, Role
from services.platform.attachments import FileStore, Upload
from services.platform.audit import actor_label, record
from services.regime.change_kinds import (
    CUSTODY,
    KINDS,
    NEW_DOSSIER,
    PAPER_KEYS,
    Ask,
    Category,
    ChangeKind,
    Prompt,
    prompts_of,
)
from services.core.clock import Clock, format_date, local_today, parse_date
from services.regime.deadlines import WorkingCalendar, deadline_for, on_time
from services.regime.dossier_fields import MARITAL
from services.dossiers.service import FIELDS, readable
from services.core.errors import InvalidInput, NotFound, PermissionDenied
from services.core.i18n import N_
from services.dossiers.masking import mask_for
from services.core.policy import Action, can, scope_of
from services.regime.salary import SalaryStep, next_step, step_on_new_rank, steps_of
from services.platform.sessions import sensitive
from services.regime.setup import profile_of
from services.core.text import fold
from services.platform.units import ACTIVE, normalise_code
from services.core.validation import birth_date, past_date, personal_id
from storage import Repositories, UnitOfWork
from storage.models import Attachment, ChangeEvent, Dossier, DossierVersion, ExtraDayOff, OrgUnit

DOC_NUMBER = re.compile(r"^\d{1,6}[a-z]?(?:/\d{4})?/[^\W_][\w.\-/]*$", re.UNICODE)
# A final status cannot change again; each refusal says which it is.
FINAL_STATUSES = {
    "retired": N_("The person has retired; the status cannot change again."),
    "resigned": N_("The person has resigned; the status cannot change again."),
    "deceased": N_("The person is deceased; the status cannot change again."),
    "transferred_out": N_("The person was transferred out; the status cannot change again."),
}
STATUS_AFTER = {"probation_passed": "active", "retirement": "retired", "resignation": "resigned", "death": "deceased"}
COMMON_ETHNICITIES = ("01", "02", "03", "04", "05", "06", "07", "17")  # Kinh, Tày, Thái, Hoa, Khơ-me, Mường, Nùng, Chăm
MAX_TEXT = 255
FUTURE_EFFECT_DAYS = 366  # a decision may take effect later, not years later

APPLIED, PENDING, REJECTED = "applied", "pending", "rejected"
REGISTERED, ENTERED = "registered", "entered"  # a decision to enter later, then entered
# The forms of discipline as the dossier (and the printed 2C form) names them.
DISCIPLINE_TEXTS = {
    "khien_trach": "Khiển trách", "canh_cao": "Cảnh cáo", "ha_bac_luong": "Hạ bậc lương", "giang_chuc": "Giáng chức",
    "cach_chuc": "Cách chức", "buoc_thoi_viec": "Buộc thôi việc",
}


# -- plain results --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Target:
    id: int
    full_name: str
    personal_id: str
    custodian_unit: str
    employment_status: str


@dataclass(frozen=True, slots=True)
class Line:
    """One changed field for the summary: its label (message id), the old and the new value as text."""

    label: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class Preview:
    lines: tuple[Line, ...]
    deadline: dt.date | None
    on_time: bool | None


@dataclass(frozen=True, slots=True)
class Recipient:
    telegram_user_id: int
    locale: str | None


@dataclass(frozen=True, slots=True)
class Logged:
    event_id: int
    dossier_id: int
    full_name: str
    kind: str
    status: str
    deadline: dt.date | None
    on_time: bool | None
    lines: tuple[Line, ...]
    notify: tuple[Recipient, ...] = ()


@dataclass(frozen=True, slots=True)
class PendingItem:
    event_id: int
    dossier_id: int
    full_name: str
    kind: str
    effective_on: dt.date
    recorded_at: dt.datetime
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AttachmentView:
    id: int
    file_name: str
    size: int


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    event_id: int
    kind: str
    status: str
    payload: dict[str, Any]
    doc_number: str | None
    doc_date: dt.date | None
    doc_issuer: str | None
    effective_on: dt.date
    deadline: dt.date | None
    on_time: bool | None
    recorded_by: str
    recorded_at: dt.datetime
    decision_note: str | None
    attachments: tuple[AttachmentView, ...] = ()


@dataclass(frozen=True, slots=True)
class History:
    dossier_id: int
    full_name: str
    entries: tuple[HistoryEntry, ...]
    withheld: frozenset[str] = frozenset()  # the private subjects left out for the role (see DossierFull)


@dataclass(frozen=True, slots=True)
class AsOf:
    dossier_id: int
    full_name: str
    day: dt.date
    values: dict[str, Any] | None  # None: nothing was recorded of the dossier by that day
    withheld: frozenset[str] = frozenset()  # the private subjects left out for the role (see DossierFull)


@dataclass(slots=True)
class Plan:
    changes: dict[str, Any] = field(default_factory=dict)  # dossier column → new value
    records: list[dict[str, Any]] = field(default_factory=list)  # kind, date_from, date_to, data
    lines: list[Line] = field(default_factory=list)


# -- pure helpers ---------------------------------------------------------------------------------------
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


def shown(value: Any, decimal: bool = False) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, dt.date):
        return format_date(value)
    if isinstance(value, float) or (decimal and isinstance(value, int)):
        return f"{value:.2f}"
    return str(value)


def json_ready(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value.isoformat() if isinstance(value, dt.date) else value for name, value in values.items()}


def snapshot(dossier: Dossier) -> dict[str, Any]:
    """The dossier's own fields as JSON-ready values."""
    return json_ready({name: getattr(dossier, name) for name in (*FIELDS, "custodian_unit_id", "working_unit_id")})


def _date(text: str) -> dt.date:
    return parse_date(text)


def _optional_date(text: str | None) -> dt.date | None:
    return parse_date(text) if text else None


def _doc_number(value: str) -> str:
    text = value.strip().replace(" ", "")
    if not DOC_NUMBER.match(text) or len(text) > 64:
        raise InvalidInput("doc_number", N_("Not a valid document number: {value} (e.g. 123/QĐ-UBND)"), value=value)
    return text


def _decimal(value: str, key: str) -> str:
    try:
        number = Decimal(value.strip().replace(",", "."))
    except InvalidOperation:
        raise InvalidInput(key, N_("Not a number: {value}."), value=value) from None
    if not Decimal(0) <= number <= Decimal("99.99"):
        raise InvalidInput(key, N_("{value} is out of range ({low} to {high})."), value=value, low=0, high="99.99")
    return f"{number:.2f}"


def _integer(value: str, key: str, low: int, high: int) -> str:
    text = value.strip()
    if not text.isdigit():
        raise InvalidInput(key, N_("Not a whole number: {value}."), value=value)
    if not low <= int(text) <= high:
        raise InvalidInput(key, N_("{value} is out of range ({low} to {high})."), value=value, low=low, high=high)
    return str(int(text))


def refuse_inapplicable(kind: ChangeKind, dossier: Dossier) -> None:
    """The rules a kind of change has about the dossier as it stands, whatever the answers."""
    if kind.category is Category.STATUS:
        if dossier.employment_status in FINAL_STATUSES:
            raise InvalidInput("kind", FINAL_STATUSES[dossier.employment_status])
        if kind.name == "probation_passed" and dossier.employment_status != "probation":
            raise InvalidInput("kind", N_("The person is not on probation."))
    if kind.name == "salary_raise" and dossier.salary_step is None:
        raise InvalidInput("kind", N_("The dossier has no salary step yet; enter it first."))


class ChangeService:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock, files: FileStore | None = None) -> None:
        self.uow, self.actor, self.clock, self.files = uow, actor, clock, files

    # -- the questions -----------------------------------------------------------------------------------
    @staticmethod
    def kind(name: str) -> ChangeKind:
        if name == NEW_DOSSIER.name:
            return NEW_DOSSIER
        if name == CUSTODY.name:
            return CUSTODY
        if name not in KINDS:
            raise InvalidInput("kind", N_("Unknown kind of change: {value}."), value=name)
        return KINDS[name]

    async def options(self, ask: Ask) -> list[tuple[str, str]]:
        """The buttons for a question whose answers come from the data: (value, label)."""
        async with self.uow.read() as repos:
            if ask in (Ask.UNIT_IN_SCOPE, Ask.UNIT):
                units = await repos.units.subtree("/")
                return [(u.code, f"{u.code} — {u.name}") for u in units
                        if u.status == ACTIVE and (ask is Ask.UNIT or can(self.actor, Action.EDIT_DOSSIER, u.path))][:24]
            if ask is Ask.RANK:
                return [(i.code, f"{i.code} {i.name}") for i in await repos.references.listing("rank")]
            if ask is Ask.EDUCATION:
                return [(i.code, i.name) for i in await repos.references.listing("education")]
            if ask is Ask.ETHNICITY:
                items = {i.code: i.name for i in await repos.references.listing("ethnicity")}
                return [(code, items[code]) for code in COMMON_ETHNICITIES if code in items]
        return []

    async def check(self, kind_name: str, key: str, value: str, declared: bool = False) -> str:
        """One answer, checked on its own and returned in its normal written form: the question is asked
        again with the reason when it is refused."""
        kind = self.kind(kind_name)
        prompt = next((p for p in prompts_of(kind, declared) if p.key == key), None)
        if prompt is None:
            raise InvalidInput(key, N_("Unknown question."))
        text = " ".join(value.split())
        if not text:
            if prompt.optional:
                return ""
            raise InvalidInput(key, N_("An answer is needed here."))
        return await self._check(prompt, text)

    async def _check(self, prompt: Prompt, text: str) -> str:
        today = local_today(self.clock)
        key = prompt.key
        match prompt.ask:
            case Ask.TEXT:
                column = Dossier.__table__.c.get(key)
                limit = min(MAX_TEXT, getattr(column.type, "length", None) or MAX_TEXT) if column is not None else MAX_TEXT
                if len(text) > limit:
                    raise InvalidInput(key, N_("Too long: at most {limit} characters."), limit=limit)
                return text
            case Ask.DATE:
                try:
                    day = parse_date(text)
                except ValueError:
                    raise InvalidInput(key, N_("Not a valid date: {value} (use dd/mm/yyyy)"), value=text) from None
                if day > today + dt.timedelta(days=FUTURE_EFFECT_DAYS):
                    raise InvalidInput(key, N_("The date {value} is more than a year ahead."), value=format_date(day))
                return format_date(day)
            case Ask.PAST_DATE:
                return format_date(past_date(text, today, key))
            case Ask.BIRTH_DATE:
                return format_date(birth_date(text, today, key))
            case Ask.INT:
                return _integer(text, key, 1, 99)
            case Ask.YEAR:
                return _integer(text, key, 1900, today.year)
            case Ask.DECIMAL:
                return _decimal(text, key)
            case Ask.CHOICE:
                if text not in {value for value, _label in prompt.choices}:
                    raise InvalidInput(key, N_("Please choose one of the buttons."))
                return text
            case Ask.DOC_NUMBER:
                return _doc_number(text)
            case Ask.PERSONAL_ID:
                return await self._new_personal_id(text, key)
            case Ask.UNIT | Ask.UNIT_IN_SCOPE:
                async with self.uow.read() as repos:
                    unit = await self._unit(repos, text, key, in_scope=prompt.ask is Ask.UNIT_IN_SCOPE)
                return unit.code
            case Ask.RANK | Ask.EDUCATION | Ask.ETHNICITY:
                return await self._reference(prompt, text)
        raise AssertionError(prompt.ask)

    async def _new_personal_id(self, text: str, key: str) -> str:
        number = personal_id(text, key)
        async with self.uow.read() as repos:
            existing = await repos.dossiers.with_units(await repos.dossiers.id_of(number) or 0)
        if existing is not None:
            if readable(self.actor, *existing):
                raise InvalidInput(key, N_("The personal ID {value} already has a dossier: {name}, kept by {unit} "
                                           "(open it with /find {value})."),
                                   value=number, name=existing[0].full_name, unit=existing[1].name)
            raise InvalidInput(key, N_("The personal ID {value} already has a dossier, kept by a unit outside "
                                       "your scope; ask the personnel office."), value=number)
        return number

    async def _unit(self, repos: Repositories, code: str, key: str, in_scope: bool) -> OrgUnit:
        unit = await repos.units.by_code(normalise_code(code.split(" ")[0]))
        if unit is None:
            raise InvalidInput(key, N_("No unit has the code {code}."), code=code)
        if unit.status != ACTIVE:
            raise InvalidInput(key, N_("Unit {code} was merged and takes no changes."), code=unit.code)
        if in_scope and not can(self.actor, Action.EDIT_DOSSIER, unit.path):
            raise InvalidInput(key, N_("Unit {code} is outside your scope."), code=unit.code)
        return unit

    async def _reference(self, prompt: Prompt, text: str) -> str:
        list_name = {Ask.RANK: "rank", Ask.EDUCATION: "education", Ask.ETHNICITY: "ethnicity"}[prompt.ask]
        async with self.uow.read() as repos:
            items = await repos.references.listing(list_name)
        wanted = fold(text)
        for item in items:
            if text.upper() == item.code.upper() or wanted == fold(item.name):
                return item.code
        raise InvalidInput(prompt.key, N_("{value} is not on the list; choose a button or ask the personnel office "
                                          "to add it."), value=text)

    # -- whose dossier --------------------------------------------------------------------------------
    async def applicable(self, kind_name: str, dossier_id: int) -> Target:
        """The dossier, if this kind of change can apply to it now: asked before the first question, so
        that nobody answers a whole form to be told at the end."""
        kind = self.kind(kind_name)
        async with self.uow.read() as repos:
            dossier, custodian, _working = await self._editable(repos, dossier_id)
        refuse_inapplicable(kind, dossier)
        return Target(dossier.id, dossier.full_name, dossier.personal_id, custodian.name, dossier.employment_status)

    async def target(self, dossier_id: int) -> Target:
        """The dossier a clerk is about to change, if they may."""
        async with self.uow.read() as repos:
            dossier, custodian, _working = await self._editable(repos, dossier_id)
        return Target(dossier.id, dossier.full_name, dossier.personal_id, custodian.name, dossier.employment_status)

    async def own_dossier(self) -> Target:
        """The employee's own dossier, for a declaration."""
        if self.actor.role is not Role.EMPLOYEE or not self.actor.personal_id:
            raise PermissionDenied()
        async with self.uow.read() as repos:
            found = await repos.dossiers.with_units(await repos.dossiers.id_of(self.actor.personal_id) or 0)
        if found is None:
            raise NotFound(N_("No dossier carries your personal ID yet; ask your unit's clerk."))
        dossier, custodian, _working = found
        return Target(dossier.id, dossier.full_name, dossier.personal_id, custodian.name, dossier.employment_status)

    async def _editable(self, repos: Repositories, dossier_id: int) -> tuple[Dossier, OrgUnit, OrgUnit]:
        """Changes are the custodian's: a working unit reads the dossier but does not write it."""
        found = await repos.dossiers.with_units(dossier_id)
        if found is None or not can(self.actor, Action.EDIT_DOSSIER, found[1].path):
            raise PermissionDenied()
        return found

    # -- rules ---------------------------------------------------------------------------------------
    async def _calendar(self, repos: Repositories) -> WorkingCalendar:
        return WorkingCalendar.with_days_off(day.day for day in await repos.changes.days_off())

    async def _deadline(self, repos: Repositories, kind: ChangeKind, answers: dict[str, str],
                        declared: bool) -> tuple[dt.date | None, bool | None]:
        profile = await profile_of(repos)
        if kind.category is Category.NEW:
            rule, start = profile.new_dossier_deadline, _date(answers["doc_date"])
        elif declared:
            return None, None  # the person's declaration has no agency deadline; the clerk's review has
        else:
            rule, start = profile.change_deadline, _date(answers["effective_on"])
        deadline = deadline_for(start, rule, await self._calendar(repos))
        return deadline, on_time(local_today(self.clock), deadline)

    async def _plan(self, repos: Repositories, kind: ChangeKind, dossier: Dossier, answers: dict[str, str]) -> Plan:
        """What the change does to the dossier, from the checked answers."""
        plan = Plan()
        effective = _date(answers["effective_on"])
        reference = {k: answers.get(k) or None for k in PAPER_KEYS}

        def change(column: str, new: Any, label: str | None = None) -> None:
            old = getattr(dossier, column)
            if old != new:
                plan.changes[column] = new
                decimal = column in DECIMAL_COLUMNS
                plan.lines.append(Line(label or LABELS.get(column, column), shown(old, decimal), shown(new, decimal)))

        def add_record(record_kind: str, data: dict[str, Any], date_from: dt.date | None = effective,
                       date_to: dt.date | None = None) -> None:
            plan.records.append({"kind": record_kind, "date_from": date_from, "date_to": date_to,
                                 "data": {k: v for k, v in {**data, **reference}.items() if v not in (None, "")}})

        refuse_inapplicable(kind, dossier)
        if kind.category is Category.STATUS:
            change("employment_status", STATUS_AFTER[kind.name])
            if kind.name == "retirement":
                add_record("work_history", {"text": "Nghỉ hưu"})
            return plan

        match kind.name:
            case "training":
                add_record("training", {"major": answers["course"], "school": answers["institution"],
                                        "degree": answers.get("result")},
                           _date(answers["date_from"]), _optional_date(answers.get("date_to")))
                if answers.get("date_to") and _date(answers["date_to"]) < _date(answers["date_from"]):
                    raise InvalidInput("date_to", N_("The course cannot end before it starts."))
            case "appointment":
                change("post", answers["post"])
                change("post_since", effective, N_("In the post since"))
                if answers.get("position_allowance"):
                    change("position_allowance", float(answers["position_allowance"]))
                add_record("work_history", {"text": answers["post"]})
            case "transfer" | "rotation":
                unit = await self._unit(repos, answers["working_unit"], "working_unit",
                                        in_scope=kind.name == "rotation")
                if unit.id == dossier.working_unit_id:
                    raise InvalidInput("working_unit", N_("The person already works in {code}."), code=unit.code)
                current = await repos.units.get(dossier.working_unit_id)
                plan.changes["working_unit_id"] = unit.id
                plan.lines.append(Line(LABELS["working_unit"], current.name if current else "—", unit.name))
                if answers.get("post"):
                    change("post", answers["post"])
                    change("post_since", effective, N_("In the post since"))
                add_record("work_history", {"text": f"{unit.name}" + (f" — {answers['post']}" if answers.get("post") else "")})
            case "salary_raise":
                group = await self._rank_group(repos, dossier.rank_code)
                current = SalaryStep(dossier.salary_step, dossier.salary_coefficient or 0.0, dossier.over_ceiling_percent)
                new = next_step(group, current, (await profile_of(repos)).salary)
                change("salary_step", new.step)
                change("salary_coefficient", new.coefficient)
                if new.over_ceiling_percent is not None:
                    change("over_ceiling_percent", new.over_ceiling_percent)
                change("salary_since", effective, N_("Salary since"))
                add_record("salary_history", {"rank_code": dossier.rank_code, "step": new.step,
                                              "coefficient": f"{new.coefficient:.2f}",
                                              "over_ceiling_percent": new.over_ceiling_percent})
            case "rank_raise":
                items = {i.code: i for i in await repos.references.listing("rank")}
                rank = items[answers["rank_code"]]
                if rank.code == dossier.rank_code:
                    raise InvalidInput("rank_code", N_("The person already holds the rank {code}."), code=rank.code)
                # The new step is the first not below the whole current salary, over-ceiling allowance included.
                current = (dossier.salary_coefficient or 0.0) * (1 + (dossier.over_ceiling_percent or 0) / 100)
                new = step_on_new_rank(rank.extra.get("group"), current or None)
                change("rank_code", rank.code, N_("Rank code"))
                change("rank_name", rank.name, N_("Rank or title"))
                change("rank_since", effective, N_("In the rank since"))
                change("salary_step", new.step)
                change("salary_coefficient", new.coefficient)
                change("over_ceiling_percent", None)
                change("salary_since", effective, N_("Salary since"))
                add_record("salary_history", {"rank_code": rank.code, "step": new.step,
                                              "coefficient": f"{new.coefficient:.2f}"})
            case "commendation":
                add_record("commendation", {"text": answers["form"], "reason": answers.get("reason")})
            case "discipline":
                add_record("discipline", {"text": DISCIPLINE_TEXTS[answers["form"]], "form": answers["form"],
                                          "reason": answers["reason"]})
            case "raise_postponed":
                add_record("salary_history", {
                    "text": f"Kéo dài thời gian nâng bậc lương {answers['months']} tháng: {answers['reason']}",
                    "postponed_months": int(answers["months"]), "reason": answers["reason"]})
            case "asset_declaration":
                add_record("declaration", {"type": "assets", "year": answers["year"], "text": answers["summary"]})
            case "income_tax":
                add_record("declaration", {"type": "tax", "year": answers["year"], "tax_code": answers.get("tax_code"),
                                           "text": answers["summary"]})
            case "marriage":
                add_record("declaration", {"type": MARITAL, "status": "married",
                                           "text": f"Kết hôn với {answers['spouse_name']}"})
                add_record("family", {"side": "spouse", "relation": "Vợ/Chồng", "name": answers["spouse_name"],
                                      "born": answers["spouse_birth_year"],
                                      "details": answers.get("spouse_occupation")}, None)
            case "divorce":
                add_record("declaration", {"type": MARITAL, "status": "divorced",
                                           "text": f"Ly hôn với {answers['spouse_name']}"})
            case "address":
                if answers.get("permanent_address"):
                    change("permanent_address", answers["permanent_address"])
                change("current_address", answers["current_address"])
            case "supplement":
                for column, value in (await self._group_values(repos, dossier.rank_code, answers)).items():
                    if getattr(dossier, column) not in (None, "") and getattr(dossier, column) != value:
                        raise InvalidInput(column, N_("This field is already filled; a change to it needs its own "
                                                      "kind of change and decision."))
                    change(column, value, SUPPLEMENT_LABELS.get(column) or LABELS.get(column, column))
        if not plan.lines and not plan.records and kind.name != "registration":
            raise InvalidInput("kind", N_("This changes nothing in the dossier."))
        return plan

    async def _group_values(self, repos: Repositories, rank_code: str | None,
                            answers: dict[str, str]) -> dict[str, Any]:
        """The optional groups' answers as column values: dates typed, the education level by its name
        (as import and the demo keep it), a salary step with its coefficient from the rank's table."""
        values: dict[str, Any] = {}
        for prompt in NEW_DOSSIER.prompts:
            text = answers.get(prompt.key)
            if prompt.group is None or not text:
                continue
            if prompt.ask in (Ask.DATE, Ask.PAST_DATE):
                values[prompt.key] = _date(text)
            elif prompt.ask is Ask.EDUCATION:
                levels = {i.code: i.name for i in await repos.references.listing("education")}
                values[prompt.key] = levels.get(text, text)
            elif prompt.key == "salary_step":
                scale = steps_of(await self._rank_group(repos, rank_code))
                step = int(text)
                if step > len(scale):
                    raise InvalidInput("salary_step", N_("Step {step} is not on this rank's table (1 to {last})."),
                                       step=step, last=len(scale))
                values.update(salary_step=step, salary_coefficient=scale[step - 1])
            else:
                values[prompt.key] = text
        return values

    @staticmethod
    async def _rank_group(repos: Repositories, rank_code: str | None) -> str | None:
        for item in await repos.references.listing("rank"):
            if item.code == rank_code:
                return str(item.extra.get("group") or "")
        return None

    async def _recheck(self, kind: ChangeKind, answers: dict[str, str], declared: bool) -> dict[str, str]:
        """Every answer checked again at the write: the conversation may have lasted past midnight, or a
        unit may have been merged meanwhile."""
        checked = {}
        for prompt in prompts_of(kind, declared):
            checked[prompt.key] = await self.check(kind.name, prompt.key, answers.get(prompt.key, ""), declared)
        return checked

    # -- the summary and the write ----------------------------------------------------------------------
    async def preview(self, kind_name: str, dossier_id: int, answers: dict[str, str], declared: bool = False) -> Preview:
        kind = self.kind(kind_name)
        async with self.uow.read() as repos:
            dossier = await self._dossier_for(repos, dossier_id, declared)
            plan = await self._plan(repos, kind, dossier, answers)
            deadline, timely = await self._deadline(repos, kind, answers, declared)
        return Preview(tuple(plan.lines), deadline, timely)

    async def preview_new(self, answers: dict[str, str]) -> Preview:
        """For /new's summary: the deadline to complete the dossier, from the recruitment decision."""
        async with self.uow.read() as repos:
            deadline, timely = await self._deadline(repos, NEW_DOSSIER, answers, declared=False)
        return Preview((), deadline, timely)

    async def _dossier_for(self, repos: Repositories, dossier_id: int, declared: bool) -> Dossier:
        if declared:
            found = await repos.dossiers.with_units(dossier_id)
            if found is None or self.actor.personal_id != found[0].personal_id:
                raise PermissionDenied()
            return found[0]
        return (await self._editable(repos, dossier_id))[0]

    async def log(self, kind_name: str, dossier_id: int, answers: dict[str, str],
                  uploads: list[Upload] | tuple[Upload, ...] = ()) -> Logged:
        """A clerk logs a change against its paper: applied at once."""
        kind = self.kind(kind_name)
        if kind.category is Category.NEW:
            raise InvalidInput("kind", N_("Use /new for a new dossier."))
        answers = await self._recheck(kind, answers, declared=False)
        stored = [self.check_file(upload) for upload in uploads]
        if kind.name == "registration":
            return await self._register(dossier_id, answers, stored, uploads)
        async with sensitive(self.uow, self.actor, self.clock, Action.EDIT_DOSSIER) as repos:
            dossier, custodian, _working = await self._editable(repos, dossier_id)
            plan = await self._plan(repos, kind, dossier, answers)
            deadline, timely = await self._deadline(repos, kind, answers, declared=False)
            event = await self.add_event(repos, kind, dossier, custodian, answers, APPLIED, deadline, timely)
            await self.apply_plan(repos, dossier, plan, event)
            if answers.get("doc_number"):  # the change a registered decision was waiting for
                await repos.changes.close_registrations(dossier.id, kind.name, answers["doc_number"], event.id)
            await self.attach_files(repos, event, stored, uploads)
            await record(repos, self.clock, self.actor, f"change.{kind.name}", "dossier", dossier.id,
                         event=event.id, on_time=timely, fields=sorted(plan.changes), attachments=len(stored))
        return Logged(event.id, dossier.id, dossier.full_name, kind.name, APPLIED, deadline, timely, tuple(plan.lines))

    async def _register(self, dossier_id: int, answers: dict[str, str], stored: list[Any],
                        uploads: list[Upload] | tuple[Upload, ...]) -> Logged:
        """A decision received but not entered yet: recorded with its deadline, nothing changed."""
        kind = KINDS["registration"]
        async with sensitive(self.uow, self.actor, self.clock, Action.EDIT_DOSSIER) as repos:
            dossier, custodian, _working = await self._editable(repos, dossier_id)
            deadline, _timely = await self._deadline(repos, kind, answers, declared=False)
            event = await self.add_event(repos, kind, dossier, custodian, answers, REGISTERED, deadline, None)
            await self.attach_files(repos, event, stored, uploads)
            await record(repos, self.clock, self.actor, "change.registered", "dossier", dossier.id, event=event.id,
                         for_kind=answers["for_kind"], deadline=deadline.isoformat() if deadline else None)
        return Logged(event.id, dossier.id, dossier.full_name, kind.name, REGISTERED, deadline, None, ())

    async def declare(self, kind_name: str, answers: dict[str, str],
                      uploads: list[Upload] | tuple[Upload, ...] = ()) -> Logged:
        """An employee declares a personal change: pending until a clerk of the custodian unit decides.
        The clerks to tell come back with the result."""
        kind = self.kind(kind_name)
        if not kind.declarable or self.actor.restricted:  # a declaration writes: not for a read-only account
            raise PermissionDenied()
        target = await self.own_dossier()
        answers = await self._recheck(kind, answers, declared=True)
        stored = [self.check_file(upload) for upload in uploads]
        async with sensitive(self.uow, self.actor, self.clock, Action.OPEN_DOSSIER) as repos:
            dossier, custodian, _working = await repos.dossiers.with_units(target.id)  # type: ignore[misc]
            plan = await self._plan(repos, kind, dossier, answers)  # refused now rather than at the review
            event = await self.add_event(repos, kind, dossier, custodian, answers, PENDING, None, None)
            await self.attach_files(repos, event, stored, uploads)
            await record(repos, self.clock, self.actor, f"declaration.{kind.name}", "dossier", dossier.id,
                         event=event.id)
            clerks = await repos.changes.clerks_for(custodian.path)
        return Logged(event.id, dossier.id, dossier.full_name, kind.name, PENDING, None, None, tuple(plan.lines),
                      tuple(Recipient(*clerk) for clerk in clerks))

    async def decide(self, event_id: int, approve: bool, reason: str = "") -> Logged:
        """A clerk of the custodian unit approves (the change applies now) or rejects (with a reason) a
        declaration. The person to tell comes back with the result."""
        reason = " ".join(reason.split())
        if not approve and not reason:
            raise InvalidInput("reason", N_("A rejection needs a reason."))
        if len(reason) > 500:
            raise InvalidInput("reason", N_("Too long: at most {limit} characters."), limit=500)
        async with sensitive(self.uow, self.actor, self.clock, Action.EDIT_DOSSIER) as repos:
            event = await repos.changes.get_for_update(event_id)
            if event is None or event.kind not in KINDS or not KINDS[event.kind].declarable:
                raise PermissionDenied()  # only declarations are decided here (custody: /transfer)
            dossier, custodian, _working = await self._editable(repos, event.dossier_id)
            if event.status != PENDING:
                raise InvalidInput("event", N_("This declaration was already decided."))
            kind = self.kind(event.kind)
            now = self.clock.now()
            event.decided_by, event.decided_at = self.actor.account_id, now
            event.decision_note = reason or None
            lines: tuple[Line, ...] = ()
            if approve:
                answers = {k: str(v) for k, v in event.payload.items()}
                plan = await self._plan(repos, kind, dossier, answers)
                event.status = APPLIED
                await self.apply_plan(repos, dossier, plan, event)
                lines = tuple(plan.lines)
            else:
                event.status = REJECTED
            await record(repos, self.clock, self.actor, f"declaration.{event.status}", "dossier", dossier.id,
                         event=event.id, reason=reason or None)
            person = await repos.changes.employee_of(dossier.personal_id)
        return Logged(event.id, dossier.id, dossier.full_name, kind.name, event.status, None, None, lines,
                      (Recipient(*person),) if person else ())

    async def create(self, answers: dict[str, str], uploads: list[Upload] | tuple[Upload, ...] = ()) -> Logged:
        """A new dossier from /new, with its recruitment decision; the deadline to complete it comes back."""
        answers = await self._recheck(NEW_DOSSIER, answers, declared=False)
        stored = [self.check_file(upload) for upload in uploads]
        async with sensitive(self.uow, self.actor, self.clock, Action.EDIT_DOSSIER) as repos:
            custodian = await self._unit(repos, answers["custodian_unit"], "custodian_unit", in_scope=True)
            if await repos.dossiers.id_of(answers["personal_id"]) is not None:  # someone was quicker
                await self._new_personal_id(answers["personal_id"], "personal_id")
            rank = next(i for i in await repos.references.listing("rank") if i.code == answers["rank_code"])
            ethnicities = {i.code: i.name for i in await repos.references.listing("ethnicity")}
            levels = {i.code: i.name for i in await repos.references.listing("education")}
            step = (int(answers["salary_step"]) if answers.get("salary_step") else 1)
            scale = steps_of(rank.extra.get("group"))
            if step > len(scale):
                raise InvalidInput("salary_step", N_("Step {step} is not on this rank's table (1 to {last})."),
                                   step=step, last=len(scale))
            recruited = _date(answers["effective_on"])
            now = self.clock.now()
            dossier = Dossier(
                personal_id=answers["personal_id"], full_name=answers["full_name"],
                folded_name=fold(answers["full_name"]), sex=answers["sex"], birth_date=_date(answers["birth_date"]),
                ethnicity=ethnicities.get(answers["ethnicity"], answers["ethnicity"]), nationality="Việt Nam",
                birthplace=answers.get("birthplace") or None, home_town=answers.get("home_town") or None,
                permanent_address=answers.get("permanent_address") or None,
                current_address=answers.get("current_address") or None, phone=answers.get("phone") or None,
                recruited_on=recruited, recruiting_agency=answers["doc_issuer"],
                recruitment_decision=f"{answers['doc_number']} ngày {answers['doc_date']}",
                post=answers["post"], post_since=recruited,
                rank_code=rank.code, rank_name=rank.name, rank_since=recruited,
                salary_step=step, salary_coefficient=scale[step - 1],
                salary_since=_optional_date(answers.get("salary_since")) or recruited,
                professional_level=levels.get(answers.get("professional_level") or "") or None,
                major=answers.get("major") or None, political_theory=answers.get("political_theory") or None,
                state_management=answers.get("state_management") or None,
                foreign_language=answers.get("foreign_language") or None, it_skill=answers.get("it_skill") or None,
                party_joined_on=_optional_date(answers.get("party_joined_on")),
                party_official_on=_optional_date(answers.get("party_official_on")),
                military_enlisted_on=_optional_date(answers.get("military_enlisted_on")),
                custodian_unit_id=custodian.id, working_unit_id=custodian.id,
                employment_status=answers.get("employment_status") or "probation",
                created_at=now, updated_at=now,
            )
            repos.session.add(dossier)
            await repos.flush()
            deadline, timely = await self._deadline(repos, NEW_DOSSIER, answers, declared=False)
            event = await self.add_event(repos, NEW_DOSSIER, dossier, custodian, answers, APPLIED, deadline, timely)
            await repos.dossiers.add_records([{
                "dossier_id": dossier.id, "kind": "work_history", "date_from": recruited, "date_to": None,
                "data": {"text": f"{answers['post']}, {custodian.name}", "doc_number": answers["doc_number"]},
                "created_at": now}])
            created = snapshot(dossier)
            await repos.changes.add_version(DossierVersion(
                dossier_id=dossier.id, change_event_id=event.id, valid_from=recruited, recorded_at=now,
                snapshot=created, changes=None))
            await self.attach_files(repos, event, stored, uploads)
            await record(repos, self.clock, self.actor, "change.new", "dossier", dossier.id, event=event.id,
                         on_time=timely, attachments=len(stored))
        return Logged(event.id, dossier.id, dossier.full_name, NEW_DOSSIER.name, APPLIED, deadline, timely, ())

    async def add_event(self, repos: Repositories, kind: ChangeKind, dossier: Dossier, custodian: OrgUnit,
                     answers: dict[str, str], status: str, deadline: dt.date | None, timely: bool | None) -> ChangeEvent:
        return await repos.changes.add(ChangeEvent(
            dossier_id=dossier.id, kind=kind.name, status=status,
            payload={k: v for k, v in answers.items() if v},
            doc_number=answers.get("doc_number") or None, doc_date=_optional_date(answers.get("doc_date")),
            doc_issuer=answers.get("doc_issuer") or None, effective_on=_date(answers["effective_on"]),
            deadline=deadline, on_time=timely, unit_id=custodian.id, recorded_by=self.actor.account_id,
            recorded_by_label=actor_label(self.actor), recorded_at=self.clock.now(),
        ))

    async def apply_plan(self, repos: Repositories, dossier: Dossier, plan: Plan, event: ChangeEvent) -> None:
        """The dossier, its records and a version, in the caller's transaction."""
        now = self.clock.now()
        if not await repos.changes.has_versions(dossier.id):  # the state before the first logged change
            base = snapshot(dossier)
            await repos.changes.add_version(DossierVersion(dossier_id=dossier.id, change_event_id=None,
                                                           valid_from=None, recorded_at=now, snapshot=base,
                                                           changes=base))
        # A change logged late must not undo a later-effective one already in the dossier.
        newer = await repos.changes.columns_changed_after(dossier.id, event.effective_on)
        for column, value in plan.changes.items():
            if column not in newer:
                setattr(dossier, column, value)
        if plan.changes:
            dossier.updated_at = now
        await repos.dossiers.add_records([{**row, "dossier_id": dossier.id, "created_at": now} for row in plan.records])
        await repos.changes.add_version(DossierVersion(dossier_id=dossier.id, change_event_id=event.id,
                                                       valid_from=event.effective_on, recorded_at=now,
                                                       snapshot=snapshot(dossier), changes=json_ready(plan.changes)))

    # -- attachments -------------------------------------------------------------------------------------
    def _store(self) -> FileStore:
        if self.files is None:
            raise InvalidInput("attachment", N_("Attachments are not enabled on this installation."))
        return self.files

    def check_file(self, upload: Upload) -> Any:
        return self._store().check(upload)

    async def attach_files(self, repos: Repositories, event: ChangeEvent, stored: list[Any], uploads: Any) -> None:
        for upload in uploads:
            kept = self._store().put(upload)
            await repos.changes.add_attachment(Attachment(
                change_event_id=event.id, sha256=kept.sha256, file_name=kept.file_name,
                content_type=kept.content_type, size=kept.size, uploaded_by=self.actor.account_id,
                uploaded_at=self.clock.now()))

    async def attachment(self, attachment_id: int) -> tuple[str, bytes]:
        """A scanned paper, for whoever may read its dossier; the read is audited."""
        async with sensitive(self.uow, self.actor, self.clock, Action.OPEN_DOSSIER) as repos:
            found = await repos.changes.attachment(attachment_id)
            owner = await repos.dossiers.with_units(found[1].dossier_id) if found else None
            allowed = owner is not None and readable(self.actor, *owner)
            if allowed and found is not None and not mask_for(self.actor).shows_change(found[1].kind):
                allowed = False  # the papers of a family or address change show what the role may not see
            await record(repos, self.clock, self.actor, "attachment.read" if allowed else "attachment.refused",
                         "attachment", attachment_id)
        if not allowed or found is None:
            raise PermissionDenied()
        return found[0].file_name, self._store().read(found[0].sha256)

    # -- reading back ------------------------------------------------------------------------------------
    async def pending(self) -> list[PendingItem]:
        """Declarations waiting for this clerk."""
        async with self.uow.read() as repos:
            rows = await repos.changes.pending(scope_of(self.actor, Action.EDIT_DOSSIER))
        mask = mask_for(self.actor)
        return [PendingItem(e.id, d.id, d.full_name, e.kind, e.effective_on, e.recorded_at, mask.payload(e.payload))
                for e, d in rows if mask.shows_change(e.kind)]

    async def history(self, dossier_id: int) -> History:
        async with sensitive(self.uow, self.actor, self.clock, Action.OPEN_DOSSIER) as repos:
            found = await repos.dossiers.with_units(dossier_id)
            allowed = found is not None and readable(self.actor, *found)
            await record(repos, self.clock, self.actor, "dossier.history" if allowed else "dossier.refused",
                         "dossier", dossier_id)
            if not allowed or found is None:
                events, files = [], []
            else:
                events = list(await repos.changes.of_dossier(dossier_id))
                files = list(await repos.changes.attachments_of([e.id for e in events]))
        if not allowed or found is None:
            raise PermissionDenied()
        by_event: dict[int, list[AttachmentView]] = {}
        for item in files:
            by_event.setdefault(item.change_event_id, []).append(AttachmentView(item.id, item.file_name, item.size))
        # A change about private data is withheld whole (its answers, papers and reason); of the others,
        # the answers that fill a withheld field.
        mask = mask_for(self.actor)
        entries = tuple(HistoryEntry(
            e.id, e.kind, e.status, mask.payload(e.payload), e.doc_number, e.doc_date, e.doc_issuer, e.effective_on,
            e.deadline, e.on_time, e.recorded_by_label, e.recorded_at, e.decision_note, tuple(by_event.get(e.id, ())))
            for e in events if mask.shows_change(e.kind))
        return History(dossier_id, found[0].full_name, entries, mask.withheld)

    async def as_of(self, dossier_id: int, day: dt.date) -> AsOf:
        """The dossier's own fields as they stood on `day`, from the versions."""
        async with sensitive(self.uow, self.actor, self.clock, Action.OPEN_DOSSIER) as repos:
            found = await repos.dossiers.with_units(dossier_id)
            allowed = found is not None and readable(self.actor, *found)
            await record(repos, self.clock, self.actor, "dossier.as_of" if allowed else "dossier.refused",
                         "dossier", dossier_id, day=day.isoformat())
            versions = await repos.changes.versions_until(dossier_id, day) if allowed else []
            has_any = await repos.changes.has_versions(dossier_id) if allowed else False
        if not allowed or found is None:
            raise PermissionDenied()
        dossier = found[0]
        values: dict[str, Any] | None = None
        if versions:  # the baseline (or the creation), then each change in effective-date order
            values = {}
            for version in versions:
                values.update(version.changes if version.changes is not None else version.snapshot)
        elif has_any:
            values = None  # the first version starts later: the dossier was not yet recorded
        else:
            values = snapshot(dossier)  # never changed since it was created or imported
        mask = mask_for(self.actor)
        return AsOf(dossier_id, dossier.full_name, day, None if values is None else mask.values(values), mask.withheld)

    # -- the admin's calendar ----------------------------------------------------------------------------
    async def add_day_off(self, day: dt.date, reason: str) -> bool:
        reason = " ".join(reason.split())
        if not reason:
            raise InvalidInput("reason", N_("Say why the day is off (e.g. Tết extended by the Prime Minister)."))
        async with sensitive(self.uow, self.actor, self.clock, Action.MANAGE_UNITS) as repos:
            added = await repos.changes.add_day_off(ExtraDayOff(day=day, reason=reason[:255],
                                                                added_by=actor_label(self.actor),
                                                                added_at=self.clock.now()))
            if added:
                await record(repos, self.clock, self.actor, "calendar.day_off", "day", day.isoformat(), reason=reason)
        return added

    async def days_off(self) -> list[tuple[dt.date, str]]:
        async with self.uow.read() as repos:
            return [(d.day, d.reason) for d in await repos.changes.days_off()]
