"""aiogram FSM storage in HoSo's own database, so a half-finished guided entry survives a restart."""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey

from services.core.clock import Clock
from storage import Database, UnitOfWork

CACHED_CONVERSATIONS = 10_000


class DatabaseStorage(BaseStorage):
    """Writes go through to the database at once; reads are served from a bounded in-process copy.

    Every update reads the state, and most change nothing, so this saves a transaction per update. It
    is sound because this storage is the only writer of its table and one bot process serves a SQLite
    database; several instances share Redis instead (HOSO_REDIS_URL), and without it a second instance is
    refused at start (bot/instances/presence.py). A write that changes nothing is
    skipped."""

    def __init__(self, database: Database, clock: Clock, key_builder: KeyBuilder | None = None,
                 cache_size: int = CACHED_CONVERSATIONS) -> None:
        self.uow = UnitOfWork(database)
        self.clock = clock
        self.key_builder = key_builder or DefaultKeyBuilder(with_bot_id=True, with_destiny=True)
        self.cache_size = cache_size
        self._cache: OrderedDict[str, tuple[str | None, dict[str, Any]]] = OrderedDict()

    def _remember(self, key: str, state: str | None, data: dict[str, Any]) -> None:
        self._cache[key] = (state, data)
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    async def _load(self, key: str) -> tuple[str | None, dict[str, Any]]:
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        async with self.uow.read() as repos:
            record = await repos.fsm.get(key)
        state, data = (None, {}) if record is None else (record.state, dict(record.data))
        self._remember(key, state, data)
        return state, data

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        name = self.key_builder.build(key)
        current, data = await self._load(name)
        if current == value:
            return
        async with self.uow.write() as repos:
            await repos.fsm.put_state(name, value, self.clock.now())
        self._remember(name, value, data)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._load(self.key_builder.build(key)))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        name = self.key_builder.build(key)
        state, current = await self._load(name)
        wanted = copy.deepcopy(dict(data))
        if wanted == current:
            return
        async with self.uow.write() as repos:
            await repos.fsm.put_data(name, wanted, self.clock.now())
        self._remember(name, state, wanted)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return copy.deepcopy((await self._load(self.key_builder.build(key)))[1])

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        _state, current = await self._load(self.key_builder.build(key))
        merged = {**current, **data}
        await self.set_data(key, merged)
        return copy.deepcopy(merged)

    async def close(self) -> None:
        """The database belongs to the runtime, which disposes of it."""
