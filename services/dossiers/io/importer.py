"""Dossiers in and out of spreadsheets: import (.xlsx, .csv) with a row-by-row error report, export
(.xlsx, .csv), and an empty template.

The columns are the dossier's fields (`SECTIONS`), under an English header (what export writes by
default) and a Vietnamese one (what the template writes); a file may use either, in any case, with or
without diacritics. Import upserts by personal ID: a new ID creates a dossier, a known one is updated
only where a value differs, so importing the same file twice changes nothing the second time, and an
export imported back changes nothing at all. An empty cell leaves the stored value as it is.

Every row is checked before anything is written; a bad row is reported (row, column, value, reason),
never dropped and never "repaired": in particular a personal ID typed as a number, or with fewer than 12
digits, is not padded with zeros but sent back for review. Good rows are written in batches of
`IMPORT_BATCH`, each batch one transaction with one audit event per created or updated dossier.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import math
import re
import unicodedata
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from services.core import validation
from services.core.actor import Actor
from services.platform.audit import actor_label, record
from services.core.clock import Clock, format_date, local_today
from services.regime.dossier_fields import SECTIONS
from services.core.errors import InvalidInput, PermissionDenied
from services.core.i18n import N_
from services.dossiers.masking import mask_for
from services.core.policy import Action, allows, can, scope_of
from services.platform.sessions import sensitive
from services.dossiers.io.spreadsheets import SUFFIXES, Table, open_table, rows_of, suffix_of
from services.core.text import fold
from services.platform.units import ACTIVE, normalise_code, unit_by_code
from storage import UnitOfWork
from storage.audit import NewEvent
from storage.models import Dossier, OrgUnit

IMPORT_BATCH = 2000  # rows per transaction
EXPORT_BATCH = 5000  # rows read from the database at a time
HEADER_SEARCH_ROWS = 10  # the header may sit below a title: it is looked for in the first rows
DATE_FORMAT = "DD/MM/YYYY"
TEXT_FORMAT = "@"
__all__ = ["COLUMNS", "SUFFIXES", "Column", "DossierIOService", "ExportReport", "ImportReport", "RowError",
           "column_for", "write_error_report", "write_template"]

# Untranslated reasons of this module (the others come from services.validation and services.units).
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
UNIT_OUT_OF_SCOPE = N_("Unit {code} is outside your scope.")
DOSSIER_OUT_OF_SCOPE = N_("This dossier is outside your scope.")
DUPLICATE = N_("The personal ID {value} is also on row {row}.")
NO_SUCH_UNIT = N_("No unit has the code {code}.")
MERGED_UNIT = N_("Unit {code} was merged and takes no changes.")
CUSTODY_BY_TRANSFER = N_("The dossier is kept by another unit; custody moves only through a transfer request "
                         "(/transfer), not by import.")


# -- the columns ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Column:
    header: str  # English, as export writes it
    header_vi: str  # Vietnamese, as the template writes it
    field: str  # the Dossier column; "unit_code" and "working_unit_code" are the two units' codes
    kind: str  # personal_id, text, date, birth_date, int, float, sex, status, unit
    aliases: tuple[str, ...] = ()
    max_length: int | None = None
    low: float | None = None
    high: float | None = None

    def names(self) -> tuple[str, ...]:
        return (self.header, self.header_vi, self.field, *self.aliases)


SEX_VALUES = {"M": "Nam", "F": "Nữ"}
STATUS_VALUES = {
    "active": "Đang làm việc", "probation": "Tập sự", "retired": "Nghỉ hưu", "resigned": "Thôi việc",
    "deceased": "Từ trần", "transferred_out": "Chuyển công tác",
}
_STATUS_ALIASES = {
    "active": ("working", "dang cong tac", "lam viec", "con lam viec"),
    "probation": ("on probation", "thu viec", "dang tap su"),
    "retired": ("huu", "da nghi huu", "huu tri"),
    "resigned": ("nghi viec", "da nghi viec", "da thoi viec"),
    "deceased": ("da mat", "qua doi", "da tu tran", "mat"),
    "transferred_out": ("transferred", "transferred out", "chuyen di", "da chuyen cong tac", "chuyen cong tac di"),
}
_SEX_ALIASES = {"M": ("m", "nam", "male"), "F": ("f", "nu", "female")}

# The Vietnamese header of every other field of SECTIONS (a field without one keeps its English name).
_VI_HEADERS = {
    "other_names": "Tên gọi khác", "birthplace": "Nơi sinh", "home_town": "Quê quán", "ethnicity": "Dân tộc",
    "religion": "Tôn giáo", "nationality": "Quốc tịch", "id_issued_on": "Ngày cấp CCCD",
    "social_insurance_no": "Số sổ BHXH", "permanent_address": "Nơi thường trú", "current_address": "Nơi ở hiện nay",
    "phone": "Số điện thoại", "recruiting_agency": "Cơ quan tuyển dụng",
    "recruitment_decision": "Quyết định tuyển dụng", "post_since": "Ngày giữ chức vụ", "rank_name": "Tên ngạch",
    "rank_since": "Ngày bổ nhiệm ngạch", "position_allowance": "Phụ cấp chức vụ",
    "over_ceiling_percent": "Phụ cấp vượt khung (%)", "other_allowances": "Phụ cấp khác",
    "general_education": "Giáo dục phổ thông", "professional_level": "Trình độ chuyên môn", "major": "Chuyên ngành",
    "political_theory": "Lý luận chính trị", "state_management": "Quản lý nhà nước", "foreign_language": "Ngoại ngữ",
    "it_skill": "Tin học", "party_joined_on": "Ngày vào Đảng", "party_official_on": "Ngày chính thức vào Đảng",
    "military_enlisted_on": "Ngày nhập ngũ", "military_discharged_on": "Ngày xuất ngũ",
    "military_rank": "Quân hàm cao nhất",
}
# Ranges of the numeric fields (the columns hold 5 digits with 2 decimals at most).
_RANGES = {"salary_step": (1, 99), "salary_coefficient": (0, 999.99), "position_allowance": (0, 999.99),
           "over_ceiling_percent": (0, 100)}
# Codes whose leading zeros matter: a number cell in these columns is sent back for review.
# (Excel turns 01.003 into 1.003 and 0912345678 into 912345678.)
_CODE_FIELDS = frozenset({"personal_id", "social_insurance_no", "phone", "rank_code"})


def _length(name: str) -> int | None:
    return getattr(Dossier.__table__.c[name].type, "length", None)


def _kind_of(name: str) -> str:
    kind = Dossier.__table__.c[name].type.python_type
    return {dt.date: "date", int: "int", float: "float"}.get(kind, "text")


def _column(header: str, header_vi: str, name: str, kind: str | None = None, aliases: tuple[str, ...] = ()) -> Column:
    low, high = _RANGES.get(name, (None, None))
    length = _length(name) if name in Dossier.__table__.c else None
    return Column(header, header_vi, name, kind or _kind_of(name), aliases, length, low, high)


_MAIN: tuple[Column, ...] = (
    _column("personal_id", "Số định danh", "personal_id", "personal_id",
            ("Số định danh cá nhân", "Số CCCD", "CCCD", "Căn cước công dân", "personal id")),
    _column("full_name", "Họ và tên", "full_name", aliases=("Họ tên", "Họ và tên khai sinh", "name")),
    _column("gender", "Giới tính", "sex", "sex"),
    _column("birth_date", "Ngày sinh", "birth_date", "birth_date", ("Ngày tháng năm sinh", "date of birth")),
    _column("unit_code", "Mã đơn vị", "unit_code", "unit", ("Mã đơn vị quản lý", "unit", "custodian_unit_code")),
    _column("working_unit_code", "Mã đơn vị công tác", "working_unit_code", "unit", ("working unit",)),
    _column("rank_code", "Mã ngạch", "rank_code", aliases=("Mã ngạch/chức danh", "Mã chức danh nghề nghiệp")),
    _column("position", "Chức vụ", "post", aliases=("Chức vụ hiện tại",)),
    _column("salary_step", "Bậc lương", "salary_step", aliases=("Bậc",)),
    _column("salary_coefficient", "Hệ số lương", "salary_coefficient", aliases=("Hệ số", "coefficient")),
    _column("salary_date", "Ngày hưởng lương", "salary_since", aliases=("Ngày hưởng", "Ngày hưởng bậc lương")),
    _column("recruited_on", "Ngày tuyển dụng", "recruited_on"),
    _column("status", "Tình trạng", "employment_status", "status", ("Tình trạng công tác", "Trạng thái")),
)
_COVERED = {column.field for column in _MAIN}
COLUMNS: tuple[Column, ...] = _MAIN + tuple(
    _column(name, _VI_HEADERS.get(name, name), name)
    for fields in SECTIONS.values() for name, _label in fields if name not in _COVERED
)
BY_FIELD = {column.field: column for column in COLUMNS}
# The dossier columns import and export read and write (the units travel as codes).
DOSSIER_FIELDS = tuple(column.field for column in COLUMNS if column.kind != "unit")


def _key(text: str) -> str:
    """How headers and coded values are matched: no case, no diacritics, _ as a space, no marks like *."""
    return " ".join(fold(text.replace("_", " ").replace("*", " ").replace(":", " ")).split())


_HEADER_INDEX: dict[str, Column] = {}
for _col in COLUMNS:
    for _name in _col.names():
        _HEADER_INDEX.setdefault(_key(_name), _col)
_SEX_INDEX = {_key(alias): code for code, aliases in _SEX_ALIASES.items() for alias in (*aliases, SEX_VALUES[code])}
_STATUS_INDEX = {
    _key(alias): code for code, aliases in _STATUS_ALIASES.items() for alias in (code, STATUS_VALUES[code], *aliases)
}


def column_for(header: object) -> Column | None:
    """The column a header names, ignoring case and diacritics; None for a header we do not know."""
    return _HEADER_INDEX.get(_key(str(header))) if header not in (None, "") else None


# -- the report ----------------------------------------------------------------------------------------

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

    @property
    def review(self) -> int:
        """Rows sent back for review (a value that looks like it lost its leading zeros)."""
        return len({error.row for error in self.errors if error.review})

    def counts(self) -> dict[str, Any]:
        return {"file": self.file, "dry_run": self.dry_run, "rows": self.rows, "created": self.created,
                "updated": self.updated, "unchanged": self.unchanged, "failed": self.failed, "review": self.review,
                "ignored_columns": list(self.ignored_columns)}


@dataclass(frozen=True, slots=True)
class ExportReport:
    path: Path
    count: int


Progress = Callable[[int, int | None], None]  # (rows done, rows in all when known)


# -- cells ---------------------------------------------------------------------------------------------

def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _shown(value: Any) -> str:
    """A cell as a person sees it, for the error report."""
    if value is None:
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return format_date(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _normal(text: str) -> str:
    """How texts are stored from a file: composed Unicode (NFC), spaces collapsed."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def _clean_text(value: Any) -> str:
    text = value if isinstance(value, str) else _shown(value)
    if len(text) > 1 and text[0] == "'" and text[1] in "=+@":
        text = text[1:]  # the guard a CSV export puts before a text that a spreadsheet would run as a formula
    return _normal(text)


