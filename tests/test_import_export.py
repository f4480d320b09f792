"""Import and export of dossiers (services/dossier_io.py) on a real SQLite database."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from services.core.actor import Actor, Role
from services.core.clock import FrozenClock
from services.core.errors import InvalidInput, PermissionDenied
from services.core.identity import load_actor
from services.demo import CONSOLE_USER_IDS, seed_demo
from services.dossiers.io.results import (
    CUSTODY_BY_TRANSFER,
    DOSSIER_OUT_OF_SCOPE,
    DUPLICATE,
    LOST_ZEROS,
    REQUIRED,
    ImportReport,
)
from services.dossiers.io.service import DossierIOService
from services.dossiers.io.writers import write_error_report, write_template
from services.platform.audit import AuditService
from services.platform.units import NO_SUCH_UNIT, UNIT_OUT_OF_SCOPE
from services.regime.reference import install_reference_lists
from storage import UnitOfWork
from storage.models import AuditEvent, Dossier

HEADERS = ["personal_id", "full_name", "gender", "birth_date", "unit_code", "rank_code", "position", "salary_step",
           "salary_coefficient", "salary_date", "recruited_on", "status"]


def row(personal_id: str, name: str = "Nguyễn Văn An", unit: str = "SNV", **changes: Any) -> dict[str, Any]:
    values = {"personal_id": personal_id, "full_name": name, "gender": "M", "birth_date": "15/03/1990",
              "unit_code": unit, "rank_code": "01.003", "position": "Chuyên viên", "salary_step": "3",
              "salary_coefficient": "3.00", "salary_date": "01/01/2024", "recruited_on": "01/09/2015",
              "status": "active"}
    values.update(changes)
    return values


def write_csv(path: Path, rows: list[dict[str, Any]], headers: list[str] = HEADERS, delimiter: str = ",") -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(headers)
        for values in rows:
            writer.writerow([values.get(header, "") for header in headers])
    return path


def write_xlsx(path: Path, rows: list[list[Any]], headers: list[str] = HEADERS) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for values in rows:
        sheet.append(values)
    workbook.save(path)
    return path


async def seeded(uow: UnitOfWork, clock: FrozenClock, size: int = 0) -> None:
    await seed_demo(uow, clock, size)


def io(uow: UnitOfWork, clock: FrozenClock, actor: Actor | None = None) -> DossierIOService:
    return DossierIOService(uow, actor or Actor.system(), clock)


async def count(uow: UnitOfWork, model: type) -> int:
    async with uow.read() as repos:
        return int(await repos.session.scalar(select(func.count()).select_from(model)) or 0)


async def dossier(uow: UnitOfWork, personal_id: str) -> Dossier | None:
    async with uow.read() as repos:
        return await repos.session.scalar(select(Dossier).where(Dossier.personal_id == personal_id))


async def verify(uow: UnitOfWork, clock: FrozenClock) -> None:
    report = await AuditService(uow, Actor.system(), clock).verify()
    assert report.ok, report


VIETNAMESE = {"Row": "Dòng", "Column": "Cột", "Value": "Giá trị", "Reason": "Lý do",
              "Not a valid date: {value} (use dd/mm/yyyy)": "Ngày không hợp lệ: {value}"}


def by_row(report: ImportReport) -> dict[int, list[tuple[str, str, str]]]:
    found: dict[int, list[tuple[str, str, str]]] = {}
    for error in report.errors:
        found.setdefault(error.row, []).append((error.column, error.value, error.message))
    return found


async def test_export_then_import_changes_nothing(uow: UnitOfWork, clock: FrozenClock, tmp_path: Path) -> None:
    await seeded(uow, clock, 60)
    service = io(uow, clock)
    for name, vietnamese in (("all.xlsx", False), ("tat-ca.xlsx", True), ("all.csv", False)):
        exported = await service.export_file(tmp_path / name, vietnamese=vietnamese)
        assert exported.count == 60
        events = await count(uow, AuditEvent)
        report = await service.import_file(tmp_path / name)
        assert (report.rows, report.created, report.updated, report.unchanged, report.failed) == (60, 0, 0, 60, 0), \
            report.errors[:3]
        assert await count(uow, AuditEvent) == events  # nothing changed, nothing audited
    async with uow.read() as repos:
        exports = (await repos.session.scalars(select(AuditEvent).where(AuditEvent.action == "dossier.export"))).all()
    assert [event.details["count"] for event in exports] == [60, 60, 60]
    await verify(uow, clock)


async def test_leading_zeros_survive_export_and_import(uow: UnitOfWork, clock: FrozenClock, tmp_path: Path) -> None:
    await seeded(uow, clock)
    service = io(uow, clock)
    source = write_csv(tmp_path / "in.csv", [row("001090000123"), row("000000000007", "Trần Thị Bé", gender="F")])
    assert (await service.import_file(source)).created == 2

    exported = tmp_path / "out.xlsx"
    await service.export_file(exported, vietnamese=False)  # the English headers, kept as an option
    sheet = load_workbook(exported).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    assert header[:13] == ["personal_id", "full_name", "gender", "birth_date", "unit_code", "working_unit_code",
                           "rank_code", "position", "salary_step", "salary_coefficient", "salary_date",
                           "recruited_on", "status"]
    ids = {sheet.cell(row, 1).value: sheet.cell(row, 1) for row in range(2, sheet.max_row + 1)}
    assert set(ids) == {"001090000123", "000000000007"}
    for cell in ids.values():
        assert cell.data_type == "s" and cell.number_format == "@"  # text, and stays text when edited
    born = sheet.cell(2, header.index("birth_date") + 1)
    assert born.is_date and born.number_format == "DD/MM/YYYY" and born.value == dt.datetime(1990, 3, 15)

    again = await service.import_file(exported)
    assert (again.created, again.updated, again.unchanged, again.failed) == (0, 0, 2, 0)
    assert (await dossier(uow, "001090000123")) is not None and (await dossier(uow, "1090000123")) is None


async def test_an_id_typed_as_a_number_is_flagged_not_padded(uow: UnitOfWork, clock: FrozenClock, tmp_path: Path) -> None:
    await seeded(uow, clock)
    born = dt.datetime(1990, 3, 15)
    source = write_xlsx(tmp_path / "numbers.xlsx", [
        [1090000123, "Lê Văn Số", "Nam", born, "SNV"],  # 001090000123 typed into a number cell
        [123456789012, "Lê Văn Đủ", "Nam", born, "SNV"],  # twelve digits, but still a number cell
        ["092190001234", "Lê Thị Chữ", "Nữ", born, "SNV"],
    ], HEADERS[:5])
    report = await io(uow, clock).import_file(source)
    assert (report.created, report.failed, report.review) == (1, 2, 2)
    assert [(e.row, e.column, e.value, e.message, e.review) for e in report.errors] == [
        (2, "personal_id", "1090000123", LOST_ZEROS, True),
        (3, "personal_id", "123456789012", LOST_ZEROS, True),
    ]
    assert "lost its leading zeros" in report.errors[0].reason(str)
    for padded in ("001090000123", "1090000123", "123456789012"):
        assert await dossier(uow, padded) is None
    assert (await dossier(uow, "092190001234")).sex == "F"


async def test_broken_rows_are_reported_and_good_rows_committed(
    uow: UnitOfWork, clock: FrozenClock, tmp_path: Path
) -> None:
    await seeded(uow, clock)
    rows = [
        row("092190000001"),  # row 2: good
        row("092190000002", birth_date="abc"),  # 3
        row("092190000003", birth_date="31/02/1990"),  # 4
        row("092190000004", recruited_on="01/01/2030"),  # 5: in the future (today is 01/07/2026)
        row("092190000005", birth_date="01/01/2014"),  # 6: aged 12
        row("092190000006", unit="NOPE"),  # 7
        row("09219000007"),  # 8: eleven digits
        row("092190000008", salary_coefficient="ba phẩy không", gender="X"),  # 9: two errors in one row
        row("092190000001", "Nguyễn Văn Trùng"),  # 10: the same ID as row 2
        row("092190000010", full_name=""),  # 11: a new dossier needs a name
        row("092190000011", gender="Nữ", status="Nghỉ hưu", salary_coefficient="2,34"),  # 12: good
    ]
    report = await io(uow, clock).import_file(write_csv(tmp_path / "broken.csv", rows))
    assert (report.rows, report.created, report.failed) == (11, 2, 9)
    errors = by_row(report)
    assert sorted(errors) == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert errors[3] == [("birth_date", "abc", "Not a valid date: {value} (use dd/mm/yyyy)")]
    assert errors[4] == [("birth_date", "31/02/1990", "Not a valid date: {value} (use dd/mm/yyyy)")]
    assert errors[5] == [("recruited_on", "01/01/2030", "The date {value} is in the future.")]
    assert errors[6][0][:2] == ("birth_date", "01/01/2014") and "age between" in errors[6][0][2]
    assert errors[7] == [("unit_code", "NOPE", NO_SUCH_UNIT)]
    assert errors[8] == [("personal_id", "09219000007", LOST_ZEROS)]
    assert [column for column, _value, _message in errors[9]] == ["gender", "salary_coefficient"]
    assert errors[10] == [("personal_id", "092190000001", DUPLICATE)]
    assert errors[11] == [("full_name", "", REQUIRED)]
    aged = next(error for error in report.errors if error.row == 6)
    assert aged.reason(str) == "A birth date must give an age between 15 and 100; 01/01/2014 gives 12."

    good = await dossier(uow, "092190000011")
    assert (good.sex, good.employment_status, good.salary_coefficient) == ("F", "retired", 2.34)
    assert (await dossier(uow, "092190000001")).full_name == "Nguyễn Văn An"  # the duplicate did not win
    assert await count(uow, Dossier) == 2

    # The error report: one line per error, the reason in the reader's language.
    for suffix in (".xlsx", ".csv"):
        path = write_error_report(report, tmp_path / f"errors{suffix}", lambda message: VIETNAMESE.get(message, message))
        if suffix == ".xlsx":
            lines = [[cell for cell in line] for line in load_workbook(path).worksheets[0].iter_rows(values_only=True)]
        else:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                lines = [[int(v) if i == 0 and v.isdigit() else (v or None) for i, v in enumerate(line)]
                         for line in csv.reader(handle)]
        assert lines[0] == ["Dòng", "Cột", "Giá trị", "Lý do"]
        assert len(lines) == 1 + len(report.errors)
        assert lines[1] == [3, "birth_date", "abc", "Ngày không hợp lệ: abc"]


async def test_importing_twice_changes_nothing_the_second_time(
    uow: UnitOfWork, clock: FrozenClock, tmp_path: Path
) -> None:
    await seeded(uow, clock)
    service = io(uow, clock)
    source = write_csv(tmp_path / "staff.csv", [row(f"0921900000{n:02d}", f"Phạm Văn {n}") for n in range(25)])
    first = await service.import_file(source)
    assert (first.created, first.updated, first.unchanged, first.failed) == (25, 0, 0, 0)
    events = await count(uow, AuditEvent)
    second = await service.import_file(source)
    assert (second.created, second.updated, second.unchanged, second.failed) == (0, 0, 25, 0)
    assert await count(uow, AuditEvent) == events

    # One changed cell updates that dossier only, and says which fields changed.
    changed = [row(f"0921900000{n:02d}", f"Phạm Văn {n}") for n in range(25)]
    changed[4].update(full_name="Phạm Văn Bốn", salary_step="4")
    third = await service.import_file(write_csv(tmp_path / "staff2.csv", changed))
    assert (third.created, third.updated, third.unchanged) == (0, 1, 24)
    updated = await dossier(uow, "092190000004")
    assert (updated.full_name, updated.folded_name, updated.salary_step) == ("Phạm Văn Bốn", "pham van bon", 4)
    async with uow.read() as repos:
        last = (await repos.audit.search(limit=1))[0]
    assert (last.action, last.object_id) == ("dossier.import_update", str(updated.id))
    assert last.details == {"row": 6, "source": "staff2.csv", "fields": ["full_name", "salary_step"]}


async def test_csv_with_vietnamese_headers(uow: UnitOfWork, clock: FrozenClock, tmp_path: Path) -> None:
    await seeded(uow, clock)
    headers = ["Số định danh", "HỌ VÀ TÊN", "gioi tinh", "Ngày sinh", "Mã đơn vị", "Mã ngạch", "Chức vụ", "Bậc lương",
               "Hệ số lương", "Ngày hưởng lương", "Ngày tuyển dụng", "Tình trạng", "Dân tộc", "Ghi chú riêng"]
    lines = [
        ["092190000101", "Võ Thị Hồng Nhung", "Nữ", "02/09/1985", "sgddt", "01.003", "Giáo viên", "5", "3,33",
         "01/04/2023", "15/08/2008", "Đang làm việc", "Kinh", "x"],
        ["092190000102", "Đặng Văn Hùng", "Nam", "2/9/1979", "SYT", "01.002", "Trưởng phòng", "7", "4,98",
         "01/01/2022", "01/10/2001", "Tập sự", "Khmer", ""],
    ]
    path = tmp_path / "ho-so.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(headers)
        writer.writerows(lines)
    report = await io(uow, clock).import_file(path)
    assert (report.created, report.failed) == (2, 0), report.errors
    assert report.ignored_columns == ["Ghi chú riêng"]
    nhung = await dossier(uow, "092190000101")
    assert (nhung.full_name, nhung.sex, nhung.birth_date, nhung.post, nhung.salary_coefficient, nhung.ethnicity,
            nhung.employment_status, nhung.salary_since) == (
        "Võ Thị Hồng Nhung", "F", dt.date(1985, 9, 2), "Giáo viên", 3.33, "Kinh", "active", dt.date(2023, 4, 1))
    assert nhung.folded_name == "vo thi hong nhung"
    assert (await dossier(uow, "092190000102")).employment_status == "probation"
    async with uow.read() as repos:
        unit = await repos.units.by_code("SGDDT")
    assert nhung.custodian_unit_id == nhung.working_unit_id == unit.id


async def test_a_dry_run_writes_nothing(uow: UnitOfWork, clock: FrozenClock, tmp_path: Path) -> None:
    await seeded(uow, clock)
    source = write_csv(tmp_path / "dry.csv", [row("092190000201"), row("092190000202", birth_date="x")])
    events = await count(uow, AuditEvent)
    report = await io(uow, clock).import_file(source, dry_run=True)
    assert (report.dry_run, report.created, report.failed) == (True, 1, 1)
    assert await count(uow, Dossier) == 0 and await count(uow, AuditEvent) == events


async def test_the_audit_chain_verifies_after_an_import(uow: UnitOfWork, clock: FrozenClock, tmp_path: Path) -> None:
    await seeded(uow, clock)
    service = io(uow, clock)
    rows = [row(f"09219{n:07d}", f"Huỳnh Văn {n}") for n in range(4500)]  # three batches
    report = await service.import_file(write_csv(tmp_path / "many.csv", rows))
    assert report.created == 4500
    rows[10]["position"] = "Phó Trưởng phòng"
    clock.advance(dt.timedelta(minutes=5))
    assert (await service.import_file(write_csv(tmp_path / "many2.csv", rows))).updated == 1
    async with uow.read() as repos:
        actions = [event.action for event in await repos.audit.search(limit=5000)]
    assert actions.count("dossier.import_create") == 4500 and actions.count("dossier.import_update") == 1
    # A single append after the bulk ones extends the same chain.
    await service.export_file(tmp_path / "after.xlsx")
    await verify(uow, clock)


async def test_a_clerk_cannot_import_into_another_unit(uow: UnitOfWork, clock: FrozenClock, tmp_path: Path) -> None:
    await seeded(uow, clock)
    admin = io(uow, clock)
    await admin.import_file(write_csv(tmp_path / "syt.csv", [row("092190000301", unit="SYT")]))
    clerk = io(uow, clock, await load_actor(uow, "telegram", CONSOLE_USER_IDS[Role.CLERK]))  # Sở Giáo dục và Đào tạo

    rows = [
        row("092190000302", unit="THPT-CVL"),  # row 2: a school under the clerk's department
        row("092190000303", unit="SYT"),  # 3: another department
        row("092190000301", "Tên Khác", unit="SGDDT"),  # 4: a dossier the health department holds
    ]
    report = await clerk.import_file(write_csv(tmp_path / "clerk.csv", rows))
    assert (report.created, report.updated, report.failed) == (1, 0, 2)
    assert [(e.row, e.column, e.value, e.message) for e in report.errors] == [
        (3, "unit_code", "SYT", UNIT_OUT_OF_SCOPE),
        (4, "personal_id", "092190000301", DOSSIER_OUT_OF_SCOPE),
    ]
    assert (await dossier(uow, "092190000301")).full_name == "Nguyễn Văn An"
    assert await dossier(uow, "092190000303") is None

    with pytest.raises(InvalidInput) as refused:
        await clerk.import_file(tmp_path / "clerk.csv", default_unit_code="SYT")
    assert refused.value.message == UNIT_OUT_OF_SCOPE
    manager = io(uow, clock, await load_actor(uow, "telegram", CONSOLE_USER_IDS[Role.MANAGER]))
    with pytest.raises(PermissionDenied):
        await manager.import_file(tmp_path / "clerk.csv")

    # The clerk's export holds the clerk's scope only; the manager's shows no addresses.
    await clerk.export_file(tmp_path / "clerk-out.xlsx")
    sheet = load_workbook(tmp_path / "clerk-out.xlsx").worksheets[0]
    assert [sheet.cell(r, 1).value for r in range(2, sheet.max_row + 1)] == ["092190000302"]
    await manager.export_file(tmp_path / "manager-out.xlsx", vietnamese=False)
    header = [cell.value for cell in load_workbook(tmp_path / "manager-out.xlsx").worksheets[0][1]]
    assert "phone" not in header and "current_address" not in header and "personal_id" in header
    with pytest.raises(InvalidInput):
        await clerk.export_file(tmp_path / "x.xlsx", unit_code="SYT")


async def test_a_default_unit_and_the_template(uow: UnitOfWork, clock: FrozenClock, tmp_path: Path) -> None:
    await seeded(uow, clock)
    service = io(uow, clock)
    no_unit = [{**row("092190000401"), "unit_code": ""}]
    report = await service.import_file(write_csv(tmp_path / "nounit.csv", no_unit))
    assert [(e.column, e.message) for e in report.errors] == [("unit_code", "No unit code: fill in the column, or give a default unit.")]
    report = await service.import_file(tmp_path / "nounit.csv", default_unit_code="stp")
    assert report.created == 1
    async with uow.read() as repos:
        stp = await repos.units.by_code("STP")
    assert (await dossier(uow, "092190000401")).custodian_unit_id == stp.id

    template = write_template(tmp_path / "mau.xlsx")
    sheet = load_workbook(template).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    assert header[:13] == ["Số định danh", "Họ và tên", "Giới tính", "Ngày sinh", "Mã đơn vị", "Mã đơn vị công tác",
                           "Mã ngạch", "Chức vụ", "Bậc lương", "Hệ số lương", "Ngày hưởng lương", "Ngày tuyển dụng",
                           "Tình trạng"]
    assert sheet.max_row == 2 and sheet.cell(2, 3).value == "Nữ"
    filled = await service.import_file(template)  # the example row itself imports
    assert (filled.created, filled.failed) == (1, 0), filled.errors


async def test_files_that_cannot_be_read(uow: UnitOfWork, clock: FrozenClock, tmp_path: Path) -> None:
    await seeded(uow, clock)
    service = io(uow, clock)
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip")
    (tmp_path / "latin.csv").write_bytes("personal_id,full_name\n092190000001,Nguy\xe1n\n".encode("latin-1"))
    write_csv(tmp_path / "noid.csv", [{"full_name": "A"}], ["full_name", "gender"])
    (tmp_path / "notes.txt").write_text("x")
    for name, message in (("bad.xlsx", "Not a readable Excel file: {name}"),
                          ("latin.csv", '{name} is not UTF-8 text: save it as "CSV UTF-8".'),
                          ("noid.csv", "The file has no personal ID column (Số định danh, personal_id)."),
                          ("notes.txt", "Use an .xlsx or .csv file: {name}"),
                          ("missing.csv", "No such file: {name}")):
        with pytest.raises(InvalidInput) as refused:
            await service.import_file(tmp_path / name)
        assert refused.value.message == message
    assert await count(uow, Dossier) == 0


async def test_a_large_xlsx_is_read_by_a_process_of_its_own(
    uow: UnitOfWork, clock: FrozenClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import services.dossiers.io.spreadsheets as spreadsheets

    await seeded(uow, clock, 30)
    service = io(uow, clock)
    exported = tmp_path / "all.xlsx"
    await service.export_file(exported)
    monkeypatch.setattr(spreadsheets, "READER_PROCESS_MIN_BYTES", 0)  # every .xlsx is "large"
    monkeypatch.setattr(spreadsheets, "READ_CHUNK", 7)  # several chunks through the pipe
    opened = await spreadsheets.open_table(exported)
    try:
        assert isinstance(opened, spreadsheets.ReaderProcess)
    finally:
        await opened.aclose()
    report = await service.import_file(exported)
    assert (report.rows, report.unchanged, report.failed) == (30, 30, 0)

    (tmp_path / "bad.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InvalidInput) as refused:
        await service.import_file(tmp_path / "bad.xlsx")
    assert refused.value.message == "Not a readable Excel file: {name}"


async def test_append_many_hashes_like_append(any_database: Any, clock: FrozenClock) -> None:
    """On each backend: events appended in bulk, then one by one, then in bulk again, form one chain."""
    from storage.audit import NewEvent

    uow = UnitOfWork(any_database)
    async with uow.write() as repos:
        head = await repos.audit.append_many([NewEvent(clock.now(), "test.bulk", "system", None, "dossier", str(n),
                                                       {"row": n, "fields": ["a", "b"]}) for n in range(5)])
        assert head.seq == 5
    async with uow.write() as repos:
        single = await repos.audit.append(at=clock.now(), action="test.one", actor_label="system")
        assert single.seq == 6
        assert (await repos.audit.append_many([])).seq == 6
        assert (await repos.audit.append_many([NewEvent(clock.now(), "test.bulk", "x")])).seq == 7
    await verify(uow, clock)


async def test_import_update_export_on_each_backend(any_database: Any, clock: FrozenClock, tmp_path: Path) -> None:
    uow = UnitOfWork(any_database)
    await seeded(uow, clock, 20)
    service = io(uow, clock)
    rows = [row(f"00{n:010d}", f"Đỗ Thị {n}", gender="F", unit="THPT-VT") for n in range(3000)]  # two batches
    first = await service.import_file(write_csv(tmp_path / "a.csv", rows))
    assert (first.created, first.failed) == (3000, 0), first.errors[:3]
    rows[7].update(salary_coefficient="3.66", recruited_on="02/09/2016")
    rows[8].update(unit_code="SNV")  # custody moves only through a transfer request: refused, row reported
    second = await service.import_file(write_csv(tmp_path / "b.csv", rows))
    assert (second.created, second.updated, second.unchanged, second.failed) == (0, 1, 2998, 1)
    assert [(error.row, error.message) for error in second.errors] == [(10, CUSTODY_BY_TRANSFER)]
    kept = await dossier(uow, "000000000008")
    async with uow.read() as repos:
        vt = await repos.units.by_code("THPT-VT")
    assert kept.custodian_unit_id == kept.working_unit_id == vt.id

    exported = await service.export_file(tmp_path / "all.xlsx")
    assert exported.count == 3020
    back = await service.import_file(tmp_path / "all.xlsx")
    assert (back.unchanged, back.created, back.updated, back.failed) == (3020, 0, 0, 0)
    subtree = await service.export_file(tmp_path / "vt.xlsx", unit_code="THPT-VT")
    assert 3000 <= subtree.count < 3020
    await verify(uow, clock)


async def test_the_export_names_the_rank_and_speaks_vietnamese(uow: UnitOfWork, clock: FrozenClock,
                                                               tmp_path: Path) -> None:
    """Issue 18: a dossier holding only its rank's code is exported with the reference list's name, under the
    Vietnamese headers and words by default; both files import back as no change."""
    from tests.test_lookup import add_people, tree

    await tree(uow, clock)
    await add_people(uow, clock, [("001188000111", "Đặng Thị Hoà", dt.date(1988, 3, 9), "SYT", "retired", "01.003")])
    service = io(uow, clock)
    await service.export_file(tmp_path / "vi.xlsx")
    await service.export_file(tmp_path / "en.csv", vietnamese=False)
    sheet = load_workbook(tmp_path / "vi.xlsx").worksheets[0]
    row = {head.value: cell.value for head, cell in zip(sheet[1], sheet[2], strict=True)}
    assert (row["Mã ngạch"], row["Tên ngạch"], row["Giới tính"], row["Tình trạng"]) == (
        "01.003", "Chuyên viên", "Nữ", "Nghỉ hưu")
    with (tmp_path / "en.csv").open(encoding="utf-8-sig", newline="") as handle:
        english = next(csv.DictReader(handle))
    assert (english["rank_code"], english["rank_name"], english["gender"], english["status"]) == (
        "01.003", "Chuyên viên", "F", "retired")
    for name in ("vi.xlsx", "en.csv"):
        report = await service.import_file(tmp_path / name)
        assert (report.rows, report.unchanged, report.updated, report.failed) == (1, 1, 0, 0), name
    async with uow.read() as repos:
        stored = (await repos.session.scalars(select(Dossier))).one()
    assert stored.rank_name is None  # the reference list keeps the name; the dossier only its own


async def test_a_coefficient_off_the_rank_and_step_is_imported_and_reported(uow: UnitOfWork, clock: FrozenClock,
                                                                             tmp_path: Path) -> None:
    await seeded(uow, clock)
    await install_reference_lists(uow)
    source = write_csv(tmp_path / "salary.csv", [
        row("092190000301"),  # 01.003 (A1) step 3 at 3.00: the table's
        row("092190000302", salary_coefficient="3.99"),  # step 6's coefficient on step 3
        row("092190000303", salary_step="12", salary_coefficient="4.98"),  # A1 has 9 steps
    ])
    report = await io(uow, clock).import_file(source)
    assert (report.created, report.failed, report.counts()["off_table"]) == (3, 0, 2)
    assert [(e.row, e.column, e.value, e.params) for e in report.off_table] == [
        (3, "salary_coefficient", "3.99", {"coefficient": "3.99", "rank": "01.003", "step": 3, "table": "3.00"}),
        (4, "salary_coefficient", "4.98", {"coefficient": "4.98", "rank": "01.003", "step": 12, "table": "—"})]
    assert (await dossier(uow, "092190000302")).salary_coefficient == 3.99  # imported as the file says
    # An update that brings the stored step back onto the table is not reported again.
    again = await io(uow, clock).import_file(write_csv(tmp_path / "fixed.csv", [
        row("092190000302", salary_step="6", salary_coefficient="3.99")]))
    assert (again.updated, again.off_table) == (1, [])
    written = write_error_report(report, tmp_path / "salary.errors.csv").read_text(encoding="utf-8-sig")
    assert [line.split(",")[:3] for line in written.splitlines()[1:]] == [
        ["3", "salary_coefficient", "3.99"], ["4", "salary_coefficient", "4.98"]]
