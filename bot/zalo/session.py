"""The Bot API the handlers call, answered on Zalo: a Bot session whose channel is `zalo`.

What Zalo lacks is degraded, never dropped in silence:

- HTML becomes plain text; a text over 2 000 characters goes as several messages, split at line ends;
- an inline keyboard becomes numbered lines under the text, and the chat's menu (what each number means)
  is kept until the next menu (`bot/zalo/chats.py`, in the FSM storage that every instance shares): the
  intake (`bot/zalo/intake.py`) turns a number into the button's press;
- an edit is a new message (an edit of the buttons alone sends the new menu, or nothing when they go);
  a delete does nothing (Zalo cannot delete);
- a document or a photo becomes a link into the web chat, kept for the account the address belongs to and
  opened only after signing in there;
- a press's answer (answerCallbackQuery) with words becomes a message; without, nothing is sent;
- a chat action is Zalo's `typing`.

Zalo's ids are opaque strings and aiogram's are numbers: each address gets a number derived from it
(`chat_of`), the same in every process and after a restart, so that the FSM state kept under it (Redis) is
found again; `address_of` reads it back. A Zalo error is raised as aiogram's error of the same meaning, so
that the retry middleware and the outbox sender treat both channels alike.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.enums import ChatType, ParseMode
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    GetFile,
    GetMe,
    SendChatAction,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.types import Chat, Document, InlineKeyboardMarkup, InputFile, Message, User
from aiogram.utils.i18n import gettext

from bot.local_session import resolve
from bot.zalo.chats import ZaloChats
from bot.zalo.client import ZaloClient, ZaloError, ZaloNetworkError
from bot.zalo.text import menu_of, plain_text, split_text
from services.core.actor import Channel

logger = logging.getLogger(__name__)

ZALO_BOT_TOKEN = "4200000002:zalo-bot-session-in-process"  # aiogram's Bot wants one; Zalo's own is the client's
RETRY_AFTER = 5  # seconds to wait after a 429 that names no delay (Zalo documents none)

# (address, file name, content) → the link that opens the file in the web chat, None when the address is no
# account's (then no file is kept anywhere).
KeepDocument = Callable[[str, str, bytes], Awaitable[str | None]]


def _(message: str) -> str:
    """The words of the transport in the reader's language; as written when no language is set (a test's
    direct call: every update and every outbox send sets one)."""
    try:
        return gettext(message)
    except LookupError:
        return message


def chat_number(address: str) -> int:
    """A stable number for a Zalo id (62 bits of its SHA-256: no two of a province's users share one)."""
    return int.from_bytes(hashlib.sha256(address.encode()).digest()[:8], "big") >> 2


class ZaloBotSession(BaseSession):
    channel = Channel.ZALO

    def __init__(self, client: ZaloClient, web_url: str, keep_document: KeepDocument | None = None,
                 chats: ZaloChats | None = None) -> None:
        super().__init__()
        self.client, self.web_url, self.keep_document = client, web_url, keep_document
        self.chats = chats if chats is not None else ZaloChats()
        self.addresses: dict[int, str] = {}
        self.queries: dict[str, int] = {}  # a press being handled → its chat, for its answer
        # Message ids counted from the start time in milliseconds: a menu's id stays unique in its chat across
        # restarts and beside the other instances, whose menus share the storage.
        self._ids = itertools.count(time.time_ns() // 1_000_000)
        self.bot_user: User | None = None
        self.retry_after = RETRY_AFTER

    # -- addresses ---------------------------------------------------------------------------------
    def chat_of(self, address: str) -> int:
        number = chat_number(address)
        known = self.addresses.setdefault(number, address)
        if known != address:  # pragma: no cover - 2^-62
            raise ValueError("two Zalo ids share a number")
        return number

    def address_of(self, number: int) -> str:
        """The Zalo id behind an aiogram number (`bot.middlewares.address_of` asks)."""
        return self.addresses.get(number, str(number))

    # -- BaseSession -------------------------------------------------------------------------------
    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        try:
            return await self._answer(bot, method)
        except ZaloError as exc:
            raise _telegram_error(method, exc, self.retry_after) from None
        except ZaloNetworkError as exc:
            raise TelegramNetworkError(method, str(exc)) from exc.__cause__

    async def stream_content(self, url: str, headers: dict[str, Any] | None = None, timeout: int = 30,
                             chunk_size: int = 65536, raise_for_status: bool = True) -> Any:
        raise TelegramBadRequest(GetFile(file_id="-"), "Bad Request: no files are received on Zalo")
        yield b""  # pragma: no cover - an async generator that never yields

    async def close(self) -> None:
        await self.client.close()

    # -- the methods -------------------------------------------------------------------------------
    async def _answer(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        if isinstance(method, GetMe):
            return await self.me()
        if isinstance(method, SendMessage):
            return await self._send(bot, method, method.chat_id, method.text, method.reply_markup)
        if isinstance(method, EditMessageText):
            return await self._send(bot, method, method.chat_id, method.text or "", method.reply_markup,
                                    replaces=method.message_id)
        if isinstance(method, EditMessageCaption):
            return await self._send(bot, method, method.chat_id, method.caption or "", method.reply_markup,
                                    replaces=method.message_id)
        if isinstance(method, EditMessageReplyMarkup):
            return await self._new_buttons(bot, method)
        if isinstance(method, SendDocument | SendPhoto):
            return await self._send_file(bot, method)
        if isinstance(method, AnswerCallbackQuery):
            chat = self.queries.get(method.callback_query_id)
            if chat is not None and method.text:
                await self.deliver(chat, method.text)
            return True
        if isinstance(method, SendChatAction):
            try:
                await self.client.call("sendChatAction", chat_id=self._address(method.chat_id), action="typing")
            except ZaloError as exc:  # a typing sign is no message: its refusal is not the user's concern
                logger.info("Zalo refused a chat action: %s", exc.code)
            return True
        if isinstance(method, DeleteMessage):
            return True  # Zalo cannot delete: what was sent stays
        if isinstance(method, GetFile):
            raise TelegramBadRequest(method, "Bad Request: no files are received on Zalo")
        if method.__returning__ is bool:
            return True  # setMyCommands, deleteWebhook, leaveChat…: nothing of the kind on Zalo
        raise TelegramBadRequest(method, f"Bad Request: {method.__api_method__} is not available on Zalo")

    async def me(self) -> User:
        if self.bot_user is None:
            found = await self.client.call("getMe")
            found = found if isinstance(found, dict) else {}
            self.bot_user = User(id=chat_number(str(found.get("id", "zalo-bot"))), is_bot=True,
                                 first_name=str(found.get("account_name") or "HoSo"))
        return self.bot_user

    def _address(self, chat_id: int | str | None) -> str:
        if chat_id is None:
            raise ValueError("no chat")
        return self.address_of(int(chat_id)) if isinstance(chat_id, int) or str(chat_id).isdigit() else str(chat_id)

    async def deliver(self, chat: int, text: str) -> list[dict[str, Any]]:
        """Text as Zalo messages, in order; what Zalo answered for each."""
        results = []
        for part in split_text(text):
            result = await self.client.call("sendMessage", chat_id=self.address_of(chat), text=part)
            results.append(result if isinstance(result, dict) else {})
        return results

    async def _send(self, bot: Bot, method: TelegramMethod[Any], chat_id: int | str | None, text: str,
                    markup: Any, extra: dict[str, Any] | None = None, replaces: int | None = None) -> Message:
        """Send anew; `replaces`: the message an edit was for, whose buttons go with it (as on Telegram)."""
        if chat_id is None:  # an inline message's edit: Zalo has none
            raise TelegramBadRequest(method, "Bad Request: no chat to send to on Zalo")
        chat = int(chat_id) if isinstance(chat_id, int) or str(chat_id).isdigit() else self.chat_of(str(chat_id))
        shown = plain_text(text, resolve(bot, method, "parse_mode") == ParseMode.HTML).strip()
        lines, choices = menu_of(markup)
        if choices:
            lines.append(_("Reply with the number of your choice (1–{count}).").format(count=len(choices)))
        whole = "\n\n".join(part for part in (shown, "\n".join(lines)) if part)
        message = self._message(bot, chat, text=text or None, reply_markup=markup, **(extra or {}))
        # The menu is kept before the user can read it, so that a quick reply finds it; an undelivered one goes.
        await self.chats.sent(bot, message, tuple(choices), replaces)
        try:
            await self.deliver(chat, whole)
        except BaseException:
            if choices:
                await self.chats.buttons_gone(bot, chat, message.message_id)
            raise
        return message

    async def _new_buttons(self, bot: Bot, method: EditMessageReplyMarkup) -> Message | bool:
        chat = int(method.chat_id) if method.chat_id is not None else None
        if chat is None:
            return True
        _lines, choices = menu_of(method.reply_markup)
        if choices:
            return await self._send(bot, method, chat, "", method.reply_markup)
        await self.chats.buttons_gone(bot, chat, method.message_id)
        return True

    async def _send_file(self, bot: Bot, method: SendDocument | SendPhoto) -> Message:
        payload = method.document if isinstance(method, SendDocument) else method.photo
        name = "file"
        link: str | None = None
        chat = int(method.chat_id)
        if isinstance(payload, InputFile) and self.keep_document is not None:
            name = payload.filename or name
            content = b"".join([chunk async for chunk in payload.read(bot)])
            link = await self.keep_document(self.address_of(chat), name, content)
        caption = plain_text(method.caption or "", resolve(bot, method, "parse_mode") == ParseMode.HTML).strip()
        if link is not None:
            note = _("📎 {name}: open it in the web chat after signing in there: {link}").format(name=name, link=link)
        else:
            note = _("Files are not sent on Zalo. Open the web chat to get it: {link}").format(link=self.web_url)
        text = "\n\n".join(part for part in (caption, note) if part)
        document = Document(file_id=f"zalo-{next(self._ids)}", file_unique_id="zalo", file_name=name)
        return await self._send(bot, SendMessage(chat_id=chat, text=text, parse_mode=None), chat, text,
                                method.reply_markup, {"document": document, "caption": method.caption})

    def _message(self, bot: Bot, chat: int, **fields: Any) -> Message:
        """The Message aiogram expects back for what was sent."""
        if not isinstance(fields.get("reply_markup"), InlineKeyboardMarkup):
            fields.pop("reply_markup", None)
        if fields.get("document") is not None:
            fields.pop("text", None)
        return Message(
            message_id=next(self._ids), date=dt.datetime.now(dt.UTC), chat=Chat(id=chat, type=ChatType.PRIVATE),
            from_user=self.bot_user or User(id=0, is_bot=True, first_name="HoSo"), **fields,
        ).as_(bot)


def _telegram_error(method: TelegramMethod[Any], error: ZaloError, retry_after: int) -> Exception:
    """Zalo's refusal as aiogram's error of the same meaning (the sender and the retries know those)."""
    text = f"Zalo {error.code}: {error.description}"[:200]
    if error.code == 429:
        return TelegramRetryAfter(method, text, retry_after)
    if error.code >= 500:
        return TelegramServerError(method, text)
    if error.code == 401:
        return TelegramUnauthorizedError(method, text)
    if error.code == 403:
        return TelegramForbiddenError(method, text)
    if error.code == 404:
        return TelegramNotFound(method, text)
    return TelegramBadRequest(method, text)
