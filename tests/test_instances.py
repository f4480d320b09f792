"""Several instances as one, through the Redis they share (bot/instances/): one send pace and one flood pause
per channel, one planner at a time, one user's updates in arrival order; and without Redis, one instance only
(bot/instances/presence.py). The audit chain's lock is held for the append only (storage/audit.py)."""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
from aiogram.methods import Response, TelegramMethod
from aiogram.types import Chat, Message, Update, User
from redis.asyncio import Redis

from bot.factory import create_bot
from bot.i18n import create_i18n
from bot.instances.pace import SharedFloodGate, SharedPacer, SharedSends, share_pace
from bot.instances.planner import PLANNER_KEY, PlannerLease
from bot.instances.presence import STALE_AFTER, InstanceRefused, Presence
from bot.instances.shared import Shared
from bot.instances.signals import PAUSES
from bot.instances.turns import TurnIsolation
from bot.jobs import Jobs
from bot.runtime import Runtime
from bot.sender import PER_CHAT_INTERVAL, OutboxSender
from bot.settings import Settings
from services.core.actor import Actor, Role
from services.core.clock import FrozenClock
from services.platform.audit import AuditService, record
from services.platform.outbox import enqueue
from services.regime.deadlines import WorkingCalendar
from storage import Database, UnitOfWork
from storage.models import Outbox
from tests.botapi_stub import ApiError, BotAPIStub, Call
from tests.conftest import REDIS_URL
from tests.test_outbox import due, reach

TOKEN = "434343:instances-test-token-not-a-secret"
RATE = 10.0  # messages a second, for the whole channel: low, so that the test is short and the pace plain


@pytest.fixture
async def shared() -> AsyncIterator[Callable[[], Awaitable[Shared]]]:
    """Makes what one instance holds of Redis; the test's Redis database starts without HoSo's keys."""
    if not REDIS_URL:
        pytest.skip("HOSO_TEST_REDIS_URL is unset: the tests of several instances are skipped")
    made: list[Shared] = []

    async def make() -> Shared:
        one = Shared.from_url(REDIS_URL)
        made.append(one)
        await one.signals.start()
        return one

    cleaner = await make()
    keys = [key async for key in cleaner.redis.scan_iter(match="hoso:*")]
    if keys:
        await cleaner.redis.delete(*keys)
    yield make
    for one in made:
        await one.close()


class SmallBatches(OutboxSender):
    """A sender claiming a few rows at a time, so that two of them share one outbox's rows."""

    async def _claim(self, limit: int = 5) -> list[Outbox]:
        return await super()._claim(limit)


def busiest_second(times: list[float], span: float = 1.0) -> int:
    """The most sends in any one-second window (or `span`)."""
    times = sorted(times)
    return max(bisect.bisect_left(times, start + span) - index for index, start in enumerate(times))


@pytest.mark.redis
async def test_two_senders_keep_one_global_rate(uow: UnitOfWork, clock: FrozenClock, shared: Callable[
        [], Awaitable[Shared]]) -> None:
    chats = [7000 + n for n in range(40)]  # one message each: the per-chat pace plays no part
    to = await reach(uow, clock, *chats)
    async with uow.write() as repos:
        await enqueue(repos, clock, [due(to[chat], object_id=str(chat)) for chat in chats], WorkingCalendar())
    async with BotAPIStub(TOKEN) as stub:
        bots = [create_bot(TOKEN, stub.base_url) for _ in range(2)]
        senders = []
        for number, bot in enumerate(bots):  # two instances: each its own Bot, Redis client and sender
            instance = await shared()
            pacer = share_pace(instance.redis, instance.signals, bot, "telegram", RATE, PER_CHAT_INTERVAL)
            senders.append(SmallBatches(uow, clock, bot, create_i18n(), sender_id=f"instance-{number}", pacer=pacer))
        try:
            await asyncio.wait_for(asyncio.gather(*(sender.drain() for sender in senders)), timeout=120)
        finally:
            for bot in bots:
                await bot.session.close()
    sends = [call for call in stub.calls_of("sendMessage") if call.status == 200]
    assert Counter(int(call.get("chat_id")) for call in sends) == Counter(chats)  # each exactly once
    assert all(sender.report.sent > 0 for sender in senders), [sender.report for sender in senders]
    # Each alone would go at RATE, so two would reach twice that; together they keep to it. Generous bounds:
    # a slow machine only spreads the sends out.
    times = [call.at for call in sends]
    assert busiest_second(times) <= 1.5 * RATE, sorted(times)
    assert max(times) - min(times) >= 0.75 * len(chats) / RATE


