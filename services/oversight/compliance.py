"""What a unit's compliance with the regulation is measured by: its changes entered within their
deadline, its new dossiers completed in time, and what still waits on it. Section (a) of the half-yearly
report and the personnel office's inspection both read it, over their own windows of days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from services.core.clock import Clock, local_today
from services.regime.dossier_fields import MANDATORY_FIELDS
from storage import Repositories
from storage.models import OrgUnit


@dataclass(frozen=True, slots=True)
class Compliance:
    changes_on_time: int = 0
    changes_late: int = 0
    new_on_time: int = 0  # new dossiers completed within their deadline
    new_late: int = 0  # completed after it
    new_open: int = 0  # not complete yet, the deadline still ahead
    new_overdue: int = 0  # not complete, the deadline passed
    declarations: int = 0  # pending now
    transfers: int = 0
    registered: int = 0
    registered_overdue: int = 0

    @property
    def changes(self) -> int:
        return self.changes_on_time + self.changes_late

    @property
    def changes_share(self) -> float | None:
        return self.changes_on_time / self.changes if self.changes else None

    @property
    def new(self) -> int:
        return self.new_on_time + self.new_late + self.new_open + self.new_overdue

    @property
    def new_judged(self) -> int:
        """The new dossiers complete, or incomplete past their deadline: those that can be judged."""
        return self.new_on_time + self.new_late + self.new_overdue

    @property
    def new_share(self) -> float | None:
        """Of the new dossiers that can be judged, the share completed in time."""
        return self.new_on_time / self.new_judged if self.new_judged else None

    @property
    def pending(self) -> int:
        return self.declarations + self.transfers + self.registered

    def plus(self, other: Compliance) -> Compliance:
        return Compliance(**{name: getattr(self, name) + getattr(other, name) for name in asdict(self)})


def local_bounds(first: dt.date, last: dt.date, clock: Clock) -> tuple[dt.datetime, dt.datetime]:
    """The local days from `first` to `last`, both whole, as UTC instants [since, until)."""
    start = dt.datetime.combine(first, dt.time(), tzinfo=clock.tz)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=clock.tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


async def compliance_by_unit(repos: Repositories, first: dt.date, day: dt.date, clock: Clock,
                             prefixes: Sequence[str] = ("/",)) -> dict[int, Compliance]:
    """Each unit's own compliance (not yet summed up the tree) over the days from `first` to `day`, for
    the units under `prefixes`."""
    since, until = local_bounds(first, day, clock)
    values: dict[int, dict[str, int]] = {}

    def add(unit_id: int, name: str, count: int) -> None:
        values.setdefault(unit_id, {})[name] = values.get(unit_id, {}).get(name, 0) + count

    for unit_id, (on_time, late) in (await repos.reports.change_timeliness(since, until, prefixes)).items():
        add(unit_id, "changes_on_time", on_time)
        add(unit_id, "changes_late", late)
    for row in await repos.reports.new_dossiers(since, until, MANDATORY_FIELDS, prefixes):
        deadline: dt.date | None = row["deadline"]
        # When it became complete: the first version showing it so, else (an import completed it, which
        # writes no version) its last update; only if that was by `day` is it complete on `day`.
        done_at = row["complete_at"] or (row["updated_at"] if all(
            row[name] not in (None, "") for name in MANDATORY_FIELDS) else None)
        done_on = done_at.astimezone(clock.tz).date() if done_at is not None else None
        if done_on is not None and done_on <= day:
            add(row["unit_id"], "new_on_time" if deadline is None or done_on <= deadline else "new_late", 1)
        else:
            add(row["unit_id"], "new_overdue" if deadline is not None and deadline < day else "new_open", 1)
    if day >= local_today(clock):  # what waits now can be told only of today
        for unit_id, counts in (await repos.reports.pending(day, prefixes)).items():
            for name, count in counts.items():
                add(unit_id, name, count)
    return {unit_id: Compliance(**counts) for unit_id, counts in values.items()}


def rolled_up(unit: OrgUnit, units: list[OrgUnit], own: dict[int, Compliance]) -> Compliance:
    total = Compliance()
    for other in units:
        if other.path.startswith(unit.path) and other.id in own:
            total = total.plus(own[other.id])
    return total
