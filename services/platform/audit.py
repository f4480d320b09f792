"""Recording to the audit trail, and checking that nobody rewrote it."""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import hmac
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any

from services.core.actor import Actor
from services.core.clock import Clock
from services.core.i18n import N_
from services.core.policy import Action, ensure
from services.platform.sessions import sensitive
from storage import Repositories, UnitOfWork
from storage.audit import GENESIS_HASH, NewEvent, chain_hash, hashed_fields


def actor_label(actor: Actor) -> str:
    """The account's username; else the sender as `channel:address` (`telegram:12345`); else the CLI."""
    if actor.username:
        return actor.username
    if actor.channel is not None and actor.address is not None:
        return f"{actor.channel}:{actor.address}"
    return "system"


@dataclass
class Disclosure:
    """What the acts audited while it is current were about (their object types): the transport that opened
    it checks what may leave after them (bot/content.py)."""

    objects: set[str] = field(default_factory=set)

    def read_beyond(self, allowed: Collection[str]) -> bool:
        return any(kind not in allowed for kind in self.objects)


DISCLOSURE: contextvars.ContextVar[Disclosure | None] = contextvars.ContextVar("hoso_disclosure", default=None)


async def record(
    repos: Repositories,
    clock: Clock,
    actor: Actor,
    action: str,
    object_type: str | None = None,
    object_id: object | None = None,
    **details: Any,
) -> None:
    """Audit one act inside the transaction doing it. Never pass a secret in `details`. The channel the actor
    acts on is recorded with it (none for the command line). The event joins the chain when the transaction
    ends, just before its commit (storage/audit.py `defer`)."""
    disclosure = DISCLOSURE.get()
    if disclosure is not None:
        disclosure.objects.add(object_type or action.partition(".")[0])
    if actor.channel is not None:
        details = {"channel": actor.channel, **details}
    repos.audit.defer(NewEvent(
        at=clock.now(),
        action=action,
        actor_label=actor_label(actor),
        actor_account_id=actor.account_id,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        details=details,
    ))


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The head of the chain at one moment, signed with a key kept outside the database."""

    seq: int
    hash: str
    signature: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    count: int
    broken_seq: int | None = None
    reason: str | None = None  # untranslated message id

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sign(key: bytes, seq: int, head_hash: str) -> str:
    return hmac.new(key, f"{seq}:{head_hash}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    occurred_at: dt.datetime
    actor_label: str
    action: str
    object_type: str | None
    object_id: str | None
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[AuditEntry]
    older_than: int | None  # pass as before_seq for the next (older) page; None on the last page


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What /audit was asked for: an account, a person (their personal ID) or a day."""

    username: str | None = None
    personal_id: str | None = None
    day: dt.date | None = None


class AuditService:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock

    async def events(self, where: AuditFilter, before_seq: int | None = None, limit: int = 10) -> AuditPage:
        """Read the trail, newest first. Reading it is itself audited."""
        async with sensitive(self.uow, self.actor, self.clock, Action.VIEW_AUDIT) as repos:
            criteria: dict[str, Any] = {}
            if where.username:
                criteria["actor_label"] = where.username
            if where.personal_id:
                dossier_id = await repos.dossiers.id_of(where.personal_id)
                criteria.update(object_type="dossier", object_id=str(dossier_id) if dossier_id else "-")
            if where.day:
                start = dt.datetime.combine(where.day, dt.time(), self.clock.tz)
                criteria.update(since=start, until=start + dt.timedelta(days=1))
            rows = await repos.audit.search(**criteria, before_seq=before_seq, limit=limit + 1)
            await record(repos, self.clock, self.actor, "audit.read", "audit", None,
                         username=where.username, personal_id=where.personal_id,
                         day=where.day.isoformat() if where.day else None, before_seq=before_seq)
        entries = [
            AuditEntry(row.seq, row.occurred_at, row.actor_label, row.action, row.object_type, row.object_id,
                       dict(row.details))
            for row in rows[:limit]
        ]
        return AuditPage(entries, entries[-1].seq if len(rows) > limit else None)

    async def checkpoint(self, key: bytes) -> Checkpoint:
        ensure(self.actor, Action.VIEW_AUDIT)
        async with self.uow.write() as repos:
            head = await repos.audit.head()
            await record(repos, self.clock, self.actor, "audit.checkpoint", "audit", head.seq)
        return Checkpoint(head.seq, head.hash, sign(key, head.seq, head.hash))

    async def verify(self, checkpoint: Checkpoint | None = None, key: bytes | None = None) -> VerifyReport:
        """Recompute the chain from the first event; with a checkpoint, also compare the signed head."""
        ensure(self.actor, Action.VIEW_AUDIT)
        report = await self._walk_chain()
        if report.ok and checkpoint is not None:
            report = await self._against(checkpoint, key, report.count)
        async with self.uow.write() as repos:
            await record(repos, self.clock, self.actor, "audit.verify", "audit", None, ok=report.ok,
                         count=report.count, broken_seq=report.broken_seq)
        return report

    async def _walk_chain(self) -> VerifyReport:
        previous, expected_seq, count = GENESIS_HASH, 1, 0
        async with self.uow.read() as repos:
            async for event in repos.audit.stream():
                if event.seq != expected_seq:
                    return VerifyReport(False, count, expected_seq, N_("an event is missing"))
                if event.prev_hash != previous:
                    return VerifyReport(False, count, event.seq, N_("it does not follow the event before it"))
                if chain_hash(previous, hashed_fields(event)) != event.hash:
                    return VerifyReport(False, count, event.seq, N_("its content was changed"))
                previous, expected_seq, count = event.hash, expected_seq + 1, count + 1
        return VerifyReport(True, count)

    async def _against(self, checkpoint: Checkpoint, key: bytes | None, count: int) -> VerifyReport:
        if key is None or not hmac.compare_digest(sign(key, checkpoint.seq, checkpoint.hash), checkpoint.signature):
            return VerifyReport(False, count, checkpoint.seq, N_("the checkpoint's signature is not valid"))
        async with self.uow.read() as repos:
            event = await repos.audit.at_seq(checkpoint.seq) if checkpoint.seq else None
        actual = event.hash if event is not None else (GENESIS_HASH if checkpoint.seq == 0 else None)
        if actual != checkpoint.hash:
            return VerifyReport(False, count, checkpoint.seq, N_("the trail was rewritten since the checkpoint"))
        return VerifyReport(True, count)
