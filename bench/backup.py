"""Backup and restore at 200 000 dossiers on SQLite, and what sealing costs a read of an attachment.

    python -m bench.backup [--size 200000] [--reads 400] [--runs 1] [--restore-url postgresql://…/empty_db]

The database is bench/seed.py's cached demo province. The backup (`hoso backup`'s code) is written into a
temporary folder, then restored into a new SQLite database (`hoso restore`'s code: the whole file checked, the
rows loaded, the chain recomputed), and with --restore-url into that empty database too (PostgreSQL: COPY). The attachment reads compare the same scans stored plain and sealed
(HOSO_STORAGE_KEY), read alternately in the same run: p50 and p95 of each, side by side. Figures on a shared,
loaded machine are indicative.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.seed import DEFAULT_SIZE, ensure_seeded, sqlite_url
from services.core.clock import SystemClock
from services.platform.attachments import FileStore, Upload
from services.platform.backup import restore_backup, write_backup
from storage import Database

KEY = b"bench-backup-key-0123456789abcdefghij"
STORAGE_KEY = b"bench-storage-key-0123456789abcdefghi"
SCAN = 1024 * 1024  # a one-page scan at 200 dpi is about this


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:,.1f} MB"


async def backup_and_restore(size: int, folder: Path, restore_url: str | None = None) -> None:
    seeded = await ensure_seeded(size)
    source = Database(sqlite_url(seeded.path))
    files = FileStore(folder / "files")
    backup = folder / "bench.hosobak"
    try:
        started = time.perf_counter()
        report = await write_backup(source, files, KEY, backup)
        backup_s = time.perf_counter() - started
    finally:
        await source.dispose()
    target = Database(sqlite_url(folder / "restored.db"))
    try:
        started = time.perf_counter()
        restored = await restore_backup(target, FileStore(folder / "restored-files"), KEY, backup, SystemClock())
        restore_s = time.perf_counter() - started
    finally:
        await target.dispose()
    print(f"dossiers: {report.rows.get('dossier', 0):,} (versions {report.rows.get('dossier_version', 0):,}, "
          f"records {report.rows.get('dossier_record', 0):,}, audit {report.rows.get('audit_event', 0):,})")
    print(f"{'':24}{'seconds':>10}{'size':>14}")
    print(f"{'SQLite file':24}{'':>10}{_mb(seeded.path.stat().st_size):>14}")
    print(f"{'backup (sealed)':24}{backup_s:>10.1f}{_mb(report.size):>14}")
    print(f"{'restore + verify':24}{restore_s:>10.1f}{_mb((folder / 'restored.db').stat().st_size):>14}"
          f"   chain of {restored.audit_count:,} events verified")
    if restore_url:
        other = Database(restore_url)
        try:
            started = time.perf_counter()
            await restore_backup(other, FileStore(folder / "other-files"), KEY, backup, SystemClock())
            print(f"{'restore into ' + other.dialect:24}{time.perf_counter() - started:>10.1f}")
        finally:
            await other.dispose()


def attachment_reads(reads: int, folder: Path) -> None:
    plain, sealed = FileStore(folder / "plain"), FileStore(folder / "sealed", STORAGE_KEY)
    digests = []
    for n in range(20):
        content = b"%PDF-1.4\n" + os.urandom(SCAN)
        digests.append(plain.put(Upload(f"scan-{n}.pdf", content)).sha256)
        sealed.put(Upload(f"scan-{n}.pdf", content))
    timings: dict[str, list[float]] = {"plain": [], "sealed": []}
    for n in range(reads):  # alternate, so both see the same load
        digest = digests[n % len(digests)]
        for name, store in (("plain", plain), ("sealed", sealed)):
            started = time.perf_counter()
            store.read(digest)
            timings[name].append((time.perf_counter() - started) * 1000)
    print(f"attachment read of a {_mb(SCAN + 9)} scan, {reads} reads each (sha256 checked in both):")
    print(f"{'':10}{'p50 ms':>10}{'p95 ms':>10}")
    for name, values in timings.items():
        p95 = statistics.quantiles(values, n=20)[-1]
        print(f"{name:10}{statistics.median(values):>10.2f}{p95:>10.2f}")
    plain95 = statistics.quantiles(timings["plain"], n=20)[-1]
    sealed95 = statistics.quantiles(timings["sealed"], n=20)[-1]
    print(f"overhead of sealing at p95: {sealed95 - plain95:+.2f} ms ({(sealed95 / plain95 - 1) * 100:+.0f} %)")


def run(runs: int = 1, size: int = DEFAULT_SIZE, reads: int = 400, restore_url: str | None = None) -> int:
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="hoso-bench-backup-") as folder:
            asyncio.run(backup_and_restore(size, Path(folder), restore_url))
            attachment_reads(reads, Path(folder))
    print("(a shared machine under the load of other work: the figures are indicative)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help=f"dossiers (default: {DEFAULT_SIZE})")
    parser.add_argument("--reads", type=int, default=400, help="reads of each kind (default: 400)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--restore-url", help="also restore into this empty database (one run only)")
    args = parser.parse_args(argv)
    return run(args.runs, args.size, args.reads, args.restore_url)


if __name__ == "__main__":
    raise SystemExit(main())
