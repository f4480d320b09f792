"""A change's deadline counts from the later of the decision's date and its effective date: the verdicts
(deadline, on time) of the events recorded before are recomputed, and the audit trail says how many changed.

Why here and not in a service command: the audit chain is storage's own (storage/audit.py), and a migration
appends to it exactly as `AuditRepository.append_many` does (the head read under the chain's lock, the hash
over the same fields), so the recomputation and its audit row commit together with the revision, once,
whoever upgrades (`hoso init`, `hoso run`, `hoso demo`, the tests). The rule is written out below as it
stood at this revision (a migration must not follow later code): the profile's deadline for changes (a new
dossier's still counts from its recruitment decision), in calendar days (a period ending on a day off ends on
the next working day) or in working days (Monday to Friday, minus Vietnam's public holidays and the admin's
extra days off); an event is on time when it was recorded, in Vietnam's time, on or before its deadline.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 21:10:00.000000
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from storage.audit import GENESIS_HASH, chain_hash, hashed_values

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTION = "change.deadlines_recomputed"
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
CHAIN_LOCK = 0x486F536F  # storage/audit.py's advisory lock: appends take turns on PostgreSQL
DEFAULT_RULES = {"change_deadline": {"days": 3, "unit": "working"}}  # vn-2026, when no profile is installed

events = sa.table("change_event", sa.column("id", sa.Integer), sa.column("kind", sa.String),
                  sa.column("doc_date", sa.Date), sa.column("effective_on", sa.Date),
                  sa.column("deadline", sa.Date), sa.column("on_time", sa.Boolean),
                  sa.column("recorded_at", sa.DateTime))
audit = sa.table("audit_event", sa.column("seq", sa.Integer), sa.column("occurred_at", sa.DateTime),
                 sa.column("actor_account_id", sa.Integer), sa.column("actor_label", sa.String),
                 sa.column("action", sa.String), sa.column("object_type", sa.String),
                 sa.column("object_id", sa.String), sa.column("details", sa.JSON),
                 sa.column("prev_hash", sa.String), sa.column("hash", sa.String))


# The changes judged against a deadline; a new dossier counts from its recruitment decision, as before.
JUDGED = (events.c.deadline.is_not(None), events.c.kind != "new")


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _datetime(value: Any) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))


class Calendar:
    def __init__(self, days_off: set[dt.date]) -> None:
        self.days_off = days_off
        self.years: dict[int, Any] = {}

    def working(self, day: dt.date) -> bool:
        if day.year not in self.years:
            # Here, not at the top: every command's schema check reads this file, and the package is slow to load.
            import holidays

            self.years[day.year] = holidays.country_holidays("VN", years=day.year)
        return day.weekday() < 5 and day not in self.years[day.year] and day not in self.days_off

    def deadline(self, start: dt.date, rule: dict[str, Any]) -> dt.date:
        if rule["unit"] == "working":
            day, left = start, int(rule["days"])
            while left > 0:
                day += dt.timedelta(days=1)
                if self.working(day):
                    left -= 1
            return day
        day = start + dt.timedelta(days=int(rule["days"]))
        while not self.working(day):
            day += dt.timedelta(days=1)
        return day


def recompute(connection: sa.Connection) -> list[dict[str, Any]]:
    """The events whose verdict the later date changes, with the old and the new one."""
    stored = connection.execute(sa.text("SELECT value FROM app_setting WHERE key = 'profile'")).scalar()
    profile = (json.loads(stored) if isinstance(stored, str) else stored) or DEFAULT_RULES
    days_off = (_date(day) for (day,) in connection.execute(sa.text("SELECT day FROM extra_day_off")))
    calendar = Calendar({day for day in days_off if day is not None})
    changed = []
    rows = connection.execute(sa.select(events).where(*JUDGED).order_by(events.c.id))
    for row in rows.mappings():
        doc_date, effective = _date(row["doc_date"]), _date(row["effective_on"])
        assert effective is not None
        start = max(doc_date, effective) if doc_date is not None else effective
        rule = profile["change_deadline"]
        deadline = calendar.deadline(start, rule)
        recorded = _datetime(row["recorded_at"]).replace(tzinfo=dt.UTC).astimezone(LOCAL).date()
        timely = None if row["on_time"] is None else recorded <= deadline  # a registration has no verdict yet
        old_deadline = _date(row["deadline"])
        if (deadline, timely) != (old_deadline, row["on_time"]):
            changed.append({"id": row["id"], "deadline": deadline, "on_time": timely,
                            "was": [old_deadline.isoformat() if old_deadline else None, row["on_time"]]})
    return changed


def upgrade() -> None:
    connection = op.get_bind()
    examined = connection.execute(sa.select(sa.func.count()).select_from(events)
                                  .where(*JUDGED)).scalar() or 0
    if not examined:
        return  # nothing was ever judged: nothing to recompute or to tell
    changed = recompute(connection)
    for item in changed:
        connection.execute(events.update().where(events.c.id == item["id"])
                           .values(deadline=item["deadline"], on_time=item["on_time"]))
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})
    head = connection.execute(sa.select(audit.c.seq, audit.c.hash).order_by(audit.c.seq.desc()).limit(1)).first()
    seq, previous = (head[0], head[1]) if head is not None else (0, GENESIS_HASH)
    now = dt.datetime.now(dt.UTC)
    details = {"rule": "later of doc_date and effective_on", "examined": examined, "changed": len(changed),
               "late_now_on_time": sum(1 for i in changed if i["was"][1] is False and i["on_time"] is True),
               "events": {str(i["id"]): {"was": i["was"], "now": [i["deadline"].isoformat(), i["on_time"]]}
                          for i in changed}}
    values = hashed_values(seq=seq + 1, occurred_at=now, actor_account_id=None, actor_label="migration 0013",
                           action=ACTION, object_type="change_event", object_id=None, details=details)
    connection.execute(audit.insert().values(**{**values, "occurred_at": now.replace(tzinfo=None)},
                                             prev_hash=previous, hash=chain_hash(previous, values)))


def downgrade() -> None:
    """The old verdicts were wrong; they are not restored (the audit row keeps them, event by event)."""
