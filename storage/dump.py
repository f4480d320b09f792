"""The database as rows, the same on SQLite and PostgreSQL: what a backup carries and a restore writes back.

Every table of the model is read inside one snapshot, in foreign-key order, each row as a list of JSON values.
PostgreSQL: a REPEATABLE READ, read-only transaction, whose snapshot a `pg_dump --snapshot` can share. SQLite: the
engine's own online copy (the backup API, in a worker thread) into a private file in a scratch folder, read
after the name is unlinked: the live database's WAL is pinned only while the pages are copied, not through the
long read, compression and sealing of a backup, and nothing of the copy is left on disk once it is closed or
the process dies. A restore inserts them in the same order into an empty
schema of the same revision, on either engine, then moves PostgreSQL's id sequences past the rows.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import decimal
import os
import shutil
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    LargeBinary,
    MetaData,
    Numeric,
    Table,
    TypeDecorator,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from storage.database import Database
from storage.models import Base

BATCH = 2000
JsonValue = Any


def tables() -> list[Table]:
    """The model's tables, each after the tables it refers to."""
    return list(Base.metadata.sorted_tables)


def columns_of(table: Table) -> list[str]:
    return [column.name for column in table.columns]


def _is_json(column: Column[Any]) -> bool:
    return isinstance(column.type, JSON)


def _kind(column: Column[Any]) -> Any:
    """The column's type as the database stores it (a TypeDecorator's underlying type)."""
    return column.type.impl if isinstance(column.type, TypeDecorator) else column.type


def _encoder(column: Column[Any]) -> Callable[[Any], JsonValue]:
    kind = _kind(column)
    if isinstance(kind, JSON):  # [value] for a JSON value (JSON's null included), None for SQL's NULL
        return lambda value: [value]
    if isinstance(kind, DateTime | Date):
        return lambda value: None if value is None else value.isoformat()
    if isinstance(kind, LargeBinary):
        return lambda value: None if value is None else base64.b64encode(value).decode()
    if isinstance(kind, Numeric):
        return lambda value: None if value is None else str(value)
    return lambda value: value


def _decoder(column: Column[Any]) -> Callable[[JsonValue], Any]:
    kind = _kind(column)
    if isinstance(kind, JSON):
        return lambda value: None if value is None else (JSON.NULL if value[0] is None else value[0])
    if isinstance(kind, DateTime):
        return lambda value: None if value is None else dt.datetime.fromisoformat(value)
    if isinstance(kind, Date):
        return lambda value: None if value is None else dt.date.fromisoformat(value)
    if isinstance(kind, LargeBinary):
        return lambda value: None if value is None else base64.b64decode(value)
    if isinstance(kind, Numeric):
        return lambda value: None if value is None else decimal.Decimal(value)
    return lambda value: value


@asynccontextmanager
async def snapshot(database: Database, scratch: Path | None = None) -> AsyncIterator[AsyncConnection]:
    """One read-only transaction that sees the database as it stood at its first read; on a SQLite file, with
    a `scratch` folder, the transaction reads the backup API's copy of it (see the module)."""
    source = _sqlite_file(database)
    if source is not None and scratch is not None:
        async with _sqlite_copy(source, scratch) as connection:
            yield connection
        return
    async with database.engine.connect() as connection:
        if database.is_sqlite:
            connection = await connection.execution_options(hoso_write=False)
        else:
            connection = await connection.execution_options(isolation_level="REPEATABLE READ",
                                                            postgresql_readonly=True)
        async with connection.begin():
            yield connection


def _sqlite_file(database: Database) -> Path | None:
    name = database.url.database if database.is_sqlite else None
    return None if not name or name == ":memory:" or name.startswith("file:") else Path(name)


def _copy_pages(source: Path, copy: Path) -> None:
    """SQLite's online backup of `source` into `copy`, in one step: one read transaction on the source (WAL
    writers go on beside it), so the copy is the database as it stood at one commit."""
    with contextlib.closing(sqlite3.connect(source, timeout=30)) as live, \
            contextlib.closing(sqlite3.connect(copy)) as target:
        target.execute("PRAGMA synchronous=OFF")  # a scratch file: no fsync while the live file is held
        live.backup(target, pages=-1)
        target.execute("PRAGMA journal_mode=DELETE")  # read-only and alone after this: no -wal, no -shm


