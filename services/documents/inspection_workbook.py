"""The inspection as an Excel workbook, in the reader's language: the figures per unit (subtotals up the
tree, the worst first), every finding with its dossier, and the accounts not in use.

A province's findings run to hundreds of thousands: `InspectionWorkbook` takes them in batches as the
inspection streams them (`InspectionService.run(each=…)`) and writes each row at once; the figures,
which count them, are written once the stream has ended, into the first sheet."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path

from services.core.clock import format_local_date
from services.core.i18n import N_
from services.documents.stats_workbook import TableSheet, save, statistics_sheet, streamed, table_sheet
from services.oversight.inspection import FINDINGS, Finding, Inspection, column_title, finding_text

Translate = Callable[[str], str]
ACCOUNT_STATES = {"pending": N_("never activated"), "idle": N_("unused for 90 days"), "locked": N_("locked")}
NOTE = N_("On {date}: the dossiers of people in service, by the unit that keeps them, the units worst first; the "
          "timeliness up to that date, the rest as the dossiers and accounts stand now.")
FINDING_HEADERS = (N_("Unit"), N_("Finding"), N_("Full name"), N_("Personal ID"), N_("Details"))
ACCOUNT_HEADERS = (N_("Unit"), N_("Account"), N_("Full name"), N_("State"), N_("Last used"))


class InspectionWorkbook:
    """The workbook written as the findings come: `add` each batch, in order, then `finish`."""

    def __init__(self, translate: Translate, tz: dt.tzinfo) -> None:
        self.translate, self.tz = translate, tz
        self.workbook = streamed()
        self.figures = self.workbook.create_sheet()  # first, though written last: it counts the findings
        self.findings = TableSheet(self.workbook.create_sheet(translate(N_("Findings"))[:31]),
                                   [translate(h) for h in FINDING_HEADERS], "")

    def add(self, findings: Iterable[Finding]) -> None:
        _ = self.translate
        self.findings.add([f.unit_name, _(FINDINGS[f.kind]), f.full_name, f.personal_id, finding_text(f, _)]
                          for f in findings)

    def finish(self, inspection: Inspection, title: str, path: Path | None = None) -> bytes:
        """The figures and the accounts, then the file: its bytes, or written to `path` (then b"")."""
        _ = self.translate
        statistics_sheet(self.figures, inspection.table, _, title, sheet_name=N_("Inspection"), note=NOTE,
                         total=N_("Dossiers in service"), column_title=column_title)
        self.findings.retitle(f"{title} — {_(N_('Findings'))}")
        self.findings.close()
        table_sheet(self.workbook.create_sheet(_(N_("Accounts"))[:31]), [_(h) for h in ACCOUNT_HEADERS],
                    [[a.unit_code, a.username, a.full_name, _(ACCOUNT_STATES[a.state]),
                      format_local_date(a.last_used, self.tz)] for a in inspection.accounts],
                    f"{title} — {_(N_('Accounts'))}")
        return save(self.workbook, path)


def inspection_workbook(inspection: Inspection, translate: Translate, title: str, tz: dt.tzinfo) -> bytes:
    """The workbook of an inspection that holds all its findings (a unit's, a test's)."""
    workbook = InspectionWorkbook(translate, tz)
    workbook.add(inspection.findings)
    return workbook.finish(inspection, title)
