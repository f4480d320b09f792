"""The personnel office's whole inspection on a province-sized SQLite database, against the target: under
5 s over 200 000 dossiers, every check a set-based query.

    python -m bench.inspect [--size 200000] [--runs 5] [--db PATH]     (or `python -m bench inspect`)

The database comes from `bench.seed` (a cache in the temp directory, seeded once); it is read only. The
demo province gives the checks real work: no permanent address is seeded (every dossier is incomplete),
thousands of people are past the retirement date, and thousands share a name and a birth date. Timed
through `InspectionService.run` (the audit write included), as /inspect and `hoso inspect` call it, the
findings counted as they stream; the run that streams them into the .xlsx of everything is timed apart.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from bench import province_main
from bench.reports import line
from bench.seed import DEFAULT_SIZE, SeedError, describe, ensure_seeded, sqlite_url
from locales import translator
from services.core.actor import Actor
from services.core.clock import SystemClock
from services.documents.inspection_workbook import InspectionWorkbook
from services.oversight.inspection import Finding, InspectionService
from services.regime.reference import install_reference_lists
from storage import Database, UnitOfWork

TARGET_S = 5.0


async def measure(size: int, runs: int, db: Path | None) -> bool:
    seeded = await ensure_seeded(size, db)
    print(describe(seeded), flush=True)
    database = Database(sqlite_url(seeded.path))
    try:
        uow, clock = UnitOfWork(database), SystemClock()
        await install_reference_lists(uow)  # the ranks' periods (a cache seeded before it had them)
        service = InspectionService(uow, Actor.system(), clock)
        await service.run()  # warm the page cache, as a running bot has it
        seconds = []
        for _ in range(runs):
            started = time.perf_counter()
            inspection = await service.run(keep=0)  # the findings counted as they stream, none kept
            seconds.append(time.perf_counter() - started)
        kinds = Counter({kind: count for kind, count in inspection.counts().items() if count})
        print(f"\nthe whole inspection ({inspection.table.total.people:,} dossiers in service, "
              f"{len(inspection.table.rows)} rows, {inspection.count:,} findings: "
              f"{', '.join(f'{k} {n:,}' for k, n in kinds.most_common())}), {runs} runs:")
        print(line("InspectionService.run", seconds))
        started = time.perf_counter()
        book = InspectionWorkbook(translator("vi"), clock.tz)

        async def write(findings: Sequence[Finding]) -> None:
            book.add(findings)

        inspection = await service.run(keep=0, each=write)
        workbook = book.finish(inspection, "Kiểm tra")
        print(f"  with the .xlsx of everything streamed: {time.perf_counter() - started:.3f} s, "
              f"{len(workbook) / 1024:.0f} KiB")
    finally:
        await database.dispose()
    met = statistics.median(seconds) < TARGET_S
    print(f"\ntarget: the whole inspection over {inspection.table.total.people:,} dossiers < {TARGET_S:.0f} s — "
          f"{'met' if met else 'MISSED'} (median {statistics.median(seconds):.3f} s)")
    return met


def run(runs: int = 5, size: int = DEFAULT_SIZE, db: Path | None = None) -> int:
    """For `python -m bench`: 0 when the target is met."""
    try:
        return 0 if asyncio.run(measure(size, runs, db)) else 1
    except SeedError as error:
        print(f"inspect benchmark failed: {error}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    return province_main(run, "python -m bench.inspect", __doc__, DEFAULT_SIZE, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