_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def _as_date(value: Any, column: Column, today: dt.date) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.date()
    elif not isinstance(value, dt.date):
        text = _clean_text(value)
        iso = _ISO_DATE.match(text)
        if iso:  # 2026-07-01, as some programs write dates
            try:
                value = dt.date(*(int(part) for part in iso.groups()))
            except ValueError:
                raise InvalidInput(column.field, N_("Not a valid date: {value} (use dd/mm/yyyy)"), value=text) from None
        else:
            value = text
    if column.kind == "birth_date":
        return validation.birth_date(value, today, column.field)
    return validation.past_date(value, today, column.field)


def _as_number(value: Any, column: Column) -> int | float:
    shown = _shown(value)
    if isinstance(value, bool):
        raise InvalidInput(column.field, NOT_A_NUMBER, value=shown)
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = _clean_text(value).replace(" ", "")
        if "," in text and "." not in text:
            text = text.replace(",", ".")  # a decimal comma, as Vietnamese spreadsheets write it
        try:
            number = float(text)
        except ValueError:
            raise InvalidInput(column.field, NOT_A_NUMBER, value=shown) from None
    if not math.isfinite(number):
        raise InvalidInput(column.field, NOT_A_NUMBER, value=shown)
    result: int | float
    if column.kind == "int":
        if not number.is_integer():
            raise InvalidInput(column.field, NOT_WHOLE, value=shown)
        result = int(number)
    else:
        result = round(number, 2)
    if column.low is not None and column.high is not None and not column.low <= result <= column.high:
        raise InvalidInput(column.field, OUT_OF_RANGE, value=shown, low=column.low, high=column.high)
    return result


