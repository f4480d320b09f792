"""One Telegram user's side of a conversation with the bot, for handler tests through feed_update."""

from __future__ import annotations

from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import InlineKeyboardMarkup, Message, Update

from handlers.views import esc
from tests.conftest import BotHarness


def tr(harness: BotHarness, message_id: str, **params: Any) -> str:
    """A text as the Vietnamese user reads it, escaped as the bot sends it."""
    return esc(harness.runtime.i18n.translator("vi")(message_id).format(**params))


def packed(data: str | CallbackData) -> str:
    return data if isinstance(data, str) else data.pack()


def buttons_of(markup: InlineKeyboardMarkup | None) -> list[str]:
    return [b.callback_data for row in markup.inline_keyboard for b in row] if markup else []


class Talk:
    """What one user sends, and what comes back to their chat (or to another chat) in that exchange."""

    def __init__(self, harness: BotHarness, user_id: int) -> None:
        self.harness, self.user_id = harness, user_id
        self.calls: list[Any] = []

    def sent(self, chat_id: int | None = None) -> list[Any]:
        """The sendMessage calls of the last exchange to this user's chat (or to another chat)."""
        chat = self.user_id if chat_id is None else chat_id
        return [c for c in self.calls if c.__api_method__ == "sendMessage" and int(c.chat_id) == chat]

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [c.text for c in self.sent(chat_id)]

    @property
    def text(self) -> str:
        return "\n".join(self.texts())

    def sent_buttons(self) -> list[str]:
        """The buttons of the last message just sent to this user ([] without a keyboard)."""
        sent = self.sent()
        return buttons_of(sent[-1].reply_markup) if sent else []

    def alerts(self) -> list[str]:
        return [c.text for c in self.calls if c.__api_method__ == "answerCallbackQuery" and c.text]

    async def say(self, text: str) -> str:
        self.calls = await self.harness.send(text, user_id=self.user_id)
        return self.text

    def keyboard(self) -> Message:
        """The latest message with buttons in this user's chat."""
        for (chat, _id), message in reversed(list(self.harness.session.messages.items())):
            if chat == self.user_id and message.reply_markup is not None:
                return message
        raise AssertionError(f"no keyboard was sent to {self.user_id}")

    def buttons(self, message: Message | None = None) -> list[str]:
        return buttons_of((message or self.keyboard()).reply_markup)

    async def tap(self, data: str | CallbackData, message: Message | None = None, *, check: bool = True) -> str:
        """Press a button of `message` (the latest keyboard by default); `check` insists it is on it."""
        message = message or self.keyboard()
        data = packed(data)
        if check:
            assert data in self.buttons(message), f"{data} is not on the keyboard: {self.buttons(message)}"
        self.calls = await self.harness.press(message, data, user_id=self.user_id)
        return self.text

    async def answer(self, value: str) -> str:
        """A typed answer, or "fc:…" for a button of the question."""
        return await (self.tap(value) if value.startswith("fc:") else self.say(value))

    async def feed(self, update: Update) -> str:
        before = len(self.harness.session.calls)
        await self.harness.dispatcher.feed_update(self.harness.bot, update)
        self.calls = self.harness.session.calls[before:]
        return self.text

    async def state(self) -> str | None:
        key = StorageKey(bot_id=self.harness.bot.id, chat_id=self.user_id, user_id=self.user_id)
        return await self.harness.runtime.fsm_storage.get_state(key)
