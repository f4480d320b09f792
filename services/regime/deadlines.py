"""Deadlines of the regulation profiles: so many calendar days, or so many working days, after a date.

Working days are Monday to Friday, minus Vietnam's public holidays (the `holidays` package, which knows
the lunar dates of Tết and the Hùng Kings) and minus the extra days off the admin adds, such as an
extended Tết break decided by the government that year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from services.regime.profiles import Deadline

SATURDAY = 5


@lru_cache(maxsize=64)
def _public_holidays(year: int) -> frozenset[dt.date]:
    import holidays  # at the first count, not at import: the package loads every country's calendars

    return frozenset(holidays.country_holidays("VN", years=year).keys())


def public_holidays(year: int, locale: str = "vi") -> list[tuple[dt.date, str]]:
    """Vietnam's public holidays of a year, named in `locale` (vi or en), in date order."""
    import holidays  # see _public_holidays

    language = "vi" if locale == "vi" else "en_US"
    return sorted(holidays.country_holidays("VN", years=year, language=language).items())


@dataclass(frozen=True, slots=True)
class WorkingCalendar:
    extra_days_off: frozenset[dt.date] = field(default_factory=frozenset)

    @classmethod
    def with_days_off(cls, days: Iterable[dt.date]) -> WorkingCalendar:
        return cls(frozenset(days))

    def is_working_day(self, day: dt.date) -> bool:
        return (day.weekday() < SATURDAY and day not in _public_holidays(day.year)
                and day not in self.extra_days_off)

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The `days`-th working day after `start` (`start` itself is not counted)."""
        day, left = start, days
        while left > 0:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def next_working_day(self, day: dt.date) -> dt.date:
        """`day` itself when it is a working day, else the next one."""
        while not self.is_working_day(day):
            day += dt.timedelta(days=1)
        return day


def deadline_for(start: dt.date, rule: Deadline, calendar: WorkingCalendar) -> dt.date:
    """The last day on which something due `rule.days` after `start` is still on time. A period in
    calendar days that ends on a day off ends on the next working day (Bộ luật Dân sự 2015, Art. 148)."""
    if rule.unit == "working":
        return calendar.add_working_days(start, rule.days)
    return calendar.next_working_day(start + dt.timedelta(days=rule.days))


def counted_from(decision_date: dt.date | None, effective_on: dt.date) -> dt.date:
    """The day a deadline counts from: the day the paper takes effect ("kể từ ngày văn bản có hiệu lực"),
    and a paper takes effect no earlier than it is signed. An effective date before the signature (a
    salary decision's "hưởng từ ngày", a recruitment dated back) is the date of the benefit, not of the
    paper, so the later of the two counts."""
    return max(decision_date, effective_on) if decision_date is not None else effective_on


def on_time(entered_on: dt.date, deadline: dt.date) -> bool:
    return entered_on <= deadline