def _as_personal_id(value: Any, column: Column) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # Never padded: a number cell has lost any leading zero it had, and we cannot know how many.
        raise InvalidInput(column.field, LOST_ZEROS, value=_shown(value))
    text = _clean_text(value).replace(" ", "")
    if text.isdigit() and len(text) < 12:
        raise InvalidInput(column.field, LOST_ZEROS, value=text)
    return validation.personal_id(text, column.field)


def _as_text(value: Any, column: Column) -> str:
    if column.field in _CODE_FIELDS and isinstance(value, (int, float)) and not isinstance(value, bool):
        raise InvalidInput(column.field, LOST_ZEROS, value=_shown(value))
    text = _clean_text(value)
    if column.max_length is not None and len(text) > column.max_length:
        raise InvalidInput(column.field, TOO_LONG, limit=column.max_length)
    return text


@lru_cache(maxsize=1024)
def _code_of(kind: str, text: str) -> str | None:
    return (_SEX_INDEX if kind == "sex" else _STATUS_INDEX).get(_key(text))


def _as_coded(value: Any, column: Column) -> str:
    text = _clean_text(value)
    code = _code_of(column.kind, text)
    if code is None:
        raise InvalidInput(column.field, BAD_SEX if column.kind == "sex" else BAD_STATUS, value=text)
    return code


