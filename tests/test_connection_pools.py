"""The connections one process holds: its PostgreSQL pool sized by the settings, and one Redis client whose pool
makes a command wait for a free connection instead of failing (the load of bench/instances.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.instances.shared import Shared
from bot.runtime import build_fsm
from bot.settings import Settings
from services.core.clock import FrozenClock
from storage import Database, PoolLimits
from tests.conftest import REDIS_URL, sqlite_url, throwaway_postgres


def test_the_settings_size_the_postgresql_pool() -> None:
    settings = Settings(_env_file=None, database_url="postgresql+asyncpg://hoso@127.0.0.1/hoso",  # type: ignore[call-arg]
                        database_pool_size=3, database_max_overflow=2, database_pool_timeout=7)
    database = settings.open_database()  # no connection is made before a session asks for one
    pool = database.engine.pool
    assert (pool.size(), pool._max_overflow, pool._timeout) == (3, 2, 7)  # type: ignore[attr-defined]


def test_defaults_fit_a_webhook_instance() -> None:
    database = Database("postgresql+asyncpg://hoso@127.0.0.1/hoso")
    pool = database.engine.pool
    assert (pool.size(), pool._max_overflow) == (PoolLimits().size, PoolLimits().overflow)  # type: ignore[attr-defined]
    assert PoolLimits().size + PoolLimits().overflow > 15  # SQLAlchemy's own 5 + 10 ran out under the bench


def test_sqlite_keeps_its_own_pool(tmp_path: Path) -> None:
    Database(sqlite_url(tmp_path), pool=PoolLimits(1, 0, 1.0))  # no pool argument reaches SQLite's engine


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with throwaway_postgres() as url:
        yield url


@pytest.mark.postgres
async def test_a_session_waits_for_a_connection_when_the_pool_is_spent(postgres_url: str) -> None:
    database = Database(postgres_url, pool=PoolLimits(size=1, overflow=0, timeout=60.0))
    try:
        async with database.session(write=False) as first:
            await first.execute(text("SELECT 1"))
            assert database.engine.pool.checkedout() == 1  # type: ignore[attr-defined]

            async def second() -> int:
                async with database.session(write=False) as session:
                    return int((await session.execute(text("SELECT 2"))).scalar_one())

            waiting = asyncio.create_task(second())
            for _ in range(20):  # let it run as far as it can: to the pool, where it must wait
                await asyncio.sleep(0)
            assert not waiting.done()
        assert await waiting == 2  # the first gave its connection back: the second got it, no error
    finally:
        await database.dispose()


@pytest.fixture
async def redis_url() -> str:
    if not REDIS_URL:
        pytest.skip("HOSO_TEST_REDIS_URL is unset")
    return REDIS_URL


@pytest.mark.redis
async def test_redis_commands_beyond_the_pool_wait_for_a_connection(redis_url: str) -> None:
    shared = Shared.from_url(redis_url, max_connections=2)  # the subscription takes one for good
    await shared.start()
    try:
        await shared.redis.delete("hoso:test:pool")
        # Far more commands in flight than connections: redis-py's default pool would raise MaxConnectionsError.
        await asyncio.gather(*(shared.redis.incr("hoso:test:pool") for _ in range(40)))
        assert int(await shared.redis.get("hoso:test:pool")) == 40
        assert shared.redis.connection_pool.max_connections == 2
    finally:
        await shared.redis.delete("hoso:test:pool")
        await shared.close()


@pytest.mark.redis
async def test_the_fsm_storage_uses_the_process_s_one_redis_client(redis_url: str, tmp_path: Path,
                                                                  clock: FrozenClock) -> None:
    settings = Settings(_env_file=None, database_url=sqlite_url(tmp_path), redis_url=redis_url,  # type: ignore[call-arg]
                        redis_max_connections=8)
    shared = Shared.from_url(redis_url, settings.redis_max_connections)
    await shared.start()
    storage, isolation = build_fsm(settings, settings.open_database(), clock, shared)
    try:
        assert storage.redis is shared.redis  # type: ignore[attr-defined]
        await storage.close()
        await isolation.close()
        assert await shared.redis.ping()  # closing the storage left the shared client open for the runtime
    finally:
        await shared.close()
