"""What every way of recording a change shares (a clerk's change, a declaration, a new dossier, a custody
transfer): the change event with its deadline verdict, the plan applied with a version, the scanned
papers, and who may write a dossier.

All of it runs in the caller's transaction: a change is the dossier, its repeating records, a version,
the change event, the attachments and the audit, written together or not at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.changes.checks import answer_date, optional_date, recheck
from services.changes.planners import Caution, Line, Plan, plan_change
from services.core.actor import Actor
from services.core.clock import Clock, local_today
from services.core.errors import PermissionDenied
from services.core.policy import Action, can
from services.dossiers.history import json_ready, snapshot
from services.platform.attachments import FileStore, StoredFile, Upload, enabled
from services.platform.audit import actor_label
from services.regime.calendar import working_calendar
from services.regime.change_kinds import Category, ChangeKind
from services.regime.deadlines import counted_from, deadline_for, on_time
from services.regime.setup import profile_of
from storage import Repositories, UnitOfWork
from storage.models import Attachment, ChangeEvent, Dossier, DossierVersion, OrgUnit

APPLIED, PENDING, REJECTED = "applied", "pending", "rejected"
REGISTERED = "registered"  # a decision to enter later (storage marks it "entered" once it is)
Uploads = list[Upload] | tuple[Upload, ...]


@dataclass(frozen=True, slots=True)
class Target:
    id: int
    full_name: str
    personal_id: str
    custodian_unit: str
    employment_status: str


@dataclass(frozen=True, slots=True)
class Preview:
    lines: tuple[Line, ...]
    deadline: dt.date | None
    on_time: bool | None
    cautions: tuple[Caution, ...] = ()


@dataclass(frozen=True, slots=True)
class Logged:
    event_id: int
    dossier_id: int
    full_name: str
    kind: str
    status: str
    deadline: dt.date | None
    on_time: bool | None
    lines: tuple[Line, ...]
    cautions: tuple[Caution, ...] = ()  # what the clerk confirmed despite the salary table, kept in the audit too


def target_of(dossier: Dossier, custodian: OrgUnit) -> Target:
    return Target(dossier.id, dossier.full_name, dossier.personal_id, custodian.name, dossier.employment_status)


class Recorder:
    """The base of the change services (ChangeLog, Declarations, NewDossiers), and a helper of custody."""

    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock, files: FileStore | None = None) -> None:
        self.uow, self.actor, self.clock, self.files = uow, actor, clock, files

    async def recheck(self, kind: ChangeKind, answers: dict[str, str], declared: bool) -> dict[str, str]:
        return await recheck(self.uow, self.actor, self.clock, kind, answers, declared)

    async def plan(self, repos: Repositories, kind: ChangeKind, dossier: Dossier, answers: dict[str, str]) -> Plan:
        return await plan_change(repos, self.actor, kind, dossier, answers)

    async def editable(self, repos: Repositories, dossier_id: int) -> tuple[Dossier, OrgUnit, OrgUnit]:
        """Changes are the custodian's: a working unit reads the dossier but does not write it."""
        found = await repos.dossiers.with_units(dossier_id)
        if found is None or not can(self.actor, Action.EDIT_DOSSIER, found[1].path):
            raise PermissionDenied()
        return found

    async def deadline(self, repos: Repositories, kind: ChangeKind, answers: dict[str, str],
                       declared: bool) -> tuple[dt.date | None, bool | None]:
        """The profile's deadline for this change, and whether it is entered on time today."""
        profile = await profile_of(repos)
        if declared:
            return None, None  # the person's declaration has no agency deadline; the clerk's review has
        if kind.category is Category.NEW:  # "within so many days of the recruitment decision": its date
            rule, start = profile.new_dossier_deadline, answer_date(answers["doc_date"])
        else:
            rule = profile.change_deadline
            start = counted_from(optional_date(answers.get("doc_date")), answer_date(answers["effective_on"]))
        deadline = deadline_for(start, rule, await working_calendar(repos))
        return deadline, on_time(local_today(self.clock), deadline)

    async def add_event(self, repos: Repositories, kind: ChangeKind, dossier: Dossier, custodian: OrgUnit,
                        answers: dict[str, str], status: str, deadline: dt.date | None,
                        timely: bool | None) -> ChangeEvent:
        return await repos.changes.add(ChangeEvent(
            dossier_id=dossier.id, kind=kind.name, status=status,
            payload={k: v for k, v in answers.items() if v},
            doc_number=answers.get("doc_number") or None, doc_date=optional_date(answers.get("doc_date")),
            doc_issuer=answers.get("doc_issuer") or None, effective_on=answer_date(answers["effective_on"]),
            deadline=deadline, on_time=timely, unit_id=custodian.id, recorded_by=self.actor.account_id,
            recorded_by_label=actor_label(self.actor), recorded_at=self.clock.now(),
        ))

    async def apply_plan(self, repos: Repositories, dossier: Dossier, plan: Plan, event: ChangeEvent) -> None:
        """The dossier, its records and a version, in the caller's transaction."""
        now = self.clock.now()
        if not await repos.changes.has_versions(dossier.id):  # the state before the first logged change
            base = snapshot(dossier)
            await repos.changes.add_version(DossierVersion(dossier_id=dossier.id, change_event_id=None,
                                                           valid_from=None, recorded_at=now, snapshot=base,
                                                           changes=base))
        # A change logged late must not undo a later-effective one already in the dossier.
        newer = await repos.changes.columns_changed_after(dossier.id, event.effective_on)
        for column, value in plan.changes.items():
            if column not in newer:
                setattr(dossier, column, value)
        if plan.changes:
            dossier.updated_at = now
        await repos.dossiers.add_records([{**row, "dossier_id": dossier.id, "created_at": now} for row in plan.records])
        await repos.changes.add_version(DossierVersion(dossier_id=dossier.id, change_event_id=event.id,
                                                       valid_from=event.effective_on, recorded_at=now,
                                                       snapshot=snapshot(dossier), changes=json_ready(plan.changes)))

    # -- the scanned papers ----------------------------------------------------------------------------
    def check_file(self, upload: Upload) -> StoredFile:
        """Refused before the transaction: a bad file loses none of the answers."""
        return enabled(self.files).check(upload)

    async def attach_files(self, repos: Repositories, event: ChangeEvent, stored: list[StoredFile],
                           uploads: Uploads) -> None:
        for upload in uploads:
            kept = enabled(self.files).put(upload)
            await repos.changes.add_attachment(Attachment(
                change_event_id=event.id, sha256=kept.sha256, file_name=kept.file_name,
                content_type=kept.content_type, size=kept.size, uploaded_by=self.actor.account_id,
                uploaded_at=self.clock.now()))
