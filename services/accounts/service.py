"""Accounts: issued by the personnel office, activated once with a code, guarded by a password.

Activation codes are random, single-use and stored only as a SHA-256 hash (they carry 96 bits of
entropy, so a plain hash is enough and lets a code be looked up). Passwords are stored with argon2.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.core import validation
from services.core.actor import AccountStatus, Actor, Channel, Role
from services.core.clock import Clock
from services.core.errors import InvalidInput, PermissionDenied, ServiceError
from services.core.i18n import N_
from services.core.policy import Action, scope_of
from services.platform.audit import record
from services.platform.sessions import sensitive
from services.platform.units import unit_by_code
from storage import Repositories, UnitOfWork
from storage.models import Account, OrgUnit

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
ACTIVATION_TTL = dt.timedelta(hours=72)
MIN_PASSWORD_LENGTH = 8
MAX_FAILED_ATTEMPTS = 5
# Channels a secret (an activation code, a password) never travels through: a third party's cloud keeps the
# chat, and it cannot delete a message. Their users link an active account with a one-time code (links.py).
NO_SECRETS = frozenset({Channel.ZALO})

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


def new_activation_code() -> str:
    return secrets.token_urlsafe(12)  # 16 characters, fit for a t.me/<bot>?start= deep link


@dataclass(frozen=True, slots=True)
class IssuedCode:
    username: str
    activation_code: str
    expires_at: dt.datetime

    def as_dict(self) -> dict[str, str]:
        return {"username": self.username, "activation_code": self.activation_code,
                "expires_at": self.expires_at.isoformat()}


@dataclass(frozen=True, slots=True)
class AccountView:
    username: str
    full_name: str
    role: str
    status: str
    unit_code: str
    unit_name: str
    bound: bool  # reached on some channel: a live identity
    extra_units: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()  # the channels it is bound on


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    ok: bool
    attempts_left: int
    locked: bool = False


class ActivationRefused(ServiceError):
    def __init__(self) -> None:
        # One answer for unknown, used, expired and foreign codes: it tells an attacker nothing.
        super().__init__(N_("This activation code is not valid, already used or expired. Ask the personnel office for a new one."))


def _view(account: Account, unit: OrgUnit, extra_units: Sequence[str] = (), channels: Sequence[str] = ()) -> AccountView:
    return AccountView(account.username, account.full_name, account.role, account.status, unit.code, unit.name,
                       bool(channels), tuple(extra_units), tuple(channels))


async def _current_view(repos: Repositories, account: Account) -> AccountView:
    unit = await repos.units.get(account.unit_id)
    assert unit is not None  # account.unit_id is a foreign key, and units are never deleted
    return _view(account, unit, channels=[identity.channel for identity in await repos.identities.live(account.id)])


def _required(field: str, value: str | None, message: str) -> str:
    cleaned = " ".join((value or "").split())
    if not cleaned:
        raise InvalidInput(field, message)
    return cleaned


def check_password_rule(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("password", N_("The password needs at least {count} characters."), count=MIN_PASSWORD_LENGTH)


def validate_new_account(username: str, role: str, full_name: str, request_ref: str) -> tuple[str, str, str]:
    """The checks of a new account that need no database; returns the cleaned username, name, request."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise InvalidInput("username", N_("A username is 3 to 64 lower-case letters, digits, dots, dashes or underscores."))
    if role not in set(Role):
        raise InvalidInput("role", N_("Unknown role {role}."), role=role)
    full_name = _required("name", full_name, N_("The person's full name is required."))
    request_ref = _required("request", request_ref, N_("The written request (number and date) is required."))
    return username, full_name, request_ref


