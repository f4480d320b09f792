"""National scale on PostgreSQL: the demo province seeded at 200 000, 1 million and 2 million dossiers, and at
each size /find (the 8 query kinds of bench.find, the naive ILIKE beside), `hoso stats` and `hoso inspect` for
the whole country, then the growth of each figure from the smallest size to the largest, with the targets.

    python -m bench.scale [--sizes 200000,1000000,2000000] [--queries 400] [--server URL] [--import-rows N]
                          [--no-commands]

Each size is a database of its own, `hoso_scale_<size>`, on the server (default the local one, trust auth):
reused when it is at the schema head and holds the demo province of that size, else seeded into
`hoso_scale_<size>_partial` and renamed once complete, so an interrupted seed leaves no cache. The seed is the
demo's (services.demo: names, units, posts, ranks, salaries, history records), written with COPY. `--import-rows`
also times `hoso import` of that many rows into a fresh database on the server (bench.import_export; 0: skip).

Figures on a shared, loaded machine are indicative.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench.find import KINDS, FindRun, report, run_finds
from bench.import_export import run_measured
from bench.startup import BenchError, hoso_executable
from bot.cli.serving import prepare_database
from bot.runtime import open_runtime
from bot.settings import Settings
from services.core.clock import SystemClock
from services.demo import DEMO_KEY, seed_demo
from storage import Database, Repositories, UnitOfWork
from storage.migrations import head_revision
from storage.models import Dossier, DossierRecord

DEFAULT_SIZES = (200_000, 1_000_000, 2_000_000)
DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
FIND_P95_MS, FIND_GROWTH, STATS_S, INSPECT_S, INSPECT_MB, IMPORT_S = 50.0, 1.5, 5.0, 15.0, 300.0, 90.0


# -- seeding ---------------------------------------------------------------------------------------
def _copy_rows(table: Any, rows: list[dict], dialect: Any) -> tuple[list[str], list[tuple]]:
    """The rows as COPY wants them: the columns they name, each value through its column type's own bind
    processing (JSON to text, aware datetimes to UTC), as an INSERT of SQLAlchemy would send it."""
    names = list(dict.fromkeys(key for row in rows for key in row))
    processors = [table.c[name].type.bind_processor(dialect) for name in names]
    records = [tuple(value if process is None else process(value)
                     for process, value in zip(processors, (row.get(name) for name in names), strict=True))
               for row in rows]
    return names, records


async def copy_store(repos: Repositories, batch: list[dict], history: dict[str, list[dict]], now: dt.datetime) -> None:
    """services.demo's store with COPY: the dossiers, their ids by personal ID, then their records."""
    if not batch:
        return
    connection = await repos.session.connection()
    raw = (await connection.get_raw_connection()).driver_connection  # asyncpg's own connection, for COPY
    if raw is None:
        raise BenchError("no PostgreSQL connection to copy into")
    dialect = connection.dialect
    names, records = _copy_rows(Dossier.__table__, batch, dialect)
    await raw.copy_records_to_table("dossier", records=records, columns=names)
    ids = await repos.dossiers.ids_by_personal_id(list(history))
    rows = [{**row, "dossier_id": ids[personal_id], "created_at": now}
            for personal_id, kept in history.items() for row in kept]
    names, records = _copy_rows(DossierRecord.__table__, rows, dialect)
    await raw.copy_records_to_table("dossier_record", records=records, columns=names)


@dataclass(frozen=True, slots=True)
class Cache:
    size: int
    url: str
    seconds: float | None  # None: reused


def _url(server: str, database: str) -> str:
    return make_url(server).set(drivername="postgresql+asyncpg", database=database).render_as_string(
        hide_password=False)


