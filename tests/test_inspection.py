"""The personnel office's inspection on a hand-made province with one planted case of every finding, each
found exactly once, near misses that are not findings, and a clean dossier that raises none; the figures
per unit, the ranking worst first, the retirement finding at the schedule's edges, who may run it, and
the list sent to a unit's clerks. On SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select, update

from services.core.clock import FrozenClock
from services.core.errors import PermissionDenied
from services.core.identity import load_actor
from services.core.text import fold
from services.oversight.inspection import FINDINGS, InspectionService, probation_months, retirement_cutoff
from services.platform.units import UnitService
from services.regime.profiles import load_profile
from services.regime.reference import install_reference_lists
from services.regime.setup import install_profile
from storage import Database, UnitOfWork
from storage.models import Account, ChangeEvent, DossierRecord, OrgUnit, Outbox
from tests.test_accounts import SYSTEM, sign_in, tree
from tests.test_reminders import TZ, at

D = dt.date(2026, 7, 1)  # the frozen clock's day
COMPLETE: dict[str, Any] = {
    "birthplace": "Cần Thơ", "home_town": "Cần Thơ", "ethnicity": "Kinh", "permanent_address": "1 Hòa Bình",
    "current_address": "1 Hòa Bình", "recruited_on": dt.date(2010, 1, 1), "post": "Chuyên viên",
    "rank_code": "01.003", "salary_step": 3, "professional_level": "Đại học", "salary_since": dt.date(2025, 1, 1),
    "employment_status": "active", "sex": "F", "birth_date": dt.date(1985, 1, 1),
}
# personal ID: (name, unit, what differs from a complete, clean dossier)
PEOPLE: dict[str, tuple[str, str, dict[str, Any]]] = {
    "100000000001": ("Sạch Sẽ", "SYT", {}),  # the clean one (an address change without a paper is no finding)
    "100000000002": ("Lương Chậm", "SYT", {"salary_since": dt.date(2022, 1, 1)}),  # due 01/01/2025
    "100000000003": ("Kỷ Luật", "SYT", {"salary_since": dt.date(2022, 1, 1)}),  # disciplined in 2023
    "100000000004": ("Kéo Dài", "SYT", {"salary_since": dt.date(2023, 6, 1)}),  # put off 12 months: 01/06/2027
    "100000000005": ("Chờ Nhập", "SYT", {"salary_since": dt.date(2022, 1, 1)}),  # its decision is registered
    "100000000007": ("Quá Tuổi", "BV", {"sex": "M", "birth_date": dt.date(1963, 1, 15)}),  # retired 31/10/2023
    "100000000008": ("Chưa Tuổi", "BV", {"sex": "M", "birth_date": dt.date(1966, 3, 10)}),  # retires 31/12/2027
    "100000000009": ("Tập Sự Lâu", "STC", {"employment_status": "probation", "recruited_on": dt.date(2025, 1, 1)}),
    "100000000010": ("Tập Sự Mới", "STC", {"employment_status": "probation", "recruited_on": dt.date(2026, 3, 1),
                                          "rank_code": "01.005"}),  # 6 months: until 01/09/2026
    "100000000011": ("Trần Văn Trùng", "SYT", {"birth_date": dt.date(1980, 5, 5)}),
    "100000000012": ("Trần Văn Trùng", "STC", {"birth_date": dt.date(1980, 5, 5)}),  # the same person twice
    "13000000001": ("Số Thiếu", "SNV", {}),  # eleven digits
    "100000000014": ("Đơn Vị Cũ", "OLD", {}),  # kept by a unit merged away
    "100000000015": ("Không Giấy", "SYT", {}),  # an appointment logged without its decision
    "100000000016": ("Thiếu Quê", "BV", {"home_town": None}),  # incomplete: not a finding, a share
    "100000000017": ("Bỏ Quên", "SNV", {}),  # untouched for two and a half years
}
EXPECTED = {("salary_overdue", "100000000002"), ("past_retirement", "100000000007"),
            ("probation_overdue", "100000000009"), ("duplicate_person", "100000000011"),
            ("bad_personal_id", "13000000001"), ("merged_custodian", "100000000014"),
            ("no_source_document", "100000000015")}


def local(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, 9, tzinfo=TZ).astimezone(dt.UTC)


async def event(repos: Any, dossier_id: int, unit_id: int, kind: str, recorded: dt.datetime, **values: Any) -> None:
    await repos.changes.add(ChangeEvent(
        dossier_id=dossier_id, kind=kind, status=values.pop("status", "applied"), payload=values.pop("payload", {}),
        doc_number=values.pop("doc_number", "9/QĐ-SYT"), doc_date=recorded.date(), doc_issuer="SYT",
        effective_on=values.pop("effective_on", recorded.date()), unit_id=unit_id, recorded_by_label="test",
        recorded_at=recorded, **values))


async def seed(uow: UnitOfWork, clock: Any) -> dict[str, int]:
    await tree(uow, clock)
    await UnitService(uow, SYSTEM, clock).add("OLD", "Chi cục cũ", "CT")
    await install_reference_lists(uow)
    await install_profile(uow, clock, "vn-2026")
    now = clock.now()
    async with uow.write() as repos:
        units = {code: (await repos.units.by_code(code)).id for code in ("SNV", "SYT", "BV", "STC", "OLD")}
        rows = []
        for pid, (name, unit, fields) in PEOPLE.items():
            touched = local(2024, 1, 1) if pid == "100000000017" else now
            rows.append({**COMPLETE, **fields, "personal_id": pid, "full_name": name, "folded_name": fold(name),
                         "custodian_unit_id": units[unit], "working_unit_id": units[unit], "created_at": touched,
                         "updated_at": touched})
        await repos.dossiers.add_many(rows)
        ids = await repos.dossiers.ids_by_personal_id(list(PEOPLE))
        syt = units["SYT"]
        # The clean dossier: a change on time this spring, and an address declared without a paper.
        await event(repos, ids["100000000001"], syt, "appointment", local(2026, 6, 1), on_time=True)
        await event(repos, ids["100000000001"], syt, "address", local(2026, 6, 2), doc_number=None)
        # Late last autumn (within 12 months, not 6), on the disciplined one's dossier; its discipline in 2023.
        await event(repos, ids["100000000003"], syt, "training", local(2025, 9, 1), on_time=False)
        await event(repos, ids["100000000003"], syt, "discipline", local(2023, 5, 2), effective_on=dt.date(2023, 5, 1))
        await event(repos, ids["100000000004"], syt, "raise_postponed", local(2025, 1, 2), payload={"months": "12"})
        await event(repos, ids["100000000005"], syt, "registration", local(2026, 6, 28), status="registered",
                    payload={"for_kind": "salary_raise"}, deadline=dt.date(2026, 7, 10))
        await event(repos, ids["100000000015"], syt, "appointment", local(2026, 6, 15), on_time=True, doc_number=None)
        await repos.session.execute(update(OrgUnit).where(OrgUnit.code == "OLD")
                                    .values(status="merged", merged_into_id=units["STC"]))
    # Accounts: the office and the SYT clerk in use; one never activated, one locked, one idle since March.
    await sign_in(uow, clock, "ha.snv", "SNV", "admin", 500)
    await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    await sign_in(uow, clock, "kiem.tra", "SNV", "auditor", 502)
    await sign_in(uow, clock, "khoa.bv", "BV", "clerk", 503)
    await sign_in(uow, at(2026, 3, 1), "cu.syt", "SYT", "clerk", 504)
    from services.accounts.service import AccountService
    await AccountService(uow, SYSTEM, clock).issue("moi.stc", "STC", "clerk", "Mới", "7/CV-STC")
    async with uow.write() as repos:
        await repos.session.execute(update(Account).where(Account.username == "khoa.bv").values(status="locked"))
    return ids


def figures(inspection: Any, code: str) -> dict[str, int]:
    row = next(r for r in inspection.table.rows if r.unit_code == code and r.kind in ("unit", "own"))
    return {"total": row.people, **{c.key: row.counts[i] for i, c in enumerate(inspection.table.columns) if row.counts[i]}}


async def test_every_finding_once_and_the_clean_dossier_none(any_database: Database, clock: Any) -> None:
    uow = UnitOfWork(any_database)
    await seed(uow, clock)
    inspection = await InspectionService(uow, SYSTEM, clock).run()
    found = [(f.kind, f.personal_id) for f in inspection.findings]
    # Every finding but the coefficient off the table, which has its own test (the seed's dossiers have none).
    assert sorted(found) == sorted(EXPECTED) and len(found) == len(EXPECTED) == len(FINDINGS) - 1
    assert "100000000001" not in {pid for _kind, pid in found}
    facts = {f.kind: f.params for f in inspection.findings}
    assert facts["salary_overdue"] == {"step": "3", "since": "01/01/2022", "due": "01/01/2025"}
    assert facts["past_retirement"] == {"date": "31/10/2023"}  # 60 years 9 months in 2023
    assert facts["probation_overdue"] == {"since": "01/01/2025", "end": "01/01/2026"}
    assert facts["duplicate_person"] == {"others": "100000000012", "born": "05/05/1980"}
    assert facts["merged_custodian"] == {"unit": "Chi cục cũ", "into": "Sở Tài chính"}
    assert facts["no_source_document"]["kind"] == "appointment"

    # The figures of each unit's own dossiers.
    assert figures(inspection, "SYT") == {
        "total": 7, "complete": 7, "changes6.on_time": 2, "changes12.on_time": 2, "changes12.late": 1,
        "registered": 1, "finding.salary_overdue": 1, "finding.duplicate_person": 1,
        "finding.no_source_document": 1, "accounts.idle": 1, "issues": 4}
    assert figures(inspection, "BV") == {
        "total": 3, "complete": 2, "missing.home_town": 1, "finding.past_retirement": 1, "accounts.locked": 1,
        "issues": 2}
    assert figures(inspection, "STC") == {"total": 3, "complete": 3, "finding.probation_overdue": 1,
                                          "accounts.pending": 1, "issues": 1}
    assert figures(inspection, "SNV") == {"total": 2, "complete": 2, "finding.bad_personal_id": 1, "untouched": 1,
                                          "issues": 1}
    # Under the province, the worst first: OLD (1 in 1), SYT with BV (6 in 10), SNV (1 in 2), STC (1 in 3).
    assert [(r.unit_code, r.depth) for r in inspection.table.rows if r.kind != "own"] == [
        ("CT", 0), ("OLD", 1), ("SYT", 1), ("BV", 2), ("SNV", 1), ("STC", 1)]
    assert {(a.username, a.state) for a in inspection.accounts} == {
        ("moi.stc", "pending"), ("khoa.bv", "locked"), ("cu.syt", "idle")}


async def test_one_unit_and_its_subunits(uow: UnitOfWork, clock: Any) -> None:
    await seed(uow, clock)
    # The same person twice counts once, where the first dossier is kept, whatever unit is inspected.
    assert [f.kind for f in (await InspectionService(uow, SYSTEM, clock).run("STC")).findings] == ["probation_overdue"]
    inspection = await InspectionService(uow, SYSTEM, clock).run("syt")
    assert {f.personal_id for f in inspection.findings} == {"100000000002", "100000000011", "100000000015",
                                                             "100000000007"}
    assert [r.unit_code for r in inspection.table.rows] == ["SYT", "SYT", "BV"]  # the total, its own, the hospital
    assert inspection.most_missing(inspection.table.total) == [("home_town", 1)]


async def test_who_may_inspect_and_tell_the_units(uow: UnitOfWork, clock: Any) -> None:
    await seed(uow, clock)
    clerk, auditor, admin = (await load_actor(uow, "telegram", 501), await load_actor(uow, "telegram", 502), await load_actor(uow, "telegram", 500))
    with pytest.raises(PermissionDenied):
        await InspectionService(uow, clerk, clock).run()
    with pytest.raises(PermissionDenied):
        await InspectionService(uow, clerk, clock).run("SYT")
    assert len((await InspectionService(uow, auditor, clock).run()).findings) == len(EXPECTED)
    with pytest.raises(PermissionDenied):
        await InspectionService(uow, auditor, clock).remind("SYT")
    assert await InspectionService(uow, admin, clock).remind("SYT") == 2  # lan.syt and cu.syt
    assert await InspectionService(uow, admin, clock).remind("SYT") == 0  # once a day
    async with uow.read() as repos:
        rows = (await repos.session.scalars(select(Outbox).where(Outbox.kind == "inspection_findings"))).all()
        actions = [e.action for e in await repos.audit.search(limit=100)]
    assert sorted(r.chat_id for r in rows) == [501, 504]
    payload = rows[0].payload
    assert (payload["unit"], payload["count"], payload["total"], payload["complete"]) == ("Sở Y tế", 4, 10, 9)
    assert {p["personal_id"] for p in payload["people"]} == {"100000000002", "100000000011", "100000000015",
                                                             "100000000007"}
    assert actions.count("inspection.run") == 3 and actions.count("inspection.remind") == 2  # refusals leave none


@pytest.mark.parametrize(("day", "retired"), [
    (dt.date(2027, 12, 31), set()),  # men born 03/1966 retire at the end of 12/2027…
    (dt.date(2028, 1, 1), {"Tháng Ba"}),
    (dt.date(2028, 4, 30), {"Tháng Ba"}),  # … men born 04/1966 at the end of 04/2028
    (dt.date(2028, 5, 1), {"Tháng Ba", "Tháng Tư"}),
])
async def test_past_retirement_at_the_schedules_edges(uow: UnitOfWork, day: dt.date, retired: set[str]) -> None:
    clock = FrozenClock(dt.datetime.combine(day, dt.time(9), tzinfo=TZ))
    await tree(uow, clock)
    await install_reference_lists(uow)
    now = clock.now()
    async with uow.write() as repos:
        syt = (await repos.units.by_code("SYT")).id
        await repos.dossiers.add_many([{
            **COMPLETE, "personal_id": pid, "full_name": name, "folded_name": fold(name), "sex": "M", "birth_date": born,
            "custodian_unit_id": syt, "working_unit_id": syt, "created_at": now, "updated_at": now}
            for pid, name, born in (("200000000001", "Tháng Ba", dt.date(1966, 3, 31)),
                                    ("200000000002", "Tháng Tư", dt.date(1966, 4, 1)))])
    inspection = await InspectionService(uow, SYSTEM, clock).run()
    assert {f.full_name for f in inspection.findings if f.kind == "past_retirement"} == retired


def test_the_retirement_cutoff() -> None:
    assert retirement_cutoff("M", dt.date(2028, 1, 1)) == dt.date(1966, 4, 1)
    assert retirement_cutoff("M", dt.date(2027, 12, 31)) == dt.date(1966, 3, 1)
    assert retirement_cutoff("F", dt.date(2026, 7, 1)) == dt.date(1969, 7, 1)  # 57 years in 2026: 06/1969 retired 30/06


async def cases(uow: UnitOfWork, clock: Any, people: dict[str, dict[str, Any]]) -> set[tuple[str, str]]:
    """The findings (kind, personal ID) of a few dossiers of SYT, each the complete one but for `people`."""
    await tree(uow, clock)
    await install_reference_lists(uow)
    now = clock.now()
    async with uow.write() as repos:
        syt = (await repos.units.by_code("SYT")).id
        rows = [{**COMPLETE, **fields, "personal_id": pid, "full_name": f"Người {pid[-3:]}", "folded_name": f"nguoi {pid}",
                 "custodian_unit_id": syt, "working_unit_id": syt, "created_at": now, "updated_at": now}
                for pid, fields in people.items()]
        keys = sorted({key for row in rows for key in row})
        await repos.dossiers.add_many([{key: row.get(key) for key in keys} for row in rows])
    return {(f.kind, f.personal_id) for f in (await InspectionService(uow, SYSTEM, clock).run()).findings}


async def test_the_salary_rule_over_the_last_step_and_at_month_ends(uow: UnitOfWork) -> None:
    clock = FrozenClock(dt.datetime(2028, 2, 29, 9, tzinfo=TZ))
    found = await cases(uow, clock, {
        # Over the last step the allowance grows every 12 months: due 28/02/2028, a day ago.
        "300000000001": {"over_ceiling_percent": 5, "salary_since": dt.date(2027, 2, 28)},
        "300000000002": {"over_ceiling_percent": 5, "salary_since": dt.date(2027, 3, 1)},  # due tomorrow
        # A step of 36 months from 29/02/2024: due 28/02/2027 (no 29th), long past.
        "300000000003": {"salary_since": dt.date(2024, 2, 29)},
        "300000000004": {"salary_since": dt.date(2025, 3, 1)},  # due 01/03/2028
    })
    assert {pid for kind, pid in found if kind == "salary_overdue"} == {"300000000001", "300000000003"}


async def test_a_coefficient_off_the_rank_and_step_is_a_finding(uow: UnitOfWork, clock: Any) -> None:
    found = await cases(uow, clock, {
        "400000000001": {"salary_coefficient": 3.00},  # A1 step 3: on the table
        "400000000002": {"salary_coefficient": 3.99},  # step 6's coefficient on step 3
        "400000000003": {"salary_step": 12, "salary_coefficient": 4.98},  # A1 has 9 steps
        "400000000004": {"salary_coefficient": None},  # nothing to compare
        "400000000005": {"rank_code": "01.004", "salary_step": 7, "salary_coefficient": 3.96},  # A0 step 7
        "400000000006": {"salary_coefficient": 3.10, "employment_status": "retired"},  # not in service
    })
    assert {pid for kind, pid in found if kind == "salary_off_table"} == {"400000000002", "400000000003"}


async def test_probation_by_rank_and_only_people_in_service(uow: UnitOfWork, clock: Any) -> None:
    found = await cases(uow, clock, {
        # Cán sự (công chức loại D): 6 months, over after 8.
        "400000000001": {"employment_status": "probation", "rank_code": "01.004", "recruited_on": dt.date(2025, 11, 1)},
        # Chuyên viên: 12 months, not over after 8.
        "400000000002": {"employment_status": "probation", "rank_code": "01.003", "recruited_on": dt.date(2025, 11, 1)},
        # An old 9-digit ID on a retired dossier is history, not a finding; on someone in service it is.
        "400000003": {"employment_status": "retired"},
        "400000004": {},
    })
    assert found == {("probation_overdue", "400000000001"), ("bad_personal_id", "400000004")}
    vn = load_profile("vn-2026")
    assert [probation_months(code, extra, vn) for code, extra in (
        ("01.003", {"group": "A1"}), ("V.07.01.99", {"group": "A0"}), ("01.004", {"group": "A0"}),
        ("01.005", {"group": "B"}), (None, {}), ("X", {"group": "A1", "probation_months": 3}))] == [12, 9, 6, 6, 12, 3]


async def test_a_registered_raise_or_rank_raise_is_a_reason(uow: UnitOfWork, clock: Any) -> None:
    overdue = {"salary_since": dt.date(2022, 1, 1)}
    people = {"500000000001": overdue, "500000000002": overdue, "500000000003": overdue}
    await cases(uow, clock, people)
    async with uow.write() as repos:
        ids = await repos.dossiers.ids_by_personal_id(list(people))
        syt = (await repos.units.by_code("SYT")).id
        for pid, for_kind in (("500000000001", "rank_raise"), ("500000000002", "salary_raise"),
                              ("500000000003", "appointment")):
            await event(repos, ids[pid], syt, "registration", local(2026, 6, 28), status="registered",
                        payload={"for_kind": for_kind}, deadline=dt.date(2026, 7, 10))
    found = await InspectionService(uow, SYSTEM, clock).run()
    assert [(f.kind, f.personal_id) for f in found.findings] == [("salary_overdue", "500000000003")]


async def test_a_discipline_since_the_step_puts_the_raise_off_logged_or_recorded(any_database: Database,
                                                                                 clock: Any) -> None:
    """A step due since 01/01/2025 is overdue unless a discipline took effect on or after the step's date:
    logged as a change or recorded in the dossier's disciplines, the latest of them deciding."""
    uow = UnitOfWork(any_database)
    await tree(uow, clock)
    await install_reference_lists(uow)
    now = clock.now()
    people = {"300000000001": "before the step", "300000000002": "recorded since the step",
              "300000000003": "logged on the step's day", "300000000004": "rejected, not applied"}
    async with uow.write() as repos:
        syt = (await repos.units.by_code("SYT")).id
        await repos.dossiers.add_many([{
            **COMPLETE, "salary_since": dt.date(2022, 1, 1), "personal_id": pid, "full_name": f"Người {pid[-1]}",
            "folded_name": f"nguoi {pid[-1]}", "custodian_unit_id": syt, "working_unit_id": syt, "created_at": now,
            "updated_at": now} for pid in people])
        ids = await repos.dossiers.ids_by_personal_id(list(people))
        await event(repos, ids["300000000001"], syt, "discipline", local(2021, 6, 2), effective_on=dt.date(2021, 6, 1))
        repos.session.add_all([
            DossierRecord(dossier_id=ids["300000000002"], kind="discipline", date_from=dt.date(2023, 3, 1),
                          data={"form": "Khiển trách"}, created_at=now),
            DossierRecord(dossier_id=ids["300000000003"], kind="discipline", date_from=dt.date(2020, 1, 1),
                          data={"form": "Khiển trách"}, created_at=now),
            DossierRecord(dossier_id=ids["300000000001"], kind="training", date_from=dt.date(2024, 1, 1),
                          data={}, created_at=now)])
        await event(repos, ids["300000000003"], syt, "discipline", local(2022, 1, 2), effective_on=dt.date(2022, 1, 1))
        await event(repos, ids["300000000004"], syt, "discipline", local(2023, 1, 2), effective_on=dt.date(2023, 1, 1),
                    status="rejected")
    inspection = await InspectionService(uow, SYSTEM, clock).run()
    overdue = {f.personal_id for f in inspection.findings if f.kind == "salary_overdue"}
    assert overdue == {"300000000001", "300000000004"}
