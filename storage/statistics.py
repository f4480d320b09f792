"""The statistics' counting: one set-based query over the dossiers, whatever the number of columns.

A column is a `Tally`: the dossiers whose field is among some values, outside some values, or falls in
a range. The service decides which raw values belong to which column (it folds and classes them); here
every column becomes one `SUM(CASE …)` of a single scan grouped by custodian unit, on SQLite and
PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, bindparam, case, exists, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChangeEvent, Dossier, OrgUnit
from storage.repositories import under

# A person is in service while active or on probation; one of these statuses ends it, from the
# effective date of the change that set it.
IN_SERVICE = ("active", "probation")
ENDED = ("retired", "resigned", "deceased", "transferred_out")
ENDING_KINDS = ("retirement", "resignation", "death")


@dataclass(frozen=True, slots=True)
class Tally:
    """One column: the dossiers whose `field` is `in` the values, `not_in` them (and not empty), or
    `between` (after the first value, up to and including the second; None leaves that side open)."""

    key: str
    field: str
    op: Literal["in", "not_in", "between"]
    values: tuple[Any, ...]


def _many(values: Sequence[Any]) -> Any:
    # Rendered into the statement at execution: a long list of distinct values must not run into the
    # drivers' limit on bound parameters.
    return bindparam(None, list(values), expanding=True, literal_execute=True)


def _condition(tally: Tally) -> ColumnElement[bool]:
    column = getattr(Dossier, tally.field)
    if tally.op == "in":
        return column.in_(_many(tally.values)) if tally.values else false()
    if tally.op == "not_in":
        filled = column.is_not(None) & (column != "")
        return and_(filled, column.not_in(_many(tally.values))) if tally.values else filled
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
    ended_later = exists().where(
        ChangeEvent.dossier_id == Dossier.id, ChangeEvent.status == "applied",
        ChangeEvent.kind.in_(ENDING_KINDS), ChangeEvent.effective_on > day)
    return and_(
        or_(Dossier.recruited_on.is_(None), Dossier.recruited_on <= day),
        or_(Dossier.employment_status.in_(IN_SERVICE), and_(Dossier.employment_status.in_(ENDED), ended_later)),
    )


class StatisticsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def distinct_values(self, fields: Sequence[str]) -> dict[str, list[str]]:
        """The values each text field holds anywhere: a few hundred at most, which the service classes."""
        found: dict[str, list[str]] = {}
        for name in fields:
            column = getattr(Dossier, name)
            query = select(column).where(column.is_not(None), column != "").distinct()
            found[name] = [str(value) for value in await self.session.scalars(query)]
        return found

    async def tallies(self, prefixes: Sequence[str], day: dt.date, tallies: Sequence[Tally]
                      ) -> dict[int, dict[str, int]]:
        """Per custodian unit within `prefixes`: the people in service on `day` ("total") and each tally."""
        columns = [func.count().label("total")]
        columns += [func.sum(case((_condition(t), 1), else_=0)).label(f"t{i}") for i, t in enumerate(tallies)]
        query = (
            select(Dossier.custodian_unit_id, *columns)
            .join(OrgUnit, OrgUnit.id == Dossier.custodian_unit_id)
            .where(under(OrgUnit.path, prefixes), in_service_on(day))
            .group_by(Dossier.custodian_unit_id)
        )
        result: dict[int, dict[str, int]] = {}
        for row in await self.session.execute(query):
            values = {"total": int(row.total)}
            values.update({t.key: int(row[i + 2] or 0) for i, t in enumerate(tallies)})
            result[int(row[0])] = values
        return result
