"""SQLAlchemy models: the shape of ../DESIGN's data section, grown capability by capability.

Times are stored as naive UTC and handed back timezone-aware (UTC), on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    TypeDecorator,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column

# Named constraints keep Alembic's batch mode on SQLite able to find and alter them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


PERSONAL_ID_LENGTH = 12  # a citizen ID card's (CCCD) digits

class UTCDateTime(TypeDecorator[dt.datetime]):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON()}


class AppSetting(Base):
    """Deployment-wide settings kept in the database, e.g. the active regulation profile."""

    __tablename__ = "app_setting"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime]


class OrgUnit(Base):
    """A unit of the organisational tree. Never deleted: renamed, moved or merged, with its history."""

    __tablename__ = "org_unit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    # Materialised path of ids, "/1/4/9/": a subtree is one indexed prefix match.
    path: Mapped[str] = mapped_column(String(512), index=True)
    level_name: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    created_at: Mapped[dt.datetime]


class ChannelIdentity(Base):
    """An account's address on one channel (DESIGN, "Channels"): on `telegram` the user id as text, on
    `zalo` the user's id, on `web` its sign-in. Bound when the account is activated there; never deleted:
    unbinding (a sign-out, a reset, the user taken by another account) sets `revoked_at`, so who held the
    account where stays known. At most one live identity per (channel, address) and per (account, channel),
    enforced by the database (the partial unique indexes below)."""

    __tablename__ = "channel_identity"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # telegram | web | zalo
    address: Mapped[str] = mapped_column(String(128))
    bound_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    # The channel answered that this user blocked the bot (Telegram's 403): the admin sees the list. The
    # account's other channels are not concerned: a user who blocked the Telegram bot is still reached on the web.
    blocked_at: Mapped[dt.datetime | None]


class LinkCode(Base):
    """A one-time code that links an active account on a channel whose users cannot be given an activation
    code or a password (Zalo): shown in the web chat or printed by the CLI, valid 15 minutes, spent once.
    Only its sha256 is stored. `revoked_at`: replaced by a newer code, or the channel unlinked, before use."""

    __tablename__ = "link_code"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class LinkAttempt(Base):
    """Wrong link codes sent from one (channel, address) in the current window: past a few, that sender is
    told to wait until the window ends (a code has 60 bits, so this is against flooding more than guessing)."""

    __tablename__ = "link_attempt"
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[dt.datetime]


class Account(Base):
    """A person's access, issued by the personnel office for one unit and one role."""

    __tablename__ = "account"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(255))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # Where the account is reached (a Telegram user, the web chat, Zalo): its ChannelIdentity rows.
    locale: Mapped[str | None] = mapped_column(String(8))
    secret_hash: Mapped[str | None] = mapped_column(String(255))
    activation_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    activation_expires_at: Mapped[dt.datetime | None]
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    request_ref: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime]
    activated_at: Mapped[dt.datetime | None]
    last_seen_at: Mapped[dt.datetime | None]
    # For an employee account: the personal ID of their own dossier.
    personal_id: Mapped[str | None] = mapped_column(String(PERSONAL_ID_LENGTH))
    # The last sensitive action or sign-in: after the profile's idle time the password is asked again.
    last_active_at: Mapped[dt.datetime | None]
    # When the user of its live Telegram identity blocked the bot (ChannelIdentity.blocked_at), read with the account.
    bot_blocked_at: Mapped[dt.datetime | None] = column_property(
        select(ChannelIdentity.blocked_at)
        .where(ChannelIdentity.account_id == id, ChannelIdentity.channel == "telegram",
               ChannelIdentity.revoked_at.is_(None))
        .correlate_except(ChannelIdentity).scalar_subquery())


