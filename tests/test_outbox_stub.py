"""The outbox sender against the local Bot API stub over real HTTP: 429, 5xx and 403 answers injected
by the stub, as Telegram sends them."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time
from collections import Counter
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import Response, TelegramMethod
from sqlalchemy import select

from bot.factory import create_bot
from bot.i18n import create_i18n
from bot.retry import flood_gate
from bot.sender import OutboxSender
from services.core.clock import FrozenClock
from services.platform.outbox import enqueue
from services.regime.deadlines import WorkingCalendar
from storage import UnitOfWork
from storage.models import Account, Outbox
from tests.botapi_stub import ApiError, BotAPIStub, Call
from tests.test_accounts import sign_in, tree
from tests.test_outbox import due, reach

TOKEN = "424242:outbox-stub-token-not-a-secret"


async def test_429_5xx_and_403_from_the_stub(uow: UnitOfWork, clock: FrozenClock) -> None:
    await tree(uow, clock)
    blocker = await sign_in(uow, clock, "an.syt", "SYT", "clerk", 903)
    to = await reach(uow, clock, 901, 902)
    async with uow.write() as repos:
        await enqueue(repos, clock, [due(to[901]), due(to[902], object_id="2"), due(blocker.account_id, object_id="3")],
                      WorkingCalendar())
    answers = {901: [ApiError(429, "Too Many Requests: retry after 1", retry_after=1)],
               902: [ApiError(502, "Bad Gateway"), ApiError(500, "Internal Server Error")],
               903: [ApiError(403, "Forbidden: bot was blocked by the user")] * 3}
    tried: Counter[int] = Counter()

    async with BotAPIStub(TOKEN) as stub:
        default = stub._sent_message
        message_ids = iter(range(500, 600))

        def send_message(call: Call) -> object:
            chat = int(call.get("chat_id"))
            tried[chat] += 1
            if answers.get(chat):
                raise answers[chat].pop(0)
            return default(call, next(message_ids))

        stub.on("sendMessage", send_message)
        bot = create_bot(TOKEN, stub.base_url)
        try:
            sender = OutboxSender(uow, clock, bot, create_i18n(), rate=100, per_chat=0.0)
            await sender.drain()
            async with uow.read() as repos:
                rows = {row.chat_id: row for row in (await repos.session.scalars(select(Outbox))).all()}
            # 429: the request middleware waited the second Telegram asked for and tried again.
            assert rows[901].status == "sent" and tried[901] == 2
            # 5xx: back in the outbox with a backoff, not lost.
            assert rows[902].status == "pending" and rows[902].due_at > clock.now() and "Bad Gateway" in rows[902].last_error
            # 403: the user blocked the bot; the account is marked for the admin's list.
            assert rows[903].status == "blocked"
            clock.advance(dt.timedelta(minutes=1))
            await sender.drain()  # the second 5xx
            clock.advance(dt.timedelta(minutes=1))
            await sender.drain()  # and then it goes through
        finally:
            await bot.session.close()
    async with uow.read() as repos:
        rows = {row.chat_id: row for row in (await repos.session.scalars(select(Outbox))).all()}
        account = await repos.session.get(Account, blocker.account_id)
    assert {chat: row.status for chat, row in rows.items()} == {901: "sent", 902: "sent", 903: "blocked"}
    assert tried[902] == 3 and tried[903] == 1  # a blocked chat is not tried again
    assert rows[902].attempts == 3 and account.bot_blocked_at == clock.now() - dt.timedelta(minutes=2)


class SeenRetryAfter(BaseRequestMiddleware):
    """Registered after create_bot's, so inside the RetryMiddleware: `seen` is set when the bot has a 429 in
    hand, in the same step as the RetryMiddleware learns of it."""

    def __init__(self) -> None:
        self.seen = asyncio.Event()

    async def __call__(
        self, make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Response[Any]:
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter:
            self.seen.set()
            raise


async def test_a_429_pauses_every_chat_for_retry_after(uow: UnitOfWork, clock: FrozenClock) -> None:
    """Telegram's flood control is global to the bot: after one chat's 429, no request to any chat may
    reach the API before retry_after, though the sender has several chats in flight; then every message
    still goes, exactly once."""
    in_flight = 8
    chats = [910 + n for n in range(2 * in_flight)]  # one message each: the per-chat pace plays no part
    to = await reach(uow, clock, *chats)
    async with uow.write() as repos:
        await enqueue(repos, clock, [due(to[chat], object_id=str(chat)) for chat in chats], WorkingCalendar())
    watch = SeenRetryAfter()
    first_wave: list[Call] = []
    limited_at: list[float] = []

    async with BotAPIStub(TOKEN) as stub:
        default = stub._sent_message
        message_ids = itertools.count(500)

        async def send_message(call: Call) -> object:
            if not limited_at:
                # The first requests are held until all of the sender's are here: then none can be on its
                # way while the 429 goes back, and every later one started after the bot had the 429.
                first_wave.append(call)
                if len(first_wave) == in_flight:
                    limited_at.append(time.monotonic())
                    raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
                await watch.seen.wait()  # the others are answered once the bot has the 429
            return default(call, next(message_ids))

        stub.on("sendMessage", send_message)
        bot = create_bot(TOKEN, stub.base_url)
        bot.session.middleware(watch)
        try:
            sender = OutboxSender(uow, clock, bot, create_i18n(), in_flight=in_flight)
            assert sender.pacer.gate is flood_gate(bot) is not None  # the pacer reads the middleware's pause
            await asyncio.wait_for(sender.drain(), timeout=60)
        finally:
            await bot.session.close()

    sends = stub.calls_of("sendMessage")
    later = [call for call in sends if call.at > limited_at[0]]
    # The other half of the chats, and the limited one again: none before retry_after had passed.
    assert len(later) == len(chats) - in_flight + 1
    assert min(call.at for call in later) - limited_at[0] >= 1.0
    assert Counter(int(call.get("chat_id")) for call in sends if call.status == 200) == Counter(chats)
    async with uow.read() as repos:
        rows = (await repos.session.scalars(select(Outbox))).all()
    assert sorted(row.chat_id for row in rows if row.status == "sent") == chats
