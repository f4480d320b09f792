"""`hoso backup`, `hoso restore` and `hoso attachments encrypt`: the records kept safe, with keys outside the
database (services/platform/backup.py, services/platform/attachments.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import JsonOption, _, config_line, emit, fail, lightweight_uow, run_async, settings_or_exit
from bot.settings import ConfigError, Settings
from services.core.clock import SystemClock
from services.core.i18n import N_

if TYPE_CHECKING:  # each command imports what it runs: `hoso --help` needs no SQLAlchemy nor cryptography
    from services.platform.attachments import EncryptReport, FileStore
    from services.platform.backup import BackupReport, RestoreReport

app = typer.Typer()
attachments_app = typer.Typer(help=_(N_("The scanned papers kept under HOSO_FILES_DIR.")), no_args_is_help=True)


def _key(settings: Settings) -> bytes:
    try:
        return settings.require_backup_key()
    except ConfigError as error:
        fail(config_line(error))


def _store(settings: Settings) -> FileStore:
    from services.platform.attachments import FileStore

    return FileStore(settings.files_dir, settings.storage_key_bytes)


def _size(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB".replace(".", ",")


@app.command(help=_(N_("Write an encrypted backup of the database and its attachments, while the bot serves.")))
def backup(
    file: Annotated[Path | None, typer.Argument(
        metavar="FILE", help=_(N_("The backup file to write (not with --schedule)."))),
    ] = None,
    schedule: Annotated[bool, typer.Option(
        "--schedule", help=_(N_("Write a dated backup into HOSO_BACKUP_DIR and keep the last HOSO_BACKUP_KEEP."))),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    from services.platform.backup import NATIVE_SKIPPED, audit_backup, scheduled_backup, write_backup

    settings = settings_or_exit()
    key = _key(settings)
    if schedule == (file is not None):
        fail(_(N_("FILE: name the backup file, or use --schedule (not both).")))
    try:
        directory = settings.require_backup_dir() if schedule else None
    except ConfigError as error:
        fail(config_line(error))
    clock = SystemClock(settings.timezone)

    async def main() -> BackupReport:
        async with lightweight_uow(settings) as uow:
            database = uow.database
            if directory is not None:
                return await scheduled_backup(database, _store(settings), key, directory, settings.backup_keep,
                                              clock)
            assert file is not None
            report = await write_backup(database, _store(settings), key, file)
            await audit_backup(database, clock, report)
            return report

    report: BackupReport = run_async(main())
    if report.native_skipped:
        typer.echo(_(NATIVE_SKIPPED), err=True)
    emit(as_json, report.as_dict(), _(N_("Backup written to {path}: {dossiers} dossiers, {files} attachments, "
                                         "audit up to seq {seq}, {size}.")).format(
        path=report.path, dossiers=report.rows.get("dossier", 0), files=report.files, seq=report.audit_seq,
        size=_size(report.size)))


@app.command(help=_(N_("Restore a backup into an empty database (SQLite or PostgreSQL), then verify it.")))
def restore(
    file: Annotated[Path, typer.Argument(metavar="FILE", help=_(N_("The backup file to restore.")))],
    native_to: Annotated[Path | None, typer.Option(
        "--native-to", metavar="DUMP",
        help=_(N_("Do not restore: write the backup's pg_dump archive (PostgreSQL's own copy) to DUMP, for "
                  "pg_restore."))),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    from services.platform.backup import extract_native, restore_backup

    settings = settings_or_exit()
    key = _key(settings)
    if native_to is not None:
        size = run_async(asyncio.to_thread(extract_native, file, key, native_to))
        emit(as_json, {"path": str(native_to), "size": size}, _(N_(
            "PostgreSQL's own copy written to {path} ({size}); load it into an empty database with: "
            "pg_restore --no-owner --dbname=DATABASE {path}")).format(path=native_to, size=_size(size)))
        return

    async def main() -> RestoreReport:
        database = settings.open_database()
        try:
            return await restore_backup(database, _store(settings), key, file, SystemClock(settings.timezone))
        finally:
            await database.dispose()

    report: RestoreReport = run_async(main())
    emit(as_json, report.as_dict(), _(N_("Restored {dossiers} dossiers and {files} attachments; the audit chain of "
                                         "{count} events is intact and every attachment matches its hash.")).format(
        dossiers=report.rows.get("dossier", 0), files=report.files, count=report.audit_count))


@attachments_app.command("encrypt", help=_(N_("Encrypt the stored attachments in place with HOSO_STORAGE_KEY; "
                                              "safe to interrupt and run again.")))
def encrypt(as_json: JsonOption = False) -> None:
    from services.platform.attachments import FileStore, encrypt_in_place

    settings = settings_or_exit()
    try:
        key = settings.require_storage_key()
    except ConfigError as error:
        fail(config_line(error))
    report: EncryptReport = encrypt_in_place(FileStore(settings.files_dir, key))
    data = {"encrypted": report.encrypted, "already": report.already, "damaged": report.damaged}
    if report.damaged:
        emit(as_json, data, _(N_("attachment: {count} files do not match their hash and were left as they are: "
                                 "{digests}")).format(count=len(report.damaged), digests=", ".join(report.damaged)))
        raise typer.Exit(1)
    emit(as_json, data, _(N_("Encrypted {encrypted} attachments; {already} were encrypted already.")).format(
        encrypted=report.encrypted, already=report.already))