@asynccontextmanager
async def _sqlite_copy(source: Path, scratch: Path) -> AsyncIterator[AsyncConnection]:
    scratch.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=scratch, prefix=".hoso-snapshot-", suffix=".db")  # mode 0600
    os.close(handle)
    copy = Path(name)
    try:
        await asyncio.to_thread(_copy_pages, source, copy)
        engine = create_async_engine(f"sqlite+aiosqlite:///file:{copy}?mode=ro&immutable=1&uri=true", poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                await connection.exec_driver_sql("SELECT count(*) FROM sqlite_schema")  # the file is open
                copy.unlink()  # read on through the open descriptor; the space goes with it
                yield connection
        finally:
            await engine.dispose()
    finally:
        copy.unlink(missing_ok=True)


NATIVE_CHUNK = 1024 * 1024
LOAD_CACHE_KIB = 256 * 1024


class NativeDumpFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def pg_dump_tool() -> str | None:
    """pg_dump as found on PATH, or None."""
    return shutil.which("pg_dump")


async def export_snapshot(connection: AsyncConnection) -> str:
    """The name of the snapshot of this REPEATABLE READ transaction, for `pg_dump --snapshot` to share."""
    return str(await connection.scalar(text("SELECT pg_export_snapshot()")))


def _libpq_environment(database: Database) -> dict[str, str]:
    """Where pg_dump connects, as libpq's variables: no password on a command line that `ps` shows."""
    url = database.url
    named = {"PGHOST": url.host, "PGPORT": url.port, "PGUSER": url.username, "PGPASSWORD": url.password,
             "PGDATABASE": url.database}
    return {**os.environ, **{name: str(value) for name, value in named.items() if value is not None}}


async def pg_dump(database: Database, snapshot_name: str, tool: str) -> AsyncIterator[bytes]:
    """pg_dump's custom-format archive (`-Fc`) of the exported snapshot, as it streams out, never on disk."""
    process = await asyncio.create_subprocess_exec(
        tool, "--format=custom", f"--snapshot={snapshot_name}", "--no-password",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=_libpq_environment(database))
    assert process.stdout is not None and process.stderr is not None
    errors = asyncio.ensure_future(process.stderr.read())
    try:
        while chunk := await process.stdout.read(NATIVE_CHUNK):
            yield chunk
        if await process.wait() != 0:
            lines = (await errors).decode(errors="replace").strip().splitlines()
            raise NativeDumpFailed(lines[-1] if lines else f"exit status {process.returncode}")
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        errors.cancel()


async def rows_of(connection: AsyncConnection, table: Table, batch: int = BATCH) -> AsyncIterator[list[list[Any]]]:
    """The table's rows in primary-key order, in batches, each row its columns' JSON values. A JSON column is
    read with whether it holds SQL's NULL, which a JSON null must not become."""
    encoders = [_encoder(column) for column in table.columns]
    nulls = [column.is_(None).label(f"null_{column.name}") for column in table.columns if _is_json(column)]
    query = select(*table.columns, *nulls).order_by(*table.primary_key.columns)
    width = len(table.columns)
    json_at = [index for index, column in enumerate(table.columns) if _is_json(column)]
    result = await connection.stream(query)
    async for part in result.partitions(batch):
        rows = []
        for row in part:
            values = [encode(value) for encode, value in zip(encoders, row[:width], strict=True)]
            for index, is_null in zip(json_at, row[width:], strict=True):
                if is_null:
                    values[index] = None
            rows.append(values)
        yield rows


class NotEmpty(Exception):
    def __init__(self, table: str) -> None:
        super().__init__(table)
        self.table = table


async def first_table_with_rows(database: Database) -> str | None:
    """The first of the model's tables that exists here and holds a row; None for an empty database."""
    async with database.engine.connect() as connection:
        present = set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
        for table in tables():
            if table.name in present and await connection.scalar(select(func.count()).select_from(table)):
                return table.name
    return None


class Loader:
    """Writes rows back, table by table, inside the caller's transaction. Rows of a table that refers to
    itself (a unit's parent, the unit it was merged into) are put after the rows they refer to.

    Each value goes through its column type's own bind processor, as an ORM insert's would (the stored form
    is the same), but without a statement's per-row parameter dictionaries: on SQLite the driver's
    executemany of one compiled INSERT, on PostgreSQL a binary COPY (asyncpg `copy_records_to_table`)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection
        self._shadows: dict[str, tuple[Table, list[Callable[[JsonValue], Any]]]] = {}
        self.pending: dict[str, list[tuple[Any, ...]]] = {}
        self._driver: Any = None

    def _shadow(self, table: Table) -> tuple[Table, list[Callable[[JsonValue], Any]]]:
        """The table as inserted: its JSON columns take None as SQL's NULL (JSON's null comes as JSON.NULL);
        with, per column, the JSON value of a backup made what the driver takes."""
        if table.name not in self._shadows:
            shadow = Table(table.name, MetaData(), *(
                Column(column.name, JSON(none_as_null=True) if _is_json(column) else column.type)
                for column in table.columns))
            dialect = self.connection.dialect
            writers = [_driver_value(_decoder(column),
                                     shadow.columns[column.name].type.dialect_impl(dialect).bind_processor(dialect))
                       for column in table.columns]
            self._shadows[table.name] = (shadow, writers)
        return self._shadows[table.name]

    def prepare(self, table: Table, names: Sequence[str], rows: list[list[Any]]) -> list[tuple[Any, ...]]:
        """A backup's rows of the table as the driver's values (plain Python: fit for a worker thread)."""
        if names != columns_of(table):
            raise ValueError(f"the columns of {table.name} differ from this schema's")
        _shadow, writers = self._shadow(table)
        return [tuple([write(value) for write, value in zip(writers, row, strict=True)]) for row in rows]

    async def add(self, table: Table, values: list[tuple[Any, ...]]) -> None:
        """Rows made by `prepare`, written (or held back until `finish_table`, for a table naming itself)."""
        shadow, _writers = self._shadow(table)
        if _self_references(table):
            self.pending.setdefault(table.name, []).extend(values)
            return
        await self._write(shadow, values)

    async def finish_table(self, table: Table) -> None:
        rows = self.pending.pop(table.name, [])
        if rows:
            await self._write(self._shadow(table)[0], _parents_first(table, rows))

    async def _write(self, shadow: Table, values: list[tuple[Any, ...]]) -> None:
        if not values:
            return
        if self.connection.dialect.name == "postgresql":
            if self._driver is None:
                await self.connection.execute(text("SELECT 1"))  # the transaction begun, so COPY runs in it
                self._driver = (await self.connection.get_raw_connection()).driver_connection
            await self._driver.copy_records_to_table(shadow.name, records=values,
                                                     columns=[column.name for column in shadow.columns])
            return
        statement = str(insert(shadow).compile(dialect=self.connection.dialect))
        await self.connection.exec_driver_sql(statement, values)

    async def start(self) -> None:
        """On SQLite, a page cache that holds the load (the default 2 MB spills the transaction's pages into
        the WAL again and again); `finish` gives the connection its default back."""
        if self.connection.dialect.name == "sqlite":
            await self.connection.exec_driver_sql(f"PRAGMA cache_size=-{LOAD_CACHE_KIB}")

    async def finish(self) -> None:
        """On PostgreSQL, each id sequence moves past the largest id restored."""
        if self.connection.dialect.name != "postgresql":
            await self.connection.exec_driver_sql("PRAGMA cache_size=-2000")
            return
        for table in tables():
            column = table.autoincrement_column
            if column is None:
                continue
            await self.connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                f"COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"))


async def checkpoint(database: Database) -> None:
    """On SQLite, a loaded database's WAL written into the file and emptied (what a restore leaves)."""
    if not database.is_sqlite:
        return
    async with database.engine.connect() as connection:
        driver: Any = (await connection.get_raw_connection()).driver_connection
        await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # outside any transaction


