"""The person's own declarations (/declare, /pending): an employee declares a personal change about their
own dossier; it waits until a clerk of the custodian unit approves it (the change applies then) or
rejects it with a reason. Each side is told of the other's step: a notice in the outbox, written in the
same transaction as the step (services.platform.outbox `notify`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from services.changes.checks import kind_named
from services.changes.planners import Line
from services.changes.recording import (
    APPLIED,
    PENDING,
    REJECTED,
    Logged,
    Recorder,
    Target,
    Uploads,
    target_of,
)
from services.core.actor import Role
from services.core.errors import InvalidInput, NotFound, PermissionDenied
from services.core.i18n import N_
from services.core.policy import Action, allows, scope_of
from services.dossiers.masking import mask_for
from services.platform.audit import record
from services.platform.outbox import notify
from services.platform.sessions import sensitive
from services.regime.change_kinds import KINDS

MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class PendingItem:
    event_id: int
    dossier_id: int
    full_name: str
    kind: str
    effective_on: dt.date
    recorded_at: dt.datetime
    payload: dict[str, Any]


class Declarations(Recorder):
    async def own_dossier(self) -> Target:
        """The employee's own dossier, for a declaration."""
        if self.actor.role is not Role.EMPLOYEE or not self.actor.personal_id:
            raise PermissionDenied()
        async with self.uow.read() as repos:
            found = await repos.dossiers.with_units(await repos.dossiers.id_of(self.actor.personal_id) or 0)
        if found is None:
            raise NotFound(N_("No dossier carries your personal ID yet; ask your unit's clerk."))
        dossier, custodian, _working = found
        return target_of(dossier, custodian)

    async def declare(self, kind_name: str, answers: dict[str, str], uploads: Uploads = ()) -> Logged:
        """An employee declares a personal change: pending until a clerk of the custodian unit decides. The
        clerks who may decide it are sent what was declared, with Approve / Reject."""
        kind = kind_named(kind_name)
        if not kind.declarable or not allows(self.actor, Action.DECLARE):  # a write: not for a read-only account
            raise PermissionDenied()
        target = await self.own_dossier()
        answers = await self.recheck(kind, answers, declared=True)
        stored = [self.check_file(upload) for upload in uploads]
        async with sensitive(self.uow, self.actor, self.clock, Action.OPEN_DOSSIER) as repos:
            dossier, custodian, _working = await repos.dossiers.with_units(target.id)  # type: ignore[misc]
            plan = await self.plan(repos, kind, dossier, answers)  # refused now rather than at the review
            event = await self.add_event(repos, kind, dossier, custodian, answers, PENDING, None, None)
            await self.attach_files(repos, event, stored, uploads)
            await record(repos, self.clock, self.actor, f"declaration.{kind.name}", "dossier", dossier.id,
                         event=event.id)
            await notify(repos, self.clock, "declaration_new", await repos.changes.clerks_reached(custodian.path),
                         "change", str(event.id), {
                             "event": event.id, "name": dossier.full_name, "kind": kind.name,
                             "answers": {key: value for key, value in answers.items() if value},
                             "lines": [[line.label, line.old, line.new] for line in plan.lines],
                             # dropped unsent if the dossier changes hands meanwhile
                             "dossier_id": dossier.id, "unit_path": custodian.path})
        return Logged(event.id, dossier.id, dossier.full_name, kind.name, PENDING, None, None, tuple(plan.lines))

    async def decide(self, event_id: int, approve: bool, reason: str = "") -> Logged:
        """A clerk of the custodian unit approves (the change applies now) or rejects (with a reason) a
        declaration. The person is sent the decision."""
        reason = " ".join(reason.split())
        if not approve and not reason:
            raise InvalidInput("reason", N_("A rejection needs a reason."))
        if len(reason) > MAX_REASON:
            raise InvalidInput("reason", N_("Too long: at most {limit} characters."), limit=MAX_REASON)
        async with sensitive(self.uow, self.actor, self.clock, Action.EDIT_DOSSIER) as repos:
            event = await repos.changes.get_for_update(event_id)
            if event is None or event.kind not in KINDS or not KINDS[event.kind].declarable:
                raise PermissionDenied()  # only declarations are decided here (custody: /transfer)
            dossier, custodian, _working = await self.editable(repos, event.dossier_id)
            if event.status != PENDING:
                raise InvalidInput("event", N_("This declaration was already decided."))
            kind = KINDS[event.kind]
            event.decided_by, event.decided_at = self.actor.account_id, self.clock.now()
            event.decision_note = reason or None
            lines: tuple[Line, ...] = ()
            if approve:
                answers = {k: str(v) for k, v in event.payload.items()}
                plan = await self.plan(repos, kind, dossier, answers)
                event.status = APPLIED
                await self.apply_plan(repos, dossier, plan, event)
                lines = tuple(plan.lines)
            else:
                event.status = REJECTED
            await record(repos, self.clock, self.actor, f"declaration.{event.status}", "dossier", dossier.id,
                         event=event.id, reason=reason or None)
            person = await repos.changes.employee_reached(dossier.personal_id)
            await notify(repos, self.clock, "declaration_decided", [person] if person else [], "change", str(event.id),
                         {"event": event.id, "kind": kind.name, "status": event.status, "reason": reason})
        return Logged(event.id, dossier.id, dossier.full_name, kind.name, event.status, None, None, lines)

    async def pending(self) -> list[PendingItem]:
        """Declarations waiting for this clerk; those about data the role may not see are left out."""
        async with self.uow.read() as repos:
            rows = await repos.changes.pending(scope_of(self.actor, Action.EDIT_DOSSIER))
        mask = mask_for(self.actor)
        return [PendingItem(e.id, d.id, d.full_name, e.kind, e.effective_on, e.recorded_at, mask.values(e.payload))
                for e, d in rows if mask.shows_change(e.kind)]
