"""Sign-in freshness: after the profile's idle time, the next sensitive action asks for the password."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from services.core.actor import Actor
from services.core.clock import Clock
from services.core.errors import PermissionDenied, ServiceError
from services.core.i18n import N_
from services.core.policy import Action, allows
from services.regime.setup import PROFILE_KEY
from storage import Repositories, UnitOfWork

DEFAULT_IDLE_MINUTES = 30


class SessionExpired(ServiceError):
    """The actor must confirm their password; the front end asks and then resumes."""

    def __init__(self) -> None:
        super().__init__(N_("For your security, please send your password again to continue."))


# The idle limit is read on every sensitive action; it changes only with `hoso init --profile`, so it is
# kept for a minute per process rather than read each time.
_IDLE_CACHE: dict[str, tuple[float, dt.timedelta]] = {}
IDLE_CACHE_SECONDS = 60.0


async def idle_limit(repos: Repositories) -> dt.timedelta:
    key = str(getattr(repos.session.bind, "url", ""))  # one cache per database
    cached = _IDLE_CACHE.get(key)
    if cached is not None and time.monotonic() - cached[0] < IDLE_CACHE_SECONDS:
        return cached[1]
    profile = await repos.settings.get(PROFILE_KEY)
    minutes = profile.get("session_idle_minutes", DEFAULT_IDLE_MINUTES) if profile else DEFAULT_IDLE_MINUTES
    limit = dt.timedelta(minutes=minutes)
    _IDLE_CACHE[key] = (time.monotonic(), limit)
    return limit


async def touch_session(repos: Repositories, actor: Actor, clock: Clock) -> None:
    """Refuse a stale session; otherwise extend it. The CLI operator (no account) has no session."""
    if actor.account_id is None:
        return
    if not await repos.accounts.extend_session(actor.account_id, clock.now(), await idle_limit(repos)):
        raise SessionExpired()


@asynccontextmanager
async def sensitive(uow: UnitOfWork, actor: Actor, clock: Clock, action: Action) -> AsyncIterator[Repositories]:
    """One write transaction for a sensitive use case: the role may do `action`, the session is fresh.
    The unit check, which needs the target, stays with the service (`policy.ensure`)."""
    if not allows(actor, action):
        raise PermissionDenied()
    async with uow.write() as repos:
        await touch_session(repos, actor, clock)
        yield repos
