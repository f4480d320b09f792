"""Salary steps: the next step of a regular raise, and the step on a new rank.

The coefficients are data (reference/salary_scale.toml); the raise periods are the profile's. From the
last step of a group, a regular raise gives the over-ceiling allowance instead: the profile's first
percentage, then one more point each time.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from services.core.clock import add_months
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.regime.profiles import SalaryRule


@lru_cache(maxsize=1)
def salary_scale() -> dict[str, tuple[float, ...]]:
    text = resources.files("services.regime.reference").joinpath("salary_scale.toml").read_text(encoding="utf-8")
    return {group: tuple(float(c) for c in steps) for group, steps in tomllib.loads(text)["groups"].items()}


@dataclass(frozen=True, slots=True)
class SalaryStep:
    step: int
    coefficient: float
    over_ceiling_percent: int | None = None  # set once the last step is passed


def steps_of(group: str | None) -> tuple[float, ...]:
    steps = salary_scale().get(group or "")
    if not steps:
        raise InvalidInput("rank_code", N_("The rank has no salary table; set the rank first."))
    return steps


def next_step(group: str | None, current: SalaryStep, rule: SalaryRule) -> SalaryStep:
    """The regular raise from `current`: the next step, or the over-ceiling allowance from the last one."""
    steps = steps_of(group)
    if not 1 <= current.step <= len(steps):
        raise InvalidInput("salary_step", N_("Step {step} is not on this rank's table (1 to {last})."),
                           step=current.step, last=len(steps))
    if current.step < len(steps):
        return SalaryStep(current.step + 1, steps[current.step])
    percent = (rule.over_ceiling_first_percent if not current.over_ceiling_percent
               else current.over_ceiling_percent + rule.over_ceiling_yearly_percent)
    return SalaryStep(current.step, steps[-1], percent)


COEFFICIENT_TOLERANCE = 0.005  # coefficients are written with two decimals


def table_coefficient(group: str | None, step: int | None) -> float | None:
    """The table's coefficient for `step` on the rank's group; None when the group or the step is not on it."""
    steps = salary_scale().get(group or "")
    if not steps or step is None or not 1 <= step <= len(steps):
        return None
    return steps[step - 1]


def same_coefficient(first: float, second: float) -> bool:
    return abs(first - second) < COEFFICIENT_TOLERANCE


def off_the_table(group: str | None, step: int | None, coefficient: float | None) -> float | None:
    """The table's coefficient when a dossier's step and coefficient do not match its rank's table (the
    step beyond the table: 0.0); None when they match, or when there is nothing to compare (no table for
    the rank, no step or no coefficient)."""
    steps = salary_scale().get(group or "")
    if not steps or step is None or coefficient is None:
        return None
    table = table_coefficient(group, step)
    if table is None:
        return 0.0
    return None if same_coefficient(table, coefficient) else table


def step_on_new_rank(group: str | None, coefficient: float | None) -> SalaryStep:
    """On a rank raise the person takes the first step of the new table whose coefficient is at least
    the current one (never a lower salary); step 1 without a current coefficient."""
    steps = steps_of(group)
    if coefficient is None:
        return SalaryStep(1, steps[0])
    for number, value in enumerate(steps, start=1):
        if value >= coefficient - 1e-9:
            return SalaryStep(number, value)
    return SalaryStep(len(steps), steps[-1])


def raise_due(since: dt.date, months: int) -> dt.date:
    """The date a regular raise falls due, `months` after the current step's date."""
    return add_months(since, months)


OVER_CEILING_MONTHS = 12  # past the last step, the allowance grows by a point a year


def step_period(rank_extra: dict[str, object], rule: SalaryRule, over_ceiling_percent: int | None) -> int:
    """How long the current step lasts before the next regular raise falls due, in months."""
    return OVER_CEILING_MONTHS if over_ceiling_percent else raise_months(rank_extra, rule)


def postponed_months(since: dt.date, postponements: list[tuple[dt.date, int]]) -> int:
    """The months by which decisions taken during the current step put its raise off."""
    return sum(months for effective_on, months in postponements if effective_on >= since)


def raise_months(rank_extra: dict[str, object], rule: SalaryRule) -> int:
    """The rank's own period if the reference list gives one, else the profile's by education level."""
    months = rank_extra.get("raise_months")
    if isinstance(months, int) and not isinstance(months, bool) and months > 0:
        return months
    return rule.raise_months_lower if rank_extra.get("group") in ("B", "C1") else rule.raise_months_college_or_higher
