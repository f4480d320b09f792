"""Backup and restore: the records and their scanned papers in one sealed file, restorable on either engine.

The rows are what a restore loads, not the engine's own copy: a province must be able to move its records from
SQLite to PostgreSQL and back, and a pg_dump cannot be loaded into SQLite. They are read in one snapshot that is
the engine's own (storage/dump.py): on SQLite the backup API's private copy, on PostgreSQL a REPEATABLE READ
transaction whose exported snapshot pg_dump shares when it is installed, its custom-format archive then carried
too (frames of kind N, for pg_restore: `extract_native`). So the backup runs while the bot serves.

The file: the HoSo sealed stream (services/platform/sealing.py, HOSO_BACKUP_KEY) around a zlib stream of
frames, each a kind byte, a 4-byte length and the payload: first the header (format, schema revision, the
tables and their columns), then pg_dump's archive in chunks (PostgreSQL with pg_dump only), then the rows of
each table in foreign-key order, then the attachments (their sha256 and bytes), last the manifest (each table's
row count and the sha256 of its frames, each file's size, the head of the audit chain, the size and sha256 of
pg_dump's archive or null). It is written under a temporary name, fsynced and renamed only when complete; a
restore reads it through once before it writes anything, and refuses a file that is cut short, altered, sealed
with another key, or whose manifest does not match what it carries.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.ext.asyncio import AsyncConnection

from services.core.actor import Actor
from services.core.clock import Clock
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.platform.atomic import atomic_file
from services.platform.attachments import FileStore
from services.platform.audit import AuditService, record
from services.platform.sealing import Damaged, NotSealed, SealedWriter, WrongKey, open_stream
from storage import Database, UnitOfWork
from storage.dump import (
    BATCH,
    Loader,
    NativeDumpFailed,
    checkpoint,
    columns_of,
    export_snapshot,
    first_table_with_rows,
    pg_dump,
    pg_dump_tool,
    revision_in,
    rows_of,
    snapshot,
    tables,
)
from storage.migrations import head_revision

FORMAT = 1
HEADER, ROWS, FILE, NATIVE, MANIFEST = b"H", b"R", b"F", b"N", b"M"
NATIVE_FORMAT = "pg_dump -Fc"
FIELD = "FILE"
SUFFIX = ".hosobak"

NOT_A_BACKUP = N_("{name} is not a HoSo backup.")
WRONG_KEY = N_("{name} was encrypted with another key: check HOSO_BACKUP_KEY.")
DAMAGED = N_("{name} is damaged or incomplete (altered or cut short): refused.")
OTHER_SCHEMA = N_("{name} holds schema {revision}; this version of HoSo restores schema {head}.")
NOT_EMPTY = N_("the database is not empty (table {table} has rows); restore only into an empty database.")
CHAIN_BROKEN = N_("the restored audit trail is broken at seq {seq}; the restore is not to be trusted.")
# The columns that name a file of the store by its sha256: a backup carries every file they name.
FILE_COLUMNS = {"attachment": "sha256", "feedback": "screenshot_sha256"}
FILE_ALTERED = N_("attachment {digest} does not match its hash after the restore.")
NATIVE_SKIPPED = N_("PostgreSQL's own copy (pg_dump -Fc) was skipped: pg_dump is not installed on this machine (not "
                    "on PATH); the backup holds the rows only, which hoso restore loads.")
NATIVE_FAILED = N_("pg_dump failed: {reason}; no backup was written.")
NO_NATIVE = N_("{name} holds no copy made by pg_dump (only a backup of PostgreSQL made where pg_dump was installed "
               "does).")
FILE_UNREADABLE = N_("attachment {digest} is missing or altered in the store; no backup was written.")


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: str
    rows: dict[str, int]
    files: int
    size: int
    audit_seq: int
    native: dict[str, Any] | None = None  # pg_dump's archive carried: its format, size and sha256
    native_skipped: bool = False  # a PostgreSQL backup without it: pg_dump is not installed

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "rows": self.rows, "files": self.files, "size": self.size,
                "audit_seq": self.audit_seq, "native": self.native, "native_skipped": self.native_skipped}


@dataclass(frozen=True, slots=True)
class RestoreReport:
    rows: dict[str, int]
    files: int
    audit_count: int

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "files": self.files, "audit_count": self.audit_count}


class _Archive:
    """Frames → zlib → the sealed stream."""

    def __init__(self, out: BinaryIO, key: bytes) -> None:
        self.sealed = SealedWriter(out, key)
        self.zip = zlib.compressobj(1)  # fast: the scans barely compress, the rows do at any level

    def frame(self, kind: bytes, payload: bytes) -> None:
        self.sealed.write(self.zip.compress(kind + len(payload).to_bytes(4, "big") + payload))

    def close(self) -> None:
        self.sealed.write(self.zip.flush())
        self.sealed.close()


@dataclass
class _Tally:
    """What the manifest says of the frames: rows and a running hash per table, the files' sizes."""

    rows: dict[str, int] = field(default_factory=dict)
    hashes: dict[str, Any] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    native_size: int = 0
    native_hash: Any = field(default_factory=hashlib.sha256)

    def add_native(self, chunk: bytes) -> None:
        self.native_size += len(chunk)
        self.native_hash.update(chunk)

    def native(self) -> dict[str, Any] | None:
        if not self.native_size:
            return None
        return {"format": NATIVE_FORMAT, "size": self.native_size, "sha256": self.native_hash.hexdigest()}

    def add_rows(self, table: str, payload: bytes, count: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + count
        self.hashes.setdefault(table, hashlib.sha256()).update(payload)

    def tables(self) -> dict[str, dict[str, Any]]:
        return {name: {"rows": count, "sha256": self.hashes[name].hexdigest()} for name, count in self.rows.items()}


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


async def write_backup(database: Database, files: FileStore, key: bytes, path: Path,
                       batch: int = BATCH) -> BackupReport:
    """Write the sealed backup of the database and its attachments to `path`, complete or not at all; the
    rows are read `batch` at a time."""
    with atomic_file(path) as out:
        archive, tally = _Archive(out, key), _Tally()
        digests, head, skipped = await _write_records(database, files, archive, tally, batch, path.parent)
        manifest = {"tables": tally.tables(), "files": tally.files, "audit": head, "native": tally.native()}
        await asyncio.to_thread(archive.frame, MANIFEST, _json(manifest))
        archive.close()
    _sync_directory(path.parent)
    return BackupReport(str(path), dict(tally.rows), len(digests), path.stat().st_size, int(head["seq"]),
                        tally.native(), skipped)


async def _write_records(database: Database, files: FileStore, archive: _Archive, tally: _Tally,
                         batch: int, scratch: Path) -> tuple[set[str], dict[str, Any], bool]:
    """The snapshot's frames; whether PostgreSQL's own copy was skipped for want of pg_dump."""
    digests: set[str] = set()
    head: dict[str, Any] = {"seq": 0, "hash": None}
    skipped = False
    async with snapshot(database, scratch) as connection:
        header = {"format": FORMAT, "revision": await revision_in(connection), "source": database.dialect,
                  "tables": {table.name: columns_of(table) for table in tables()}}
        await asyncio.to_thread(archive.frame, HEADER, _json(header))
        if database.dialect == "postgresql":
            skipped = not await _write_native(database, connection, archive, tally)
        for table in tables():
            names = columns_of(table)
            async for rows in rows_of(connection, table, batch):
                payload = _json({"table": table.name, "rows": rows})
                tally.add_rows(table.name, payload, len(rows))
                await asyncio.to_thread(archive.frame, ROWS, payload)
                if table.name in FILE_COLUMNS:
                    at = names.index(FILE_COLUMNS[table.name])
                    digests.update(row[at] for row in rows if row[at])
                elif table.name == "audit_event" and rows:
                    head = {"seq": rows[-1][names.index("seq")], "hash": rows[-1][names.index("hash")]}
        # Still inside the snapshot: the papers its rows name (a file, once stored, never changes).
        for digest in sorted(digests):
            try:
                content = await asyncio.to_thread(files.read, digest)
            except OSError:
                raise InvalidInput("attachment", FILE_UNREADABLE, digest=digest) from None
            tally.files[digest] = len(content)
            await asyncio.to_thread(archive.frame, FILE, digest.encode() + content)
    return digests, head, skipped


async def _write_native(database: Database, connection: AsyncConnection, archive: _Archive, tally: _Tally) -> bool:
    """pg_dump's archive of the very snapshot the rows are read in (its exported name), framed as it streams;
    False when pg_dump is not installed."""
    tool = pg_dump_tool()
    if tool is None:
        return False
    try:
        async for chunk in pg_dump(database, await export_snapshot(connection), tool):
            tally.add_native(chunk)
            await asyncio.to_thread(archive.frame, NATIVE, chunk)
    except NativeDumpFailed as error:
        raise InvalidInput("pg_dump", NATIVE_FAILED, reason=error.reason) from None
    return True


def _sync_directory(directory: Path) -> None:
    """The rename itself survives a power cut once the directory is synced (POSIX)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _frames(path: Path, key: bytes) -> Iterator[tuple[bytes, bytes]]:
    """The frames of a backup, each checked by the seal; a refusal by name for anything else."""
    name = path.name
    try:
        with path.open("rb") as source:
            unzip, buffer = zlib.decompressobj(), bytearray()
            for chunk in open_stream(source, key):
                buffer += unzip.decompress(chunk)
                while len(buffer) >= 5:
                    size = int.from_bytes(buffer[1:5], "big")
                    if len(buffer) < 5 + size:
                        break
                    yield bytes(buffer[:1]), bytes(buffer[5:5 + size])
                    del buffer[:5 + size]
            if buffer or not unzip.eof:
                raise Damaged()
    except NotSealed:
        raise InvalidInput(FIELD, NOT_A_BACKUP, name=name) from None
    except WrongKey:
        raise InvalidInput(FIELD, WRONG_KEY, name=name) from None
    except (Damaged, zlib.error):
        raise InvalidInput(FIELD, DAMAGED, name=name) from None


def check_backup(path: Path, key: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read the whole backup once: its seal, its frames in order, and its manifest against what it carries.
    The header and the manifest; a refusal by name for a file that is not whole."""
    if not path.is_file():
        raise InvalidInput(FIELD, NOT_A_BACKUP, name=path.name)
    damaged = InvalidInput(FIELD, DAMAGED, name=path.name)
    header: dict[str, Any] | None = None
    manifest: dict[str, Any] | None = None
    tally = _Tally()
    try:
        for kind, payload in _frames(path, key):
            if manifest is not None or (header is None) != (kind == HEADER):
                raise damaged
            if kind == HEADER:
                header = json.loads(payload)
            elif kind == ROWS:
                tally.add_rows(json.loads(payload)["table"], payload, len(json.loads(payload)["rows"]))
            elif kind == FILE:
                digest, content = payload[:64].decode(), payload[64:]
                if hashlib.sha256(content).hexdigest() != digest:
                    raise damaged
                tally.files[digest] = len(content)
            elif kind == NATIVE:
                tally.add_native(payload)
            elif kind == MANIFEST:
                manifest = json.loads(payload)
            else:
                raise damaged
    except (ValueError, KeyError, TypeError):
        raise damaged from None
    if header is None or manifest is None or header.get("format") != FORMAT:
        raise damaged
    if (manifest.get("tables") != tally.tables() or manifest.get("files") != tally.files
            or manifest.get("native") != tally.native()):
        raise damaged
    return header, manifest


async def restore_backup(database: Database, files: FileStore, key: bytes, path: Path,
                         clock: Clock) -> RestoreReport:
    """Restore a backup into an empty database (either engine), then check what was restored: the audit
    chain recomputed, every attachment read back against its hash. Refused before anything is written if the
    file is not whole, was made at another schema, or the database holds rows."""
    header, manifest = await asyncio.to_thread(check_backup, path, key)
    head = head_revision()
    if header["revision"] != head:
        raise InvalidInput(FIELD, OTHER_SCHEMA, name=path.name, revision=header["revision"] or "-", head=head)
    occupied = await first_table_with_rows(database)
    if occupied is not None:
        raise InvalidInput("database", NOT_EMPTY, table=occupied)
    await database.upgrade()
    await _load(database, files, key, path, header)
    await checkpoint(database)
    uow = UnitOfWork(database)
    chain = await AuditService(uow, Actor.system(), clock).verify()
    if not chain.ok:
        raise InvalidInput("audit", CHAIN_BROKEN, seq=chain.broken_seq)
    for digest in manifest["files"]:
        try:
            await asyncio.to_thread(files.read, digest)
        except OSError:
            raise InvalidInput("attachment", FILE_ALTERED, digest=digest) from None
    rows = {name: int(table["rows"]) for name, table in manifest["tables"].items()}
    async with uow.write() as repos:
        await record(repos, clock, Actor.system(), "backup.restore", "backup", None, file=path.name,
                     files=len(manifest["files"]), audit_seq=manifest["audit"]["seq"])
    return RestoreReport(rows, len(manifest["files"]), chain.count)


async def _load(database: Database, files: FileStore, key: bytes, path: Path, header: dict[str, Any]) -> None:
    """Every row in one transaction (a failure leaves the database empty), the papers into the store."""
    by_name = {table.name: table for table in tables()}
    frames = _frames(path, key)
    async with database.session(write=True) as session:
        loader = Loader(await session.connection())
        await loader.start()
        current = None
        while (item := await asyncio.to_thread(next, frames, None)) is not None:
            kind, payload = item
            if kind == ROWS:
                data = json.loads(payload)
                table = by_name[data["table"]]
                if current is not None and current is not table:
                    await loader.finish_table(current)
                current = table
                await loader.add(table, loader.prepare(table, header["tables"][table.name], data["rows"]))
            elif kind == FILE:
                await asyncio.to_thread(files.keep, payload[:64].decode(), payload[64:])
        if current is not None:
            await loader.finish_table(current)
        await loader.finish()


def extract_native(path: Path, key: bytes, out: Path) -> int:
    """Write pg_dump's archive carried by a whole backup to `out` (mode 0600, complete or not at all), for
    pg_restore; its size. The backup is checked through first."""
    _header, manifest = check_backup(path, key)
    if manifest.get("native") is None:
        raise InvalidInput(FIELD, NO_NATIVE, name=path.name)
    with atomic_file(out) as target:
        for kind, payload in _frames(path, key):
            if kind == NATIVE:
                target.write(payload)
    return int(manifest["native"]["size"])


def backup_name(clock: Clock) -> str:
    return f"hoso-{clock.now().astimezone(clock.tz):%Y%m%d-%H%M%S}{SUFFIX}"


def prune(directory: Path, keep: int) -> list[str]:
    """Keep the last `keep` backups of the folder (their names sort by time); the names removed."""
    backups = sorted(path for path in directory.glob(f"hoso-*{SUFFIX}") if path.is_file())
    removed = backups[:-keep] if keep > 0 else backups
    for path in removed:
        path.unlink(missing_ok=True)
    return [path.name for path in removed]


async def scheduled_backup(database: Database, files: FileStore, key: bytes, directory: Path, keep: int,
                           clock: Clock) -> BackupReport:
    """One backup into the folder under a dated name, audited; then only the last `keep` are kept."""
    report = await write_backup(database, files, key, directory / backup_name(clock))
    await audit_backup(database, clock, report)
    prune(directory, keep)
    return report


async def audit_backup(database: Database, clock: Clock, report: BackupReport) -> None:
    """A backup reads everything: it is audited once written, with what it holds."""
    async with UnitOfWork(database).write() as repos:
        await record(repos, clock, Actor.system(), "backup.create", "backup", None, file=Path(report.path).name,
                     files=report.files, audit_seq=report.audit_seq, dossiers=report.rows.get("dossier", 0))
