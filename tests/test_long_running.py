"""What a server process keeps for its lifetime stays out of the cyclic collector's way: the heap it holds
once started is frozen after its first background pass, and what it keeps per conversation (the web chat's
events, the messages sent for their edits and presses) is held as text, which the collector does not walk."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import json

from aiogram.types import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, User

from bot.factory import create_bot
from bot.jobs import Jobs
from bot.local_session import LOCAL_BOT_TOKEN, LocalBotSession, SentMessages
from bot.runtime import Runtime
from bot.web.conversation import Conversations


async def test_a_server_settles_its_heap_once_its_first_pass_is_done(runtime: Runtime) -> None:
    assert gc.get_freeze_count() == 0  # nothing froze it before: a test process never serves
    runtime.serving = True
    jobs = Jobs(runtime)
    try:
        await jobs.start(create_bot(LOCAL_BOT_TOKEN, session=LocalBotSession()))
        async with asyncio.timeout(60):
            while not gc.get_freeze_count():
                await asyncio.sleep(0.01)
    finally:
        await jobs.stop()
        gc.unfreeze()  # what this test froze goes back to the collector


async def test_a_conversation_keeps_its_events_as_text_the_collector_does_not_walk() -> None:
    conversations = Conversations(keep=3)
    page = conversations.join(7)
    for number in range(1, 5):
        conversations.publish(7, {"type": "message", "message": {"id": number, "from": "bot", "html": f"<b>{number}</b>",
                                                                 "buttons": [[{"text": "1", "data": "a:1"}]]}})
    conversations.publish(7, {"type": "typing"}, stored=False)
    kept = conversations.since(7, 0)
    gc.collect()
    assert not any(gc.is_tracked(entry) for entry in kept)
    assert [json.loads(text)["message"]["id"] for *_rest, text in kept] == [2, 3, 4]  # the oldest went
    assert json.loads(conversations.since_json(7, kept[0][0])) == [json.loads(kept[1][3]), json.loads(kept[2][3])]
    conversations.forget_message(7, 3)
    assert [message for _seq, _type, message, _text in conversations.since(7, 0)] == [2, 4]
    live = [page.get_nowait()[1] for _ in range(page.qsize())]
    assert live == ["message"] * 4 + ["typing"]  # live pages get what is not kept, too
    assert conversations.last_seq(7) == kept[-1][0] and conversations.last_seq(8) == 0


def test_a_sent_message_reads_back_as_it_was_sent() -> None:
    sent = SentMessages()
    message = Message(message_id=12, date=dt.datetime(2026, 12, 5, 9, 30, tzinfo=dt.UTC),
                      chat=Chat(id=5, type="private"), from_user=User(id=1, is_bot=True, first_name="HoSo"),
                      text="<b>Nguyễn Văn A</b>", reply_markup=InlineKeyboardMarkup(
                          inline_keyboard=[[InlineKeyboardButton(text="1", callback_data="dos:1")]]))
    sent[(5, 12)] = message
    assert sent[(5, 12)] == message and sent.get((5, 13)) is None
    assert (5, 12) in sent and list(sent) == [(5, 12)] and len(sent) == 1
    assert sent.pop((5, 12)).text == "<b>Nguyễn Văn A</b>" and not sent