# -- import --------------------------------------------------------------------------------------------

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
            if _blank(cell):
                continue
            header = " ".join(str(cell).split())
            column = column_for(header)
            if column is None or column.field in seen:
                self.ignored.append(header)
                continue
            seen.add(column.field)
            self.positions.append((index, column, header))
            vietnamese += _key(header) == _key(column.header_vi)
            english += _key(header) == _key(column.header)
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
        if any(column_for(cell) is BY_FIELD["personal_id"] for cell in cells if not _blank(cell)):
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
        return _normal(stored) == new
    return bool(stored == new)


class DossierIOService:
    """Import and export for the CLI (as `Actor.system()`) and the bot."""

    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock

    # -- import ------------------------------------------------------------------------------------------
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
            default_unit = None
            if default_unit_code:
                default_unit = await unit_by_code(repos, default_unit_code, "unit")
                if not can(self.actor, Action.EDIT_DOSSIER, default_unit.path):
                    raise InvalidInput("unit", UNIT_OUT_OF_SCOPE, code=default_unit.code)
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
            if all(_blank(cell) for cell in cells):
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
                errors.append(RowError(number, name, _shown(value), error.message, error.params,
                                       review=error.message == LOST_ZEROS))
        personal_id = row.values.get("personal_id")
        if "personal_id" not in row.cells:
            errors.append(RowError(number, header.name_of("personal_id"), "", REQUIRED))
        elif personal_id is not None:
            first = seen.setdefault(personal_id, number)
            if first != number:
                name, value = row.cells["personal_id"]
                errors.append(RowError(number, name, _shown(value), DUPLICATE, {"value": personal_id, "row": first}))
        if not errors:
            errors += self._units_of(row, header)
        if errors:
            report.errors += errors
            return None
        return row

    def _converter(self, column: Column) -> Callable[[Any, Column], Any]:
        """The check and conversion of one column's cells."""
        if column.kind == "personal_id":
            return _as_personal_id
        if column.kind in ("date", "birth_date"):
            today = self._today
            return lambda value, column: _as_date(value, column, today)
        if column.kind in ("int", "float"):
            return _as_number
        if column.kind in ("sex", "status"):
            return _as_coded
        if column.kind == "unit":
            return self._unit
        return _as_text

    def _unit(self, value: Any, column: Column) -> OrgUnit:
        code = _clean_text(value)
        unit = self._units.get(normalise_code(code))
        if unit is None:
            raise InvalidInput(column.field, NO_SUCH_UNIT, code=code)
        if unit.status != ACTIVE:
            raise InvalidInput(column.field, MERGED_UNIT, code=unit.code)
        return unit

    def _units_of(self, row: _Row, header: _Header) -> list[RowError]:
        """The row's custodian (its unit code) must be in the actor's scope; the working unit is the
        custodian unless the row names another."""
        custodian: OrgUnit | None = row.values.pop("unit_code", None)
        working: OrgUnit | None = row.values.pop("working_unit_code", None)
        if custodian is not None and not can(self.actor, Action.EDIT_DOSSIER, custodian.path):
            name, value = row.cells["unit_code"]
            return [RowError(row.number, name, _shown(value), UNIT_OUT_OF_SCOPE, {"code": custodian.code})]
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
                    continue
                changes = self._changes(row, existing, header, report, now)
                if changes is None:
                    continue
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
            report.errors.append(RowError(row.number, name, _shown(value), DOSSIER_OUT_OF_SCOPE))
            return None
        if row.custodian is not None and row.custodian.id != existing["custodian_unit_id"]:
            # Custody moves only through an approved transfer request (invariant 5), never by a file.
            name, value = row.cells["unit_code"]
            report.errors.append(RowError(row.number, name, _shown(value), CUSTODY_BY_TRANSFER))
            return None
        changes = {key: value for key, value in row.values.items() if not _same(existing.get(key), value)}
        if row.working is not None and row.working.id != existing["working_unit_id"]:
            changes["working_unit_id"] = row.working.id
        if "full_name" in changes:
            changes["folded_name"] = fold(changes["full_name"])
        if changes:
            changes["updated_at"] = now
        return changes

    # -- export ------------------------------------------------------------------------------------------
    async def export_file(
        self,
        path: str | Path,
        unit_code: str | None = None,
        vietnamese: bool = False,
        progress: Progress | None = None,
    ) -> ExportReport:
        """Write the dossiers of the actor's scope (custodian or working unit in scope; with `unit_code`,
        only those of that unit's subtree) with the import's columns: English headers and codes by
        default, Vietnamese ones with `vietnamese`. Audited once, with the count."""
        path = Path(path)
        suffix = suffix_of(path)
        async with sensitive(self.uow, self.actor, self.clock, Action.VIEW_DOSSIER) as repos:
            prefixes = scope_of(self.actor, Action.VIEW_DOSSIER)
            subtree = None
            if unit_code:
                unit = await unit_by_code(repos, unit_code, "unit", active=False)
                if not can(self.actor, Action.VIEW_DOSSIER, unit.path):
                    raise InvalidInput("unit", UNIT_OUT_OF_SCOPE, code=unit.code)
                subtree = unit.path
            total = await repos.dossiers.count_in_scope(prefixes) if progress is not None and subtree is None else None
        mask = mask_for(self.actor)
        columns = [column for column in COLUMNS if mask.shows_field(column.field)]
        fields = [column.field for column in columns if column.kind != "unit"]
        writer = _writer(path, suffix, columns, vietnamese)
        count, after = 0, 0
        try:
            while True:
                async with self.uow.read() as repos:
                    batch = await repos.dossiers.export_batch(prefixes, fields, after, EXPORT_BATCH, subtree)
                if not batch:
                    break
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