@pytest.mark.redis
async def test_a_chats_pace_is_kept_across_instances(shared: Callable[[], Awaitable[Shared]]) -> None:
    first, second = await shared(), await shared()
    pacers = [SharedPacer(one.redis, "telegram", rate=100, per_chat=PER_CHAT_INTERVAL) for one in (first, second)]
    assert await pacers[0].try_take(1) == 0.0
    wait = await pacers[1].try_take(1)  # the other instance's message to the same chat is a moment ago
    assert 0.5 < wait <= PER_CHAT_INTERVAL
    assert await pacers[1].try_take(2) <= 0.0101  # another chat waits for the global spacing only


@pytest.mark.redis
async def test_a_429_on_one_instance_pauses_the_other(uow: UnitOfWork, clock: FrozenClock, shared: Callable[
        [], Awaitable[Shared]]) -> None:
    chats = [7100, 7101, 7102, 7103]
    to = await reach(uow, clock, *chats)
    async with uow.write() as repos:
        await enqueue(repos, clock, [due(to[7100], object_id="7100")], WorkingCalendar())
    limited_at: list[float] = []
    async with BotAPIStub(TOKEN) as stub:
        default, message_ids = stub._sent_message, itertools.count(500)

        def send_message(call: Call) -> object:
            if not limited_at:
                limited_at.append(time.monotonic())
                raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
            return default(call, next(message_ids))

        stub.on("sendMessage", send_message)
        bots = [create_bot(TOKEN, stub.base_url) for _ in range(2)]
        one, other = await shared(), await shared()
        senders = [
            OutboxSender(uow, clock, bot, create_i18n(), sender_id=name, reachable=reach_of,
                         pacer=share_pace(instance.redis, instance.signals, bot, "telegram", RATE, PER_CHAT_INTERVAL))
            for bot, instance, name, reach_of in (
                (bots[0], one, "one", lambda: ["7100"]), (bots[1], other, "other", lambda: ["7101", "7102", "7103"]))
        ]
        heard = asyncio.Event()
        other.signals.on(PAUSES, lambda _message: heard.set())  # after its gate's: the gate heard it first
        try:
            first = asyncio.create_task(senders[0].drain())
            await asyncio.wait_for(heard.wait(), timeout=30)
            gate = senders[1].pacer.gate
            assert isinstance(gate, SharedFloodGate) and gate.remaining() > 0  # its replies are held back too
            async with uow.write() as repos:
                await enqueue(repos, clock, [due(to[chat], object_id=str(chat)) for chat in chats[1:]],
                              WorkingCalendar())
            await asyncio.wait_for(asyncio.gather(first, senders[1].drain()), timeout=60)
        finally:
            for bot in bots:
                await bot.session.close()
    sends = [call for call in stub.calls_of("sendMessage") if call.status == 200]
    assert Counter(int(call.get("chat_id")) for call in sends) == Counter(chats)
    assert senders[1].report.sent == 3
    assert min(call.at for call in sends) - limited_at[0] >= 1.0  # nobody sent before retry_after had passed


class Planning(Jobs):
    """Jobs whose planning pass is counted and lasts until the test lets it end."""

    def __init__(self, runtime: Runtime, planning: asyncio.Event, release: asyncio.Event) -> None:
        super().__init__(runtime)
        self.plans, self.planning, self.release = 0, planning, release

    async def plan(self) -> int:
        self.plans += 1
        self.planning.set()
        await self.release.wait()
        return 0


@pytest.mark.redis
async def test_one_planner_among_instances(any_database: Database, clock: FrozenClock, shared: Callable[
        [], Awaitable[Shared]]) -> None:
    settings = Settings(_env_file=None, database_url="sqlite+aiosqlite:///unused.db", redis_url=REDIS_URL)
    planning, release = asyncio.Event(), asyncio.Event()
    instances = [
        Planning(Runtime(settings, any_database, clock, create_i18n(), MemoryStorage(), SimpleEventIsolation(),
                         await shared()), planning, release)
        for _ in range(2)
    ]
    bot = create_bot(TOKEN, "http://127.0.0.1:9")  # nothing is due: no request is made
    try:
        first = asyncio.create_task(instances[0].run_once(bot))
        await asyncio.wait_for(planning.wait(), timeout=30)
        await instances[1].run_once(bot)  # the other's pass, while the first plans: it skips planning
        assert instances[1].plans == 0
        release.set()
        await first
        await instances[1].run_once(bot)  # and after it: planned already for this quarter of an hour
        assert [jobs.plans for jobs in instances] == [1, 0]
        redis = instances[0].runtime.shared.redis  # type: ignore[union-attr]
        assert await redis.pttl(PLANNER_KEY) > 60_000  # kept until the next pass is due
    finally:
        await bot.session.close()


