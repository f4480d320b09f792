"""The outbox sender against the local Bot API stub over real HTTP: 429, 5xx and 403 answers injected
by the stub, as Telegram sends them."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import select

from bot.factory import create_bot
from bot.i18n import create_i18n
from bot.sender import OutboxSender
from services.clock import FrozenClock
from services.deadlines import WorkingCalendar
from services.outbox import enqueue
from storage import UnitOfWork
from storage.models import Account, Outbox
from tests.botapi_stub import ApiError, BotAPIStub, Call
from tests.test_accounts import sign_in, tree
from tests.test_outbox import due

TOKEN = "424242:outbox-stub-token-not-a-secret"


async def test_429_5xx_and_403_from_the_stub(uow: UnitOfWork, clock: FrozenClock) -> None:
    await tree(uow, clock)
    blocker = await sign_in(uow, clock, "an.syt", "SYT", "clerk", 903)
    async with uow.write() as repos:
        await enqueue(repos, clock, [due(901), due(902, object_id="2"), due(903, account=blocker.account_id,
                                                                             object_id="3")], WorkingCalendar())
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