async def issue_account(repos: Repositories, actor: Actor, clock: Clock, username: str, unit_code: str, role: str,
                        full_name: str, request_ref: str, ttl: dt.timedelta = ACTIVATION_TTL,
                        personal_id: str | None = None) -> IssuedCode:
    """Create a pending account and its one-time activation code, inside the caller's transaction.
    An employee's account names the personal ID of their own dossier."""
    username, full_name, request_ref = validate_new_account(username, role, full_name, request_ref)
    if role == Role.EMPLOYEE:
        personal_id = validation.personal_id(personal_id or "")
    elif personal_id:
        raise InvalidInput("personal_id", N_("Only an employee's account names a personal ID."))
    if await repos.accounts.by_username(username) is not None:
        raise InvalidInput("username", N_("The username {username} is taken."), username=username)
    unit = await unit_by_code(repos, unit_code)
    code, expires = new_activation_code(), clock.now() + ttl
    account = await repos.accounts.add(Account(
        username=username, full_name=full_name, unit_id=unit.id, role=role,
        status=AccountStatus.PENDING, activation_code_hash=code_hash(code), activation_expires_at=expires,
        request_ref=request_ref, created_at=clock.now(), personal_id=personal_id,
    ))
    await record(repos, clock, actor, "account.issue", "account", account.username,
                 unit=unit.code, role=role, request=request_ref, expires_at=expires.isoformat())
    return IssuedCode(username, code, expires)


