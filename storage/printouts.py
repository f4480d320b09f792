"""Printouts issued with a verification code, and the state of what each showed (to tell a newer one)."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Dossier, DossierVersion, Printout, UnitReport


class PrintoutRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, *, code: str, kind: str, subject: str, version: int, digest: str, state: str,
                  audit_seq: int, issued_at: dt.datetime, issued_by: str) -> Printout:
        row = Printout(code=code, kind=kind, subject=subject, version=version, digest=digest, state=state,
                       audit_seq=audit_seq, issued_at=issued_at, issued_by=issued_by)
        self.session.add(row)
        await self.session.flush()
        return row

    async def by_code(self, code: str) -> Printout | None:
        return await self.session.scalar(select(Printout).where(Printout.code == code))

    # -- the state of a printout's subject --------------------------------------------------------------
    async def dossier_state(self, dossier_id: int) -> tuple[int, str]:
        """The dossier's version and when it was last written. Version 1 is the dossier as created or imported
        (an import writes no version row; the first change writes the baseline with its own), each change one
        more."""
        count = await self.session.scalar(
            select(func.count()).select_from(DossierVersion).where(DossierVersion.dossier_id == dossier_id))
        updated = await self.session.scalar(select(Dossier.updated_at).where(Dossier.id == dossier_id))
        version = max(1, int(count or 0))
        return version, f"{version}:{updated.isoformat() if updated else '-'}"

    async def report_state(self, unit_id: int | None, period: str) -> str:
        """The unit's report of the period (or every unit's, for None) as it stands: status and last write."""
        query = select(UnitReport.unit_id, UnitReport.status, UnitReport.updated_at).where(UnitReport.period == period)
        if unit_id is not None:
            query = query.where(UnitReport.unit_id == unit_id)
        rows = (await self.session.execute(query.order_by(UnitReport.unit_id))).all()
        joined = ";".join(f"{unit}:{status}:{updated.isoformat()}" for unit, status, updated in rows) or "-"
        # Only ever compared for equality: its digest fits the column whatever the number of units.
        return hashlib.sha256(joined.encode()).hexdigest()

    async def data_state(self) -> str:
        """What the statistics are counted from, as it stands: the dossiers and their versions."""
        dossiers = (await self.session.execute(
            select(func.count(Dossier.id), func.max(Dossier.updated_at)))).one()
        versions = await self.session.scalar(select(func.max(DossierVersion.id)))
        latest = dossiers[1].isoformat() if dossiers[1] else "-"
        return f"{dossiers[0]}:{latest}:{versions or 0}"