async def _admin(server: str, *statements: str) -> None:
    engine = create_async_engine(_url(server, make_url(server).database or "postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _complete(url: str, size: int) -> bool:
    """Whether `url` holds the demo province of `size`; one of an older schema is brought to the head by the
    migrations, as a deployment's database would be (a new index on 2 million dossiers takes minutes, a new
    seed an hour)."""
    database = Database(url)
    try:
        try:
            if await database.current_revision() is None:
                return False
            async with UnitOfWork(database).read() as repos:
                count = int(await repos.session.scalar(select(func.count()).select_from(Dossier)) or 0)
                demo = await repos.settings.get(DEMO_KEY)
        except Exception:  # noqa: BLE001 - no such database, or not ours: seeded anew
            return False
        if count != size or (demo or {}).get("size") != size:
            return False
        if await database.current_revision() != head_revision():
            started = time.perf_counter()
            await database.upgrade()
            await _vacuum(url)  # as README advises after a migration that rewrites the dossiers
            print(f"   upgraded {make_url(url).database} to {head_revision()} in {time.perf_counter() - started:.0f} s",
                  flush=True)
        return True
    finally:
        await database.dispose()


# The indexes of the two big tables that back no constraint (the personal ID's stays: each batch looks it up),
# as the migrations made them: dropped before the seed and made again from their own definitions after it.
SECONDARY_INDEXES = """
    SELECT i.indexname, i.indexdef FROM pg_indexes i
    WHERE i.schemaname = current_schema() AND i.tablename IN ('dossier', 'dossier_record')
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
"""


async def _seed(url: str, size: int) -> None:
    clock = SystemClock()
    database = Database(url)
    try:
        await prepare_database(database, clock, None)  # as `hoso init`
        uow = UnitOfWork(database)
        async with database.session(write=True) as session:  # built once at the end: faster than row by row
            indexes = (await session.execute(text(SECONDARY_INDEXES))).all()
            for name, _definition in indexes:
                await session.execute(text(f'DROP INDEX "{name}"'))
        if await seed_demo(uow, clock, size, store=copy_store) is None:
            raise BenchError(f"{url} already held data")
        async with database.session(write=True) as session:
            await session.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
            for _name, definition in indexes:
                await session.execute(text(definition))
    finally:
        await database.dispose()
    await _vacuum(url)


async def _vacuum(url: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text("VACUUM ANALYZE"))  # the statistics, and the visibility map
    finally:
        await engine.dispose()


async def ensure_cache(server: str, size: int) -> Cache:
    name = f"hoso_scale_{size}"
    url = _url(server, name)
    if await _complete(url, size):
        return Cache(size, url, None)
    partial = f"{name}_partial"
    await _admin(server, f'DROP DATABASE IF EXISTS "{partial}" WITH (FORCE)', f'CREATE DATABASE "{partial}"')
    started = time.perf_counter()
    try:
        await _seed(_url(server, partial), size)
    except BaseException:
        await _admin(server, f'DROP DATABASE IF EXISTS "{partial}" WITH (FORCE)')
        raise
    seconds = time.perf_counter() - started
    await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                 f'ALTER DATABASE "{partial}" RENAME TO "{name}"')
    return Cache(size, url, seconds)


# -- the commands ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Command:
    seconds: float
    peak_mb: float


def run_command(args: list[str], url: str, workdir: Path) -> Command:
    """One `hoso` command to its end, through bench.import_export's small measuring process (a child forked
    from this one would start at this process's peak RSS): wall time and the command's own peak RSS."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("HOSO_")}
    env["HOSO_DATABASE_URL"] = url
    seconds, peak_mb, _out = run_measured(args, env, workdir, workdir / f"{Path(args[1]).name}.log")
    return Command(seconds, peak_mb)


# -- one size, and the comparison --------------------------------------------------------------------
@dataclass
class Figures:
    size: int
    find: FindRun
    stats: Command | None  # None: not measured (--no-commands)
    inspect: Command | None
    seeded_s: float | None
    values: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.values["/find p95, all kinds (ms)"] = self.find.p95()
        for kind, label in KINDS.items():
            self.values[f"  {label} p95 (ms)"] = self.find.p95(kind)
        self.values["naive ILIKE p95 (ms)"] = self.find.p95(naive=True)
        self.values["naive p95 / find p95"] = self.find.p95(naive=True) / self.find.p95()
        if self.stats is not None:
            self.values["hoso stats (s)"] = self.stats.seconds
            self.values["hoso stats peak RSS (MB)"] = self.stats.peak_mb
        if self.inspect is not None:
            self.values["hoso inspect (s)"] = self.inspect.seconds
            self.values["hoso inspect peak RSS (MB)"] = self.inspect.peak_mb


def target_of(name: str, value: float, first: Figures | None, last: Figures) -> str:
    """The target beside a figure of the largest size, and whether it is met."""
    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    if name.startswith("/find p95"):
        return f"< {FIND_P95_MS:.0f} ms: {verdict(value < FIND_P95_MS)}"
    if name.startswith("  ") and first is not None:
        ratio = value / first.values[name]
        return f"≤ {FIND_GROWTH}× smallest: {verdict(ratio <= FIND_GROWTH)}"
    if name == "hoso stats (s)":
        return f"< {STATS_S:.0f} s: {verdict(value < STATS_S)}"
    if name == "hoso inspect (s)":
        return f"< {INSPECT_S:.0f} s: {verdict(value < INSPECT_S)}"
    if name == "hoso inspect peak RSS (MB)":
        return f"< {INSPECT_MB:.0f} MB: {verdict(value < INSPECT_MB)}"
    return ""


def table(results: list[Figures]) -> None:
    first, last = results[0], results[-1]
    sizes = "".join(f"{figures.size:>12,}" for figures in results)
    growth = f"{'growth':>9}" if len(results) > 1 else ""
    print(f"\n{'figure':<42}{sizes}{growth}   target at {last.size:,}")
    for name, value in last.values.items():
        cells = "".join(f"{figures.values[name]:>12.2f}" for figures in results)
        ratio = f"{value / first.values[name]:>8.2f}×" if len(results) > 1 and first.values[name] else ""
        print(f"{name:<42}{cells}{ratio}   {target_of(name, value, first if len(results) > 1 else None, last)}")


async def ready(server: str, size: int) -> Cache:
    cache = await ensure_cache(server, size)
    if cache.seconds is None:
        print(f"\n== {size:,} dossiers: reused {make_url(cache.url).database}", flush=True)
    else:
        print(f"\n== {size:,} dossiers: seeded {make_url(cache.url).database} in {cache.seconds:.0f} s "
              f"({size / cache.seconds:,.0f} dossiers/s, with their history records)", flush=True)
    return cache


async def find_at_every_size(caches: list[Cache], queries: int) -> list[FindRun]:
    """/find on every size's database, their queries interleaved (bench.find `run_finds`): the growth from one
    size to the next is not that of the machine's load between their runs."""
    async with AsyncExitStack() as stack:
        runtimes = []
        for cache in caches:
            settings = Settings(_env_file=None, database_url=cache.url)
            runtimes.append(await stack.enter_async_context(open_runtime(settings, SystemClock(settings.timezone))))
        measured = await run_finds(runtimes, queries)
    for cache, run in zip(caches, measured, strict=True):
        print(f"\n== /find at {cache.size:,} dossiers (the sizes' queries interleaved)")
        report(run)
    return measured


def stats_and_inspect(cache: Cache, hoso: str) -> tuple[Command, Command]:
    """`hoso stats` and `hoso inspect` of the whole country."""
    with tempfile.TemporaryDirectory(prefix="hoso-bench-scale-") as directory:
        workdir = Path(directory)
        stats = run_command([hoso, "stats", str(workdir / "stats.xlsx")], cache.url, workdir)
        print(f"\n{cache.size:,} dossiers: hoso stats (whole country): {stats.seconds:.1f} s, peak RSS "
              f"{stats.peak_mb:.0f} MB", flush=True)
        inspect = run_command([hoso, "inspect", str(workdir / "inspect.xlsx")], cache.url, workdir)
        print(f"{cache.size:,} dossiers: hoso inspect (whole country): {inspect.seconds:.1f} s, peak RSS "
              f"{inspect.peak_mb:.0f} MB", flush=True)
    return stats, inspect


def import_figure(server: str, rows: int) -> None:
    """bench.import_export's `hoso import` into a fresh database on the server."""
    env = {**os.environ, "HOSO_BENCH_IMPORT_SIZE": str(rows), "HOSO_BENCH_IMPORT_SERVER": server}
    print(f"\n== hoso import of {rows:,} rows into PostgreSQL (bench.import_export, target < {IMPORT_S:.0f} s)",
          flush=True)
    subprocess.run([sys.executable, "-m", "bench.import_export", "--runs", "1"], env=env, check=False)


async def measure(server: str, sizes: list[int], queries: int, import_rows: int, commands: bool = True) -> None:
    hoso = hoso_executable() if commands else None
    caches = [await ready(server, size) for size in sizes]
    found = await find_at_every_size(caches, queries)
    results = []
    for cache, run in zip(caches, found, strict=True):
        stats, inspect = stats_and_inspect(cache, hoso) if hoso is not None else (None, None)
        results.append(Figures(cache.size, run, stats, inspect, cache.seconds))
        table(results)  # so far: a later size's failure leaves the earlier figures printed
    if import_rows:
        import_figure(server, import_rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(str(size) for size in DEFAULT_SIZES),
                        help="dossiers at each size, comma-separated (default: 200000,1000000,2000000)")
    parser.add_argument("--queries", type=int, default=400, help="timed /find queries per size (default: 400)")
    parser.add_argument("--server", default=DEFAULT_SERVER, help=f"PostgreSQL server (default: {DEFAULT_SERVER})")
    parser.add_argument("--no-commands", action="store_true",
                        help="measure /find only, without `hoso stats` and `hoso inspect`")
    parser.add_argument("--import-rows", type=int, default=200_000,
                        help="rows of the PostgreSQL import benchmark (default: 200000; 0: skip)")
    args = parser.parse_args(argv)
    try:
        sizes = sorted({int(part.replace("_", "")) for part in args.sizes.split(",") if part.strip()})
    except ValueError:
        parser.error("--sizes: whole numbers separated by commas")
    if not sizes or sizes[0] < 1 or args.queries < 1 or args.import_rows < 0:
        parser.error("--sizes and --queries must be at least 1, --import-rows not negative")
    try:
        asyncio.run(measure(args.server, sizes, args.queries, args.import_rows, not args.no_commands))
    except BenchError as error:
        print(f"scale benchmark failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
