"""Several `hoso run` instances that behave as one, through the Redis they share (HOSO_REDIS_URL).

`Shared` is what one process holds of that coordination: the Redis client and the one subscription that
tells it what the others did (`signals`). It makes the pieces: the send pace of a channel and its flood pause
(`pace`), the per-user turns that keep one user's updates in arrival order (`turns`), and the lease that lets
one planner at a time plan the reminders (`planner`). Without Redis, one instance runs (`presence` refuses
a second) and each piece is the in-process one.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.instances.signals import Signals

PREFIX = "hoso:"  # every key and channel HoSo keeps in Redis for its instances


class RedisUnreachable(Exception):
    """HOSO_REDIS_URL is set and Redis does not answer there."""


class Shared:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.signals = Signals(redis)

    @classmethod
    def from_url(cls, url: str) -> Shared:
        return cls(Redis.from_url(url))

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
