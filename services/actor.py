"""Who is acting: the account bound to a Telegram user, or an anonymous visitor."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # the personnel office (Sở Nội vụ): every unit
    CLERK = "clerk"  # updates the dossiers of its unit's subtree
    MANAGER = "manager"  # read-only lookups in its subtree
    AUDITOR = "auditor"  # reads the audit trail
    EMPLOYEE = "employee"  # sees their own dossier


@dataclass(frozen=True, slots=True)
class Actor:
    telegram_user_id: int | None
    locale: str | None = None
    account_id: int | None = None
    username: str | None = None
    full_name: str | None = None
    role: Role | None = None
    unit_id: int | None = None
    unit_code: str | None = None
    unit_name: str | None = None
    unit_path: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.account_id is None

    @classmethod
    def anonymous(cls, telegram_user_id: int | None, locale: str | None = None) -> Actor:
        return cls(telegram_user_id=telegram_user_id, locale=locale)

    @classmethod
    def system(cls) -> Actor:
        """The CLI operator on the server itself: trusted like the personnel office."""
        return cls(telegram_user_id=None, username="system", role=Role.ADMIN, unit_path="/")
