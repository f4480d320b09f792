"""aiogram FSM storage in HoSo's own database, so a half-finished guided entry survives a restart."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey

from services.clock import Clock
from storage import Database, UnitOfWork


class DatabaseStorage(BaseStorage):
    def __init__(self, database: Database, clock: Clock, key_builder: KeyBuilder | None = None) -> None:
        self.uow = UnitOfWork(database)
        self.clock = clock
        self.key_builder = key_builder or DefaultKeyBuilder(with_bot_id=True, with_destiny=True)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        async with self.uow.write() as repos:
            await repos.fsm.put_state(self.key_builder.build(key), value, self.clock.now())

    async def get_state(self, key: StorageKey) -> str | None:
        async with self.uow.read() as repos:
            record = await repos.fsm.get(self.key_builder.build(key))
        return None if record is None else record.state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        async with self.uow.write() as repos:
            await repos.fsm.put_data(self.key_builder.build(key), dict(data), self.clock.now())

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self.uow.read() as repos:
            record = await repos.fsm.get(self.key_builder.build(key))
        return {} if record is None else dict(record.data)

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        """Read and write in one transaction (the base class takes two)."""
        async with self.uow.write() as repos:
            record = await repos.fsm.get(self.key_builder.build(key))
            merged = {**(record.data if record is not None else {}), **data}
            await repos.fsm.put_data(self.key_builder.build(key), merged, self.clock.now())
        return dict(merged)

    async def close(self) -> None:
        """The database belongs to the runtime, which disposes of it."""
