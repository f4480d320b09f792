"""`hoso import`, `hoso export` and `hoso print2c` as a subprocess: the error report, exit codes, the template,
the export's languages, the printed form."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from docx import Document
from openpyxl import load_workbook

from locales import translator
from services.dossiers.io.results import LOST_ZEROS
from tests.conftest import sqlite_url
from tests.test_cli import hoso

_ = translator("vi")  # the CLI's language when HOSO_DEFAULT_LOCALE is unset


def test_import_reports_failed_rows_and_writes_the_template(tmp_path: Path) -> None:
    env = {"HOSO_DATABASE_URL": sqlite_url(tmp_path)}
    assert hoso("init", cwd=tmp_path, env=env).returncode == 0
    assert hoso("unit", "add", "SNV", "Sở Nội vụ", cwd=tmp_path, env=env).returncode == 0

    template = hoso("import", "--template", "mau.xlsx", cwd=tmp_path, env=env)
    assert template.returncode == 0, template.stderr
    sheet = load_workbook(tmp_path / "mau.xlsx").worksheets[0]
    assert [cell.value for cell in sheet[1]][:4] == ["Số định danh", "Họ và tên", "Giới tính", "Ngày sinh"]
    filled = hoso("import", "mau.xlsx", "--json", cwd=tmp_path, env=env)  # its example row imports cleanly
    assert filled.returncode == 0, filled.stderr
    assert json.loads(filled.stdout)["created"] == 1 and json.loads(filled.stdout)["report"] is None
    assert not (tmp_path / "mau.errors.xlsx").exists()

    with (tmp_path / "staff.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["personal_id", "full_name", "gender", "birth_date", "unit_code"])
        writer.writerow(["092190000001", "Nguyễn Văn An", "M", "15/03/1990", "SNV"])
        writer.writerow(["092190000002", "Trần Thị Bình", "F", "31/02/1990", "SNV"])
        writer.writerow(["09219000003", "Lê Văn Cường", "M", "15/03/1990", "SNV"])
        writer.writerow(["092190000004", "Phạm Thị Dung", "F", "15/03/1990", "SNV"])
    result = hoso("import", "staff.csv", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 1, result.stderr  # some rows failed
    counts = json.loads(result.stdout)
    assert {key: counts[key] for key in ("rows", "created", "updated", "unchanged", "failed", "review")} == {
        "rows": 4, "created": 2, "updated": 0, "unchanged": 0, "failed": 2, "review": 1}
    assert counts["report"] == "staff.errors.csv"
    with (tmp_path / "staff.errors.csv").open(encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.reader(handle))
    assert [line[:3] for line in lines[1:]] == [["3", "birth_date", "31/02/1990"], ["4", "personal_id", "09219000003"]]
    assert lines[1][3] == "Ngày không hợp lệ: 31/02/1990 (dùng dd/mm/yyyy)"  # in the CLI's language
    assert lines[2][3] == _(LOST_ZEROS).format(value="09219000003")

    again = hoso("import", "staff.csv", "--report", "loi.xlsx", cwd=tmp_path, env=env)
    assert again.returncode == 1
    summary = _("{file}: {rows} rows; {created} created, {updated} updated, {unchanged} unchanged; {failed} failed.")
    assert summary.format(file="staff.csv", rows=4, created=0, updated=0, unchanged=2, failed=2) in again.stdout
    assert "loi.xlsx" in again.stdout
    assert load_workbook(tmp_path / "loi.xlsx").worksheets[0].max_row == 3

    missing = hoso("import", "nope.xlsx", cwd=tmp_path, env=env)
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1 and "nope.xlsx" in missing.stderr
    unknown = hoso("import", "staff.csv", "--unit", "NOPE", cwd=tmp_path, env=env)
    assert unknown.returncode == 2 and unknown.stderr.strip() == "hoso: unit: Không có đơn vị mã NOPE."

    exported = hoso("export", "all.xlsx", "--json", cwd=tmp_path, env=env)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout) == {"file": "all.xlsx", "count": 3}
    # Vietnamese headers and words by default; the English ones on request; import reads both back.
    sheet = load_workbook(tmp_path / "all.xlsx").worksheets[0]
    assert [cell.value for cell in sheet[1]][:3] == ["Số định danh", "Họ và tên", "Giới tính"]
    assert {sheet.cell(row, 3).value for row in range(2, 5)} == {"Nam", "Nữ"}
    assert hoso("export", "en.xlsx", "--english", cwd=tmp_path, env=env).returncode == 0
    english = load_workbook(tmp_path / "en.xlsx").worksheets[0]
    assert [cell.value for cell in english[1]][:3] == ["personal_id", "full_name", "gender"]
    for name in ("all.xlsx", "en.xlsx"):
        back = json.loads(hoso("import", name, "--json", cwd=tmp_path, env=env).stdout)
        assert (back["unchanged"], back["created"], back["updated"], back["failed"]) == (3, 0, 0, 0)
    assert hoso("audit", "verify", cwd=tmp_path, env=env).returncode == 0


def test_print2c_writes_the_form_of_a_dossier(tmp_path: Path) -> None:
    env = {"HOSO_DATABASE_URL": sqlite_url(tmp_path)}
    assert hoso("init", cwd=tmp_path, env=env).returncode == 0
    assert hoso("unit", "add", "SNV", "Sở Nội vụ", cwd=tmp_path, env=env).returncode == 0
    with (tmp_path / "staff.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Số định danh", "Họ và tên", "Giới tính", "Ngày sinh", "Mã đơn vị", "Mã ngạch", "Hệ số lương"])
        writer.writerow(["092190000001", "Nguyễn Văn An", "Nam", "15/03/1990", "SNV", "01.003", "4.32"])
    assert hoso("import", "staff.csv", cwd=tmp_path, env=env).returncode == 0
    printed = hoso("print2c", "092190000001", "2c.docx", "--json", cwd=tmp_path, env=env)
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout) == {"file": "2c.docx", "personal_id": "092190000001"}
    lines = [paragraph.text for paragraph in Document(tmp_path / "2c.docx").paragraphs]
    # The rank's name comes from the reference list; the coefficient has a decimal comma.
    item = next(line for line in lines if line.startswith("14) "))
    assert item.startswith("14) Ngạch công chức: Chuyên viên, Mã ngạch: 01.003") and "Hệ số: 4,32" in item
    unknown = hoso("print2c", "000000000000", "x.docx", cwd=tmp_path, env=env)
    assert (unknown.returncode, unknown.stderr.strip()) == (
        2, "hoso: Không có hồ sơ nào trong phạm vi của bạn mang số định danh 000000000000.")
    wrong = hoso("print2c", "092190000001", "x.pdf", cwd=tmp_path, env=env)
    assert (wrong.returncode, wrong.stderr.strip()) == (2, "hoso: FILE: hãy dùng tệp .docx: x.pdf")
    assert not (tmp_path / "x.docx").exists()


def test_import_and_export_have_help(tmp_path: Path) -> None:
    for command in (["import"], ["export"], ["print2c"]):
        result = hoso(*command, "--help", cwd=tmp_path)
        assert result.returncode == 0 and "Cách dùng:" in result.stdout, result.stderr
