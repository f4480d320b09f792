"""Backup and restore (services/platform/backup.py): taken while the bot writes, restored into an empty database
of either engine with the same records and a verified chain; a killed, altered, truncated or wrongly keyed
backup refused by name; the daily backup keeps N and tells the admins once when it fails."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import os
import shutil
import sqlite3
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, make_url, select

from bot.jobs import Jobs
from bot.runtime import open_runtime
from bot.settings import Settings
from handlers.reminders import render
from services.core.actor import Actor
from services.core.clock import FrozenClock
from services.core.errors import InvalidInput
from services.oversight.feedback import FeedbackService
from services.platform.attachments import FileStore, Upload
from services.platform.audit import AuditService
from services.platform.backup import (
    DAMAGED,
    NOT_A_BACKUP,
    NOT_EMPTY,
    OTHER_SCHEMA,
    WRONG_KEY,
    check_backup,
    prune,
    restore_backup,
    scheduled_backup,
    write_backup,
)
from services.platform.sealing import is_sealed_file
from storage import Database, UnitOfWork
from storage.models import (
    Attachment,
    AuditEvent,
    ChangeEvent,
    Dossier,
    DossierRecord,
    DossierVersion,
    Feedback,
    Outbox,
)
from tests.conftest import PG_SKIP, PG_URL, PostgresDatabases, sqlite_url
from tests.test_accounts import sign_in, tree
from tests.test_attachments import PNG, STORAGE_KEY
from tests.test_changes import PAPER, PDF, new_dossiers, service, setup
from tests.test_cli import HOSO, hoso

KEY = b"backup-key-for-the-tests-0123456789abcdef"
COMPARED = [Dossier, DossierVersion, ChangeEvent, DossierRecord, Attachment]


def table(model: Any) -> Table:
    return model.__table__  # type: ignore[no-any-return]


async def seeded(tmp_path: Path, clock: FrozenClock, url: str | None = None) -> tuple[Database, FileStore, Actor, int]:
    """A province with a clerk, a new dossier with its paper and a change with another (SQLite by default)."""
    database = Database(url or sqlite_url(tmp_path, "source.db"))
    await database.upgrade()
    uow, files = UnitOfWork(database), tmp_path / "files"
    await setup(uow, clock, "hau-giang-2016")
    clerk = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    answers = {"full_name": "Đặng Thị Thuỷ", "sex": "F", "birth_date": "12/03/1995", "personal_id": "092195001234",
               "ethnicity": "Kinh", "custodian_unit": "bv", "rank_code": "01.003", "post": "Chuyên viên",
               "employment_status": "probation", "doc_number": "45/QĐ-SYT", "doc_date": "20/06/2026",
               "doc_issuer": "Sở Y tế", "effective_on": "22/06/2026"}
    created = await new_dossiers(uow, clerk, clock, files).create(answers, [Upload("quyet-dinh.pdf", PDF)])
    # A feedback screenshot is a file of the store too, named by its own table.
    await FeedbackService(uow, clerk, clock, FileStore(files)).send("problem", "Nút Lưu không phản hồi.",
                                                                    Upload("man-hinh.png", PNG))
    return database, FileStore(files), clerk, created.dossier_id


async def rows(database: Database, model: Any) -> dict[Any, tuple[Any, ...]]:
    async with database.engine.connect() as connection:
        found = (await connection.execute(select(table(model)))).all()
    key = next(iter(table(model).primary_key.columns)).name
    return {row._mapping[key]: tuple(row) for row in found}


@pytest.fixture
def target_url(database_url: str) -> str:
    """The empty database a restore goes into, on each backend (conftest's `database_url`)."""
    return database_url


async def test_a_backup_taken_while_writing_restores_the_same_records(
    tmp_path: Path, clock: FrozenClock, target_url: str
) -> None:
    source, files, clerk, dossier_id = await seeded(tmp_path, clock)
    uow, backup = UnitOfWork(source), tmp_path / "hoso.hosobak"
    changes = service(uow, clerk, clock, tmp_path / "files")
    writing, written = True, 0

    async def commend() -> None:
        nonlocal written
        await changes.log("commendation", dossier_id, {"form": f"Bằng khen {written}", **PAPER,
                                                       "effective_on": "20/06/2026"},
                          [Upload(f"khen-{written}.pdf", PDF + f"%{written}\n".encode())])
        written += 1

    async def clerk_at_work() -> None:
        while writing:
            await commend()

    for _ in range(2):
        await commend()
    before = {model: len(await rows(source, model)) for model in COMPARED}
    work = asyncio.create_task(clerk_at_work())
    report = await write_backup(source, files, KEY, backup, batch=1)  # a row at a time: the clerk works between
    during = written - 2
    writing = False
    await work
    assert during > 0, "no change was logged while the backup ran"

    target = Database(target_url)
    restored_files = FileStore(tmp_path / "restored-files", STORAGE_KEY)  # the papers sealed at rest there
    try:
        result = await restore_backup(target, restored_files, KEY, backup, clock)
        for model in COMPARED:  # what the backup holds is the source as it stood at one moment
            restored, original = await rows(target, model), await rows(source, model)
            assert len(restored) >= before[model]
            assert restored == {key: original[key] for key in restored}, model.__name__
        assert result.rows["attachment"] == len(await rows(target, Attachment)) >= 3
        audit, original_audit = await rows(target, AuditEvent), await rows(source, AuditEvent)
        assert {seq: row for seq, row in audit.items() if seq <= report.audit_seq} == {
            seq: original_audit[seq] for seq in range(1, report.audit_seq + 1)}
        verified = await AuditService(UnitOfWork(target), Actor.system(), clock).verify()
        assert verified.ok and verified.count > report.audit_seq  # the restore's own events follow the chain
        for attachment in (await rows(target, Attachment)).values():
            digest = attachment[table(Attachment).columns.keys().index("sha256")]
            assert restored_files.read(digest) == files.read(digest)
            assert is_sealed_file(restored_files.path_of(digest).read_bytes())
        [screenshot] = [row[table(Feedback).columns.keys().index("screenshot_sha256")]
                        for row in (await rows(target, Feedback)).values()]
        assert restored_files.read(screenshot) == files.read(screenshot) == PNG
        # A second restore into what is now a full database is refused, naming a table.
        with pytest.raises(InvalidInput) as refused:
            await restore_backup(target, restored_files, KEY, backup, clock)
        assert refused.value.message == NOT_EMPTY
    finally:
        await target.dispose()
        await source.dispose()


async def test_a_restore_that_fails_after_the_rows_leaves_the_database_empty(
    tmp_path: Path, clock: FrozenClock, target_url: str
) -> None:
    """The rows are written in bulk (SQLite's executemany, PostgreSQL's COPY) inside the restore's one
    transaction: the papers come after them, and a store that cannot take one undoes every row."""
    source, files, _clerk, _dossier = await seeded(tmp_path, clock)
    backup = tmp_path / "hoso.hosobak"
    await write_backup(source, files, KEY, backup)
    await source.dispose()
    (tmp_path / "not-a-folder").write_bytes(b"")
    target = Database(target_url)
    try:
        with pytest.raises(OSError):
            await restore_backup(target, FileStore(tmp_path / "not-a-folder"), KEY, backup, clock)
        for model in [*COMPARED, AuditEvent]:
            assert await rows(target, model) == {}, model.__name__
        restored = await restore_backup(target, FileStore(tmp_path / "restored-files"), KEY, backup, clock)
        assert restored.rows["dossier"] == len(await rows(target, Dossier)) > 0
    finally:
        await target.dispose()


async def test_a_sqlite_backup_reads_the_engines_own_copy_and_leaves_the_wal_to_checkpoint(
    tmp_path: Path, clock: FrozenClock
) -> None:
    """The rows are read from the backup API's private copy: while the backup is under way (held here at its
    papers, which it reads inside its snapshot), the clerk's commits are checkpointed into the live file in full
    (a reader pinned on the live database would hold back every frame after its snapshot), none of them is in
    the backup, and no copy of the database is left beside it."""
    source, files, clerk, dossier_id = await seeded(tmp_path, clock)
    changes = service(UnitOfWork(source), clerk, clock, tmp_path / "files")
    reading, go_on = threading.Event(), threading.Event()

    class HeldStore(FileStore):
        def read(self, digest: str) -> bytes:
            reading.set()
            go_on.wait(timeout=60)
            return super().read(digest)

    out, live = tmp_path / "out", str(source.url.database)
    before = max(await rows(source, AuditEvent))
    backup = asyncio.create_task(write_backup(source, HeldStore(tmp_path / "files"), KEY, out / "hoso.hosobak"))
    checkpoints: list[tuple[int, int]] = []
    try:
        assert await asyncio.to_thread(reading.wait, 60)
        for n in range(3):
            await changes.log("commendation", dossier_id, {"form": f"Bằng khen {n}", **PAPER,
                                                           "effective_on": "20/06/2026"}, [])
            with contextlib.closing(sqlite3.connect(live, isolation_level=None)) as connection:
                _busy, log, done = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            checkpoints.append((log, done))
        assert not backup.done()
    finally:
        go_on.set()
        report = await backup
        await source.dispose()
    assert all(log == done > 0 for log, done in checkpoints), checkpoints
    assert [path.name for path in out.iterdir()] == ["hoso.hosobak"]
    header, manifest = check_backup(out / "hoso.hosobak", KEY)
    assert manifest["audit"]["seq"] == report.audit_seq == before and header["source"] == "sqlite"


@pytest.mark.postgres
async def test_a_postgresql_backup_restores_into_sqlite(tmp_path: Path, clock: FrozenClock) -> None:
    if not PG_URL:
        pytest.skip(PG_SKIP)
    databases = PostgresDatabases(PG_URL)
    url = await databases.create()
    try:
        source, files, clerk, dossier_id = await seeded(tmp_path, clock, url)
        await service(UnitOfWork(source), clerk, clock, tmp_path / "files").log(
            "commendation", dossier_id, {"form": "Bằng khen", **PAPER, "effective_on": "20/06/2026"},
            [Upload("khen.pdf", PDF + b"%khen\n")])
        backup = tmp_path / "hoso.hosobak"
        await write_backup(source, files, KEY, backup)
        target = Database(sqlite_url(tmp_path, "restored.db"))
        try:
            await restore_backup(target, FileStore(tmp_path / "restored-files"), KEY, backup, clock)
            for model in COMPARED:
                assert await rows(target, model) == await rows(source, model), model.__name__
            original = await rows(source, AuditEvent)
            assert {seq: row for seq, row in (await rows(target, AuditEvent)).items() if seq in original} == original
        finally:
            await target.dispose()
            await source.dispose()
    finally:
        await databases.drop(url)


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.mark.postgres
@pytest.mark.skipif(not shutil.which("pg_dump") or not shutil.which("pg_restore"), reason="no PostgreSQL client")
async def test_a_postgresql_backup_carries_pg_dumps_archive_of_the_same_snapshot(
    tmp_path: Path, clock: FrozenClock
) -> None:
    """pg_dump shares the snapshot the rows are read in: while the clerk works, the archive `hoso restore
    --native-to` hands out, loaded by pg_restore, holds exactly what the rows restore."""
    if not PG_URL:
        pytest.skip(PG_SKIP)
    databases = PostgresDatabases(PG_URL)
    url, native_url = await databases.create(), await databases.create()
    source, files, clerk, dossier_id = await seeded(tmp_path, clock, url)
    changes, writing, written = service(UnitOfWork(source), clerk, clock, tmp_path / "files"), True, 0

    async def clerk_at_work() -> None:
        nonlocal written
        while writing:
            await changes.log("commendation", dossier_id, {"form": f"Bằng khen {written}", **PAPER,
                                                           "effective_on": "20/06/2026"}, [])
            written += 1

    backup, dump = tmp_path / "hoso.hosobak", tmp_path / "dump" / "hoso.pgdump"
    target, native = Database(sqlite_url(tmp_path, "restored.db")), Database(native_url)
    try:
        work = asyncio.create_task(clerk_at_work())
        report = await write_backup(source, files, KEY, backup, batch=1)
        writing = False
        await work
        assert written > 0 and report.native is not None and not report.native_skipped
        assert report.native["format"] == "pg_dump -Fc"
        result = hoso("restore", str(backup), "--native-to", str(dump), cwd=tmp_path,
                      env={"HOSO_BACKUP_KEY": KEY.decode(), "HOSO_DEFAULT_LOCALE": "en",
                           "HOSO_DATABASE_URL": sqlite_url(tmp_path, "unused.db")})
        assert result.returncode == 0, result.stderr
        assert f"PostgreSQL's own copy written to {dump}" in result.stdout
        assert dump.read_bytes().startswith(b"PGDMP") and dump.stat().st_mode & 0o777 == 0o600
        assert dump.stat().st_size == report.native["size"]
        loaded = subprocess.run(["pg_restore", "--no-owner", f"--dbname={libpq(native_url)}", str(dump)],
                                capture_output=True, text=True, timeout=120)
        assert loaded.returncode == 0, loaded.stderr
        await restore_backup(target, FileStore(tmp_path / "restored-files"), KEY, backup, clock)
        for model in COMPARED:
            assert await rows(native, model) == await rows(target, model), model.__name__
        restored_audit = {seq: row for seq, row in (await rows(target, AuditEvent)).items() if seq <= report.audit_seq}
        assert await rows(native, AuditEvent) == restored_audit
        assert len(restored_audit) == report.audit_seq < len(await rows(source, AuditEvent))
    finally:
        for database in (target, native, source):
            await database.dispose()
        await databases.drop(url)
        await databases.drop(native_url)


@pytest.mark.postgres
async def test_without_pg_dump_a_postgresql_backup_says_so_in_one_line_and_completes(
    tmp_path: Path, clock: FrozenClock
) -> None:
    if not PG_URL:
        pytest.skip(PG_SKIP)
    databases = PostgresDatabases(PG_URL)
    url = await databases.create()
    try:
        source, _files, _clerk, _dossier = await seeded(tmp_path, clock, url)
        await source.dispose()
        (tmp_path / "bin").mkdir()
        env = {"HOSO_DATABASE_URL": url, "HOSO_FILES_DIR": str(tmp_path / "files"), "HOSO_BACKUP_KEY": KEY.decode(),
               "HOSO_DEFAULT_LOCALE": "en", "PATH": str(tmp_path / "bin")}  # a PATH without pg_dump
        result = hoso("backup", "hoso.hosobak", cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ("PostgreSQL's own copy (pg_dump -Fc) was skipped: pg_dump is not installed on this "
                                 "machine (not on PATH); the backup holds the rows only, which hoso restore loads.\n")
        _header, manifest = check_backup(tmp_path / "hoso.hosobak", KEY)
        dossiers = manifest["tables"]["dossier"]["rows"]
        assert manifest["native"] is None and dossiers > 0
        assert result.stdout.startswith(f"Backup written to hoso.hosobak: {dossiers} dossiers")
        refused = hoso("restore", "hoso.hosobak", "--native-to", "hoso.pgdump", cwd=tmp_path, env=env)
        assert refused.returncode != 0 and refused.stderr.count("\n") == 1
        assert "hoso.hosobak holds no copy made by pg_dump" in refused.stderr
        assert not (tmp_path / "hoso.pgdump").exists()
    finally:
        await databases.drop(url)


@pytest.mark.postgres
async def test_a_pg_dump_that_fails_fails_the_backup_by_name_and_leaves_no_file(
    tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not PG_URL:
        pytest.skip(PG_SKIP)
    databases = PostgresDatabases(PG_URL)
    url = await databases.create()
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "pg_dump").write_text("#!/bin/sh\necho 'pg_dump: error: aborting because of server version mismatch' >&2\n"
                                   "exit 1\n")
    (tools / "pg_dump").chmod(0o755)
    monkeypatch.setenv("PATH", str(tools))
    try:
        source, files, _clerk, _dossier = await seeded(tmp_path, clock, url)
        with pytest.raises(InvalidInput) as refused:
            await write_backup(source, files, KEY, tmp_path / "out" / "hoso.hosobak")
        await source.dispose()
        assert refused.value.field == "pg_dump"
        assert refused.value.params["reason"] == "pg_dump: error: aborting because of server version mismatch"
        assert list((tmp_path / "out").iterdir()) == []
    finally:
        await databases.drop(url)


async def test_a_backup_of_another_schema_is_refused_before_anything_is_written(
    tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, files, _clerk, _dossier = await seeded(tmp_path, clock)
    backup = tmp_path / "hoso.hosobak"
    await write_backup(source, files, KEY, backup)
    await source.dispose()
    monkeypatch.setattr("services.platform.backup.head_revision", lambda: "9999")  # a later HoSo
    target = Database(sqlite_url(tmp_path, "target.db"))
    try:
        with pytest.raises(InvalidInput) as refused:
            await restore_backup(target, FileStore(tmp_path / "t"), KEY, backup, clock)
        assert refused.value.message == OTHER_SCHEMA and refused.value.params["head"] == "9999"
        assert await target.current_revision() is None  # not even the schema was made
    finally:
        await target.dispose()


async def test_an_altered_truncated_or_wrongly_keyed_backup_is_refused_by_name(
    tmp_path: Path, clock: FrozenClock
) -> None:
    source, files, _clerk, _dossier = await seeded(tmp_path, clock)
    backup = tmp_path / "hoso.hosobak"
    await write_backup(source, files, KEY, backup)
    await source.dispose()
    whole = backup.read_bytes()
    check_backup(backup, KEY)

    def refusal(data: bytes, key: bytes = KEY) -> InvalidInput:
        backup.write_bytes(data)
        with pytest.raises(InvalidInput) as refused:
            check_backup(backup, key)
        assert refused.value.field == "FILE" and refused.value.params["name"] == "hoso.hosobak"
        return refused.value

    for offset in (20, 60, len(whole) // 2, len(whole) - 1):  # the salt, the first chunk, the middle, the tag
        altered = bytearray(whole)
        altered[offset] ^= 0x01
        assert refusal(bytes(altered)).message in (DAMAGED, WRONG_KEY)
    assert refusal(whole[: len(whole) - 1]).message == DAMAGED
    assert refusal(whole[:60]).message == DAMAGED
    assert refusal(whole, b"another-key-of-at-least-32-characters!!").message == WRONG_KEY
    assert refusal(b"PK\x03\x04 not a backup at all").message == NOT_A_BACKUP
    # Nothing was written into the target database by a refused restore.
    target = Database(sqlite_url(tmp_path, "target.db"))
    try:
        with pytest.raises(InvalidInput):
            await restore_backup(target, FileStore(tmp_path / "t"), KEY, backup, clock)
        assert not Path(sqlite_url(tmp_path, "target.db").split("///")[1]).exists() or \
            await target.current_revision() is None
    finally:
        await target.dispose()


def test_a_backup_killed_midway_leaves_no_file_that_restore_accepts(tmp_path: Path, clock: FrozenClock) -> None:
    async def big() -> None:
        source, files, _clerk, _dossier = await seeded(tmp_path, clock)
        async with UnitOfWork(source).write() as repos:
            event = (await repos.session.scalars(select(ChangeEvent))).first()
            assert event is not None
            for n in range(24):  # 4 MB each of bytes that do not compress: the backup takes a while
                content = b"%PDF-1.4\n" + os.urandom(4 * 1024 * 1024)
                stored = files.put(Upload(f"scan-{n}.pdf", content))
                repos.session.add(Attachment(change_event_id=event.id, sha256=stored.sha256, file_name=f"scan-{n}.pdf",
                                             content_type="application/pdf", size=stored.size, uploaded_at=clock.now()))
        await source.dispose()

    asyncio.run(big())
    env = {key: value for key, value in os.environ.items() if not key.startswith("HOSO_")}
    env.update(HOSO_DATABASE_URL=sqlite_url(tmp_path, "source.db"), HOSO_FILES_DIR=str(tmp_path / "files"),
               HOSO_BACKUP_KEY=KEY.decode())
    out = tmp_path / "out"
    out.mkdir()
    target = out / "hoso.hosobak"
    process = subprocess.Popen([HOSO, "backup", str(target)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)

    def partial() -> list[Path]:
        return [path for path in out.iterdir() if path.name.endswith(".partial") and path.stat().st_size > 8 << 20]

    while not partial():  # wait for the backup to be well under way (or to end, which fails the test)
        try:
            process.wait(timeout=0.005)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"the backup ended before it could be killed: {process.stderr.read()!r}")
    process.kill()  # SIGKILL: no handler runs, the temporary file stays as it was
    process.wait()
    left = partial()
    assert not target.exists()
    assert not [path for path in out.iterdir() if "snapshot" in path.name]  # no copy of the database in clear
    for candidate in [target, *left]:
        with pytest.raises(InvalidInput) as refused:
            check_backup(candidate, KEY)
        assert refused.value.message in (NOT_A_BACKUP, DAMAGED)
    assert refused.value.message == DAMAGED  # the partial file, named as incomplete
    result = subprocess.run([HOSO, "restore", str(left[0])], cwd=tmp_path, capture_output=True, text=True,
                            env={**env, "HOSO_DATABASE_URL": sqlite_url(tmp_path, "restored.db"),
                                 "HOSO_DEFAULT_LOCALE": "en"}, timeout=120)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "damaged or incomplete" in result.stderr and left[0].name in result.stderr


async def test_scheduled_backups_keep_the_last_n(tmp_path: Path, clock: FrozenClock) -> None:
    source, files, _clerk, _dossier = await seeded(tmp_path, clock)
    directory = tmp_path / "backups"
    try:
        for _ in range(4):
            await scheduled_backup(source, files, KEY, directory, 2, clock)
            clock.advance(dt.timedelta(days=1))
    finally:
        await source.dispose()
    kept = sorted(path.name for path in directory.iterdir())
    assert kept == ["hoso-20260703-090000.hosobak", "hoso-20260704-090000.hosobak"]
    check_backup(directory / kept[-1], KEY)
    assert prune(directory, 1) == ["hoso-20260703-090000.hosobak"]


async def test_the_daily_backup_runs_once_at_its_hour_and_a_failure_tells_the_admins_once(
    tmp_path: Path, clock: FrozenClock
) -> None:
    base = Settings(_env_file=None, database_url=sqlite_url(tmp_path), files_dir=tmp_path / "files",
                    backup_dir=tmp_path / "backups", backup_hour=10)
    async with open_runtime(base, clock) as runtime:
        await runtime.database.upgrade()
        await tree(runtime.uow, clock)
        await sign_in(runtime.uow, clock, "admin.snv", "SNV", "admin", 900)
        jobs = Jobs(runtime)
        assert not await jobs.backup_if_due(clock.now())  # 09:00 local: before the hour
        clock.advance(dt.timedelta(hours=1))
        assert not await jobs.backup_if_due(clock.now())  # no HOSO_BACKUP_KEY: it fails
        clock.advance(dt.timedelta(hours=3))
        assert not await jobs.backup_if_due(clock.now())  # the same day: not tried again
        async with runtime.uow.read() as repos:
            told = (await repos.session.scalars(select(Outbox).where(Outbox.kind == "backup_failed"))).all()
        assert [(row.account_id is not None, row.payload["setting"]) for row in told] == [(True, "HOSO_BACKUP_KEY")]
        with runtime.i18n.context(), runtime.i18n.use_locale("en"):
            text, _markup = render("backup_failed", told[0].payload)
        assert "HOSO_BACKUP_KEY: missing; backups are encrypted with it" in text and "01/07/2026" in text
    keyed = Settings(_env_file=None, database_url=sqlite_url(tmp_path), files_dir=tmp_path / "files",
                     backup_dir=tmp_path / "backups", backup_hour=10, backup_key=KEY.decode())
    clock.advance(dt.timedelta(days=1))
    async with open_runtime(keyed, clock) as runtime:
        assert await Jobs(runtime).backup_if_due(clock.now())
    written = list((tmp_path / "backups").iterdir())
    assert len(written) == 1
    header, manifest = check_backup(written[0], KEY)
    assert manifest["tables"]["account"]["rows"] == 1


def test_the_files_of_a_backup_are_addressed_by_their_hash(tmp_path: Path) -> None:
    """A sanity check of the store a restore writes into: the same bytes land at the same name."""
    store = FileStore(tmp_path, b"storage-key-for-the-tests-0123456789")
    store.keep(hashlib.sha256(PDF).hexdigest(), PDF)
    with pytest.raises(OSError):
        store.keep(hashlib.sha256(b"other").hexdigest(), PDF)
    assert store.stored() == [hashlib.sha256(PDF).hexdigest()]




def test_the_commands_refuse_in_one_line_and_encrypt_a_store(tmp_path: Path) -> None:
    plain = FileStore(tmp_path / "files")
    digests = [plain.put(Upload("a.pdf", PDF)).sha256, plain.put(Upload("b.png", PNG)).sha256]
    env = {"HOSO_DATABASE_URL": sqlite_url(tmp_path), "HOSO_FILES_DIR": str(tmp_path / "files"),
           "HOSO_DEFAULT_LOCALE": "en"}
    for args, extra, named in [
        (["backup", "out.hosobak"], {}, "HOSO_BACKUP_KEY: missing; backups are encrypted with it"),
        (["backup"], {"HOSO_BACKUP_KEY": KEY.decode()}, "FILE: name the backup file, or use --schedule"),
        (["backup", "--schedule"], {"HOSO_BACKUP_KEY": KEY.decode()}, "HOSO_BACKUP_DIR: missing"),
        (["restore", "none.hosobak"], {"HOSO_BACKUP_KEY": KEY.decode()}, "none.hosobak is not a HoSo backup."),
        (["attachments", "encrypt"], {}, "HOSO_STORAGE_KEY: missing"),
        (["attachments", "encrypt"], {"HOSO_STORAGE_KEY": "short"}, "HOSO_STORAGE_KEY: use at least 32"),
    ]:
        result = hoso(*args, cwd=tmp_path, env={**env, **extra})
        assert result.returncode != 0, args
        assert result.stderr.count("\n") == 1 and named in result.stderr, (args, result.stderr)
    result = hoso("attachments", "encrypt", cwd=tmp_path, env={**env, "HOSO_STORAGE_KEY": STORAGE_KEY.decode()})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Encrypted 2 attachments; 0 were encrypted already."
    sealed = FileStore(tmp_path / "files", STORAGE_KEY)
    assert [sealed.read(digest) for digest in digests] == [PDF, PNG]
