"""Custody transfers (Hậu Giang Art. 9, HCMC Art. 10): a dossier stays with the unit that manages it
and is handed over only when the receiving unit asks for it in writing and the holding unit agrees.

A request is a `TransferRequest` with a pending change event of kind "custody" (which carries the scanned
letter). Approval moves the custodian in one transaction with the event, a version and the audit; the
old unit then loses write access, and read access unless it is still the working unit. At most one
request per dossier is pending, which the database enforces too, so two clerks racing cannot both ask,
and two approvers racing cannot both apply: the second finds the request decided.

Each step tells the other side through the outbox, in the step's own transaction (services.platform.outbox
`notify`): a request asks the holding unit's clerks to decide it; its approval or rejection is told to the
clerk who asked, its withdrawal to the holding unit's clerks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from services.changes import checks
from services.changes.planners import Line, Plan
from services.changes.recording import APPLIED, PENDING, REJECTED, Recorder
from services.core.actor import Actor, Role
from services.core.clock import Clock, local_today
from services.core.errors import InvalidInput, PermissionDenied
from services.core.i18n import N_
from services.core.policy import EVERYWHERE, Action, allows, can, scope_of
from services.dossiers.lookup import PAGE_SIZE, parse_query
from services.platform.attachments import FileStore, Upload
from services.platform.audit import record
from services.platform.outbox import Due, enqueue, notify
from services.platform.sessions import sensitive
from services.platform.units import ACTIVE, unit_by_code
from services.regime.calendar import working_calendar
from services.regime.change_kinds import CUSTODY
from services.regime.setup import profile_of
from storage import Repositories, UnitOfWork
from storage.models import ChangeEvent, Dossier, OrgUnit, TransferRequest
from storage.transfers import Row

APPROVED, WITHDRAWN = "approved", "withdrawn"
ALREADY_DECIDED = {
    APPROVED: N_("Request #{number} was already approved."),
    REJECTED: N_("Request #{number} was already rejected."),
    WITHDRAWN: N_("Request #{number} was already withdrawn."),
}


# The personnel office reaches every dossier, so it never asks for one: the unit that needs it does.
OFFICE_DOES_NOT_ASK = N_("The personnel office does not ask for dossiers: it already reaches every dossier of the "
                         "province. A dossier changes hands when the unit that needs it asks in writing (its clerk "
                         "sends /transfer); /transfer alone lists the requests waiting for a decision.")
ALREADY_OURS = N_("The dossier is kept by {unit}, one of your units: there is nothing to ask for.")


@dataclass(frozen=True, slots=True)
class Candidate:
    """What a receiving clerk may see of a dossier held elsewhere: no more than this."""

    id: int
    full_name: str
    birth_year: int
    holding_unit: str


@dataclass(frozen=True, slots=True)
class CandidatePage:
    query: str
    page: int
    candidates: tuple[Candidate, ...]
    has_next: bool


@dataclass(frozen=True, slots=True)
class TransferView:
    id: int
    dossier_id: int
    full_name: str
    requesting_unit: str
    holding_unit: str
    request_number: str
    request_date: dt.date
    signer: str
    status: str
    requested_at: dt.datetime
    reason: str | None
    escalated: bool
    incoming: bool  # the actor may approve it (holding side)
    outgoing: bool  # the actor may withdraw it (requesting side)


class TransferService:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock, files: FileStore | None = None) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock
        self.recorder = Recorder(uow, actor, clock, files)  # the change event, its papers and the version

    # -- finding the person ------------------------------------------------------------------------------
    async def candidates(self, query: str, page: int = 0) -> CandidatePage:
        """The province-wide lookup of a receiving clerk: name, birth year and holding unit only."""
        self._refuse_office()
        terms = parse_query(query)
        if not terms.words and terms.birth_date is None:
            raise InvalidInput("query", N_("Type a name, a personal ID or a birth date (dd/mm/yyyy)."))
        page = max(0, page)
        async with sensitive(self.uow, self.actor, self.clock, Action.REQUEST_TRANSFER) as repos:
            found = await repos.search.find(terms, EVERYWHERE, limit=PAGE_SIZE + 1, offset=page * PAGE_SIZE)
            shown = found[:PAGE_SIZE]
            held = {d.id: unit for d, unit, _w in [await repos.dossiers.with_units(f.id) for f in shown] if d}  # type: ignore[misc]
            await record(repos, self.clock, self.actor, "transfer.search", "search", None, query=query, page=page,
                         shown=[f.id for f in shown])
        return CandidatePage(query, page, tuple(Candidate(f.id, f.full_name, f.birth_date.year, held[f.id].name)
                                                for f in shown if f.id in held), len(found) > PAGE_SIZE)

    async def describe(self, dossier_id: int) -> Candidate:
        """The little a receiving clerk sees of the dossier they are asking for."""
        async with sensitive(self.uow, self.actor, self.clock, Action.REQUEST_TRANSFER) as repos:
            found = await repos.dossiers.with_units(dossier_id)
            await record(repos, self.clock, self.actor, "transfer.describe", "dossier", dossier_id,
                         found=found is not None)
        if found is None:
            raise PermissionDenied()
        self._refuse_own(found[1])
        return Candidate(found[0].id, found[0].full_name, found[0].birth_date.year, found[1].name)

    async def asking_units(self, dossier_id: int) -> list[tuple[str, str]]:
        """The units that may ask for this dossier, as (code, label): the actor's own, active, never the one
        that keeps it."""
        scope = scope_of(self.actor, Action.REQUEST_TRANSFER)
        async with self.uow.read() as repos:
            found = await repos.dossiers.with_units(dossier_id)
            if found is None:
                raise PermissionDenied()
            holding = found[1]
            units = await repos.units.subtree("/")
        return [(u.code, f"{u.code} — {u.name}") for u in units
                if u.status == ACTIVE and u.id != holding.id and any(u.path.startswith(p) for p in scope)][:24]

    def _refuse_office(self) -> None:
        if scope_of(self.actor, Action.EDIT_DOSSIER) == EVERYWHERE:
            raise InvalidInput("dossier", OFFICE_DOES_NOT_ASK)

    def _refuse_own(self, holding: OrgUnit) -> None:
        """Refused before the first question, with the true reason: the office never asks, and a clerk does not
        ask for what their own units keep."""
        self._refuse_office()
        if can(self.actor, Action.EDIT_DOSSIER, holding.path):
            raise InvalidInput("dossier", ALREADY_OURS, unit=holding.name)

    async def check(self, key: str, value: str) -> str:
        return await checks.check(self.uow, self.actor, self.clock, CUSTODY.name, key, value)

    # -- asking -------------------------------------------------------------------------------------------
    async def request(self, dossier_id: int, answers: dict[str, str],
                      uploads: list[Upload] | tuple[Upload, ...] = ()) -> TransferView:
        if not allows(self.actor, Action.REQUEST_TRANSFER):  # refused before any answer is judged
            raise PermissionDenied()
        checked = {p.key: await self.check(p.key, answers.get(p.key, "")) for p in CUSTODY.prompts}
        stored = [self.recorder.check_file(upload) for upload in uploads]
        try:
            async with sensitive(self.uow, self.actor, self.clock, Action.REQUEST_TRANSFER) as repos:
                result = await self._request(repos, dossier_id, checked, stored, uploads)
        except IntegrityError:  # another clerk's request won the race for this dossier
            async with self.uow.read() as repos:
                await self._refuse_second(repos, dossier_id)
            raise
        return result

    async def _request(self, repos: Repositories, dossier_id: int, answers: dict[str, str], stored: list,
                       uploads: list[Upload] | tuple[Upload, ...]) -> TransferView:
        found = await repos.dossiers.with_units(dossier_id)
        if found is None:
            raise PermissionDenied()
        dossier, holding, _working = found
        receiving = await unit_by_code(repos, answers["receiving_unit"], "receiving_unit",
                                       scope=scope_of(self.actor, Action.REQUEST_TRANSFER))
        self._refuse_own(holding)
        if holding.id == receiving.id:
            raise InvalidInput("receiving_unit", ALREADY_OURS, unit=holding.name)
        await self._refuse_second(repos, dossier.id)
        today = local_today(self.clock)
        payload = {"from_unit": holding.code, "from_name": holding.name, "to_unit": receiving.code,
                   "to_name": receiving.name, "effective_on": today.strftime("%d/%m/%Y"),
                   **{k: answers[k] for k in ("doc_number", "doc_date", "doc_issuer")}}
        event = await self.recorder.add_event(repos, CUSTODY, dossier, holding, payload, PENDING, None, None)
        request = await repos.transfers.add(TransferRequest(
            dossier_id=dossier.id, change_event_id=event.id, requesting_unit_id=receiving.id,
            holding_unit_id=holding.id, request_number=answers["doc_number"],
            request_date=event.doc_date or today, signer=answers["doc_issuer"], status=PENDING,
            requested_by=self.actor.account_id, requested_at=self.clock.now()))
        await self.recorder.attach_files(repos, event, stored, uploads)
        await record(repos, self.clock, self.actor, "transfer.request", "dossier", dossier.id, request=request.id,
                     holding=holding.code, receiving=receiving.code, letter=answers["doc_number"])
        await notify(repos, self.clock, "transfer_requested", await repos.changes.clerks_reached(holding.path),
                     "transfer", str(request.id), {
                         "request": request.id, "name": dossier.full_name, "holder": holding.name,
                         "receiver": receiving.name, "letter": request.request_number,
                         "date": request.request_date.isoformat(), "signer": request.signer,
                         # dropped unsent if the dossier changes hands meanwhile
                         "dossier_id": dossier.id, "unit_path": holding.path})
        return self._view((request, dossier, receiving, holding))

    async def _refuse_second(self, repos: Repositories, dossier_id: int) -> None:
        first = await repos.transfers.pending_for(dossier_id)
        if first is not None:
            requesting = await repos.units.get(first.requesting_unit_id)
            raise InvalidInput("dossier", N_("Request #{number} of {unit} for this dossier is already pending; "
                                             "wait for its decision."),
                               number=first.id, unit=requesting.name if requesting else "?")

    # -- deciding -----------------------------------------------------------------------------------------
    async def to_decide(self, request_id: int) -> TransferView:
        """A pending request the actor may decide, to show before the approval is confirmed."""
        if not allows(self.actor, Action.APPROVE_TRANSFER):
            raise PermissionDenied()
        async with self.uow.read() as repos:
            row = await repos.transfers.one(request_id)
            if row is None or not can(self.actor, Action.APPROVE_TRANSFER, row[3].path):
                raise PermissionDenied()
            if row[0].status != PENDING:
                raise InvalidInput("request", ALREADY_DECIDED.get(row[0].status, ALREADY_DECIDED[APPROVED]),
                                   number=request_id)
        return self._view(row)

    async def approve(self, request_id: int) -> TransferView:
        async with sensitive(self.uow, self.actor, self.clock, Action.APPROVE_TRANSFER) as repos:
            request, dossier, requesting, holding, event = await self._pending(repos, request_id, holding_side=True)
            now = self.clock.now()
            request.status, request.decided_by, request.decided_at = APPROVED, self.actor.account_id, now
            # The dossier changes hands now, not on the day it was asked for: the version, the work-history
            # line and /history date the move from the approval, and name who approved it.
            today = local_today(self.clock)
            event.status, event.decided_by, event.decided_at = APPLIED, self.actor.account_id, now
            event.effective_on, event.payload = today, {**event.payload, "effective_on": today.strftime("%d/%m/%Y")}
            await self.move_custody(repos, dossier, requesting, event)
            await record(repos, self.clock, self.actor, "transfer.approve", "dossier", dossier.id,
                         request=request.id, from_unit=holding.code, to_unit=requesting.code)
            await self._tell(repos, request, dossier, requesting, await self._requester(repos, request))
            return self._view((request, dossier, requesting, holding))

    async def reject(self, request_id: int, reason: str) -> TransferView:
        reason = " ".join(reason.split())
        if not reason:
            raise InvalidInput("reason", N_("A rejection needs a reason."))
        if len(reason) > 500:
            raise InvalidInput("reason", N_("Too long: at most {limit} characters."), limit=500)
        async with sensitive(self.uow, self.actor, self.clock, Action.APPROVE_TRANSFER) as repos:
            request, dossier, requesting, holding, event = await self._pending(repos, request_id, holding_side=True)
            request.status, request.decided_by, request.decided_at = REJECTED, self.actor.account_id, self.clock.now()
            request.reason, event.status, event.decision_note = reason, REJECTED, reason
            event.decided_by, event.decided_at = self.actor.account_id, self.clock.now()
            await record(repos, self.clock, self.actor, "transfer.reject", "dossier", dossier.id, request=request.id,
                         reason=reason)
            await self._tell(repos, request, dossier, requesting, await self._requester(repos, request))
            return self._view((request, dossier, requesting, holding))

    async def withdraw(self, request_id: int) -> TransferView:
        async with sensitive(self.uow, self.actor, self.clock, Action.REQUEST_TRANSFER) as repos:
            request, dossier, requesting, holding, event = await self._pending(repos, request_id, holding_side=False)
            request.status, request.decided_by, request.decided_at = WITHDRAWN, self.actor.account_id, self.clock.now()
            event.status = WITHDRAWN
            await record(repos, self.clock, self.actor, "transfer.withdraw", "dossier", dossier.id, request=request.id)
            await self._tell(repos, request, dossier, requesting, await repos.changes.clerks_reached(holding.path))
            return self._view((request, dossier, requesting, holding))

    async def _pending(self, repos: Repositories, request_id: int, holding_side: bool
                       ) -> tuple[TransferRequest, Dossier, OrgUnit, OrgUnit, ChangeEvent]:
        """The request, locked, if it is still pending and the actor is on the right side of it."""
        request = await repos.transfers.get_for_update(request_id)
        row = await repos.transfers.one(request_id) if request is not None else None
        if request is None or row is None:
            raise PermissionDenied()
        _request, dossier, requesting, holding = row
        side = holding if holding_side else requesting
        action = Action.APPROVE_TRANSFER if holding_side else Action.REQUEST_TRANSFER
        if not can(self.actor, action, side.path):
            raise PermissionDenied()
        if request.status != PENDING:
            raise InvalidInput("request", ALREADY_DECIDED.get(request.status, ALREADY_DECIDED[APPROVED]),
                               number=request.id)
        if holding_side and dossier.custodian_unit_id != holding.id:
            raise InvalidInput("request", N_("The dossier is no longer held by {unit}."), unit=holding.name)
        event = await repos.changes.get(request.change_event_id)
        assert event is not None
        return request, dossier, requesting, holding, event

    async def merge_custody(self, repos: Repositories, old: OrgUnit, into: OrgUnit, dossier_ids: list[int]) -> None:
        """A unit merge hands every dossier the old unit held to the new one: one custody event each; the
        pending requests of the old unit now concern the new one."""
        await repos.transfers.retarget(old.id, into.id)
        today = local_today(self.clock).strftime("%d/%m/%Y")
        for dossier_id in dossier_ids:
            dossier = await repos.dossiers.get(dossier_id)
            assert dossier is not None
            payload = {"from_unit": old.code, "from_name": old.name, "to_unit": into.code, "to_name": into.name,
                       "merge": "1", "effective_on": today}
            event = await self.recorder.add_event(repos, CUSTODY, dossier, old, payload, APPLIED, None, None)
            await self.move_custody(repos, dossier, into, event)

    async def move_custody(self, repos: Repositories, dossier: Dossier, to: OrgUnit, event: ChangeEvent) -> None:
        """The custodian changes, with a version, in the caller's transaction."""
        holding = await repos.units.get(dossier.custodian_unit_id)
        plan = Plan(changes={"custodian_unit_id": to.id},
                    lines=[Line(N_("Dossier kept by"), holding.name if holding else "—", to.name)])
        plan.records.append({"kind": "work_history", "date_from": event.effective_on, "date_to": None,
                             "data": {"text": f"Hồ sơ chuyển từ {holding.name if holding else '—'} đến {to.name}",
                                      "doc_number": event.doc_number}})
        await self.recorder.apply_plan(repos, dossier, plan, event)

    @staticmethod
    async def _requester(repos: Repositories, request: TransferRequest) -> list[tuple[int, str | None]]:
        found = await repos.transfers.account_reached(request.requested_by)
        return [found] if found else []

    async def _tell(self, repos: Repositories, request: TransferRequest, dossier: Dossier, requesting: OrgUnit,
                    recipients: Sequence[tuple[int, str | None]]) -> None:
        """What became of the request (approved, rejected or withdrawn), to the other side."""
        await notify(repos, self.clock, "transfer_decided", recipients, "transfer", str(request.id), {
            "request": request.id, "name": dossier.full_name, "status": request.status, "unit": requesting.name,
            "reason": request.reason})

    # -- listing and escalation ---------------------------------------------------------------------------
    async def pending(self) -> list[TransferView]:
        """Pending requests on either side of the actor's scope (the admin sees all)."""
        prefixes = scope_of(self.actor, Action.REQUEST_TRANSFER) or scope_of(self.actor, Action.APPROVE_TRANSFER)
        if not prefixes:
            raise PermissionDenied()
        async with self.uow.read() as repos:
            rows = await repos.transfers.pending(prefixes)
        return [self._view(row) for row in rows]

    async def escalate_overdue(self) -> list[TransferView]:
        """Requests pending longer than the profile's limit go to the personnel office, once each: the
        mark and the admins' notices are written in the same transaction, so a crash loses neither."""
        async with self.uow.write() as repos:
            profile = await profile_of(repos)
            now = self.clock.now()
            overdue = await repos.transfers.overdue(now - dt.timedelta(days=profile.transfer_escalation_days))
            if not overdue:
                return []
            today = local_today(self.clock)
            admins = await repos.reminder_sources.admin_chats()
            items = []
            for request, dossier, requesting, holding in overdue:
                request.escalated_at = now
                await record(repos, self.clock, self.actor, "transfer.escalate", "dossier", dossier.id,
                             request=request.id, days=profile.transfer_escalation_days)
                payload = {"request": request.id, "name": dossier.full_name, "days": profile.transfer_escalation_days,
                           "holder": holding.name, "receiver": requesting.name, "letter": request.request_number}
                items += [Due("transfer_escalation", account, "transfer", str(request.id), today,
                              {**payload, "locale": locale}) for account, locale in admins]
            await enqueue(repos, self.clock, items, await working_calendar(repos))
        return [self._view(row) for row in overdue]

    def _view(self, row: Row) -> TransferView:
        request, dossier, requesting, holding = row
        admin = self.actor.role is Role.ADMIN
        return TransferView(
            request.id, dossier.id, dossier.full_name, requesting.name, holding.name, request.request_number,
            request.request_date, request.signer, request.status, request.requested_at, request.reason,
            request.escalated_at is not None,
            incoming=admin or can(self.actor, Action.APPROVE_TRANSFER, holding.path),
            outgoing=can(self.actor, Action.REQUEST_TRANSFER, requesting.path),
        )

