"""Bulk import and export: `hoso import` of a realistic 200 000-row .xlsx into a fresh SQLite database
in a temporary directory (or a fresh PostgreSQL database), then `hoso export` of the same, each as a
subprocess. Reports wall time and the subprocess's peak resident memory, against the targets (import < 90 s in < 600 MB, export < 60 s).

The file is made here first (not timed): Vietnamese names (services.demo's helpers), personal IDs with
their leading zeros as text cells, real date cells, the units of the demo province. Its size comes from
HOSO_BENCH_IMPORT_SIZE (default 200 000). With HOSO_BENCH_IMPORT_SERVER (a PostgreSQL server URL, e.g.
postgresql+asyncpg://postgres@127.0.0.1:5432/postgres) each run imports into a new database there, dropped
after, instead of a SQLite file (bench.scale sets it). Each run imports into a new database and exports it again;
the file is made once; at most MAX_RUNS runs.

    python -m bench.import_export [--runs N]      (or `python -m bench import_export --runs 1`)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from bench import runs_main
from bench.startup import BenchError, hoso_executable
from services.core.clock import SystemClock
from services.demo import UNIT_KINDS, Shares, draw_person, seed_demo
from services.dossiers.io.columns import SEX_VALUES, STATUS_VALUES
from storage import Database, UnitOfWork

SIZE_VARIABLE = "HOSO_BENCH_IMPORT_SIZE"
SERVER_VARIABLE = "HOSO_BENCH_IMPORT_SERVER"  # a PostgreSQL server URL: import there instead of into SQLite
DEFAULT_SIZE = 200_000
IMPORT_TARGET_S, IMPORT_MEMORY_TARGET_MB, EXPORT_TARGET_S = 90.0, 600.0, 60.0
COMMAND_TIMEOUT = 600.0
MAX_RUNS = 2  # one run (an import and an export of 200 000 dossiers) takes about two minutes
HEADERS = ("personal_id", "full_name", "gender", "birth_date", "unit_code", "rank_code", "position", "salary_step",
           "salary_coefficient", "salary_date", "recruited_on", "status", "birthplace", "ethnicity", "rank_name")


def bench_size() -> int:
    raw = os.environ.get(SIZE_VARIABLE, str(DEFAULT_SIZE))
    try:
        size = int(raw.replace("_", ""))
    except ValueError:
        raise BenchError(f"{SIZE_VARIABLE} must be a whole number, not {raw!r}") from None
    if size < 1:
        raise BenchError(f"{SIZE_VARIABLE} must be at least 1")
    return size


def make_file(path: Path, size: int, seed: int = 2026) -> None:
    """A spreadsheet as a personnel office would send it: one row per person, the usual columns, the people
    of the demo province (services.demo.draw_person)."""
    rng = random.Random(seed)
    today = dt.date.today()
    workplaces = Shares(*((code, weight) for code, (_kind, weight) in UNIT_KINDS.items()))
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Hồ sơ")
    sheet.append(list(HEADERS))

    def text(value: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "@"
        return cell

    def day(value: dt.date) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "DD/MM/YYYY"
        return cell

    used: set[str] = set()
    for _ in range(size):
        code = workplaces.draw(rng)
        person, _records, _clean = draw_person(rng, today, UNIT_KINDS[code][0], used)
        while len(person["personal_id"]) != 12:  # an old 9-digit card: the import refuses it, rightly (drawn again)
            person, _records, _clean = draw_person(rng, today, UNIT_KINDS[code][0], used)
        sheet.append([
            text(person["personal_id"]), person["full_name"], SEX_VALUES[person["sex"]], day(person["birth_date"]),
            code, text(person["rank_code"]), person["post"], person["salary_step"], person["salary_coefficient"],
            day(person["salary_since"]), day(person["recruited_on"]), STATUS_VALUES[person["employment_status"]],
            person["birthplace"], person["ethnicity"], person["rank_name"],
        ])
    workbook.save(path)


def clean_env(workdir: Path, url: str | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HOSO_")}
    env["HOSO_DATABASE_URL"] = url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    return env


def pg_server() -> str | None:
    """The PostgreSQL server of HOSO_BENCH_IMPORT_SERVER (each run imports into a new database there)."""
    return os.environ.get(SERVER_VARIABLE) or None


async def pg_database(server: str, name: str, *, drop_only: bool = False) -> str:
    """A new empty database `name` on the server (dropped first if it was left behind); its URL."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    base = make_url(server).set(drivername="postgresql+asyncpg")
    engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if not drop_only:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


# A small process that runs one command and reports its wall time and, from getrusage(RUSAGE_CHILDREN),
# the peak resident memory of that command and of whatever it waited for (the spreadsheet reader). It
# has to be small and fresh: a child's ru_maxrss starts at its parent's high-water mark (fork and exec
# keep it), so measured straight from this benchmark, it would count the memory used to make the file.
MEASURE = """
import json, resource, subprocess, sys, time
started = time.monotonic()
code = subprocess.run(sys.argv[2:]).returncode
elapsed = time.monotonic() - started
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "seconds": elapsed,
               "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}, out)
"""