class AccountService:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock

    # -- the personnel office ----------------------------------------------------------------------
    async def issue(self, username: str, unit_code: str, role: str, full_name: str, request_ref: str,
                    ttl: dt.timedelta = ACTIVATION_TTL, personal_id: str | None = None) -> IssuedCode:
        async with sensitive(self.uow, self.actor, self.clock, Action.MANAGE_ACCOUNTS) as repos:
            return await issue_account(repos, self.actor, self.clock, username, unit_code, role, full_name,
                                       request_ref, ttl, personal_id)

    async def listing(self, unit_code: str | None = None) -> list[AccountView]:
        async with sensitive(self.uow, self.actor, self.clock, Action.MANAGE_ACCOUNTS) as repos:
            prefixes = scope_of(self.actor, Action.MANAGE_ACCOUNTS)
            if unit_code:
                prefixes = ((await unit_by_code(repos, unit_code, active=False)).path,)
            rows = await repos.accounts.listing(prefixes)
            ids = [account.id for account, _unit in rows]
            extensions, channels = await repos.accounts.scope_codes(ids), await repos.identities.channels(ids)
            return [_view(account, unit, extensions.get(account.id, ()), channels.get(account.id, ()))
                    for account, unit in rows]

    async def _account(self, repos: Repositories, username: str) -> Account:
        account = await repos.accounts.by_username(username.strip().lower())
        if account is None:
            raise InvalidInput("username", N_("No account has the username {username}."), username=username)
        return account

    async def _own_account(self, repos: Repositories) -> Account:
        """The actor's own account; an actor without one (anonymous, or the CLI's system actor) is refused."""
        if self.actor.account_id is None:
            raise PermissionDenied()
        account = await repos.accounts.get(self.actor.account_id)
        assert account is not None  # the actor was loaded from this account, and accounts are never deleted
        return account

    def _no_secret_here(self) -> None:
        if self.actor.channel in NO_SECRETS:
            raise PermissionDenied(N_("No password or activation code is ever typed here: use the web chat."))

    async def _set_status(self, username: str, action: str, status: AccountStatus, allowed_from: set[AccountStatus],
                          request_ref: str | None) -> AccountView:
        async with sensitive(self.uow, self.actor, self.clock, Action.MANAGE_ACCOUNTS) as repos:
            account = await self._account(repos, username)
            if account.status not in allowed_from:
                raise InvalidInput("username", N_("Account {username} is {status}; that cannot be done now."),
                                   username=account.username, status=account.status)
            previous, account.status = account.status, status
            if status is AccountStatus.ACTIVE:
                account.failed_attempts = 0
            await record(repos, self.clock, self.actor, action, "account", account.username,
                         old=previous, new=status.value, request=request_ref)
            return await _current_view(repos, account)

    async def restrict(self, username: str, request_ref: str | None = None) -> AccountView:
        return await self._set_status(username, "account.restrict", AccountStatus.RESTRICTED,
                                      {AccountStatus.ACTIVE}, request_ref)

    async def restore(self, username: str, request_ref: str | None = None) -> AccountView:
        return await self._set_status(username, "account.restore", AccountStatus.ACTIVE,
                                      {AccountStatus.RESTRICTED}, request_ref)

    async def unlock(self, username: str, request_ref: str | None = None) -> AccountView:
        return await self._set_status(username, "account.unlock", AccountStatus.ACTIVE,
                                      {AccountStatus.LOCKED}, request_ref)

    async def revoke(self, username: str, request_ref: str | None = None) -> AccountView:
        """For good, on every channel at once: the status refuses whichever identity the account is reached
        by (services/core/identity.py gives it no role); the identities stay, as its history."""
        every_live = {AccountStatus.PENDING, AccountStatus.ACTIVE, AccountStatus.RESTRICTED, AccountStatus.LOCKED}
        return await self._set_status(username, "account.revoke", AccountStatus.REVOKED, every_live, request_ref)

    async def extend(self, username: str, unit_code: str, request_ref: str | None = None) -> AccountView:
        async with sensitive(self.uow, self.actor, self.clock, Action.MANAGE_ACCOUNTS) as repos:
            account = await self._account(repos, username)
            unit = await unit_by_code(repos, unit_code)
            if await repos.accounts.extend_scope(account, unit, request_ref, self.clock.now()):
                await record(repos, self.clock, self.actor, "account.extend", "account", account.username,
                             unit=unit.code, request=request_ref)
            return await _current_view(repos, account)

    async def reset(self, username: str, request_ref: str, ttl: dt.timedelta = ACTIVATION_TTL) -> IssuedCode:
        """A lost password: the regulation asks for a written request. The account is unbound on every
        channel (its identities revoked) until a new code binds it again."""
        request_ref = _required("request", request_ref, N_("The written request (number and date) is required."))
        async with sensitive(self.uow, self.actor, self.clock, Action.MANAGE_ACCOUNTS) as repos:
            account = await self._account(repos, username)
            if account.status == AccountStatus.REVOKED:
                raise InvalidInput("username", N_("Account {username} is revoked."), username=account.username)
            code, expires = new_activation_code(), self.clock.now() + ttl
            account.activation_code_hash, account.activation_expires_at = code_hash(code), expires
            account.secret_hash = None
            account.status, account.failed_attempts, account.last_active_at = AccountStatus.PENDING, 0, None
            unbound = await repos.identities.revoke(self.clock.now(), account_id=account.id)
            await record(repos, self.clock, self.actor, "account.reset", "account", account.username,
                         request=request_ref, expires_at=expires.isoformat(), unbound=unbound)
        return IssuedCode(account.username, code, expires)

    # -- the account holder ------------------------------------------------------------------------
    async def activate(self, code: str) -> AccountView:
        """Bind the account of `code` to the actor's identity on its channel; the code is spent. The account's
        earlier identity on that channel, if any, is revoked: the new one replaces it."""
        self._no_secret_here()
        channel, address = self.actor.channel, self.actor.address
        if channel is None or address is None:
            raise ActivationRefused()
        async with self.uow.write() as repos:
            account = await repos.accounts.by_activation_hash(code_hash(code))
            usable = code_usable(account, self.clock.now())
            if account is None or not usable:  # (usable already implies an account)
                await record(repos, self.clock, self.actor, "auth.activation_refused", "account",
                             account.username if account else None)
            elif self.actor.account_id is not None and self.actor.status != AccountStatus.REVOKED:
                usable = False  # one identity, one live account
                await record(repos, self.clock, self.actor, "auth.activation_refused", "account",
                             account.username, reason=f"{channel} user bound to another account")
            else:
                if self.actor.account_id is not None:  # a revoked account gives this identity up
                    await repos.identities.revoke(self.clock.now(), account_id=self.actor.account_id,
                                                  channel=channel, address=address)
                await repos.identities.bind(account.id, channel, address, self.clock.now())
                account.activation_code_hash, account.activation_expires_at = None, None
                await record(repos, self.clock, self.actor, "auth.activate", "account", account.username)
                view = await _current_view(repos, account)
        if not usable:
            raise ActivationRefused()
        return view

    async def choose_first_password(self, password: str) -> None:
        self._no_secret_here()
        check_password_rule(password)
        if not self.actor.pending_password:
            raise PermissionDenied()
        async with self.uow.write() as repos:
            account = await self._own_account(repos)
            account.secret_hash = await hashed(password)
            now = self.clock.now()
            account.status, account.activated_at, account.last_active_at = AccountStatus.ACTIVE, now, now
            account.last_seen_at = now
            await record(repos, self.clock, self.actor, "auth.password_set", "account", account.username)

    async def confirm_password(self, password: str) -> PasswordCheck:
        """Sign in again after idling. Each failure is audited; the fifth locks the account."""
        self._no_secret_here()
        if self.actor.account_id is None or self.actor.is_anonymous:
            raise PermissionDenied()
        async with self.uow.write() as repos:
            return await check_password(repos, self.clock, self.actor, await self._own_account(repos), password)

    async def set_password(self, new: str) -> None:
        """A new password, right after the current one was confirmed (the session is then fresh)."""
        self._no_secret_here()
        check_password_rule(new)
        async with sensitive(self.uow, self.actor, self.clock, Action.VIEW_OVERVIEW) as repos:
            account = await self._own_account(repos)
            account.secret_hash = await hashed(new)
            await record(repos, self.clock, self.actor, "auth.password_changed", "account", account.username)

    async def logout(self) -> None:
        """Sign out here: the identity of this channel is revoked; the account's other channels stay bound."""
        if self.actor.account_id is None:
            raise PermissionDenied()
        async with self.uow.write() as repos:
            account = await self._own_account(repos)
            if self.actor.channel is not None:
                await repos.identities.revoke(self.clock.now(), account_id=account.id, channel=self.actor.channel)
            account.last_active_at = None
            account.last_seen_at = self.clock.now()
            await record(repos, self.clock, self.actor, "auth.logout", "account", account.username)