# -- writing -------------------------------------------------------------------------------------------

_WIDTHS = {"personal_id": 15, "text": 22, "date": 12, "birth_date": 12, "int": 9, "float": 9, "sex": 8,
           "status": 16, "unit": 14}


def _getter(column: Column, vietnamese: bool) -> Callable[[dict[str, Any]], Any]:
    """How one column's value is taken from an exported row."""
    if column.kind == "unit":
        key = "custodian_code" if column.field == "unit_code" else "working_code"
        return lambda row: row.get(key)
    name = column.field
    labels = SEX_VALUES if column.kind == "sex" else STATUS_VALUES if column.kind == "status" else None
    if vietnamese and labels is not None:
        return lambda row: None if row.get(name) is None else labels.get(row[name], row[name])
    return lambda row: row.get(name)


class _SheetWriter:
    """A write-only workbook, streamed to disk: personal IDs and other codes as text cells, dates as real
    dates shown dd/mm/yyyy, texts never taken for formulas."""

    def __init__(self, path: Path, columns: Sequence[Column], vietnamese: bool, title: str = "HoSo") -> None:
        self.path, self.columns, self.vietnamese = path, columns, vietnamese
        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet(title)
        for index, column in enumerate(columns, start=1):
            width = 28 if column.field == "full_name" else _WIDTHS.get(column.kind, 16)
            self.sheet.column_dimensions[get_column_letter(index)].width = width
        bold = Font(bold=True)
        heads = []
        for column in columns:
            cell = WriteOnlyCell(self.sheet, value=column.header_vi if vietnamese else column.header)
            cell.font = bold
            heads.append(cell)
        self.sheet.append(heads)
        # Worked out once per column, not once per cell: 200 000 rows of 44 columns are 8.8 million cells.
        self.plan = [(_getter(column, vietnamese), self._maker(column)) for column in columns]

    def _maker(self, column: Column) -> Callable[[Any], Any]:
        sheet = self.sheet

        def as_date(value: Any) -> Any:
            cell = WriteOnlyCell(sheet, value=value)
            cell.number_format = DATE_FORMAT
            return cell

        def as_code(value: Any) -> Any:
            cell = WriteOnlyCell(sheet, value=str(value))
            cell.data_type = "s"  # text, even when it looks like a number or a formula
            cell.number_format = TEXT_FORMAT  # and text still when someone edits it
            return cell

        def as_text(value: Any) -> Any:
            if value.__class__ is str and value[:1] == "=":
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"  # a text, never a formula
                return cell
            return value

        if column.kind in ("date", "birth_date"):
            return as_date
        if column.kind == "personal_id" or column.field in _CODE_FIELDS:
            return as_code
        if column.kind in ("int", "float"):
            return lambda value: value
        return as_text

    def append_values(self, values: Sequence[Any]) -> None:
        self.sheet.append([None if value is None else make(value)
                           for (_get, make), value in zip(self.plan, values, strict=True)])

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        append, plan = self.sheet.append, self.plan
        for row in rows:
            append([None if (value := get(row)) is None else make(value) for get, make in plan])

    def close(self) -> None:
        self.workbook.save(self.path)

    def abort(self) -> None:
        self.path.unlink(missing_ok=True)


