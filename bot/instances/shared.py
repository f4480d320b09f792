"""What one process holds of the instances' coordination: the Redis client and its one subscription."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.instances import RedisUnreachable
from bot.instances.signals import Signals


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
