"""The statistics (BM01/BNV) on a hand-made province whose every count is known: every column, the age
bands at their edges, people whose service ends or begins around the date, the typed values classed
whatever their spelling, the subtotals up the tree, and the scope. On SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.core.errors import InvalidInput, PermissionDenied
from services.core.text import fold
from services.oversight.statistics import (
    DIMENSIONS,
    StatisticsService,
    StatTable,
    classify,
    columns_for,
    is_majority,
    says_none,
    words_of,
    years_before,
)
from services.regime.profiles import load_profile
from services.regime.reference import install_reference_lists
from services.regime.setup import install_profile
from storage import Database, UnitOfWork
from storage.models import ChangeEvent
from tests.test_accounts import SYSTEM, sign_in, tree

D = dt.date(2026, 7, 1)  # the frozen clock's day
BASE: dict[str, Any] = {"employment_status": "active", "recruited_on": dt.date(2015, 1, 1)}

# personal ID: (name, unit, sex, born, fields) — each line says which columns it lands in.
PEOPLE: dict[str, tuple[str, str, str, dt.date, dict[str, Any]]] = {
    # 30 on D (31 tomorrow): the first band's upper edge. Woman, party member, Kinh, no religion, CV.
    "000000000001": ("Ana", "SYT", "F", dt.date(1995, 7, 2), {
        "party_joined_on": dt.date(2020, 5, 1), "ethnicity": "Kinh", "religion": "Không", "rank_code": "01.003",
        "professional_level": "Đại học", "political_theory": "Trung cấp", "state_management": "Chuyên viên",
        "it_skill": "Chứng chỉ A", "foreign_language": "Tiếng Anh B1"}),
    # 31 on D exactly: the second band's lower edge. Party member only from tomorrow on.
    "000000000002": ("Bao", "SYT", "M", dt.date(1995, 7, 1), {
        "party_joined_on": dt.date(2026, 7, 2), "ethnicity": "kinh", "religion": "không", "rank_code": "01.002",
        "professional_level": "Cử nhân Luật", "political_theory": "Cao cấp lý luận chính trị",
        "state_management": "Chuyên viên chính", "it_skill": "Ứng dụng CNTT cơ bản",
        "foreign_language": "Cử nhân ngôn ngữ Anh"}),
    # 40 on D (41 tomorrow), 41 on D: the next edge. Typed values in other spellings.
    "000000000003": ("Cuc", "SYT", "F", dt.date(1985, 7, 2), {
        "ethnicity": "Khơ-me", "religion": "Phật giáo", "rank_code": "V.08.01.03",  # A1: with the CV
        "professional_level": "ThS Quản lý công", "political_theory": "TC", "state_management": "CVCC",
        "it_skill": "Kỹ sư CNTT", "foreign_language": "Không"}),
    "000000000004": ("Dung", "BV", "F", dt.date(1985, 7, 1), {
        "ethnicity": "Hoa", "religion": "Công giáo", "rank_code": "01.004", "professional_level": "Tiến sĩ",
        "political_theory": "Sơ cấp", "state_management": "Cán sự", "foreign_language": "Tiếng Pháp C"}),
    # 60 and 61 on D: the last edge.
    "000000000005": ("Em", "BV", "M", dt.date(1966, 7, 1), {
        "rank_code": "01.005", "professional_level": "Cao đẳng", "political_theory": "Cử nhân chính trị",
        "it_skill": "Trung cấp tin học"}),
    "000000000006": ("Giang", "STC", "M", dt.date(1965, 7, 1), {
        "party_joined_on": dt.date(1990, 1, 1), "ethnicity": "01", "religion": "00", "rank_code": "01.001",
        "professional_level": "Trung cấp", "it_skill": "không"}),
    "000000000007": ("Hai", "STC", "F", dt.date(1980, 1, 1), {
        "professional_level": "Sơ cấp", "rank_code": "XX.999", "ethnicity": "", "religion": ""}),
    # Retired on D itself: counted on the eve, not on D.
    "000000000008": ("Khanh", "STC", "M", dt.date(1964, 3, 15), {"employment_status": "retired"}),
    # Retired on 30/06 (the eve): counted on 29/06 only.
    "000000000009": ("Lan", "SYT", "F", dt.date(1971, 1, 1), {"employment_status": "retired"}),
    # Recruited on D: counted from D on.
    "000000000010": ("Minh", "STC", "M", dt.date(2000, 1, 1), {"employment_status": "probation",
                                                               "recruited_on": D}),
    # Resigned long ago (no change logged): never counted. On probation: counted.
    "000000000011": ("Nga", "SYT", "F", dt.date(1990, 1, 1), {"employment_status": "resigned"}),
    "000000000012": ("Oanh", "SNV", "F", dt.date(1999, 12, 31), {"employment_status": "probation"}),
}
RETIRED_ON = {"000000000008": D, "000000000009": dt.date(2026, 6, 30)}

# On D: 1–7, 10 and 12 (9 people). Per unit (its own people), every column.
EXPECTED_OWN = {
    "SYT": {"total": 3, "party": 1, "women": 2, "minority": 1, "religious": 1,
            "rank.CVCC": 0, "rank.CVC": 1, "rank.CV": 2, "rank.CS": 0, "rank.NV": 0,
            "level.TS": 0, "level.ThS": 1, "level.DH": 2, "level.CD": 0, "level.TC": 0, "level.SC": 0,
            "politics.CC": 1, "politics.TC": 2, "politics.SC": 0,
            "management.CVCC": 1, "management.CVC": 1, "management.CV": 1, "management.CS": 0,
            "it.UP": 1, "it.CERT": 2, "language.UP": 1, "language.CERT": 1,
            "age.0": 1, "age.1": 2, "age.2": 0, "age.3": 0, "age.4": 0},
    "BV": {"total": 2, "party": 0, "women": 1, "minority": 1, "religious": 1,
           "rank.CVCC": 0, "rank.CVC": 0, "rank.CV": 0, "rank.CS": 1, "rank.NV": 1,
           "level.TS": 1, "level.ThS": 0, "level.DH": 0, "level.CD": 1, "level.TC": 0, "level.SC": 0,
           "politics.CC": 1, "politics.TC": 0, "politics.SC": 1,
           "management.CVCC": 0, "management.CVC": 0, "management.CV": 0, "management.CS": 1,
           "it.UP": 1, "it.CERT": 0, "language.UP": 0, "language.CERT": 1,
           "age.0": 0, "age.1": 0, "age.2": 1, "age.3": 1, "age.4": 0},
    "STC": {"total": 3, "party": 1, "women": 1, "minority": 0, "religious": 0,
            "rank.CVCC": 1, "rank.CVC": 0, "rank.CV": 0, "rank.CS": 0, "rank.NV": 0,
            "level.TS": 0, "level.ThS": 0, "level.DH": 0, "level.CD": 0, "level.TC": 1, "level.SC": 1,
            "politics.CC": 0, "politics.TC": 0, "politics.SC": 0,
            "management.CVCC": 0, "management.CVC": 0, "management.CV": 0, "management.CS": 0,
            "it.UP": 0, "it.CERT": 0, "language.UP": 0, "language.CERT": 0,
            "age.0": 1, "age.1": 0, "age.2": 1, "age.3": 0, "age.4": 1},
    "SNV": {"total": 1, "women": 1, "age.0": 1},
}


async def seed(uow: UnitOfWork, clock: Any) -> None:
    await tree(uow, clock)
    await install_reference_lists(uow)
    await install_profile(uow, clock, "vn-2026")
    now = clock.now()
    async with uow.write() as repos:
        units = {code: (await repos.units.by_code(code)).id for code in ("SNV", "SYT", "BV", "STC")}
        rows = []
        for pid, (name, unit, sex, born, fields) in PEOPLE.items():
            rows.append({**BASE, "personal_id": pid, "full_name": name, "folded_name": fold(name), "sex": sex,
                         "birth_date": born, "custodian_unit_id": units[unit], "working_unit_id": units[unit],
                         "created_at": now, "updated_at": now, **fields})
        keys = sorted({key for row in rows for key in row})
        await repos.dossiers.add_many([{key: row.get(key) for key in keys} for row in rows])
        ids = await repos.dossiers.ids_by_personal_id(list(PEOPLE))
        for pid, day in RETIRED_ON.items():
            await repos.changes.add(ChangeEvent(
                dossier_id=ids[pid], kind="retirement", status="applied", payload={}, doc_number="1/QĐ-SNV",
                doc_date=day, doc_issuer="SNV", effective_on=day, unit_id=units[PEOPLE[pid][1]],
                recorded_by_label="test", recorded_at=now))


def own(table: StatTable, code: str) -> dict[str, int]:
    """The unit's own people: its row, or its "own staff" row when it has subunits."""
    rows = [r for r in table.rows if r.unit_code == code and r.kind in ("unit", "own")]
    assert len(rows) == 1, rows
    return {"total": rows[0].people, **{c.key: rows[0].counts[i] for i, c in enumerate(table.columns)}}


