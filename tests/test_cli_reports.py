"""`hoso stats` and `hoso report board|province` as a subprocess: the files they write, read back, their
JSON, and one line naming the bad option with a non-zero exit."""

from __future__ import annotations

import json
from pathlib import Path

from docx import Document
from openpyxl import load_workbook

from services.core.clock import FrozenClock
from services.oversight.reports import ReportService
from storage import UnitOfWork
from tests.conftest import FROZEN_AT, migrated, sqlite_url
from tests.test_accounts import SYSTEM
from tests.test_cli import hoso
from tests.test_reminders import province
from tests.test_reports import FILLED


async def seeded(tmp_path: Path) -> dict[str, str]:
    """The test province in a database file, SYT's report of 2026-H2 submitted; the CLI's environment."""
    url = sqlite_url(tmp_path)
    clock = FrozenClock(FROZEN_AT)
    async with migrated(url) as database:
        uow = UnitOfWork(database)
        await province(uow, clock)
        reports = ReportService(uow, SYSTEM, clock)
        await reports.save("SYT", "2026-H2", FILLED)
        await reports.submit("SYT", "2026-H2")
    return {"HOSO_DATABASE_URL": url}


async def test_stats_writes_the_table_of_a_unit_on_a_date(tmp_path: Path) -> None:
    env = await seeded(tmp_path)
    result = hoso("stats", "--unit", "SYT", "--as-of", "30/06/2026", "syt.xlsx", "--chart", "syt.png", "--json",
                  cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"file": "syt.xlsx", "chart": "syt.png", "people": 6, "as_of": "2026-06-30",
                                         "rows": 3}
    assert (tmp_path / "syt.png").read_bytes().startswith(b"\x89PNG\r\n")  # the chart, as the bot sends it
    rows = [[c.value for c in row] for row in load_workbook(tmp_path / "syt.xlsx").worksheets[0].iter_rows(min_row=5)]
    assert [(row[1], row[2]) for row in rows] == [("Sở Y tế", 6), ("Sở Y tế (cơ quan)", 3), ("Bệnh viện Đa khoa", 3)]
    whole = hoso("stats", "all.xlsx", cwd=tmp_path, env=env)
    assert whole.returncode == 0, whole.stderr
    assert whole.stdout.startswith("7 người đang công tác tại ngày ") and whole.stdout.strip().endswith(
        ", 6 dòng: all.xlsx")  # the province, SNV, STC, SYT with its own staff and the hospital
    sheet = load_workbook(tmp_path / "all.xlsx").worksheets[0]
    assert [sheet.cell(row=r, column=2).value for r in range(5, 11)] == [
        "UBND thành phố Cần Thơ", "Sở Nội vụ", "Sở Tài chính", "Sở Y tế", "Sở Y tế (cơ quan)", "Bệnh viện Đa khoa"]


async def test_stats_names_the_bad_option(tmp_path: Path) -> None:
    env = await seeded(tmp_path)
    for args, line in (
        (["--as-of", "31/02/2026", "x.xlsx"], "hoso: --as-of: Ngày không hợp lệ: 31/02/2026 (dùng dd/mm/yyyy)"),
        (["--unit", "NOPE", "x.xlsx"], "hoso: unit: Không có đơn vị mã NOPE."),
        (["x.csv"], "hoso: FILE: hãy dùng tệp .xlsx: x.csv"),
        (["x.xlsx", "--chart", "x.jpg"], "hoso: --chart: hãy dùng tệp .png: x.jpg"),
        (["--as-of", "01/01/2100", "x.xlsx"], "hoso: as_of: Ngày 01/01/2100 ở tương lai."),
    ):
        result = hoso("stats", *args, cwd=tmp_path, env=env)
        assert (result.returncode, result.stderr.strip()) == (2, line)
    assert not (tmp_path / "x.xlsx").exists()


async def test_report_board_and_the_provinces_report(tmp_path: Path) -> None:
    env = await seeded(tmp_path)
    board = hoso("report", "board", "--period", "2026-H2", "--json", cwd=tmp_path, env=env)
    assert board.returncode == 0, board.stderr
    units = json.loads(board.stdout)["units"]
    assert [(u["unit"], u["status"], u["late"]) for u in units] == [
        ("SNV", "new", None), ("STC", "new", None), ("SYT", "submitted", False)]
    text = hoso("report", "board", "--period", "2026-H2", cwd=tmp_path, env=env)
    assert "Đã nộp 1/3 (0 muộn); đang soạn 0; chưa bắt đầu 2" in text.stdout
    made = hoso("report", "province", "--period", "2026-H2", "tinh.docx", "--json", cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout) == {"period": "2026-H2", "docx": "tinh.docx", "xlsx": "tinh.xlsx",
                                       "submitted": 1, "units": 3}
    paragraphs = [p.text for p in Document(tmp_path / "tinh.docx").paragraphs]
    assert FILLED["dd"] in paragraphs and "Đã gửi: 1/3 cơ quan, đơn vị; gửi muộn: 0." in paragraphs
    assert len(load_workbook(tmp_path / "tinh.xlsx").worksheets) == 3
    wrong = hoso("report", "board", "--period", "2026-H3", cwd=tmp_path, env=env)
    assert wrong.returncode == 2 and wrong.stderr.strip() == (
        "hoso: period: Không phải kỳ báo cáo: 2026-H3 (ví dụ 2026-H1 hoặc 2026-H2).")
