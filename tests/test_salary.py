"""Salary steps: the scale, regular raises, the over-ceiling allowance, rank raises and raise dates."""

from __future__ import annotations

import datetime as dt

import pytest

from services.core.errors import InvalidInput
from services.regime.profiles import SalaryRule, load_profile
from services.regime.salary import (
    SalaryStep,
    next_step,
    raise_due,
    raise_months,
    salary_scale,
    step_on_new_rank,
    steps_of,
)


@pytest.fixture
def rule() -> SalaryRule:
    return load_profile("vn-2026").salary


def test_the_profile_rule_used_here() -> None:
    rule = load_profile("vn-2026").salary
    assert (rule.over_ceiling_first_percent, rule.over_ceiling_yearly_percent) == (5, 1)
    assert (rule.raise_months_college_or_higher, rule.raise_months_lower) == (36, 24)


def test_salary_scale_reads_the_reference_table() -> None:
    scale = salary_scale()
    assert set(scale) == {"A3.1", "A3.2", "A2.1", "A2.2", "A1", "A0", "B", "C1"}
    assert scale["A1"] == (2.34, 2.67, 3.00, 3.33, 3.66, 3.99, 4.32, 4.65, 4.98)
    assert len(scale["A0"]) == 10 and len(scale["B"]) == 12 and len(scale["A3.1"]) == 6
    assert scale["B"][0] == 1.86 and scale["C1"][-1] == 3.63
    assert all(isinstance(c, float) for steps in scale.values() for c in steps)
    for group, steps in scale.items():
        assert list(steps) == sorted(steps), group
        assert len(set(steps)) == len(steps), group


def test_next_step_within_the_table(rule: SalaryRule) -> None:
    assert next_step("A1", SalaryStep(3, 3.00), rule) == SalaryStep(4, 3.33)
    assert next_step("B", SalaryStep(1, 1.86), rule) == SalaryStep(2, 2.06)
    assert next_step("A1", SalaryStep(8, 4.65), rule) == SalaryStep(9, 4.98)
    assert next_step("A3.1", SalaryStep(1, 6.20), rule) == SalaryStep(2, 6.56)


def test_from_the_last_step_the_over_ceiling_allowance_grows_by_a_point(rule: SalaryRule) -> None:
    first = next_step("A1", SalaryStep(9, 4.98), rule)
    assert first == SalaryStep(9, 4.98, 5)
    second = next_step("A1", first, rule)
    assert second == SalaryStep(9, 4.98, 6)
    assert next_step("A1", second, rule) == SalaryStep(9, 4.98, 7)
    assert next_step("B", SalaryStep(12, 4.06), rule) == SalaryStep(12, 4.06, 5)


def test_over_ceiling_follows_the_profile_percentages() -> None:
    generous = SalaryRule(raise_months_college_or_higher=36, raise_months_lower=24,
                          over_ceiling_first_percent=7, over_ceiling_yearly_percent=2)
    first = next_step("A0", SalaryStep(10, 4.89), generous)
    assert first == SalaryStep(10, 4.89, 7)
    assert next_step("A0", first, generous) == SalaryStep(10, 4.89, 9)


@pytest.mark.parametrize("step", [0, -1, 10, 42])
def test_a_step_outside_the_table_is_refused(rule: SalaryRule, step: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        next_step("A1", SalaryStep(step, 3.00), rule)
    assert refused.value.field == "salary_step"
    assert refused.value.params == {"step": step, "last": 9}


@pytest.mark.parametrize("group", ["Z9", "", None, "a1"])
def test_an_unknown_group_is_refused_as_a_rank_problem(rule: SalaryRule, group: str | None) -> None:
    with pytest.raises(InvalidInput) as refused:
        next_step(group, SalaryStep(1, 2.34), rule)
    assert refused.value.field == "rank_code"
    with pytest.raises(InvalidInput) as refused_too:
        step_on_new_rank(group, 3.0)
    assert refused_too.value.field == "rank_code"
    with pytest.raises(InvalidInput):
        steps_of(group)


def test_rank_raise_takes_the_first_step_not_below_the_current_coefficient() -> None:
    # A0 step 4 is 3.03; on A1, step 3 (3.00) would be lower, step 4 (3.33) is the first at least 3.03.
    a0_step_4 = salary_scale()["A0"][3]
    assert a0_step_4 == 3.03
    assert step_on_new_rank("A1", a0_step_4) == SalaryStep(4, 3.33)
    # B step 3 (2.26) to A0: 2.10 and 2.41 → 2.41 is step 2.
    assert step_on_new_rank("A0", 2.26) == SalaryStep(2, 2.41)
    # C1 step 3 (2.01) to B: 1.86 < 2.01 ≤ 2.06.
    assert step_on_new_rank("B", 2.01) == SalaryStep(2, 2.06)


def test_rank_raise_with_an_equal_coefficient_keeps_it() -> None:
    assert step_on_new_rank("A1", 3.00) == SalaryStep(3, 3.00)
    # A coefficient computed by arithmetic (2.67 + 0.33 is not exactly 3.0 as a float) still matches.
    assert step_on_new_rank("A1", 2.67 + 0.33) == SalaryStep(3, 3.00)


def test_rank_raise_without_a_coefficient_starts_at_step_one() -> None:
    assert step_on_new_rank("A2.1", None) == SalaryStep(1, 4.40)


def test_rank_raise_above_the_whole_table_stays_on_the_last_step() -> None:
    assert step_on_new_rank("A1", 4.89) == SalaryStep(9, 4.98)
    assert step_on_new_rank("A1", 5.50) == SalaryStep(9, 4.98)


@pytest.mark.parametrize(("since", "months", "due"), [
    (dt.date(2026, 1, 31), 36, dt.date(2029, 1, 31)),
    (dt.date(2024, 2, 29), 24, dt.date(2026, 2, 28)),   # no 29/02 in 2026
    (dt.date(2024, 2, 29), 48, dt.date(2028, 2, 29)),   # 2028 is a leap year
    (dt.date(2026, 8, 31), 6, dt.date(2027, 2, 28)),    # February 2027 has 28 days
    (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
    (dt.date(2026, 3, 31), 1, dt.date(2026, 4, 30)),
    (dt.date(2026, 12, 15), 1, dt.date(2027, 1, 15)),   # December → January of the next year
    (dt.date(2026, 7, 1), 12, dt.date(2027, 7, 1)),
    (dt.date(2026, 7, 1), 0, dt.date(2026, 7, 1)),
])
def test_raise_due(since: dt.date, months: int, due: dt.date) -> None:
    assert raise_due(since, months) == due


def test_raise_months_prefers_the_ranks_own_period(rule: SalaryRule) -> None:
    assert raise_months({"group": "B", "raise_months": 36}, rule) == 36
    assert raise_months({"group": "A1", "raise_months": 24}, rule) == 24


def test_raise_months_falls_back_on_the_group(rule: SalaryRule) -> None:
    assert raise_months({"group": "B"}, rule) == rule.raise_months_lower == 24
    assert raise_months({"group": "C1"}, rule) == 24
    assert raise_months({"group": "A1"}, rule) == rule.raise_months_college_or_higher == 36
    assert raise_months({"group": "A0"}, rule) == 36
    assert raise_months({}, rule) == 36
    # A period that is not a positive whole number of months is ignored.
    assert raise_months({"group": "B", "raise_months": 0}, rule) == 24
    assert raise_months({"group": "B", "raise_months": "12"}, rule) == 24
