"""One cell of an import file: read as its column's kind (a date, a number, a code, a word like Nam/Nữ…),
or refused with `InvalidInput` naming the reason; and shown back as text for the error report.

A cell is never "repaired": in particular a personal ID or another code typed as a number has lost any
leading zeros it had, so it is sent back for review (`LOST_ZEROS`) instead of padded.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from typing import Any

from services.core import validation
from services.core.clock import format_date
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.dossiers.io.columns import CODE_FIELDS, Column, code_of
from services.dossiers.io.results import (
    BAD_SEX,
    BAD_STATUS,
    LOST_ZEROS,
    NOT_A_NUMBER,
    NOT_WHOLE,
    OUT_OF_RANGE,
    TOO_LONG,
)

__all__ = ["as_coded", "as_date", "as_number", "as_personal_id", "as_text", "blank", "clean_text", "normal", "shown"]

_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def shown(value: Any) -> str:
    """A cell as a person sees it, for the error report."""
    if value is None:
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return format_date(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def normal(text: str) -> str:
    """How texts are stored from a file: composed Unicode (NFC), spaces collapsed."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def clean_text(value: Any) -> str:
    text = value if isinstance(value, str) else shown(value)
    if len(text) > 1 and text[0] == "'" and text[1] in "=+@":
        text = text[1:]  # the guard a CSV export puts before a text that a spreadsheet would run as a formula
    return normal(text)


def as_date(value: Any, column: Column, today: dt.date) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.date()
    elif not isinstance(value, dt.date):
        text = clean_text(value)
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


def as_number(value: Any, column: Column) -> int | float:
    seen = shown(value)
    if isinstance(value, bool):
        raise InvalidInput(column.field, NOT_A_NUMBER, value=seen)
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = clean_text(value).replace(" ", "")
        if "," in text and "." not in text:
            text = text.replace(",", ".")  # a decimal comma, as Vietnamese spreadsheets write it
        try:
            number = float(text)
        except ValueError:
            raise InvalidInput(column.field, NOT_A_NUMBER, value=seen) from None
    if not math.isfinite(number):
        raise InvalidInput(column.field, NOT_A_NUMBER, value=seen)
    result: int | float
    if column.kind == "int":
        if not number.is_integer():
            raise InvalidInput(column.field, NOT_WHOLE, value=seen)
        result = int(number)
    else:
        result = round(number, 2)
    if column.low is not None and column.high is not None and not column.low <= result <= column.high:
        raise InvalidInput(column.field, OUT_OF_RANGE, value=seen, low=column.low, high=column.high)
    return result


def as_personal_id(value: Any, column: Column) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # Never padded: a number cell has lost any leading zero it had, and we cannot know how many.
        raise InvalidInput(column.field, LOST_ZEROS, value=shown(value))
    text = clean_text(value).replace(" ", "")
    if text.isdigit() and len(text) < 12:
        raise InvalidInput(column.field, LOST_ZEROS, value=text)
    return validation.personal_id(text, column.field)


def as_text(value: Any, column: Column) -> str:
    if column.field in CODE_FIELDS and isinstance(value, (int, float)) and not isinstance(value, bool):
        raise InvalidInput(column.field, LOST_ZEROS, value=shown(value))
    text = clean_text(value)
    if column.max_length is not None and len(text) > column.max_length:
        raise InvalidInput(column.field, TOO_LONG, limit=column.max_length)
    return text


def as_coded(value: Any, column: Column) -> str:
    text = clean_text(value)
    code = code_of(column.kind, text)
    if code is None:
        raise InvalidInput(column.field, BAD_SEX if column.kind == "sex" else BAD_STATUS, value=text)
    return code
