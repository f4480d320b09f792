"""Spreadsheets written from rows: the export's .xlsx and .csv writers, the import's error report and the
empty template.

The .xlsx is write-only and streamed to disk; personal IDs and other codes are text cells (Excel would
drop their leading zeros), dates are real dates shown dd/mm/yyyy, and no text is ever taken for a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

from services.core.clock import format_date
from services.core.i18n import N_
from services.dossiers.io.columns import CODE_FIELDS, COLUMNS, SEX_VALUES, STATUS_VALUES, Column
from services.dossiers.io.results import ImportReport
from services.dossiers.io.spreadsheets import suffix_of

__all__ = ["EXPORT_TITLES", "REPORT_HEADERS", "TEMPLATE_EXAMPLE", "Writer", "open_writer", "print_setup",
           "write_error_report", "write_template"]

DATE_FORMAT = "DD/MM/YYYY"
TEXT_FORMAT = "@"
# The title printed above each page of an export, in the language of its headers (fixed words, like them).
EXPORT_TITLES = {True: "Danh sách hồ sơ cán bộ, công chức, viên chức", False: "Dossiers"}
_WIDTHS = {"personal_id": 15, "text": 22, "date": 12, "birth_date": 12, "int": 9, "float": 9, "sex": 8,
           "status": 16, "unit": 14}


def print_setup(sheet: Worksheet | WriteOnlyWorksheet, title: str, heading_rows: str) -> None:
    """Ready to print as an office hands a table over: A4 landscape, as wide as the page (as many pages down
    as it takes), the heading rows (e.g. "3:4") again on every page, the title above and the page number
    below each page."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = "9"  # A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.print_title_rows = heading_rows
    sheet.oddHeader.center.text = title.replace("&", "&&")  # & starts a code in a header
    sheet.oddHeader.center.size = 11
    sheet.oddFooter.center.text = "&P / &N"


def _getter(column: Column, vietnamese: bool) -> Callable[[dict[str, Any]], Any]:
    """How one column's value is taken from an exported row."""
    if column.kind == "unit":
        key = "custodian_code" if column.field == "unit_code" else "working_code"
        return lambda row: row.get(key)
    name = column.field
    labels = SEX_VALUES if column.kind == "sex" else STATUS_VALUES if column.kind == "status" else None
    if vietnamese and labels is not None:
        return lambda row: None if row.get(name) is None else labels.get(row[name], row[name])
    return lambda row: row.get(name)


class _SheetWriter:
    """A write-only workbook, streamed to disk: personal IDs and other codes as text cells, dates as real
    dates shown dd/mm/yyyy, texts never taken for formulas."""

    def __init__(self, path: Path, columns: Sequence[Column], vietnamese: bool, title: str = "HoSo") -> None:
        self.path, self.columns, self.vietnamese = path, columns, vietnamese
        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet(title)
        print_setup(self.sheet, EXPORT_TITLES[vietnamese], "1:1")  # before the first row: a streamed sheet
        # writes its properties with it
        for index, column in enumerate(columns, start=1):
            width = 28 if column.field == "full_name" else _WIDTHS.get(column.kind, 16)
            self.sheet.column_dimensions[get_column_letter(index)].width = width
        bold = Font(bold=True)
        heads = []
        for column in columns:
            cell = WriteOnlyCell(self.sheet, value=column.header_vi if vietnamese else column.header)
            cell.font = bold
            heads.append(cell)
        self.sheet.append(heads)
        # Worked out once per column, not once per cell: 200 000 rows of 44 columns are 8.8 million cells.
        self.plan = [(_getter(column, vietnamese), self._maker(column)) for column in columns]

    def _maker(self, column: Column) -> Callable[[Any], Any]:
        sheet = self.sheet

        def as_date(value: Any) -> Any:
            cell = WriteOnlyCell(sheet, value=value)
            cell.number_format = DATE_FORMAT
            return cell

        def as_code(value: Any) -> Any:
            cell = WriteOnlyCell(sheet, value=str(value))
            cell.data_type = "s"  # text, even when it looks like a number or a formula
            cell.number_format = TEXT_FORMAT  # and text still when someone edits it
            return cell

        def as_text(value: Any) -> Any:
            if value.__class__ is str and value[:1] == "=":
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"  # a text, never a formula
                return cell
            return value

        if column.kind in ("date", "birth_date"):
            return as_date
        if column.kind == "personal_id" or column.field in CODE_FIELDS:
            return as_code
        if column.kind in ("int", "float"):
            return lambda value: value
        return as_text

    def append_values(self, values: Sequence[Any]) -> None:
        self.sheet.append([None if value is None else make(value)
                           for (_get, make), value in zip(self.plan, values, strict=True)])

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        append, plan = self.sheet.append, self.plan
        for row in rows:
            append([None if (value := get(row)) is None else make(value) for get, make in plan])

    def close(self) -> None:
        self.workbook.save(self.path)

    def abort(self) -> None:
        self.path.unlink(missing_ok=True)