def code_usable(account: Account | None, now: dt.datetime) -> bool:
    """The account a code was issued to may still be activated with it: pending, and the code not expired."""
    return (account is not None and account.status == AccountStatus.PENDING
            and account.activation_expires_at is not None and account.activation_expires_at > now)


async def check_password(repos: Repositories, clock: Clock, actor: Actor, account: Account,
                         password: str) -> PasswordCheck:
    """The account's password, on whichever channel it is typed: a success makes the session fresh, each
    failure is audited and counted on the account (so the lockout counts across channels); the fifth locks it."""
    if await password_matches(account.secret_hash, password):
        account.failed_attempts, account.last_active_at = 0, clock.now()
        account.last_seen_at = account.last_active_at
        await record(repos, clock, actor, "auth.success", "account", account.username)
        return PasswordCheck(True, MAX_FAILED_ATTEMPTS)
    account.failed_attempts += 1
    await record(repos, clock, actor, "auth.failure", "account", account.username, attempt=account.failed_attempts)
    locked = account.failed_attempts >= MAX_FAILED_ATTEMPTS
    if locked:
        account.status = AccountStatus.LOCKED
        await record(repos, clock, actor, "account.locked", "account", account.username)
    return PasswordCheck(False, max(0, MAX_FAILED_ATTEMPTS - account.failed_attempts), locked)


async def hashed(password: str) -> str:
    """argon2 takes a tenth of a second on purpose: off the event loop, which serves everyone meanwhile."""
    return await asyncio.to_thread(hash_password, password)


async def password_matches(secret_hash: str | None, password: str) -> bool:
    """Whether `password` is the one of `secret_hash`, checked off the event loop. With no hash (an unknown
    or unusable account) a stand-in is checked all the same, so that the answer takes as long either way."""
    return await asyncio.to_thread(_matches, secret_hash or _stand_in(), password) and bool(secret_hash)


@functools.cache
def _stand_in() -> str:
    return hash_password(secrets.token_urlsafe(16))


def _matches(secret_hash: str | None, password: str) -> bool:
    if not secret_hash:
        return False
    try:
        return _hasher.verify(secret_hash, password)
    except (VerificationError, InvalidHashError):
        return False
