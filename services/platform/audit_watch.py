"""The audit trail checked by itself: once a day the chain is recomputed (`AuditService.verify`, the code of
`hoso audit verify`) and compared with the last signed checkpoint kept outside the database; when it holds,
a new checkpoint is signed (HMAC-SHA256 with HOSO_AUDIT_KEY) and written there. A break, or a checkpoint the
chain no longer matches, is told to the administrators at once (quiet hours or not), with the first broken
sequence number: once per break, not again every day while it lasts.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from services.core.actor import Actor
from services.core.clock import Clock, local_today
from services.platform.atomic import atomic_file
from services.platform.audit import AuditService, Checkpoint, VerifyReport
from services.platform.outbox import Due, enqueue
from services.regime.deadlines import WorkingCalendar
from storage import UnitOfWork

CHECKED_KEY = "audit_checked"  # app setting: the local day of the last daily check
ALARM_KEY = "audit_alarm"  # app setting: the break last told to the administrators
LATEST = "checkpoint-latest.json"
BROKEN_KIND = "audit_broken"


@dataclass(frozen=True, slots=True)
class WatchReport:
    report: VerifyReport
    checkpoint: Checkpoint | None  # the one written, when the chain held and a key and a folder are set
    told: int  # outbox rows queued for the administrators (0: nothing broken, or already told)


def read_checkpoint(directory: Path) -> Checkpoint | None:
    """The last checkpoint written to `directory`; None when there is none yet. A file that is not one is read
    as a checkpoint that verifies nothing (its signature empty), so that tampering with it is reported."""
    path = directory / LATEST
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Checkpoint(int(data["seq"]), str(data["hash"]), str(data["signature"]))
    except (OSError, ValueError, KeyError, TypeError):
        return Checkpoint(0, "", "")


def write_checkpoint(directory: Path, checkpoint: Checkpoint, at: dt.datetime) -> Path:
    """The checkpoint as `checkpoint-<seq>.json` and as the latest, each written whole then renamed."""
    data = {**checkpoint.as_dict(), "at": at.astimezone(dt.UTC).isoformat()}
    for name in (f"checkpoint-{checkpoint.seq}.json", LATEST):
        with atomic_file(directory / name) as out:
            out.write(json.dumps(data, indent=1).encode())
    return directory / LATEST


class AuditWatch:
    def __init__(self, uow: UnitOfWork, clock: Clock, key: bytes | None, directory: Path | None) -> None:
        self.uow, self.clock, self.key, self.directory = uow, clock, key, directory

    async def due(self) -> bool:
        """Whether today's check is still to be done."""
        async with self.uow.read() as repos:
            last = await repos.settings.get(CHECKED_KEY)
        return last is None or last.get("on") != local_today(self.clock).isoformat()

    async def daily(self) -> WatchReport | None:
        """Today's check, unless done already today."""
        if not await self.due():
            return None
        watched = await self.check()
        async with self.uow.write() as repos:
            await repos.settings.put(CHECKED_KEY, {"on": local_today(self.clock).isoformat()}, self.clock.now())
        return watched

    async def check(self) -> WatchReport:
        audit = AuditService(self.uow, Actor.system(), self.clock)
        signed = read_checkpoint(self.directory) if self.directory is not None and self.key is not None else None
        report = await audit.verify(signed, self.key)
        if not report.ok:
            return WatchReport(report, None, await self._tell(report))
        await self._clear_alarm()
        if self.key is None or self.directory is None:
            return WatchReport(report, None, 0)
        checkpoint = await audit.checkpoint(self.key)
        write_checkpoint(self.directory, checkpoint, self.clock.now())
        return WatchReport(report, checkpoint, 0)

    async def _tell(self, report: VerifyReport) -> int:
        """The administrators, at once on every channel they are reached on, once per break (its sequence
        number and reason)."""
        alarm = {"seq": report.broken_seq, "reason": report.reason}
        async with self.uow.write() as repos:
            told = await repos.settings.get(ALARM_KEY)
            if told is not None and {"seq": told.get("seq"), "reason": told.get("reason")} == alarm:
                return 0
            today = local_today(self.clock)
            items = [Due(BROKEN_KIND, account, "audit", str(report.broken_seq), today,
                         {"seq": report.broken_seq, "reason": report.reason, "locale": locale})
                     for account, locale in await repos.reminder_sources.admin_chats()]
            added = await enqueue(repos, self.clock, items, WorkingCalendar(), immediate=True)
            await repos.settings.put(ALARM_KEY, {**alarm, "on": today.isoformat()}, self.clock.now())
            return added

    async def _clear_alarm(self) -> None:
        async with self.uow.write() as repos:
            if await repos.settings.get(ALARM_KEY) is not None:
                await repos.settings.put(ALARM_KEY, {}, self.clock.now())
