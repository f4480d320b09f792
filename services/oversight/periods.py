"""The half-yearly reporting periods: due dates from the regime's profile, the data window of each period
(from the previous due date to the day before this one), and which period /report opens on a day."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.regime.profiles import Profile

PERIOD = re.compile(r"^(\d{4})-H([12])$")
FIRST_YEAR, LAST_YEAR = 2000, 2100
# How a period reads in a title; the code ("2026-H2") stays what a command is typed with.
HALVES = {"1": N_("January to June {year}"), "2": N_("July to December {year}")}
OVERDUE_DAYS = 62  # after the due date, a late report is chased this long (and is what /report opens)


@dataclass(frozen=True, slots=True)
class Period:
    code: str  # "2026-H2"
    due: dt.date  # due *before* this day
    start: dt.date  # the first day of its data
    end: dt.date  # the last day of its data: the day before the due date

    def as_of(self, today: dt.date) -> dt.date:
        return min(today, self.end)


def due_dates(profile: Profile, year: int) -> list[dt.date]:
    """The year's due dates of the report (it is due *before* each)."""
    return sorted(dt.date(year, int(mm_dd[:2]), int(mm_dd[3:])) for mm_dd in profile.reports.due_dates)


def period_code(due: dt.date) -> str:
    return f"{due.year}-H{1 if due.month <= 6 else 2}"


def period_title(code: str, translate: Callable[[str], str]) -> str:
    """The period as a reader names it: "6 tháng cuối năm 2026" for 2026-H2 (a code it cannot read, as is)."""
    match = PERIOD.match(code)
    return translate(HALVES[match.group(2)]).format(year=match.group(1)) if match else code


def _period(due: dt.date, profile: Profile) -> Period:
    earlier = [d for year in (due.year - 1, due.year) for d in due_dates(profile, year) if d < due]
    return Period(period_code(due), due, max(earlier), due - dt.timedelta(days=1))


def period_for(today: dt.date, profile: Profile) -> Period:
    """The period being reported now: the one whose due date is the next to come."""
    due = min(d for year in (today.year, today.year + 1) for d in due_dates(profile, year) if d > today)
    return _period(due, profile)


def overdue_period(today: dt.date, profile: Profile) -> Period | None:
    """The period just past its due date, while late reports are still chased (OVERDUE_DAYS)."""
    previous = period_before(period_for(today, profile), profile)
    return previous if 0 <= (today - previous.due).days <= OVERDUE_DAYS else None


def period_before(period: Period, profile: Profile) -> Period:
    return _period(period.start, profile)


def parse_period(text: str, profile: Profile) -> Period:
    match = PERIOD.match(text.strip().upper())
    dues = []
    if match is not None and FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
        year, half = int(match.group(1)), int(match.group(2))
        dues = [d for d in due_dates(profile, year) if (d.month <= 6) == (half == 1)]
    if not dues:
        raise InvalidInput("period", N_("Not a period: {value} (e.g. 2026-H1 or 2026-H2)."), value=text)
    return _period(dues[0], profile)
