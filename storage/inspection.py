"""The facts the personnel office's inspection is made of (Hậu Giang Art. 13.4, HCMC Art. 14.4), each a
set-based query over the whole scope, never a loop over dossiers: completeness and untouched dossiers
per unit in one scan; the candidate findings in one ordered query, streamed: the dossiers that break a
rule, flagged by the rule they break (one scan), the duplicate people, the changes without their paper;
the accounts that are not used."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Date,
    Integer,
    String,
    and_,
    any_,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, ChangeEvent, Dossier, DossierRecord, OrgUnit
from storage.repositories import run_shared, under
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
# What a flagged dossier's findings are told by.
FACTS = ("sex", "birth_date", "salary_since", "salary_step", "rank_code", "salary_coefficient",
         "over_ceiling_percent", "recruited_on")
BATCH = 2000  # candidate findings fetched at a time


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
        # The dossiers touched since, joined rather than looked up row by row: a correlated subquery keeps
        # PostgreSQL's scan of the table on one core.
        touched = (select(ChangeEvent.dossier_id).where(ChangeEvent.recorded_at >= untouched_before)
                   .group_by(ChangeEvent.dossier_id).subquery("touched"))
        columns = [func.count().label("total"),
                   func.sum(case((not_(or_(*empty.values())), 1), else_=0)).label("complete"),
                   *(func.sum(case((test, 1), else_=0)).label(f"missing.{name}") for name, test in empty.items()),
                   func.sum(case((and_(Dossier.updated_at < untouched_before, touched.c.dossier_id.is_(None)), 1),
                                 else_=0)).label("untouched")]
        query = (select(Dossier.custodian_unit_id, *columns)
                 .join(OrgUnit, OrgUnit.id == Dossier.custodian_unit_id)
                 .outerjoin(touched, touched.c.dossier_id == Dossier.id)
                 .where(under(OrgUnit.path, prefixes), Dossier.employment_status.in_(IN_SERVICE))
                 .group_by(Dossier.custodian_unit_id))
        return {int(row[0]): {key: int(value or 0) for key, value in row._mapping.items() if key != "custodian_unit_id"}
                for row in await self.session.execute(query)}

    def _bad_id(self) -> ColumnElement[bool]:
        if self.dialect == "postgresql":
            return not_(Dossier.personal_id.regexp_match("^[0-9]{12}$"))
        return Dossier.personal_id.op("NOT GLOB", is_comparison=True)(literal("[0-9]" * 12))

    def _flagged(self, prefixes: Sequence[str], rules: FlagRules) -> tuple[Any, list[str]]:
        """The dossiers that break a rule, one scan: each row says which ("flag.<rule>" is 1).

        - salary_overdue: in service, the step older than its period (`candidates` leaves out those with a
          discipline since the step, which puts the raise off); a decision putting it off is the service's
          to weigh;
        - salary_off_table: in service, a step and coefficient that are not on the rank's salary table;
        - past_retirement: in service after the retirement date of the schedule;
        - probation_overdue: still on probation after its period;
        - bad_personal_id: not 12 digits;
        - merged_custodian: kept by a unit that was merged away.
        Like the shares they are weighed against, all concern the people in service."""
        serving = Dossier.employment_status.in_(IN_SERVICE)
        step_old = or_(
            and_(func.coalesce(Dossier.over_ceiling_percent, 0) > 0, Dossier.salary_since < rules.over_ceiling_before),
            and_(func.coalesce(Dossier.over_ceiling_percent, 0) == 0, _by_rank(Dossier.salary_since, rules.salary)))
        conditions = {
            "salary_overdue": and_(serving, Dossier.salary_since.is_not(None), step_old),  # less the disciplined
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
        # The rules are tested on every dossier in service in the scan's filter, and again for the flags of the
        # few that break one. Nothing in the scan looks a row up elsewhere, so that PostgreSQL may share it
        # among parallel workers: the disciplines are looked up for the few overdue steps (`_disciplined`).
        query = (select(Dossier.id, Dossier.full_name, Dossier.personal_id, Dossier.custodian_unit_id.label("unit_id"),
                        OrgUnit.path, *(getattr(Dossier, name) for name in FACTS), OrgUnit.merged_into_id, *flags)
                 .join(OrgUnit, OrgUnit.id == Dossier.custodian_unit_id)
                 .where(under(OrgUnit.path, prefixes), serving, or_(*conditions.values())))
        return query, list(conditions)

    async def _tested_at_once(self, tested: Any) -> Any:
        """PostgreSQL: the dossiers that break a rule, found first by a statement run to its end, then tested
        again, those alone, by the streamed one. PostgreSQL shares a scan among parallel workers only for a
        statement run to its end, never for one fetched in batches: testing every rule on 2 million dossiers
        took 5 s alone and 2 s shared. Tested again, their facts and their flags come from one statement, and
        one changed in between is listed as it stands then, or not at all. What is held is their ids (30 000
        at 2 million dossiers of the demo)."""
        found = tested.subquery()
        ids = (await run_shared(self.session, select(func.array_agg(found.c.id)))).scalar()
        return tested.where(Dossier.id == any_(bindparam("flagged_ids", ids or [], ARRAY(Integer))))

    @staticmethod
    def _disciplined(flagged: Any) -> ColumnElement[bool]:
        """A discipline, logged or recorded, took effect on or after the flagged dossier's step: it puts the
        raise off."""
        return or_(
            exists().where(ChangeEvent.dossier_id == flagged.c.id, ChangeEvent.kind == "discipline",
                           ChangeEvent.status == "applied", ChangeEvent.effective_on >= flagged.c.salary_since),
            exists().where(DossierRecord.dossier_id == flagged.c.id, DossierRecord.kind == "discipline",
                           DossierRecord.date_from >= flagged.c.salary_since))

    def _duplicates(self, prefixes: Sequence[str]) -> Any:
        """The first dossier (by id) of each folded name and birth date that another dossier (anywhere)
        shares, when it is within `prefixes`, with the personal IDs of the others in the order of their
        ids ("others")."""
        pairs = (select(Dossier.folded_name, Dossier.birth_date).group_by(Dossier.folded_name, Dossier.birth_date)
                 .having(func.count() > 1))
        by_pair = (Dossier.folded_name, Dossier.birth_date)
        joined = func.string_agg if self.dialect == "postgresql" else func.group_concat
        members = (select(Dossier.id, Dossier.full_name, Dossier.personal_id,
                          Dossier.custodian_unit_id.label("unit_id"), Dossier.birth_date,
                          func.row_number().over(partition_by=by_pair, order_by=Dossier.id).label("place"),
                          joined(Dossier.personal_id, literal(", "))
                          .over(partition_by=by_pair, order_by=Dossier.id, rows=(1, None)).label("others"))
                   .where(tuple_(Dossier.folded_name, Dossier.birth_date).in_(pairs))
                   .subquery())
        return (select(members.c.id, members.c.full_name, members.c.personal_id, members.c.unit_id, OrgUnit.path,
                       members.c.birth_date, members.c.others)
                .join(OrgUnit, OrgUnit.id == members.c.unit_id)
                .where(members.c.place == 1, under(OrgUnit.path, prefixes)))

    def _undocumented(self, prefixes: Sequence[str], kinds: Sequence[str]) -> Any:
        """Applied changes of kinds that cite a paper, logged without its number: each with its dossier,
        for the unit answerable when it was logged."""
        return (select(ChangeEvent.id.label("event_id"), ChangeEvent.kind.label("change_kind"), ChangeEvent.effective_on,
                       ChangeEvent.unit_id, OrgUnit.path, Dossier.id, Dossier.full_name, Dossier.personal_id)
                .join(Dossier, Dossier.id == ChangeEvent.dossier_id)
                .join(OrgUnit, OrgUnit.id == ChangeEvent.unit_id)
                .where(ChangeEvent.status == "applied", ChangeEvent.kind.in_(list(kinds)),
                       or_(ChangeEvent.doc_number.is_(None), ChangeEvent.doc_number == ""),
                       under(OrgUnit.path, prefixes)))

    async def candidates(self, prefixes: Sequence[str], rules: FlagRules, paper_kinds: Sequence[str],
                         order: Sequence[str]) -> AsyncIterator[list[dict[str, Any]]]:
        """Every candidate finding within `prefixes`, one row each, in the order they are listed: by the
        unit's path, the kind's place in `order`, the full name, the dossier, the change. Streamed in
        batches from one query (a server-side cursor on PostgreSQL), never all held: a province has
        hundreds of thousands. On PostgreSQL a statement before it finds the dossiers that break a rule
        (`_tested_at_once`); their ids are held meanwhile.

        Each row has "kind" (a flag of `_flagged`, "duplicate_person" or "no_source_document"), the
        dossier ("id", "full_name", "personal_id"), the unit answerable ("unit_id", "path"), and what
        its kind needs: the dossier's FACTS and "merged_into_id" for a flag, "birth_date" and "others"
        for a duplicate, "event_id", "change_kind" and "effective_on" for a change."""
        tested, names = self._flagged(prefixes, rules)
        flagged = (await self._tested_at_once(tested) if self.dialect == "postgresql" else tested).cte("flagged")
        duplicates = self._duplicates(prefixes).subquery()
        undocumented = self._undocumented(prefixes, paper_kinds).subquery()
        columns: dict[str, Any] = {name: getattr(Dossier, name).type for name in FACTS}
        columns.update(merged_into_id=OrgUnit.merged_into_id.type, others=String(), event_id=Integer(),
                       change_kind=String(), effective_on=Date())

        def branch(kind: str, source: Any, *where: Any) -> Any:
            given = set(source.c.keys())
            return select(literal(order.index(kind)).label("place"), literal(kind).label("kind"), source.c.id,
                          source.c.full_name, source.c.personal_id, source.c.unit_id, source.c.path,
                          *(source.c[name] if name in given else cast(null(), type_).label(name)
                            for name, type_ in columns.items())).where(*where)

        parts = [branch(name, flagged, flagged.c[f"flag.{name}"] == 1,
                        *((not_(self._disciplined(flagged)),) if name == "salary_overdue" else ()))
                 for name in names]
        parts += [branch("duplicate_person", duplicates), branch("no_source_document", undocumented)]
        found = union_all(*parts).subquery()
        # Python's order of strings (code points): the bytes' order, whatever the database's collation.
        exact = (lambda column: column.collate("C")) if self.dialect == "postgresql" else (lambda column: column)
        query = (select(found).order_by(exact(found.c.path), found.c.place, exact(found.c.full_name), found.c.id,
                                        found.c.event_id)
                 .execution_options(yield_per=BATCH))
        result = await self.session.stream(query)
        async for batch in result.mappings().partitions():
            yield [dict(row) for row in batch]

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