def run_measured(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> tuple[float, float, str]:
    """Run a command to its end: (wall seconds, peak RSS in MB of it and its children, its stdout)."""
    import subprocess

    result, stdout = cwd / "measure.json", cwd / "stdout.txt"
    with log.open("wb") as errors, stdout.open("wb") as output:
        try:
            subprocess.run([sys.executable, "-c", MEASURE, str(result), *args], env=env, cwd=cwd,
                           stdin=subprocess.DEVNULL, stdout=output, stderr=errors, timeout=COMMAND_TIMEOUT, check=True)
        except subprocess.TimeoutExpired:
            raise BenchError(f"{' '.join(args)} did not finish within {COMMAND_TIMEOUT:.0f}s") from None
        except subprocess.CalledProcessError as error:
            raise BenchError(f"measuring {' '.join(args)} failed ({error.returncode})") from None
    measured = json.loads(result.read_text())
    out = stdout.read_text(errors="replace")
    if measured["code"] != 0:
        raise BenchError(f"{' '.join(args)} failed ({measured['code']}):\n{out}\n{log.read_text(errors='replace')}")
    return measured["seconds"], measured["maxrss_kb"] / 1024, out


async def prepare_units(url: str) -> None:
    """The demo province's units (and no dossier) in the freshly initialised database."""
    database = Database(url)
    try:
        await seed_demo(UnitOfWork(database), SystemClock(), 0)
    finally:
        await database.dispose()


def verdict(value: float, target: float) -> str:
    return "OK" if value < target else "OVER TARGET"


def summary(values: list[float], unit: str) -> str:
    if len(values) == 1:
        return f"{values[0]:.1f} {unit}"
    return f"median {statistics.median(values):.1f} {unit} (min {min(values):.1f}, max {max(values):.1f}, {len(values)} runs)"


def measure(runs: int) -> None:
    hoso = hoso_executable()
    size = bench_size()
    with tempfile.TemporaryDirectory(prefix="hoso-bench-io-") as directory:
        root = Path(directory)
        source = root / "ho-so.xlsx"
        started = time.monotonic()
        make_file(source, size)
        print(f"{size} rows written to an .xlsx of {source.stat().st_size / 2**20:.1f} MB "
              f"in {time.monotonic() - started:.1f} s (not timed below)", flush=True)

        imports, import_rss, exports, export_rss = [], [], [], []
        for index in range(1, runs + 1):
            workdir = root / f"run-{index}"
            workdir.mkdir()
            server, database = pg_server(), f"hoso_bench_import_{os.getpid()}_{index}"
            env = clean_env(workdir, asyncio.run(pg_database(server, database)) if server else None)
            try:
                run_measured([hoso, "init"], env, workdir, workdir / "init.log")
                asyncio.run(prepare_units(env["HOSO_DATABASE_URL"]))

                seconds, rss, out = run_measured([hoso, "import", str(source), "--json"], env, workdir,
                                                 workdir / "import.log")
                counts = json.loads(out)
                if counts["created"] != size or counts["failed"]:
                    raise BenchError(f"hoso import created {counts['created']} of {size}, {counts['failed']} failed")
                imports.append(seconds)
                import_rss.append(rss)
                print(f"  run {index}: hoso import {seconds:.1f} s, peak RSS {rss:.0f} MB", flush=True)

                seconds, rss, out = run_measured([hoso, "export", str(workdir / "out.xlsx"), "--json"], env, workdir,
                                                 workdir / "export.log")
                if json.loads(out)["count"] != size:
                    raise BenchError(f"hoso export wrote {json.loads(out)['count']} of {size} dossiers")
                exports.append(seconds)
                export_rss.append(rss)
                print(f"  run {index}: hoso export {seconds:.1f} s, peak RSS {rss:.0f} MB", flush=True)
            finally:  # the run's database goes, whatever became of the run
                if server:
                    asyncio.run(pg_database(server, database, drop_only=True))

    rate = size / statistics.median(imports)
    backend = "PostgreSQL" if pg_server() else "SQLite"
    print(f"hoso import of {size} rows into {backend}: {summary(imports, 's')} ({rate:,.0f} rows/s), "
          f"target < {IMPORT_TARGET_S:.0f} s: {verdict(statistics.median(imports), IMPORT_TARGET_S)}")
    print(f"hoso import peak RSS: {summary(import_rss, 'MB')}, "
          f"target < {IMPORT_MEMORY_TARGET_MB:.0f} MB: {verdict(max(import_rss), IMPORT_MEMORY_TARGET_MB)}")
    print(f"hoso export of {size} dossiers: {summary(exports, 's')}, peak RSS {summary(export_rss, 'MB')}, "
          f"target < {EXPORT_TARGET_S:.0f} s: {verdict(statistics.median(exports), EXPORT_TARGET_S)}")


def run(runs: int = 1) -> int:
    """The benchmark, for `python -m bench`: 0 when it ran, 1 when hoso failed. At most MAX_RUNS runs."""
    if runs > MAX_RUNS:
        print(f"import_export: {MAX_RUNS} runs, not {runs} (one run takes about two minutes)", flush=True)
        runs = MAX_RUNS
    try:
        measure(runs)
    except BenchError as error:
        print(f"import_export benchmark failed: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    return runs_main(run, "python -m bench.import_export", __doc__, default_runs=1, argv=argv)

if __name__ == "__main__":
    sys.exit(main())
