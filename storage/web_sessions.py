"""The web chat's sessions: opened at sign-in, looked up by the hash of the cookie's token, ended (never
deleted) at sign-out, on revocation of the web identity, or when idle."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import CursorResult, Row, Select, bindparam, event, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from storage.database import SIGN_INS_CHANGED
from storage.models import Account, ChannelIdentity, OrgUnit, UserPreference, WebSession
from storage.repositories import ACTING_COLUMNS, CHOSEN_LOCALE

WEB = "web"
# What a live session depends on: its row, the identity it was opened under, its account (the status).
_SIGN_IN_MODELS = (WebSession, ChannelIdentity, Account)


def sign_ins_changed(session: Session | AsyncSession) -> None:
    """Mark the transaction as one that may end sign-ins: its commit moves `Database.sign_in_changes`."""
    session.info[SIGN_INS_CHANGED] = True


@event.listens_for(Session, "before_flush")
def _flushing(session: Session, _context: UOWTransaction, _instances: Any) -> None:
    """An account, identity or web session changed through the ORM (a lockout, a reset, a revocation): marked.
    Any change of theirs counts, which may be more than needed, never less."""
    if any(isinstance(row, _SIGN_IN_MODELS) for rows in (session.new, session.dirty, session.deleted) for row in rows):
        sign_ins_changed(session)


def _live(query: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    """`query` of the live session of a token (`:token`, its hash), joined with its account, while the web
    identity the session was opened under is live."""
    return (query
            .join(Account, Account.id == WebSession.account_id)
            .join(ChannelIdentity, (ChannelIdentity.id == WebSession.identity_id)
                  & ChannelIdentity.revoked_at.is_(None))
            .where(WebSession.token_hash == bindparam("token"), WebSession.ended_at.is_(None)))


# Built once: the two read on every request of the web chat (storage/repositories.py ACTING_COLUMNS says why).
_SESSION = (WebSession.id.label("session_id"), WebSession.csrf, WebSession.last_seen_at, WebSession.expires_at,
            WebSession.account_id)
_LIVE_WHOLE = _live(select(WebSession, Account))
_LIVE = _live(select(*_SESSION, Account.username, Account.full_name, Account.locale, Account.status))
_LIVE_ACTING = (_live(select(*_SESSION, *ACTING_COLUMNS))  # they hold the same four
                .join(OrgUnit, OrgUnit.id == Account.unit_id)
                .outerjoin(UserPreference, CHOSEN_LOCALE))


class WebSessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open(self, token_hash: str, account_id: int, csrf: str, now: dt.datetime,
                   expires_at: dt.datetime) -> WebSession | None:
        """A session under the account's live web identity; None if it has none (it was just revoked)."""
        identity_id = await self.session.scalar(select(ChannelIdentity.id).where(
            ChannelIdentity.account_id == account_id, ChannelIdentity.channel == WEB,
            ChannelIdentity.revoked_at.is_(None)))
        if identity_id is None:
            return None
        row = WebSession(token_hash=token_hash, account_id=account_id, identity_id=identity_id, csrf=csrf,
                         created_at=now, last_seen_at=now, expires_at=expires_at)
        self.session.add(row)
        await self.session.flush()
        return row

    async def live(self, token_hash: str) -> tuple[WebSession, Account] | None:
        """The session of this token, not ended, with its account, while the web identity it was opened under
        is live (revoked by a sign-out typed in the chat or a reset, it ends every browser opened under it, for
        good: a later sign-in binds a new identity)."""
        found = (await self.session.execute(_LIVE_WHOLE, {"token": token_hash})).first()
        return (found[0], found[1]) if found else None

    async def live_row(self, token_hash: str, acting: bool = False) -> Row[*tuple[Any, ...]] | None:
        """What checking a request's session needs, as `live` finds it, in plain columns (it runs on every
        request): the session's session_id, csrf, last_seen_at and expires_at; its account's account_id,
        username, full_name, locale and status. `acting`: with the account as the sender of an update
        (`ACTING_COLUMNS`, on the web identity the session was opened under), in the same query."""
        return (await self.session.execute(_LIVE_ACTING if acting else _LIVE, {"token": token_hash})).first()

    async def touch(self, session_id: int, now: dt.datetime) -> None:
        await self.session.execute(update(WebSession).where(WebSession.id == session_id).values(last_seen_at=now))

    async def end(self, now: dt.datetime, reason: str, *, session_id: int | None = None,
                  account_id: int | None = None) -> int:
        """End one session, or every live session of an account. The number ended."""
        if session_id is None and account_id is None:
            raise ValueError("end needs a session or an account")
        query = update(WebSession).where(WebSession.ended_at.is_(None))
        if session_id is not None:
            query = query.where(WebSession.id == session_id)
        if account_id is not None:
            query = query.where(WebSession.account_id == account_id)
        ended = cast(CursorResult[Any], await self.session.execute(query.values(ended_at=now, ended_reason=reason)))
        if ended.rowcount:
            sign_ins_changed(self.session)
        return int(ended.rowcount or 0)
