"""Sending the outbox: claimed in batches, paced under Telegram's limits, each message recorded.

One sender per channel: each claims only the rows of its channel and paces them with its own Pacer (and,
for Telegram, the bot's FloodGate), through that channel's Bot: Telegram's sends to the chat `int(address)`,
the web chat's to the account's conversation `int(address)`, and only while the account has a page open
(until then the row waits, pending: a reminder is never lost in a conversation nobody reads); Zalo's to the
user's opaque id, through the number its session gives it (`chat_of`). Zalo's errors arrive as aiogram's of
the same meaning (bot/zalo/session.py), so that every rule below holds for it too. Each message leaves under
its channel's content policy (bot/content.py `OUTBOX`: below `full`, a link to the web chat is added).

Pacing: a global rate (25 messages/s by default) and one message per second per chat, with several
requests in flight so that a slow round trip does not slow the whole. Each message is marked
"sending" before the call and "sent" after it, both committed: a crash between the two leaves it
"sending", which the next start turns into "ambiguous" (maybe delivered; never sent again, counted and
reported). Claimed rows not yet attempted simply go back to "pending".

Several instances sharing Redis pace each channel together (bot/instances/pace.py: `SharedPacer`).

Answers: 429 waits `retry_after` and pauses everything (the bot's FloodGate, shared with the retry
middleware: see bot.retry.FloodGate), a 5xx or a refused connection is retried
with exponential backoff, a timeout is ambiguous, a 403 means the user blocked the bot (the
identity is marked, not the account, which its other channels still reach; the admin sees the list), any other 4xx fails the message.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import time
from collections import defaultdict, deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from bot.content import OUTBOX, Exit
from bot.i18n import CatalogI18n
from bot.retry import FloodGate, flood_gate, never_reached_api
from handlers.reminders import render
from services.core.actor import Channel
from services.core.clock import Clock
from storage import UnitOfWork
from storage.models import Outbox

logger = logging.getLogger(__name__)

DEFAULT_RATE = 25.0  # messages per second, all chats together (Telegram allows about 30)
PER_CHAT_INTERVAL = 1.1  # seconds between two messages to the same chat (Telegram: 1; a margin for jitter)
CATCH_UP = 0.1  # seconds of global pace a late start may make up
MAX_ATTEMPTS = 6
BATCH = 500
STALE_CLAIM = dt.timedelta(minutes=10)
TELEGRAM = Channel.TELEGRAM
# The channels with a sender: Telegram's chats, the web chat's conversations (whose bot is in-process:
# `int(address)` is the account's conversation there), and Zalo's users.
SENDS = frozenset({Channel.TELEGRAM, Channel.WEB, Channel.ZALO})


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    ambiguous: int = 0
    blocked: int = 0
    failed: int = 0
    rate_limited: int = 0  # 429 answers received
    by_status: dict[str, int] = field(default_factory=dict)


class Pacer:
    """When the next message may start: the global spacing, each chat's own, and the bot's flood pause
    (`gate`, on the same clock). The retry middleware holds requests back at the gate anyway; the pacer
    reading it keeps new messages from being marked "sending" only to wait there."""

    def __init__(self, rate: float, per_chat: float, clock: Callable[[], float] = time.monotonic,
                 gate: FloodGate | None = None) -> None:
        self.spacing, self.per_chat, self.clock = 1.0 / rate, per_chat, clock
        self.gate = gate if gate is not None else FloodGate(clock)
        self.next_global = 0.0
        self.next_chat: dict[Hashable, float] = defaultdict(float)

    def ready_at(self, chat_id: Hashable) -> float:
        return max(self.next_global, self.next_chat[chat_id], self.gate.until)

    def take(self, chat_id: Hashable) -> None:
        """Start a message now. A late start catches up on the global pace by at most a tenth of a
        second, so that a stall (a slow commit) costs no throughput and never makes a burst."""
        now = self.clock()
        base = self.next_global or now  # the first message sets the pace
        self.next_global = max(base, now - CATCH_UP) + self.spacing
        self.next_chat[chat_id] = now + self.per_chat

    async def try_take(self, chat_id: Hashable) -> float:
        """Start a message to the chat now if the pace allows (0.0), else the seconds to wait. Several
        instances sharing Redis ask it instead (bot/instances/pace.py)."""
        delay = self.ready_at(chat_id) - self.clock()
        if delay > 0:
            return delay
        self.take(chat_id)
        return 0.0

    def pause(self, seconds: float) -> None:
        self.gate.pause(seconds)


class OutboxSender:
    def __init__(self, uow: UnitOfWork, clock: Clock, bot: Bot, i18n: CatalogI18n, rate: float = DEFAULT_RATE,
                 per_chat: float = PER_CHAT_INTERVAL, in_flight: int = 8, sender_id: str | None = None,
                 channel: str = TELEGRAM, reachable: Callable[[], Iterable[str]] | None = None,
                 exit: Exit | None = None, pacer: Pacer | None = None) -> None:
        if channel not in SENDS:
            raise ValueError(f"no sender for the {channel} channel yet")
        self.exit = exit  # the channel's content policy, for what this sender sends
        self.uow, self.clock, self.bot, self.i18n, self.channel = uow, clock, bot, i18n, channel
        # Where the channel can deliver now (the web chat: the accounts with a page open); None: everywhere.
        self.reachable = reachable
        # The gate of the bot's retry middleware, so that a 429 any request sees pauses the pacer too.
        # Several instances pass one whose pace is shared through Redis (bot/instances/pace.py).
        self.pacer = pacer if pacer is not None else Pacer(rate, per_chat, gate=flood_gate(bot))
        self.in_flight = in_flight
        self.sender_id = sender_id or f"{socket.gethostname()}:{os.getpid()}"
        self.report = SendReport()
        self._draining = asyncio.Lock()

    async def recover(self) -> tuple[int, int]:
        """On start: claims of dead senders back to pending; messages they left mid-call, ambiguous. A
        sender on this machine is dead when its process is; one elsewhere, when its claim is stale."""
        async with self.uow.write() as repos:
            dead = [sender for sender in await repos.outbox.claimers() if _is_dead(sender)]
            released, ambiguous = await repos.outbox.recover(dead, self.clock.now() - STALE_CLAIM, self.channel)
        if ambiguous:
            logger.warning("%d reminders were interrupted mid-call and are marked ambiguous (not resent)", ambiguous)
        self.report.ambiguous += ambiguous
        return released, ambiguous

    async def _claim(self, limit: int = BATCH) -> list[Outbox]:
        addresses = None if self.reachable is None else sorted(self.reachable())
        if addresses == []:
            return []
        async with self.uow.write() as repos:
            return await repos.outbox.claim(self.sender_id, self.clock.now(), limit, self.channel, addresses)

    async def drain(self) -> SendReport:
        """Send everything due until nothing is: one pipeline, the next batch claimed while the last
        messages of the previous one are still going, so that the pace never stalls between batches. One
        pass at a time (the background loop and a web page that just opened may both ask)."""
        async with self._draining:
            return await self._drain()

    async def _drain(self) -> SendReport:
        queues: dict[str, deque[Outbox]] = defaultdict(deque)  # by address: the per-chat pace
        running: set[asyncio.Task[None]] = set()
        exhausted = False
        while True:
            if not exhausted and sum(len(queue) for queue in queues.values()) < self.in_flight * 4:
                rows = await self._claim()
                exhausted = not rows
                for row in rows:
                    queues[row.address].append(row)
            if not queues:
                if running:
                    _done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    exhausted = False  # a retry may have become due meanwhile: look once more
                    continue
                if exhausted:
                    async with self.uow.write() as repos:  # nothing of ours may stay claimed
                        await repos.outbox.release(self.sender_id, self.channel)
                    return self.report
                continue
            if len(running) >= self.in_flight:
                _done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                continue
            chat = min(queues, key=self.pacer.ready_at)
            delay = await self.pacer.try_take(chat)
            if delay > 0:
                if running:  # meanwhile, let the requests in flight finish
                    _done, running = await asyncio.wait(running, timeout=delay)
                else:
                    await asyncio.sleep(delay)
                continue
            row = queues[chat].popleft()
            if not queues[chat]:
                del queues[chat]
            running.add(asyncio.create_task(self._deliver(row)))

    async def _deliver(self, row: Outbox) -> None:
        try:
            async with self.uow.write() as repos:
                if not await repos.outbox.start_sending(row.id, self.sender_id, row.attempts + 1):
                    return  # taken back meanwhile, or no longer to be sent
        except Exception:  # still "claimed": the end of the pass releases it
            logger.exception("could not start sending outbox row %s", row.id)
            return
        gate = OUTBOX.set(self.exit)
        try:
            # The whole send in the reader's language: a transport may add words of its own (Zalo's menus).
            with self.i18n.context(), self.i18n.use_locale(self._locale(row)):
                text, markup = render(row.kind, dict(row.payload))
                message = await self.bot.send_message(chat_for(self.bot, row.address), text, reply_markup=markup)
        except TelegramRetryAfter as exc:  # Telegram's pace, not the message's fault: no attempt used up
            self.report.rate_limited += 1
            self.pacer.pause(float(exc.retry_after))  # the middleware did already, if the bot has one
            await self.pacer.gate.share(float(exc.retry_after))
            await self._later(row, float(exc.retry_after), "429", count=False)
        except TelegramForbiddenError as exc:
            self.report.blocked += 1
            async with self.uow.write() as repos:
                await repos.outbox.set_status(row.id, "blocked", last_error=_short(exc))
                await repos.outbox.mark_blocked(row.channel, row.address, self.clock.now())
        except TelegramServerError as exc:
            await self._later(row, _backoff(row.attempts), _short(exc))
        except TelegramNetworkError as exc:
            if never_reached_api(exc):
                await self._later(row, _backoff(row.attempts), _short(exc))
            else:  # a timeout or a dropped connection: it may have been delivered
                self.report.ambiguous += 1
                async with self.uow.write() as repos:
                    await repos.outbox.set_status(row.id, "ambiguous", last_error=_short(exc))
        except TelegramAPIError as exc:
            self.report.failed += 1
            async with self.uow.write() as repos:
                await repos.outbox.set_status(row.id, "failed", last_error=_short(exc))
        except Exception as exc:  # anything else once "sending": it may have gone, so never again
            logger.exception("outbox row %s interrupted", row.id)
            self.report.ambiguous += 1
            async with self.uow.write() as repos:
                await repos.outbox.set_status(row.id, "ambiguous", last_error=_short(exc))
        else:
            self.report.sent += 1
            async with self.uow.write() as repos:
                await repos.outbox.set_status(row.id, "sent", sent_at=self.clock.now(), message_id=message.message_id,
                                              claimed_by=None)
        finally:
            OUTBOX.reset(gate)

    async def _later(self, row: Outbox, seconds: float, error: str, count: bool = True) -> None:
        """Back to pending, due again after `seconds`; failed for good after too many attempts."""
        attempts = row.attempts + 1 if count else row.attempts
        async with self.uow.write() as repos:
            if count and attempts >= MAX_ATTEMPTS:
                self.report.failed += 1
                await repos.outbox.set_status(row.id, "failed", last_error=error)
            else:
                self.report.retried += 1
                await repos.outbox.set_status(row.id, "pending", last_error=error, claimed_by=None, attempts=attempts,
                                              due_at=self.clock.now() + dt.timedelta(seconds=seconds))

    def _locale(self, row: Outbox) -> str:
        locale = row.payload.get("locale") if isinstance(row.payload, dict) else None
        return locale if locale in self.i18n.available_locales else self.i18n.default_locale


def chat_for(bot: Bot, address: str) -> int:
    """The chat number of an address: the address itself on Telegram and the web chat; a transport whose
    addresses are not numbers (Zalo) maps them in its session's `chat_of`."""
    mapping = getattr(getattr(bot, "session", None), "chat_of", None)
    return int(mapping(address)) if mapping is not None else int(address)


def _is_dead(sender: str) -> bool:
    """A sender of this machine whose process is gone. Others are judged by the age of their claims."""
    host, _sep, pid = sender.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True  # a previous run that had this pid: this process has claimed nothing yet
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _backoff(attempts: int) -> float:
    return float(min(2 ** attempts, 600))


def _short(error: Exception) -> str:
    return str(error)[:250]


__all__ = ["OutboxSender", "Pacer", "SendReport"]