class _CsvWriter:
    """UTF-8 with a BOM (Excel then reads the diacritics right), dates dd/mm/yyyy."""

    def __init__(self, path: Path, columns: Sequence[Column], vietnamese: bool) -> None:
        self.path, self.columns, self.vietnamese = path, columns, vietnamese
        self.handle = path.open("w", encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.handle)
        self.writer.writerow([column.header_vi if vietnamese else column.header for column in columns])

    @staticmethod
    def _text(value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, dt.date):
            return format_date(value)
        if isinstance(value, str) and value[:1] in ("=", "+", "@"):
            return "'" + value  # a spreadsheet would run it as a formula; import takes the ' away again
        return value

    def append_values(self, values: Sequence[Any]) -> None:
        self.writer.writerow([self._text(value) for value in values])

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        getters = [_getter(column, self.vietnamese) for column in self.columns]
        for row in rows:
            self.append_values([get(row) for get in getters])

    def close(self) -> None:
        self.handle.close()

    def abort(self) -> None:
        self.handle.close()
        self.path.unlink(missing_ok=True)


def _writer(path: Path, suffix: str, columns: Sequence[Column], vietnamese: bool) -> _SheetWriter | _CsvWriter:
    return _SheetWriter(path, columns, vietnamese) if suffix == ".xlsx" else _CsvWriter(path, columns, vietnamese)


# -- the error report and the template -----------------------------------------------------------------

REPORT_HEADERS = (N_("Row"), N_("Column"), N_("Value"), N_("Reason"))


def write_error_report(report: ImportReport, path: str | Path, translate: Callable[[str], str] = str) -> Path:
    """The rows that were not imported, one line per error: row, column, value, reason (in the
    language of `translate`). .xlsx or .csv by the path's suffix."""
    path = Path(path)
    suffix = suffix_of(path)
    headers = [translate(header) for header in REPORT_HEADERS]
    lines = ([error.row, error.column, error.value, error.reason(translate)] for error in report.errors)
    if suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(headers)
            writer.writerows(lines)
        return path
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(translate(N_("Errors")))
    for letter, width in zip("ABCD", (8, 22, 22, 80), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.append(headers)
    for row, column, value, reason in lines:
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # as typed: an ID stays text, a formula stays text
        sheet.append([row, column, cell if value else None, reason])
    workbook.save(path)
    return path


TEMPLATE_EXAMPLE: dict[str, Any] = {
    "personal_id": "092190001234", "full_name": "Nguyễn Thị Mai", "sex": "F", "birth_date": dt.date(1990, 3, 15),
    "unit_code": "SNV", "working_unit_code": "SNV", "rank_code": "01.003", "post": "Chuyên viên", "salary_step": 3,
    "salary_coefficient": 3.0, "salary_since": dt.date(2024, 1, 1), "recruited_on": dt.date(2015, 9, 1),
    "employment_status": "active", "birthplace": "Cần Thơ", "home_town": "Hậu Giang", "ethnicity": "Kinh",
    "religion": "Không", "nationality": "Việt Nam", "rank_name": "Chuyên viên", "professional_level": "Đại học",
    "major": "Luật", "general_education": "12/12",
}


def write_template(path: str | Path) -> Path:
    """An import file to fill in: the Vietnamese headers and one example row."""
    path = Path(path)
    writer = _writer(path, suffix_of(path), COLUMNS, vietnamese=True)
    row = {**TEMPLATE_EXAMPLE, "custodian_code": TEMPLATE_EXAMPLE["unit_code"],
           "working_code": TEMPLATE_EXAMPLE["working_unit_code"]}
    writer.write([row])
    writer.close()
    return path
