"""Dossiers in and out of spreadsheets: the one service the facade (`services.dossier_io`) and the CLI
call. It only delegates; the work is in the package's modules:

- `columns`: the column schema (headers, codes, which field each fills);
- `cells`: reading and showing one cell;
- `results`: the import and export reports, row errors and their reasons;
- `importer`: the import use case; `exporter`: the export use case;
- `writers`: the .xlsx/.csv writers, the error report and the template;
- `spreadsheets`: the .xlsx/.csv readers.
"""

from __future__ import annotations

from services.dossiers.io.exporter import DossierExporter
from services.dossiers.io.importer import DossierImporter


class DossierIOService(DossierImporter, DossierExporter):
    """Import and export as one entry point, for the facade (`services.dossier_io`) and the CLI: the work and
    its documentation are in the importer and the exporter."""
