"""The audit trail: append-only (database triggers refuse UPDATE and DELETE) and hash-chained.

Each row's hash is sha256(prev_hash ‖ canonical JSON of the row), so editing, inserting or removing a
row anywhere breaks the chain from that row on. A wholesale rewrite (triggers dropped, every hash
recomputed) is caught by comparing with a signed checkpoint kept outside the database.

Appends take turns on the chain's head (on PostgreSQL an advisory lock held until the commit). So that the
turn lasts only as long as the append, an act audited inside a unit of work is kept aside (`defer`) and the
unit's events are appended together at its end, just before the commit (`settle`, which storage/uow.py calls):
the lock is held for the append and the commit, not across the request's work. Reading the trail in the same
transaction settles first, so a transaction always sees its own events.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEvent
from storage.repositories import table_of

GENESIS_HASH = "0" * 64
# Any constant: the key of the PostgreSQL advisory lock that makes appends to the chain one at a time.
_CHAIN_LOCK = 0x486F536F
# The events a transaction audited and has not appended yet (the session's `info`).
PENDING = "hoso_audit_pending"


def canonical(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain_hash(prev_hash: str, row: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(row)).encode("utf-8")).hexdigest()


def hashed_values(
    *,
    seq: int,
    occurred_at: dt.datetime,
    actor_account_id: int | None,
    actor_label: str,
    action: str,
    object_type: str | None,
    object_id: str | None,
    details: dict[str, Any],
) -> dict[str, Any]:
    """What an event's hash covers: every column but the hashes themselves."""
    return {
        "seq": seq,
        "occurred_at": occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_account_id": actor_account_id,
        "actor_label": actor_label,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "details": details,
    }


def hashed_fields(event: AuditEvent) -> dict[str, Any]:
    return hashed_values(
        seq=event.seq, occurred_at=event.occurred_at, actor_account_id=event.actor_account_id,
        actor_label=event.actor_label, action=event.action, object_type=event.object_type,
        object_id=event.object_id, details=event.details,
    )


@dataclass(frozen=True, slots=True)
class ChainHead:
    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class NewEvent:
    """One event for `AuditRepository.append_many`: everything but its place in the chain."""

    at: dt.datetime
    action: str
    actor_label: str
    actor_account_id: int | None = None
    object_type: str | None = None
    object_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


# Run by every audited act: built once (building a statement costs more than running it).
_HEAD = select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
_APPEND = insert(table_of(AuditEvent))


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def head(self) -> ChainHead:
        await self.settle()
        return await self._head()

    async def _head(self) -> ChainHead:
        row = (await self.session.execute(_HEAD)).first()
        return ChainHead(0, GENESIS_HASH) if row is None else ChainHead(row[0], row[1])

    async def append(
        self,
        *,
        at: dt.datetime,
        action: str,
        actor_label: str,
        actor_account_id: int | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> AuditEvent:
        """Append one event in the caller's transaction, so it commits or rolls back with the work. The event
        is returned as written, not attached to the session (one INSERT, no flush of the unit of work)."""
        row = (await self._insert([NewEvent(at, action, actor_label, actor_account_id, object_type, object_id,
                                            details or {})]))[-1]
        return AuditEvent(**row)

    def defer(self, event: NewEvent) -> None:
        """Audit one event of this transaction, appended with the others when it settles (before its commit),
        so that the chain's lock is not held while the rest of the work runs."""
        self.session.info.setdefault(PENDING, []).append(event)

    async def settle(self) -> None:
        """Append what this transaction deferred, in the order it was deferred."""
        pending = self.session.info.pop(PENDING, None)
        if pending:
            await self._insert(pending)

    async def append_many(self, events: Sequence[NewEvent]) -> ChainHead:
        """Append many events in the caller's transaction, hashed exactly as `append` hashes one: the
        head is read once, the chain extended in memory, the rows inserted in one executemany.
        Returns the new head."""
        if not events:
            return await self.head()
        last = (await self._insert(events))[-1]
        return ChainHead(last["seq"], last["hash"])

    async def _insert(self, events: Sequence[NewEvent]) -> list[dict[str, Any]]:
        events = [*self.session.info.pop(PENDING, ()), *events]  # what was deferred comes first
        await self._lock_chain()
        # On SQLite the write transaction began IMMEDIATE: no other writer can move the head meanwhile.
        head = await self._head()
        seq, previous = head.seq, head.hash
        rows: list[dict[str, Any]] = []
        for event in events:
            seq += 1
            values = hashed_values(
                seq=seq, occurred_at=event.at.astimezone(dt.UTC), actor_account_id=event.actor_account_id,
                actor_label=event.actor_label, action=event.action, object_type=event.object_type,
                object_id=event.object_id, details=event.details,
            )
            digest = chain_hash(previous, values)
            rows.append({**values, "occurred_at": event.at.astimezone(dt.UTC), "prev_hash": previous, "hash": digest})
            previous = digest
        await self.session.execute(_APPEND, rows)
        return rows

    async def _lock_chain(self) -> None:
        """On PostgreSQL, appends to the chain take turns (a transaction-scoped advisory lock)."""
        if self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            await self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK})

    async def count(self) -> int:
        await self.settle()
        return int(await self.session.scalar(select(func.count()).select_from(AuditEvent)) or 0)

    async def at_seq(self, seq: int) -> AuditEvent | None:
        await self.settle()
        return await self.session.get(AuditEvent, seq)

    async def search(
        self,
        *,
        actor_label: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        before_seq: int | None = None,
        limit: int = 10,
    ) -> list[AuditEvent]:
        """Newest first; `before_seq` pages back through the trail."""
        await self.settle()
        query = select(AuditEvent)
        if actor_label is not None:
            query = query.where(AuditEvent.actor_label == actor_label)
        if object_type is not None:
            query = query.where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
        if since is not None:
            query = query.where(AuditEvent.occurred_at >= since)
        if until is not None:
            query = query.where(AuditEvent.occurred_at < until)
        if before_seq is not None:
            query = query.where(AuditEvent.seq < before_seq)
        query = query.order_by(AuditEvent.seq.desc()).limit(limit)
        return list((await self.session.scalars(query)).all())

    async def stream(self, batch: int = 5000) -> AsyncIterator[AuditEvent]:
        """Every event in seq order, read in batches so a long trail does not sit in memory."""
        await self.settle()
        last = 0
        while True:
            rows = (await self.session.scalars(
                select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
            )).all()
            if not rows:
                return
            for row in rows:
                yield row
            last = rows[-1].seq
            self.session.expunge_all()
