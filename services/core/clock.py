"""Time is explicit: stored in UTC, shown and reasoned about in the deployment's zone (Asia/Ho_Chi_Minh)."""

from __future__ import annotations

import datetime as dt
from typing import Protocol
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
DATE_FORMAT = "%d/%m/%Y"


class Clock(Protocol):
    tz: ZoneInfo

    def now(self) -> dt.datetime:
        """The current instant, timezone-aware in UTC."""
        ...


class SystemClock:
    def __init__(self, timezone: str = DEFAULT_TIMEZONE) -> None:
        self.tz = ZoneInfo(timezone)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FrozenClock:
    """A clock that stands still until moved; for tests and benchmarks."""

    def __init__(self, at: dt.datetime, timezone: str = DEFAULT_TIMEZONE) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self.tz = ZoneInfo(timezone)
        self._now = at.astimezone(dt.UTC)

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, delta: dt.timedelta) -> None:
        self._now += delta


def local_today(clock: Clock) -> dt.date:
    return clock.now().astimezone(clock.tz).date()


def format_date(value: dt.date | dt.datetime | None) -> str:
    return "" if value is None else value.strftime(DATE_FORMAT)


def format_local_date(value: dt.datetime | None, tz: dt.tzinfo) -> str:
    """The local day of a stored (UTC) instant, dd/mm/yyyy."""
    return "" if value is None else value.astimezone(tz).strftime(DATE_FORMAT)


def format_local_datetime(value: dt.datetime, clock: Clock) -> str:
    return value.astimezone(clock.tz).strftime(f"{DATE_FORMAT} %H:%M")


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (earlier when negative); a day the month lacks becomes its last
    (31/05 − 3 months = 28/02 or 29/02)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    following = dt.date(year + (month0 + 1) // 12, (month0 + 1) % 12 + 1, 1)
    return dt.date(year, month0 + 1, min(day.day, (following - dt.timedelta(days=1)).day))


FUTURE_YEARS = 20  # a two-digit year is read in the century that puts it at most this far ahead


def parse_date(text: str, today: dt.date | None = None) -> dt.date:
    """Parse d/m/yyyy or d/m/yy (also with - or . between the parts); ValueError when it is not a real
    date. A two-digit year is read as the year ending so that is at most FUTURE_YEARS after `today`
    (15/9/26 is 2026, 2/1/85 is 1985), `today` being the system's date when not given: only that choice
    depends on it."""
    cleaned = text.strip().replace("-", "/").replace(".", "/")
    parts = cleaned.split("/")
    if len(parts) != 3 or not all(part.isdigit() for part in parts) or len(parts[2]) not in (2, 4):
        raise ValueError(text)
    day, month, year = (int(part) for part in parts)
    if len(parts[2]) == 2:
        limit = (today or dt.date.today()).year + FUTURE_YEARS
        year += (limit // 100) * 100
        if year > limit:
            year -= 100
    return dt.date(year, month, day)
