"""Every .xlsx HoSo produces is ready to print and to hand over (issue 18, point 9): A4 landscape, as wide as
the page, its heading rows repeated on each page, a title printed above each page; the units numbered as
the tree (1, 1.1, 1.2); the export in Vietnamese by default."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.workbook import Workbook

from locales import translator
from services.core.clock import FrozenClock
from services.documents.inspection_workbook import inspection_workbook
from services.documents.stats_workbook import (
    item_numbers,
    provincial_workbook,
    save,
    statistics_workbook,
    streamed,
    table_sheet,
)
from services.dossiers.io.results import ImportReport, RowError
from services.dossiers.io.service import DossierIOService
from services.dossiers.io.writers import write_error_report, write_template
from services.oversight.inspection import InspectionService
from services.oversight.reports import ReportService
from services.oversight.statistics import OWN, SUBTOTAL, TOTAL, UNIT, StatisticsService
from storage import UnitOfWork
from tests.test_accounts import SYSTEM
from tests.test_reminders import province
from tests.test_reports import FILLED

vi = translator("vi")


def assert_ready_to_print(workbook: Workbook, name: str, heading_rows: dict[str, str] | None = None) -> None:
    for sheet in workbook.worksheets:
        where = f"{name}/{sheet.title}"
        setup = sheet.page_setup
        assert setup.orientation == "landscape", where
        assert (int(setup.fitToWidth), int(setup.fitToHeight)) == (1, 0), where  # one page wide, as many down
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, where
        expected = (heading_rows or {}).get(sheet.title, "$1:$1")
        assert sheet.print_title_rows == expected, where  # the heading on every page
        assert sheet.oddHeader.center.text, where  # the print title
        assert "&P" in sheet.oddFooter.center.text, where  # the page number


def opened(content: bytes) -> Workbook:
    return load_workbook(io.BytesIO(content))


async def test_every_produced_workbook_is_ready_to_print(uow: UnitOfWork, clock: FrozenClock, tmp_path: Path) -> None:
    await province(uow, clock)
    table = await StatisticsService(uow, SYSTEM, clock).table()
    stats = opened(statistics_workbook(table, vi, "Thống kê"))
    assert_ready_to_print(stats, "stats", {"Thống kê": "$3:$4"})
    assert stats.worksheets[0].oddHeader.center.text == "Thống kê"

    reports = ReportService(uow, SYSTEM, clock)
    await reports.save("SYT", "2026-H2", FILLED)
    await reports.submit("SYT", "2026-H2")
    provincial = opened(provincial_workbook(await reports.provincial("2026-H2"), vi, "Báo cáo", clock.tz))
    assert len(provincial.worksheets) == 3
    assert_ready_to_print(provincial, "province", {"Thống kê": "$3:$4"})

    inspection = await InspectionService(uow, SYSTEM, clock).run()
    inspected = opened(inspection_workbook(inspection, vi, "Kiểm tra", clock.tz))
    assert_ready_to_print(inspected, "inspection", {"Kiểm tra": "$3:$4"})

    service = DossierIOService(uow, SYSTEM, clock)
    await service.export_file(tmp_path / "export.xlsx")
    exported = load_workbook(tmp_path / "export.xlsx")
    assert_ready_to_print(exported, "export")
    assert exported.worksheets[0].oddHeader.center.text == "Danh sách hồ sơ cán bộ, công chức, viên chức"
    report = ImportReport(file="in.xlsx", errors=[RowError(2, "Ngày sinh", "31/02/1990", "not a date")])
    assert_ready_to_print(load_workbook(write_error_report(report, tmp_path / "errors.xlsx", vi)), "errors")
    assert_ready_to_print(load_workbook(write_template(tmp_path / "template.xlsx")), "template")


async def test_units_are_numbered_as_the_tree(uow: UnitOfWork, clock: FrozenClock) -> None:
    await province(uow, clock)
    table = await StatisticsService(uow, SYSTEM, clock).table()
    sheet = opened(statistics_workbook(table, vi, "Thống kê")).worksheets[0]
    rows = [(sheet.cell(row, 1).value, sheet.cell(row, 2).value) for row in range(5, sheet.max_row + 1)]
    assert rows == [(None, "UBND thành phố Cần Thơ"), ("1", "Sở Nội vụ"), ("2", "Sở Tài chính"), ("3", "Sở Y tế"),
                    (None, "Sở Y tế (cơ quan)"),  # its own staff: part of item 3, not one more
                    ("3.1", "Bệnh viện Đa khoa")]
    # Deeper trees and several roots under a grand total.
    assert item_numbers([(TOTAL, 0), (SUBTOTAL, 1), (OWN, 2), (SUBTOTAL, 2), (UNIT, 3), (UNIT, 3), (UNIT, 2),
                         (UNIT, 1)]) == ["", "1", "", "1.1", "1.1.1", "1.1.2", "1.2", "2"]


def test_a_text_that_reads_as_a_formula_stays_text_in_a_streamed_list() -> None:
    """A name or a detail typed as "=…" is written as text, never a formula Excel would run; other values keep
    their types."""
    workbook = streamed()
    table_sheet(workbook.create_sheet("Findings"), ["Name", "Count", "Born"],
                [["=HYPERLINK(\"http://example.invalid\",\"x\")", 3, None], ["Lê Thị An", 0, "01/01/1990"]], "Findings")
    sheet = load_workbook(io.BytesIO(save(workbook)))["Findings"]
    first, second = list(sheet.iter_rows(min_row=2, max_row=3))
    assert first[0].value == "=HYPERLINK(\"http://example.invalid\",\"x\")" and first[0].data_type == "s"
    assert (first[1].value, first[1].data_type, first[2].value) == (3, "n", None)
    assert (second[0].value, second[0].data_type, second[2].value) == ("Lê Thị An", "s", "01/01/1990")