def message_update(number: int, user_id: int = 5) -> Update:
    return Update(update_id=number, message=Message(
        message_id=number, date=dt.datetime(2026, 7, 1, tzinfo=dt.UTC), chat=Chat(id=user_id, type="private"),
        from_user=User(id=user_id, is_bot=False, first_name="Hoà"), text=str(number)))


class Watched(TurnIsolation):
    """Tells the test each ticket it takes: the update has arrived."""

    def __init__(self, shared: Shared, taken: asyncio.Queue[int]) -> None:
        super().__init__(shared)
        self.taken = taken

    async def take(self, name: str) -> int:
        ticket = await super().take(name)
        self.taken.put_nowait(ticket)
        return ticket


@pytest.mark.redis
async def test_one_users_updates_in_arrival_order_across_two_dispatchers(
        shared: Callable[[], Awaitable[Shared]]) -> None:
    handled: list[int] = []
    first_started, go_on = asyncio.Event(), asyncio.Event()
    taken: asyncio.Queue[int] = asyncio.Queue()
    dispatchers = []
    for _ in range(2):  # two instances: each its own Dispatcher and Redis client
        router = Router()

        @router.message()
        async def note(message: Message) -> None:
            if message.text == "1":
                first_started.set()
                await go_on.wait()  # every other update arrives meanwhile, alternately at each instance
            handled.append(int(message.text or 0))

        dispatcher = Dispatcher(storage=MemoryStorage(), events_isolation=Watched(await shared(), taken))
        dispatcher.include_router(router)
        dispatchers.append(dispatcher)
    bot = Bot(TOKEN)
    count = 12
    feeding = []
    for number in range(1, count + 1):
        feeding.append(asyncio.create_task(dispatchers[number % 2].feed_update(bot, message_update(number))))
        assert await asyncio.wait_for(taken.get(), timeout=30) == number  # arrived before the next is sent
        if number == 1:
            await asyncio.wait_for(first_started.wait(), timeout=30)
    go_on.set()
    await asyncio.wait_for(asyncio.gather(*feeding), timeout=60)
    await bot.session.close()
    assert handled == list(range(1, count + 1))


@pytest.mark.redis
async def test_a_dead_holders_turn_is_skipped(shared: Callable[[], Awaitable[Shared]]) -> None:
    """An instance that took a turn and died: the next update of the user waits out its lease only."""
    instance = await shared()
    isolation = TurnIsolation(instance, lease=0.3)
    name = "turn-test:dead"
    dead = await isolation.take(name)  # its instance died before it was served or released
    async with asyncio.timeout(10):
        ticket = await isolation.take(name)
        await isolation._wait(name, ticket)
    assert ticket == dead + 1
    assert await instance.redis.hget(f"hoso:turn:{name}", "serving") == str(ticket).encode()


