"""Deadlines of the regulation profiles against fixed dates of 2026: calendar days, working days, Tết.

A period in calendar days that ends on a day off (weekend, public holiday, admin's extra day off) ends
on the next working day (Bộ luật Dân sự 2015, Article 148). 01/01/2026 is a Thursday, 01/01/2027 a Friday.
"""

from __future__ import annotations

import datetime as dt

import pytest

from services.regime.deadlines import WorkingCalendar, deadline_for, on_time
from services.regime.profiles import Deadline, load_profile

CALENDAR = WorkingCalendar()


def d(day: int, month: int, year: int = 2026) -> dt.date:
    return dt.date(year, month, day)


def test_profiles_carry_the_documented_rules() -> None:
    assert load_profile("hau-giang-2016").new_dossier_deadline == Deadline(days=30, unit="calendar")
    assert load_profile("hcmc-2013").new_dossier_deadline == Deadline(days=60, unit="calendar")
    for name in ("hau-giang-2016", "hcmc-2013"):
        assert load_profile(name).change_deadline == Deadline(days=15, unit="calendar")
    vn = load_profile("vn-2026")
    assert vn.new_dossier_deadline == vn.change_deadline == Deadline(days=3, unit="working")


@pytest.mark.parametrize(("start", "expected"), [
    # 11 days left in January + 19 in February = Thu 19/02, the third day of Tết; Fri 20/02 is Tết
    # too, then the weekend: the deadline moves to Mon 23/02.
    (d(20, 1), d(23, 2)),
    # February 2026 has 28 days: 28/02 is day 28, 01/03 day 29, Mon 02/03 day 30 (a working day).
    (d(31, 1), d(2, 3)),
    (d(1, 2), d(3, 3)),            # Tue 03/03, a working day
    (d(15, 12), d(14, 1, 2027)),   # Thu 14/01/2027, a working day
])
def test_hau_giang_new_dossier_within_30_calendar_days(start: dt.date, expected: dt.date) -> None:
    rule = load_profile("hau-giang-2016").new_dossier_deadline
    assert deadline_for(start, rule, CALENDAR) == expected


@pytest.mark.parametrize(("start", "expected"), [
    (d(20, 1), d(23, 3)),   # 11 (January) + 28 (February) + 21 (March) = 60: Sat 21/03 → Mon 23/03
    (d(31, 1), d(1, 4)),    # 28 + 31 + 1 = 60: Wed 01/04, a working day
    (d(1, 11), d(31, 12)),  # 29 (November) + 31 (December) = 60: Thu 31/12, a working day
])
def test_hcmc_new_dossier_within_60_calendar_days(start: dt.date, expected: dt.date) -> None:
    rule = load_profile("hcmc-2013").new_dossier_deadline
    assert deadline_for(start, rule, CALENDAR) == expected


@pytest.mark.parametrize("profile", ["hau-giang-2016", "hcmc-2013"])
@pytest.mark.parametrize(("start", "expected"), [
    (d(20, 2), d(9, 3)),          # 8 days of February 2026 + 7 of March = Sat 07/03 → Mon 09/03
    (d(16, 4), d(4, 5)),          # Fri 01/05 is Labour Day, then the weekend → Mon 04/05
    (d(25, 12), d(11, 1, 2027)),  # across the year end: Sat 09/01/2027 → Mon 11/01/2027
    (d(17, 2), d(4, 3)),          # 11 days of February + 4 of March = Wed 04/03, a working day
])
def test_change_within_15_calendar_days(profile: str, start: dt.date, expected: dt.date) -> None:
    assert deadline_for(start, load_profile(profile).change_deadline, CALENDAR) == expected


def test_a_calendar_deadline_on_a_day_off_moves_to_the_next_working_day() -> None:
    thirty = load_profile("hau-giang-2016").new_dossier_deadline
    sixty = load_profile("hcmc-2013").new_dossier_deadline
    fifteen = load_profile("hau-giang-2016").change_deadline
    # On a weekend: 20/01 + 60 = Sat 21/03 → Mon 23/03.
    assert deadline_for(d(20, 1), sixty, CALENDAR) == d(23, 3)
    # On a public holiday: 20/01 + 30 = Thu 19/02, third day of Tết → Mon 23/02.
    assert deadline_for(d(20, 1), thirty, CALENDAR) == d(23, 2)
    # On the observed Hùng Kings holiday: 12/04 + 15 = Mon 27/04 → Tue 28/04.
    assert deadline_for(d(12, 4), fifteen, CALENDAR) == d(28, 4)
    # On an admin's extra day off: 01/02 + 30 = Tue 03/03, closed → Wed 04/03; two days closed → Thu 05/03.
    assert deadline_for(d(1, 2), thirty, WorkingCalendar.with_days_off([d(3, 3)])) == d(4, 3)
    assert deadline_for(d(1, 2), thirty, WorkingCalendar.with_days_off([d(3, 3), d(4, 3)])) == d(5, 3)
    # Tết extended by the admin to Mon 23/02: 20/01 + 30 now ends on Tue 24/02.
    assert deadline_for(d(20, 1), thirty, WorkingCalendar.with_days_off([d(23, 2)])) == d(24, 2)
    # On a working day the deadline stays, and days off inside the period do not lengthen it.
    assert deadline_for(d(1, 2), thirty, CALENDAR) == d(3, 3)
    closed = WorkingCalendar.with_days_off([d(2, 2), d(3, 2)])
    assert deadline_for(d(1, 2), thirty, closed) == d(3, 3)
    assert deadline_for(d(31, 1), sixty, closed) == d(1, 4)