def full(expected: dict[str, int], table: StatTable) -> dict[str, int]:
    return {key: expected.get(key, 0) for key in ["total", *(c.key for c in table.columns)]}


async def test_every_column_of_every_unit_on_both_databases(any_database: Database, clock: Any) -> None:
    uow = UnitOfWork(any_database)
    await seed(uow, clock)
    table = await StatisticsService(uow, SYSTEM, clock).table(as_of=D)
    assert [c.key for c in table.columns] == list(EXPECTED_OWN["SYT"])[1:]
    for code, expected in EXPECTED_OWN.items():
        assert own(table, code) == full(expected, table), code
    # The rows: the province first (the total), the departments by name, the hospital under SYT.
    assert [(r.kind, r.unit_code, r.depth) for r in table.rows] == [
        ("total", "CT", 0), ("unit", "SNV", 1), ("unit", "STC", 1), ("subtotal", "SYT", 1), ("own", "SYT", 2),
        ("unit", "BV", 2)]
    subtotal = next(r for r in table.rows if r.kind == "subtotal")
    assert subtotal.people == 5 and table.value(subtotal, "women") == 3 and table.value(subtotal, "level.TS") == 1
    total = {"total": table.total.people, **{c.key: table.total.counts[i] for i, c in enumerate(table.columns)}}
    summed = {key: sum(EXPECTED_OWN[code].get(key, 0) for code in EXPECTED_OWN) for key in total}
    assert total == summed and total["total"] == 9