class _CsvWriter:
    """UTF-8 with a BOM (Excel then reads the diacritics right), dates dd/mm/yyyy."""

    def __init__(self, path: Path, columns: Sequence[Column], vietnamese: bool) -> None:
        self.path, self.columns, self.vietnamese = path, columns, vietnamese
        self.handle = path.open("w", encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.handle)
        self.writer.writerow([column.header_vi if vietnamese else column.header for column in columns])

    @staticmethod
    def _text(value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, dt.date):
            return format_date(value)
        if isinstance(value, str) and value[:1] in ("=", "+", "@"):
            return "'" + value  # a spreadsheet would run it as a formula; import takes the ' away again
        return value

    def append_values(self, values: Sequence[Any]) -> None:
        self.writer.writerow([self._text(value) for value in values])

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        getters = [_getter(column, self.vietnamese) for column in self.columns]
        for row in rows:
            self.append_values([get(row) for get in getters])

    def close(self) -> None:
        self.handle.close()

    def abort(self) -> None:
        self.handle.close()
        self.path.unlink(missing_ok=True)


Writer = _SheetWriter | _CsvWriter


def open_writer(path: Path, suffix: str, columns: Sequence[Column], vietnamese: bool) -> Writer:
    """A writer of `columns` to `path` (the header row already written): .xlsx, or else .csv."""
    return _SheetWriter(path, columns, vietnamese) if suffix == ".xlsx" else _CsvWriter(path, columns, vietnamese)


# -- the error report and the template -----------------------------------------------------------------

REPORT_HEADERS = (N_("Row"), N_("Column"), N_("Value"), N_("Reason"))


def write_error_report(report: ImportReport, path: str | Path, translate: Callable[[str], str] = str) -> Path:
    """The rows that were not imported, one line per error: row, column, value, reason (in the
    language of `translate`). .xlsx or .csv by the path's suffix."""
    path = Path(path)
    suffix = suffix_of(path)
    headers = [translate(header) for header in REPORT_HEADERS]
    checks = sorted(report.errors + report.off_table, key=lambda error: error.row)  # the failed rows, and those to check
    lines = ([error.row, error.column, error.value, error.reason(translate)] for error in checks)
    if suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(headers)
            writer.writerows(lines)
        return path
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(translate(N_("Errors")))
    print_setup(sheet, f"{translate(N_('Errors'))} — {report.file}", "1:1")
    for letter, width in zip("ABCD", (8, 22, 22, 80), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.append(headers)
    for row, column, value, reason in lines:
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # as typed: an ID stays text, a formula stays text
        sheet.append([row, column, cell if value else None, reason])
    workbook.save(path)
    return path


TEMPLATE_EXAMPLE: dict[str, Any] = {
    "personal_id": "092190001234", "full_name": "Nguyễn Thị Mai", "sex": "F", "birth_date": dt.date(1990, 3, 15),
    "unit_code": "SNV", "working_unit_code": "SNV", "rank_code": "01.003", "post": "Chuyên viên", "salary_step": 3,
    "salary_coefficient": 3.0, "salary_since": dt.date(2024, 1, 1), "recruited_on": dt.date(2015, 9, 1),
    "employment_status": "active", "birthplace": "Cần Thơ", "home_town": "Hậu Giang", "ethnicity": "Kinh",
    "religion": "Không", "nationality": "Việt Nam", "rank_name": "Chuyên viên", "professional_level": "Đại học",
    "major": "Luật", "general_education": "12/12",
}


def write_template(path: str | Path) -> Path:
    """An import file to fill in: the Vietnamese headers and one example row."""
    path = Path(path)
    writer = open_writer(path, suffix_of(path), COLUMNS, vietnamese=True)
    row = {**TEMPLATE_EXAMPLE, "custodian_code": TEMPLATE_EXAMPLE["unit_code"],
           "working_code": TEMPLATE_EXAMPLE["working_unit_code"]}
    writer.write([row])
    writer.close()
    return path
