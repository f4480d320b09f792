"""A dossier's past: its change events with their papers, the dossier as it stood on any date, and the
scanned papers themselves. Every read is audited; what the role may not see is masked (`mask_for`).

The versions are written by the change services (services.changes): one snapshot of the dossier's own
fields after each change, so that "as of" replays them in effective-date order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from services.core.actor import Actor
from services.core.clock import Clock
from services.core.errors import PermissionDenied
from services.core.policy import Action
from services.dossiers.masking import mask_for
from services.dossiers.service import FIELDS, readable
from services.platform.attachments import FileStore, enabled
from services.platform.audit import record
from services.platform.sessions import sensitive
from storage import UnitOfWork
from storage.models import Account, Dossier


@dataclass(frozen=True, slots=True)
class AttachmentView:
    id: int
    file_name: str
    size: int


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    event_id: int
    kind: str
    status: str
    payload: dict[str, Any]
    doc_number: str | None
    doc_date: dt.date | None
    doc_issuer: str | None
    effective_on: dt.date
    deadline: dt.date | None
    on_time: bool | None
    recorded_by: str
    recorded_at: dt.datetime
    decision_note: str | None
    attachments: tuple[AttachmentView, ...] = ()
    decided_by: str | None = None  # who approved it (a custody move, a declaration): their username
    decided_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class History:
    dossier_id: int
    full_name: str
    entries: tuple[HistoryEntry, ...]
    withheld: frozenset[str] = frozenset()  # the private subjects left out for the role (see DossierFull)


@dataclass(frozen=True, slots=True)
class AsOf:
    dossier_id: int
    full_name: str
    day: dt.date
    values: dict[str, Any] | None  # None: nothing was recorded of the dossier by that day
    withheld: frozenset[str] = frozenset()  # the private subjects left out for the role (see DossierFull)


def json_ready(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value.isoformat() if isinstance(value, dt.date) else value for name, value in values.items()}


def snapshot(dossier: Dossier) -> dict[str, Any]:
    """The dossier's own fields as JSON-ready values: what a version keeps."""
    return json_ready({name: getattr(dossier, name) for name in (*FIELDS, "custodian_unit_id", "working_unit_id")})


def _username(account: Account | None) -> str:
    return account.username if account is not None else "—"


class HistoryService:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock, files: FileStore | None = None) -> None:
        self.uow, self.actor, self.clock, self.files = uow, actor, clock, files

    async def history(self, dossier_id: int) -> History:
        async with sensitive(self.uow, self.actor, self.clock, Action.OPEN_DOSSIER) as repos:
            found = await repos.dossiers.with_units(dossier_id)
            allowed = found is not None and readable(self.actor, *found)
            await record(repos, self.clock, self.actor, "dossier.history" if allowed else "dossier.refused",
                         "dossier", dossier_id)
            deciders: dict[int, Account | None] = {}
            if not allowed or found is None:
                events, files = [], []
            else:
                events = list(await repos.changes.of_dossier(dossier_id))
                files = list(await repos.changes.attachments_of([e.id for e in events]))
                deciders = {account_id: await repos.accounts.get(account_id)
                            for account_id in {e.decided_by for e in events if e.decided_by is not None}}
        if not allowed or found is None:
            raise PermissionDenied()
        by_event: dict[int, list[AttachmentView]] = {}
        for item in files:
            by_event.setdefault(item.change_event_id, []).append(AttachmentView(item.id, item.file_name, item.size))
        # A change about private data is withheld whole (its answers, papers and reason); of the others,
        # the answers that fill a withheld field.
        mask = mask_for(self.actor)
        entries = tuple(HistoryEntry(
            e.id, e.kind, e.status, mask.values(e.payload), e.doc_number, e.doc_date, e.doc_issuer, e.effective_on,
            e.deadline, e.on_time, e.recorded_by_label, e.recorded_at, e.decision_note, tuple(by_event.get(e.id, ())),
            _username(deciders.get(e.decided_by)) if e.decided_by is not None else None, e.decided_at)
            for e in events if mask.shows_change(e.kind))
        return History(dossier_id, found[0].full_name, entries, mask.withheld)

    async def as_of(self, dossier_id: int, day: dt.date) -> AsOf:
        """The dossier's own fields as they stood on `day`, from the versions."""
        async with sensitive(self.uow, self.actor, self.clock, Action.OPEN_DOSSIER) as repos:
            found = await repos.dossiers.with_units(dossier_id)
            allowed = found is not None and readable(self.actor, *found)
            await record(repos, self.clock, self.actor, "dossier.as_of" if allowed else "dossier.refused",
                         "dossier", dossier_id, day=day.isoformat())
            versions = await repos.changes.versions_until(dossier_id, day) if allowed else []
            has_any = await repos.changes.has_versions(dossier_id) if allowed else False
        if not allowed or found is None:
            raise PermissionDenied()
        dossier = found[0]
        values: dict[str, Any] | None = None
        if versions:  # the baseline (or the creation), then each change in effective-date order
            values = {}
            for version in versions:
                values.update(version.changes if version.changes is not None else version.snapshot)
        elif has_any:
            values = None  # the first version starts later: the dossier was not yet recorded
        else:
            values = snapshot(dossier)  # never changed since it was created or imported
        mask = mask_for(self.actor)
        return AsOf(dossier_id, dossier.full_name, day, None if values is None else mask.values(values), mask.withheld)

    async def attachment(self, attachment_id: int) -> tuple[str, bytes]:
        """A scanned paper, for whoever may read its dossier; the read is audited."""
        async with sensitive(self.uow, self.actor, self.clock, Action.OPEN_DOSSIER) as repos:
            found = await repos.changes.attachment(attachment_id)
            owner = await repos.dossiers.with_units(found[1].dossier_id) if found else None
            allowed = owner is not None and readable(self.actor, *owner)
            if allowed and found is not None and not mask_for(self.actor).shows_change(found[1].kind):
                allowed = False  # the papers of a family or address change show what the role may not see
            await record(repos, self.clock, self.actor, "attachment.read" if allowed else "attachment.refused",
                         "attachment", attachment_id)
        if not allowed or found is None:
            raise PermissionDenied()
        return found[0].file_name, enabled(self.files).read(found[0].sha256)