async def test_service_ends_and_begins_on_its_effective_date(any_database: Database, clock: Any) -> None:
    uow = UnitOfWork(any_database)
    await seed(uow, clock)
    service = StatisticsService(uow, SYSTEM, clock)
    on_the_day, eve, before = (await service.table(as_of=D), await service.table(as_of=D - dt.timedelta(days=1)),
                               await service.table(as_of=D - dt.timedelta(days=2)))
    # Khánh retired on D: counted on the eve only; Lan retired on the eve: counted the day before it;
    # Minh recruited on D: counted on D only.
    assert own(on_the_day, "STC")["total"] == 3 and own(eve, "STC")["total"] == 3
    # Giang turns 61 on D: over 60 from D on, beside Khánh (62) on the eve.
    assert (own(eve, "STC")["age.3"], own(eve, "STC")["age.4"]) == (1, 1)
    assert (own(on_the_day, "STC")["age.3"], own(on_the_day, "STC")["age.4"]) == (0, 1)
    assert own(on_the_day, "SYT")["total"] == own(eve, "SYT")["total"] == 3 and own(before, "SYT")["total"] == 4
    assert own(eve, "STC")["age.0"] == 0 and own(on_the_day, "STC")["age.0"] == 1  # Minh, from D on
    # A day earlier everybody is a day younger: Bảo is still 30.
    assert own(on_the_day, "SYT")["age.0"] == 1 and own(eve, "SYT")["age.0"] == 2


