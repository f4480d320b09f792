"""One instance without Redis: `hoso run` and `hoso web` refuse to start beside another that has none.

Without Redis an instance keeps what only one process may keep (the database conversation state's cache,
the in-process send pace, the planner), so it claims the database's `instance` row (the settings table) and
beats it every `BEAT_EVERY` seconds while it runs. A second one, with or without Redis, finds a fresh beat
and refuses; instances with Redis beat `instance.shared` instead, which a start without Redis refuses beside.
A dead instance is recognised by its stale beat (`STALE_AFTER`), or at once on the same machine when its
process is gone; a clean stop gives the row back. On SQLite too: its file is one machine's, and one
process's when no Redis is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.runtime import Runtime
from services.core.clock import Clock
from storage import UnitOfWork

SOLE = "instance"  # the row of the one instance without Redis
SHARED = "instance.shared"  # the last beat of any instance with Redis
BEAT_EVERY = 10.0  # seconds
STALE_AFTER = dt.timedelta(seconds=45)  # several beats missed: that instance is gone


class InstanceRefused(Exception):
    """Another instance runs on this database and one of the two has no Redis. `shared`: the other has Redis."""

    def __init__(self, host: str, shared: bool) -> None:
        super().__init__(host)
        self.host, self.shared = host, shared


def _alive(beat: dict[str, Any] | None, now: dt.datetime, me: str) -> bool:
    """A beat of another instance that still runs."""
    if not beat or beat.get("stopped") or beat.get("token") == me:
        return False
    if now - dt.datetime.fromisoformat(beat["at"]) >= STALE_AFTER:
        return False
    host, pid = beat.get("host"), beat.get("pid")
    if host == socket.gethostname() and isinstance(pid, int) and pid != os.getpid():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    return True


class Presence:
    """This instance's beat in the database."""

    def __init__(self, uow: UnitOfWork, clock: Clock, shared: bool) -> None:
        self.uow, self.clock, self.shared = uow, clock, shared
        self.key = SHARED if shared else SOLE
        self.token = secrets.token_hex(8)

    def _beat(self, **extra: Any) -> dict[str, Any]:
        return {"token": self.token, "host": socket.gethostname(), "pid": os.getpid(),
                "at": self.clock.now().isoformat(), **extra}

    async def claim(self) -> None:
        """Refuse if an instance without Redis runs, or any instance runs and this one has no Redis."""
        async with self.uow.write() as repos:
            await repos.settings.take_turn(SOLE)  # two starts at once: one after the other
            now = self.clock.now()
            sole = await repos.settings.get(SOLE)
            if _alive(sole, now, self.token):
                raise InstanceRefused(str(sole and sole.get("host")), shared=False)
            other = await repos.settings.get(SHARED)
            if not self.shared and _alive(other, now, self.token):
                raise InstanceRefused(str(other and other.get("host")), shared=True)
            await repos.settings.put(self.key, self._beat(), now)

    async def beat(self) -> None:
        async with self.uow.write() as repos:
            await repos.settings.put(self.key, self._beat(), self.clock.now())

    async def leave(self) -> None:
        if self.shared:
            return  # the others with Redis may still run; their beats keep the row fresh
        async with self.uow.write() as repos:
            await repos.settings.put(self.key, self._beat(stopped=True), self.clock.now())


@asynccontextmanager
async def presence(runtime: Runtime) -> AsyncIterator[None]:
    """Claim this instance's place (or raise InstanceRefused), beat while the body runs, leave after it."""
    me = Presence(runtime.uow, runtime.clock, shared=runtime.shared is not None)
    await me.claim()

    async def beating() -> None:
        while True:
            await asyncio.sleep(BEAT_EVERY)
            with contextlib.suppress(Exception):  # a missed beat is no reason to stop serving
                await me.beat()

    task = asyncio.create_task(beating(), name="hoso-presence")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(Exception):
            await me.leave()
