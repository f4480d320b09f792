"""What a Zalo chat's next number means: its live menu (the message whose buttons were sent as numbered
lines, and the callback data of each number) and the last message sent there.

They are kept in the Dispatcher's FSM storage under a destiny of their own, Redis or the database like the
conversation itself: a reply reaches its menu whichever instance sent the menu, and after a restart.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import Message

DESTINY = "zalo-chat"


@dataclass(frozen=True, slots=True)
class Menu:
    message: Message  # the message the buttons belong to: a number answered is a press on it
    choices: tuple[str, ...]  # the callback data of each number, 1 first


@dataclass(frozen=True, slots=True)
class ChatState:
    menu: Menu | None
    last_sent: int | None  # the id of the last message sent to the chat


class ZaloChats:
    def __init__(self, storage: BaseStorage | None = None) -> None:
        self.storage = storage if storage is not None else MemoryStorage()
        # A reply and an outbox message to one chat may interleave: each read-and-write of its state is one
        # at a time in this process, and a menu never gives way to an older one (the ids grow with time).
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    @staticmethod
    def _key(bot: Bot, chat: int) -> StorageKey:
        return StorageKey(bot_id=bot.id, chat_id=chat, user_id=chat, destiny=DESTINY)

    async def state(self, bot: Bot, chat: int) -> ChatState:
        data = await self.storage.get_data(self._key(bot, chat))
        menu = data.get("menu")
        live = None
        if menu:
            live = Menu(Message.model_validate(menu["message"]).as_(bot), tuple(menu["choices"]))
        return ChatState(live, data.get("last"))

    async def menu(self, bot: Bot, chat: int) -> Menu | None:
        return (await self.state(bot, chat)).menu

    async def sent(self, bot: Bot, message: Message, choices: tuple[str, ...] = (),
                   replaces: int | None = None) -> None:
        """`message` went to its chat: with `choices` it is the live menu; without, it ends the menu of the
        message it `replaces` (an edit takes the buttons with it, as on Telegram)."""
        key = self._key(bot, message.chat.id)
        async with self._locks[message.chat.id]:
            data: dict[str, Any] = dict(await self.storage.get_data(key))
            data["last"] = max(message.message_id, data.get("last") or 0)
            live = (data.get("menu") or {}).get("message", {}).get("message_id", 0)
            if choices and message.message_id > live:
                data["menu"] = {"message": message.model_dump(mode="json", exclude_none=True),
                                "choices": list(choices)}
            elif replaces is not None:
                _end_menu_of(data, replaces)
            await self.storage.set_data(key, data)

    async def buttons_gone(self, bot: Bot, chat: int, message_id: int | None) -> None:
        key = self._key(bot, chat)
        async with self._locks[chat]:
            data: dict[str, Any] = dict(await self.storage.get_data(key))
            if _end_menu_of(data, message_id):
                await self.storage.set_data(key, data)


def _end_menu_of(data: dict[str, Any], message_id: int | None) -> bool:
    menu = data.get("menu")
    if menu and menu["message"].get("message_id") == message_id:
        del data["menu"]  # its buttons are gone: its numbers mean nothing any more
        return True
    return False
