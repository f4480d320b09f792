"""One-time link codes (looked up by their hash only) and the wrong codes counted per sender."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LinkAttempt, LinkCode


class LinkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, account_id: int, channel: str, code_hash: str, now: dt.datetime,
                  expires_at: dt.datetime) -> LinkCode:
        row = LinkCode(account_id=account_id, channel=channel, code_hash=code_hash, issued_at=now,
                       expires_at=expires_at)
        self.session.add(row)
        await self.session.flush()
        return row

    async def by_hash(self, code_hash: str) -> LinkCode | None:
        return await self.session.scalar(select(LinkCode).where(LinkCode.code_hash == code_hash))

    async def revoke_unused(self, account_id: int, channel: str, now: dt.datetime) -> int:
        """End the account's codes for `channel` not used yet (a newer one replaces them). The number ended."""
        ended = cast(CursorResult[Any], await self.session.execute(
            update(LinkCode).where(LinkCode.account_id == account_id, LinkCode.channel == channel,
                                   LinkCode.used_at.is_(None), LinkCode.revoked_at.is_(None))
            .values(revoked_at=now).execution_options(synchronize_session="fetch")))
        return int(ended.rowcount or 0)

    async def attempts(self, channel: str, address: str) -> LinkAttempt | None:
        return await self.session.get(LinkAttempt, (channel, address))

    async def count_failure(self, channel: str, address: str, now: dt.datetime, window: dt.timedelta) -> int:
        """One more wrong code from this sender; a window over starts a new count. The count in the window."""
        row = await self.attempts(channel, address)
        if row is None:
            row = LinkAttempt(channel=channel, address=address, failures=0, window_started_at=now)
            self.session.add(row)
        elif row.window_started_at + window <= now:
            row.failures, row.window_started_at = 0, now
        row.failures += 1
        await self.session.flush()
        return row.failures

    async def clear_failures(self, channel: str, address: str) -> None:
        row = await self.attempts(channel, address)
        if row is not None:
            row.failures = 0
