"""Retirement age and dates under normal working conditions.

Bộ luật Lao động 2019, Art. 169, and Nghị định 135/2020/NĐ-CP (Art. 4 and its Appendix I) raise the
retirement age step by step, by the year in which the age is reached:

- men: 60 years 3 months in 2021, then 3 months more each year, until 62 years in 2028;
- women: 55 years 4 months in 2021, then 4 months more each year, until 60 years in 2035.

Anyone who reached the old age (60 for men, 55 for women) before 2021 retired at that age, and from
2028 (men) or 2035 (women) on the age stays at the cap. So the age a person must reach depends on the
year in which they reach it: their retirement month is the month of birth date + required(Y), for the
year Y that this month falls in. Only the month counts, not the day of birth. Nghị định 135/2020 puts
the retirement at the end of the last day of that month.

The lead times are those of the civil-service procedure (restated in Quyết định 727/QĐ-BNV/2025): a
written notice of the retirement date 6 months before it, the retirement decision 3 months before it.
Going back whole months keeps the day of the month and falls back to the month's last day when that
month is shorter (31/05 → 30/11 and 29/02 in a leap year).

Pure functions; no database, no clock.
"""

from __future__ import annotations

import calendar
import datetime as dt

from services.core.clock import add_months

FIRST_YEAR = 2021  # the first year of the new ages
# sex: (age before FIRST_YEAR, months added for each year from FIRST_YEAR, cap), ages in months
_RULES: dict[str, tuple[int, int, int]] = {
    "M": (60 * 12, 3, 62 * 12),
    "F": (55 * 12, 4, 60 * 12),
}
_EARLIEST = 55  # no one retires (under normal conditions) before this age, so start looking there


def _required_months(sex: str, year: int) -> int:
    try:
        before, step, cap = _RULES[sex]
    except KeyError:
        raise ValueError(f"sex must be 'M' or 'F', not {sex!r}") from None
    if year < FIRST_YEAR:
        return before
    return min(cap, before + step * (year - FIRST_YEAR + 1))


def retirement_age(sex: str, year: int) -> tuple[int, int]:
    """The retirement age (years, months) for someone who reaches it in `year`; `sex` is "M" or "F"."""
    years, months = divmod(_required_months(sex, year), 12)
    return years, months


def _month_end(index: int) -> dt.date:
    """The last day of a month counted as year * 12 + (month - 1)."""
    year, month0 = divmod(index, 12)
    return dt.date(year, month0 + 1, calendar.monthrange(year, month0 + 1)[1])


def retirement_date(sex: str, birth_date: dt.date) -> dt.date:
    """The last day of the month in which the person reaches the retirement age of that year."""
    born = birth_date.year * 12 + birth_date.month - 1
    # The month reached, birth + required(Y), moves by at most 4 months when Y moves by a year, so
    # "year reached - Y" starts >= 0 and falls by 0 or 1 at each step: it hits 0 exactly once first.
    for year in range(birth_date.year + _EARLIEST, birth_date.year + 100):
        reached = born + _required_months(sex, year)
        if reached // 12 == year:
            return _month_end(reached)
    raise AssertionError(f"no retirement year found for {birth_date}")  # pragma: no cover


def notice_due(retirement: dt.date) -> dt.date:
    """The day by which the written notice of the retirement date is due: 6 months before it."""
    return add_months(retirement, -6)


def decision_due(retirement: dt.date) -> dt.date:
    """The day by which the retirement decision is due: 3 months before the retirement date."""
    return add_months(retirement, -3)
