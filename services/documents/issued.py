"""The reports and statistics as issued: the verification code of what they show first (when printouts are
issued), then the files carrying it, rendered off the event loop. The resume form's is `print2c.printed_2c`."""

from __future__ import annotations

import asyncio
from dataclasses import asdict

from services.core.clock import Clock
from services.documents.report_docx import Translate, render_provincial_report, render_unit_report
from services.documents.stats_workbook import provincial_workbook, statistics_workbook
from services.oversight.reports import ProvincialReport, ReportView
from services.oversight.statistics import StatTable
from services.platform.printouts import PrintoutService


async def unit_report_files(printouts: PrintoutService, clock: Clock, view: ReportView, vi: Translate,
                            translate: Translate, title: str) -> tuple[bytes, bytes]:
    """One unit's report (.docx, in Vietnamese) and its statistics (.xlsx, in the reader's language): one code."""
    stamp = await printouts.issue_unit_report(view.unit_code, view.period.code, asdict(view))
    document, workbook = await asyncio.gather(
        asyncio.to_thread(render_unit_report, view, vi, clock.now(), clock.tz, stamp),
        asyncio.to_thread(statistics_workbook, view.statistics, translate, title, stamp))
    return document, workbook


async def province_report_files(printouts: PrintoutService, clock: Clock, report: ProvincialReport, vi: Translate,
                                translate: Translate, title: str) -> tuple[bytes, bytes]:
    """The province's report (.docx) and its workbook (.xlsx): one code."""
    stamp = await printouts.issue_province_report(report.period.code, asdict(report))
    document, workbook = await asyncio.gather(
        asyncio.to_thread(render_provincial_report, report, vi, clock.now(), clock.tz, stamp),
        asyncio.to_thread(provincial_workbook, report, translate, title, clock.tz, stamp))
    return document, workbook


async def statistics_file(printouts: PrintoutService, table: StatTable, unit_code: str | None,
                          translate: Translate, title: str) -> bytes:
    """The statistics of a unit's subtree (or the province) on a date, as .xlsx with its code."""
    stamp = await printouts.issue_statistics(unit_code, table.as_of, asdict(table))
    return await asyncio.to_thread(statistics_workbook, table, translate, title, stamp)
