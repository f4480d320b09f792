"""A channel's send pace and flood pause, shared by every instance through Redis.

Each instance's sender asks Redis, in one script, whether a message to a chat may start now: the channel's
global spacing (1/rate, the same virtual schedule as the in-process `Pacer`, a late start catching up by at
most `CATCH_UP`), the chat's own spacing, and the pause a 429 set. If it may, the script books it; else it
answers how long to wait. The time is Redis's own (TIME), so the instances' clocks play no part.

A 429 any instance receives sets the channel's pause in Redis (`hoso:pace:<channel>:pause`, the later of the
two ends wins) and tells the other instances at once (`signals.PAUSES`), whose Bot's FloodGate then holds back
every request too, not only the outbox's.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Hashable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.instances.signals import PAUSES, Signals
from bot.retry import FloodGate, RetryMiddleware
from bot.sender import CATCH_UP, Pacer

logger = logging.getLogger(__name__)

KEY = "hoso:pace:{channel}:{part}"

# KEYS: the channel's next global start, the chat's next start, the channel's pause.
# ARGV: spacing ms, per-chat spacing ms, catch-up ms. Returns "0" when booked, else the ms to wait.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local pause = tonumber(redis.call('GET', KEYS[3]) or '0')
local nextg = tonumber(redis.call('GET', KEYS[1]) or '0')
local nextc = tonumber(redis.call('GET', KEYS[2]) or '0')
local ready = math.max(pause, nextg, nextc)
if ready > now then return tostring(ready - now) end
local spacing, perchat, catchup = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local base = nextg
if base == 0 then base = now end
base = math.max(base, now - catchup) + spacing
redis.call('SET', KEYS[1], tostring(base), 'PX', math.ceil(base - now) + 60000)
if perchat > 0 then redis.call('SET', KEYS[2], tostring(now + perchat), 'PX', math.ceil(perchat) + 1) end
return '0'
"""

# KEYS: the channel's pause. ARGV: its length in ms. The later end wins.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local until_ = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current >= until_ then return '0' end
redis.call('SET', KEYS[1], tostring(until_), 'PX', math.ceil(tonumber(ARGV[1])) + 1)
return '1'
"""


def key(channel: str, part: str) -> str:
    return KEY.format(channel=channel, part=part)


class SharedFloodGate(FloodGate):
    """The Bot's FloodGate, told of every instance's 429 on its channel and telling them of its own."""

    def __init__(self, redis: Redis, signals: Signals, channel: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock)
        self.redis, self.channel = redis, channel
        self._pause = redis.register_script(_PAUSE)
        signals.on(PAUSES, self._heard)

    def _heard(self, message: str) -> None:
        channel, _sep, seconds = message.partition(" ")
        if channel == self.channel:
            self.pause(float(seconds))

    async def share(self, seconds: float) -> None:
        try:
            await self._pause(keys=[key(self.channel, "pause")], args=[round(seconds * 1000)])
            await self.redis.publish(PAUSES, f"{self.channel} {seconds}")
        except (RedisError, OSError):  # this instance is paused anyway; the others meet Telegram's own 429
            logger.warning("could not share a flood pause of the %s channel", self.channel)


class SharedPacer(Pacer):
    """The in-process Pacer's choice of the next chat, and Redis's word on whether it may start now."""

    def __init__(self, redis: Redis, channel: str, rate: float, per_chat: float, gate: FloodGate | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(rate, per_chat, clock=clock, gate=gate)
        self.channel = channel
        self.alone = False  # Redis did not answer the last booking
        self._take = redis.register_script(_TAKE)

    async def try_take(self, chat_id: Hashable) -> float:
        local = self.ready_at(chat_id) - self.clock()  # this instance's own knowledge first: no round trip
        if local > 0:
            return local
        try:
            wait_ms = float(await self._take(
                keys=[key(self.channel, "next"), key(self.channel, f"chat:{chat_id}"), key(self.channel, "pause")],
                args=[_ms(self.spacing), _ms(self.per_chat), _ms(CATCH_UP)],
            ))
        except (RedisError, OSError):  # Redis away: this instance's own pace, rather than rows held claimed
            if not self.alone:
                logger.warning("Redis did not answer: the %s channel is paced by this instance alone", self.channel)
            self.alone = True
            return await super().try_take(chat_id)
        self.alone = False
        if wait_ms > 0:
            return max(wait_ms / 1000, 0.001)
        self.take(chat_id)
        return 0.0


def _ms(seconds: float) -> str:
    return repr(seconds * 1000) if math.isfinite(seconds) else "0"


def share_pace(redis: Redis, signals: Signals, bot: object, channel: str, rate: float,
               per_chat: float) -> SharedPacer:
    """The shared pacer of the channel the bot serves, its Bot's FloodGate made the shared one."""
    gate = SharedFloodGate(redis, signals, channel)
    for middleware in getattr(getattr(bot, "session", None), "middleware", ()):
        if isinstance(middleware, RetryMiddleware):
            gate.until = middleware.gate.until
            middleware.gate = gate
    return SharedPacer(redis, channel, rate, per_chat, gate=gate)
