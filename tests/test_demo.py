"""The demo province must look like a real one to a Sở Nội vụ (issue 18, point 7): names by sex and in their
real shares, salary steps from the table on dates that keep the raise periods, qualifications that fit the
rank, units with their own posts, retirement at the legal age, and mostly complete dossiers with a few
problems for the inspection to find."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import select

from services.core.clock import FrozenClock, add_months
from services.demo import POSTS_BY_KIND, RANKS_BY_CODE, UNIT_KINDS, months_between, seed_demo
from services.oversight.inspection import InspectionService
from services.regime.dossier_fields import MANDATORY_FIELDS
from services.regime.reference import install_reference_lists
from services.regime.retirement import retirement_date
from services.regime.salary import salary_scale
from services.regime.setup import install_profile
from storage import UnitOfWork
from storage.models import Dossier, DossierRecord, OrgUnit
from tests.test_accounts import SYSTEM

SIZE = 3000
IN_SERVICE = ("active", "probation")


@pytest.fixture
async def province(uow: UnitOfWork, clock: FrozenClock) -> tuple[list[Dossier], dict[int, str]]:
    await install_reference_lists(uow)
    await install_profile(uow, clock, "vn-2026")
    await seed_demo(uow, clock, SIZE)
    async with uow.read() as repos:
        dossiers = list((await repos.session.execute(select(Dossier))).scalars())
        units = {unit.id: unit.code for unit in (await repos.session.execute(select(OrgUnit))).scalars()}
    return dossiers, units


def today(clock: FrozenClock) -> dt.date:
    return clock.now().astimezone(clock.tz).date()


async def test_names_follow_sex_and_the_real_shares_of_family_names(province: tuple[list[Dossier], dict]) -> None:
    dossiers, _units = province
    for dossier in dossiers:
        words = dossier.full_name.split()
        assert len(words) >= 3, dossier.full_name
        middle = words[1:-1]
        assert "Thị" not in middle if dossier.sex == "M" else "Văn" not in middle, dossier.full_name
    families = Counter(dossier.full_name.split()[0] for dossier in dossiers)
    assert 0.33 < families["Nguyễn"] / len(dossiers) < 0.43
    assert [name for name, _count in families.most_common(3)] == ["Nguyễn", "Trần", "Lê"]


async def test_fathers_give_their_family_name(uow: UnitOfWork, province: tuple[list[Dossier], dict]) -> None:
    dossiers, _units = province
    names = {dossier.id: dossier.full_name for dossier in dossiers}
    async with uow.read() as repos:
        fathers = (await repos.session.execute(select(DossierRecord).where(DossierRecord.kind == "family"))).scalars()
        for record in fathers:
            if record.data["relation"] == "Cha":
                assert record.data["name"].split()[0] == names[record.dossier_id].split()[0]
                assert "Thị" not in record.data["name"].split()


async def test_salary_steps_come_from_the_table_on_dates_that_keep_the_raise_periods(
        province: tuple[list[Dossier], dict], clock: FrozenClock) -> None:
    dossiers, _units = province
    day, overdue, serving = today(clock), 0, 0
    for d in dossiers:
        rank = RANKS_BY_CODE[d.rank_code or ""]
        steps = salary_scale()[rank.group]
        assert d.salary_step is not None and 1 <= d.salary_step <= len(steps), d.full_name
        assert d.salary_coefficient == steps[d.salary_step - 1], (d.full_name, d.rank_code, d.salary_step)
        assert d.recruited_on and d.rank_since and d.salary_since
        assert d.recruited_on <= d.rank_since <= d.salary_since <= day
        if d.over_ceiling_percent:
            assert d.salary_step == len(steps) and d.over_ceiling_percent >= 5
        else:  # each step is a whole number of raise periods after the rank was reached
            months = (d.salary_since.year - d.rank_since.year) * 12 + d.salary_since.month - d.rank_since.month
            assert months % rank.raise_months == 0, d.full_name
        if d.employment_status in IN_SERVICE:
            serving += 1
            period = 12 if d.over_ceiling_percent else rank.raise_months
            overdue += add_months(d.salary_since, period) < day
    assert 0 < overdue / serving < 0.03  # a few raises were missed, for the inspection to find


async def test_most_dossiers_are_complete_and_the_inspection_finds_a_realistic_few_problems(
        uow: UnitOfWork, clock: FrozenClock, province: tuple[list[Dossier], dict]) -> None:
    dossiers, _units = province
    serving = [d for d in dossiers if d.employment_status in IN_SERVICE]
    complete = [d for d in serving if all(getattr(d, field) not in (None, "") for field in MANDATORY_FIELDS)]
    assert 0.85 < len(complete) / len(serving) < 0.97
    inspection = await InspectionService(uow, SYSTEM, clock).run()
    kinds = Counter(finding.kind for finding in inspection.findings)
    assert kinds["salary_overdue"] and kinds["past_retirement"]
    assert sum(kinds.values()) < 0.05 * len(serving)


async def test_retirees_are_past_the_legal_age_and_no_one_serves_long_after_it(
        province: tuple[list[Dossier], dict], clock: FrozenClock) -> None:
    dossiers, _units = province
    day = today(clock)
    retired = [d for d in dossiers if d.employment_status == "retired"]
    assert retired and all(retirement_date(d.sex, d.birth_date) < day for d in retired)
    assert all(months_between(d.birth_date, day) >= 55 * 12 for d in retired)  # no retired 48-year-olds
    late = [d for d in dossiers if d.employment_status in IN_SERVICE and retirement_date(d.sex, d.birth_date) < day]
    assert len(late) < 0.01 * len(dossiers)
    assert all(months_between(d.birth_date, day) >= 18 * 12 for d in dossiers)


async def test_units_have_their_own_posts_and_qualifications_fit_the_rank(
        province: tuple[list[Dossier], dict]) -> None:
    dossiers, units = province
    for d in dossiers:
        kind = UNIT_KINDS[units[d.custodian_unit_id]][0]
        posts = {post.title: post for post in POSTS_BY_KIND[kind].values}
        if d.post is not None:
            assert d.post in posts, (d.post, units[d.custodian_unit_id])
        if d.political_theory == "Cao cấp":
            assert d.professional_level in ("Đại học", "Thạc sĩ", "Tiến sĩ", None), d.full_name
        if d.professional_level in ("Trung cấp", "Sơ cấp"):
            assert RANKS_BY_CODE[d.rank_code or ""].group in ("A0", "B"), (d.rank_code, d.professional_level)
        assert d.current_address and d.current_address.endswith("thành phố Cần Thơ")
    assert not any(d.post == "Bác sĩ" and UNIT_KINDS[units[d.custodian_unit_id]][0] != "hospital" for d in dossiers)
    doctorates = sum(d.professional_level == "Tiến sĩ" for d in dossiers)
    assert doctorates / len(dossiers) < 0.02
