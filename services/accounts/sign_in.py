"""Signing in where HoSo itself asks for the username and the password: the web chat.

There the channel's address is the account itself (`str(account.id)`): signing in binds the account's
identity on that channel, as an activation code binds a Telegram user. The rules are those of Telegram's:
the activation code issued by `hoso account add` (or a reset), the password rule, and the five-failure
lockout, counted on the account whatever the channel the passwords were typed on.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.accounts.service import (
    ActivationRefused,
    check_password,
    check_password_rule,
    code_hash,
    code_usable,
    hashed,
    password_matches,
)
from services.core.actor import AccountStatus, Actor
from services.core.clock import Clock
from services.core.errors import ServiceError
from services.core.i18n import N_
from services.platform.audit import record
from storage import Repositories, UnitOfWork
from storage.models import Account


@dataclass(frozen=True, slots=True)
class SignedIn:
    account_id: int
    username: str
    full_name: str
    locale: str | None


class SignInRefused(ServiceError):
    def __init__(self) -> None:
        # One answer for an unknown username, a wrong password and an account that cannot sign in: it tells
        # an attacker nothing about which usernames exist.
        super().__init__(N_("Wrong username or password."))


class AccountLocked(ServiceError):
    def __init__(self) -> None:
        super().__init__(N_("Too many wrong passwords: your account is locked. Ask the personnel office to unlock it."))


# A locked account is told so (after its password is checked no more); pending and revoked ones get the
# plain refusal.
SIGNS_IN = frozenset({AccountStatus.ACTIVE, AccountStatus.RESTRICTED, AccountStatus.LOCKED})


class PasswordSignIn:
    """`actor` is the anonymous visitor of the channel (`Actor.anonymous(channel, None)`)."""

    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        if actor.channel is None:
            raise ValueError("a sign-in happens on a channel")
        self.uow, self.actor, self.clock, self.channel = uow, actor, clock, actor.channel

    async def sign_in(self, username: str, password: str) -> SignedIn:
        refusal: ServiceError
        async with self.uow.write() as repos:  # a refusal is raised after the commit: its audit and count stay
            account = await repos.accounts.by_username(username.strip().lower())
            if account is None or account.status not in SIGNS_IN:
                await password_matches(None, password)  # as long as a real check: the answer names no one
                await record(repos, self.clock, self.actor, "auth.failure", "account", account.username if account else None)
                refusal = SignInRefused()
            elif account.status == AccountStatus.LOCKED:
                await record(repos, self.clock, self.actor, "auth.failure", "account", account.username, reason="locked")
                refusal = AccountLocked()
            else:
                check = await check_password(repos, self.clock, self._as(account), account, password)
                if check.ok:
                    await self._bind(repos, account)
                    return self._signed_in(account)
                refusal = AccountLocked() if check.locked else SignInRefused()
        raise refusal

    async def activate(self, code: str, password: str) -> SignedIn:
        """The first sign-in: the code issued by the personnel office and a new password, in one step. A
        password that breaks the rule is refused before the code is spent."""
        check_password_rule(password)
        async with self.uow.write() as repos:
            account = await repos.accounts.by_activation_hash(code_hash(code.strip()))
            if account is None or not code_usable(account, self.clock.now()):
                await record(repos, self.clock, self.actor, "auth.activation_refused", "account",
                             account.username if account else None)
            else:
                now = self.clock.now()
                account.activation_code_hash, account.activation_expires_at = None, None
                account.secret_hash = await hashed(password)
                account.status, account.activated_at, account.last_active_at = AccountStatus.ACTIVE, now, now
                account.last_seen_at, account.failed_attempts = now, 0
                await self._bind(repos, account)
                await record(repos, self.clock, self._as(account), "auth.activate", "account", account.username)
                await record(repos, self.clock, self._as(account), "auth.password_set", "account", account.username)
                return self._signed_in(account)
        raise ActivationRefused()  # after the write block, so that the refusal's audit row is kept

    def _as(self, account: Account) -> Actor:
        """The audit names the account's address on this channel, from the first row of the sign-in."""
        return Actor.anonymous(self.channel, account.id)

    async def _bind(self, repos: Repositories, account: Account) -> None:
        address = str(account.id)
        if await repos.identities.address(account.id, self.channel) != address:
            await repos.identities.bind(account.id, self.channel, address, self.clock.now())

    @staticmethod
    def _signed_in(account: Account) -> SignedIn:
        return SignedIn(account.id, account.username, account.full_name, account.locale)
