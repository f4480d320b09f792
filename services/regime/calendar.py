"""The working-day calendar deadlines count in: Vietnam's public holidays (services.regime.deadlines) plus
the extra days off the admin adds, such as an extended Tết break decided by the government that year.

The rules and the stored days live here; the admin's audited entry point is `CalendarService`
(services.platform.calendar), since the audit and the session checks stand above this package.
"""

from __future__ import annotations

import datetime as dt

from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.regime.deadlines import WorkingCalendar
from storage import Repositories
from storage.models import ExtraDayOff

MAX_REASON = 255


def day_off_reason(text: str) -> str:
    """The reason as it is stored: one line, not empty."""
    reason = " ".join(text.split())
    if not reason:
        raise InvalidInput("reason", N_("Say why the day is off (e.g. Tết extended by the Prime Minister)."))
    return reason


async def days_off(repos: Repositories) -> list[tuple[dt.date, str]]:
    """The admin's extra days off, in date order, with their reasons."""
    return [(d.day, d.reason) for d in await repos.changes.days_off()]


async def add_day_off(repos: Repositories, day: dt.date, reason: str, added_by: str, now: dt.datetime) -> bool:
    """Store a day off (`reason` already checked); False when the day was already off."""
    return await repos.changes.add_day_off(ExtraDayOff(day=day, reason=reason[:MAX_REASON], added_by=added_by,
                                                       added_at=now))


async def working_calendar(repos: Repositories) -> WorkingCalendar:
    """The calendar with the admin's days off, as deadlines are counted in it."""
    return WorkingCalendar.with_days_off(day.day for day in await repos.changes.days_off())
