"""A unit asks the personnel office for accounts for its subordinate units; the office approves,
citing the written agreement, and the account is issued like any other."""

from __future__ import annotations

from dataclasses import dataclass

from services.accounts.service import IssuedCode, issue_account, validate_new_account
from services.core.actor import Actor, Role
from services.core.clock import Clock
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.core.policy import Action, ensure
from services.platform.audit import record
from services.platform.sessions import sensitive
from services.platform.units import unit_by_code
from storage import Repositories, UnitOfWork
from storage.models import SubAccountRequest

REQUESTABLE_ROLES = (Role.CLERK.value, Role.MANAGER.value)
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


@dataclass(frozen=True, slots=True)
class SubAccountView:
    id: int
    unit_code: str
    unit_name: str
    username: str
    full_name: str
    role: str
    request_ref: str
    status: str


def _view(request: SubAccountRequest, unit_code: str, unit_name: str) -> SubAccountView:
    return SubAccountView(request.id, unit_code, unit_name, request.username, request.full_name, request.role,
                          request.request_ref, request.status)


class SubAccountService:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock

    async def request(self, unit_code: str, username: str, full_name: str, role: str, request_ref: str) -> SubAccountView:
        if role not in REQUESTABLE_ROLES:
            raise InvalidInput("role", N_("A unit may ask for clerk or manager accounts only."))
        username, full_name, request_ref = validate_new_account(username, role, full_name, request_ref)
        async with sensitive(self.uow, self.actor, self.clock, Action.REQUEST_SUBACCOUNT) as repos:
            unit = await unit_by_code(repos, unit_code)
            # Subordinate units only: strictly below the requester's own unit, within its scope.
            if unit.id == self.actor.unit_id:
                raise InvalidInput("unit", N_("Ask for units below your own; your own unit's accounts come from the personnel office."))
            ensure(self.actor, Action.REQUEST_SUBACCOUNT, unit.path)
            await _ensure_username_free(repos, username)
            request = await repos.subaccounts.add(SubAccountRequest(
                requested_by_id=self.actor.account_id, unit_id=unit.id, username=username, full_name=full_name,
                role=role, request_ref=request_ref, status=PENDING, created_at=self.clock.now(),
            ))
            await record(repos, self.clock, self.actor, "subaccount.request", "subaccount_request", request.id,
                         unit=unit.code, username=username, role=role, request=request_ref)
            return _view(request, unit.code, unit.name)

    async def pending(self) -> list[SubAccountView]:
        async with sensitive(self.uow, self.actor, self.clock, Action.MANAGE_ACCOUNTS) as repos:
            return [_view(request, unit.code, unit.name) for request, unit in await repos.subaccounts.listing()]

    async def approve(self, request_id: int, agreement_ref: str) -> IssuedCode:
        agreement_ref = " ".join((agreement_ref or "").split())
        if not agreement_ref:
            raise InvalidInput("agreement", N_("Cite the written agreement (number and date)."))
        async with sensitive(self.uow, self.actor, self.clock, Action.MANAGE_ACCOUNTS) as repos:
            request = await self._pending(repos, request_id)
            unit = await repos.units.get(request.unit_id)
            assert unit is not None  # request.unit_id is a foreign key, and units are never deleted
            issued = await issue_account(repos, self.actor, self.clock, request.username, unit.code, request.role,
                                         request.full_name, f"{request.request_ref}; {agreement_ref}")
            account = await repos.accounts.by_username(issued.username)
            assert account is not None  # issue_account has just added it, in this transaction
            request.status, request.agreement_ref, request.account_id = APPROVED, agreement_ref, account.id
            request.decided_by_id, request.decided_at = self.actor.account_id, self.clock.now()
            await record(repos, self.clock, self.actor, "subaccount.approve", "subaccount_request", request.id,
                         agreement=agreement_ref, username=issued.username)
            return issued

    async def reject(self, request_id: int, reason: str) -> SubAccountView:
        reason = " ".join((reason or "").split())
        if not reason:
            raise InvalidInput("reason", N_("A rejection needs a reason."))
        async with sensitive(self.uow, self.actor, self.clock, Action.MANAGE_ACCOUNTS) as repos:
            request = await self._pending(repos, request_id)
            request.status, request.reason = REJECTED, reason
            request.decided_by_id, request.decided_at = self.actor.account_id, self.clock.now()
            await record(repos, self.clock, self.actor, "subaccount.reject", "subaccount_request", request.id,
                         reason=reason)
            unit = await repos.units.get(request.unit_id)
            assert unit is not None  # request.unit_id is a foreign key, and units are never deleted
            return _view(request, unit.code, unit.name)

    @staticmethod
    async def _pending(repos: Repositories, request_id: int) -> SubAccountRequest:
        request = await repos.subaccounts.get(request_id)
        if request is None or request.status != PENDING:
            raise InvalidInput("request_id", N_("There is no pending request number {number}."), number=request_id)
        return request


async def _ensure_username_free(repos: Repositories, username: str) -> None:
    if await repos.accounts.by_username(username) is not None:
        raise InvalidInput("username", N_("The username {username} is taken."), username=username)
    for request, _unit in await repos.subaccounts.listing():
        if request.username == username:
            raise InvalidInput("username", N_("The username {username} is taken."), username=username)
