"""Sessions of the web chat, held on the server (storage: `web_session`).

The browser holds a random token in an HttpOnly, SameSite=Strict cookie (Secure and `__Host-` behind
https); the database holds its sha256, the account, the web identity it was opened under, the CSRF token of
the session and its times. A new token is made at every sign-in. A session ends at sign-out, after
`web_session_hours` without a request, after twice that in all, when its browser signs in again, when the
account is locked, reset or revoked, and when its web identity is revoked (/logout typed in the chat).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from services.core.actor import AccountStatus, Actor, Channel
from services.core.clock import Clock
from services.core.identity import actor_from
from storage import UnitOfWork

COOKIE = "hoso_session"
# An account that is locked, pending (after a reset) or revoked has no session: it signs in again, and is told.
ACTING = frozenset({AccountStatus.ACTIVE, AccountStatus.RESTRICTED})
TOUCH_EVERY = dt.timedelta(minutes=1)  # last_seen_at is written at most this often: not on every request


@dataclass(frozen=True, slots=True)
class WebSignIn:
    session_id: int
    account_id: int
    username: str
    full_name: str
    csrf: str
    locale: str | None
    # The account as the sender of an update (services/core/identity.py), read in the same transaction as the
    # session when the request feeds one (`current(..., with_actor=True)`); None otherwise.
    actor: Actor | None = None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class WebSessions:
    def __init__(self, uow: UnitOfWork, clock: Clock, idle: dt.timedelta) -> None:
        self.uow, self.clock, self.idle = uow, clock, idle

    async def open(self, account_id: int, replacing: str | None = None) -> str | None:
        """A new session for the account, under its live web identity; the cookie's token (never stored), or
        None if the identity was revoked meanwhile. The browser's previous session, if any, ends ("replaced")."""
        token, now = secrets.token_urlsafe(32), self.clock.now()
        async with self.uow.write() as repos:
            if replacing:
                previous = await repos.web_sessions.live(token_hash(replacing))
                if previous is not None:
                    await repos.web_sessions.end(now, "replaced", session_id=previous[0].id)
            opened = await repos.web_sessions.open(token_hash(token), account_id, secrets.token_urlsafe(32), now,
                                                   now + 2 * self.idle)
        return token if opened is not None else None

    async def current(self, token: str | None, touch: bool = True, with_actor: bool = False) -> WebSignIn | None:
        """The live session of this cookie, or None (no cookie, unknown, ended, idle, expired, or its account
        no longer active). `touch=False` reads it without counting as activity (a page's own re-check);
        `with_actor` reads the account as an update's sender too, in the same transaction."""
        if not token or len(token) > 128:
            return None
        now = self.clock.now()
        async with self.uow.read() as repos:
            found = await repos.web_sessions.live_row(token_hash(token), acting=with_actor)
            actor = (await actor_from(repos, Channel.WEB, str(found.account_id), found)
                     if with_actor and found is not None and found.status in ACTING else None)
        if found is None:
            return None
        reason = ("account" if found.status not in ACTING else
                  "idle" if found.last_seen_at + self.idle <= now else
                  "expired" if found.expires_at <= now else None)
        if reason is not None or (touch and now - found.last_seen_at >= TOUCH_EVERY):
            async with self.uow.write() as repos:
                if reason is not None:
                    await repos.web_sessions.end(now, reason, session_id=found.session_id)
                    return None
                await repos.web_sessions.touch(found.session_id, now)
        return WebSignIn(found.session_id, found.account_id, found.username, found.full_name, found.csrf, found.locale, actor)

    async def end(self, session_id: int, reason: str = "logout") -> None:
        async with self.uow.write() as repos:
            await repos.web_sessions.end(self.clock.now(), reason, session_id=session_id)


def same_token(expected: str, given: str | None) -> bool:
    return bool(given) and secrets.compare_digest(expected.encode(), (given or "").encode())
