"""Retrying Bot API calls, only where a retry cannot send something twice; and Telegram's flood pause."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter
from aiogram.methods import Response, TelegramMethod
from aiohttp import ClientConnectorError

logger = logging.getLogger(__name__)

# Not held back by a pause: receiving sends nothing (a held long poll would only make the bot deaf), a
# message that carried a password or a code must go at once, and a press's answer is no message.
UNGATED = frozenset({"getUpdates", "deleteMessage", "answerCallbackQuery"})


def never_reached_api(error: TelegramNetworkError) -> bool:
    """True when the connection was never made (refused, DNS, TLS handshake): the request cannot have
    been applied. A timeout or a dropped connection is ambiguous and is never retried."""
    return isinstance(error.__cause__, ClientConnectorError)


class FloodGate:
    """Until when no request of the bot may start. Telegram's flood control is global to the bot: after a
    429, nothing is to be sent before `retry_after`, to any chat. A 429 is seen by one request only, so
    every request must consult one shared deadline rather than each retrying on its own: the
    RetryMiddleware waits on it before every attempt and moves it on every 429, and the outbox sender's
    Pacer reads it so as not to start new messages meanwhile."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.until = 0.0

    def pause(self, seconds: float) -> None:
        self.until = max(self.until, self.clock() + seconds)

    async def share(self, seconds: float) -> None:
        """Tell the other instances of a pause (bot/instances/pace.py); one process has none to tell."""

    def remaining(self, now: float | None = None) -> float:
        return max(0.0, self.until - (self.clock() if now is None else now))


class RetryMiddleware(BaseRequestMiddleware):
    """Retry a 429 after the `retry_after` Telegram asks for, and a connection that never reached it.
    Every request first waits out the bot's FloodGate, which every 429 moves on (see FloodGate)."""

    def __init__(
        self,
        attempts: int = 4,
        max_retry_after: float = 60.0,
        backoff: float = 0.5,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        gate: FloodGate | None = None,
    ) -> None:
        self.attempts, self.max_retry_after, self.backoff, self.sleep = attempts, max_retry_after, backoff, sleep
        self.gate = gate if gate is not None else FloodGate()

    async def __call__(
        self, make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Response[Any]:
        attempt = 1
        slept_until = 0.0  # how far this call's own sleeps have brought it (a test's sleep takes no time)
        while True:
            if method.__api_method__ not in UNGATED:
                slept_until = await self._wait_gate(method, slept_until)
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                self.gate.pause(float(exc.retry_after))  # before anything else runs: holds back every request
                await self.gate.share(float(exc.retry_after))  # and every other instance's
                # A longer wait than this is better left to the caller (the outbox reschedules).
                if attempt >= self.attempts or exc.retry_after > self.max_retry_after:
                    raise
                delay = float(exc.retry_after)
                reason = "429"
            except TelegramNetworkError as exc:
                if attempt >= self.attempts or not never_reached_api(exc):
                    raise
                delay = self.backoff * 2 ** (attempt - 1)
                reason = "connection failed"
            logger.warning(
                "%s: %s, retry %d/%d in %.1fs",
                method.__api_method__, reason, attempt, self.attempts - 1, delay,
            )
            slept_until = await self._sleep(delay)
            attempt += 1

    async def _wait_gate(self, method: TelegramMethod[Any], slept_until: float) -> float:
        """Wait until the gate is open, again if another 429 moved it on meanwhile. A pause longer than
        `max_retry_after` is left to the caller, as a 429 would be, without sending anything."""
        while (remaining := self.gate.remaining(max(self.gate.clock(), slept_until))) > 0:
            if remaining > self.max_retry_after:
                raise TelegramRetryAfter(method=method, message="Too Many Requests: held back by an earlier 429",
                                         retry_after=math.ceil(remaining))
            slept_until = await self._sleep(remaining)
        return slept_until

    async def _sleep(self, seconds: float) -> float:
        """Sleep; the time it was meant to end."""
        started = self.gate.clock()
        await self.sleep(seconds)
        return started + seconds


def flood_gate(bot: Any) -> FloodGate | None:
    """The FloodGate of the RetryMiddleware on the bot's session, if it has one."""
    for middleware in getattr(getattr(bot, "session", None), "middleware", ()):
        if isinstance(middleware, RetryMiddleware):
            return middleware.gate
    return None
