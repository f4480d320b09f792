"""A channel's send pace and flood pause, shared by every instance through Redis.

Telegram's limit (about 30 messages a second) counts every message of the bot: the replies to updates as much
as the outbox's reminders. So the global pace is kept at the last moment, for every message-sending request of
the Bot, by a request middleware (`SharedSends`): it books the channel's next slot in Redis (one script; the
time is Redis's own, TIME, so the instances' clocks play no part) and sleeps until it. Booked just before the
request, never before a commit, a slot cannot bunch with others booked apart (a slow commit of the outbox's
"sending" row once did: 35 in a second at 25 configured).

The outbox's sender asks, before it marks a row "sending", only what the message to that chat must wait for:
the chat's own spacing, the pause a 429 set, and the channel's schedule when it is booked too far ahead
(`AHEAD`, replies queued there), so that its rows do not wait "sending" in the middleware (`SharedPacer`).

The schedule spaces the slots; it cannot make an instance that the machine's load keeps busy send on time, and
a late message then goes out together with the next ones. So the moment of sending is counted too: a message
goes only while the channel has sent fewer than its rate in the last second (`_CLAIM`, a log of the sends in
Redis), and that second is what Telegram counts.

A 429 any instance receives sets the channel's pause in Redis (`hoso:pace:<channel>:pause`, the later of the
two ends wins) and tells the other instances at once (`signals.PAUSES`), whose Bot's FloodGate then holds back
every request too, not only the outbox's.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import Response, TelegramMethod
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.instances.signals import PAUSES, Signals
from bot.retry import FloodGate, RetryMiddleware
from bot.sender import Pacer

logger = logging.getLogger(__name__)

KEY = "hoso:pace:{channel}:{part}"
# The requests that are messages in Telegram's count (a chat action, a callback's answer are not).
PACED_METHODS = frozenset({"sendMessage", "editMessageText", "editMessageCaption", "editMessageMedia",
                           "sendDocument", "sendPhoto", "sendMediaGroup", "copyMessage", "forwardMessage",
                           "sendVideo", "sendAudio", "sendVoice", "sendLocation", "sendContact"})
AHEAD = 0.5  # seconds the channel's schedule may be booked ahead before the outbox waits to mark a row sending

# KEYS: the channel's next free slot, the chat's next start, the channel's pause.
# ARGV: how far ahead the channel's schedule may be booked (ms), per-chat spacing ms. "0" when the message may go
# (the chat's next start booked), else the ms to wait.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local pause = tonumber(redis.call('GET', KEYS[3]) or '0')
local nextg = tonumber(redis.call('GET', KEYS[1]) or '0') - tonumber(ARGV[1])
local nextc = tonumber(redis.call('GET', KEYS[2]) or '0')
local ready = math.max(pause, nextg, nextc)
if ready > now then return tostring(ready - now) end
local perchat = tonumber(ARGV[2])
if perchat > 0 then redis.call('SET', KEYS[2], tostring(now + perchat), 'PX', math.ceil(perchat) + 1) end
return '0'
"""

# KEYS: the channel's next free slot, its pause. ARGV: spacing ms. Books the next slot, never before now nor in
# the pause, and returns the ms until it.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local pause = tonumber(redis.call('GET', KEYS[2]) or '0')
local slot = math.max(now, pause, tonumber(redis.call('GET', KEYS[1]) or '0'))
local after = slot + tonumber(ARGV[1])
redis.call('SET', KEYS[1], tostring(after), 'PX', math.ceil(after - now) + 60000)
return tostring(slot - now)
"""

# KEYS: the channel's sends of the last window (a sorted set by time), a sequence for their names, the channel's
# pause. ARGV: the most sends in a window, its length in ms. "0" when this send may go (it is logged), else the
# ms until the pause ends or the oldest send of the window leaves it.
_CLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local pause = tonumber(redis.call('GET', KEYS[3]) or '0')
if pause > now then return tostring(pause - now) end
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, tostring(redis.call('INCR', KEYS[2])))
  redis.call('PEXPIRE', KEYS[1], window + 1000)
  redis.call('PEXPIRE', KEYS[2], window + 1000)
  return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tostring(math.max(1, tonumber(oldest[2]) + window - now))
"""
WINDOW = 1.0  # seconds: Telegram's "messages a second"

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


class SharedSends(BaseRequestMiddleware):
    """Every message-sending request of the Bot waits for its slot of the channel's global pace, booked in
    Redis by every instance together (see the module). Registered inside the retry middleware: a retry books
    a slot of its own. Redis away, this instance keeps the pace alone."""

    def __init__(self, redis: Redis, channel: str, rate: float,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.channel, self.spacing, self.sleep, self.clock = channel, 1.0 / rate, sleep, clock
        self.per_window = max(1, math.ceil(rate * WINDOW))  # 2,5 a second: no second holds more than 3
        self._reserve = redis.register_script(_RESERVE)
        self._claim = redis.register_script(_CLAIM)
        self._next_alone = 0.0  # this instance's own schedule, while Redis does not answer

    async def slot(self) -> float:
        """Book the next slot; the seconds until it."""
        try:
            wait_ms = await self._reserve(keys=[key(self.channel, "next"), key(self.channel, "pause")],
                                          args=[_ms(self.spacing)])
            return max(0.0, float(wait_ms) / 1000)
        except (RedisError, OSError):
            now = self.clock()
            slot = max(now, self._next_alone)
            self._next_alone = slot + self.spacing
            return slot - now

    async def claim(self) -> float:
        """Log this send in the channel's last second if it has room and no 429 pauses the channel; else the
        seconds until then. Redis away: 0 (the schedule alone paces this instance)."""
        try:
            wait_ms = await self._claim(keys=[key(self.channel, "sent"), key(self.channel, "sent:seq"),
                                              key(self.channel, "pause")],
                                        args=[self.per_window, _ms(WINDOW)])
        except (RedisError, OSError):
            return 0.0
        return float(wait_ms) / 1000

    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                       method: TelegramMethod[Any]) -> Response[Any]:
        if method.__api_method__ in PACED_METHODS:
            wait = await self.slot()
            if wait > 0:
                await self.sleep(wait)
            while (wait := await self.claim()) > 0:
                await self.sleep(wait)
        return await make_request(bot, method)


class SharedPacer(Pacer):
    """The in-process Pacer's choice of the next chat, and Redis's word on whether its message may start now
    (the global slot is booked by `SharedSends`, just before the request)."""

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
                args=[_ms(AHEAD), _ms(self.per_chat)],
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
    """The shared pacer of the channel the bot serves, its Bot's FloodGate made the shared one, and every
    message the Bot sends (replies too) paced by the channel's shared schedule."""
    gate = SharedFloodGate(redis, signals, channel)
    middlewares = getattr(getattr(bot, "session", None), "middleware", None)
    for middleware in middlewares or ():
        if isinstance(middleware, RetryMiddleware):
            gate.until = middleware.gate.until
            middleware.gate = gate
    if middlewares is not None and not any(isinstance(one, SharedSends) for one in middlewares):
        middlewares(SharedSends(redis, channel, rate))  # the innermost: right before the request
    return SharedPacer(redis, channel, rate, per_chat, gate=gate)