def _driver_value(decode: Callable[[JsonValue], Any],
                  process: Callable[[Any], Any] | None) -> Callable[[JsonValue], Any]:
    if process is None:
        return decode
    return lambda value: process(decode(value))


def _self_references(table: Table) -> list[tuple[str, str]]:
    return [(key.parent.name, key.column.name) for key in table.foreign_keys if key.column.table is table]


def _parents_first(table: Table, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    at = {name: index for index, name in enumerate(columns_of(table))}
    links = [(at[source], at[target]) for source, target in _self_references(table)]
    by_key = {(target, row[target]): row for row in rows for _source, target in links}
    placed: set[int] = set()
    ordered: list[tuple[Any, ...]] = []

    def place(row: tuple[Any, ...], seen: frozenset[int]) -> None:
        if id(row) in placed or id(row) in seen:
            return
        for source, target in links:
            parent = by_key.get((target, row[source])) if row[source] is not None else None
            if parent is not None:
                place(parent, seen | {id(row)})
        placed.add(id(row))
        ordered.append(row)

    for row in rows:
        place(row, frozenset())
    return ordered


async def revision_in(connection: AsyncConnection) -> str | None:
    """The schema revision as the snapshot sees it."""
    from storage.migrations import current_revision

    return await connection.run_sync(current_revision)
