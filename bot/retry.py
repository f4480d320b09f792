"""Retrying Bot API calls, only where a retry cannot send something twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientConnectorError
from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter
from aiogram.methods import Response, TelegramMethod

logger = logging.getLogger(__name__)


def never_reached_api(error: TelegramNetworkError) -> bool:
    """True when the connection was never made (refused, DNS, TLS handshake): the request cannot have
    been applied. A timeout or a dropped connection is ambiguous and is never retried."""
    return isinstance(error.__cause__, ClientConnectorError)


class RetryMiddleware(BaseRequestMiddleware):
    """Retry a 429 after the `retry_after` Telegram asks for, and a connection that never reached it."""

    def __init__(
        self,
        attempts: int = 4,
        max_retry_after: float = 60.0,
        backoff: float = 0.5,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.attempts, self.max_retry_after, self.backoff, self.sleep = attempts, max_retry_after, backoff, sleep

    async def __call__(
        self, make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Response[Any]:
        attempt = 1
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
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
            await self.sleep(delay)
            attempt += 1