async def test_scope_of_a_clerk_and_of_a_unit(uow: UnitOfWork, clock: Any) -> None:
    await seed(uow, clock)
    clerk = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    table = await StatisticsService(uow, clerk, clock).table()
    assert [(r.kind, r.unit_code) for r in table.rows] == [("total", "SYT"), ("own", "SYT"), ("unit", "BV")]
    assert table.total.people == 5 and table.scope == ("Sở Y tế",)
    hospital = await StatisticsService(uow, clerk, clock).table("bv")
    assert [(r.kind, r.unit_code, r.people) for r in hospital.rows] == [("total", "BV", 2)]
    with pytest.raises(PermissionDenied):
        await StatisticsService(uow, clerk, clock).table("STC")
    with pytest.raises(InvalidInput) as unknown:
        await StatisticsService(uow, clerk, clock).table("NOPE")
    assert unknown.value.field == "unit"
    with pytest.raises(InvalidInput) as future:
        await StatisticsService(uow, clerk, clock).table(as_of=D + dt.timedelta(days=1))
    assert future.value.field == "as_of"
    employee = await sign_in(uow, clock, "ana", "SYT", "employee", 777, personal_id="000000000001")
    with pytest.raises(PermissionDenied):
        await StatisticsService(uow, employee, clock).table()
    auditor = await sign_in(uow, clock, "kiem.tra", "SNV", "auditor", 778)
    with pytest.raises(PermissionDenied):
        await StatisticsService(uow, auditor, clock).table()
    async with uow.read() as repos:
        views = [e for e in await repos.audit.search(limit=100) if e.action == "statistics.view"]
    assert len(views) == 2  # the two tables the clerk was given (refusals show nothing)


async def test_a_manager_gets_the_statistics_too(uow: UnitOfWork, clock: Any) -> None:
    await seed(uow, clock)
    manager = await sign_in(uow, clock, "gd.stc", "STC", "manager", 503)
    table = await StatisticsService(uow, manager, clock).table()
    assert table.total.people == 3 and [r.unit_code for r in table.rows] == ["STC"]


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("professional_level", "Đại học", "DH"), ("professional_level", "DAI HOC", "DH"),
    ("professional_level", "Kỹ sư xây dựng", "DH"), ("professional_level", "Thạc sĩ Kinh tế", "ThS"),
    ("professional_level", "Bác sĩ chuyên khoa II", "TS"), ("professional_level", "Bác sĩ CK I", "ThS"),
    ("professional_level", "BS CKI", "ThS"), ("professional_level", "12/12", None),
    ("political_theory", "Cao cấp", "CC"), ("political_theory", "Trung cấp LLCT", "TC"),
    ("state_management", "Chuyên viên cao cấp", "CVCC"), ("state_management", "chuyên viên chính", "CVC"),
    ("state_management", "Chuyên viên", "CV"), ("it_skill", "IC3", "CERT"), ("it_skill", "Không", None),
    ("foreign_language", "Thạc sĩ tiếng Anh", "UP"), ("foreign_language", "TOEIC 550", "CERT"),
])
def test_typed_values_are_classed_whatever_their_spelling(field: str, value: str, expected: str | None) -> None:
    dimension = next(d for d in DIMENSIONS if d.field == field)
    assert classify(dimension, value) == expected


def test_none_and_the_majority_whatever_their_spelling() -> None:
    for value in ("Không", "Không có tôn giáo", "Không theo đạo", "KHÔNG", "-", "00"):
        assert says_none(words_of(value)), value
    assert not says_none(words_of("Phật giáo Hòa Hảo"))
    for value in ("Kinh", "Dân tộc Kinh", "Việt (Kinh)", "01", "kinh"):
        assert is_majority(value), value
    assert not is_majority("Khơ-me") and not is_majority("Hoa")


def test_the_age_bands_come_from_the_profile() -> None:
    profile = load_profile("hcmc-2013").model_copy(update={"age_bands": ((0, 35), (36, 50), (51, 200))})
    ages = [c for c in columns_for(profile) if c.key.startswith("age.")]
    assert [(c.key, c.label, dict(c.params)) for c in ages] == [
        ("age.0", "Up to {high}", {"high": 35}), ("age.1", "{low} to {high}", {"low": 36, "high": 50}),
        ("age.2", "Over {low}", {"low": 50})]
    assert years_before(dt.date(2028, 2, 29), 31) == dt.date(1997, 2, 28)
    assert years_before(dt.date(2028, 2, 29), 32) == dt.date(1996, 2, 29)


async def test_a_table_survives_its_json(uow: UnitOfWork, clock: Any) -> None:
    await seed(uow, clock)
    table = await StatisticsService(uow, SYSTEM, clock).table()
    assert StatTable.from_json(table.as_json()) == table
