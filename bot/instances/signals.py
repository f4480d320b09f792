"""One Redis subscription per process, for what the other instances tell it: a turn handed over, a flood
pause. Every message of a channel goes to the callbacks registered for it; the subscription is confirmed
before `start` returns, so that nothing published after it is missed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the runner imports this module (through turns) without Redis set
    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub


logger = logging.getLogger(__name__)

TURNS = "hoso:turns"  # "<key> <ticket now served>"
PAUSES = "hoso:pauses"  # "<channel> <seconds>"
CHANNELS = (TURNS, PAUSES)


class Signals:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.callbacks: dict[str, list[Callable[[str], None]]] = defaultdict(list)
        self._pubsub: PubSub | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = asyncio.Lock()

    def on(self, channel: str, callback: Callable[[str], None]) -> None:
        self.callbacks[channel].append(callback)

    async def start(self) -> None:
        async with self._started:
            if self._task is not None:
                return
            pubsub = self.redis.pubsub()
            await pubsub.subscribe(*CHANNELS)
            confirmed = 0
            while confirmed < len(CHANNELS):  # the server answers each subscription in order
                message = await pubsub.get_message(timeout=10.0)
                if message is None:
                    raise ConnectionError("Redis did not confirm the subscription")
                confirmed += message["type"] == "subscribe"
            self._pubsub = pubsub
            self._task = asyncio.create_task(self._read(pubsub), name="hoso-signals")

    async def _read(self, pubsub: PubSub) -> None:
        while True:
            try:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
            except asyncio.CancelledError:
                raise
            except Exception:  # a dropped connection: redis-py reconnects and subscribes again
                logger.warning("Redis subscription interrupted; resuming")
                await asyncio.sleep(0.5)
                continue
            if message is None or message["type"] != "message":
                continue
            channel, data = text_of(message["channel"]), text_of(message["data"])
            for callback in self.callbacks.get(channel, ()):
                callback(data)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._pubsub is not None:
            await self._pubsub.aclose()
            self._pubsub = None


def text_of(value: bytes | str) -> str:
    """A Redis reply as text, whether the client decodes replies or not."""
    return value.decode() if isinstance(value, bytes) else value
