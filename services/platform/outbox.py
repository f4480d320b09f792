"""The outbox: what is due to whom, when it may be sent, and its delivery record.

A reminder is computed for an account and inserted once per live identity of that account that receives
it (one row per channel it is reached on and did not turn reminders off on; none if it is bound nowhere),
each with an idempotency key (kind, object, due date, channel, address), so computing them again inserts
nothing new. Each channel's sender delivers its own
rows. A reminder never goes out in the quiet hours (21:00–07:00, local time) or on a day off: it waits for
the next working morning, unless the day it is about is the last one, when it goes that morning whatever
the day.

A notice is different: what one user's action tells others (a declaration to review, a custody request to
decide, and what became of either). It is queued in the action's own transaction, so that it exists if and
only if the action does, and it is due at once, whatever the hour or the day: it answers something a person
has just done, and used to leave with the bot's answer to them; holding it to the next working morning would
keep the one who acted, or those who must act next, waiting for nothing. The quiet hours are for what the
system plans, not for what people do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from services.core.actor import Channel
from services.core.clock import Clock, local_today
from services.regime.deadlines import WorkingCalendar
from storage import Repositories

TELEGRAM = Channel.TELEGRAM

QUIET_FROM, QUIET_UNTIL = dt.time(21, 0), dt.time(7, 0)
# Notices (see above): their idempotency key is the event or request they are about.
NOTICES = frozenset({"declaration_new", "declaration_decided", "transfer_requested", "transfer_decided"})
# Kinds nobody may mute: the personnel office's escalations and what it sends a unit or a user in person
# (the findings of its inspection, the answer to their feedback), and the notices: a request for a decision
# muted would never be seen, and the answer to one's own request is no reminder.
UNMUTABLE = frozenset({"transfer_escalation", "report_overdue_summary", "incident", "outage", "inspection_findings",
                       "feedback_answer", "backup_failed", "audit_broken"}) | NOTICES


@dataclass(frozen=True, slots=True)
class Due:
    """A reminder to one account, on each channel it is reached on. `due_on` is the date it is about (part
    of its identity). `addressed` gives one copy per live identity of the account, with its channel and
    address: one outbox row each."""

    kind: str
    account_id: int
    object_type: str | None
    object_id: str | None
    due_on: dt.date
    payload: dict[str, Any] = field(default_factory=dict)
    last_day: dt.date | None = None  # when waiting for a working morning would be too late
    channel: str | None = None  # set on an addressed copy
    address: str | None = None

    @property
    def chat_id(self) -> int | None:
        """The Telegram chat of a copy addressed on Telegram."""
        return int(self.address) if self.channel == TELEGRAM and self.address is not None else None

    @property
    def key(self) -> str:
        """The idempotency key of an addressed copy: kind, object, due date, then the channel and the address.
        A Telegram copy keeps the key it had before the outbox knew channels (kind, object, due date, chat),
        so that a reminder planned before the upgrade (migration 0011 keeps its row and key) is not planned
        again; its address is a number, so it never reads as another channel's `channel:address`."""
        about = f"{self.kind}:{self.object_type or '-'}:{self.object_id or '-'}:{self.due_on.isoformat()}"
        return f"{about}:{self.address}" if self.channel == TELEGRAM else f"{about}:{self.channel}:{self.address}"


async def addressed(repos: Repositories, items: list[Due]) -> list[Due]:
    """One copy of each item per live identity of its account that receives it (none for an account bound
    nowhere), the identities and the choices read in one query each: see `receiving`."""
    accounts = sorted({d.account_id for d in items})
    identities = await repos.identities.live_many(accounts)
    off = await repos.outbox.channels_off(accounts)
    return [replace(item, channel=channel, address=address)
            for item in items for channel, address in receiving(item, identities.get(item.account_id, []), off)]


def receiving(item: Due, identities: list[tuple[str, str]], off: set[tuple[int, str]]) -> list[tuple[str, str]]:
    """The (channel, address) an item goes to: the account's linked channels it did not turn reminders off on
    (/reminders). What nobody may mute (the personnel office's escalations, the notices) goes to every linked
    channel; so does a reminder whose account turned off every channel it is still linked on (an unlink can
    leave it so), rather than to none."""
    if item.kind in UNMUTABLE:
        return identities
    chosen = [(channel, address) for channel, address in identities if (item.account_id, channel) not in off]
    return chosen or identities


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
    """Insert the reminders not yet in the outbox, one row per live identity of the account (an account
    bound nowhere gets none); a muted kind is recorded as muted, not sent. The number inserted. `immediate`
    (an incident notice, a notice answering an action: `notify`) ignores the quiet hours and days off.

    Rows go to every channel, whether or not it has a sender yet: a row of a channel without one (the web
    chat, Zalo) stays pending until that channel's sender claims it."""
    now = clock.now()
    deliveries = await addressed(repos, items)
    mutes = await repos.outbox.mutes(sorted({d.account_id for d in items}))
    rows = []
    for item in deliveries:
        muted = (item.account_id, item.kind) in mutes and item.kind not in UNMUTABLE
        rows.append({
            "key": item.key, "kind": item.kind, "account_id": item.account_id,
            "channel": item.channel, "address": item.address, "object_type": item.object_type,
            "object_id": item.object_id, "payload": {**item.payload, "due_on": item.due_on.isoformat()},
            "due_at": now if immediate else delivery_time(wanted or now, calendar, clock.tz, item.last_day),
            "status": "muted" if muted else "pending", "attempts": 0, "created_at": now,
        })
    return await repos.outbox.add_many(rows)


async def notify(repos: Repositories, clock: Clock, kind: str, recipients: Sequence[tuple[int, str | None]],
                 object_type: str, object_id: str, payload: dict[str, Any]) -> int:
    """A notice (one of `NOTICES`) about one event or request, to each (account, locale) of `recipients` on
    every channel the account is reached on, in the caller's transaction and due now. The number of rows."""
    if kind not in NOTICES:  # a reminder waits for working hours: `enqueue`
        raise ValueError(f"not a notice: {kind}")
    items = [Due(kind, account, object_type, object_id, local_today(clock), {**payload, "locale": locale})
             for account, locale in recipients]
    # Due at once: the calendar is not consulted.
    return await enqueue(repos, clock, items, WorkingCalendar(), immediate=True)
