"""Dossiers in and out of spreadsheets: the one service the facade (`services.dossier_io`) and the CLI
call. It only delegates; the work is in the package's modules:

- `columns`: the column schema (headers, codes, which field each fills);
- `cells`: reading and showing one cell;
- `reports`: the import and export reports, row errors and their reasons;
- `importer`: the import use case; `exporter`: the export use case;
- `writers`: the .xlsx/.csv writers, the error report and the template;
- `spreadsheets`: the .xlsx/.csv readers.
"""

from __future__ import annotations

from pathlib import Path

from services.core.actor import Actor
from services.core.clock import Clock
from services.dossiers.io.exporter import DossierExporter
from services.dossiers.io.importer import DossierImporter
from services.dossiers.io.reports import ExportReport, ImportReport, Progress
from storage import UnitOfWork


class DossierIOService:
    """Import and export for the CLI (as `Actor.system()`) and the bot."""

    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock

    async def import_file(
        self,
        path: str | Path,
        default_unit_code: str | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Check every row of `path`, then create or update the dossiers of the good rows, batch by batch.
        `default_unit_code` is the unit of new dossiers whose row names none. With `dry_run`, rows are
        checked and counted as they would be, and nothing is written."""
        # A new importer per file: it holds the units and the default unit of this import only.
        importer = DossierImporter(self.uow, self.actor, self.clock)
        return await importer.import_file(path, default_unit_code, dry_run, progress)

    async def export_file(
        self,
        path: str | Path,
        unit_code: str | None = None,
        vietnamese: bool = False,
        progress: Progress | None = None,
    ) -> ExportReport:
        """Write the dossiers of the actor's scope (with `unit_code`, only that unit's subtree) with the
        import's columns: English headers and codes by default, Vietnamese ones with `vietnamese`."""
        exporter = DossierExporter(self.uow, self.actor, self.clock)
        return await exporter.export_file(path, unit_code, vietnamese, progress)
