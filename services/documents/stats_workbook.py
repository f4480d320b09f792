"""The statistics as an Excel workbook, in the reader's language: a title, the date, a two-row heading
(the groups over their columns, as on the BM01/BNV form) and a row per unit, numbered as the tree (1, 1.1,
1.2), subtotals in bold and indented by depth. The province's report adds a sheet of each unit's compliance
and one of the submissions. Every sheet is ready to print (`print_setup`), and streamed (`streamed`): its
rows go to a temporary file as they are written, so a list of any length costs no memory."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from services.core.clock import format_date, format_local_date
from services.core.i18n import N_
from services.documents.stamp import stamp_sheet
from services.dossiers.io.writers import print_setup
from services.oversight.reports import REPORT_STATES, Board, ProvincialReport
from services.oversight.statistics import OWN, SUBTOTAL, TOTAL, StatColumn, StatTable
from services.platform.printouts import Stamp

Translate = Callable[[str], str]
THIN = Side(style="thin", color="808080")
GRID = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
BOLD = Font(bold=True)
VERIFICATION_CODE = N_("Verification code")


def statistics_title(scope: str, table: StatTable, translate: Translate) -> str:
    """The heading of a table of statistics: whose, and on what day."""
    return translate(N_("Statistics of {scope} on {date}")).format(scope=scope, date=format_date(table.as_of))


def item_numbers(kinds_depths: Sequence[tuple[str, int]]) -> list[str]:
    """The No. of each row as the tree numbers it: 1, 1.1, 1.2, 2…; none for the total and for a unit's own
    staff, which is part of its item."""
    counters: list[int] = []
    numbers = []
    for kind, depth in kinds_depths:
        if kind in (TOTAL, OWN) or depth < 1:
            numbers.append("")
            continue
        del counters[depth:]
        counters += [0] * (depth - len(counters))
        counters[depth - 1] += 1
        numbers.append(".".join(str(number) for number in counters))
    return numbers


def _row_name(kind: str, name: str | None, translate: Translate) -> str:
    if kind == OWN:
        return translate(N_("{unit} (its own staff)")).format(unit=name)
    if kind == TOTAL and name is None:
        return translate(N_("Total"))
    return name or ""


# A past date dates who is in service, their age and party membership; their unit, rank and
# qualifications are those the dossiers hold now (the versions are not replayed for a whole province).
STATISTICS_NOTE = N_("In service on {date}, with the unit, rank and qualifications their dossiers hold now; people "
                     "counted by the unit that keeps their dossier.")


def statistics_sheet(sheet: WriteOnlyWorksheet, table: StatTable, translate: Translate, title: str, *,
                     sheet_name: str = N_("Statistics"), note: str = STATISTICS_NOTE, total: str = N_("Total"),
                     column_title: Callable[[StatColumn, Translate], str] | None = None) -> int:
    """A table of counts per unit (the statistics, the inspection): its groups over their columns. The
    sheet is streamed: what it says about itself comes first, then its rows in order. The rows written."""
    sheet.title = translate(sheet_name)[:31]
    width = 3 + len(table.columns)
    head = 3
    sheet.column_dimensions["A"].width = 6
    sheet.column_dimensions["B"].width = 42
    for index in range(3, width + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 11
    sheet.row_dimensions[head + 1].height = 45
    sheet.freeze_panes = f"{get_column_letter(4)}{head + 2}"
    print_setup(sheet, title, f"{head}:{head + 1}")
    sheet.append([_cell(sheet, title, font=Font(bold=True, size=13))])
    sheet.append([_cell(sheet, translate(note).format(date=format_date(table.as_of)))])
    groups, labels = [translate(N_("No.")), translate(N_("Unit")), translate(total)], ["", "", ""]
    last = None
    for column in table.columns:
        groups.append(translate(column.group) if column.group != last else "")
        labels.append(column_title(column, translate) if column_title else column.title(translate))
        last = column.group
    heading = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for values in (groups, labels):
        sheet.append([_cell(sheet, value, font=BOLD, fill=HEAD_FILL, border=GRID, alignment=heading)
                      for value in values])
    merged = [f"{get_column_letter(index)}{head}:{get_column_letter(index)}{head + 1}"
              for index in range(1, 4)]  # No., Unit and Total span both heading rows
    run = 0  # the first column of the group under way
    for index in range(1, len(table.columns) + 1):
        if index == len(table.columns) or table.columns[index].group != table.columns[run].group:
            if index - 1 > run:  # a group's title over all its columns
                merged.append(f"{get_column_letter(4 + run)}{head}:{get_column_letter(3 + index)}{head}")
            run = index
    for ref in merged:
        sheet.merged_cells.add(ref)
    numbers = item_numbers([(row.kind, row.depth) for row in table.rows])
    for number, row in zip(numbers, table.rows, strict=True):
        bold = BOLD if row.kind in (TOTAL, SUBTOTAL) else None
        line: list[object] = [number, _row_name(row.kind, row.unit_name, translate), row.people, *row.counts]
        cells = [_cell(sheet, value, font=bold, border=GRID) for value in line]
        cells[1].alignment = Alignment(indent=row.depth)
        sheet.append(cells)
    return head + 1 + len(table.rows)


def _cell(sheet: WriteOnlyWorksheet, value: object, **style: Any) -> Cell:
    cell = WriteOnlyCell(sheet, value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # a name typed as "=…" stays text, never a formula
    for name, given in style.items():
        if given is not None:
            setattr(cell, name, given)
    return cell


class TableSheet:
    """A plain list under a bold heading row (its cells unstyled: it may run to hundreds of thousands of
    rows), streamed: `add` the rows as they come, `close` once all are in."""

    def __init__(self, sheet: WriteOnlyWorksheet, headers: Sequence[str], title: str) -> None:
        self.sheet, self.headers, self.rows, self.begun = sheet, list(headers), 0, False
        sheet.column_dimensions["A"].width = 42
        for index in range(2, len(headers) + 1):
            sheet.column_dimensions[get_column_letter(index)].width = 16
        sheet.freeze_panes = "B2"
        self.retitle(title)

    def _begin(self) -> None:
        """The heading row, with the first rows: a sheet given up before them leaves no writer open."""
        if not self.begun:
            heading = Alignment(horizontal="center", vertical="center", wrap_text=True)
            self.sheet.append([_cell(self.sheet, value, font=BOLD, fill=HEAD_FILL, border=GRID, alignment=heading)
                               for value in self.headers])
            self.begun = True

    def retitle(self, title: str) -> None:
        """The title printed above each page (it is written with the sheet's end)."""
        print_setup(self.sheet, title, "1:1")

    def add(self, rows: Iterable[Sequence[object]]) -> None:
        for values in rows:
            self._begin()
            # Plain values as they are (openpyxl makes their cells); only a text that would read as a formula
            # needs a cell of its own.
            self.sheet.append([_cell(self.sheet, value) if isinstance(value, str) and value.startswith("=") else value
                               for value in values])
            self.rows += 1

    def close(self) -> None:
        self._begin()
        self.sheet.auto_filter.ref = f"A1:{get_column_letter(len(self.headers))}{self.rows + 1}"


def table_sheet(sheet: WriteOnlyWorksheet, headers: Sequence[str], rows: Iterable[Sequence[object]],
                title: str) -> None:
    """A plain list, all its rows at hand."""
    table = TableSheet(sheet, headers, title)
    table.add(rows)
    table.close()


def streamed() -> Workbook:
    """A workbook whose sheets are written row by row, never held whole (`openpyxl`'s write-only mode)."""
    return Workbook(write_only=True)


def save(workbook: Workbook, path: Path | None = None) -> bytes:
    """The workbook's bytes, or written to `path` (nothing returned) for one too large to hold."""
    if path is not None:
        workbook.save(path)
        return b""
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def statistics_workbook(table: StatTable, translate: Translate, title: str, stamp: Stamp | None = None) -> bytes:
    workbook = streamed()
    sheet = workbook.create_sheet()
    rows = statistics_sheet(sheet, table, translate, title)
    stamp_sheet(sheet, stamp, translate(VERIFICATION_CODE), rows)
    return save(workbook)


def board_rows(board: Board, translate: Translate, tz: dt.tzinfo) -> list[list[object]]:
    return [[line.unit_name, translate(REPORT_STATES[line.status]), format_local_date(line.submitted_at, tz),
             translate(N_("late")) if line.late else "", line.reminders, ", ".join(line.reminded)]
            for line in board.lines]


def provincial_workbook(report: ProvincialReport, translate: Translate, title: str, tz: dt.tzinfo,
                        stamp: Stamp | None = None) -> bytes:
    workbook = streamed()
    sheet = workbook.create_sheet()
    rows = statistics_sheet(sheet, report.statistics, translate, title)
    stamp_sheet(sheet, stamp, translate(VERIFICATION_CODE), rows)
    compliance = workbook.create_sheet(translate(N_("Compliance"))[:31])
    table_sheet(compliance, [translate(h) for h in (
        N_("Unit"), N_("Changes on time"), N_("Changes late"), N_("New dossiers completed on time"),
        N_("Completed late"), N_("Incomplete, overdue"), N_("Incomplete, within the deadline"),
        N_("Declarations waiting"), N_("Custody requests waiting"), N_("Decisions not entered"))],
        [[u.name, u.compliance.changes_on_time, u.compliance.changes_late, u.compliance.new_on_time,
          u.compliance.new_late, u.compliance.new_overdue, u.compliance.new_open, u.compliance.declarations,
          u.compliance.transfers, u.compliance.registered] for u in report.units],
        f"{title} — {translate(N_('Compliance'))}")
    submissions = workbook.create_sheet(translate(N_("Submissions"))[:31])
    table_sheet(submissions, [translate(h) for h in (
        N_("Unit"), N_("Report"), N_("Submitted on"), N_("Late"), N_("Reminders sent"), N_("Reminded"))],
        board_rows(report.board, translate, tz), f"{title} — {translate(N_('Submissions'))}")
    return save(workbook)
