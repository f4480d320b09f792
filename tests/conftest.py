"""Shared fixtures: real databases (SQLite always, PostgreSQL when HOSO_TEST_PG_URL is set), a
runtime, and a bot harness that feeds updates through the real Dispatcher."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiogram.enums import ChatType
from aiogram.types import Chat, Message, User
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.factory import create_bot, create_dispatcher
from bot.local_session import LOCAL_BOT_TOKEN, LocalBotSession, UpdateFactory
from bot.runtime import Runtime, open_runtime
from bot.sender import OutboxSender
from bot.settings import Settings
from bot.web.conversation import Conversations
from bot.web.files import FileStore
from bot.web.transport import WEB_BOT_TOKEN, WebBotSession
from services.core.clock import FrozenClock
from storage import Database, UnitOfWork
from storage.models import Outbox

PG_URL = os.environ.get("HOSO_TEST_PG_URL")
PG_SKIP = "HOSO_TEST_PG_URL is unset: the PostgreSQL storage tests are skipped"


def _worker_redis(url: str | None) -> str | None:
    """Each pytest-xdist worker its own Redis database (the one given, then those below it; Redis has 16): the
    tests of several instances clear HoSo's keys and share a channel's pace, which the other worker's tests
    must not see."""
    if not url:
        return url
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    if worker > 15:
        raise pytest.UsageError("the Redis tests run on up to 16 workers, one Redis database each")
    url, mark, query = url.partition("?")
    base, _slash, database = url.rpartition("/")
    if not database.isdigit() or "://" not in base:
        base, database = url.rstrip("/"), "0"
    return f"{base}/{(int(database) - worker) % 16}{mark}{query}"


REDIS_URL = _worker_redis(os.environ.get("HOSO_TEST_REDIS_URL"))

# Wednesday 01/07/2026 09:00 in Hà Nội: the day Nghị định 27/2026 took effect.
FROZEN_AT = dt.datetime(2026, 7, 1, 2, 0, tzinfo=dt.UTC)

if os.environ.get("HOSO_LOG_LEVEL", "").upper() == "DEBUG":
    # `HOSO_LOG_LEVEL=DEBUG pytest`: every test runs with the root logger at DEBUG and fails if a record
    # carries a password hash or a password the suite types. Otherwise the fixture does not even exist.
    import logging
    import re
    import traceback

    from services.demo import DEMO_PASSWORD

    # Only forms that cannot be innocent: an argon2 hash, and the suite's passwords ("mat-khau-…").
    _SECRET_FORMS = re.compile("|".join(re.escape(form) for form in ("$argon2", "mat-khau", DEMO_PASSWORD)))

    class _SecretWatch(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.DEBUG)
            self.count, self.leaks = 0, []

        def emit(self, record: logging.LogRecord) -> None:
            self.count += 1
            try:
                text = record.getMessage()
            except Exception:
                text = f"{record.msg} {record.args!r}"
            if record.exc_info and record.exc_info[1] is not None:
                text += "".join(traceback.format_exception(record.exc_info[1]))
            found = _SECRET_FORMS.search(f"{text}{record.exc_text or ''}{record.stack_info or ''}")
            if found:  # name the kind only: the report must not print the secret
                kind = "an argon2 hash" if found.group() == "$argon2" else "a test password"
                self.leaks.append(f"{kind} in a {record.levelname} record of {record.name}")

    @pytest.fixture(autouse=True)
    def _no_secret_in_debug_log(request: pytest.FixtureRequest) -> Any:
        root, watch = logging.getLogger(), _SecretWatch()
        level = root.level
        root.addHandler(watch)
        root.setLevel(logging.DEBUG)
        try:
            yield
        finally:
            root.removeHandler(watch)
            root.setLevel(level)
        request.node.user_properties.append(("log_records_checked", watch.count))
        assert not watch.leaks, f"secrets in the DEBUG log: {watch.leaks[:5]}"


def sqlite_url(tmp_path: Path, name: str = "hoso.db") -> str:
    return f"sqlite+aiosqlite:///{tmp_path / name}"


class PostgresDatabases:
    """Creates a throwaway database per test on the server of HOSO_TEST_PG_URL, and drops it after."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = make_url(admin_url).set(drivername="postgresql+asyncpg")

    async def create(self) -> str:
        name = f"hoso_test_{uuid.uuid4().hex[:12]}"
        engine = create_async_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        await engine.dispose()
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    async def drop(self, url: str) -> None:
        name = make_url(url).database
        engine = create_async_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(FROZEN_AT)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database on each backend: the storage suite runs once per backend."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    async with throwaway_postgres() as url:
        yield url


@asynccontextmanager
async def throwaway_postgres() -> AsyncIterator[str]:
    """A database of its own on the server of HOSO_TEST_PG_URL (the test is skipped without one), dropped after."""
    if not PG_URL:
        pytest.skip(PG_SKIP)
    databases = PostgresDatabases(PG_URL)
    url = await databases.create()
    try:
        yield url
    finally:
        await databases.drop(url)


