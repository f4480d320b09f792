"""The fake Bot API the end-to-end tests and the benchmark rely on, checked against aiogram's client."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNotFound, TelegramUnauthorizedError
from aiogram.methods import TelegramMethod
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats, InlineKeyboardButton, InlineKeyboardMarkup

from tests.botapi_stub import ApiError, BotAPIStub

TOKEN = "123456:" + "A1b2C3d4E5" * 3 + "xYz09"


class GetNothing(TelegramMethod[bool]):
    """A method no Bot API has: the stub must answer 404."""

    __returning__ = bool
    __api_method__ = "getNothing"


def client(stub: BotAPIStub, token: str = TOKEN) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(stub.base_url)))


async def test_aiogram_round_trip_records_decoded_params() -> None:
    async with BotAPIStub(token=TOKEN) as stub:
        bot = client(stub)
        try:
            me = await bot.get_me()
            assert me.id == 123456 and me.is_bot
            keyboard = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="OK", callback_data="ok")]])
            first = await bot.send_message(42, "123", reply_markup=keyboard, protect_content=True)
            second = await bot.send_message(42, "xin chào")
            assert (first.chat.id, first.text, first.from_user.id) == (42, "123", 123456)
            assert second.message_id == first.message_id + 1
            edited = await bot.edit_message_text("sửa", chat_id=42, message_id=first.message_id)
            assert edited.text == "sửa" and edited.edit_date is not None
            assert await bot.set_my_commands(
                [BotCommand(command="start", description="Bắt đầu")],
                scope=BotCommandScopeAllPrivateChats(),
                language_code="vi",
            )
            assert await bot.delete_webhook(drop_pending_updates=False)
            with pytest.raises(TelegramNotFound):
                await bot(GetNothing())
        finally:
            await bot.session.close()
        sent = stub.calls_of("sendMessage")
        assert sent[0].params["chat_id"] == 42 and sent[0].params["text"] == "123"  # text stays a string
        assert sent[0].params["protect_content"] is True
        assert sent[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ok"
        commands = stub.calls_of("setMyCommands")[0].params
        assert commands["language_code"] == "vi" and commands["scope"] == {"type": "all_private_chats"}
        assert commands["commands"] == [{"command": "start", "description": "Bắt đầu"}]
        assert stub.calls_of("deleteWebhook")[0].params["drop_pending_updates"] is False
        assert stub.calls[-1].method == "getNothing" and stub.calls[-1].status == 404


async def test_get_updates_long_polls_and_forgets_confirmed_updates() -> None:
    async with BotAPIStub(token=TOKEN, max_poll_timeout=5) as stub:
        bot = client(stub)
        try:
            started = time.monotonic()
            assert await bot.get_updates(timeout=1) == []
            assert 0.9 <= time.monotonic() - started < 3
            assert stub.first_get_updates.is_set() and stub.first_get_updates_at is not None

            poll = asyncio.create_task(bot.get_updates(timeout=30))
            await asyncio.sleep(0.3)
            assert not poll.done()
            private = stub.enqueue_private_message("/start", user_id=77)
            updates = await asyncio.wait_for(poll, 2)
            assert [u.update_id for u in updates] == [private["update_id"]]
            message = updates[0].message
            assert message.chat.type == "private" and message.from_user.id == 77 and message.text == "/start"
            assert message.entities[0].type == "bot_command"

            group = stub.enqueue_group_message("hello", chat_id=-100)
            updates = await bot.get_updates(offset=private["update_id"] + 1, timeout=0)
            assert [u.update_id for u in updates] == [group["update_id"]]
            assert updates[0].message.chat.type == "supergroup"
            assert [u["update_id"] for u in stub.updates] == [group["update_id"]]
        finally:
            await bot.session.close()


async def test_wait_for_custom_answers_and_wrong_token() -> None:
    async with BotAPIStub(token=TOKEN) as stub:
        stub.on("sendDocument", lambda call: ApiError(429, "Too Many Requests: retry after 1", retry_after=1))
        async with aiohttp.ClientSession() as http:
            waiter = asyncio.create_task(stub.wait_for("sendMessage", lambda c: c.params["text"] == "b", timeout=5))
            for text in ("a", "b"):  # JSON and urlencoded bodies
                if text == "a":
                    await http.post(f"{stub.base_url}/bot{TOKEN}/sendMessage", json={"chat_id": 1, "text": text})
                else:
                    await http.post(f"{stub.base_url}/bot{TOKEN}/sendMessage", data={"chat_id": "1", "text": text})
            call = await waiter
            assert call.params == {"chat_id": 1, "text": "b"}
            async with http.get(f"{stub.base_url}/bot{TOKEN}/getMe") as response:
                assert (await response.json())["result"]["username"] == stub.bot_user["username"]
            async with http.post(f"{stub.base_url}/bot{TOKEN}/sendDocument") as response:
                body = await response.json()
                assert response.status == 429 and body["parameters"] == {"retry_after": 1}
        with pytest.raises(TimeoutError):
            await stub.wait_for("sendMessage", lambda c: c.params["text"] == "c", timeout=0.2)
        bot = client(stub, token="999:" + "Z" * 30)
        try:
            with pytest.raises(TelegramUnauthorizedError):
                await bot.get_me()
        finally:
            await bot.session.close()


def datas(markup: InlineKeyboardMarkup | None) -> list[str | None]:
    return [button.callback_data for row in markup.inline_keyboard for button in row] if markup else []


async def test_a_button_the_bot_sent_is_pressed_as_a_callback_query() -> None:
    async with BotAPIStub(token=TOKEN) as stub:
        bot = client(stub)
        try:
            keyboard = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Yes", callback_data="y:1"),
                                                              InlineKeyboardButton(text="No", callback_data="y:0")]])
            sent = await bot.send_message(77, "Approve?", reply_markup=keyboard)
            assert datas(sent.reply_markup) == ["y:1", "y:0"]  # returned with the message, as Telegram does
            plain = await bot.send_message(77, "no buttons")
            assert plain.reply_markup is None
            call = stub.calls_of("sendMessage")[0]
            assert call.result["message_id"] == sent.message_id
            with pytest.raises(ValueError):  # no such button: a client could not press it
                stub.enqueue_callback_query(call, "y:2", user_id=78)
            with pytest.raises(ValueError):
                stub.enqueue_callback_query(stub.calls_of("sendMessage")[1], "y:1", user_id=78)
            pressed = stub.enqueue_callback_query(call, "y:1", user_id=78, language_code="en")
            forged = stub.enqueue_callback_query(call.result, "y:9", user_id=79, check=False)
            updates = await bot.get_updates(timeout=0)
            assert [u.update_id for u in updates] == [pressed["update_id"], forged["update_id"]]
            query = updates[0].callback_query
            assert (query.data, query.from_user.id, query.from_user.language_code) == ("y:1", 78, "en")
            assert query.message.message_id == sent.message_id and query.message.chat.id == 77
            assert query.message.text == "Approve?" and datas(query.message.reply_markup) == ["y:1", "y:0"]
            assert updates[1].callback_query.data == "y:9" and updates[1].callback_query.id != query.id
            assert await bot.answer_callback_query(query.id, text="OK")
        finally:
            await bot.session.close()


def test_run_in_thread_for_plain_scripts() -> None:
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    with BotAPIStub.run_in_thread(token=TOKEN) as stub:
        stub.enqueue_private_message("/help", user_id=5)
        request = urllib.request.Request(
            f"{stub.base_url}/bot{TOKEN}/getUpdates",
            data=json.dumps({"offset": 0, "timeout": 1}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with direct.open(request, timeout=10) as response:
            updates = json.load(response)["result"]
        assert updates[0]["message"]["text"] == "/help"
        assert stub.wait_for_sync("getUpdates", timeout=1).params["timeout"] == 1
        with pytest.raises(urllib.error.HTTPError) as raised:
            direct.open(f"{stub.base_url}/bot{TOKEN}/noSuchMethod", timeout=10)
        assert raised.value.code == 404
