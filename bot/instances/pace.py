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
a late message then goes out together with the next ones. So the moment of sending is counted too, in Redis
(`_CLAIM`): a message goes only while fewer than the channel's rate are in flight or were answered in the last
second. Telegram counts a message when it receives it, somewhere between its claim and its answer, and no
instance knows when: a message in flight counts whatever its age, an answered one until a second after its
answer (`_DONE`). Then no second of Telegram's holds more than the rate: of the messages it received in one
second, the last claimed saw every other one in flight or answered less than a second before its claim. The
price is throughput: each message holds its place for its round trip and a second, so the channel sustains
about rate / (1 + round trip in seconds), 21 a second at 25 with 200 ms round trips; the rate is a ceiling.

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

from bot.instances.signals import PAUSES, Signals, text_of
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

# KEYS: the channel's answered sends (a sorted set by answer time), its sends in flight (by claim time), a sequence
# for their names, the channel's pause. ARGV: the most sends in a window, its length in ms, how long a send may
# stay in flight (ms; one whose instance died then leaves). The send's name when it may go (it is in flight),
# else "-" and the ms until the pause ends or a send leaves the window.
_CLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local pause = tonumber(redis.call('GET', KEYS[4]) or '0')
if pause > now then return {'-', tostring(pause - now)} end
local window, flight = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - flight)
if redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2]) < tonumber(ARGV[1]) then
  local name = tostring(redis.call('INCR', KEYS[3]))
  redis.call('ZADD', KEYS[2], now, name)
  for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], flight + window) end
  return {name, '0'}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
-- Only an answered send leaving the window frees a place (one answered now leaves in a window): with none
-- answered yet, no sooner than a window from now, unless a send of a dead instance leaves the flight.
local wait = oldest[2] and tonumber(oldest[2]) + window - now or window
local stale = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if stale[2] then wait = math.min(wait, tonumber(stale[2]) + flight - now) end
return {'-', tostring(math.max(1, wait))}
"""

# KEYS: the answered sends, the sends in flight. ARGV: the send's name, the window's length in ms. The send
# leaves the flight and counts from now, its answer's time, for a window.
_DONE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + 1000)
return 1
"""
WINDOW = 1.0  # seconds: Telegram's "messages a second"
# Seconds beyond the Bot session's timeout that a send counts in flight when its instance never logs its answer
# (it died, or Redis did not answer): the place it holds is then lost for that long.
IN_FLIGHT_MARGIN = 5.0

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
        self._done = redis.register_script(_DONE)
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

    async def claim(self, timeout: float = 60.0) -> tuple[str | None, float]:
        """Put this send in flight if the channel has room in its last second and no 429 pauses it: its name;
        else the seconds to wait. `timeout`: the request's, after which the send no longer counts in flight if
        its answer was never logged. Redis away: (None, 0), the schedule alone paces this instance."""
        try:
            name, wait_ms = await self._claim(
                keys=[key(self.channel, "sent"), key(self.channel, "flight"), key(self.channel, "sent:seq"),
                      key(self.channel, "pause")],
                args=[self.per_window, _ms(WINDOW), _ms(timeout + IN_FLIGHT_MARGIN)])
        except (RedisError, OSError):
            return None, 0.0
        name = text_of(name)
        return (None if name == "-" else name), float(wait_ms) / 1000

    async def done(self, name: str) -> None:
        """The send is answered: it counts a second from now."""
        try:
            await self._done(keys=[key(self.channel, "sent"), key(self.channel, "flight")], args=[name, _ms(WINDOW)])
        except (RedisError, OSError):  # it leaves the flight after its timeout
            logger.warning("could not log an answered send of the %s channel", self.channel)

    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                       method: TelegramMethod[Any]) -> Response[Any]:
        if method.__api_method__ not in PACED_METHODS:
            return await make_request(bot, method)
        wait = await self.slot()
        if wait > 0:
            await self.sleep(wait)
        timeout = float(getattr(bot.session, "timeout", None) or 60.0)
        while True:
            name, wait = await self.claim(timeout)
            if wait <= 0:
                break
            await self.sleep(wait)
        try:
            return await make_request(bot, method)
        finally:
            if name is not None:
                await self.done(name)


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
