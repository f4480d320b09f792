"""The outbox: what is due to whom, when it may be sent, and its delivery record.

Reminders are computed from the data and inserted with an idempotency key (kind, object, due date,
recipient), so computing them again inserts nothing new. A reminder never goes out in the quiet hours
(21:00–07:00, local time) or on a day off: it waits for the next working morning, unless the day it
is about is the last one, when it goes that morning whatever the day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from services.core.actor import Channel
from services.core.clock import Clock
from services.regime.deadlines import WorkingCalendar
from storage import Repositories

# The channel whose addresses the outbox's chat ids are: its one sender (bot/sender.py) is Telegram's.
OUTBOX_CHANNEL = Channel.TELEGRAM
QUIET_FROM, QUIET_UNTIL = dt.time(21, 0), dt.time(7, 0)
# Kinds nobody may mute: the personnel office's escalations and what it sends a unit or a user in person
# (the findings of its inspection, the answer to their feedback).
UNMUTABLE = frozenset({"transfer_escalation", "report_overdue_summary", "incident", "outage", "inspection_findings",
                       "feedback_answer"})


@dataclass(frozen=True, slots=True)
class Due:
    """A reminder to one recipient. `due_on` is the date it is about (part of its identity)."""

    kind: str
    chat_id: int
    account_id: int | None
    object_type: str | None
    object_id: str | None
    due_on: dt.date
    payload: dict[str, Any] = field(default_factory=dict)
    last_day: dt.date | None = None  # when waiting for a working morning would be too late

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.object_type or '-'}:{self.object_id or '-'}:{self.due_on.isoformat()}:{self.chat_id}"


def delivery_time(wanted: dt.datetime, calendar: WorkingCalendar, tz: dt.tzinfo,
                  last_day: dt.date | None = None) -> dt.datetime:
    """The first moment from `wanted` outside the quiet hours and on a working day, except that the
    last day itself is never skipped. Returned in UTC."""
    local = wanted.astimezone(tz)
    if last_day is not None and local.date() == last_day:
        # The last day: from 07:00 as usual, but late in the evening at once rather than too late.
        if local.time() < QUIET_UNTIL:
            return _morning(last_day, tz).astimezone(dt.UTC)
        return wanted.astimezone(dt.UTC)
    if last_day is not None and local.date() > last_day:
        last_day = None  # already late (made up after an outage): the usual quiet hours and days off
    if local.time() >= QUIET_FROM:
        local = _morning(local.date() + dt.timedelta(days=1), tz)
    elif local.time() < QUIET_UNTIL:
        local = _morning(local.date(), tz)
    while not calendar.is_working_day(local.date()) and (last_day is None or local.date() < last_day):
        local = _morning(local.date() + dt.timedelta(days=1), tz)
    return local.astimezone(dt.UTC)


def _morning(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, QUIET_UNTIL, tzinfo=tz)


async def enqueue(repos: Repositories, clock: Clock, items: list[Due], calendar: WorkingCalendar,
                  wanted: dt.datetime | None = None, immediate: bool = False) -> int:
    """Insert the reminders not yet in the outbox; a muted kind is recorded as muted, not sent. The
    number inserted. `immediate` (an incident notice) ignores the quiet hours and days off."""
    now = clock.now()
    mutes = await repos.outbox.mutes(sorted({d.account_id for d in items if d.account_id is not None}))
    rows = []
    for item in items:
        muted = item.account_id is not None and (item.account_id, item.kind) in mutes and item.kind not in UNMUTABLE
        rows.append({
            "key": item.key, "kind": item.kind, "account_id": item.account_id, "chat_id": item.chat_id,
            "object_type": item.object_type, "object_id": item.object_id,
            "payload": {**item.payload, "due_on": item.due_on.isoformat()},
            "due_at": now if immediate else delivery_time(wanted or now, calendar, clock.tz, item.last_day),
            "status": "muted" if muted else "pending", "attempts": 0, "created_at": now,
        })
    return await repos.outbox.add_many(rows)
