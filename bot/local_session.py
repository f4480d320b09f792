"""An in-process Bot API: answers each method locally instead of over HTTP.

The terminal chat drives the real Dispatcher through it and prints what it records; handler tests
assert on the same records. It is a transport, not a second code path: every update still goes
through `Dispatcher.feed_update` and every reply through `Bot`.
"""

from __future__ import annotations

import datetime as dt
import inspect
import itertools
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.base import BaseSession
from aiogram.enums import ChatType, ParseMode
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    GetFile,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.types import (
    CallbackQuery,
    Chat,
    Document,
    File,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    PhotoSize,
    Update,
    User,
)

from bot.limits import utf16_length, visible_length
from handlers.views import MAX_ALERT_LENGTH, MAX_CAPTION_LENGTH, MAX_MESSAGE_LENGTH
from services.core.actor import Channel

LOCAL_BOT_TOKEN = "4200000000:local-in-process-session-token"
CallObserver = Callable[[TelegramMethod[Any], Any], Awaitable[None] | None]


def resolve(bot: Bot, method: TelegramMethod[Any], field: str) -> Any:
    """A method's field with the bot's defaults applied (parse_mode, protect_content…)."""
    value = getattr(method, field, None)
    return bot.default[value.name] if isinstance(value, Default) else value


class SentMessages(MutableMapping[tuple[int, int], Message]):
    """The messages a local session sent, by (chat, message id), for their edits and button presses, each kept
    as its JSON text and read back on demand. A Message is some thirty objects, which the cyclic collector walks
    on each of its full passes; its text is one object it does not track (a web chat keeps 20 000 messages)."""

    def __init__(self) -> None:
        self._texts: dict[tuple[int, int], str] = {}

    def __getitem__(self, key: tuple[int, int]) -> Message:
        return Message.model_validate_json(self._texts[key])

    def __setitem__(self, key: tuple[int, int], message: Message) -> None:
        self._texts[key] = message.model_dump_json(by_alias=True, exclude_none=True)

    def __delitem__(self, key: tuple[int, int]) -> None:
        del self._texts[key]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)

    def __contains__(self, key: object) -> bool:
        return key in self._texts


