"""The statistics' counting: one aggregate over the dossiers in service, whatever the number of columns.

Two kinds of figure come out of it, per custodian unit. A `Tally` is a test on the dossier (its field
among some values, or in a range): each is a yes/no key of one grouping, so the people of a unit are
counted by the combination of tallies they meet. A typed field (a qualification, an ethnicity, a rank
code) is counted by its raw values, each field a grouping of its own: the service folds and classes the
values it finds (a few hundred at most) into its columns. On PostgreSQL the groupings are the GROUPING
SETS of one scan; SQLite has none, so there each grouping reads the dossiers in service once more from a
materialised table of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    false,
    func,
    literal,
    null,
    or_,
    select,
    tuple_,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import NullType

from storage.models import ChangeEvent, Dossier, OrgUnit
from storage.repositories import run_shared, under

# A person is in service while active or on probation; one of these statuses ends it, from the
# effective date of the change that set it.
IN_SERVICE = ("active", "probation")
ENDED = ("retired", "resigned", "deceased", "transferred_out")
ENDING_KINDS = ("retirement", "resignation", "death")


@dataclass(frozen=True, slots=True)
class Tally:
    """One column: the dossiers whose `field` is `in` the values, or `between` them (after the first
    value, up to and including the second; None leaves that side open)."""

    key: str
    field: str
    op: Literal["in", "between"]
    values: tuple[Any, ...]


def _many(values: Sequence[Any]) -> Any:
    # Rendered into the statement at execution: a long list of distinct values must not run into the
    # drivers' limit on bound parameters.
    return bindparam(None, list(values), expanding=True, literal_execute=True)


def _condition(tally: Tally) -> ColumnElement[bool]:
    column = getattr(Dossier, tally.field)
    if tally.op == "in":
        return column.in_(_many(tally.values)) if tally.values else false()
    low, high = tally.values
    parts = [column.is_not(None)]
    if low is not None:
        parts.append(column > low)
    if high is not None:
        parts.append(column <= high)
    return and_(*parts)


def in_service_on(day: dt.date) -> ColumnElement[bool]:
    """Recruited by `day` and not yet retired, resigned or deceased on it: a status that ended the
    service counts from its change's effective date (a person retired on `day` is no longer counted)."""
    # A set, not a lookup per row: a correlated subquery would keep PostgreSQL's scan on one core.
    ended_later = Dossier.id.in_(select(ChangeEvent.dossier_id).where(
        ChangeEvent.status == "applied", ChangeEvent.kind.in_(ENDING_KINDS), ChangeEvent.effective_on > day))
    return and_(
        or_(Dossier.recruited_on.is_(None), Dossier.recruited_on <= day),
        or_(Dossier.employment_status.in_(IN_SERVICE), and_(Dossier.employment_status.in_(ENDED), ended_later)),
    )


@dataclass(slots=True)
class Counted:
    """One custodian unit's people in service: how many, how many meet each tally, and how many hold
    each raw value of each typed field (an empty value is counted as empty, None as None)."""

    people: int
    tallies: dict[str, int]
    values: dict[str, dict[str | None, int]]


class StatisticsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect = session.bind.dialect.name if session.bind is not None else "sqlite"

    async def counted(self, prefixes: Sequence[str], day: dt.date, tallies: Sequence[Tally], fields: Sequence[str]
                      ) -> dict[int, Counted]:
        """Per custodian unit within `prefixes`, of the people in service on `day`: the tallies and the
        values of `fields`, in one aggregate."""
        unit = Dossier.custodian_unit_id.label("unit")
        flags = [_condition(t).label(f"t{i}") for i, t in enumerate(tallies)]
        typed = [getattr(Dossier, name).label(f"f{i}") for i, name in enumerate(fields)]
        serving = (select(unit, *flags, *typed).join(OrgUnit, OrgUnit.id == Dossier.custodian_unit_id)
                   .where(under(OrgUnit.path, prefixes), in_service_on(day)))
        # The groupings: every tally together, then each typed field alone; each with the unit.
        groupings = [[f"t{i}" for i in range(len(tallies))], *([f"f{i}"] for i in range(len(fields)))]
        if self.dialect == "postgresql":
            rows = await self._grouping_sets(serving.subquery("serving"), groupings)
        else:
            rows = await self._union(serving.cte("serving").prefix_with("MATERIALIZED"), groupings)
        found: dict[int, Counted] = {}
        for which, unit_id, keys, people in rows:
            counted = found.setdefault(unit_id, Counted(0, {t.key: 0 for t in tallies}, {name: {} for name in fields}))
            if which == 0:
                counted.people += people
                for tally, met in zip(tallies, keys, strict=True):
                    if met:
                        counted.tallies[tally.key] += people
            else:
                counted.values[fields[which - 1]][keys[0]] = people
        return found

    async def _grouping_sets(self, serving: Any, groupings: list[list[str]]) -> list[tuple[int, int, list[Any], int]]:
        names = [name for grouping in groupings for name in grouping]
        columns = [serving.c[name] for name in names]
        # GROUPING() of every key: the bits left at 0 name the grouping a row belongs to.
        masks = {sum(1 << (len(names) - 1 - names.index(n)) for n in names if n not in grouping): index
                 for index, grouping in enumerate(groupings)}
        query = (select(func.grouping(*columns), serving.c.unit, *columns, func.count())
                 .group_by(func.grouping_sets(*(tuple_(serving.c.unit, *(serving.c[n] for n in grouping))
                                                for grouping in groupings))))
        rows = []
        for row in await run_shared(self.session, query):
            which = masks[int(row[0])]
            rows.append((which, int(row[1]), [row[2 + names.index(n)] for n in groupings[which]], int(row[-1])))
        return rows

    async def _union(self, serving: Any, groupings: list[list[str]]) -> list[tuple[int, int, list[Any], int]]:
        width = max(len(grouping) for grouping in groupings)
        parts = []
        for index, grouping in enumerate(groupings):
            keys = [serving.c[name] for name in grouping]
            padding = [null()] * (width - len(keys))
            # Untyped: a column of the union holds the keys of every grouping (the first one's type would
            # convert the others').
            parts.append(select(literal(index), serving.c.unit, *(type_coerce(k, NullType()) for k in keys), *padding,
                                func.count())
                         .group_by(serving.c.unit, *keys))
        rows = []
        for row in await self.session.execute(union_all(*parts)):
            which = int(row[0])
            rows.append((which, int(row[1]), list(row[2:2 + len(groupings[which])]), int(row[-1])))
        return rows