async def test_a_second_instance_without_redis_is_refused(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    first = Presence(uow, clock, shared=False)
    await first.claim()
    for shared_ in (False, True):  # with Redis or without, nothing runs beside an instance without it
        with pytest.raises(InstanceRefused) as refused:
            await Presence(uow, clock, shared=shared_).claim()
        assert refused.value.shared is False
    clock.advance(STALE_AFTER)  # its beats stopped: it died
    second = Presence(uow, clock, shared=False)
    await second.claim()
    await second.leave()  # a clean stop gives the place back at once
    await Presence(uow, clock, shared=False).claim()


async def test_instances_with_redis_run_together_but_not_beside_one_without(
        any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    results = await asyncio.gather(*(Presence(uow, clock, shared=True).claim() for _ in range(3)))
    assert results == [None, None, None]
    with pytest.raises(InstanceRefused) as refused:
        await Presence(uow, clock, shared=False).claim()
    assert refused.value.shared is True


async def test_two_starts_at_once_without_redis_one_is_refused(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    results = await asyncio.gather(*(Presence(uow, clock, shared=False).claim() for _ in range(2)),
                                   return_exceptions=True)
    assert sorted(type(result).__name__ for result in results) == ["InstanceRefused", "NoneType"]


ADMIN = Actor(channel="telegram", address="1", account_id=1, username="snv.quantri", role=Role.ADMIN, unit_path="/1/")


async def test_the_audit_chain_is_not_locked_across_the_work(any_database: Database, clock: FrozenClock) -> None:
    """A transaction that audited an act and is still working does not hold the others' appends back."""
    if any_database.dialect != "postgresql":
        pytest.skip("SQLite's write transactions take turns whole anyway")
    uow = UnitOfWork(any_database)
    audited, finish = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        async with uow.write() as repos:
            await record(repos, clock, ADMIN, "dossier.view", "dossier", 1)
            audited.set()
            await finish.wait()  # the rest of its work

    working = asyncio.create_task(slow())
    await asyncio.wait_for(audited.wait(), timeout=30)
    async with asyncio.timeout(30), uow.write() as repos:  # before the change, it waited for the other's commit
        await record(repos, clock, ADMIN, "dossier.view", "dossier", 2)
    finish.set()
    await working
    async with uow.read() as repos:
        events = [(event.seq, event.object_id) async for event in repos.audit.stream()]
    assert events == [(1, "2"), (2, "1")]  # the chain in the order of the appends
    report = await AuditService(uow, ADMIN, clock).verify()
    assert report.ok and report.count == 2


async def test_without_an_answer_from_redis_the_sender_keeps_its_own_pace() -> None:
    """Redis away: the instance paces the channel alone rather than stall with its rows claimed."""
    away = Redis.from_url("redis://127.0.0.1:9/0")  # a closed port
    pacer = SharedPacer(away, "telegram", rate=100, per_chat=PER_CHAT_INTERVAL)
    try:
        assert await pacer.try_take(1) == 0.0
        assert pacer.alone
        assert 0.5 < await pacer.try_take(1) <= PER_CHAT_INTERVAL  # the chat's pace, kept in-process
    finally:
        await away.aclose()


async def test_without_an_answer_from_redis_replies_still_go_at_the_instances_own_pace() -> None:
    """Redis away: a message claims no place in flight and logs no answer; it goes on this instance's own
    schedule rather than wait for Redis."""
    away = Redis.from_url("redis://127.0.0.1:9/0")  # a closed port
    async with BotAPIStub(TOKEN) as stub:
        bot = create_bot(TOKEN, stub.base_url)
        sends = SharedSends(away, "telegram", rate=4.0)
        bot.session.middleware(sends)
        try:
            assert await sends.claim() == (None, 0.0)
            await asyncio.wait_for(asyncio.gather(*(bot.send_message(8300 + n, f"alone {n}") for n in range(3))),
                                   timeout=30)
        finally:
            await bot.session.close()
            await away.aclose()
    times = sorted(call.at for call in stub.calls_of("sendMessage") if call.status == 200)
    assert len(times) == 3 and times[-1] - times[0] >= 0.4  # 4 a second: spaced by this instance alone


@pytest.mark.redis
async def test_without_an_answer_from_redis_the_planner_skips_its_turn_and_the_pass_goes_on() -> None:
    """The lease cannot be asked for: this pass plans nothing, and raises nothing that would stop the sending."""
    away = Redis.from_url("redis://127.0.0.1:9/0")  # a closed port
    try:
        async with PlannerLease(away, 900).turn() as ours:
            assert ours is False
    finally:
        await away.aclose()


class SlowToStart(Dispatcher):
    """An instance whose background handling starts late (a loaded process): only once `go` is set."""

    def __init__(self, go: asyncio.Event, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.go = go

    async def feed_raw_update(self, bot: Bot, update: dict[str, object], **kwargs: object) -> object:
        await self.go.wait()
        return await super().feed_raw_update(bot, update, **kwargs)


@pytest.mark.redis
async def test_the_webhook_takes_the_turn_before_it_answers(shared: Callable[[], Awaitable[Shared]]) -> None:
    """A user's two updates answered by two instances, the first slow to start handling its own: the first
    still goes first, as its ticket was taken before Telegram got its answer (bot/runners.py)."""
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from bot.runners import OrderedRequestHandler

    handled: list[int] = []
    router_go, both = asyncio.Event(), asyncio.Event()
    clients = []
    for slow in (True, False):
        router = Router()

        @router.message()
        async def note(message: Message) -> None:
            handled.append(int(message.text or 0))
            if len(handled) == 2:
                both.set()

        isolation = TurnIsolation(await shared())
        dispatcher = (SlowToStart(router_go, storage=MemoryStorage(), events_isolation=isolation) if slow
                      else Dispatcher(storage=MemoryStorage(), events_isolation=isolation))
        dispatcher.include_router(router)
        app = web.Application()
        OrderedRequestHandler(dispatcher=dispatcher, bot=Bot(TOKEN), secret_token="s" * 16).register(app, path="/hook")
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
    headers = {"X-Telegram-Bot-Api-Secret-Token": "s" * 16}
    try:
        for number, client in enumerate(clients, start=1):  # Telegram waits for each answer before the next
            answer = await client.post("/hook", json=message_update(number).model_dump(mode="json", exclude_none=True),
                                       headers=headers)
            assert answer.status == 200
        router_go.set()  # now the first instance starts handling its update
        await asyncio.wait_for(both.wait(), timeout=30)
    finally:
        for client in clients:
            await client.close()
    assert handled == [1, 2]


async def sent_by_two_instances(shared: Callable[[], Awaitable[Shared]], count: int, first_chat: int,
                                pace: Callable[[Bot, Shared, int], object],
                                then: Callable[[list[Bot]], Awaitable[Any]] | None = None) -> list[float]:
    """`count` messages sent by two instances in turn, each its own Bot and Redis client paced by
    `pace(bot, instance, index)`, then `then(bots)`: when the stub received each (every one must arrive)."""
    async with BotAPIStub(TOKEN) as stub:
        bots = [create_bot(TOKEN, stub.base_url) for _ in range(2)]
        for index, bot in enumerate(bots):
            pace(bot, await shared(), index)
        try:
            await asyncio.wait_for(asyncio.gather(*(
                bots[n % 2].send_message(first_chat + n, f"message {n}") for n in range(count))), timeout=60)
            if then is not None:
                await then(bots)
        finally:
            for bot in bots:
                await bot.session.close()
    times = [call.at for call in stub.calls_of("sendMessage") if call.status == 200]
    assert len(times) == count
    return times


@pytest.mark.redis
async def test_instances_late_for_their_slots_still_send_no_more_than_the_rate_in_a_second(
        shared: Callable[[], Awaitable[Shared]]) -> None:
    """A loaded machine wakes an instance late for its slot, and the late message would go out with the next
    ones. The moment of sending is counted too: in no second does the channel send more than its rate."""
    late = itertools.cycle([0.0, 0.0, 0.45, 0.0, 0.3, 0.0, 0.0, 0.6])

    async def oversleep(seconds: float) -> None:
        await asyncio.sleep(seconds + next(late))

    times = await sent_by_two_instances(shared, 40, 8100, lambda bot, instance, _index: bot.session.middleware(
        SharedSends(instance.redis, "telegram", RATE, sleep=oversleep)))
    # Within 0,9 s: the sends are counted in Redis's clock, the test's is the stub's, a few ms apart.
    assert busiest_second(times, span=0.9) <= RATE, sorted(times)


class SlowToArrive(BaseRequestMiddleware):
    """Between a send's claim and Telegram's receipt of it: a busy event loop, a slow network."""

    def __init__(self, delays: list[float]) -> None:
        self.delays = itertools.cycle(delays)

    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                       method: TelegramMethod[Any]) -> Response[Any]:
        await asyncio.sleep(next(self.delays))
        return await make_request(bot, method)


@pytest.mark.redis
async def test_sends_slow_to_arrive_still_reach_telegram_no_more_than_the_rate_in_a_second(
        shared: Callable[[], Awaitable[Shared]]) -> None:
    """A send claimed now may reach Telegram much later, beside sends claimed a second after it. In flight, it
    still counts: in no second does Telegram receive more than the channel's rate."""
    delays = ([0.0, 0.9, 0.0, 0.0, 1.3], [0.0, 0.0, 1.1, 0.0])

    def pace(bot: Bot, instance: Shared, index: int) -> None:
        bot.session.middleware(SharedSends(instance.redis, "telegram", RATE))
        bot.session.middleware(SlowToArrive(delays[index]))  # inside: after the claim

    times = await sent_by_two_instances(shared, 40, 8200, pace)
    # The stub's clock and Redis's measure the same moments a few ms apart.
    assert busiest_second(times, span=0.98) <= RATE, sorted(times)


@pytest.mark.redis
async def test_replies_of_two_instances_keep_the_channels_one_pace(shared: Callable[[], Awaitable[Shared]]) -> None:
    """Telegram counts every message of the bot: replies to updates go through the same shared schedule as the
    outbox's reminders (bot/instances/pace.py, SharedSends), not beside it."""
    count = 30
    times = await sent_by_two_instances(
        shared, count, 8000,
        lambda bot, instance, _index: share_pace(instance.redis, instance.signals, bot, "telegram", RATE,
                                                 PER_CHAT_INTERVAL),
        then=lambda bots: bots[0].send_chat_action(8000, "typing"))  # not a message: no slot booked for it
    assert busiest_second(times) <= 1.5 * RATE, sorted(times)  # each alone, unpaced, would send all at once
    assert max(times) - min(times) >= 0.75 * (count - 1) / RATE
