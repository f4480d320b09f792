"""The guided-entry state lives in the database and survives a restart; Redis replaces it when set."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from sqlalchemy import event

from bot.fsm_storage import DatabaseStorage
from bot.runtime import build_fsm, redis_storage
from bot.settings import Settings
from services.core.clock import FrozenClock
from storage import Database
from tests.conftest import REDIS_URL, sqlite_url


class NewDossier(StatesGroup):
    full_name = State()
    birth_date = State()


KEY = StorageKey(bot_id=42, chat_id=1001, user_id=1001)


async def test_unfinished_prompt_survives_closing_and_reopening_the_database(
    tmp_path: Path, clock: FrozenClock
) -> None:
    url = sqlite_url(tmp_path, "restart.db")
    first = Database(url)
    await first.upgrade()
    context = FSMContext(storage=DatabaseStorage(first, clock), key=KEY)
    await context.set_state(NewDossier.birth_date)
    await context.update_data(full_name="Đặng Thị Thuỷ", unit="SGDDT")
    await first.dispose()  # the process stops

    second = Database(url)
    try:
        context = FSMContext(storage=DatabaseStorage(second, clock), key=KEY)
        assert await context.get_state() == NewDossier.birth_date.state
        assert await context.get_data() == {"full_name": "Đặng Thị Thuỷ", "unit": "SGDDT"}
    finally:
        await second.dispose()


async def test_state_and_data_are_independent_and_clear(any_database: Database, clock: FrozenClock) -> None:
    storage = DatabaseStorage(any_database, clock)
    await storage.set_data(KEY, {"step": 1})
    await storage.set_state(KEY, NewDossier.full_name)
    assert await storage.get_data(KEY) == {"step": 1}  # setting the state kept the data
    await storage.set_state(KEY, NewDossier.birth_date)
    assert await storage.get_state(KEY) == "NewDossier:birth_date"
    other = StorageKey(bot_id=42, chat_id=2002, user_id=2002)
    assert await storage.get_state(other) is None and await storage.get_data(other) == {}
    await FSMContext(storage=storage, key=KEY).clear()
    assert await storage.get_state(KEY) is None and await storage.get_data(KEY) == {}


def test_database_storage_is_the_default(tmp_path: Path, clock: FrozenClock) -> None:
    settings = Settings(_env_file=None, database_url=sqlite_url(tmp_path))
    storage, _isolation = build_fsm(settings, Database(settings.database_url), clock)
    assert isinstance(storage, DatabaseStorage)


@pytest.mark.redis
async def test_redis_storage_is_used_when_configured(tmp_path: Path, clock: FrozenClock) -> None:
    if not REDIS_URL:
        pytest.skip("HOSO_TEST_REDIS_URL is unset: the Redis FSM test is skipped")
    settings = Settings(_env_file=None, database_url=sqlite_url(tmp_path), redis_url=REDIS_URL)
    storage, isolation = build_fsm(settings, Database(settings.database_url), clock)
    assert isinstance(storage, RedisStorage)
    key = StorageKey(bot_id=42, chat_id=int(uuid.uuid4().int % 10**9), user_id=7)
    try:
        await storage.set_state(key, NewDossier.full_name)
        await storage.set_data(key, {"full_name": "Lê Văn Hoà"})
        reopened = redis_storage(REDIS_URL)
        assert await reopened.get_state(key) == "NewDossier:full_name"
        assert await reopened.get_data(key) == {"full_name": "Lê Văn Hoà"}
        await reopened.set_state(key, None)
        await reopened.set_data(key, {})
        await reopened.close()
    finally:
        await storage.close()
        await isolation.close()


async def test_reads_come_from_memory_and_unchanged_writes_are_skipped(database: Database, clock: FrozenClock) -> None:
    storage = DatabaseStorage(database, clock, cache_size=2)
    await storage.set_state(KEY, NewDossier.full_name)
    await storage.update_data(KEY, {"full_name": "Lê Văn Hoà"})
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731 — before_cursor_execute(conn, cursor, sql, …)
    event.listen(database.engine.sync_engine, "before_cursor_execute", listener)
    try:
        assert await storage.get_state(KEY) == NewDossier.full_name.state
        await storage.set_state(KEY, NewDossier.full_name)
        await storage.update_data(KEY, {"full_name": "Lê Văn Hoà"})
        assert statements == []
        # A copy is handed out: changing it does not change what is stored.
        (await storage.get_data(KEY))["full_name"] = "changed"
        assert await storage.get_data(KEY) == {"full_name": "Lê Văn Hoà"}
        # Evicted conversations are read again from the database, unchanged.
        for chat in (3003, 4004):
            await storage.get_state(StorageKey(bot_id=42, chat_id=chat, user_id=chat))
        statements.clear()
        assert await storage.get_data(KEY) == {"full_name": "Lê Văn Hoà"}
        assert any("fsm_record" in sql for sql in statements)
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", listener)
