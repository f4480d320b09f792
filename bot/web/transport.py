"""The web chat as a transport of the one Dispatcher.

`WebBotSession` answers the Bot API calls the handlers make (the in-process session of the terminal chat,
with its Telegram limits) and turns each into an event of the account's conversation; `WebChat` turns what
the page sends (a line, a button press) into an aiogram Update and feeds it to the Dispatcher. The chat id
and the user id of the updates are the account's id: its address on the `web` channel.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.enums import ChatType, ParseMode
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    GetFile,
    SendChatAction,
    TelegramMethod,
)
from aiogram.types import CallbackQuery, Chat, Document, File, InlineKeyboardMarkup, Message, Update, User

from bot.factory import create_bot
from bot.local_session import LocalBotSession, resolve
from bot.middlewares import PRELOADED_ACTOR
from bot.web.conversation import Conversations, Event
from bot.web.files import FileStore
from bot.web.markup import safe_html
from handlers.signin import SECRET_STATES
from services.core.actor import Actor, Channel
from services.core.clock import Clock

WEB_BOT_TOKEN = "4200000001:web-chat-in-process-session"
KEEP_MESSAGES = 20_000  # messages kept for edits and presses, all accounts together (the oldest go first)


def buttons_of(markup: InlineKeyboardMarkup | None) -> list[list[dict[str, str]]]:
    rows = []
    for row in (markup.inline_keyboard if markup else []):
        cells = []
        for button in row:
            if button.callback_data is not None:
                cells.append({"text": button.text, "data": button.callback_data})
            elif button.url and urlsplit(button.url).scheme in ("http", "https"):
                cells.append({"text": button.text, "url": button.url})
        rows.append(cells)
    return rows


class WebBotSession(LocalBotSession):
    channel = Channel.WEB
    keep_calls = False  # a server keeps no record of calls (the conversation is the record); tests do

    def __init__(self, conversations: Conversations, files: FileStore, clock: Clock) -> None:
        super().__init__()
        self.conversations, self.files, self.clock = conversations, files, clock
        self.bot_user = self.bot_user.model_copy(update={"id": int(WEB_BOT_TOKEN.split(":")[0])})
        self.presses: dict[str, int] = {}  # callback query id → the account pressing, while it is handled

    async def _answer(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        if isinstance(method, GetFile):  # a file the account uploaded: its path is its id in the store
            content = self.files.content(method.file_id, self.clock.now())
            if content is None:
                raise TelegramBadRequest(method, "Bad Request: file not found")
            return File(file_id=method.file_id, file_unique_id=method.file_id, file_size=len(content),
                        file_path=method.file_id)
        return await super()._answer(bot, method)

    async def stream_content(self, url: str, headers: dict[str, Any] | None = None, timeout: int = 30,
                             chunk_size: int = 65536, raise_for_status: bool = True) -> AsyncGenerator[bytes, None]:
        content = self.files.content(url.rsplit("/", 1)[-1], self.clock.now())
        if content is None:
            raise TelegramNetworkError(GetFile(file_id="-"), "the file is no longer kept")
        yield content

    def reachable(self) -> list[str]:
        """The web outbox delivers to the accounts with a page open (bot/jobs.py sender_for)."""
        return [str(account) for account in self.conversations.open_accounts()]

    def keep_file(self, chat_id: int, filename: str, content: bytes) -> str | None:
        return self.files.put(chat_id, filename, content, self.clock.now())

    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        result = await super().make_request(bot, method, timeout)
        if not self.keep_calls:
            self.calls.clear()
        self._publish(bot, method, result)
        return result

    def _publish(self, bot: Bot, method: TelegramMethod[Any], result: Any) -> None:
        if isinstance(method, AnswerCallbackQuery):
            account = self.presses.get(method.callback_query_id)
            if account is not None and method.text:
                self.conversations.publish(account, {"type": "answer", "text": method.text,
                                                     "alert": bool(method.show_alert)}, stored=False)
            return
        chat_id = getattr(method, "chat_id", None)
        if chat_id is None:
            return
        account = int(chat_id)
        if isinstance(method, SendChatAction):
            self.conversations.publish(account, {"type": "typing"}, stored=False)
        elif isinstance(method, DeleteMessage):
            self.messages.pop((account, method.message_id), None)
            self.conversations.forget_message(account, method.message_id)
            self.conversations.publish(account, {"type": "delete", "id": method.message_id}, stored=False)
        elif isinstance(result, Message):  # sent, or edited in place (same id: the page replaces it)
            html = resolve(bot, method, "parse_mode") == ParseMode.HTML
            self.conversations.publish(account, {"type": "message", "message": self._shown(result, html)})
            self._prune()

    @staticmethod
    def _shown(message: Message, html: bool) -> Event:
        text = message.text or message.caption or ""
        shown: Event = {"id": message.message_id, "from": "bot", "html": safe_html(text, html),
                        "buttons": buttons_of(message.reply_markup)}
        if message.document is not None:
            shown["file"] = {"id": message.document.file_id, "name": message.document.file_name or "file",
                             "kind": "document"}
        elif message.photo:
            shown["file"] = {"id": message.photo[-1].file_id, "name": "image.png", "kind": "photo"}
        return shown

    def _prune(self) -> None:
        while len(self.messages) > KEEP_MESSAGES:
            self.messages.pop(next(iter(self.messages)))

    def next_message_id(self) -> int:
        return next(self._message_ids)


@dataclass(frozen=True, slots=True)
class Preloaded:
    """The sender of an update, read with the request's session (`WebSessions.current(with_actor=True)`), and
    `WebChat.mark()` taken just before that read."""

    actor: Actor
    mark: int


class WebChat:
    """What the page sends, fed to the Dispatcher as the account's updates.

    The sender of an update is read afresh for each update (bot/middlewares.py): after the account's previous
    updates, which the Dispatcher handles one at a time, have ended. A request reads it with its session, in
    one transaction (`Preloaded`); that actor is handed to the Dispatcher only if no update of the account was
    under way or ended since just before that read, so it is as fresh as one read once the previous update
    ended. Otherwise the middleware reads it itself."""

    def __init__(self, dispatcher: Dispatcher, conversations: Conversations, files: FileStore, clock: Clock) -> None:
        self.dispatcher, self.conversations, self.files, self.clock = dispatcher, conversations, files, clock
        self.session = WebBotSession(conversations, files, clock)
        self.bot = create_bot(WEB_BOT_TOKEN, session=self.session)
        self._updates = itertools.count(1)
        self._ended = 0  # updates ended, all accounts together
        self._last_ended: dict[int, int] = {}  # account → the count when its last update ended
        self._running: dict[int, int] = {}  # account → its updates under way

    def mark(self) -> int:
        """Where the updates stand, to take before reading a `Preloaded` actor."""
        return self._ended

    def _fresh(self, account_id: int, preloaded: Preloaded | None) -> Actor | None:
        if preloaded is None or preloaded.actor.account_id != account_id or self._running.get(account_id):
            return None
        return preloaded.actor if self._last_ended.get(account_id, -1) <= preloaded.mark else None

    @staticmethod
    def _user(account_id: int, username: str) -> User:
        return User(id=account_id, is_bot=False, first_name=username)

    async def secret_prompt(self, account_id: int) -> bool:
        """Whether the account's conversation is waiting for a password (the page hides the input)."""
        state = await self.dispatcher.fsm.get_context(self.bot, account_id, account_id).get_state()
        return state in SECRET_STATES

    async def say(self, account_id: int, username: str, text: str, preloaded: Preloaded | None = None) -> None:
        """A line typed in the page. Shown in the conversation unless it answers a password prompt."""
        message_id = self.session.next_message_id()
        if not await self.secret_prompt(account_id):
            self.conversations.publish(account_id, {"type": "message", "message": {
                "id": message_id, "from": "me", "text": text, "buttons": []}})
        chat = Chat(id=account_id, type=ChatType.PRIVATE)
        message = Message(message_id=message_id, date=self.clock.now(), chat=chat,
                          from_user=self._user(account_id, username), text=text)
        await self._feed(account_id, Update(update_id=next(self._updates), message=message), preloaded)

    async def upload(self, account_id: int, username: str, name: str, content: bytes) -> None:
        """A file sent from the page (a scanned paper for a form): kept for the account, then fed as a
        document message, which the handlers fetch as they fetch Telegram's."""
        file_id = self.files.put(account_id, name, content, self.clock.now())
        message_id = self.session.next_message_id()
        self.conversations.publish(account_id, {"type": "message", "message": {
            "id": message_id, "from": "me", "text": f"📎 {name}", "buttons": []}})
        document = Document(file_id=file_id, file_unique_id=file_id, file_name=name, file_size=len(content))
        message = Message(message_id=message_id, date=self.clock.now(),
                          chat=Chat(id=account_id, type=ChatType.PRIVATE),
                          from_user=self._user(account_id, username), document=document)
        await self._feed(account_id, Update(update_id=next(self._updates), message=message))

    async def press(self, account_id: int, username: str, message_id: int, data: str,
                    preloaded: Preloaded | None = None) -> bool:
        """A button of a message of this account's conversation; False if there is no such button (an old
        page, or a forged press): nothing is fed then."""
        message = self.session.messages.get((account_id, message_id))
        if message is None or not any(cell.get("data") == data for row in buttons_of(message.reply_markup)
                                      for cell in row):
            return False
        query_id = f"web-{next(self._updates)}"
        query = CallbackQuery(id=query_id, from_user=self._user(account_id, username), chat_instance=str(account_id),
                              message=message, data=data)
        self.session.presses[query_id] = account_id
        try:
            await self._feed(account_id, Update(update_id=next(self._updates), callback_query=query), preloaded)
        finally:
            self.session.presses.pop(query_id, None)
            self.session.answered_queries.discard(query_id)  # done with: a server must not remember every press
        return True

    async def _feed(self, account_id: int, update: Update, preloaded: Preloaded | None = None) -> None:
        actor = self._fresh(account_id, preloaded)
        self._running[account_id] = self._running.get(account_id, 0) + 1
        try:
            self.conversations.publish(account_id, {"type": "typing"}, stored=False)
            await self.dispatcher.feed_update(self.bot, update, **({PRELOADED_ACTOR: actor} if actor else {}))
        finally:
            self._ended += 1
            self._last_ended[account_id] = self._ended
            self._running[account_id] -= 1
            if not self._running[account_id]:
                del self._running[account_id]
        self.conversations.publish(account_id, {"type": "input", "secret": await self.secret_prompt(account_id)},
                                   stored=False)
