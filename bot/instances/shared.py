"""What one process holds of the instances' coordination: the Redis client and its one subscription."""

from __future__ import annotations

from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from bot.instances import MAX_CONNECTIONS, POOL_TIMEOUT, RedisUnreachable
from bot.instances.signals import Signals


class Shared:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.signals = Signals(redis)

    @classmethod
    def from_url(cls, url: str, max_connections: int = MAX_CONNECTIONS) -> Shared:
        """The process's one Redis client (the FSM storage uses it too). Its pool blocks: a command beyond
        `max_connections` in flight waits up to `POOL_TIMEOUT` for a connection to come free, where redis-py's
        default pool raises MaxConnectionsError at once. The subscription holds one connection for good."""
        pool = BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=POOL_TIMEOUT)
        return cls(Redis(connection_pool=pool))

    async def start(self) -> None:
        """Subscribe to what the other instances tell; RedisUnreachable if Redis does not answer."""
        try:
            await self.signals.start()
        except (RedisError, OSError) as exc:
            await self.redis.aclose()
            raise RedisUnreachable from exc

    async def close(self) -> None:
        await self.signals.close()
        await self.redis.aclose()


class SharedRedisStorage(RedisStorage):
    """The conversation state on the process's one Redis client and pool (`Shared`), which the runtime
    closes after everything that uses it: closing the storage leaves it be."""

    async def close(self) -> None:
        return None
