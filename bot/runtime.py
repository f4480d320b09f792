"""What a running HoSo process holds: settings, database, clock, translations and FSM storage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import SimpleEventIsolation

from bot.fsm_storage import DatabaseStorage
from bot.i18n import CatalogI18n, create_i18n
from bot.settings import Settings
from services.core.clock import Clock, SystemClock
from storage import Database, UnitOfWork

if TYPE_CHECKING:
    from aiogram.fsm.storage.redis import RedisStorage

    from bot.instances.shared import Shared


@dataclass
class Runtime:
    settings: Settings
    database: Database
    clock: Clock
    i18n: CatalogI18n
    fsm_storage: BaseStorage
    events_isolation: BaseEventIsolation
    # What several instances share through Redis (HOSO_REDIS_URL); None for one instance alone.
    shared: Shared | None = None
    # A server process (`hoso run`, `hoso web`, the demo's web chat): its heap is settled once started
    # (bot/jobs.py `settle_heap`). Never in a process that opens runtimes one after another, as tests do.
    serving: bool = False

    @property
    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.database)

    async def close(self) -> None:
        await self.fsm_storage.close()
        await self.events_isolation.close()
        if self.shared is not None:
            await self.shared.close()
        await self.database.dispose()


def build_fsm(settings: Settings, database: Database, clock: Clock,
              shared: Shared | None = None) -> tuple[BaseStorage, BaseEventIsolation]:
    """Redis when HOSO_REDIS_URL is set (several instances share it), else the database itself.
    Either way, one user's updates are handled one at a time, in the order they arrived (with Redis: the
    tickets of bot/instances/turns.py, across instances)."""
    if settings.redis_url:
        if shared is None:
            storage = redis_storage(settings.redis_url)
            return storage, storage.create_isolation()
        # As RedisStorage: the redis client loads only where it is set.
        from bot.instances.shared import SharedRedisStorage
        from bot.instances.turns import TurnIsolation

        return SharedRedisStorage(shared.redis, key_builder=KEYS), TurnIsolation(shared, key_builder=KEYS)
    return DatabaseStorage(database, clock), SimpleEventIsolation()


KEYS = DefaultKeyBuilder(with_bot_id=True, with_destiny=True)


def redis_storage(url: str) -> RedisStorage:
    """The conversation state in Redis, keyed by bot too: the web chat's user 5 (an account id) is not
    Telegram's user 5."""
    from aiogram.fsm.storage.redis import RedisStorage  # the redis client loads only where Redis is set

    return RedisStorage.from_url(url, key_builder=KEYS)


@asynccontextmanager
async def open_runtime(settings: Settings, clock: Clock | None = None, serving: bool = False) -> AsyncIterator[Runtime]:
    clock = clock or SystemClock(settings.timezone)
    database = settings.open_database()
    shared = None
    if settings.redis_url:
        from bot.instances.shared import Shared

        shared = Shared.from_url(settings.redis_url, settings.redis_max_connections)
        await shared.start()
    storage, isolation = build_fsm(settings, database, clock, shared)
    runtime = Runtime(settings, database, clock, create_i18n(settings.default_locale), storage, isolation, shared,
                      serving)
    try:
        yield runtime
    finally:
        await runtime.close()
