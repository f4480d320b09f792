"""Who is acting: the account bound to the sender's identity on a channel, or an anonymous visitor."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from services.core.i18n import N_


class Role(StrEnum):
    ADMIN = "admin"  # the personnel office (Sở Nội vụ): every unit
    CLERK = "clerk"  # updates the dossiers of its unit's subtree
    MANAGER = "manager"  # read-only lookups in its subtree
    AUDITOR = "auditor"  # reads the audit trail
    EMPLOYEE = "employee"  # sees their own dossier


class Channel(StrEnum):
    """The transports an account is reached on (DESIGN, "Channels"); the terminal chat plays a Telegram user."""

    TELEGRAM = "telegram"
    WEB = "web"
    ZALO = "zalo"


# How a channel reads, to the chat and the command line alike.
CHANNEL_LABELS: dict[str, str] = {
    Channel.TELEGRAM: N_("Telegram"),
    Channel.WEB: N_("Web chat"),
    Channel.ZALO: N_("Zalo"),
}


class Content(StrEnum):
    """What a channel may carry, the deployment's choice (HOSO_CHANNEL_CONTENT): everything the role may see;
    a summary (names, units, statuses: no identity numbers, addresses, family, salary, nor documents); or
    only reminders and notices, each pointing to the web chat."""

    FULL = "full"
    SUMMARY = "summary"
    NOTICES = "notices"


def as_address(address: str | int | None) -> str | None:
    """An address as identities keep it: text (a Telegram user id arrives as a number)."""
    return None if address is None else str(address)


class AccountStatus(StrEnum):
    PENDING = "pending"  # issued; waiting for activation and a password
    ACTIVE = "active"
    RESTRICTED = "restricted"  # read-only
    LOCKED = "locked"  # too many wrong passwords; the admin unlocks
    REVOKED = "revoked"  # for good

    @property
    def grants_role(self) -> bool:
        return self in (AccountStatus.ACTIVE, AccountStatus.RESTRICTED)


# How a role and an account's state read, to the chat and the command line alike.
ROLE_LABELS = {
    Role.ADMIN: N_("Administrator (personnel office)"),
    Role.CLERK: N_("Dossier clerk"),
    Role.MANAGER: N_("Manager (read only)"),
    Role.AUDITOR: N_("Auditor"),
    Role.EMPLOYEE: N_("Employee"),
}
STATUS_LABELS = {
    AccountStatus.PENDING: N_("waiting for activation"),
    AccountStatus.ACTIVE: N_("active"),
    AccountStatus.RESTRICTED: N_("restricted (read only)"),
    AccountStatus.LOCKED: N_("locked"),
    AccountStatus.REVOKED: N_("revoked"),
}


@dataclass(frozen=True, slots=True)
class Actor:
    # Where the update came from: the channel and the sender's address there (None: no sender, the CLI).
    channel: str | None = None
    address: str | None = None
    locale: str | None = None
    account_id: int | None = None
    username: str | None = None
    full_name: str | None = None
    role: Role | None = None
    unit_id: int | None = None
    unit_code: str | None = None
    unit_name: str | None = None
    unit_path: str | None = None
    # Paths of the unit subtrees the account reaches: its own unit's, then any extensions.
    scope_paths: tuple[str, ...] = ()
    # An employee's own dossier, by its personal ID.
    personal_id: str | None = None
    # The bound account's status, even when it grants nothing (pending, locked, revoked).
    status: str | None = None
    # What the channel of the update may carry: a summary narrows the role's mask (services.dossiers.masking).
    content: Content = Content.FULL

    @property
    def is_anonymous(self) -> bool:
        return self.account_id is None or self.role is None

    @property
    def restricted(self) -> bool:
        """Read-only until the personnel office restores the account."""
        return self.status == AccountStatus.RESTRICTED

    @property
    def pending_password(self) -> bool:
        """Bound to this channel's user by its activation code, but no password chosen yet."""
        return self.status == AccountStatus.PENDING

    @classmethod
    def anonymous(cls, channel: str | None, address: str | int | None, locale: str | None = None) -> Actor:
        return cls(channel=channel, address=as_address(address), locale=locale)

    @classmethod
    def system(cls) -> Actor:
        """The CLI operator on the server itself: trusted like the personnel office."""
        return cls(username="system", role=Role.ADMIN, unit_path="/", scope_paths=("/",))
