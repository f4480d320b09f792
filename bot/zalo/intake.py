"""What Zalo sends, fed to the one Dispatcher as aiogram Updates: by long polling or by a webhook.

An update is one object, `{"event_name": …, "message": {…}}`, inside `{"ok": true, "result": …}` or not. A text
becomes a Message update; a number answering the chat's live menu becomes a press (a CallbackQuery) on the
message that carried it. An image, a sticker, a voice message or anything else is answered here: only text
travels on Zalo, files go through the web chat. A password or a code never does: a prompt for one is
withdrawn with a link to the web chat, and a line typed into it (or `/start CODE`, Telegram's activation) is
not taken.

A bare number of one or two digits answers the menu when a menu is live and no prompt is open, or when the
open prompt's question is that menu (its last message, with two choices at least); anything else is a typed
answer. A number that is not on the menu is refused with the range, and nothing is lost: the prompt stays.
Menus live in the process (a restart forgets them: the user asks again; the form itself is in the FSM storage).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import itertools
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Chat, Message, Update, User
from aiogram.utils.i18n import gettext as _
from aiohttp import web

from bot.i18n import CatalogI18n
from bot.zalo.client import ZaloError, ZaloNetworkError
from bot.zalo.session import ZaloBotSession
from bot.zalo.text import plain_text
from handlers.linking import no_secrets_text
from handlers.signin import SECRET_STATES

logger = logging.getLogger(__name__)

TEXT = "message.text.received"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
POLL_SECONDS = 30
CHOICE = re.compile(r"\s*(\d{1,2})\s*\.?\s*")
ACTIVATION = re.compile(r"\s*/start(@\w+)?\s+\S")  # /start with an activation code: Telegram's way in, not Zalo's
LocaleOf = Callable[[str], Awaitable[str | None]]


def updates_of(body: Any) -> list[dict[str, Any]]:
    """The updates of a webhook body or a getUpdates result: one object or a list, enveloped or not."""
    if isinstance(body, dict) and "event_name" not in body and ("result" in body or "ok" in body):
        if body.get("ok") is False:
            return []
        body = body.get("result")
    items: Iterable[Any] = body if isinstance(body, list) else [body]
    return [item for item in items if isinstance(item, dict)]


class ZaloIntake:
    def __init__(self, dispatcher: Dispatcher, bot: Bot, session: ZaloBotSession, i18n: CatalogI18n,
                 locale_of: LocaleOf, web_url: str) -> None:
        self.dispatcher, self.bot, self.session, self.i18n = dispatcher, bot, session, i18n
        self.locale_of, self.web_url = locale_of, web_url
        self._updates = itertools.count(1)
        self.tasks: set[asyncio.Task[None]] = set()

    # -- one update --------------------------------------------------------------------------------
    async def handle(self, update: dict[str, Any]) -> None:
        message = update.get("message") if isinstance(update.get("message"), dict) else {}
        assert isinstance(message, dict)
        sender = message.get("from") if isinstance(message.get("from"), dict) else {}
        chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
        assert isinstance(sender, dict) and isinstance(chat, dict)
        user_address = str(sender.get("id") or "")
        chat_address = str(chat.get("id") or user_address)
        if not user_address:
            logger.info("a Zalo update without a sender was ignored (%s)", update.get("event_name"))
            return
        name = str(sender.get("display_name") or sender.get("first_name") or sender.get("name") or "Zalo")
        user = User(id=self.session.chat_of(user_address), is_bot=False, first_name=name[:64])
        group = str(chat.get("chat_type", "PRIVATE")).upper() != "PRIVATE"
        where = Chat(id=self.session.chat_of(chat_address), type=ChatType.GROUP if group else ChatType.PRIVATE)
        text = message.get("text")
        if update.get("event_name") != TEXT or not isinstance(text, str) or not text.strip():
            if group:  # a group gets the guard's one refusal, whatever was sent
                await self._feed(Update(update_id=next(self._updates), message=self._message(where, user, "…")))
                return
            await self._say(where.id, user_address, lambda: _(
                "Only text messages are read here. For files and photos, use the web chat: {link}").format(
                link=self.web_url))
            return
        await self._text(where, user, user_address, text, message.get("date"))

    async def _text(self, chat: Chat, user: User, address: str, text: str, date: Any) -> None:
        context = self.dispatcher.fsm.get_context(self.bot, chat.id, user.id)
        state = await context.get_state()
        if state in SECRET_STATES or ACTIVATION.match(text):  # typed into Zalo, where nothing can be deleted
            if state in SECRET_STATES:
                await context.clear()
            await self._secret_refused(chat.id, address)
            return
        choice = CHOICE.fullmatch(text)
        sent = await self.session.chats.state(self.bot, chat.id)
        menu = sent.menu
        answers_menu = menu is not None and (
            state is None or (sent.last_sent == menu.message.message_id and len(menu.choices) >= 2))
        if choice is not None and menu is not None and answers_menu:
            number = int(choice.group(1))
            if not 1 <= number <= len(menu.choices):
                await self._say(chat.id, address, lambda: _(
                    "{number} is not one of the choices: reply with a number from 1 to {count}.").format(
                    number=number, count=len(menu.choices)))
                return
            query_id = f"zalo-{next(self._updates)}"
            query = CallbackQuery(id=query_id, from_user=user, chat_instance=str(chat.id), message=menu.message,
                                  data=menu.choices[number - 1])
            self.session.queries[query_id] = chat.id
            try:
                await self._feed(Update(update_id=next(self._updates), callback_query=query))
            finally:
                self.session.queries.pop(query_id, None)
        else:
            await self._feed(Update(update_id=next(self._updates), message=self._message(chat, user, text, date)))
        if await context.get_state() in SECRET_STATES:  # the flow asks for a secret: never through Zalo
            await context.clear()
            await self._secret_refused(chat.id, address)

    def _message(self, chat: Chat, user: User, text: str, date: Any = None) -> Message:
        when = dt.datetime.fromtimestamp(date / 1000, dt.UTC) if isinstance(date, int | float) else dt.datetime.now(dt.UTC)
        return Message(message_id=next(self._updates), date=when, chat=chat, from_user=user, text=text)

    async def _feed(self, update: Update) -> None:
        try:
            await self.dispatcher.feed_update(self.bot, update)
        except Exception:  # the errors router answered the user; the loop must live
            logger.exception("a Zalo update failed")

    async def _secret_refused(self, chat: int, address: str) -> None:
        await self._say(chat, address, lambda: plain_text(no_secrets_text(self.web_url)))

    async def _say(self, chat: int, address: str, text: Callable[[], str]) -> None:
        """An answer of the transport itself, in the sender's language."""
        locale = await self.locale_of(address)
        with self.i18n.context(), self.i18n.use_locale(
                locale if locale in self.i18n.available_locales else self.i18n.default_locale):
            words = text()
        try:
            await self.session.deliver(chat, words)
        except (ZaloError, ZaloNetworkError) as exc:
            logger.warning("could not answer on Zalo: %s", exc)

    # -- receiving ---------------------------------------------------------------------------------
    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def poll(self) -> None:
        """Long polling until cancelled. Zalo hands each update out once: no offset to confirm."""
        await self.session.client.call("deleteWebhook")  # getUpdates does not work while one is set
        delay = 1.0
        while True:
            try:
                result = await self.session.client.call("getUpdates", http_timeout=POLL_SECONDS + 10,
                                                        timeout=str(POLL_SECONDS))
            except (ZaloError, ZaloNetworkError) as exc:
                if isinstance(exc, ZaloError) and exc.code == 408:  # nothing came within the poll
                    continue
                logger.warning("Zalo getUpdates failed (%s); again in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
                continue
            delay = 1.0
            for update in updates_of(result):
                self.spawn(self.handle(update))

    def webhook(self, secret: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        """The route Zalo posts to: 401 unless it carries the secret given to setWebhook."""
        expected = secret.encode()

        async def receive(request: web.Request) -> web.Response:
            given = request.headers.get(SECRET_HEADER, "").encode()
            if not hmac.compare_digest(given, expected):
                return web.json_response({"ok": False, "description": "Unauthorized"}, status=401)
            try:
                body = await request.json()
            except ValueError:
                return web.json_response({"ok": False, "description": "Bad Request"}, status=400)
            for update in updates_of(body):
                self.spawn(self.handle(update))
            return web.json_response({"ok": True})

        return receive

    async def drain(self, timeout: float = 10.0) -> None:
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=timeout)
