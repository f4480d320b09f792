"""What import and export hand back: the reports, the row errors and the untranslated reasons they name.

A leaf of the package (nothing here reads a file or the database), so that the cells, the importer, the
exporter and the error report's writer can all share it without importing one another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.core.i18n import N_

__all__ = ["BAD_SEX", "BAD_STATUS", "CUSTODY_BY_TRANSFER", "DOSSIER_OUT_OF_SCOPE", "DUPLICATE", "LOST_ZEROS",
           "NOT_A_NUMBER", "NOT_WHOLE", "NO_UNIT", "OFF_THE_TABLE", "OUT_OF_RANGE", "REQUIRED", "TOO_LONG", "ExportReport", "ImportReport", "Progress", "RowError"]

# Untranslated reasons of this package (the others come from services.core.validation and services.platform.units).
LOST_ZEROS = N_("{value} looks like a number that lost its leading zeros: type it as text, with every digit, "
                "and check it.")
NOT_A_NUMBER = N_("Not a number: {value}.")
NOT_WHOLE = N_("Not a whole number: {value}.")
OUT_OF_RANGE = N_("{value} is out of range ({low} to {high}).")
TOO_LONG = N_("Too long: at most {limit} characters.")
BAD_SEX = N_("Not a valid sex: {value} (use M or F, Nam or Nữ).")
BAD_STATUS = N_("Unknown employment status: {value}.")
REQUIRED = N_("Required for a new dossier.")
NO_UNIT = N_("No unit code: fill in the column, or give a default unit.")
DOSSIER_OUT_OF_SCOPE = N_("This dossier is outside your scope.")
DUPLICATE = N_("The personal ID {value} is also on row {row}.")
OFF_THE_TABLE = N_("Imported, to check: the coefficient {coefficient} is not the salary table's for rank {rank}, "
                   "step {step} ({table}).")
CUSTODY_BY_TRANSFER = N_("The dossier is kept by another unit; custody moves only through a transfer request "
                         "(/transfer), not by import.")


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # the row number in the file (the header is row 1 when it is the first)
    column: str  # the header as written in the file
    value: str  # the cell as read, as text
    message: str  # untranslated message id, as InvalidInput carries it
    params: dict[str, Any] = field(default_factory=dict)
    review: bool = False  # a value that may be right but must be checked by a person (lost zeros)

    def reason(self, translate: Callable[[str], str]) -> str:
        return translate(self.message).format(**self.params)


@dataclass(slots=True)
class ImportReport:
    file: str
    dry_run: bool = False
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    # Rows imported whose salary coefficient is not the table's for their rank and step: to check.
    off_table: list[RowError] = field(default_factory=list)

    @property
    def review(self) -> int:
        """Rows sent back for review (a value that looks like it lost its leading zeros)."""
        return len({error.row for error in self.errors if error.review})

    def counts(self) -> dict[str, Any]:
        return {"file": self.file, "dry_run": self.dry_run, "rows": self.rows, "created": self.created,
                "updated": self.updated, "unchanged": self.unchanged, "failed": self.failed, "review": self.review,
                "off_table": len(self.off_table), "ignored_columns": list(self.ignored_columns)}


@dataclass(frozen=True, slots=True)
class ExportReport:
    path: Path
    count: int


Progress = Callable[[int, int | None], None]  # (rows done, rows in all when known)