@pytest.mark.parametrize(("effective", "expected"), [
    # Fri 13/02: Sat 14, Sun 15, Tết Mon 16 – Fri 20, Sat 21, Sun 22; then Mon 23, Tue 24, Wed 25.
    (d(13, 2), d(25, 2)),
    # Thu 12/02: Fri 13 is the first working day, then Mon 23 and Tue 24.
    (d(12, 2), d(24, 2)),
    # Effective during Tết itself: Mon 23, Tue 24, Wed 25.
    (d(17, 2), d(25, 2)),
    # An ordinary weekend: Fri 06, Mon 09, Tue 10.
    (d(5, 3), d(10, 3)),
    # Effective on a Saturday: Mon 09, Tue 10, Wed 11.
    (d(7, 3), d(11, 3)),
    # Hùng Kings (observed Mon 27/04), 30/04 and 01/05: Tue 28, Wed 29, then Mon 04/05.
    (d(24, 4), d(4, 5)),
    # Into the next year's calendar: 01/01/2027 (Friday) is New Year's Day: Mon 04, Tue 05, Wed 06.
    (d(31, 12), d(6, 1, 2027)),
])
def test_three_working_days_under_vn_2026(effective: dt.date, expected: dt.date) -> None:
    rule = load_profile("vn-2026").change_deadline
    assert deadline_for(effective, rule, CALENDAR) == expected
    assert deadline_for(effective, load_profile("vn-2026").new_dossier_deadline, CALENDAR) == expected


def test_a_day_off_added_by_the_admin_pushes_the_deadline_by_one_working_day() -> None:
    rule = load_profile("vn-2026").change_deadline
    assert deadline_for(d(5, 3), rule, CALENDAR) == d(10, 3)
    # Mon 09/03 closed: Fri 06, Tue 10, Wed 11.
    assert deadline_for(d(5, 3), rule, WorkingCalendar.with_days_off([d(9, 3)])) == d(11, 3)
    # Tết extended to Mon 23/02: Fri 13/02 now leads to Tue 24, Wed 25, Thu 26.
    assert deadline_for(d(13, 2), rule, WorkingCalendar.with_days_off([d(23, 2)])) == d(26, 2)


def test_a_day_off_on_a_weekend_or_holiday_changes_nothing() -> None:
    rule = load_profile("vn-2026").change_deadline
    on_weekend = WorkingCalendar.with_days_off([d(7, 3), d(8, 3)])
    assert deadline_for(d(5, 3), rule, on_weekend) == d(10, 3)
    on_holiday = WorkingCalendar.with_days_off([d(18, 2)])
    assert deadline_for(d(13, 2), rule, on_holiday) == d(25, 2)


def test_with_days_off_accepts_any_iterable() -> None:
    calendar = WorkingCalendar.with_days_off(day for day in [d(9, 3), d(9, 3)])
    assert calendar.extra_days_off == frozenset({d(9, 3)})
    assert not calendar.is_working_day(d(9, 3))
    assert CALENDAR.is_working_day(d(9, 3))


@pytest.mark.parametrize(("day", "working"), [
    (d(1, 1), False),   # New Year's Day, a Thursday
    (d(2, 1), True),    # Friday
    (d(3, 1), False),   # Saturday
    (d(4, 1), False),   # Sunday
    (d(16, 2), False),  # Tết (Monday)
    (d(20, 2), False),  # Tết (Friday)
    (d(23, 2), True),   # Monday after Tết
    (d(30, 4), False),  # Reunification Day, a Thursday
    (d(1, 5), False),   # Labour Day, a Friday
    (d(2, 9), False),   # National Day, a Wednesday
    (d(3, 9), True),    # Thursday
    (d(7, 3), False),   # an ordinary Saturday
    (d(5, 3), True),    # an ordinary Thursday
])
def test_is_working_day(day: dt.date, working: bool) -> None:
    assert CALENDAR.is_working_day(day) is working


@pytest.mark.parametrize(("day", "expected"), [
    (d(1, 1), d(2, 1)),     # Thu holiday → Fri
    (d(30, 4), d(4, 5)),    # Thu 30/04, Fri 01/05, the weekend → Mon 04/05
    (d(2, 9), d(3, 9)),     # Wed 02/09 → Thu 03/09
    (d(7, 3), d(9, 3)),     # Saturday → Monday
    (d(14, 2), d(23, 2)),   # Saturday before Tết → Monday after it
    (d(5, 3), d(5, 3)),     # a working day is its own next working day
])
def test_next_working_day(day: dt.date, expected: dt.date) -> None:
    assert CALENDAR.next_working_day(day) == expected


def test_next_working_day_skips_the_admins_days_off() -> None:
    calendar = WorkingCalendar.with_days_off([d(2, 1)])
    assert calendar.next_working_day(d(1, 1)) == d(5, 1)  # Fri 02/01 off, then the weekend


def test_on_time_up_to_and_including_the_deadline() -> None:
    deadline = deadline_for(d(13, 2), load_profile("vn-2026").change_deadline, CALENDAR)
    assert deadline == d(25, 2)
    assert on_time(d(24, 2), deadline)
    assert on_time(d(25, 2), deadline)
    assert not on_time(d(26, 2), deadline)
    assert not on_time(d(1, 3), deadline)
