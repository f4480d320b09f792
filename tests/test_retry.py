"""Bot API retries: a 429 after retry_after, a connection never made; never an ambiguous timeout. After a
429, every request of the bot waits (the flood gate)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter
from aiogram.methods import GetUpdates, SendMessage
from aiohttp import ClientConnectorError
from aiohttp.client_reqrep import ConnectionKey

from bot.retry import FloodGate, RetryMiddleware

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


class Clock:
    """A clock that the fake sleep moves on: time passes only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_a_429_given_up_still_pauses_every_other_request() -> None:
    """Telegram's flood control is global to the bot: another chat's request waits out the 429 too."""
    clock = Clock()
    middleware = RetryMiddleware(sleep=clock.sleep, gate=FloodGate(clock))
    script = Script(TelegramRetryAfter(method=METHOD, message="Too Many Requests", retry_after=30))
    with pytest.raises(TelegramRetryAfter):  # no retries left: the caller reschedules
        await RetryMiddleware(attempts=1, sleep=clock.sleep, gate=middleware.gate)(script, None, METHOD)
    other = Script()
    assert await middleware(other, None, SendMessage(chat_id=2, text="y")) == "ok"
    assert clock.slept == [30.0] and other.calls == 1


async def test_a_retry_waits_for_a_later_429_of_another_request() -> None:
    clock = Clock()
    gate = FloodGate(clock)

    async def sleep(seconds: float) -> None:
        if not clock.slept:
            gate.pause(10)  # another chat's 429 arrives while this request waits out its own
        await clock.sleep(seconds)

    script = Script(TelegramRetryAfter(method=METHOD, message="Too Many Requests", retry_after=7))
    assert await RetryMiddleware(sleep=sleep, gate=gate)(script, None, METHOD) == "ok"
    assert clock.slept == [7.0, 3.0] and script.calls == 2


async def test_a_pause_too_long_to_wait_is_left_to_the_caller_unsent() -> None:
    clock = Clock()
    gate = FloodGate(clock)
    gate.pause(3600)
    middleware = RetryMiddleware(sleep=clock.sleep, gate=gate)
    script = Script()
    with pytest.raises(TelegramRetryAfter) as raised:
        await middleware(script, None, METHOD)
    assert script.calls == 0 and raised.value.retry_after == 3600 and clock.slept == []


async def test_polling_is_not_held_back() -> None:
    clock = Clock()
    gate = FloodGate(clock)
    gate.pause(7)
    script = Script()
    assert await RetryMiddleware(sleep=clock.sleep, gate=gate)(script, None, GetUpdates(timeout=30)) == "ok"
    assert script.calls == 1 and clock.slept == []