class LocalBotSession(BaseSession):
    channel: str = Channel.TELEGRAM  # the terminal chat plays a Telegram user; the web chat's session says "web"

    def __init__(self, downloads: Path | None = None, on_call: CallObserver | None = None) -> None:
        super().__init__()
        self.downloads = downloads
        self.on_call = on_call
        self.calls: list[TelegramMethod[Any]] = []
        self.messages = SentMessages()
        self.saved_files: list[Path] = []
        self.offered: dict[str, bytes] = {}  # files the user sends, by file id, until the bot fetches them
        self._message_ids = itertools.count(1)
        self.answered_queries: set[str] = set()
        self.bot_user = User(id=int(LOCAL_BOT_TOKEN.split(":")[0]), is_bot=True, first_name="HoSo", username="hoso_bot")

    # -- what tests read ---------------------------------------------------------------------------
    def called(self, api_method: str) -> list[TelegramMethod[Any]]:
        return [call for call in self.calls if call.__api_method__ == api_method]

    def texts(self) -> list[str]:
        """Texts sent or edited, and callback answers, in order."""
        found = []
        for call in self.calls:
            text = getattr(call, "text", None) or getattr(call, "caption", None)
            if isinstance(text, str):
                found.append(text)
        return found

    def clear(self) -> None:
        self.calls.clear()

    # -- BaseSession -------------------------------------------------------------------------------
    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        self.calls.append(method)
        result = await self._answer(bot, method)
        if self.on_call is not None:
            outcome = self.on_call(method, result)
            if inspect.isawaitable(outcome):
                await outcome
        return result

    def offer(self, content: bytes) -> str:
        """Keep a file the user sends (the terminal chat's :file) as Telegram keeps an upload: its file id,
        which getFile and the download then answer, as Telegram's servers would."""
        file_id = f"upload-{next(self._message_ids)}"
        self.offered[file_id] = content
        return file_id

    async def stream_content(
        self, url: str, headers: dict[str, Any] | None = None, timeout: int = 30,
        chunk_size: int = 65536, raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        content = self.offered.get(url.rsplit("/", 1)[-1])  # the file path getFile gave is the file id
        if content is None:
            raise TelegramNetworkError(GetFile(file_id="-"), "the file is not kept here")
        yield content

    async def close(self) -> None:
        return None

    # -- answers -----------------------------------------------------------------------------------
    def _refuse_like_telegram(self, bot: Bot, method: TelegramMethod[Any]) -> None:
        """What Telegram refuses is refused here too, so that a test meets it before a user does."""
        if isinstance(method, AnswerCallbackQuery):
            if method.callback_query_id in self.answered_queries:
                raise TelegramBadRequest(method, "Bad Request: query is too old and response timeout expired or "
                                                 "query ID is invalid")
            self.answered_queries.add(method.callback_query_id)
            if utf16_length(method.text or "") > MAX_ALERT_LENGTH:
                raise TelegramBadRequest(method, "Bad Request: MESSAGE_TOO_LONG")
            return
        for field, limit in (("text", MAX_MESSAGE_LENGTH), ("caption", MAX_CAPTION_LENGTH)):
            value = getattr(method, field, None)
            if isinstance(value, str):
                html = resolve(bot, method, "parse_mode") == ParseMode.HTML
                if (visible_length(value) if html else utf16_length(value)) > limit:
                    raise TelegramBadRequest(method, f"Bad Request: message {field} is too long")

    async def _answer(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        self._refuse_like_telegram(bot, method)
        name = method.__api_method__
        if name == "getMe":
            return self.bot_user
        if isinstance(method, GetFile):
            if method.file_id not in self.offered:
                raise TelegramBadRequest(method, "Bad Request: invalid file_id")
            return File(file_id=method.file_id, file_unique_id=method.file_id,
                        file_size=len(self.offered[method.file_id]), file_path=method.file_id)
        if isinstance(method, SendMessage):
            return self._store(bot, method.chat_id, text=method.text, reply_markup=method.reply_markup)
        if isinstance(method, EditMessageText | EditMessageReplyMarkup | EditMessageCaption):
            return self._edit(bot, method)
        if isinstance(method, SendDocument | SendPhoto):
            return await self._send_file(bot, method)
        if isinstance(method, DeleteMessage):
            self.messages.pop((int(method.chat_id), method.message_id), None)
            return True
        if method.__returning__ is bool:
            return True  # setMyCommands, answerCallbackQuery, leaveChat, sendChatAction…
        raise NotImplementedError(f"the local session does not answer {name}")

    def _store(self, bot: Bot, chat_id: int | str, **fields: Any) -> Message:
        # A sent message carries only an inline keyboard; reply keyboards belong to the client.
        if not isinstance(fields.get("reply_markup"), InlineKeyboardMarkup):
            fields.pop("reply_markup", None)
        message = Message(
            message_id=next(self._message_ids),
            date=dt.datetime.now(dt.UTC).replace(microsecond=0),  # whole seconds, as Telegram dates
            chat=Chat(id=int(chat_id), type=ChatType.PRIVATE),
            from_user=self.bot_user,
            **fields,
        ).as_(bot)
        self.messages[(message.chat.id, message.message_id)] = message
        return message

    def _edit(self, bot: Bot, method: EditMessageText | EditMessageReplyMarkup | EditMessageCaption) -> Message | bool:
        key = (int(method.chat_id), method.message_id) if method.chat_id and method.message_id else None
        if key is None or key not in self.messages:
            return True
        markup = method.reply_markup if isinstance(method.reply_markup, InlineKeyboardMarkup) else None
        changes: dict[str, Any] = {"reply_markup": markup}
        if isinstance(method, EditMessageText):
            changes["text"] = method.text
        if isinstance(method, EditMessageCaption) and method.caption is not None:
            changes["caption"] = method.caption
        message = self.messages[key].model_copy(update=changes).as_(bot)
        self.messages[key] = message
        return message

    async def _send_file(self, bot: Bot, method: SendDocument | SendPhoto) -> Message:
        payload = method.document if isinstance(method, SendDocument) else method.photo
        filename, file_id = "file", None
        if isinstance(payload, InputFile):
            filename = payload.filename or filename
            content = b"".join([chunk async for chunk in payload.read(bot)])
            file_id = self.keep_file(int(method.chat_id), filename, content)
        file_id = file_id or f"local-{next(self._message_ids)}"
        attachment: dict[str, Any]
        if isinstance(method, SendDocument):
            attachment = {"document": Document(file_id=file_id, file_unique_id=file_id, file_name=filename)}
        else:
            attachment = {"photo": [PhotoSize(file_id=file_id, file_unique_id=file_id, width=1, height=1)]}
        return self._store(
            bot, method.chat_id, caption=method.caption, reply_markup=method.reply_markup, **attachment
        )

    def keep_file(self, chat_id: int, filename: str, content: bytes) -> str | None:
        """Keep a file the bot sent; its file id, or None for a made-up one. The terminal chat saves it to
        its downloads folder; the web chat keeps it for the account it was sent to."""
        if self.downloads is None:
            return None
        path = self._free_path(filename)
        path.write_bytes(content)
        self.saved_files.append(path)
        return None

    def _free_path(self, filename: str) -> Path:
        assert self.downloads is not None
        self.downloads.mkdir(parents=True, exist_ok=True)
        safe = Path(filename).name or "file"
        candidate = self.downloads / safe
        stem, suffix = candidate.stem, candidate.suffix
        for number in itertools.count(2):
            if not candidate.exists():
                return candidate
            candidate = self.downloads / f"{stem}-{number}{suffix}"
        raise AssertionError("unreachable")


class UpdateFactory:
    """Updates as Telegram would deliver them: what the terminal chat types and what tests send."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def message(self, user: User, chat: Chat, text: str) -> Update:
        number = next(self._ids)
        message = Message(message_id=number, date=dt.datetime.now(dt.UTC), chat=chat, from_user=user, text=text)
        return Update(update_id=number, message=message)

    def document(self, user: User, chat: Chat, file_id: str, name: str, size: int) -> Update:
        number = next(self._ids)
        document = Document(file_id=file_id, file_unique_id=file_id, file_name=name, file_size=size)
        message = Message(message_id=number, date=dt.datetime.now(dt.UTC), chat=chat, from_user=user, document=document)
        return Update(update_id=number, message=message)

    def callback(self, user: User, message: Message, data: str) -> Update:
        number = next(self._ids)
        query = CallbackQuery(
            id=str(number), from_user=user, chat_instance=str(message.chat.id), message=message, data=data
        )
        return Update(update_id=number, callback_query=query)
