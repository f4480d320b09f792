"""Export: the dossiers of the actor's scope written to .xlsx or .csv with the import's columns, so that
an export imported back changes nothing at all. Fields the actor may not see (`mask_for`) are left out."""

from __future__ import annotations

import asyncio
from pathlib import Path

from services.core.actor import Actor
from services.core.clock import Clock
from services.core.policy import Action, scope_of
from services.dossiers.io.columns import COLUMNS
from services.dossiers.io.results import ExportReport, Progress
from services.dossiers.io.spreadsheets import suffix_of
from services.dossiers.io.writers import open_writer
from services.dossiers.masking import mask_for
from services.platform.audit import record
from services.platform.sessions import sensitive
from services.platform.units import normalise_code, unit_by_code
from services.regime.reference import names_of
from storage import UnitOfWork

__all__ = ["EXPORT_BATCH", "DossierExporter"]

EXPORT_BATCH = 5000  # rows read from the database at a time


class DossierExporter:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock

    async def export_file(
        self,
        path: str | Path,
        unit_code: str | None = None,
        vietnamese: bool = True,
        progress: Progress | None = None,
    ) -> ExportReport:
        """Write the dossiers of the actor's scope (custodian or working unit in scope; with `unit_code`,
        only those of that unit's subtree) with the import's columns: the Vietnamese headers and words by
        default, the English ones and the codes without `vietnamese`. A rank's name the dossier does not
        hold is the reference list's (import takes it back as no change). Audited once, with the count."""
        path = Path(path)
        suffix = suffix_of(path)
        async with sensitive(self.uow, self.actor, self.clock, Action.VIEW_DOSSIER) as repos:
            prefixes = scope_of(self.actor, Action.VIEW_DOSSIER)
            subtree = None
            if unit_code:
                unit = await unit_by_code(repos, unit_code, "unit", active=False,
                                          scope=scope_of(self.actor, Action.VIEW_DOSSIER))
                subtree = unit.path
            total = await repos.dossiers.count_in_scope(prefixes) if progress is not None and subtree is None else None
            rank_names = await names_of(repos, "rank")
        mask = mask_for(self.actor)
        columns = [column for column in COLUMNS if mask.shows_field(column.field)]
        fields = [column.field for column in columns if column.kind != "unit"]
        writer = open_writer(path, suffix, columns, vietnamese)
        count, after = 0, 0
        try:
            while True:
                async with self.uow.read() as repos:
                    batch = await repos.dossiers.export_batch(prefixes, fields, after, EXPORT_BATCH, subtree)
                if not batch:
                    break
                if "rank_name" in fields:
                    for row in batch:
                        row["rank_name"] = row["rank_name"] or rank_names.get(row.get("rank_code") or "")
                # The spreadsheet is written in a worker thread: the bot goes on answering meanwhile.
                await asyncio.to_thread(writer.write, batch)
                count, after = count + len(batch), batch[-1]["id"]
                if progress is not None:
                    progress(count, total)
            await asyncio.to_thread(writer.close)
        except BaseException:
            writer.abort()
            raise
        async with self.uow.write() as repos:
            await record(repos, self.clock, self.actor, "dossier.export", None, None, count=count,
                         unit=normalise_code(unit_code) if unit_code else None, file=path.name)
        return ExportReport(path, count)
