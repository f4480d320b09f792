"""One planner at a time: the reminder planning pass runs in the instance that holds the planner's lease.

`hoso:planner` is taken with SET NX PX (a token of this pass as its value), renewed while the pass runs, and
once the pass is done it is kept until the next pass is due (`PLAN_EVERY` after this one began), so that
no other instance plans the same quarter of an hour again. A pass that fails gives the lease back at once;
an instance that died mid-pass loses it when it runs out (`PLANNER_LEASE`), and another plans.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)

PLANNER_KEY = "hoso:planner"
PLANNER_LEASE = 60.0  # seconds; renewed every third of it while a pass runs

# KEYS: the lease. ARGV: token, ms. Only the holder may extend or drop it.
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_DROP = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class PlannerLease:
    def __init__(self, redis: Redis, every: float, lease: float = PLANNER_LEASE) -> None:
        self.redis, self.every_ms, self.lease_ms = redis, round(every * 1000), round(lease * 1000)
        self._extend, self._drop = redis.register_script(_EXTEND), redis.register_script(_DROP)

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[bool]:
        """True inside when this instance is the one to plan now; False when another plans or planned."""
        from redis.exceptions import RedisError  # only where Redis is set: this module is imported without it

        token = secrets.token_hex(8)
        try:
            taken = await self.redis.set(PLANNER_KEY, token, nx=True, px=self.lease_ms)
        except (RedisError, OSError):  # Redis away: no planning this pass, but the sending goes on
            logger.warning("Redis did not answer: the reminder planning waits for it")
            taken = False
        if not taken:
            yield False
            return
        renewal = asyncio.create_task(self._keep(token))
        try:
            yield True
        except BaseException:
            await asyncio.shield(self._drop(keys=[PLANNER_KEY], args=[token]))
            raise
        finally:
            renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewal
        # Done: nobody plans again before the next pass is due (from when this one began, roughly).
        with contextlib.suppress(RedisError, OSError):  # away now: the lease runs out, and another may plan sooner
            await self._extend(keys=[PLANNER_KEY], args=[token, self.every_ms])

    async def _keep(self, token: str) -> None:
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            if not await self._extend(keys=[PLANNER_KEY], args=[token, self.lease_ms]):
                logger.warning("the planner's lease ran out during a pass")
                return


class AlwaysPlan:
    """One instance (no Redis): it is always the planner."""

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[bool]:
        yield True
