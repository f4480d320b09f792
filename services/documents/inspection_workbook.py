"""The inspection as an Excel workbook, in the reader's language: the figures per unit (subtotals up the
tree, the worst first), every finding with its dossier, and the accounts not in use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from openpyxl import Workbook

from services.core.clock import format_local_date
from services.core.i18n import N_
from services.documents.stats_workbook import save, statistics_sheet, table_sheet
from services.oversight.inspection import FINDINGS, Inspection, column_title, finding_text

Translate = Callable[[str], str]
ACCOUNT_STATES = {"pending": N_("never activated"), "idle": N_("unused for 90 days"), "locked": N_("locked")}
NOTE = N_("On {date}: the dossiers of people in service, by the unit that keeps them, the units worst first; the "
          "timeliness up to that date, the rest as the dossiers and accounts stand now.")


def inspection_workbook(inspection: Inspection, translate: Translate, title: str, tz: dt.tzinfo) -> bytes:
    workbook = Workbook()
    statistics_sheet(workbook.active, inspection.table, translate, title, sheet_name=N_("Inspection"), note=NOTE,
                     total=N_("Dossiers in service"), column_title=column_title)
    table_sheet(workbook.create_sheet(translate(N_("Findings"))[:31]),
                [translate(h) for h in (N_("Unit"), N_("Finding"), N_("Full name"), N_("Personal ID"), N_("Details"))],
                [[f.unit_name, translate(FINDINGS[f.kind]), f.full_name, f.personal_id, finding_text(f, translate)]
                 for f in inspection.findings], f"{title} — {translate(N_('Findings'))}")
    table_sheet(workbook.create_sheet(translate(N_("Accounts"))[:31]),
                [translate(h) for h in (N_("Unit"), N_("Account"), N_("Full name"), N_("State"), N_("Last used"))],
                [[a.unit_code, a.username, a.full_name, translate(ACCOUNT_STATES[a.state]),
                  format_local_date(a.last_used, tz)] for a in inspection.accounts],
                f"{title} — {translate(N_('Accounts'))}")
    return save(workbook)
