"""Import (.xlsx, .csv) with a row-by-row error report.

A file may use the English or the Vietnamese headers (`columns`), in any case, with or without
diacritics. Import upserts by personal ID: a new ID creates a dossier, a known one is updated only where
a value differs, so importing the same file twice changes nothing the second time, and an export imported
back changes nothing at all. An empty cell leaves the stored value as it is.

Every row is checked before anything is written; a bad row is reported (row, column, value, reason),
never dropped and never "repaired": in particular a personal ID typed as a number, or with fewer than 12
digits, is not padded with zeros but sent back for review. Good rows are written in batches of
`IMPORT_BATCH`, each batch one transaction with one audit event per created or updated dossier.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.core.actor import Actor
from services.core.clock import Clock, local_today
from services.core.errors import InvalidInput, PermissionDenied
from services.core.i18n import N_
from services.core.policy import Action, allows, can, scope_of
from services.core.text import fold
from services.dossiers.io.cells import (
    as_coded,
    as_date,
    as_number,
    as_personal_id,
    as_text,
    blank,
    clean_text,
    normal,
    shown,
)
from services.dossiers.io.columns import BY_FIELD, DOSSIER_FIELDS, Column, column_for, match_key
from services.dossiers.io.results import (
    CUSTODY_BY_TRANSFER,
    DOSSIER_OUT_OF_SCOPE,
    DUPLICATE,
    LOST_ZEROS,
    NO_UNIT,
    OFF_THE_TABLE,
    REQUIRED,
    ImportReport,
    Progress,
    RowError,
)
from services.dossiers.io.spreadsheets import Table, open_table, rows_of
from services.platform.audit import actor_label
from services.platform.sessions import sensitive
from services.platform.units import UNIT_OUT_OF_SCOPE, normalise_code, unit_by_code, usable_unit
from services.regime.reference import names_of
from services.regime.salary import off_the_table
from storage import UnitOfWork
from storage.audit import NewEvent
from storage.models import OrgUnit

__all__ = ["HEADER_SEARCH_ROWS", "IMPORT_BATCH", "DossierImporter"]

IMPORT_BATCH = 2000  # rows per transaction
HEADER_SEARCH_ROWS = 10  # the header may sit below a title: it is looked for in the first rows


@dataclass(slots=True)
class _Row:
    number: int
    values: dict[str, Any]  # dossier column → value, for the non-empty cells only
    cells: dict[str, tuple[str, Any]]  # dossier column → (header in the file, cell as read)
    custodian: OrgUnit | None = None
    working: OrgUnit | None = None


class _Header:
    """Where each known column sits in the file, and under which header."""

    def __init__(self, cells: Sequence[Any]) -> None:
        self.positions: list[tuple[int, Column, str]] = []
        self.ignored: list[str] = []
        seen: set[str] = set()
        vietnamese = english = 0
        for index, cell in enumerate(cells):
            if blank(cell):
                continue
            header = " ".join(str(cell).split())
            column = column_for(header)
            if column is None or column.field in seen:
                self.ignored.append(header)
                continue
            seen.add(column.field)
            self.positions.append((index, column, header))
            vietnamese += match_key(header) == match_key(column.header_vi)
            english += match_key(header) == match_key(column.header)
        self.fields = seen
        self.vietnamese = vietnamese > english

    def name_of(self, name: str) -> str:
        """The header of a column in this file, or in the file's language when it has no such column."""
        for _index, column, header in self.positions:
            if column.field == name:
                return header
        column = BY_FIELD[name]
        return column.header_vi if self.vietnamese else column.header


async def _find_header(rows: AsyncIterator[tuple[int, Sequence[Any]]]) -> tuple[int, _Header] | None:
    searched = 0
    async for number, cells in rows:
        if any(column_for(cell) is BY_FIELD["personal_id"] for cell in cells if not blank(cell)):
            return number, _Header(cells)
        searched += 1
        if searched >= HEADER_SEARCH_ROWS:
            return None
    return None


def _same(stored: Any, new: Any) -> bool:
    """Whether an imported value is what is stored already (a text compared as import would store it)."""
    if isinstance(stored, float) or isinstance(new, float):
        return stored is not None and new is not None and round(float(stored), 2) == round(float(new), 2)
    if isinstance(stored, str) and isinstance(new, str):
        return normal(stored) == new
    return bool(stored == new)


