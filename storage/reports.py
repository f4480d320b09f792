"""The half-yearly reports, and the facts their section (a) measures, each fact one grouped query."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Account,
    ChangeEvent,
    Dossier,
    DossierVersion,
    OrgUnit,
    Outbox,
    TransferRequest,
    UnitReport,
)
from storage.repositories import under

REPORT_REMINDERS = ("report_due", "report_overdue")
# Changes the agency logs against a deadline (a new dossier has its own; custody and registrations none).
TIMED_KINDS_EXCLUDED = ("new", "custody", "registration")


class ReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect = session.bind.dialect.name if session.bind is not None else "sqlite"

    # -- the reports ---------------------------------------------------------------------------------
    async def get(self, unit_id: int, period: str, for_update: bool = False) -> UnitReport | None:
        query = select(UnitReport).where(UnitReport.unit_id == unit_id, UnitReport.period == period)
        if for_update and self.dialect == "postgresql":
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def draft(self, unit_id: int, period: str, now: dt.datetime) -> UnitReport:
        """The unit's report of the period, locked, begun as a draft if there was none yet (two clerks
        beginning it at the same moment get the same one)."""
        report = await self.get(unit_id, period, for_update=True)
        if report is not None:
            return report
        try:
            async with self.session.begin_nested():
                report = UnitReport(unit_id=unit_id, period=period, status="draft", sections={}, created_at=now,
                                    updated_at=now)
                self.session.add(report)
                await self.session.flush()
            return report
        except IntegrityError:
            found = await self.get(unit_id, period, for_update=True)
            assert found is not None
            return found

    async def of_period(self, period: str) -> Sequence[UnitReport]:
        return (await self.session.scalars(select(UnitReport).where(UnitReport.period == period))).all()

    # -- the reminders about them --------------------------------------------------------------------
    async def reminded(self, period: str) -> dict[int, tuple[int, dt.datetime | None, list[str]]]:
        """Per unit: on how many days report reminders of the period were sent (to however many clerks),
        the last time, and to whom."""
        query = (
            select(Outbox.object_id, Outbox.key, Outbox.sent_at, Account.username)
            .outerjoin(Account, Account.id == Outbox.account_id)
            .where(Outbox.object_type == "unit", Outbox.object_id.like(f"%:{period}"),
                   Outbox.kind.in_(REPORT_REMINDERS), Outbox.status == "sent")
        )
        days: dict[int, set[str]] = defaultdict(set)
        last: dict[int, dt.datetime] = {}
        names: dict[int, list[str]] = defaultdict(list)
        for object_id, key, sent_at, username in await self.session.execute(query):
            unit_id = int(str(object_id).split(":")[0])
            days[unit_id].add(str(key).rsplit(":", 2)[-2])  # the key ends with the day it is for and the chat
            if sent_at is not None and (unit_id not in last or sent_at > last[unit_id]):
                last[unit_id] = sent_at
            if username and username not in names[unit_id]:
                names[unit_id].append(username)
        return {unit_id: (len(dates), last.get(unit_id), names[unit_id]) for unit_id, dates in days.items()}

    async def drop_reminders(self, unit_id: int, period: str) -> int:
        """The unit's report reminders of the period not sent yet: dropped, the report is in. (A claimed one
        is dropped too: its sender sends only what it still finds claimed.)"""
        # An UPDATE's result is a CursorResult (it has rowcount); AsyncSession.execute is typed as Result.
        result = cast(CursorResult[Any], await self.session.execute(
            update(Outbox)
            .where(Outbox.object_type == "unit", Outbox.object_id == f"{unit_id}:{period}",
                   Outbox.kind.in_(REPORT_REMINDERS), Outbox.status.in_(("pending", "claimed")))
            .values(status="dropped", last_error="the report was submitted")
        ))
        return int(result.rowcount or 0)

    # -- what section (a) measures, per unit ---------------------------------------------------------
    async def change_timeliness(self, since: dt.datetime, until: dt.datetime, prefixes: Sequence[str] = ("/",)
                                ) -> dict[int, tuple[int, int]]:
        """Per unit answerable (the custodian when it was logged): changes logged in [since, until)
        within their deadline, and after it."""
        on_time = func.sum(case((ChangeEvent.on_time.is_(True), 1), else_=0))
        late = func.sum(case((ChangeEvent.on_time.is_(False), 1), else_=0))
        query = (
            select(ChangeEvent.unit_id, on_time, late)
            .join(OrgUnit, OrgUnit.id == ChangeEvent.unit_id)
            .where(under(OrgUnit.path, prefixes), ChangeEvent.status == "applied", ChangeEvent.on_time.is_not(None),
                   ChangeEvent.kind.not_in(TIMED_KINDS_EXCLUDED),
                   ChangeEvent.recorded_at >= since, ChangeEvent.recorded_at < until)
            .group_by(ChangeEvent.unit_id)
        )
        return {int(row[0]): (int(row[1] or 0), int(row[2] or 0)) for row in await self.session.execute(query)}

    async def new_dossiers(self, since: dt.datetime, until: dt.datetime, fields: Sequence[str],
                           prefixes: Sequence[str] = ("/",)) -> list[dict[str, Any]]:
        """Dossiers created through /new in [since, until): their unit, deadline, the mandatory
        `fields` as they are now, when the dossier was last updated, and the times at which a version
        recorded all of them filled."""
        columns = [getattr(Dossier, name) for name in fields]
        query = (
            select(ChangeEvent.unit_id, ChangeEvent.dossier_id, ChangeEvent.deadline, Dossier.updated_at, *columns)
            .join(Dossier, Dossier.id == ChangeEvent.dossier_id)
            .join(OrgUnit, OrgUnit.id == ChangeEvent.unit_id)
            .where(under(OrgUnit.path, prefixes), ChangeEvent.kind == "new", ChangeEvent.status == "applied",
                   ChangeEvent.recorded_at >= since, ChangeEvent.recorded_at < until)
        )
        rows = [dict(row._mapping) for row in await self.session.execute(query)]
        if not rows:
            return rows
        complete_at: dict[int, list[dt.datetime]] = defaultdict(list)
        versions = select(DossierVersion.dossier_id, DossierVersion.recorded_at, DossierVersion.snapshot).where(
            DossierVersion.dossier_id.in_([row["dossier_id"] for row in rows]))
        for dossier_id, recorded_at, snapshot in await self.session.execute(versions):
            if all((snapshot or {}).get(name) not in (None, "") for name in fields):
                complete_at[int(dossier_id)].append(recorded_at)
        for row in rows:
            row["complete_at"] = min(complete_at.get(row["dossier_id"], []), default=None)
        return rows

    async def pending(self, today: dt.date, prefixes: Sequence[str] = ("/",)) -> dict[int, dict[str, int]]:
        """Per unit, what waits on it now: declarations to review (by the dossier's custodian),
        custody requests to decide (by the holding unit), decisions registered and not entered (and
        of them past their deadline)."""
        found: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        declarations = (
            select(Dossier.custodian_unit_id, func.count())
            .select_from(ChangeEvent).join(Dossier, Dossier.id == ChangeEvent.dossier_id)
            .join(OrgUnit, OrgUnit.id == Dossier.custodian_unit_id)
            .where(under(OrgUnit.path, prefixes), ChangeEvent.status == "pending", ChangeEvent.kind != "custody")
            .group_by(Dossier.custodian_unit_id)
        )
        for unit_id, count in await self.session.execute(declarations):
            found[int(unit_id)]["declarations"] += int(count)
        transfers = (select(TransferRequest.holding_unit_id, func.count())
                     .join(OrgUnit, OrgUnit.id == TransferRequest.holding_unit_id)
                     .where(under(OrgUnit.path, prefixes), TransferRequest.status == "pending")
                     .group_by(TransferRequest.holding_unit_id))
        for unit_id, count in await self.session.execute(transfers):
            found[int(unit_id)]["transfers"] += int(count)
        overdue = func.sum(case((ChangeEvent.deadline < today, 1), else_=0))
        registered = (
            select(Dossier.custodian_unit_id, func.count(), overdue)
            .select_from(ChangeEvent).join(Dossier, Dossier.id == ChangeEvent.dossier_id)
            .join(OrgUnit, OrgUnit.id == Dossier.custodian_unit_id)
            .where(under(OrgUnit.path, prefixes), ChangeEvent.kind == "registration",
                   ChangeEvent.status == "registered")
            .group_by(Dossier.custodian_unit_id)
        )
        for unit_id, count, late in await self.session.execute(registered):
            found[int(unit_id)]["registered"] += int(count)
            found[int(unit_id)]["registered_overdue"] += int(late or 0)
        return {unit_id: dict(counts) for unit_id, counts in found.items()}
