"""The admin's days off (an extended Tết break, a compensatory day): the entry point, checked and
audited. The rules and the stored days are services.regime.calendar; deadlines count in them."""

from __future__ import annotations

import datetime as dt

from services.core.actor import Actor
from services.core.clock import Clock
from services.core.policy import Action
from services.platform.audit import actor_label, record
from services.platform.sessions import sensitive
from services.regime import calendar
from storage import UnitOfWork


class CalendarService:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock

    async def add_day_off(self, day: dt.date, reason: str) -> bool:
        """True when the day is now off; False when it already was."""
        reason = calendar.day_off_reason(reason)
        async with sensitive(self.uow, self.actor, self.clock, Action.MANAGE_UNITS) as repos:
            added = await calendar.add_day_off(repos, day, reason, actor_label(self.actor), self.clock.now())
            if added:
                await record(repos, self.clock, self.actor, "calendar.day_off", "day", day.isoformat(), reason=reason)
        return added

    async def days_off(self) -> list[tuple[dt.date, str]]:
        async with self.uow.read() as repos:
            return await calendar.days_off(repos)
