"""Regulation profiles: the rules that differ between regimes, as data (one TOML file per regime)."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_PROFILE = "vn-2026"


class Deadline(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    days: int = Field(gt=0)
    unit: Literal["calendar", "working"]


class ReportRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    due_dates: tuple[str, ...]  # "MM-DD", the report is due before this day
    reminder_offsets_days: tuple[int, ...]


class SalaryRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    raise_months_college_or_higher: int
    raise_months_lower: int
    over_ceiling_first_percent: int
    over_ceiling_yearly_percent: int


class ProbationRule(BaseModel):
    """How long a probation lasts: 12 months where the post needs a university degree (công chức loại C,
    Nghị định 138/2020 Art. 20; viên chức, Nghị định 115/2020 Art. 21), 9 for a viên chức's college-level
    title, 6 below (công chức loại D: cán sự, nhân viên)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    months_college_or_higher: int = Field(default=12, gt=0)
    months_college: int = Field(default=9, gt=0)
    months_lower: int = Field(default=6, gt=0)


class Profile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    title: str
    legal_basis: str
    unit_levels: tuple[str, ...]  # the levels of the unit tree, the province first
    # The level that files the half-yearly report (one of unit_levels); profiles installed before it was a
    # setting report from the second level, the departments and districts right under the province.
    report_level: str | None = None
    new_dossier_deadline: Deadline
    change_deadline: Deadline
    reports: ReportRule
    session_idle_minutes: int = Field(gt=0)
    transfer_escalation_days: int = Field(gt=0)
    outage_notice_working_days: int = Field(gt=0)
    salary: SalaryRule
    age_bands: tuple[tuple[int, int], ...]
    probation: ProbationRule = ProbationRule()  # profiles installed before it was a setting get the default

    @model_validator(mode="after")
    def _report_level_is_a_level(self) -> Profile:
        if self.report_level is not None and self.report_level not in self.unit_levels:
            raise ValueError(f"report_level {self.report_level!r} is not one of unit_levels")
        return self

    @property
    def report_depth(self) -> int:
        """How deep the reporting units are in the tree: the province is 1."""
        return self.unit_levels.index(self.report_level) + 1 if self.report_level else 2

    def level_at(self, depth: int) -> str | None:
        """The level name of a unit `depth` deep (the province is 1), None below the profile's levels."""
        return self.unit_levels[depth - 1] if 1 <= depth <= len(self.unit_levels) else None


def available_profiles() -> list[str]:
    folder = resources.files(__name__)
    return sorted(item.name.removesuffix(".toml") for item in folder.iterdir() if item.name.endswith(".toml"))


def load_profile(name: str) -> Profile:
    """Read a shipped profile; LookupError names the known ones when `name` is not one of them."""
    if name not in available_profiles():
        raise LookupError(name)
    text = resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return Profile.model_validate(tomllib.loads(text))
