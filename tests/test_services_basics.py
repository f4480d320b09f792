"""Service-layer rules that need no Telegram: folding, dates, profiles, policy, preferences."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest

from services.core.actor import Actor, Role
from services.core.clock import FrozenClock, format_date, local_today, parse_date
from services.core.errors import InvalidInput, PermissionDenied
from services.core.policy import Action, allows, dossier_scope, ensure
from services.core.text import fold
from services.platform.preferences import PreferenceService
from services.regime.profiles import available_profiles, load_profile
from services.regime.setup import active_profile, install_profile
from storage import UnitOfWork


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Đặng Thị Hoà", "dang thi hoa"),
        ("  NGUYỄN   văn   A ", "nguyen van a"),
        ("Thuỷ", "thuy"),
        ("Thủy", "thuy"),
        (unicodedata.normalize("NFD", "Hòa"), "hoa"),
        ("đức", "duc"),
    ],
)
def test_fold_removes_case_marks_and_d_stroke(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_dates_are_dd_mm_yyyy() -> None:
    assert parse_date("05/01/1990") == dt.date(1990, 1, 5)
    assert parse_date("5-1-1990") == dt.date(1990, 1, 5)
    assert format_date(dt.date(2026, 7, 1)) == "01/07/2026"
    for bad in ("31/02/2026", "2026-01-05", "1/1/990", "hôm qua", "29/2/27"):
        with pytest.raises(ValueError):
            parse_date(bad)


def test_a_two_digit_year_is_read_in_the_century_that_fits() -> None:
    """d/m/yy as clerks type it: at most 20 years ahead of today, else the century before."""
    today = dt.date(2026, 12, 4)
    assert parse_date("15/9/26", today) == dt.date(2026, 9, 15)
    assert parse_date("2.1.85", today) == dt.date(1985, 1, 2)
    assert parse_date("1/1/46", today) == dt.date(2046, 1, 1) and parse_date("1/1/47", today) == dt.date(1947, 1, 1)
    assert parse_date("29/2/24", today) == dt.date(2024, 2, 29)


def test_local_day_is_in_ho_chi_minh_time() -> None:
    late_utc = FrozenClock(dt.datetime(2026, 6, 14, 18, 30, tzinfo=dt.UTC))  # 01:30 on the 15th in Vietnam
    assert local_today(late_utc) == dt.date(2026, 6, 15)


def test_the_three_profiles_load_with_their_deadlines() -> None:
    assert available_profiles() == ["hau-giang-2016", "hcmc-2013", "vn-2026"]
    national = load_profile("vn-2026")
    assert (national.change_deadline.days, national.change_deadline.unit) == (3, "working")
    assert load_profile("hau-giang-2016").new_dossier_deadline.days == 30
    assert load_profile("hcmc-2013").new_dossier_deadline.days == 60
    for name in available_profiles():
        profile = load_profile(name)
        assert profile.reports.due_dates == ("06-15", "12-15")
        assert profile.reports.reminder_offsets_days == (30, 14, 7, 3, 1)
        assert profile.outage_notice_working_days == 2


async def test_install_profile_keeps_the_installed_one(uow: UnitOfWork, clock: FrozenClock) -> None:
    assert await active_profile(uow) is None
    assert (await install_profile(uow, clock, None)).name == "vn-2026"
    assert (await install_profile(uow, clock, "hcmc-2013")).name == "hcmc-2013"
    assert (await install_profile(uow, clock, None)).name == "hcmc-2013"
    assert (await active_profile(uow)).new_dossier_deadline.days == 60
    with pytest.raises(InvalidInput) as caught:
        await install_profile(uow, clock, "nowhere")
    assert caught.value.field == "profile"


def test_policy_denies_by_default() -> None:
    anonymous = Actor.anonymous("telegram", 1)
    assert not allows(anonymous, Action.VIEW_OVERVIEW)
    with pytest.raises(PermissionDenied):
        ensure(anonymous, Action.VIEW_DOSSIER)
    manager = Actor(channel="telegram", address="2", account_id=2, role=Role.MANAGER, unit_path="/1/3/", scope_paths=("/1/3/",))
    assert allows(manager, Action.VIEW_DOSSIER) and not allows(manager, Action.EDIT_DOSSIER)
    assert dossier_scope(manager) == ("/1/3/",)
    assert dossier_scope(Actor(channel="telegram", address="3", account_id=3, role=Role.ADMIN, unit_path="/1/2/")) == ("/",)
    assert dossier_scope(Actor(channel="telegram", address="4", account_id=4, role=Role.AUDITOR, unit_path="/1/")) == ()


async def test_language_of_a_visitor_is_remembered(uow: UnitOfWork, clock: FrozenClock) -> None:
    service = PreferenceService(uow, Actor.anonymous("telegram", 77), clock)
    assert await service.set_language("en") == "en"
    async with uow.read() as repos:
        assert await repos.preferences.locale_of("telegram", "77") == "en"
    with pytest.raises(InvalidInput):
        await service.set_language("de")
