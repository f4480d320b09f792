"""Background work inside `hoso run`: the reminder scheduler and the outbox sender.

One asyncio task, started with the dispatcher and stopped with it (between passes, or after a grace). Every
few seconds it sends what is due; every quarter of an hour it recomputes the reminders (idempotent: the outbox refuses a key it has)
and escalates custody requests left pending too long; once a day it checks the audit chain and signs a
checkpoint outside the database (services/platform/audit_watch.py). With Redis, one instance at a time plans
and checks: the one holding the planner's lease (bot/instances/planner.py). It also keeps a heartbeat, so that after an
outage of the profile's number of working days the admin is told and offered to notify the units.
Nothing is lost on restart: what was due is still in the outbox. With HOSO_BACKUP_DIR set, it also writes the
day's backup once the local hour reaches HOSO_BACKUP_HOUR (in a task of its own, beside the passes), keeps the
last HOSO_BACKUP_KEEP, and tells the admins once when it fails.

Between passes it waits for `send_every` seconds or until a transaction of this process commits new outbox
rows (storage's `Database.outbox_signal`), so that a notice answering an action goes out at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import logging

from aiogram import Bot

from bot.content import Exit, level_of
from bot.instances.planner import AlwaysPlan, PlannerLease
from bot.middlewares import channel_of
from bot.runtime import Runtime
from bot.sender import PER_CHAT_INTERVAL, OutboxSender
from bot.settings import ConfigError
from services.core.actor import Actor, Channel
from services.core.clock import local_today
from services.core.errors import ServiceError
from services.custody.transfers import TransferService
from services.platform.attachments import FileStore
from services.platform.audit_watch import AuditWatch, WatchReport
from services.platform.backup import scheduled_backup
from services.platform.outbox import Due, enqueue
from services.regime.calendar import working_calendar
from services.reminders.service import ReminderService, load_active_profile

logger = logging.getLogger(__name__)

SEND_EVERY = 5.0  # seconds
PLAN_EVERY = dt.timedelta(minutes=15)
HEARTBEAT_KEY = "heartbeat"
BACKUP_KEY = "backup.last"  # the local day of the last scheduled backup tried: one try a day
BACKUP_CLAIM = "hoso:backup:"  # + the local day: the instance that writes that day's backup
STOP_GRACE = 5.0  # seconds a pass under way may take to finish at shutdown


# The web chat's bot is in-process: no rate to keep under, no per-chat spacing.
WEB_RATE, WEB_PER_CHAT = 500.0, 0.0


def sender_for(runtime: Runtime, bot: Bot) -> OutboxSender:
    """The outbox sender of the channel the bot serves (its session says which; Telegram's by default)."""
    channel, settings = channel_of(bot), runtime.settings
    exit_ = Exit(channel, level_of(settings.content_levels, channel), settings.web_address)
    if channel == Channel.WEB:
        return OutboxSender(runtime.uow, runtime.clock, bot, runtime.i18n, channel=channel,
                            reachable=getattr(bot.session, "reachable", None), rate=WEB_RATE, per_chat=WEB_PER_CHAT,
                            exit=exit_)
    # Zalo at its own cautious pace: it documents no limit.
    rate = settings.zalo_rate if channel == Channel.ZALO else settings.telegram_rate
    # Several instances keep the channel's pace and its flood pauses together, through Redis.
    shared, pacer = runtime.shared, None
    if shared is not None:
        from bot.instances.pace import share_pace  # the redis client loads only where Redis is set

        pacer = share_pace(shared.redis, shared.signals, bot, channel, rate, PER_CHAT_INTERVAL)
    return OutboxSender(runtime.uow, runtime.clock, bot, runtime.i18n, channel=channel, rate=rate,
                        per_chat=PER_CHAT_INTERVAL, exit=exit_, pacer=pacer)


def settle_heap() -> int:
    """Once a server has started and made its first pass: what starting left behind is collected, and what
    remains (modules, classes, schemas, mappers: the process's own, for its lifetime) is moved out of the cyclic
    collector's sight (`gc.freeze`). Its full passes then walk only what requests make: at 0.75 ms per thousand
    objects, a pass over the 400 000 objects a started web chat holds paused every request for 300 ms, every
    ten seconds under load. The number of objects frozen."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    logger.debug("heap settled: %d objects frozen", frozen)
    return frozen


class Jobs:
    def __init__(self, runtime: Runtime, send_every: float = SEND_EVERY) -> None:
        self.runtime, self.send_every = runtime, send_every
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._planned_at: dt.datetime | None = None
        self.sender: OutboxSender | None = None
        self.others: list[OutboxSender] = []  # the senders of the process's other channels
        self._backup: asyncio.Task[bool] | None = None
        self._backup_day: str | None = None
        shared = runtime.shared
        self.planner: PlannerLease | AlwaysPlan = (
            AlwaysPlan() if shared is None else PlannerLease(shared.redis, PLAN_EVERY.total_seconds()))

    async def start_sender(self, bot: Bot) -> None:
        """The sender of the bot's channel, after taking back what a previous run left half done. The first
        is `sender`; a process serving two channels (`hoso run --web`) starts one for each."""
        sender = sender_for(self.runtime, bot)
        await sender.recover()
        if self.sender is None:
            self.sender = sender
        else:
            self.others.append(sender)

    def sender_of(self, bot: Bot) -> OutboxSender | None:
        return next((sender for sender in (self.sender, *self.others) if sender is not None and sender.bot is bot), None)

    async def start(self, bot: Bot) -> None:
        await self.start_sender(bot)
        await self.check_outage()
        self.run_in_background()

    def run_in_background(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="hoso-jobs")

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """The loop ends between passes; a pass under way may finish within `grace` seconds, else it is
        cancelled (what it had claimed and not sent is recovered at the next start). Cancelled inside a
        transaction, it would leave a database connection open, whose thread then holds the process."""
        if self._task is None:
            return
        self._stopping.set()
        running = {self._task} | ({self._backup} if self._backup is not None else set())
        _done, late = await asyncio.wait(running, timeout=grace)
        for task in late:  # a backup cancelled removes its temporary file
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None

    async def _loop(self) -> None:
        queued = self.runtime.database.outbox_signal()
        settle = self.runtime.serving
        while not self._stopping.is_set():
            queued.clear()  # before the pass: rows committed during it wake the next one at once
            try:
                await self.run_once()
            except Exception:  # a failed pass is retried at the next one; the loop must live
                logger.exception("background pass failed")
            if settle:  # once, after the first pass: its plan is the largest heap a start leaves
                settle = False
                settle_heap()
            stop = asyncio.ensure_future(self._stopping.wait())
            wake = asyncio.ensure_future(queued.wait())
            try:
                await asyncio.wait({stop, wake}, timeout=self.send_every, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stop.cancel()
                wake.cancel()

    async def run_once(self, bot: Bot | None = None) -> int:
        """One pass: plan (when due), then send what is due. The number of messages sent."""
        if self.sender is None:
            if bot is None:
                raise RuntimeError("Jobs.start was not called and no bot was given")
            self.sender = sender_for(self.runtime, bot)
        now = self.runtime.clock.now()
        await self.beat(now)
        if self._backup is None or self._backup.done():
            self._backup = asyncio.create_task(self.backup_if_due(now), name="hoso-backup")
        if self._planned_at is None or now - self._planned_at >= PLAN_EVERY:
            async with self.planner.turn() as ours:  # one planner (and audit check) among the instances
                if ours:
                    await self.plan()
                    await self.watch_audit()
            if ours:  # else another instance plans: this one asks again at its next pass
                self._planned_at = now
        # Each channel at its own pace, together: a Telegram backlog never holds the web chat's reminders back.
        senders = (self.sender, *self.others)
        before = sum(sender.report.sent for sender in senders)
        await asyncio.gather(*(sender.drain() for sender in senders))
        return sum(sender.report.sent for sender in senders) - before

    async def plan(self) -> int:
        """Escalations and the day's reminders into the outbox; the number of new rows."""
        uow, clock, system = self.runtime.uow, self.runtime.clock, Actor.system()
        await TransferService(uow, system, clock).escalate_overdue()
        added = 0
        added += await ReminderService(uow, system, clock).plan()
        return added

    async def watch_audit(self) -> WatchReport | None:
        """The audit trail's daily check and signed checkpoint (services/platform/audit_watch.py). A failure is
        logged and tried again at the next planning: it must not hold the reminders back."""
        settings = self.runtime.settings
        key = settings.audit_key.get_secret_value().encode() if settings.audit_key else None
        watch = AuditWatch(self.runtime.uow, self.runtime.clock, key, settings.audit_checkpoint_dir)
        try:
            return await watch.daily()
        except Exception:
            logger.exception("the audit trail's daily check failed")
            return None

    async def beat(self, now: dt.datetime) -> None:
        async with self.runtime.uow.write() as repos:
            await repos.settings.put(HEARTBEAT_KEY, {"at": now.isoformat()}, now)

    async def backup_if_due(self, now: dt.datetime) -> bool:
        """The day's backup, if the hour has come and it was not tried today; a failure tells the admins
        (once: the day is marked before the try). Whether one was written."""
        settings, clock, uow = self.runtime.settings, self.runtime.clock, self.runtime.uow
        local = now.astimezone(clock.tz)
        if settings.backup_dir is None or local.hour < settings.backup_hour:
            return False
        day = local.date().isoformat()
        if self._backup_day == day:  # tried today by this process: no transaction at every pass
            return False
        self._backup_day = day
        shared = self.runtime.shared  # several instances: one claims the day (on PostgreSQL the marker below may race)
        if shared is not None:
            from redis.exceptions import RedisError  # only where Redis is set

            try:
                if not await shared.redis.set(f"{BACKUP_CLAIM}{day}", "1", nx=True, ex=2 * 86_400):
                    return False
            except (RedisError, OSError):  # Redis away: the database's marker alone decides
                logger.warning("Redis did not answer: the day's backup is claimed in the database only")
        async with uow.write() as repos:
            last = await repos.settings.get(BACKUP_KEY)
            if last and last.get("day") == day:
                return False
            await repos.settings.put(BACKUP_KEY, {"day": day, "at": now.isoformat()}, now)
        try:
            report = await scheduled_backup(self.runtime.database,
                                            FileStore(settings.files_dir, settings.storage_key_bytes),
                                            settings.require_backup_key(), settings.backup_dir,
                                            settings.backup_keep, clock)
        except Exception as error:  # told to the admins; the bot goes on
            logger.exception("scheduled backup failed")
            await self.tell_backup_failed(day, error)
            return False
        if report.native_skipped:
            logger.warning("the daily backup holds no pg_dump archive: pg_dump is not installed (not on PATH)")
        return True

    async def tell_backup_failed(self, day: str, error: Exception) -> int:
        """A notice to every admin (the reason as a message id and its values, rendered in each one's language)."""
        if isinstance(error, ServiceError | ConfigError):
            reason = {"message": error.message, "params": {key: str(value) for key, value in error.params.items()}}
            if isinstance(error, ConfigError):
                reason["setting"] = error.setting
        else:
            reason = {"message": "", "params": {}, "detail": type(error).__name__}
        uow, clock = self.runtime.uow, self.runtime.clock
        async with uow.write() as repos:
            calendar = await working_calendar(repos)
            items = [Due("backup_failed", account, "backup", day, local_today(clock), {"day": day, **reason,
                                                                                       "locale": locale})
                     for account, locale in await repos.reminder_sources.admin_chats()]
            return await enqueue(repos, clock, items, calendar, wanted=clock.now(), immediate=True)

    async def check_outage(self) -> int:
        """On start: if the last heartbeat is `outage_notice_working_days` working days old or more, tell
        the admins (Hậu Giang Art. 13.5, HCMC Art. 14.7) and offer them the broadcast."""
        uow, clock = self.runtime.uow, self.runtime.clock
        async with uow.read() as repos:
            last = await repos.settings.get(HEARTBEAT_KEY)
            calendar = await working_calendar(repos)
        if not last:
            return 0
        since = dt.datetime.fromisoformat(last["at"])
        first, today = since.astimezone(clock.tz).date(), local_today(clock)
        lost = sum(1 for n in range(1, (today - first).days) if calendar.is_working_day(first + dt.timedelta(days=n)))
        profile = await load_active_profile(uow)
        if lost < profile.outage_notice_working_days:
            return 0
        async with uow.write() as repos:
            items = [Due("outage", account, "outage", first.isoformat(), today,
                         {"since": first.isoformat(), "until": today.isoformat(), "days": lost, "locale": locale})
                     for account, locale in await repos.reminder_sources.admin_chats()]
            return await enqueue(repos, clock, items, calendar, wanted=clock.now())