class WebSession(Base):
    """A signed-in browser of the web chat, held on the server. The cookie carries a random token; only its
    sha256 is stored, so a copy of the database signs nobody in. Ended (never deleted) at sign-out, when idle
    or too old, when its browser signs in again, or when the account can no longer act; over at once when the
    web identity it was opened under is revoked. `csrf` is the token every state-changing request of this
    session must carry."""

    __tablename__ = "web_session"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    # The web identity it was opened under: once that is revoked (a sign-out typed in the chat, a reset), the
    # session is over, even if the account signs in again later under a new identity.
    identity_id: Mapped[int] = mapped_column(ForeignKey("channel_identity.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]  # the absolute end, whatever the activity
    ended_at: Mapped[dt.datetime | None]
    ended_reason: Mapped[str | None] = mapped_column(String(32))  # logout | idle | expired | replaced | account


class AccountScope(Base):
    """A unit subtree added to an account's scope beyond its own unit (`hoso account extend`)."""

    __tablename__ = "account_scope"
    __table_args__ = (UniqueConstraint("account_id", "unit_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    request_ref: Mapped[str | None] = mapped_column(String(255))
    granted_at: Mapped[dt.datetime]


class SubAccountRequest(Base):
    """A unit asking the personnel office for an account for one of its subordinate units."""

    __tablename__ = "subaccount_request"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    username: Mapped[str] = mapped_column(String(64))
    full_name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    request_ref: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    created_at: Mapped[dt.datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    decided_at: Mapped[dt.datetime | None]
    agreement_ref: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(String(500))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))


class UserPreference(Base):
    """Preferences of a user of a channel, kept by (channel, address) whether or not an account is bound
    there (the language chosen with /lang before signing in)."""

    __tablename__ = "user_preference"
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[str] = mapped_column(String(128), primary_key=True)
    locale: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[dt.datetime]


class Dossier(Base):
    """A person's electronic dossier (Mẫu 2C-BNV/2008, HS02-VC/BNV). Never deleted."""

    __tablename__ = "dossier"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # -- identity --
    # The 12-digit personal ID, as text: leading zeros are significant.
    personal_id: Mapped[str] = mapped_column(String(PERSONAL_ID_LENGTH), unique=True)
    full_name: Mapped[str] = mapped_column(String(255))
    # Folded for search (no case, no diacritics, đ → d); kept in step by the services on every write.
    folded_name: Mapped[str] = mapped_column(String(255))
    other_names: Mapped[str | None] = mapped_column(String(255))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    birthplace: Mapped[str | None] = mapped_column(String(255))
    home_town: Mapped[str | None] = mapped_column(String(255))
    ethnicity: Mapped[str | None] = mapped_column(String(64))
    religion: Mapped[str | None] = mapped_column(String(64))
    nationality: Mapped[str | None] = mapped_column(String(64))
    id_issued_on: Mapped[dt.date | None] = mapped_column(Date)
    social_insurance_no: Mapped[str | None] = mapped_column(String(20))
    permanent_address: Mapped[str | None] = mapped_column(String(500))
    current_address: Mapped[str | None] = mapped_column(String(500))
    phone: Mapped[str | None] = mapped_column(String(32))
    # -- recruitment and current post --
    recruited_on: Mapped[dt.date | None] = mapped_column(Date)
    recruiting_agency: Mapped[str | None] = mapped_column(String(255))
    recruitment_decision: Mapped[str | None] = mapped_column(String(255))
    post: Mapped[str | None] = mapped_column(String(255))
    post_since: Mapped[dt.date | None] = mapped_column(Date)
    # -- rank or professional title --
    rank_code: Mapped[str | None] = mapped_column(String(16), index=True)
    rank_name: Mapped[str | None] = mapped_column(String(255))
    rank_since: Mapped[dt.date | None] = mapped_column(Date)
    # -- salary --
    salary_step: Mapped[int | None] = mapped_column(Integer)
    salary_coefficient: Mapped[float | None] = mapped_column(Numeric(5, 2, asdecimal=False))
    salary_since: Mapped[dt.date | None] = mapped_column(Date)
    position_allowance: Mapped[float | None] = mapped_column(Numeric(5, 2, asdecimal=False))
    over_ceiling_percent: Mapped[int | None] = mapped_column(Integer)
    other_allowances: Mapped[str | None] = mapped_column(String(255))
    # -- qualifications --
    general_education: Mapped[str | None] = mapped_column(String(16))
    professional_level: Mapped[str | None] = mapped_column(String(16))
    major: Mapped[str | None] = mapped_column(String(255))
    political_theory: Mapped[str | None] = mapped_column(String(64))
    state_management: Mapped[str | None] = mapped_column(String(64))
    foreign_language: Mapped[str | None] = mapped_column(String(128))
    it_skill: Mapped[str | None] = mapped_column(String(128))
    # -- party and military --
    party_joined_on: Mapped[dt.date | None] = mapped_column(Date)
    party_official_on: Mapped[dt.date | None] = mapped_column(Date)
    military_enlisted_on: Mapped[dt.date | None] = mapped_column(Date)
    military_discharged_on: Mapped[dt.date | None] = mapped_column(Date)
    military_rank: Mapped[str | None] = mapped_column(String(64))
    # -- custody and status --
    custodian_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    working_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    employment_status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class DossierRecord(Base):
    """One row of a dossier's repeating tables (work history, training, salary history, commendations,
    disciplines, family, declarations). The columns of each kind live in `data`."""

    __tablename__ = "dossier_record"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    date_from: Mapped[dt.date | None] = mapped_column(Date)
    date_to: Mapped[dt.date | None] = mapped_column(Date)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime]


class ChangeEvent(Base):
    """One change to a dossier, as logged against its paper (or declared by the person): what changed,
    the source document, and whether it was entered within the profile's deadline. Never deleted."""

    __tablename__ = "change_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    # applied | pending (a self-declaration awaiting the custodian's clerk) | rejected
    status: Mapped[str] = mapped_column(String(16), default="applied")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the answers, dates as ISO text
    doc_number: Mapped[str | None] = mapped_column(String(64))
    doc_date: Mapped[dt.date | None] = mapped_column(Date)
    doc_issuer: Mapped[str | None] = mapped_column(String(255))
    effective_on: Mapped[dt.date] = mapped_column(Date)
    deadline: Mapped[dt.date | None] = mapped_column(Date)
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    # The custodian unit when it was recorded: the unit answerable for the deadline.
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    recorded_by: Mapped[int | None] = mapped_column(Integer)
    recorded_by_label: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[dt.datetime]
    decided_by: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[dt.datetime | None]
    decision_note: Mapped[str | None] = mapped_column(String(500))


class DossierVersion(Base):
    """The dossier's own fields after a change, valid from the change's effective date."""

    __tablename__ = "dossier_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    change_event_id: Mapped[int | None] = mapped_column(ForeignKey("change_event.id"))
    # None: the state before the first recorded change (a dossier imported or created before versions).
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    recorded_at: Mapped[dt.datetime]
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # every field, after the change
    # The fields this change set (the whole snapshot for a creation or the baseline). The state on a date
    # is the baseline with these replayed in effective-date order, so a change logged late lands in place.
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Attachment(Base):
    """A scanned paper linked to a change; the bytes live under HOSO_FILES_DIR, addressed by sha256."""

    __tablename__ = "attachment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_event_id: Mapped[int] = mapped_column(ForeignKey("change_event.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[int | None] = mapped_column(Integer)
    uploaded_at: Mapped[dt.datetime]


class TransferRequest(Base):
    """A receiving unit's written request for a dossier held by another unit (Hậu Giang Art. 9, HCMC
    Art. 10). Its change event (kind "custody") carries the letter's scan and, on approval, the move."""

    __tablename__ = "transfer_request"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    change_event_id: Mapped[int] = mapped_column(ForeignKey("change_event.id"))
    requesting_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    holding_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    request_number: Mapped[str] = mapped_column(String(64))
    request_date: Mapped[dt.date] = mapped_column(Date)
    signer: Mapped[str] = mapped_column(String(255))
    # pending | approved | rejected | withdrawn
    status: Mapped[str] = mapped_column(String(16), default="pending")
    requested_by: Mapped[int | None] = mapped_column(Integer)
    requested_at: Mapped[dt.datetime]
    decided_by: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[dt.datetime | None]
    reason: Mapped[str | None] = mapped_column(String(500))
    escalated_at: Mapped[dt.datetime | None]


class Outbox(Base):
    """A reminder or notice to send to an account on one of its channels (one row per live identity). The
    idempotency key (kind, object, due date, channel and address: services/platform/outbox.py Due.key) makes a recomputation harmless; the status
    makes a restart lose nothing and send nothing twice."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    channel: Mapped[str] = mapped_column(String(16))  # telegram | web | zalo: whose sender delivers it
    address: Mapped[str] = mapped_column(String(128))  # the identity's address there (a Telegram chat id as text)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what the text is made of
    due_at: Mapped[dt.datetime]  # not before (quiet hours and days off already applied)
    # pending | claimed | sending | sent | ambiguous (a timeout or a crash mid-call: maybe sent, never
    # resent) | blocked (403) | failed | muted
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A sender claims a batch before sending; a claim left by a dead sender is taken back after a while.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(255))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]

    @property
    def chat_id(self) -> int | None:
        """The Telegram chat of a telegram row; None on another channel."""
        return int(self.address) if self.channel == "telegram" else None


class ReminderMute(Base):
    """A kind of reminder an account chose not to receive."""

    __tablename__ = "reminder_mute"
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    muted_at: Mapped[dt.datetime]


class ReminderChannelOff(Base):
    """A linked channel an account chose not to receive its reminders on (by default, every linked channel
    receives them); what nobody may mute goes to every channel all the same."""

    __tablename__ = "reminder_channel_off"
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    chosen_at: Mapped[dt.datetime]


class UnitReport(Base):
    """A unit's half-yearly report for a period ("2026-H1", "2026-H2"): a draft until submitted, then
    kept as submitted, with the figures it reported frozen. Never deleted."""

    __tablename__ = "unit_report"
    __table_args__ = (UniqueConstraint("unit_id", "period"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    period: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | submitted
    sections: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    submitted_at: Mapped[dt.datetime | None]
    submitted_by: Mapped[int | None] = mapped_column(Integer)
    late: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    # The report's own number (e.g. 12/BC-SYT) and who signs it.
    doc_number: Mapped[str | None] = mapped_column(String(64))
    signer: Mapped[str | None] = mapped_column(String(255))
    signer_title: Mapped[str | None] = mapped_column(String(255))
    # The measured compliance and the statistics as submitted: the document stays what was sent.
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Feedback(Base):
    """A user's suggestion or problem for the personnel office (Hậu Giang Art. 14.5, HCMC Art. 15.3), with
    an optional screenshot (its bytes under HOSO_FILES_DIR by sha256), and the office's answer. Never
    deleted."""

    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    kind: Mapped[str] = mapped_column(String(16))  # suggestion | problem
    text: Mapped[str] = mapped_column(String(2000))
    screenshot_sha256: Mapped[str | None] = mapped_column(String(64))
    screenshot_name: Mapped[str | None] = mapped_column(String(255))
    screenshot_type: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)  # new | planned | done
    answer: Mapped[str | None] = mapped_column(String(2000))
    answered_by: Mapped[int | None] = mapped_column(Integer)
    answered_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]


class ExtraDayOff(Base):
    """A day off the admin adds to the holidays package's Vietnam calendar (an extended Tết break)."""

    __tablename__ = "extra_day_off"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    reason: Mapped[str] = mapped_column(String(255))
    added_by: Mapped[str] = mapped_column(String(128))
    added_at: Mapped[dt.datetime]


class ReferenceItem(Base):
    """A coded reference list entry: ethnicity, religion, rank, education level… Extensible by the admin."""

    __tablename__ = "reference_item"
    __table_args__ = (UniqueConstraint("list_name", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_name: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class FsmRecord(Base):
    """State and data of one conversation's guided prompt, so it survives a restart."""

    __tablename__ = "fsm_record"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime]


class Printout(Base):
    """A printout issued with a verification code (services/platform/printouts.py): what it showed (its kind,
    subject, version, the digest of its content) and the state of its subject then, to tell later whether the
    record changed since. The code's keyed hash is recomputed from these columns with a key kept outside the
    database, so a row added here without the key verifies nothing. Never deleted."""

    __tablename__ = "printout"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(BigInteger)
    digest: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(255))
    audit_seq: Mapped[int] = mapped_column(BigInteger)
    issued_at: Mapped[dt.datetime]
    issued_by: Mapped[str] = mapped_column(String(128))


class AuditEvent(Base):
    """One audited read, change or sign-in. Append-only and hash-chained (storage/audit.py)."""

    __tablename__ = "audit_event"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    occurred_at: Mapped[dt.datetime]
    actor_account_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_label: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


Index("ix_audit_event_object", AuditEvent.object_type, AuditEvent.object_id)
Index("ix_dossier_custodian_status", Dossier.custodian_unit_id, Dossier.employment_status)
# The inspection looks for the same person twice: the same folded name and birth date.
Index("ix_dossier_name_birth", Dossier.folded_name, Dossier.birth_date)
# The order of every page of /find: a walk of it stops at the page's last row, with no sort of ties; on
# PostgreSQL it carries the personal ID, which a walk for digits tests without reading the rows.
Index("ix_dossier_folded_name", Dossier.folded_name, Dossier.id, postgresql_include=["personal_id"])
# The people born on a day in the page's order: the first entries are the page, however many share the day.
Index("ix_dossier_birth_date", Dossier.birth_date, Dossier.folded_name, Dossier.id)
Index("ix_change_event_unit_status", ChangeEvent.unit_id, ChangeEvent.status)
Index("ix_outbox_status_due", Outbox.status, Outbox.due_at)
# Each channel's sender claims its own rows: the rows of a channel without a sender wait without being scanned.
Index("ix_outbox_channel_status_due", Outbox.channel, Outbox.status, Outbox.due_at)
Index("ix_outbox_object", Outbox.object_type, Outbox.object_id)
Index("ix_unit_report_period_status", UnitReport.period, UnitReport.status)
# At most one pending request per dossier, enforced by the database itself (two clerks racing).
Index("uq_transfer_request_pending", TransferRequest.dossier_id, unique=True,
      sqlite_where=TransferRequest.status == "pending", postgresql_where=TransferRequest.status == "pending")
# One live identity per address of a channel, and one per channel of an account; revoked ones are history.
_LIVE = ChannelIdentity.revoked_at.is_(None)
Index("uq_channel_identity_live_address", ChannelIdentity.channel, ChannelIdentity.address, unique=True,
      sqlite_where=_LIVE, postgresql_where=_LIVE)
Index("uq_channel_identity_live_account", ChannelIdentity.account_id, ChannelIdentity.channel, unique=True,
      sqlite_where=_LIVE, postgresql_where=_LIVE)

__all__ = [
    "Account",
    "AppSetting",
    "AccountScope",
    "Attachment",
    "AuditEvent",
    "Base",
    "ChangeEvent",
    "ChannelIdentity",
    "Dossier",
    "DossierVersion",
    "ExtraDayOff",
    "Feedback",
    "DossierRecord",
    "FsmRecord",
    "OrgUnit",
    "Outbox",
    "Printout",
    "ReferenceItem",
    "LinkAttempt",
    "LinkCode",
    "ReminderChannelOff",
    "ReminderMute",
    "SubAccountRequest",
    "TransferRequest",
    "UnitReport",
    "UserPreference",
    "WebSession",
]
