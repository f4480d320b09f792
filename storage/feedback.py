"""The users' feedback to the personnel office."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, Feedback, OrgUnit


class FeedbackRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, feedback: Feedback) -> Feedback:
        self.session.add(feedback)
        await self.session.flush()
        return feedback

    async def get(self, feedback_id: int) -> tuple[Feedback, Account, OrgUnit] | None:
        """The item with its sender and their unit; locked on PostgreSQL (SQLite's write transaction is)."""
        query = (select(Feedback, Account, OrgUnit).join(Account, Account.id == Feedback.account_id)
                 .join(OrgUnit, OrgUnit.id == Feedback.unit_id).where(Feedback.id == feedback_id)
                 .with_for_update(of=Feedback))
        row = (await self.session.execute(query)).first()
        return None if row is None else (row[0], row[1], row[2])

    async def listing(self, statuses: Sequence[str] | None = None, account_id: int | None = None,
                      limit: int = 50) -> list[tuple[Feedback, Account, OrgUnit]]:
        """Newest first: of some statuses, or of one sender."""
        query = (select(Feedback, Account, OrgUnit).join(Account, Account.id == Feedback.account_id)
                 .join(OrgUnit, OrgUnit.id == Feedback.unit_id))
        if statuses:
            query = query.where(Feedback.status.in_(list(statuses)))
        if account_id is not None:
            query = query.where(Feedback.account_id == account_id)
        query = query.order_by(Feedback.id.desc()).limit(limit)
        return [(row[0], row[1], row[2]) for row in await self.session.execute(query)]
