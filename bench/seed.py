"""A realistic province database for the benchmarks: the demo province (Cần Thơ, its units, the three
demo accounts) with N dossiers and their history records, seeded through `services.demo.seed_demo`.

    python -m bench.seed [--size 200000] [--db PATH] [--force]

Without --db the database is a cache file in the system temp directory keyed by size
(e.g. /tmp/hoso-bench-200000.db). It is reused when it exists, is at the current schema head and holds
a complete demo province of that size, so repeated benchmark runs do not reseed. A seed is written to
a side file first and renamed into place only once complete: an interrupted seed leaves no cache. A file
named with --db is replaced only with --force.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from services.core.clock import SystemClock
from services.demo import DEMO_KEY, seed_demo
from services.regime.reference import install_reference_lists
from services.regime.setup import install_profile
from storage import Database, UnitOfWork
from storage.migrations import head_revision
from storage.models import Dossier

DEFAULT_SIZE = 200_000


class SeedError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Seeded:
    path: Path
    dossiers: int
    seconds: float | None  # None: an existing database was reused


def default_path(size: int) -> Path:
    return Path(tempfile.gettempdir()) / f"hoso-bench-{size}.db"


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _remove(path: Path) -> None:
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        candidate.unlink(missing_ok=True)


async def inspect(path: Path) -> tuple[str | None, int, int | None]:
    """The schema revision, the dossier count and the demo size recorded in an existing database."""
    database = Database(sqlite_url(path))
    try:
        revision = await database.current_revision()
        if revision is None:
            return None, 0, None
        async with UnitOfWork(database).read() as repos:
            count = int(await repos.session.scalar(select(func.count()).select_from(Dossier)) or 0)
            demo = await repos.settings.get(DEMO_KEY)
        return revision, count, (demo or {}).get("size")
    finally:
        await database.dispose()


async def reusable(path: Path, size: int) -> int | None:
    """The dossier count of a cached database fit for reuse, else None."""
    if not path.exists():
        return None
    try:
        revision, count, demo_size = await inspect(path)
    except Exception:  # noqa: BLE001 - an unreadable cache is simply rebuilt
        return None
    if revision != head_revision() or demo_size != size or count != size:
        return None
    return count


async def build(path: Path, size: int) -> int:
    """Create the database at `path` (which must not exist): schema, default profile, demo province."""
    clock = SystemClock()
    database = Database(sqlite_url(path))
    try:
        await database.upgrade()
        uow = UnitOfWork(database)
        await install_profile(uow, clock, None)
        await install_reference_lists(uow)  # the ranks' groups, which the statistics count by
        seeded = await seed_demo(uow, clock, size)
        if seeded is None:
            raise SeedError(f"{path} already held data")
        async with uow.read() as repos:
            return int(await repos.session.scalar(select(func.count()).select_from(Dossier)) or 0)
    finally:
        await database.dispose()  # the last connection closes: WAL checkpointed and removed


async def ensure_seeded(size: int = DEFAULT_SIZE, path: Path | None = None, *, force: bool = False) -> Seeded:
    """The seeded database for `size`, building it only when no fit one exists."""
    if size < 0:
        raise SeedError("size must not be negative")
    cache = path is None
    path = (path or default_path(size)).expanduser().resolve()
    if not force:
        count = await reusable(path, size)
        if count is not None:
            return Seeded(path, count, None)
        if not cache and path.exists():
            raise SeedError(f"{path} exists but is no demo database of {size} dossiers at the schema head; "
                            "pass --force to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.partial-{os.getpid()}")
    _remove(partial)
    started = time.perf_counter()
    try:
        count = await build(partial, size)
    except BaseException:
        _remove(partial)
        raise
    seconds = time.perf_counter() - started
    _remove(path)
    os.replace(partial, path)
    return Seeded(path, count, seconds)


def describe(seeded: Seeded) -> str:
    if seeded.seconds is None:
        return f"reused {seeded.path}: {seeded.dossiers:,} dossiers (schema at head {head_revision()})"
    rate = seeded.dossiers / seeded.seconds if seeded.seconds else 0.0
    return (f"seeded {seeded.path}: {seeded.dossiers:,} dossiers in {seeded.seconds:.1f} s "
            f"({rate:,.0f} dossiers/s)")


def run(runs: int = 1) -> int:
    """For `python -m bench`: make sure the default cache exists (seeding it once if needed)."""
    try:
        print(describe(asyncio.run(ensure_seeded(DEFAULT_SIZE))), flush=True)
    except SeedError as error:
        print(f"seed failed: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help=f"dossiers (default: {DEFAULT_SIZE})")
    parser.add_argument("--db", type=Path, default=None, help="database file (default: a cache in the temp dir)")
    parser.add_argument("--force", action="store_true", help="reseed even if a fit database exists")
    args = parser.parse_args(argv)
    if args.size < 0:
        parser.error("--size must not be negative")
    try:
        seeded = asyncio.run(ensure_seeded(args.size, args.db, force=args.force))
    except SeedError as error:
        print(f"seed failed: {error}", file=sys.stderr)
        return 1
    print(describe(seeded))
    return 0


if __name__ == "__main__":
    sys.exit(main())
