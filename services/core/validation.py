"""Checks of dossier values, each with a clear message naming its field."""

from __future__ import annotations

import datetime as dt
import re

from services.core.clock import format_date, parse_date
from services.core.errors import InvalidInput
from services.core.i18n import N_

PERSONAL_ID = re.compile(r"^\d{12}$")
MIN_AGE, MAX_AGE = 15, 100


def personal_id(value: str, field: str = "personal_id") -> str:
    text = (value or "").strip().replace(" ", "")
    if not PERSONAL_ID.match(text):
        raise InvalidInput(field, N_("A personal ID is exactly 12 digits (leading zeros included): {value}"), value=value)
    return text


def past_date(value: str | dt.date, today: dt.date, field: str) -> dt.date:
    """A real date, typed d/m/yyyy or d/m/yy, not in the future."""
    if isinstance(value, dt.date):
        day = value
    else:
        try:
            day = parse_date(value, today)
        except ValueError:
            raise InvalidInput(field, N_("Not a valid date: {value} (use dd/mm/yyyy)"), value=value) from None
    if day > today:
        raise InvalidInput(field, N_("The date {value} is in the future."), value=format_date(day))
    return day


def birth_date(value: str | dt.date, today: dt.date, field: str = "birth_date") -> dt.date:
    day = past_date(value, today, field)
    age = today.year - day.year - ((today.month, today.day) < (day.month, day.day))
    if not MIN_AGE <= age <= MAX_AGE:
        raise InvalidInput(field, N_("A birth date must give an age between {low} and {high}; {value} gives {age}."),
                           low=MIN_AGE, high=MAX_AGE, value=format_date(day), age=age)
    return day