@asynccontextmanager
async def migrated(url: str) -> AsyncIterator[Database]:
    database = Database(url)
    await database.upgrade()
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def any_database(database_url: str) -> AsyncIterator[Database]:
    """A migrated database on each backend."""
    async with migrated(database_url) as database:
        yield database


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated SQLite database (the embedded default)."""
    async with migrated(sqlite_url(tmp_path)) as database:
        yield database


@pytest.fixture
def uow(database: Database) -> UnitOfWork:
    return UnitOfWork(database)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, database_url=sqlite_url(tmp_path), files_dir=tmp_path / "files")


@pytest.fixture
async def runtime(settings: Settings, clock: FrozenClock) -> AsyncIterator[Runtime]:
    async with open_runtime(settings, clock) as runtime:
        await runtime.database.upgrade()
        yield runtime


# The channel the accounts of a test are bound on (tests/test_accounts.py sign_in): Telegram, unless the test
# runs over the web transport (the `harness` fixture sets it for the test's duration).
BINDING = {"channel": "telegram"}


class RecordingWebSession(WebBotSession):
    keep_calls = True
    reachable = None  # the web outbox delivers as if every page were open


class RecordingZaloSession(LocalBotSession):
    """The Zalo transport as the Dispatcher sees it: its session names the channel and turns aiogram's numeric
    user ids into Zalo's opaque string ids (bot/middlewares.py `address_of`)."""

    channel = "zalo"

    @staticmethod
    def address_of(user_id: int) -> str:
        return f"z{user_id:x}"


class BotHarness:
    """The real Dispatcher with an in-process Bot API that records every call: Telegram's transport (the
    terminal chat's session), the web chat's (`channel="web"`) or Zalo's as the Dispatcher sees it
    (`channel="zalo"`), the same handlers behind each."""

    def __init__(self, runtime: Runtime, channel: str = "telegram") -> None:
        self.runtime, self.channel = runtime, channel
        self.session: LocalBotSession
        if channel == "web":
            files = FileStore(runtime.settings.files_dir / "web-downloads")
            self.session = RecordingWebSession(Conversations(), files, runtime.clock)
            self.bot = create_bot(WEB_BOT_TOKEN, session=self.session)
        elif channel == "zalo":
            self.session = RecordingZaloSession()
            self.bot = create_bot(LOCAL_BOT_TOKEN, session=self.session)
        else:
            self.session = LocalBotSession()
            self.bot = create_bot(LOCAL_BOT_TOKEN, session=self.session)
        self.dispatcher = create_dispatcher(runtime)
        self.updates = UpdateFactory()
        self.last_message_id = 0

    @staticmethod
    def user(user_id: int = 111, language_code: str | None = "vi") -> User:
        return User(id=user_id, is_bot=False, first_name="Test", language_code=language_code)

    async def send(
        self, text: str, user_id: int = 111, chat_type: ChatType = ChatType.PRIVATE, chat_id: int | None = None
    ) -> list[Any]:
        """Feed a message; return the Bot API calls it caused."""
        chat = Chat(id=chat_id if chat_id is not None else user_id, type=chat_type)
        update = self.updates.message(self.user(user_id), chat, text)
        self.last_message_id = update.message.message_id
        return await self._feed(update)

    async def press(self, message: Message, data: str, user_id: int = 111) -> list[Any]:
        return await self._feed(self.updates.callback(self.user(user_id), message, data))

    async def _feed(self, update: Any) -> list[Any]:
        before = len(self.session.calls)
        await self.dispatcher.feed_update(self.bot, update)
        return self.session.calls[before:]

    async def deliver(self) -> list[Any]:
        """Send what the outbox holds for the harness's channel now, as the sender of `hoso run` does (unpaced
        here; on the web, as if every page were open): the calls it made. What an action tells others (a
        notice) reaches them only this way."""
        before = len(self.session.calls)
        await OutboxSender(self.runtime.uow, self.runtime.clock, self.bot, self.runtime.i18n, rate=1000,
                           per_chat=0.0, channel=self.channel).drain()
        return self.session.calls[before:]

    def last_keyboard_message(self) -> Message:
        for message in reversed(list(self.session.messages.values())):
            if message.reply_markup is not None:
                return message
        raise AssertionError("no message with a keyboard was sent")


@pytest.fixture
def harness(runtime: Runtime, request: pytest.FixtureRequest) -> Iterator[BotHarness]:
    """Telegram's transport; in a module marked `both_transports`, each test runs on Telegram's and then on
    the web chat's (`[web]`), its users bound on that channel, the same updates fed to the same Dispatcher."""
    channel = getattr(request, "param", "telegram")
    BINDING["channel"] = channel
    try:
        yield BotHarness(runtime, channel)
    finally:
        BINDING["channel"] = "telegram"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "harness" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_transports"):
        metafunc.parametrize("harness", ["telegram", "web"], indirect=True)


async def outbox_rows(uow: UnitOfWork, kind: str | None = None) -> list[Outbox]:
    """The outbox, oldest first (of one kind)."""
    query = select(Outbox).order_by(Outbox.id)
    if kind is not None:
        query = query.where(Outbox.kind == kind)
    async with uow.read() as repos:
        return list((await repos.session.scalars(query)).all())


def sent_texts(calls: list[Any]) -> list[str]:
    return [call.text for call in calls if call.__api_method__ in ("sendMessage", "editMessageText")]
