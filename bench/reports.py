"""The statistics (BM01/BNV) and the province's half-yearly report on a province-sized SQLite database,
against the targets: the statistics of the whole province under 1.5 s, the province's report (its
board, every unit's compliance, the statistics summed up the tree, the .docx and the .xlsx) under 10 s.

    python -m bench.reports [--size 200000] [--runs 5] [--db PATH]     (or `python -m bench reports`)

The database comes from `bench.seed` (a cache in the temp directory, seeded once) and is copied to a
temporary directory first: half of the reporting units then submit their report there (not timed), so
the province's report merges real sections, and the cache stays as it was. The statistics are timed
through `StatisticsService.table` (the audit write included), as /stats and `hoso stats` call it.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench import province_main
from bench.seed import DEFAULT_SIZE, SeedError, describe, ensure_seeded, sqlite_url
from locales import translator
from services.core.actor import Actor
from services.core.clock import SystemClock
from services.documents.report_docx import render_provincial_report
from services.documents.stats_workbook import provincial_workbook
from services.oversight.reports import ReportService, reporting_units
from services.oversight.statistics import StatisticsService
from services.regime.reference import install_reference_lists
from services.regime.setup import profile_of
from storage import Database, UnitOfWork

STATS_TARGET_S, PROVINCE_TARGET_S = 1.5, 10.0
SECTIONS = {"a": "Đơn vị thực hiện đúng quy chế; cập nhật kịp thời các thay đổi.", "c": "Đủ máy tính, máy quét.",
            "d": "Tập huấn 2 đợt cho cán bộ quản lý hồ sơ.", "dd": "Đề nghị nâng cấp đường truyền.",
            "doc_number": "12/BC", "signer": "Nguyễn Văn A", "signer_title": "Giám đốc"}


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await call()
    return time.perf_counter() - started, result


def line(label: str, seconds: list[float]) -> str:
    return f"  {label}: median {statistics.median(seconds):.3f} s, min {min(seconds):.3f} s, max {max(seconds):.3f} s"


async def measure(size: int, runs: int, db: Path | None) -> bool:
    seeded = await ensure_seeded(size, db)
    print(describe(seeded), flush=True)
    with tempfile.TemporaryDirectory(prefix="hoso-bench-reports-") as folder:
        copy = Path(folder) / "province.db"
        shutil.copyfile(seeded.path, copy)
        database = Database(sqlite_url(copy))
        try:
            return await _measure(database, runs)
        finally:
            await database.dispose()


async def _measure(database: Database, runs: int) -> bool:
    uow, clock, system = UnitOfWork(database), SystemClock(), Actor.system()
    await install_reference_lists(uow)
    reports = ReportService(uow, system, clock)
    async with uow.read() as repos:
        units = reporting_units(list(await repos.units.subtree("/")), await profile_of(repos))
    started = time.perf_counter()
    period = (await reports.period()).code
    for unit in units[::2]:  # half the units submit, so that their sections are merged
        await reports.save(unit.code, period, SECTIONS)
        await reports.submit(unit.code, period)
    print(f"set-up: {len(units[::2])} of {len(units)} reporting units submitted {period} "
          f"in {time.perf_counter() - started:.1f} s (not timed below)")

    service = StatisticsService(uow, system, clock)
    await service.table()  # warm the page cache, as a running bot has it
    table_runs: list[float] = []
    for _ in range(runs):
        seconds, table = await timed(service.table)
        table_runs.append(seconds)
    print(f"\nstatistics of the whole province ({table.total.people:,} people in service, {len(table.rows)} rows, "
          f"{len(table.columns)} columns), {runs} runs:")
    print(line("StatisticsService.table", table_runs))
    biggest = max(units, key=lambda u: next((r.people for r in table.rows if r.unit_code == u.code), 0))
    unit_runs = [(await timed(lambda: service.table(biggest.code)))[0] for _ in range(runs)]
    print(line(f"one department ({biggest.code})", unit_runs))

    vi = translator("vi")
    province_runs, parts = [], {"service": [], "docx": [], "xlsx": []}
    for _ in range(runs):
        seconds, made = await timed(lambda: reports.provincial(period))
        started = time.perf_counter()
        document = render_provincial_report(made, vi, clock.now(), clock.tz)
        rendered = time.perf_counter()
        workbook = provincial_workbook(made, vi, "Thống kê", clock.tz)
        done = time.perf_counter()
        parts["service"].append(seconds)
        parts["docx"].append(rendered - started)
        parts["xlsx"].append(done - rendered)
        province_runs.append(seconds + done - started)
    print(f"\nthe province's report {period} ({made.board.count('submitted')} of {len(made.board.lines)} units "
          f"submitted; .docx {len(document) / 1024:.0f} KiB, .xlsx {len(workbook) / 1024:.0f} KiB), {runs} runs:")
    print(line("whole report", province_runs))
    for name, seconds in parts.items():
        print(line(f"  of which {name}", seconds))

    stats_ok = statistics.median(table_runs) < STATS_TARGET_S
    province_ok = statistics.median(province_runs) < PROVINCE_TARGET_S
    print(f"\ntarget: statistics over {table.total.people:,} people in service < {STATS_TARGET_S} s — "
          f"{'met' if stats_ok else 'MISSED'} (median {statistics.median(table_runs):.3f} s)")
    print(f"target: the province's report < {PROVINCE_TARGET_S:.0f} s — {'met' if province_ok else 'MISSED'} "
          f"(median {statistics.median(province_runs):.3f} s)")
    return stats_ok and province_ok


def run(runs: int = 5, size: int = DEFAULT_SIZE, db: Path | None = None) -> int:
    """For `python -m bench`: 0 when both targets are met."""
    try:
        return 0 if asyncio.run(measure(size, runs, db)) else 1
    except SeedError as error:
        print(f"reports benchmark failed: {error}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    return province_main(run, "python -m bench.reports", __doc__, DEFAULT_SIZE, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
