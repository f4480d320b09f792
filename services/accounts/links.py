"""Linking a channel whose users may never be given an activation code or a password (Zalo): a one-time code.

An active account gets a code in the web chat (`issue_own`, shown only there) or from the personnel office's
command line (`issue`); its holder sends it to the HoSo bot on the channel, which binds the sender's address as
the account's identity there (`consume`). A code is valid 15 minutes and works once; a newer one replaces an
older one not yet used. It is stored as its sha256 (`code_hash`, the activation codes' helper): 12 random
characters from 32 (60 bits) that a person can read off one screen and type on a phone. A sender who sends
wrong codes is held back after a few (`MAX_FAILURES` per `FAILURE_WINDOW`, counted per channel and address).
Every issue, link, refusal and unlink is audited; the code itself never is, nor its hash.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from services.accounts.service import code_hash
from services.core.actor import CHANNEL_LABELS, AccountStatus, Actor, Channel
from services.core.clock import Clock
from services.core.errors import InvalidInput, PermissionDenied, ServiceError
from services.core.i18n import N_
from services.core.policy import Action
from services.platform.audit import record
from services.platform.sessions import sensitive
from storage import Repositories, UnitOfWork
from storage.models import Account, LinkCode

LINK_TTL = dt.timedelta(minutes=15)
# The channels an account links with a code: Telegram binds with the activation code, the web chat signs in.
LINKED_BY_CODE = frozenset({Channel.ZALO})
# Where a holder is shown their own code: the one channel where they signed in with their password.
SHOWN_ON = frozenset({Channel.WEB})
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read off a screen, typed on a phone
CODE_LENGTH = 12
CODE_SHAPE = re.compile(rf"^[{ALPHABET}]{{{CODE_LENGTH}}}$")
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class IssuedLink:
    username: str
    channel: str
    code: str  # grouped by four, as shown
    expires_at: dt.datetime

    def as_dict(self) -> dict[str, str]:
        return {"username": self.username, "channel": self.channel, "link_code": self.code,
                "expires_at": self.expires_at.isoformat()}


@dataclass(frozen=True, slots=True)
class Linked:
    username: str
    full_name: str
    channel: str


class LinkRefused(ServiceError):
    """A code that links nothing, with its reason: the codes are too long to guess, so the reason helps the
    holder and tells a guesser nothing."""


UNKNOWN = N_("This code is not valid. Check it, or get a new one in the web chat (/zalo).")
USED = N_("This code was already used. Get a new one in the web chat (/zalo).")
REPLACED = N_("A newer code replaced this one. Send the latest code shown in the web chat.")
EXPIRED = N_("This code has expired: a code is valid for 15 minutes. Get a new one in the web chat (/zalo).")
OTHER_CHANNEL = N_("This code was issued for another channel.")
NOT_ACTIVE = N_("The account of this code cannot be linked: it is not active. Ask the personnel office.")
TAKEN = N_("This {channel} account is already linked to another HoSo account. Unlink it there first (web chat, /zalo).")
TOO_MANY = N_("Too many wrong codes. Wait {minutes} minutes, then send the code again.")


def new_link_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def grouped(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalized(text: str) -> str:
    """A code as typed: case, spaces and dashes do not matter."""
    return re.sub(r"[\s\-]", "", text).upper()


def looks_like_code(text: str) -> bool:
    """Whether a message is shaped like a link code (what else an unlinked sender writes gets the explanation)."""
    return bool(CODE_SHAPE.match(normalized(text)))


def _linkable(channel: str) -> str:
    if channel not in LINKED_BY_CODE:
        raise InvalidInput("channel", N_("Only {channels} is linked with a code."),
                           channels=", ".join(sorted(LINKED_BY_CODE)))
    return channel


class LinkService:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock

    # -- issuing -----------------------------------------------------------------------------------
    async def issue(self, username: str, channel: str) -> IssuedLink:
        """The personnel office (the command line) issues a code for an account, to hand to its holder."""
        channel = _linkable(channel)
        async with sensitive(self.uow, self.actor, self.clock, Action.MANAGE_ACCOUNTS) as repos:
            return await self._issue(repos, await self._account(repos, username), channel)

    async def issue_own(self, channel: str) -> IssuedLink:
        """The holder's own code, shown where they signed in with their password (the web chat) and nowhere
        else: a code shown on the channel it links would prove nothing."""
        channel = _linkable(channel)
        if self.actor.channel not in SHOWN_ON:
            raise PermissionDenied(N_("A link code is shown only in the web chat."))
        async with sensitive(self.uow, self.actor, self.clock, Action.VIEW_OVERVIEW) as repos:
            return await self._issue(repos, await self._own(repos), channel)

    async def _issue(self, repos: Repositories, account: Account, channel: str) -> IssuedLink:
        if account.status != AccountStatus.ACTIVE:
            raise InvalidInput("username", N_("Account {username} is {status}; only an active account is linked."),
                               username=account.username, status=account.status)
        now = self.clock.now()
        replaced = await repos.links.revoke_unused(account.id, channel, now)
        code, expires = new_link_code(), now + LINK_TTL
        await repos.links.add(account.id, channel, code_hash(code), now, expires)
        await record(repos, self.clock, self.actor, "link.issue", "account", account.username, channel=channel,
                     expires_at=expires.isoformat(), replaced=replaced)
        return IssuedLink(account.username, channel, grouped(code), expires)

    # -- linking -----------------------------------------------------------------------------------
    async def consume(self, text: str) -> Linked:
        """Bind the sender (the actor's channel and address) to the account of the code, and spend the code.
        A refusal is raised after its audit row and the sender's failure count are committed."""
        channel, address = self.actor.channel, self.actor.address
        if channel is None or address is None or channel not in LINKED_BY_CODE:
            raise PermissionDenied()
        now = self.clock.now()
        refusal: LinkRefused
        async with self.uow.write() as repos:
            attempts = await repos.links.attempts(channel, address)
            if (attempts is not None and attempts.failures >= MAX_FAILURES
                    and attempts.window_started_at + FAILURE_WINDOW > now):
                wait = attempts.window_started_at + FAILURE_WINDOW - now
                minutes = max(1, -(-int(wait.total_seconds()) // 60))
                raise LinkRefused(TOO_MANY, minutes=minutes)
            found = await repos.links.by_hash(code_hash(normalized(text)))
            account = await repos.accounts.get(found.account_id) if found is not None else None
            reason = self._refusal(found, account, channel, now) or self._taken(account, channel)
            if reason is None:
                assert found is not None and account is not None
                # The address's identity, if any, ends: the account's own (linked again) or a revoked
                # account's, which gives the address up as an activation does.
                await repos.identities.revoke(now, channel=channel, address=address)
                await repos.identities.bind(account.id, channel, address, now)
                found.used_at = now
                await repos.links.clear_failures(channel, address)
                await record(repos, self.clock, self.actor, "link.bind", "account", account.username,
                             channel=channel)
                return Linked(account.username, account.full_name, channel)
            refusal = reason
            await repos.links.count_failure(channel, address, now, FAILURE_WINDOW)
            await record(repos, self.clock, self.actor, "link.refused", "account",
                         account.username if account else None, channel=channel, reason=refusal.message)
        raise refusal

    def _taken(self, account: Account | None, channel: str) -> LinkRefused | None:
        """One address, one live account: the sender already holds another account that is not revoked."""
        holder = self.actor.account_id
        if holder is None or account is None or holder == account.id or self.actor.status == AccountStatus.REVOKED:
            return None
        return LinkRefused(TAKEN, channel=CHANNEL_LABELS.get(channel, channel))

    @staticmethod
    def _refusal(found: LinkCode | None, account: Account | None, channel: str,
                 now: dt.datetime) -> LinkRefused | None:
        if found is None or account is None:
            return LinkRefused(UNKNOWN)
        if found.channel != channel:
            return LinkRefused(OTHER_CHANNEL)
        if found.used_at is not None:
            return LinkRefused(USED)
        if found.revoked_at is not None:
            return LinkRefused(REPLACED)
        if found.expires_at <= now:
            return LinkRefused(EXPIRED)
        if account.status != AccountStatus.ACTIVE:
            return LinkRefused(NOT_ACTIVE)
        return None

    # -- unlinking ---------------------------------------------------------------------------------
    async def unlink(self, username: str, channel: str) -> int:
        """The personnel office unlinks an account on a channel; the number of identities ended."""
        channel = _linkable(channel)
        async with sensitive(self.uow, self.actor, self.clock, Action.MANAGE_ACCOUNTS) as repos:
            return await self._unlink(repos, await self._account(repos, username), channel)

    async def unlink_own(self, channel: str) -> int:
        channel = _linkable(channel)
        async with sensitive(self.uow, self.actor, self.clock, Action.VIEW_OVERVIEW) as repos:
            return await self._unlink(repos, await self._own(repos), channel)

    async def _unlink(self, repos: Repositories, account: Account, channel: str) -> int:
        now = self.clock.now()
        ended = await repos.identities.revoke(now, account_id=account.id, channel=channel)
        await repos.links.revoke_unused(account.id, channel, now)
        if not ended:
            raise InvalidInput("channel", N_("Account {username} is not linked on {channel}."),
                               username=account.username, channel=channel)
        await record(repos, self.clock, self.actor, "link.unlink", "account", account.username, channel=channel)
        return ended

    async def linked_since(self, channel: str) -> dt.datetime | None:
        """When the actor's account was linked on `channel`, if it is."""
        if self.actor.account_id is None or self.actor.role is None:
            raise PermissionDenied()
        async with self.uow.read() as repos:
            for identity in await repos.identities.live(self.actor.account_id):
                if identity.channel == channel:
                    return identity.bound_at
        return None

    # -- helpers -----------------------------------------------------------------------------------
    async def _account(self, repos: Repositories, username: str) -> Account:
        account = await repos.accounts.by_username(username.strip().lower())
        if account is None:
            raise InvalidInput("username", N_("No account has the username {username}."), username=username)
        return account

    async def _own(self, repos: Repositories) -> Account:
        if self.actor.account_id is None or self.actor.role is None:
            raise PermissionDenied()
        account = await repos.accounts.get(self.actor.account_id)
        assert account is not None  # the actor was read from this account, and accounts are never deleted
        return account
