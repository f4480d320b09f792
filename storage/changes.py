"""Change events, dossier versions, attachments and the admin's extra days off."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Account,
    AccountScope,
    Attachment,
    ChangeEvent,
    Dossier,
    DossierVersion,
    ExtraDayOff,
    OrgUnit,
)
from storage.outbox import bound_somewhere
from storage.repositories import under


class ChangeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, event: ChangeEvent) -> ChangeEvent:
        self.session.add(event)
        await self.session.flush()
        return event

    async def get(self, event_id: int) -> ChangeEvent | None:
        return await self.session.get(ChangeEvent, event_id)

    async def get_for_update(self, event_id: int) -> ChangeEvent | None:
        """The event, locked on PostgreSQL (SQLite's write transaction already is)."""
        return await self.session.scalar(
            select(ChangeEvent).where(ChangeEvent.id == event_id).with_for_update()
        )

    async def of_dossier(self, dossier_id: int) -> Sequence[ChangeEvent]:
        query = (select(ChangeEvent).where(ChangeEvent.dossier_id == dossier_id)
                 .order_by(ChangeEvent.recorded_at.desc(), ChangeEvent.id.desc()))
        return (await self.session.scalars(query)).all()

    async def pending(self, unit_prefixes: Sequence[str]) -> Sequence[tuple[ChangeEvent, Dossier]]:
        """Self-declarations waiting for a clerk, for dossiers held within these subtrees."""
        query = (
            select(ChangeEvent, Dossier)
            .join(Dossier, Dossier.id == ChangeEvent.dossier_id)
            .join(OrgUnit, OrgUnit.id == Dossier.custodian_unit_id)
            .where(ChangeEvent.status == "pending", ChangeEvent.kind != "custody", under(OrgUnit.path, unit_prefixes))
            .order_by(ChangeEvent.recorded_at, ChangeEvent.id)
        )
        return [(row[0], row[1]) for row in (await self.session.execute(query)).all()]

    async def close_registrations(self, dossier_id: int, kind: str, doc_number: str, event_id: int) -> int:
        """Registered decisions of this dossier that this change enters: marked entered."""
        rows = (await self.session.scalars(select(ChangeEvent).where(
            ChangeEvent.dossier_id == dossier_id, ChangeEvent.kind == "registration",
            ChangeEvent.status == "registered", ChangeEvent.doc_number == doc_number))).all()
        closed = 0
        for row in rows:
            if row.payload.get("for_kind") == kind:
                row.status, row.decided_at = "entered", None
                row.payload = {**row.payload, "entered_as": event_id}
                closed += 1
        return closed

    async def registered(self) -> Sequence[tuple[ChangeEvent, Dossier, OrgUnit]]:
        """Decisions registered to enter later and not entered yet, with their dossier and unit."""
        query = (select(ChangeEvent, Dossier, OrgUnit).join(Dossier, Dossier.id == ChangeEvent.dossier_id)
                 .join(OrgUnit, OrgUnit.id == Dossier.custodian_unit_id)
                 .where(ChangeEvent.kind == "registration", ChangeEvent.status == "registered"))
        return [(row[0], row[1], row[2]) for row in (await self.session.execute(query)).all()]

    async def postponements(self) -> dict[int, list[tuple[dt.date, int]]]:
        """Every decision putting a salary raise off, by dossier: (effective date, months)."""
        query = select(ChangeEvent.dossier_id, ChangeEvent.effective_on, ChangeEvent.payload).where(
            ChangeEvent.kind == "raise_postponed", ChangeEvent.status == "applied")
        found: dict[int, list[tuple[dt.date, int]]] = {}
        for dossier_id, effective_on, payload in await self.session.execute(query):
            found.setdefault(int(dossier_id), []).append((effective_on, int((payload or {}).get("months") or 0)))
        return found

    async def registered_kinds(self) -> list[tuple[int, str | None]]:
        """(dossier id, the kind of change it makes) of every decision registered and not entered yet."""
        query = select(ChangeEvent.dossier_id, ChangeEvent.payload).where(
            ChangeEvent.kind == "registration", ChangeEvent.status == "registered")
        return [(int(dossier_id), (payload or {}).get("for_kind")) for dossier_id, payload in
                await self.session.execute(query)]

    # -- versions ------------------------------------------------------------------------------------
    async def add_version(self, version: DossierVersion) -> None:
        self.session.add(version)
        await self.session.flush()

    async def has_versions(self, dossier_id: int) -> bool:
        return bool(await self.session.scalar(
            select(literal(True)).where(exists().where(DossierVersion.dossier_id == dossier_id))))

    async def versions_until(self, dossier_id: int, day: dt.date) -> Sequence[DossierVersion]:
        """The baseline and every version in force by `day`, in the order they apply."""
        query = (select(DossierVersion)
                 .where(DossierVersion.dossier_id == dossier_id,
                        or_(DossierVersion.valid_from.is_(None), DossierVersion.valid_from <= day))
                 .order_by(DossierVersion.valid_from.is_not(None), DossierVersion.valid_from, DossierVersion.id))
        return (await self.session.scalars(query)).all()

    async def columns_changed_after(self, dossier_id: int, day: dt.date) -> set[str]:
        """The fields that versions taking effect after `day` set: a change effective earlier, logged
        later, must not overwrite them in the current dossier."""
        query = select(DossierVersion.changes).where(DossierVersion.dossier_id == dossier_id,
                                                     DossierVersion.valid_from > day)
        return {column for changes in (await self.session.scalars(query)).all() for column in (changes or {})}

    # -- attachments ---------------------------------------------------------------------------------
    async def add_attachment(self, attachment: Attachment) -> None:
        self.session.add(attachment)

    async def attachments_of(self, event_ids: Sequence[int]) -> Sequence[Attachment]:
        if not event_ids:
            return []
        query = select(Attachment).where(Attachment.change_event_id.in_(event_ids)).order_by(Attachment.id)
        return (await self.session.scalars(query)).all()

    async def attachment(self, attachment_id: int) -> tuple[Attachment, ChangeEvent] | None:
        query = (select(Attachment, ChangeEvent).join(ChangeEvent, ChangeEvent.id == Attachment.change_event_id)
                 .where(Attachment.id == attachment_id))
        row = (await self.session.execute(query)).first()
        return None if row is None else (row[0], row[1])

    # -- calendar ------------------------------------------------------------------------------------
    async def days_off(self) -> Sequence[ExtraDayOff]:
        return (await self.session.scalars(select(ExtraDayOff).order_by(ExtraDayOff.day))).all()

    async def add_day_off(self, day_off: ExtraDayOff) -> bool:
        if await self.session.get(ExtraDayOff, day_off.day) is not None:
            return False
        self.session.add(day_off)
        return True

    # -- who is told ---------------------------------------------------------------------------------
    async def clerks_reached(self, unit_path: str) -> Sequence[tuple[int, str | None]]:
        """(account id, locale) of the active clerks whose scope covers the unit and who are bound on some
        channel: the outbox reaches each on all its channels."""
        own_unit, covers = self._clerks_covering(unit_path)
        query = (select(Account.id, Account.locale).join(own_unit, own_unit.c.id == Account.unit_id)
                 .where(covers, bound_somewhere()).order_by(Account.id))
        return [(int(account_id), locale) for account_id, locale in (await self.session.execute(query)).all()]

    @staticmethod
    def _clerks_covering(unit_path: str) -> tuple[Any, ColumnElement[bool]]:
        """The account's own unit (to join on Account.unit_id) and the condition: an active clerk whose own
        unit or an extension of its scope covers the unit at `unit_path`."""
        own_unit = OrgUnit.__table__.alias("own_unit")
        extension = OrgUnit.__table__.alias("extension")
        covers = or_(
            literal(unit_path).startswith(own_unit.c.path),
            exists().where(and_(AccountScope.account_id == Account.id, extension.c.id == AccountScope.unit_id,
                                literal(unit_path).startswith(extension.c.path))),
        )
        return own_unit, and_(Account.role == "clerk", Account.status == "active", covers)

    async def employee_reached(self, personal_id: str) -> tuple[int, str | None] | None:
        """(account id, locale) of this person's active employee account, if it is bound on some channel (the
        outbox reaches it on all its channels)."""
        query = select(Account.id, Account.locale).where(Account.personal_id == personal_id, Account.role == "employee",
                                                         Account.status == "active", bound_somewhere())
        row = (await self.session.execute(query)).first()
        return None if row is None else (int(row[0]), row[1])
