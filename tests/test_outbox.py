"""The outbox: delivery times (quiet hours, days off, the last day), idempotency, mutes, and the sender's
handling of each Telegram answer, pacing and recovery after a crash."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram.exceptions import TelegramForbiddenError, TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import SendMessage
from sqlalchemy import select

from bot.i18n import create_i18n
from bot.sender import OutboxSender, Pacer
from services.core.clock import FrozenClock
from services.platform.outbox import Due, delivery_time, enqueue
from services.regime.deadlines import WorkingCalendar
from storage import Database, UnitOfWork
from storage.models import Account, ChannelIdentity, Outbox
from tests.test_accounts import sign_in, tree

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CALENDAR = WorkingCalendar()


def local(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=TZ)


@pytest.mark.parametrize(("wanted", "last_day", "expected"), [
    (local(2026, 6, 10, 10), None, local(2026, 6, 10, 10)),  # a Wednesday morning: at once
    (local(2026, 6, 10, 22), None, local(2026, 6, 11, 7)),  # quiet hours: the next morning
    (local(2026, 6, 10, 5, 30), None, local(2026, 6, 10, 7)),  # before 07:00: that morning
    (local(2026, 6, 12, 21, 30), None, local(2026, 6, 15, 7)),  # Friday night: Monday morning
    (local(2026, 6, 13, 9), dt.date(2026, 6, 14), local(2026, 6, 14, 7)),  # Saturday: waits, but not past Sunday
    (local(2026, 6, 14, 9), dt.date(2026, 6, 14), local(2026, 6, 14, 9)),  # the last day itself, though a Sunday
    (local(2027, 2, 4, 8), None, local(2027, 2, 11, 7)),  # Tết 2027 (04–10/02): after it
    (local(2027, 2, 3, 23), dt.date(2027, 2, 6), local(2027, 2, 6, 7)),  # the last day is in Tết: that morning
])
def test_delivery_time(wanted: dt.datetime, last_day: dt.date | None, expected: dt.datetime) -> None:
    assert delivery_time(wanted, CALENDAR, TZ, last_day) == expected.astimezone(dt.UTC)


def test_an_extra_day_off_is_skipped_too() -> None:
    calendar = WorkingCalendar.with_days_off([dt.date(2026, 6, 15)])
    assert delivery_time(local(2026, 6, 12, 22), calendar, TZ) == local(2026, 6, 16, 7).astimezone(dt.UTC)


def due(account: int, kind: str = "report_due", object_id: str = "1", day: dt.date = dt.date(2026, 7, 1)) -> Due:
    return Due(kind, account, "unit", object_id, day, {"period": "2026-H1", "unit": "Sở Y tế",
                                                       "due": "2026-06-15", "days": 3})


async def reach(uow: UnitOfWork, clock: FrozenClock, *chats: int) -> dict[int, int]:
    """An active account bound on Telegram to each chat not bound yet (the units made if need be); the
    account of every chat."""
    async with uow.read() as repos:
        has_units = await repos.units.by_code("SYT") is not None
    if not has_units:
        await tree(uow, clock)
    async with uow.write() as repos:
        unit = await repos.units.by_code("SYT")
        assert unit is not None
        bound = {int(i.address): i.account_id for i in (await repos.session.scalars(
            select(ChannelIdentity).where(ChannelIdentity.channel == "telegram",
                                          ChannelIdentity.revoked_at.is_(None)))).all()}
        for chat in chats:
            if chat not in bound:
                account = Account(username=f"chat{chat}", full_name=f"Chat {chat}", unit_id=unit.id, role="clerk",
                                  status="active", failed_attempts=0, created_at=clock.now())
                repos.session.add(account)
                await repos.session.flush()
                await repos.identities.bind(account.id, "telegram", str(chat), clock.now())
                bound[chat] = account.id
    return bound


async def test_enqueue_is_idempotent_and_keeps_mutes(uow: UnitOfWork, clock: FrozenClock) -> None:
    await tree(uow, clock)
    clerk = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    async with uow.write() as repos:
        await repos.outbox.set_mute(clerk.account_id, "report_due", True, clock.now())
    to = await reach(uow, clock, 501, 502)
    items = [due(to[501]), due(to[502], object_id="2"), due(to[501], "incident")]
    async with uow.write() as repos:
        assert await enqueue(repos, clock, items, CALENDAR) == 3
    async with uow.write() as repos:
        assert await enqueue(repos, clock, items, CALENDAR) == 0  # computed again: nothing new
    async with uow.read() as repos:
        rows = (await repos.session.scalars(select(Outbox).order_by(Outbox.id))).all()
    assert [(r.chat_id, r.kind, r.status) for r in rows] == [
        (501, "report_due", "muted"), (502, "report_due", "pending"), (501, "incident", "pending")]


class FakeBot:
    """Answers send_message as told per chat: "ok", or an exception to raise (once each, in order)."""

    def __init__(self, script: dict[int, list[Any]] | None = None) -> None:
        self.script = script or {}
        self.sent: list[tuple[float, int, str]] = []
        self.next_id = 1000

    async def send_message(self, chat_id: int, text: str, reply_markup: Any = None) -> Any:
        outcome = self.script.get(chat_id, [])
        if outcome:
            error = outcome.pop(0)
            if error != "ok":
                raise error
        self.next_id += 1
        self.sent.append((time.monotonic(), chat_id, text))
        return type("Sent", (), {"message_id": self.next_id})()


METHOD = SendMessage(chat_id=1, text="x")


async def rows_by_chat(uow: UnitOfWork) -> dict[int, Outbox]:
    async with uow.read() as repos:
        return {row.chat_id: row for row in (await repos.session.scalars(select(Outbox))).all()}


async def test_each_answer_of_telegram(uow: UnitOfWork, clock: FrozenClock) -> None:
    await tree(uow, clock)
    blocked = await sign_in(uow, clock, "an.syt", "SYT", "clerk", 504)
    to = await reach(uow, clock, 501, 502, 503, 504, 505)
    async with uow.write() as repos:
        await enqueue(repos, clock, [due(to[501]), due(to[502], object_id="2"), due(to[503], object_id="3"),
                                     due(blocked.account_id, object_id="4"), due(to[505], object_id="5")],
                      CALENDAR)
    bot = FakeBot({
        502: [TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=3)],
        503: [TelegramServerError(METHOD, "Bad Gateway")],
        504: [TelegramForbiddenError(METHOD, "bot was blocked by the user")],
        505: [TelegramNetworkError(METHOD, "Request timeout error")],
    })
    sender = OutboxSender(uow, clock, bot, create_i18n(), rate=1000, per_chat=0.0)  # type: ignore[arg-type]
    await sender.drain()
    rows = await rows_by_chat(uow)
    assert rows[501].status == "sent" and rows[501].message_id == 1001
    assert "Sở Y tế" in bot.sent[0][2] and "15/06/2026" in bot.sent[0][2]  # rendered in Vietnamese
    assert (rows[502].status, rows[502].due_at) == ("pending", clock.now() + dt.timedelta(seconds=3))
    assert rows[503].status == "pending" and rows[503].due_at > clock.now()  # backoff
    assert rows[504].status == "blocked" and rows[505].status == "ambiguous"
    async with uow.read() as repos:
        assert (await repos.session.get(Account, blocked.account_id)).bot_blocked_at == clock.now()
        assert [a.username for a in await repos.outbox.blocked_accounts()] == ["an.syt"]
    assert sender.report.rate_limited == 1 and sender.report.ambiguous == 1 and sender.report.blocked == 1

    clock.advance(dt.timedelta(seconds=5))  # the 429 and the 5xx are due again and go through
    await sender.drain()
    rows = await rows_by_chat(uow)
    assert {chat: row.status for chat, row in rows.items()} == {
        501: "sent", 502: "sent", 503: "sent", 504: "blocked", 505: "ambiguous"}
    assert [chat for _t, chat, _text in bot.sent].count(505) == 0  # an ambiguous one is never resent


async def test_a_crash_mid_call_is_ambiguous_and_unsent_claims_go_back(uow: UnitOfWork, clock: FrozenClock) -> None:
    to = await reach(uow, clock, 501, 502, 503)
    async with uow.write() as repos:
        await enqueue(repos, clock, [due(to[501]), due(to[502], object_id="2"), due(to[503], object_id="3")], CALENDAR)
        claimed = await repos.outbox.claim("dead-sender", clock.now(), 10)
        await repos.outbox.set_status(claimed[0].id, "sending")  # the crash came during this call
    clock.advance(dt.timedelta(minutes=11))  # a claim this old belongs to a dead sender
    bot = FakeBot()
    sender = OutboxSender(uow, clock, bot, create_i18n(), rate=1000, per_chat=0.0)  # type: ignore[arg-type]
    assert await sender.recover() == (2, 1)
    await sender.drain()
    rows = await rows_by_chat(uow)
    assert {chat: row.status for chat, row in rows.items()} == {501: "ambiguous", 502: "sent", 503: "sent"}
    assert sorted(chat for _t, chat, _text in bot.sent) == [502, 503]


async def test_pacing_keeps_the_global_rate_and_each_chats_interval(uow: UnitOfWork, clock: FrozenClock) -> None:
    to = await reach(uow, clock, 601, 602, 603)
    items = [due(to[chat], object_id=f"{chat}-{n}") for chat in (601, 602, 603) for n in range(3)]
    async with uow.write() as repos:
        await enqueue(repos, clock, items, CALENDAR)
    bot = FakeBot()
    sender = OutboxSender(uow, clock, bot, create_i18n(), rate=20, per_chat=0.3)  # type: ignore[arg-type]
    await sender.drain()
    assert len(bot.sent) == 9
    times = sorted(t for t, _chat, _text in bot.sent)
    # 20/s globally: 9 messages take at least 8 × 0.05 s, less the 0.1 s a late start may make up.
    assert times[-1] - times[0] >= 8 * 0.05 - 0.1 - 0.02
    for chat in (601, 602, 603):
        own = [t for t, c, _text in bot.sent if c == chat]
        assert all(b - a >= 0.3 - 0.06 for a, b in zip(own, own[1:]))  # one per 0.3 s per chat (less jitter)
    # The chats interleave (not 9 × 0.3 s in a row): while one chat waits its interval, the others go.
    first = [chat for _t, chat, _text in sorted(bot.sent)[:3]]
    assert sorted(first) == [601, 602, 603]


def test_pacer_pause_holds_everyone_back() -> None:
    now = [100.0]
    pacer = Pacer(rate=10, per_chat=1.0, clock=lambda: now[0])
    pacer.take(1)
    assert pacer.ready_at(2) == pytest.approx(100.1) and pacer.ready_at(1) == pytest.approx(101.0)
    now[0] = 100.5  # a late start makes up at most 0.1 s of the global pace
    pacer.take(2)
    assert pacer.ready_at(3) == pytest.approx(100.5)
    pacer.pause(5)
    assert pacer.ready_at(3) == pytest.approx(105.5)


async def test_concurrent_drains_send_each_row_once(any_database: Database, clock: FrozenClock) -> None:
    """Two senders on the same outbox (SKIP LOCKED claims on PostgreSQL, the write lock on SQLite)."""
    uow = UnitOfWork(any_database)
    to = await reach(uow, clock, *(700 + n for n in range(30)))
    async with uow.write() as repos:
        await enqueue(repos, clock, [due(to[700 + n], object_id=str(n)) for n in range(30)], CALENDAR)
    bot = FakeBot()
    one = OutboxSender(uow, clock, bot, create_i18n(), rate=1000, per_chat=0.0, sender_id="one")  # type: ignore[arg-type]
    two = OutboxSender(uow, clock, bot, create_i18n(), rate=1000, per_chat=0.0, sender_id="two")  # type: ignore[arg-type]
    await asyncio.gather(one.drain(), two.drain())
    assert sorted(chat for _t, chat, _text in bot.sent) == [700 + n for n in range(30)]


async def test_a_reminder_for_a_revoked_account_or_a_moved_dossier_is_dropped(uow: UnitOfWork,
                                                                               clock: FrozenClock) -> None:
    """Planned before the account was revoked, or before the dossier changed hands: never sent."""
    from services.accounts.service import AccountService
    from tests.test_accounts import SYSTEM
    from tests.test_lookup import add_people

    await tree(uow, clock)
    people = await add_people(uow, clock)
    kept = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 801)
    gone = await sign_in(uow, clock, "an.syt", "SYT", "clerk", 802)
    async with uow.read() as repos:
        syt, stc = await repos.units.by_code("SYT"), await repos.units.by_code("STC")
    about = {"name": "Đặng Thị Hoà", "dossier_id": people["001188000111"], "deadline": "2026-07-10",
             "doc_number": "1/QĐ", "unit_path": syt.path}
    items = [Due("change_deadline", kept.account_id, "change", "1", dt.date(2026, 7, 1), about),
             Due("change_deadline", gone.account_id, "change", "1", dt.date(2026, 7, 1), about),
             Due("change_deadline", kept.account_id, "change", "2", dt.date(2026, 7, 1),
                 {**about, "unit_path": stc.path})]
    async with uow.write() as repos:
        await enqueue(repos, clock, items, CALENDAR)
    await AccountService(uow, SYSTEM, clock).revoke("an.syt", "5/CV-SNV")
    bot = FakeBot()
    await OutboxSender(uow, clock, bot, create_i18n(), rate=1000, per_chat=0.0).drain()  # type: ignore[arg-type]
    async with uow.read() as repos:
        rows = (await repos.session.scalars(select(Outbox).order_by(Outbox.id))).all()
    assert [(r.chat_id, r.status) for r in rows] == [(801, "sent"), (802, "dropped"), (801, "dropped")]
    assert [chat for _t, chat, _text in bot.sent] == [801]


# -- waking the senders -------------------------------------------------------------------------------------------
async def test_a_commit_that_queued_rows_wakes_the_senders_and_a_rollback_does_not(any_database: Database,
                                                                                  clock: FrozenClock) -> None:
    """`Database.outbox_signal`: set once the transaction that added outbox rows has committed (a woken
    sender finds them), never while it is open, never when it rolls back, nor for a write that added none."""
    uow = UnitOfWork(any_database)
    to = await reach(uow, clock, 501)
    signal, other = any_database.outbox_signal(), any_database.outbox_signal()  # two senders, one each
    found: list[int] = []

    async def sender() -> None:  # as a sender's loop: woken, it looks for what to send
        await signal.wait()
        async with uow.read() as repos:
            found.append(len((await repos.session.scalars(select(Outbox))).all()))

    waiting = asyncio.create_task(sender())
    with pytest.raises(RuntimeError):
        async with uow.write() as repos:
            assert await enqueue(repos, clock, [due(to[501])], CALENDAR) == 1
            raise RuntimeError("the action fails after its notice was queued")
    assert not signal.is_set() and not other.is_set()  # rolled back: the row is gone, nobody is woken
    async with uow.write() as repos:
        assert await enqueue(repos, clock, [due(to[501])], CALENDAR) == 1
        await repos.flush()
        assert not signal.is_set()  # not before the commit
    assert signal.is_set() and other.is_set()
    await asyncio.wait_for(waiting, 5)
    assert found == [1]  # the woken sender sees the committed row

    signal.clear()
    async with uow.write() as repos:
        assert await enqueue(repos, clock, [due(to[501])], CALENDAR) == 0  # already there: nothing new
        await repos.settings.put("heartbeat", {"at": clock.now().isoformat()}, clock.now())
    assert not signal.is_set()
