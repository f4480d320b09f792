"""One user's updates handled one at a time and in the order they arrived, across every instance.

A ticket per update, as at a counter: arriving, an update takes the next number of its user
(`hoso:turn:<key>` `next`, HINCRBY); it is handled when the user's "now serving" number (`serving`) reaches its
ticket; done, it moves that number on and publishes it (`signals.TURNS`), which wakes the waiters of every
instance at once. Within one process the tickets of a user are taken in arrival order too (a FIFO lock
around the HINCRBY), so that two requests racing to Redis on two connections cannot swap.

The one being served holds a lease (`hoso:turn:<key>:holder`, its ticket, `TURN_LEASE` long, renewed while it
works). The lease is given with the turn, so a holder that died, before or after it saw its turn, is
recognised by its lease running out: a waiter then skips that ticket, and only that one, atomically.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from aiogram.fsm.storage.base import BaseEventIsolation, DefaultKeyBuilder, KeyBuilder, StorageKey

from bot.instances.signals import TURNS

if TYPE_CHECKING:
    from bot.instances.shared import Shared

logger = logging.getLogger(__name__)

TURN_LEASE = 30.0  # seconds a holder keeps its turn without renewing it; a waiter then skips it
IDLE_TTL = 86_400_000  # ms a user's counters live unused

# KEYS: the user's counters, the holder's lease. ARGV: lease ms, ttl ms. Returns {ticket, now serving}.
_TAKE = """
local t = redis.call('HINCRBY', KEYS[1], 'next', 1)
local s = tonumber(redis.call('HGET', KEYS[1], 'serving') or '0')
if s == 0 then s = t; redis.call('HSET', KEYS[1], 'serving', t) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if s == t then redis.call('SET', KEYS[2], t, 'PX', ARGV[1]) end
return {t, s}
"""

# KEYS: counters, lease. ARGV: ticket, lease ms, ttl ms, the key's name for the signal.
# 1: this ticket's turn (its lease renewed); 0: not yet. A served ticket whose lease ran out is skipped.
_TURN = """
local t = tonumber(ARGV[1])
local s = tonumber(redis.call('HGET', KEYS[1], 'serving') or '0')
if s == 0 then
  redis.call('HSET', KEYS[1], 'serving', t)
  if tonumber(redis.call('HGET', KEYS[1], 'next') or '0') < t then redis.call('HSET', KEYS[1], 'next', t) end
  s = t
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if s >= t then
  if s == t then redis.call('SET', KEYS[2], t, 'PX', ARGV[2]) end
  return 1
end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
s = s + 1
redis.call('HSET', KEYS[1], 'serving', s)
redis.call('SET', KEYS[2], s, 'PX', ARGV[2])
redis.call('PUBLISH', KEYS[3], ARGV[4] .. ' ' .. s)
if s == t then return 1 end
return 0
"""

# KEYS: counters, lease, signal channel. ARGV: ticket, lease ms, the key's name. Hands the turn on.
_DONE = """
local t = tonumber(ARGV[1])
local s = tonumber(redis.call('HGET', KEYS[1], 'serving') or '0')
if s ~= t then return 0 end
s = t + 1
redis.call('HSET', KEYS[1], 'serving', s)
if tonumber(redis.call('HGET', KEYS[1], 'next') or '0') >= s then
  redis.call('SET', KEYS[2], s, 'PX', ARGV[2])
else
  redis.call('DEL', KEYS[2])
