"""The outbox: reminders and notices waiting to be sent, claimed by senders, never sent twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.database import OUTBOX_ADDED
from storage.models import (
    Account,
    ChangeEvent,
    ChannelIdentity,
    Dossier,
    OrgUnit,
    Outbox,
    ReminderChannelOff,
    ReminderMute,
    SubAccountRequest,
    TransferRequest,
    UnitReport,
)
from storage.repositories import TELEGRAM, live_identity


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect = session.bind.dialect.name if session.bind is not None else "sqlite"

    async def add_many(self, rows: Sequence[dict[str, Any]]) -> int:
        """Insert the rows whose key is new; the others are already there. The number inserted. When some
        are new, the transaction's commit wakes this process's senders (`Database.outbox_signal`)."""
        if not rows:
            return 0
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        inserted = 0
        for start in range(0, len(rows), 500):  # one statement per chunk, RETURNING counts what was new
            chunk = rows[start:start + 500]
            result = await self.session.execute(
                dialect.insert(Outbox).values(chunk).on_conflict_do_nothing(index_elements=["key"]).returning(Outbox.id))
            inserted += len(result.all())
        if inserted:
            self.session.info[OUTBOX_ADDED] = True
        return inserted

    async def claim(self, sender: str, now: dt.datetime, limit: int, channel: str = TELEGRAM,
                    addresses: Sequence[str] | None = None) -> list[Outbox]:
        """Due pending rows of `channel` (only to `addresses`, if given), oldest first, marked as this sender's.
        Several senders on PostgreSQL skip each other's rows; SQLite's write lock serialises them."""
        query = (select(Outbox.id).where(Outbox.channel == channel, Outbox.status == "pending", Outbox.due_at <= now)
                 .order_by(Outbox.due_at, Outbox.id).limit(limit))
        if addresses is not None:
            query = query.where(Outbox.address.in_(list(addresses)))
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list(await self.session.scalars(query))
        if not ids:
            return []
        await self.session.execute(update(Outbox).where(Outbox.id.in_(ids))
                                   .values(status="claimed", claimed_by=sender, claimed_at=now))
        rows = (await self.session.scalars(select(Outbox).where(Outbox.id.in_(ids))
                                           .order_by(Outbox.due_at, Outbox.id))).all()
        return list(rows)

    async def set_status(self, row_id: int, status: str, **values: Any) -> None:
        await self.session.execute(update(Outbox).where(Outbox.id == row_id).values(status=status, **values))

    async def claimers(self) -> set[str]:
        """The senders holding claimed or in-flight rows."""
        query = select(Outbox.claimed_by).where(Outbox.status.in_(("claimed", "sending")),
                                                Outbox.claimed_by.is_not(None)).distinct()
        return set(await self.session.scalars(query))

    async def recover(self, dead: Sequence[str], stale_before: dt.datetime, channel: str | None = None
                      ) -> tuple[int, int]:
        """After a crash: the claims of dead senders (or stale ones) go back to pending (never attempted);
        rows they left mid-call become ambiguous (maybe sent: never resent). The two counts. With `channel`,
        only that channel's rows: a process serving two channels starts its senders one after the other, and
        the second must not take back what the first, of the same process, is sending."""
        gone = Outbox.claimed_by.in_(list(dead)) | (Outbox.claimed_at < stale_before)
        if channel is not None:
            gone = gone & (Outbox.channel == channel)
        # An UPDATE's result is a CursorResult (it has rowcount); AsyncSession.execute is typed as Result.
        released = cast(CursorResult[Any], await self.session.execute(
            update(Outbox).where(Outbox.status == "claimed", gone)
            .values(status="pending", claimed_by=None, claimed_at=None)))
        ambiguous = cast(CursorResult[Any], await self.session.execute(
            update(Outbox).where(Outbox.status == "sending", gone)
            .values(status="ambiguous", last_error="interrupted mid-call")))
        return int(released.rowcount or 0), int(ambiguous.rowcount or 0)

    async def start_sending(self, row_id: int, sender: str, attempts: int) -> bool:
        """Claimed → sending, if the claim is still this sender's (a claim taken back after a restart is
        never sent by its old holder too) and the reminder may still go: its account still active and its
        identity on the row's channel still live at the row's address (not revoked, not rebound), and a dossier it names still kept by the unit it was computed for. Otherwise
        the row is dropped, with the reason."""
        query = select(Outbox).where(Outbox.id == row_id, Outbox.status == "claimed", Outbox.claimed_by == sender)
        row = await self.session.scalar(query.with_for_update() if self.dialect == "postgresql" else query)
        if row is None:
            return False
        reason = None
        if row.account_id is not None:
            holder = await self.session.scalar(
                select(ChannelIdentity.address).join(Account, live_identity(row.channel))
                .where(Account.id == row.account_id, Account.status.in_(("active", "restricted"))))
            if holder != row.address:
                reason = "the recipient no longer holds the account"
        payload = row.payload if isinstance(row.payload, dict) else {}
        if reason is None and payload.get("dossier_id") and payload.get("unit_path"):
            held_by = await self.session.scalar(
                select(OrgUnit.path).join(Dossier, Dossier.custodian_unit_id == OrgUnit.id)
                .where(Dossier.id == int(payload["dossier_id"])))
            if held_by != payload["unit_path"]:
                reason = "the dossier is no longer kept by that unit"
        if reason is not None:
            row.status, row.last_error, row.claimed_by = "dropped", reason, None
            return False
        row.status, row.attempts = "sending", attempts
        return True

    async def release(self, sender: str, channel: str | None = None) -> int:
        """This sender's claims it did not get to (a pass cut short): back to pending; with `channel`, only
        that channel's (another channel's sender of the same process may be mid-pass)."""
        condition = (Outbox.status == "claimed") & (Outbox.claimed_by == sender)
        if channel is not None:
            condition = condition & (Outbox.channel == channel)
        # An UPDATE's result is a CursorResult (it has rowcount); AsyncSession.execute is typed as Result.
        result = cast(CursorResult[Any], await self.session.execute(
            update(Outbox).where(condition)
            .values(status="pending", claimed_by=None, claimed_at=None)))
        return int(result.rowcount or 0)

    async def counts(self) -> dict[str, int]:
        query = select(Outbox.status, func.count()).group_by(Outbox.status)
        return {row[0]: int(row[1]) for row in (await self.session.execute(query)).all()}

    async def upcoming(self, account_id: int, since: dt.datetime, limit: int = 20) -> Sequence[Outbox]:
        query = (select(Outbox).where(Outbox.account_id == account_id, Outbox.status.in_(("pending", "claimed")),
                                      Outbox.due_at >= since).order_by(Outbox.due_at).limit(limit))
        return (await self.session.scalars(query)).all()

    async def mark_blocked(self, channel: str, address: str, now: dt.datetime) -> None:
        """The user of this live identity blocked the bot: the identity is marked, not the account, whose
        other channels still reach it."""
        await self.session.execute(update(ChannelIdentity).where(
            ChannelIdentity.channel == channel, ChannelIdentity.address == address,
            ChannelIdentity.revoked_at.is_(None)).values(blocked_at=now))

    async def blocked_accounts(self, channel: str = TELEGRAM) -> Sequence[Account]:
        """The accounts whose live identity on `channel` blocked the bot (`Account.bot_blocked_at` reads
        the telegram one's mark)."""
        query = (select(Account).join(ChannelIdentity, live_identity(channel))
                 .where(ChannelIdentity.blocked_at.is_not(None)).order_by(Account.username))
        return (await self.session.scalars(query)).all()

    async def mutes(self, account_ids: Sequence[int] | None = None) -> set[tuple[int, str]]:
        query = select(ReminderMute.account_id, ReminderMute.kind)
        if account_ids is not None:
            query = query.where(ReminderMute.account_id.in_(account_ids))
        return {(row[0], row[1]) for row in (await self.session.execute(query)).all()}

    async def set_mute(self, account_id: int, kind: str, muted: bool, now: dt.datetime) -> None:
        existing = await self.session.get(ReminderMute, (account_id, kind))
        if muted and existing is None:
            self.session.add(ReminderMute(account_id=account_id, kind=kind, muted_at=now))
        elif not muted and existing is not None:
            await self.session.delete(existing)

    async def channels_off(self, account_ids: Sequence[int]) -> set[tuple[int, str]]:
        """(account, channel): the linked channels these accounts turned their reminders off on."""
        found: set[tuple[int, str]] = set()
        ids = sorted(set(account_ids))
        for start in range(0, len(ids), 500):  # as IdentityRepository.live_many: few parameters a statement
            query = select(ReminderChannelOff.account_id, ReminderChannelOff.channel).where(
                ReminderChannelOff.account_id.in_(ids[start:start + 500]))
            found |= {(row[0], row[1]) for row in (await self.session.execute(query)).all()}
        return found

    async def set_channel_off(self, account_id: int, channel: str, off: bool, now: dt.datetime) -> None:
        existing = await self.session.get(ReminderChannelOff, (account_id, channel))
        if off and existing is None:
            self.session.add(ReminderChannelOff(account_id=account_id, channel=channel, chosen_at=now))
        elif not off and existing is not None:
            await self.session.delete(existing)


class ReminderSourceRepository:
    """The facts reminders are computed from, each one set-based query."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def submitted_units(self, period: str) -> set[int]:
        query = select(UnitReport.unit_id).where(UnitReport.period == period, UnitReport.status == "submitted")
        return set(await self.session.scalars(query))

    async def new_dossiers_open(self, since: dt.date) -> Sequence[tuple[ChangeEvent, Dossier]]:
        """Dossiers created through /new whose completion deadline is not long past."""
        query = (select(ChangeEvent, Dossier).join(Dossier, Dossier.id == ChangeEvent.dossier_id)
                 .where(ChangeEvent.kind == "new", ChangeEvent.status == "applied", ChangeEvent.deadline >= since))
        return [(row[0], row[1]) for row in (await self.session.execute(query)).all()]

    async def active_with_salary(self, since_before: dt.date) -> Sequence[Dossier]:
        query = select(Dossier).where(Dossier.employment_status.in_(("active", "probation")),
                                      Dossier.salary_since.is_not(None), Dossier.salary_since <= since_before)
        return (await self.session.scalars(query)).all()

    async def active_born_before(self, born_before: dt.date) -> Sequence[Dossier]:
        query = select(Dossier).where(Dossier.employment_status.in_(("active", "probation")),
                                      Dossier.birth_date <= born_before)
        return (await self.session.scalars(query)).all()

    async def pending_declarations(self, before: dt.datetime) -> Sequence[tuple[ChangeEvent, Dossier, OrgUnit]]:
        query = (select(ChangeEvent, Dossier, OrgUnit).join(Dossier, Dossier.id == ChangeEvent.dossier_id)
                 .join(OrgUnit, OrgUnit.id == Dossier.custodian_unit_id)
                 .where(ChangeEvent.status == "pending", ChangeEvent.kind != "custody",
                        ChangeEvent.recorded_at < before))
        return [(row[0], row[1], row[2]) for row in (await self.session.execute(query)).all()]

    async def pending_transfers(self, before: dt.datetime) -> Sequence[tuple[TransferRequest, Dossier, OrgUnit]]:
        query = (select(TransferRequest, Dossier, OrgUnit).join(Dossier, Dossier.id == TransferRequest.dossier_id)
                 .join(OrgUnit, OrgUnit.id == TransferRequest.holding_unit_id)
                 .where(TransferRequest.status == "pending", TransferRequest.requested_at < before))
        return [(row[0], row[1], row[2]) for row in (await self.session.execute(query)).all()]

    async def pending_subaccounts(self, before: dt.datetime) -> Sequence[tuple[SubAccountRequest, OrgUnit]]:
        query = (select(SubAccountRequest, OrgUnit).join(OrgUnit, OrgUnit.id == SubAccountRequest.unit_id)
                 .where(SubAccountRequest.status == "pending", SubAccountRequest.created_at < before))
        return [(row[0], row[1]) for row in (await self.session.execute(query)).all()]

    async def admin_chats(self) -> list[tuple[int, str | None]]:
        """(account id, locale) of the active administrators bound on some channel (the outbox reaches each
        on all its channels)."""
        query = (select(Account.id, Account.locale).where(Account.role == "admin", Account.status == "active",
                                                          bound_somewhere())
                 .order_by(Account.id))
        return [(int(account_id), locale) for account_id, locale in (await self.session.execute(query)).all()]

    async def bound_accounts(self) -> Sequence[tuple[Account, int]]:
        """The active or restricted accounts bound on Telegram, each with its Telegram id."""
        query = (select(Account, ChannelIdentity.address)
                 .join(ChannelIdentity, live_identity(TELEGRAM))
                 .where(Account.status.in_(("active", "restricted")))
                 .order_by(Account.id))
        return [(account, int(address)) for account, address in (await self.session.execute(query)).all()]

    async def reachable_accounts(self) -> Sequence[Account]:
        """The active or restricted accounts bound on some channel: those the outbox can reach."""
        query = (select(Account).where(Account.status.in_(("active", "restricted")), bound_somewhere())
                 .order_by(Account.id))
        return (await self.session.scalars(query)).all()


def bound_somewhere() -> ColumnElement[bool]:
    """SQL: the account has a live identity on some channel."""
    return exists().where(ChannelIdentity.account_id == Account.id, ChannelIdentity.revoked_at.is_(None))
