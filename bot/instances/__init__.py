"""Several `hoso run` instances that behave as one, through the Redis they share (HOSO_REDIS_URL).

`shared.Shared` is what one process holds of that coordination: the Redis client and the one subscription that
tells it what the others did (`signals`). It makes the pieces: the send pace of a channel and its flood pause
(`pace`), the per-user turns that keep one user's updates in arrival order (`turns`), and the lease that lets
one planner at a time plan the reminders (`planner`). Without Redis, one instance runs (`presence` refuses
a second) and each piece is the in-process one. This package's own module imports no Redis client: a
process without Redis never loads it.
"""

from __future__ import annotations

PREFIX = "hoso:"  # every key and channel HoSo keeps in Redis for its instances
MAX_CONNECTIONS = 50  # HOSO_REDIS_MAX_CONNECTIONS's default
POOL_TIMEOUT = 30.0  # seconds a command waits for a free connection before it fails as Redis being away


class RedisUnreachable(Exception):
    """HOSO_REDIS_URL is set and Redis does not answer there."""


__all__ = ["PREFIX", "RedisUnreachable"]
