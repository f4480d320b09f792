"""The database engine: one per process, SQLite or PostgreSQL behind the same interface."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

# How long a writer waits for SQLite's write lock before giving up, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 10_000
# The mark a session carries once it added outbox rows (`session.info`): its commit wakes the senders.
OUTBOX_ADDED = "hoso_outbox_added"
# The mark of a session that may have ended a sign-in (a web session, an identity, an account's status): its
# commit moves `Database.sign_in_changes` on (storage/web_sessions.py sets it).
SIGN_INS_CHANGED = "hoso_sign_ins_changed"

# Each PostgreSQL connection plans every statement with its parameters (plan_cache_mode). asyncpg prepares
# and caches each statement per connection; after five runs PostgreSQL may switch a prepared statement to a
# generic plan, costed without the values, and keep it. One prepared while the table was small (an import's
# or a seed's first batches, the lookup of each batch's personal IDs) kept its plan as the table grew: the
# import fell from 1 800 to 200 dossiers a second. Planning costs well under a millisecond here; a stale plan
# can cost seconds, and a generic plan cannot use a value's frequency (a common family name).
# No JIT: a statement of many small parts (a name's page) whose estimated cost passes jit_above_cost was seen
# to take 130 ms to compile for 2 ms of work, and the statistics' one aggregate over 2 million dossiers ran
# slower with it (4,5 s against 3,9 s).
POSTGRES_SETTINGS = {"plan_cache_mode": "force_custom_plan", "jit": "off"}

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


class _DropDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


# Secret columns (password and activation-code hashes) must never reach a log. At DEBUG, aiosqlite logs
# every call with its arguments and SQLAlchemy every result row; a filter on those loggers drops such
# records at their source, whatever levels and handlers a process sets. Bound parameters are hidden
# by the engine itself (hide_parameters, below).
_DROP_DEBUG = _DropDebug()
for _name in ("aiosqlite", "sqlalchemy.engine.Engine"):
    logging.getLogger(_name).addFilter(_DROP_DEBUG)


@dataclass(frozen=True, slots=True)
class PoolLimits:
    """A PostgreSQL connection pool: the connections kept, those opened beyond them at a peak, and how long
    a session waits for one when all are in use (then SQLAlchemy's TimeoutError)."""

    size: int = 10
    overflow: int = 10
    timeout: float = 60.0


class DatabaseUrlError(ValueError):
    """The database URL names no backend HoSo runs on."""


def normalize_database_url(raw: str) -> str:
    """Accept the usual spellings and return the async driver URL (aiosqlite or asyncpg)."""
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise DatabaseUrlError(f"not a database URL: {raw!r}") from exc
    driver = _DRIVERS.get(url.drivername)
    if driver is None:
        raise DatabaseUrlError(f"unsupported backend {url.drivername!r} (use sqlite or postgresql)")
    return url.set(drivername=driver).render_as_string(hide_password=False)


class Database:
    """Owns the engine and hands out sessions.

    SQLite is opened in WAL mode with foreign keys on and a busy timeout. pysqlite's own transaction
    handling is switched off so that we emit BEGIN ourselves: BEGIN IMMEDIATE for write transactions
    (the write lock is taken up front, so two writers queue instead of deadlocking on a lock upgrade),
    plain deferred BEGIN for reads, which WAL lets run beside a writer.

    The process's own SQLite writers take turns on an asyncio lock before BEGIN IMMEDIATE: a writer waits
    for the one before it to commit, instead of sleeping in SQLite's busy handler, which backs off up to
    100 ms at a time while the lock is held a few milliseconds. Another process still meets the busy
    timeout; so does a writer of this one that waited the whole timeout for its turn (it then tries anyway).

    It also tells this process's outbox senders that there is something new to send: a write transaction
    that added outbox rows sets every event handed out by `outbox_signal` once it has committed, never
    before and never after a rollback, so a woken sender finds the rows (no other process is told: its
    sender finds them at its next pass).
    """

    def __init__(self, url: str, *, echo: bool = False, pool: PoolLimits | None = None, **engine_kwargs: Any) -> None:
        self.url: URL = make_url(normalize_database_url(url))
        if self.url.get_backend_name() != "sqlite":  # SQLite's pools are its own (one file, one writer)
            pool = pool or PoolLimits()
            engine_kwargs = {"pool_size": pool.size, "max_overflow": pool.overflow, "pool_timeout": pool.timeout,
                             **engine_kwargs}
        # hide_parameters: no bound value in SQL logging nor in the text of a database error, which
        # an incident log prints with its traceback.
        if not self.is_sqlite:
            engine_kwargs.setdefault("connect_args", {}).setdefault("server_settings", dict(POSTGRES_SETTINGS))
        self.engine: AsyncEngine = create_async_engine(self.url, echo=echo, hide_parameters=True, **engine_kwargs)
        if self.is_sqlite:
            self._prepare_sqlite()
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        self._outbox_signals: weakref.WeakSet[asyncio.Event] = weakref.WeakSet()
        self._writers = asyncio.Lock() if self.is_sqlite else None
        # Commits of this process that may have ended a sign-in: a caller compares it before and after some
        # work to know whether a session it read may be over (the web chat after an update).
        self.sign_in_changes = 0

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    def describe(self) -> str:
        """The URL without its password, fit for logs and CLI output."""
        return self.url.render_as_string(hide_password=True)

    def _prepare_sqlite(self) -> None:
        database = self.url.database
        if database and database != ":memory:":
            Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)

        @event.listens_for(self.engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(self.engine.sync_engine, "begin")
        def _on_begin(connection: Any) -> None:
            write = connection.get_execution_options().get("hoso_write", True)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    @asynccontextmanager
    async def session(self, *, write: bool) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: a write commits on a clean exit; anything else ends in
        a rollback when the session closes. Objects loaded stay readable (detached) afterwards."""
        async with self._turn(write), self._sessions() as session:
            await session.connection(execution_options={"hoso_write": write})
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            if write:
                await session.commit()
                if session.info.pop(SIGN_INS_CHANGED, False):
                    self.sign_in_changes += 1
                if session.info.pop(OUTBOX_ADDED, False):
                    for signal in list(self._outbox_signals):
                        signal.set()

    @asynccontextmanager
    async def _turn(self, write: bool) -> AsyncIterator[None]:
        """This process's turn to write on SQLite (see the class); nothing for a read or on PostgreSQL."""
        if not write or self._writers is None:
            yield
            return
        try:
            async with asyncio.timeout(SQLITE_BUSY_TIMEOUT_MS / 1000):  # Lock.acquire is safe to cancel
                await self._writers.acquire()
        except TimeoutError:  # held that long: SQLite's busy timeout decides, as for another process
            yield
            return
        try:
            yield
        finally:
            self._writers.release()

    def outbox_signal(self) -> asyncio.Event:
        """An event of its own for one waiter (a sender's loop), set after each commit that added outbox
        rows; the waiter clears it before it looks for what to send. Dropped once the waiter lets it go."""
        signal = asyncio.Event()
        self._outbox_signals.add(signal)
        return signal

    async def upgrade(self, revision: str = "head") -> None:
        """Create or upgrade the schema with the Alembic migrations."""
        from storage.migrations import run_upgrade

        async with self.engine.connect() as connection:
            await connection.run_sync(run_upgrade, revision)
            await connection.commit()

    async def current_revision(self) -> str | None:
        from storage.migrations import current_revision

        async with self.engine.connect() as connection:
            return await connection.run_sync(current_revision)

    async def dispose(self) -> None:
        await self.engine.dispose()
