"""A clerk logs a change to a dossier against its paper (/update): the questions, the dossier it may apply
to, the summary before confirming, and the write, applied at once with its deadline verdict. A decision
received but not entered yet is registered instead, so that its deadline is followed up.

The answers arrive as text, exactly as typed and checked one by one (`check`); the planners
(services.changes.planners) turn them into what changes, the same way for `preview` and for `log`.
`check` and `options` also serve the other forms built from a kind's questions (/new, /declare, /transfer),
and `preview` the summary of a declaration (`declared`), since their questions are the same.
"""

from __future__ import annotations

from services.changes import checks
from services.changes.planners import refuse_inapplicable
from services.changes.recording import (
    APPLIED,
    REGISTERED,
    Logged,
    Preview,
    Recorder,
    Target,
    Uploads,
    target_of,
)
from services.core.errors import InvalidInput, PermissionDenied
from services.core.i18n import N_
from services.core.policy import Action
from services.platform.attachments import StoredFile
from services.platform.audit import record
from services.platform.sessions import sensitive
from services.regime.change_kinds import KINDS, Ask, Category, ChangeKind
from storage import Repositories
from storage.models import Dossier


class ChangeLog(Recorder):
    # -- the questions -----------------------------------------------------------------------------------
    @staticmethod
    def kind(name: str) -> ChangeKind:
        return checks.kind_named(name)

    async def options(self, ask: Ask) -> list[tuple[str, str]]:
        """The buttons for a question whose answers come from the data: (value, label)."""
        return await checks.options(self.uow, self.actor, ask)

    async def check(self, kind_name: str, key: str, value: str, declared: bool = False) -> str:
        """One answer of any kind's form (a change, a declaration, /new, /transfer), in its written form."""
        return await checks.check(self.uow, self.actor, self.clock, kind_name, key, value, declared)

    # -- whose dossier -----------------------------------------------------------------------------------
    async def applicable(self, kind_name: str, dossier_id: int) -> Target:
        """The dossier, if this kind of change can apply to it now: asked before the first question, so
        that nobody answers a whole form to be told at the end."""
        kind = self.kind(kind_name)
        async with self.uow.read() as repos:
            dossier, custodian, _working = await self.editable(repos, dossier_id)
        refuse_inapplicable(kind, dossier)
        return target_of(dossier, custodian)

    async def target(self, dossier_id: int) -> Target:
        """The dossier a clerk is about to change, if they may."""
        async with self.uow.read() as repos:
            dossier, custodian, _working = await self.editable(repos, dossier_id)
        return target_of(dossier, custodian)

    # -- the summary and the write -----------------------------------------------------------------------
    async def preview(self, kind_name: str, dossier_id: int, answers: dict[str, str],
                      declared: bool = False) -> Preview:
        """What the change will do and its deadline verdict, for the summary (a declaration's too)."""
        kind = self.kind(kind_name)
        async with self.uow.read() as repos:
            dossier = await self._dossier_for(repos, dossier_id, declared)
            plan = await self.plan(repos, kind, dossier, answers)
            deadline, timely = await self.deadline(repos, kind, answers, declared)
        return Preview(tuple(plan.lines), deadline, timely, tuple(plan.cautions))

    async def _dossier_for(self, repos: Repositories, dossier_id: int, declared: bool) -> Dossier:
        if declared:
            found = await repos.dossiers.with_units(dossier_id)
            if found is None or self.actor.personal_id != found[0].personal_id:
                raise PermissionDenied()
            return found[0]
        return (await self.editable(repos, dossier_id))[0]

    async def log(self, kind_name: str, dossier_id: int, answers: dict[str, str], uploads: Uploads = ()) -> Logged:
        """A clerk logs a change against its paper: applied at once."""
        kind = self.kind(kind_name)
        if kind.category is Category.NEW:
            raise InvalidInput("kind", N_("Use /new for a new dossier."))
        answers = await self.recheck(kind, answers, declared=False)
        stored = [self.check_file(upload) for upload in uploads]
        if kind.name == "registration":
            return await self._register(dossier_id, answers, stored, uploads)
        async with sensitive(self.uow, self.actor, self.clock, Action.EDIT_DOSSIER) as repos:
            dossier, custodian, _working = await self.editable(repos, dossier_id)
            plan = await self.plan(repos, kind, dossier, answers)
            deadline, timely = await self.deadline(repos, kind, answers, declared=False)
            event = await self.add_event(repos, kind, dossier, custodian, answers, APPLIED, deadline, timely)
            await self.apply_plan(repos, dossier, plan, event)
            if answers.get("doc_number"):  # the change a registered decision was waiting for
                await repos.changes.close_registrations(dossier.id, kind.name, answers["doc_number"], event.id)
            await self.attach_files(repos, event, stored, uploads)
            await record(repos, self.clock, self.actor, f"change.{kind.name}", "dossier", dossier.id,
                         event=event.id, on_time=timely, fields=sorted(plan.changes), attachments=len(stored),
                         **({"cautions": [{"message": c.message, **c.params} for c in plan.cautions]}
                            if plan.cautions else {}))
        return Logged(event.id, dossier.id, dossier.full_name, kind.name, APPLIED, deadline, timely, tuple(plan.lines),
                      tuple(plan.cautions))

    async def _register(self, dossier_id: int, answers: dict[str, str], stored: list[StoredFile],
                        uploads: Uploads) -> Logged:
        """A decision received but not entered yet: recorded with its deadline, nothing changed."""
        kind = KINDS["registration"]
        async with sensitive(self.uow, self.actor, self.clock, Action.EDIT_DOSSIER) as repos:
            dossier, custodian, _working = await self.editable(repos, dossier_id)
            deadline, _timely = await self.deadline(repos, kind, answers, declared=False)
            event = await self.add_event(repos, kind, dossier, custodian, answers, REGISTERED, deadline, None)
            await self.attach_files(repos, event, stored, uploads)
            await record(repos, self.clock, self.actor, "change.registered", "dossier", dossier.id, event=event.id,
                         for_kind=answers["for_kind"], deadline=deadline.isoformat() if deadline else None)
        return Logged(event.id, dossier.id, dossier.full_name, kind.name, REGISTERED, deadline, None, ())