end
redis.call('PUBLISH', KEYS[3], ARGV[3] .. ' ' .. s)
return 1
"""

# KEYS: lease. ARGV: ticket, lease ms.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


# The ticket an update took as it was received (webhook), for its handling: (the key's name, ticket).
ARRIVED: ContextVar[tuple[str, int] | None] = ContextVar("hoso_turn_arrived", default=None)


class _Arrivals:
    """The updates of one user taking their tickets in this process, one after the other."""

    def __init__(self) -> None:
        self.lock, self.count = asyncio.Lock(), 0


class TurnIsolation(BaseEventIsolation):
    """aiogram's event isolation with tickets in Redis instead of a polled lock (see the module)."""

    def __init__(self, shared: Shared, key_builder: KeyBuilder | None = None, lease: float = TURN_LEASE) -> None:
        self.shared, self.redis = shared, shared.redis
        self.key_builder = key_builder or DefaultKeyBuilder(with_bot_id=True, with_destiny=True)
        self.lease_ms = round(lease * 1000)
        self.recheck = lease / 3  # a missed signal costs at most this; a dead holder is skipped after the lease
        self._take, self._turn = self.redis.register_script(_TAKE), self.redis.register_script(_TURN)
        self._done, self._renew = self.redis.register_script(_DONE), self.redis.register_script(_RENEW)
        self._arrivals: dict[str, _Arrivals] = {}
        self._waiting: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        shared.signals.on(TURNS, self._heard)

    def _keys(self, name: str) -> list[str]:
        return [f"hoso:turn:{name}", f"hoso:turn:{name}:holder", TURNS]

    def _heard(self, message: str) -> None:
        name, _sep, _serving = message.rpartition(" ")
        for event in self._waiting.get(name, ()):
            event.set()

    async def arrive(self, key: StorageKey) -> None:
        """Take this update's ticket now, as it is received, for the `lock` its handling asks for later (in a
        task started from this context, which copies it). The webhook answers Telegram only after this: the
        next update of the user, which may reach another instance, then takes a later ticket."""
        name = self.key_builder.build(key, "lock")
        ARRIVED.set((name, await self.take(name)))

    async def settle_arrival(self) -> None:
        """An update handled without asking for its turn (no FSM context after all): its ticket still waits its
        turn and hands it on, or the user's next update would wait for the lease to run out."""
        arrived = ARRIVED.get()
        if arrived is not None:
            ARRIVED.set(None)
            name, ticket = arrived
            await self._serve(name, ticket)

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        name = self.key_builder.build(key, "lock")
        arrived = ARRIVED.get()
        if arrived is not None and arrived[0] == name:
            ARRIVED.set(None)
            ticket = arrived[1]
        else:
            ticket = await self.take(name)
        async with self._serving(name, ticket):
            yield

    async def _serve(self, name: str, ticket: int) -> None:
        async with self._serving(name, ticket):
            pass

    @asynccontextmanager
    async def _serving(self, name: str, ticket: int) -> AsyncIterator[None]:
        try:
            await self._wait(name, ticket)
        except asyncio.CancelledError:  # given up (a stop): if the turn came meanwhile, it is handed on at once
            await asyncio.shield(self._done(keys=self._keys(name), args=[ticket, self.lease_ms, name]))
            raise
        renewal = asyncio.create_task(self._keep(name, ticket))
        try:
            yield
        finally:
            renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewal
            await asyncio.shield(self._done(keys=self._keys(name), args=[ticket, self.lease_ms, name]))

    async def take(self, name: str) -> int:
        """This update's ticket, after those of the updates of the same user that arrived before it here."""
        arrival = self._arrivals.setdefault(name, _Arrivals())
        arrival.count += 1
        try:
            async with arrival.lock:
                ticket, _serving = await self._take(keys=self._keys(name)[:2], args=[self.lease_ms, IDLE_TTL])
        finally:
            arrival.count -= 1
            if not arrival.count:
                del self._arrivals[name]
        return int(ticket)

    async def _wait(self, name: str, ticket: int) -> None:
        woken = asyncio.Event()
        self._waiting[name].add(woken)
        try:
            while True:
                woken.clear()
                if await self._turn(keys=self._keys(name), args=[ticket, self.lease_ms, IDLE_TTL, name]):
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), timeout=self.recheck)
        finally:
            self._waiting[name].discard(woken)
            if not self._waiting[name]:
                del self._waiting[name]

    async def _keep(self, name: str, ticket: int) -> None:
        while True:
            await asyncio.sleep(self.recheck)
            if not await self._renew(keys=self._keys(name)[1:2], args=[ticket, self.lease_ms]):
                logger.warning("an update outlived its turn's lease; the next one of its user may have started")
                return

    async def close(self) -> None:
        """The Redis client belongs to the runtime, which closes it."""
