"""The facts the personnel office's inspection is made of (Hậu Giang Art. 13.4, HCMC Art. 14.4), each a
set-based query over the whole scope, never a loop over dossiers: completeness and untouched dossiers
per unit in one scan; the dossiers that break a rule, flagged by the rule they break, in one more; the
duplicate people; the changes without their paper; the accounts that are not used."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, exists, false, func, literal, not_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, ChangeEvent, Dossier, DossierRecord, OrgUnit
from storage.repositories import under
from storage.statistics import IN_SERVICE


@dataclass(frozen=True, slots=True)
class FlagRules:
    """The dates the dossier-level rules compare with, worked out by the service from the profile."""

    salary: Sequence[tuple[Sequence[str] | None, dt.date]]  # (rank codes, or None for any other, step older than)
    over_ceiling_before: dt.date  # over the last step, the allowance is due yearly
    men_born_before: dt.date  # past the retirement date on the day
    women_born_before: dt.date
    probation: Sequence[tuple[Sequence[str] | None, dt.date]]  # (rank codes, or None for the others, began before)
    # The salary table: the rank codes of a group, and the group's coefficients by step (step 1 first).
    salary_table: Sequence[tuple[Sequence[str], Sequence[float]]] = ()


COEFFICIENT_TOLERANCE = 0.005  # coefficients are written with two decimals


FLAGS = ("salary_overdue", "salary_off_table", "past_retirement", "probation_overdue", "bad_personal_id",
         "merged_custodian")


def _by_rank(column: Any, rules: Sequence[tuple[Sequence[str] | None, dt.date]]) -> ColumnElement[bool]:
    listed = [code for codes, _before in rules if codes for code in codes]
    parts = []
    for codes, before in rules:
        rank = Dossier.rank_code.in_(list(codes)) if codes else or_(Dossier.rank_code.is_(None),
                                                                     Dossier.rank_code.not_in(listed))
        parts.append(and_(rank, column < before))
    return or_(*parts) if parts else false()


def _off_table(table: Sequence[tuple[Sequence[str], Sequence[float]]]) -> ColumnElement[bool]:
    """A step and coefficient that are not on the table of the rank's group (a step beyond it included)."""
    parts = []
    for codes, steps in table:
        on_table = or_(*(and_(Dossier.salary_step == number,
                              Dossier.salary_coefficient.between(value - COEFFICIENT_TOLERANCE,
                                                                 value + COEFFICIENT_TOLERANCE))
                         for number, value in enumerate(steps, start=1)))
        parts.append(and_(Dossier.rank_code.in_(list(codes)), not_(on_table)))
    return or_(*parts) if parts else false()


def _empty(column: Any) -> ColumnElement[bool]:
    """Not filled in: no value, or (for text) an empty one."""
    if isinstance(column.type, String):
        return or_(column.is_(None), column == "")
    return column.is_(None)


class InspectionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect = session.bind.dialect.name if session.bind is not None else "sqlite"

    async def completeness(self, prefixes: Sequence[str], fields: Sequence[str], untouched_before: dt.datetime
                           ) -> dict[int, dict[str, int]]:
        """Per custodian unit, of the people in service: how many ("total"), how many with every field
        filled ("complete"), how many lack each field ("missing.<field>"), and how many dossiers nothing
        touched since `untouched_before` ("untouched")."""
        empty = {name: _empty(getattr(Dossier, name)) for name in fields}
        touched = exists().where(ChangeEvent.dossier_id == Dossier.id, ChangeEvent.recorded_at >= untouched_before)
        columns = [func.count().label("total"),
                   func.sum(case((not_(or_(*empty.values())), 1), else_=0)).label("complete"),
                   *(func.sum(case((test, 1), else_=0)).label(f"missing.{name}") for name, test in empty.items()),
                   func.sum(case((and_(Dossier.updated_at < untouched_before, not_(touched)), 1), else_=0))
                   .label("untouched")]
        query = (select(Dossier.custodian_unit_id, *columns)
                 .join(OrgUnit, OrgUnit.id == Dossier.custodian_unit_id)
                 .where(under(OrgUnit.path, prefixes), Dossier.employment_status.in_(IN_SERVICE))
                 .group_by(Dossier.custodian_unit_id))
        return {int(row[0]): {key: int(value or 0) for key, value in row._mapping.items() if key != "custodian_unit_id"}
                for row in await self.session.execute(query)}

    def _bad_id(self) -> ColumnElement[bool]:
        if self.dialect == "postgresql":
            return not_(Dossier.personal_id.regexp_match("^[0-9]{12}$"))
        return Dossier.personal_id.op("NOT GLOB", is_comparison=True)(literal("[0-9]" * 12))

    async def flagged(self, prefixes: Sequence[str], rules: FlagRules) -> list[dict[str, Any]]:
        """The dossiers that break a rule, one scan: each row says which ("flag.<rule>" is 1).

        - salary_overdue: in service, the step older than its period, and no discipline since the step
          (a discipline puts the raise off); a decision putting it off is the service's to weigh;
        - salary_off_table: in service, a step and coefficient that are not on the rank's salary table;
        - past_retirement: in service after the retirement date of the schedule;
        - probation_overdue: still on probation after its period;
        - bad_personal_id: not 12 digits;
        - merged_custodian: kept by a unit that was merged away.
        Like the shares they are weighed against, all concern the people in service."""
        serving = Dossier.employment_status.in_(IN_SERVICE)
        disciplined = or_(
            exists().where(ChangeEvent.dossier_id == Dossier.id, ChangeEvent.kind == "discipline",
                           ChangeEvent.status == "applied", ChangeEvent.effective_on >= Dossier.salary_since),
            exists().where(DossierRecord.dossier_id == Dossier.id, DossierRecord.kind == "discipline",
                           DossierRecord.date_from >= Dossier.salary_since))
        step_old = or_(
            and_(func.coalesce(Dossier.over_ceiling_percent, 0) > 0, Dossier.salary_since < rules.over_ceiling_before),
            and_(func.coalesce(Dossier.over_ceiling_percent, 0) == 0, _by_rank(Dossier.salary_since, rules.salary)))
        conditions = {
            "salary_overdue": and_(serving, Dossier.salary_since.is_not(None), step_old, not_(disciplined)),
            "salary_off_table": and_(serving, Dossier.salary_step.is_not(None),
                                     Dossier.salary_coefficient.is_not(None), _off_table(rules.salary_table)),
            "past_retirement": and_(serving, or_(and_(Dossier.sex == "M", Dossier.birth_date < rules.men_born_before),
                                                 and_(Dossier.sex == "F", Dossier.birth_date < rules.women_born_before))),
            "probation_overdue": and_(Dossier.employment_status == "probation", Dossier.recruited_on.is_not(None),
                                      _by_rank(Dossier.recruited_on, rules.probation)),
            "bad_personal_id": and_(serving, self._bad_id()),
            "merged_custodian": and_(serving, OrgUnit.status == "merged"),
        }
        flags = [case((test, 1), else_=0).label(f"flag.{name}") for name, test in conditions.items()]
        query = (
            select(Dossier.id, Dossier.full_name, Dossier.personal_id, Dossier.custodian_unit_id, Dossier.sex,
                   Dossier.birth_date, Dossier.salary_since, Dossier.salary_step, Dossier.rank_code,
                   Dossier.salary_coefficient,
                   Dossier.over_ceiling_percent, Dossier.recruited_on, OrgUnit.merged_into_id, *flags)
            .join(OrgUnit, OrgUnit.id == Dossier.custodian_unit_id)
            .where(under(OrgUnit.path, prefixes), or_(*conditions.values()))
            .order_by(Dossier.id)
        )
        return [dict(row._mapping) for row in await self.session.execute(query)]

    async def duplicates(self, prefixes: Sequence[str]) -> list[dict[str, Any]]:
        """The dossiers within `prefixes` whose folded name and birth date another dossier (anywhere)
        shares; each with the personal IDs of the others ("others") and whether it is the pair's first
        ("first", by id), wherever the scope ends."""
        pairs = (select(Dossier.folded_name, Dossier.birth_date).group_by(Dossier.folded_name, Dossier.birth_date)
                 .having(func.count() > 1))
        query = (
            select(Dossier.id, Dossier.full_name, Dossier.personal_id, Dossier.custodian_unit_id, Dossier.folded_name,
                   Dossier.birth_date, OrgUnit.path)
            .join(OrgUnit, OrgUnit.id == Dossier.custodian_unit_id)
            .where(tuple_(Dossier.folded_name, Dossier.birth_date).in_(pairs))
            .order_by(Dossier.folded_name, Dossier.birth_date, Dossier.id)
        )
        members = [dict(row._mapping) for row in await self.session.execute(query)]
        ids_of: dict[tuple[str, dt.date], list[str]] = {}
        for row in members:  # in id order within each pair: the first is where the case is counted
            ids_of.setdefault((row["folded_name"], row["birth_date"]), []).append(row["personal_id"])
        everywhere = "/" in prefixes
        return [{**row, "first": ids_of[pair][0] == row["personal_id"],
                 "others": [pid for pid in ids_of[pair] if pid != row["personal_id"]]}
                for row in members if everywhere or any(row["path"].startswith(p) for p in prefixes)
                for pair in [(row["folded_name"], row["birth_date"])]]

    async def undocumented(self, prefixes: Sequence[str], kinds: Sequence[str]) -> list[dict[str, Any]]:
        """Applied changes of kinds that cite a paper, logged without its number: each with its dossier,
        for the unit answerable when it was logged."""
        query = (
            select(ChangeEvent.id.label("event_id"), ChangeEvent.kind, ChangeEvent.effective_on,
                   ChangeEvent.unit_id, Dossier.id, Dossier.full_name, Dossier.personal_id)
            .join(Dossier, Dossier.id == ChangeEvent.dossier_id)
            .join(OrgUnit, OrgUnit.id == ChangeEvent.unit_id)
            .where(ChangeEvent.status == "applied", ChangeEvent.kind.in_(list(kinds)),
                   or_(ChangeEvent.doc_number.is_(None), ChangeEvent.doc_number == ""), under(OrgUnit.path, prefixes))
            .order_by(ChangeEvent.id)
        )
        return [dict(row._mapping) for row in await self.session.execute(query)]

    async def accounts(self, prefixes: Sequence[str], idle_before: dt.datetime) -> list[dict[str, Any]]:
        """The accounts within `prefixes` never activated, unused since `idle_before`, or locked: each
        with which ("pending", "idle", "locked")."""
        used = func.coalesce(Account.last_seen_at, Account.last_active_at, Account.activated_at)
        state = case(
            (Account.status == "locked", "locked"),
            (or_(Account.status == "pending", Account.activated_at.is_(None)), "pending"),
            else_="idle",
        )
        query = (
            select(Account.username, Account.full_name, Account.unit_id, Account.role, state.label("state"), used.label("used"))
            .join(OrgUnit, OrgUnit.id == Account.unit_id)
            .where(under(OrgUnit.path, prefixes), Account.status != "revoked",
                   or_(Account.status.in_(("locked", "pending")), Account.activated_at.is_(None), used < idle_before))
            .order_by(Account.username)
        )
        return [dict(row._mapping) for row in await self.session.execute(query)]