class DossierImporter:
    """The import use case, for the CLI (as `Actor.system()`) and the bot."""

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
        path = Path(path)
        if not allows(self.actor, Action.EDIT_DOSSIER):
            raise PermissionDenied()
        if not path.is_file():
            raise InvalidInput("file", N_("No such file: {name}"), name=str(path))
        table = await open_table(path)
        try:
            return await self._import(table, path.name, default_unit_code, dry_run, progress)
        finally:
            await table.aclose()

    async def _import(
        self, table: Table, source: str, default_unit_code: str | None, dry_run: bool, progress: Progress | None
    ) -> ImportReport:
        async with sensitive(self.uow, self.actor, self.clock, Action.EDIT_DOSSIER) as repos:
            units = {unit.code: unit for unit in await repos.units.subtree("/")}
            self._groups = {item.code: str(item.extra.get("group") or "")
                            for item in await repos.references.listing("rank")}
            default_unit = None
            self._rank_names = await names_of(repos, "rank")
            if default_unit_code:
                default_unit = await unit_by_code(repos, default_unit_code, "unit",
                                                  scope=scope_of(self.actor, Action.EDIT_DOSSIER))
        self._units, self._units_by_id = units, {unit.id: unit for unit in units.values()}
        self._default_unit, self._today = default_unit, local_today(self.clock)

        rows = rows_of(table)
        found = await _find_header(rows)
        if found is None:
            raise InvalidInput("file", N_("The file has no personal ID column (Số định danh, personal_id)."))
        header_row, header = found
        report = ImportReport(file=source, dry_run=dry_run, ignored_columns=header.ignored)
        total = None if table.total is None else max(table.total - header_row, 0)
        seen: dict[str, int] = {}  # personal ID → the first row that has it
        converters = [(index, column, name, self._converter(column)) for index, column, name in header.positions]
        # New dossiers get the file's columns and the required ones; the others keep their defaults.
        self._insert_fields = tuple(name for name in DOSSIER_FIELDS
                                    if name in header.fields or name in ("full_name", "sex", "birth_date",
                                                                         "employment_status"))
        batch: list[_Row] = []
        async for number, cells in rows:
            if all(blank(cell) for cell in cells):
                continue
            report.rows += 1
            parsed = self._parse(number, cells, header, converters, seen, report)
            if parsed is not None:
                batch.append(parsed)
            if report.rows % IMPORT_BATCH == 0:
                await self._write(batch, header, report, dry_run, source)
                batch = []
                if progress is not None:
                    progress(report.rows, total)
        await self._write(batch, header, report, dry_run, source)
        if progress is not None:
            progress(report.rows, report.rows)
        report.errors.sort(key=lambda error: error.row)
        report.failed = len({error.row for error in report.errors})
        return report

    def _parse(
        self,
        number: int,
        cells: Sequence[Any],
        header: _Header,
        converters: list[tuple[int, Column, str, Callable[[Any, Column], Any]]],
        seen: dict[str, int],
        report: ImportReport,
    ) -> _Row | None:
        """The row's values, checked one by one; None, with every error reported, when any is wrong."""
        row = _Row(number, {}, {})
        errors: list[RowError] = []
        width = len(cells)
        for index, column, name, convert in converters:
            value = cells[index] if index < width else None
            if value is None or (value.__class__ is str and not value.strip()):
                continue
            row.cells[column.field] = (name, value)
            try:
                row.values[column.field] = convert(value, column)
            except InvalidInput as error:
                errors.append(RowError(number, name, shown(value), error.message, error.params,
                                       review=error.message == LOST_ZEROS))
        personal_id = row.values.get("personal_id")
        if "personal_id" not in row.cells:
            errors.append(RowError(number, header.name_of("personal_id"), "", REQUIRED))
        elif personal_id is not None:
            first = seen.setdefault(personal_id, number)
            if first != number:
                name, value = row.cells["personal_id"]
                errors.append(RowError(number, name, shown(value), DUPLICATE, {"value": personal_id, "row": first}))
        if not errors:
            errors += self._units_of(row, header)
        if errors:
            report.errors += errors
            return None
        return row

    def _converter(self, column: Column) -> Callable[[Any, Column], Any]:
        """The check and conversion of one column's cells."""
        if column.kind == "personal_id":
            return as_personal_id
        if column.kind in ("date", "birth_date"):
            today = self._today
            return lambda value, column: as_date(value, column, today)
        if column.kind in ("int", "float"):
            return as_number
        if column.kind in ("sex", "status"):
            return as_coded
        if column.kind == "unit":
            return self._unit
        return as_text

    def _unit(self, value: Any, column: Column) -> OrgUnit:
        code = clean_text(value)
        return usable_unit(self._units.get(normalise_code(code)), code, column.field)

    def _units_of(self, row: _Row, header: _Header) -> list[RowError]:
        """The row's custodian (its unit code) must be in the actor's scope; the working unit is the
        custodian unless the row names another."""
        custodian: OrgUnit | None = row.values.pop("unit_code", None)
        working: OrgUnit | None = row.values.pop("working_unit_code", None)
        if custodian is not None and not can(self.actor, Action.EDIT_DOSSIER, custodian.path):
            name, value = row.cells["unit_code"]
            return [RowError(row.number, name, shown(value), UNIT_OUT_OF_SCOPE, {"code": custodian.code})]
        row.custodian, row.working = custodian, working or custodian
        return []

    async def _write(
        self, batch: list[_Row], header: _Header, report: ImportReport, dry_run: bool, source: str
    ) -> None:
        """One transaction: the batch's dossiers compared with the stored ones, then created or updated."""
        if not batch:
            return
        now = self.clock.now()
        fields = [name for name in DOSSIER_FIELDS if name in header.fields]
        creates: list[tuple[_Row, dict[str, Any]]] = []
        updates: list[tuple[_Row, int, dict[str, Any]]] = []
        async with sensitive(self.uow, self.actor, self.clock, Action.EDIT_DOSSIER) as repos:
            stored = await repos.dossiers.by_personal_ids([row.values["personal_id"] for row in batch], fields)
            for row in batch:
                existing = stored.get(row.values["personal_id"])
                if existing is None:
                    values = self._new(row, header, report, now)
                    if values is not None:
                        creates.append((row, values))
                        self._check_salary(row, header, {}, report)
                    continue
                changes = self._changes(row, existing, header, report, now)
                if changes is None:
                    continue
                self._check_salary(row, header, existing, report)
                if changes:
                    updates.append((row, existing["id"], changes))
                else:
                    report.unchanged += 1
            report.created += len(creates)
            report.updated += len(updates)
            if dry_run or not (creates or updates):
                return
            ids = await repos.dossiers.insert_many([values for _row, values in creates])
            await repos.dossiers.update_many((dossier_id, changes) for _row, dossier_id, changes in updates)
            label = actor_label(self.actor)
            events = [
                NewEvent(now, "dossier.import_create", label, self.actor.account_id, "dossier",
                         str(ids[values["personal_id"]]), {"row": row.number, "source": source})
                for row, values in creates
            ] + [
                NewEvent(now, "dossier.import_update", label, self.actor.account_id, "dossier", str(dossier_id),
                         {"row": row.number, "source": source,
                          "fields": sorted(key for key in changes if key not in ("folded_name", "updated_at"))})
                for row, dossier_id, changes in updates
            ]
            await repos.audit.append_many(events)

    def _check_salary(self, row: _Row, header: _Header, existing: dict[str, Any], report: ImportReport) -> None:
        """The row's rank, step and coefficient (the stored ones where the row has none) against the salary
        table: a mismatch is imported (the decision may say so) and reported to check."""
        if "salary_coefficient" not in row.values and "salary_step" not in row.values:
            return
        rank, step, coefficient = ({**existing, **row.values}.get(key)
                                   for key in ("rank_code", "salary_step", "salary_coefficient"))
        table = off_the_table(self._groups.get(rank or ""), step, coefficient)
        if table is not None:
            name, value = row.cells.get("salary_coefficient") or (header.name_of("salary_coefficient"), coefficient)
            report.off_table.append(RowError(row.number, name, shown(value), OFF_THE_TABLE, {
                "coefficient": f"{coefficient:.2f}", "rank": rank, "step": step,
                "table": f"{table:.2f}" if table else "—"}, review=True))

    def _new(self, row: _Row, header: _Header, report: ImportReport, now: dt.datetime) -> dict[str, Any] | None:
        errors = [
            RowError(row.number, header.name_of(name), "", REQUIRED)
            for name in ("full_name", "sex", "birth_date") if name not in row.values
        ]
        custodian = row.custodian or self._default_unit
        if custodian is None:
            errors.append(RowError(row.number, header.name_of("unit_code"), "", NO_UNIT))
        if errors:
            report.errors += errors
            return None
        assert custodian is not None
        values: dict[str, Any] = dict.fromkeys(self._insert_fields)  # the same keys in every row: one executemany
        values.update(row.values)
        values.update(
            folded_name=fold(values["full_name"]),
            employment_status=values["employment_status"] or "active",
            custodian_unit_id=custodian.id,
            working_unit_id=(row.working or custodian).id,
            created_at=now,
            updated_at=now,
        )
        return values

    def _changes(
        self, row: _Row, existing: dict[str, Any], header: _Header, report: ImportReport, now: dt.datetime
    ) -> dict[str, Any] | None:
        """What differs from the stored dossier; None (with the error reported) when it is out of scope."""
        held_by = self._units_by_id.get(existing["custodian_unit_id"])
        if held_by is None or not can(self.actor, Action.EDIT_DOSSIER, held_by.path):
            name, value = row.cells["personal_id"]
            report.errors.append(RowError(row.number, name, shown(value), DOSSIER_OUT_OF_SCOPE))
            return None
        if row.custodian is not None and row.custodian.id != existing["custodian_unit_id"]:
            # Custody moves only through an approved transfer request (invariant 5), never by a file.
            name, value = row.cells["unit_code"]
            report.errors.append(RowError(row.number, name, shown(value), CUSTODY_BY_TRANSFER))
            return None
        changes = {key: value for key, value in row.values.items() if not _same(existing.get(key), value)}
        code = row.values.get("rank_code") or existing.get("rank_code") or ""
        if existing.get("rank_name") is None and changes.get("rank_name") == self._rank_names.get(code, False):
            del changes["rank_name"]  # the reference list's name, as export writes it: nothing new
        if row.working is not None and row.working.id != existing["working_unit_id"]:
            changes["working_unit_id"] = row.working.id
        if "full_name" in changes:
            changes["folded_name"] = fold(changes["full_name"])
        if changes:
            changes["updated_at"] = now
        return changes
