"""The columns of an import or export file: one per dossier field (`SECTIONS`), under an English header
(what export writes by default) and a Vietnamese one (what the template writes), with the words a file may
use for the coded values (sex, employment status).

Headers and words are matched with `match_key`: in any case, with or without diacritics.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from services.core.text import fold
from services.regime.dossier_fields import SECTIONS
from storage.models import Dossier

__all__ = ["BY_FIELD", "CODE_FIELDS", "COLUMNS", "DOSSIER_FIELDS", "SEX_VALUES", "STATUS_VALUES", "Column",
           "code_of", "column_for", "match_key", "status_of"]


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
# Codes whose leading zeros matter: a number cell in these columns is sent back for review on import, and
# written as a text cell on export. (Excel turns 01.003 into 1.003 and 0912345678 into 912345678.)
CODE_FIELDS = frozenset({"personal_id", "social_insurance_no", "phone", "rank_code"})


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


def match_key(text: str) -> str:
    """How headers and coded values are matched: no case, no diacritics, _ as a space, no marks like *."""
    return " ".join(fold(text.replace("_", " ").replace("*", " ").replace(":", " ")).split())


_HEADER_INDEX: dict[str, Column] = {}
for _col in COLUMNS:
    for _name in _col.names():
        _HEADER_INDEX.setdefault(match_key(_name), _col)
_SEX_INDEX = {
    match_key(alias): code for code, aliases in _SEX_ALIASES.items() for alias in (*aliases, SEX_VALUES[code])
}
_STATUS_INDEX = {
    match_key(alias): code
    for code, aliases in _STATUS_ALIASES.items() for alias in (code, STATUS_VALUES[code], *aliases)
}


# A status typed as one word ("nghihuu", "tt:dang-cong-tac"): the same words, without their spaces.
_STATUS_COMPACT = {key.replace(" ", ""): code for key, code in _STATUS_INDEX.items()}


def status_of(text: str) -> str | None:
    """The employment status a word names, as a file or a search filter types it: the code ("retired"), the
    Vietnamese words ("Nghỉ hưu", "nghi huu", "nghihuu", "đang công tác"…); None for a word we do not know."""
    return _STATUS_COMPACT.get(match_key(text.replace("-", " ")).replace(" ", ""))


def column_for(header: object) -> Column | None:
    """The column a header names, ignoring case and diacritics; None for a header we do not know."""
    return _HEADER_INDEX.get(match_key(str(header))) if header not in (None, "") else None


@lru_cache(maxsize=1024)
def code_of(kind: str, text: str) -> str | None:
    """The code ("M", "active"…) a word of a "sex" or "status" column names; None for a word we do not know.
    Cached: a file repeats the same few words on every row."""
    return (_SEX_INDEX if kind == "sex" else _STATUS_INDEX).get(match_key(text))
