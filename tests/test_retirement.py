"""Retirement ages and dates against Nghị định 135/2020/NĐ-CP, Appendix I, and the notice/decision
lead times. Each expected date is worked out in the comment beside it."""

from __future__ import annotations

import datetime as dt

import pytest

from services.regime.retirement import decision_due, notice_due, retirement_age, retirement_date

D = dt.date


@pytest.mark.parametrize(("sex", "year", "age"), [
    ("M", 2015, (60, 0)), ("M", 2020, (60, 0)), ("M", 2021, (60, 3)), ("M", 2022, (60, 6)),
    ("M", 2023, (60, 9)), ("M", 2024, (61, 0)), ("M", 2027, (61, 9)), ("M", 2028, (62, 0)),
    ("M", 2040, (62, 0)),
    ("F", 2020, (55, 0)), ("F", 2021, (55, 4)), ("F", 2022, (55, 8)), ("F", 2023, (56, 0)),
    ("F", 2034, (59, 8)), ("F", 2035, (60, 0)), ("F", 2050, (60, 0)),
])
def test_retirement_age_by_year(sex, year, age):
    assert retirement_age(sex, year) == age


@pytest.mark.parametrize(("born", "retires", "age"), [
    (D(1960, 5, 10), D(2020, 5, 31), (60, 0)),    # 05/1960 + 60y = 05/2020, before 2021: the old age
    (D(1960, 12, 31), D(2020, 12, 31), (60, 0)),  # 12/1960 + 60y = 12/2020
    (D(1961, 1, 1), D(2021, 4, 30), (60, 3)),     # 01/1961 + 60y3m = 04/2021, in 2021
    (D(1961, 1, 31), D(2021, 4, 30), (60, 3)),    # the day of birth does not matter
    (D(1961, 9, 15), D(2021, 12, 31), (60, 3)),   # 09/1961 + 60y3m = 12/2021, last of 2021
    (D(1961, 10, 1), D(2022, 4, 30), (60, 6)),    # 60y3m -> 01/2022, not 2021; 60y6m -> 04/2022
    (D(1962, 6, 20), D(2022, 12, 31), (60, 6)),   # 06/1962 + 60y6m = 12/2022
    (D(1962, 7, 1), D(2023, 4, 30), (60, 9)),     # 60y6m -> 01/2023, not 2022; 60y9m -> 04/2023
    (D(1963, 3, 8), D(2023, 12, 31), (60, 9)),    # 03/1963 + 60y9m = 12/2023
    (D(1963, 4, 2), D(2024, 4, 30), (61, 0)),     # 60y9m -> 01/2024, not 2023; 61y -> 04/2024
    (D(1963, 12, 2), D(2024, 12, 31), (61, 0)),   # 12/1963 + 61y = 12/2024
    (D(1966, 3, 5), D(2027, 12, 31), (61, 9)),    # 03/1966 + 61y9m = 12/2027
    (D(1966, 4, 5), D(2028, 4, 30), (62, 0)),     # 61y9m -> 01/2028, not 2027; 62y -> 04/2028
    (D(1970, 5, 17), D(2032, 5, 31), (62, 0)),    # 05/1970 + 62y = 05/2032, the cap
])
def test_men(born, retires, age):
    assert retirement_date("M", born) == retires
    assert retirement_age("M", retires.year) == age


@pytest.mark.parametrize(("born", "retires", "age"), [
    (D(1965, 7, 1), D(2020, 7, 31), (55, 0)),     # 07/1965 + 55y = 07/2020, before 2021: the old age
    (D(1966, 1, 1), D(2021, 5, 31), (55, 4)),     # 01/1966 + 55y4m = 05/2021
    (D(1966, 8, 31), D(2021, 12, 31), (55, 4)),   # 08/1966 + 55y4m = 12/2021
    (D(1966, 9, 1), D(2022, 5, 31), (55, 8)),     # 55y4m -> 01/2022, not 2021; 55y8m -> 05/2022
    (D(1967, 4, 30), D(2022, 12, 31), (55, 8)),   # 04/1967 + 55y8m = 12/2022
    (D(1967, 5, 1), D(2023, 5, 31), (56, 0)),     # 55y8m -> 01/2023, not 2022; 56y -> 05/2023
    (D(1975, 4, 1), D(2034, 12, 31), (59, 8)),    # 04/1975 + 59y8m = 12/2034
    (D(1975, 5, 1), D(2035, 5, 31), (60, 0)),     # 59y8m -> 01/2035, not 2034; 60y -> 05/2035
    (D(1980, 1, 1), D(2040, 1, 31), (60, 0)),     # 01/1980 + 60y = 01/2040, the cap
    (D(1980, 12, 31), D(2040, 12, 31), (60, 0)),  # 12/1980 + 60y = 12/2040
])
def test_women(born, retires, age):
    assert retirement_date("F", born) == retires
    assert retirement_age("F", retires.year) == age


@pytest.mark.parametrize("sex", ["M", "F"])
def test_every_birth_month_retires_at_the_age_of_its_year_in_order(sex):
    previous = None
    for year in range(1950, 1995):
        for month in range(1, 13):
            retires = retirement_date(sex, D(year, month, 1))
            years, months = divmod((retires.year - year) * 12 + retires.month - month, 12)
            assert (years, months) == retirement_age(sex, retires.year)
            assert (retires + dt.timedelta(days=1)).day == 1  # a month's last day
            assert previous is None or retires > previous  # a later birth month never retires earlier
            previous = retires


@pytest.mark.parametrize(("retires", "notice", "decision"), [
    (D(2027, 12, 31), D(2027, 6, 30), D(2027, 9, 30)),   # 31/06 and 31/09 do not exist
    (D(2028, 5, 31), D(2027, 11, 30), D(2028, 2, 29)),   # across the year; 2028 is a leap year
    (D(2027, 8, 31), D(2027, 2, 28), D(2027, 5, 31)),    # 2027 is not
    (D(2028, 4, 30), D(2027, 10, 30), D(2028, 1, 30)),   # the day is kept, not moved to the month end
    (D(2021, 4, 30), D(2020, 10, 30), D(2021, 1, 30)),
])
def test_notice_and_decision(retires, notice, decision):
    assert notice_due(retires) == notice
    assert decision_due(retires) == decision


def test_sex_must_be_m_or_f():
    with pytest.raises(ValueError, match="sex"):
        retirement_age("X", 2025)
    with pytest.raises(ValueError, match="sex"):
        retirement_date("m", D(1970, 1, 1))
