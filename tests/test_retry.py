"""Bot API retries: a 429 after retry_after, a connection never made; never an ambiguous timeout."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import ClientConnectorError
from aiohttp.client_reqrep import ConnectionKey
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter
from aiogram.methods import SendMessage

from bot.retry import RetryMiddleware

METHOD = SendMessage(chat_id=1, text="x")


def refused() -> TelegramNetworkError:
    key = ConnectionKey("127.0.0.1", 1, False, True, None, None, None)
    error = TelegramNetworkError(method=METHOD, message="ClientConnectorError")
    error.__cause__ = ClientConnectorError(key, ConnectionRefusedError(111, "refused"))
    return error


def timed_out() -> TelegramNetworkError:
    error = TelegramNetworkError(method=METHOD, message="Request timeout error")
    error.__cause__ = asyncio.TimeoutError()
    return error


class Script:
    """A make_request that fails as scripted, then succeeds."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self, bot: Any, method: Any) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def middleware(slept: list[float]) -> RetryMiddleware:
    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    return RetryMiddleware(attempts=3, sleep=sleep)


async def test_429_waits_retry_after_then_succeeds(middleware: RetryMiddleware, slept: list[float]) -> None:
    script = Script(TelegramRetryAfter(method=METHOD, message="Too Many Requests", retry_after=7))
    assert await middleware(script, None, METHOD) == "ok"
    assert script.calls == 2 and slept == [7.0]


async def test_refused_connection_is_retried_with_backoff(middleware: RetryMiddleware, slept: list[float]) -> None:
    script = Script(refused(), refused())
    assert await middleware(script, None, METHOD) == "ok"
    assert script.calls == 3 and slept == [0.5, 1.0]


async def test_a_timeout_is_never_retried(middleware: RetryMiddleware, slept: list[float]) -> None:
    script = Script(timed_out())
    with pytest.raises(TelegramNetworkError):
        await middleware(script, None, METHOD)
    assert script.calls == 1 and slept == []


async def test_gives_up_after_the_last_attempt(middleware: RetryMiddleware) -> None:
    script = Script(refused(), refused(), refused())
    with pytest.raises(TelegramNetworkError):
        await middleware(script, None, METHOD)
    assert script.calls == 3


async def test_a_very_long_retry_after_is_left_to_the_caller(middleware: RetryMiddleware, slept: list[float]) -> None:
    script = Script(TelegramRetryAfter(method=METHOD, message="Too Many Requests", retry_after=3600))
    with pytest.raises(TelegramRetryAfter):
        await middleware(script, None, METHOD)
    assert slept == []
