"""Several `hoso run` instances that behave as one, through the Redis they share (HOSO_REDIS_URL).

`Shared` is what one process holds of that coordination: the Redis client and the one subscription that
tells it what the others did (`signals`). It makes the pieces: the send pace of a channel and its flood pause
(`pace`), the per-user turns that keep one user's updates in arrival order (`turns`), and the lease that lets
one planner at a time plan the reminders (`planner`). Without Redis, one instance runs (`presence` refuses
a second) and each piece is the in-process one.
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from bot.instances.signals import Signals

PREFIX = "hoso:"  # every key and channel HoSo keeps in Redis for its instances
MAX_CONNECTIONS = 50  # HOSO_REDIS_MAX_CONNECTIONS's default
POOL_TIMEOUT = 30.0  # seconds a command waits for a free connection before it fails as Redis being away


class RedisUnreachable(Exception):
    """HOSO_REDIS_URL is set and Redis does not answer there."""


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


__all__ = ["PREFIX", "RedisUnreachable", "Shared"]
