"""The profile's unit levels are used: a unit takes one of the regime's level names (by default its depth's),
and the level that files the half-yearly report is the profile's (`hoso unit add|levels`: tests/test_cli.py)."""

from __future__ import annotations

import pytest

from services.core.clock import FrozenClock
from services.core.errors import InvalidInput
from services.oversight.reports import ReportService
from services.platform.units import UnitService
from services.regime.profiles import available_profiles, load_profile
from services.regime.setup import PROFILE_KEY, install_profile
from storage import UnitOfWork
from tests.test_accounts import SYSTEM


async def tree(uow: UnitOfWork, clock: FrozenClock) -> UnitService:
    """A province, two departments, a hospital under one and a ward under the hospital."""
    units = UnitService(uow, SYSTEM, clock)
    for code, name, parent in (("CT", "UBND tỉnh", None), ("SYT", "Sở Y tế", "CT"), ("STC", "Sở Tài chính", "CT"),
                               ("BV", "Bệnh viện", "SYT"), ("KN", "Khoa Nội", "BV")):
        await units.add(code, name, parent)
    return units


@pytest.mark.parametrize("profile", available_profiles())
async def test_each_profile_names_the_levels_and_the_reporting_one(uow: UnitOfWork, clock: FrozenClock,
                                                                   profile: str) -> None:
    await install_profile(uow, clock, profile)
    levels = load_profile(profile).unit_levels
    units = await tree(uow, clock)
    assert await units.levels() == (list(levels), levels[1])
    shown = {unit.code: unit.level_name for unit in await units.list()}
    # Each unit takes its depth's level; below the profile's last level, none.
    assert shown == {"CT": levels[0], "SYT": levels[1], "STC": levels[1], "BV": levels[2] if len(levels) > 2 else None,
                     "KN": levels[3] if len(levels) > 3 else None}
    with pytest.raises(InvalidInput) as refused:
        await units.add("X", "Thôn", "KN", level="Thôn, ấp")
    assert refused.value.field == "level" and refused.value.params["choices"] == "; ".join(levels)
    reporting = await ReportService(uow, SYSTEM, clock).units()
    assert sorted(unit.code for unit in reporting) == ["STC", "SYT"]


async def test_the_reporting_level_comes_from_the_profile(uow: UnitOfWork, clock: FrozenClock) -> None:
    """A regime whose third level reports: the hospital files the report, its department does not."""
    profile = load_profile("vn-2026")
    await tree(uow, clock)
    async with uow.write() as repos:
        third = profile.model_copy(update={"report_level": profile.unit_levels[2]})
        await repos.settings.put(PROFILE_KEY, third.model_dump(mode="json"), clock.now())
    reports = ReportService(uow, SYSTEM, clock)
    assert [unit.code for unit in await reports.units()] == ["BV"]
    with pytest.raises(InvalidInput):
        await reports.open("SYT")
