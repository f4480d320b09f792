"""Sessions of the web chat, held on the server (storage: `web_session`).

The browser holds a random token in an HttpOnly, SameSite=Strict cookie (Secure behind https); the
database holds its sha256, the account, the CSRF token of the session and its times. A new token is made
at every sign-in. A session ends at sign-out, after `web_session_hours` without a request, after twice that
in all, when the account's web identity is revoked (a reset, /logout typed in the chat) or the account is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from services.core.actor import AccountStatus
from services.core.clock import Clock
from storage import UnitOfWork

COOKIE = "hoso_session"
TOUCH_EVERY = dt.timedelta(minutes=1)  # last_seen_at is written at most this often: not on every request


@dataclass(frozen=True, slots=True)
class WebSignIn:
    session_id: int
    account_id: int
    username: str
    full_name: str
    csrf: str
    locale: str | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class WebSessions:
    def __init__(self, uow: UnitOfWork, clock: Clock, idle: dt.timedelta) -> None:
        self.uow, self.clock, self.idle = uow, clock, idle

    async def open(self, account_id: int) -> str:
        """A new session for the account; the cookie's token (never stored)."""
        token, now = secrets.token_urlsafe(32), self.clock.now()
        async with self.uow.write() as repos:
            await repos.web_sessions.open(token_hash(token), account_id, secrets.token_urlsafe(32), now,
                                          now + 2 * self.idle)
        return token

    async def current(self, token: str | None) -> WebSignIn | None:
        """The live session of this cookie, or None (no cookie, unknown, ended, idle or expired)."""
        if not token or len(token) > 128:
            return None
        now = self.clock.now()
        async with self.uow.read() as repos:
            found = await repos.web_sessions.live(token_hash(token))
        if found is None:
            return None
        session, account = found
        reason = ("revoked" if account.status == AccountStatus.REVOKED else
                  "idle" if session.last_seen_at + self.idle <= now else
                  "expired" if session.expires_at <= now else None)
        if reason is not None or now - session.last_seen_at >= TOUCH_EVERY:
            async with self.uow.write() as repos:
                if reason is not None:
                    await repos.web_sessions.end(now, reason, session_id=session.id)
                    return None
                await repos.web_sessions.touch(session.id, now)
        return WebSignIn(session.id, account.id, account.username, account.full_name, session.csrf, account.locale)

    async def end(self, session_id: int, reason: str = "logout") -> None:
        async with self.uow.write() as repos:
            await repos.web_sessions.end(self.clock.now(), reason, session_id=session_id)


def same_token(expected: str, given: str | None) -> bool:
    return bool(given) and secrets.compare_digest(expected.encode(), (given or "").encode())
