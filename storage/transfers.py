"""Custody transfer requests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Select, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Account, Dossier, OrgUnit, TransferRequest
from storage.outbox import bound_somewhere
from storage.repositories import under

# One row of a listing: the request, its dossier, the requesting and the holding unit.
Row = tuple[TransferRequest, Dossier, OrgUnit, OrgUnit]


class TransferRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, request: TransferRequest) -> TransferRequest:
        self.session.add(request)
        await self.session.flush()
        return request

    async def get_for_update(self, request_id: int) -> TransferRequest | None:
        """The request, locked until the transaction ends (PostgreSQL; SQLite's write lock already is)."""
        query = select(TransferRequest).where(TransferRequest.id == request_id).with_for_update()
        return await self.session.scalar(query)

    async def pending_for(self, dossier_id: int) -> TransferRequest | None:
        query = select(TransferRequest).where(TransferRequest.dossier_id == dossier_id,
                                              TransferRequest.status == "pending")
        return await self.session.scalar(query)

    def _listing(self) -> tuple[Select[TransferRequest, Dossier, OrgUnit, OrgUnit], type[OrgUnit], type[OrgUnit]]:
        requesting, holding = aliased(OrgUnit), aliased(OrgUnit)
        query = (select(TransferRequest, Dossier, requesting, holding)
                 .join(Dossier, Dossier.id == TransferRequest.dossier_id)
                 .join(requesting, requesting.id == TransferRequest.requesting_unit_id)
                 .join(holding, holding.id == TransferRequest.holding_unit_id))
        return query, requesting, holding

    async def one(self, request_id: int) -> Row | None:
        query, _requesting, _holding = self._listing()
        row = (await self.session.execute(query.where(TransferRequest.id == request_id))).first()
        return None if row is None else (row[0], row[1], row[2], row[3])

    async def pending(self, prefixes: Sequence[str]) -> list[Row]:
        """Pending requests whose requesting or holding unit lies in these subtrees, oldest first."""
        query, requesting, holding = self._listing()
        query = query.where(
            TransferRequest.status == "pending", or_(under(requesting.path, prefixes), under(holding.path, prefixes))
        ).order_by(TransferRequest.requested_at, TransferRequest.id)
        return [(r[0], r[1], r[2], r[3]) for r in (await self.session.execute(query)).all()]

    async def overdue(self, before: dt.datetime) -> list[Row]:
        """Pending requests made before `before` and not yet escalated."""
        query, _requesting, _holding = self._listing()
        query = query.where(
            TransferRequest.status == "pending", TransferRequest.requested_at < before,
            TransferRequest.escalated_at.is_(None),
        ).order_by(TransferRequest.requested_at, TransferRequest.id)
        return [(r[0], r[1], r[2], r[3]) for r in (await self.session.execute(query)).all()]

    async def by_change_events(self, event_ids: Sequence[int]) -> dict[int, TransferRequest]:
        if not event_ids:
            return {}
        query = select(TransferRequest).where(TransferRequest.change_event_id.in_(event_ids))
        return {request.change_event_id: request for request in (await self.session.scalars(query)).all()}

    async def retarget(self, old_unit_id: int, into_unit_id: int) -> None:
        """A unit merge: pending requests of the old unit, on either side, now concern the new one; one
        the merge made pointless (asking for a dossier it now holds) is withdrawn."""
        for column in (TransferRequest.holding_unit_id, TransferRequest.requesting_unit_id):
            await self.session.execute(update(TransferRequest).where(
                TransferRequest.status == "pending", column == old_unit_id).values({column.key: into_unit_id}))
        await self.session.execute(update(TransferRequest).where(
            TransferRequest.status == "pending",
            TransferRequest.holding_unit_id == TransferRequest.requesting_unit_id,
        ).values(status="withdrawn", reason="unit merge"))

    async def account_reached(self, account_id: int | None) -> tuple[int, str | None] | None:
        """(account id, locale) of an active account bound on some channel (the outbox reaches it on all its
        channels)."""
        if account_id is None:
            return None
        query = select(Account.id, Account.locale).where(Account.id == account_id, Account.status == "active",
                                                         bound_somewhere())
        row = (await self.session.execute(query)).first()
        return None if row is None else (int(row[0]), row[1])
