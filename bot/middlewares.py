"""Update middlewares: the services bound to this update, and the private-chat guard."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, Update, User
from aiogram.utils.i18n import gettext as _

from bot.content import CURRENT, Exit, level_of
from handlers.forms import is_form_button, prompt_refused
from handlers.views import error_text, refusal
from services.core.actor import Actor, Channel, Content
from services.core.clock import Clock
from services.core.errors import PermissionDenied
from services.core.identity import load_actor
from services.facade import Services
from services.platform.audit import DISCLOSURE
from storage import Database, UnitOfWork

logger = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
# A transport that read the sender of this very update itself (the web chat, with the request's session) hands
# it to `feed_update` under this key; it is used only for the sender it names (bot/web/transport.py says when).
PRELOADED_ACTOR = "hoso_preloaded_actor"


def channel_of(bot: object, default: str = Channel.TELEGRAM) -> str:
    """The channel a Bot serves: its session names it (the web chat's says "web"); Telegram's by default."""
    return str(getattr(getattr(bot, "session", None), "channel", default))


def address_of(bot: object, user_id: int) -> str:
    """The sender's address on the Bot's channel. aiogram's user ids are numbers; a transport whose own
    addresses are not (Zalo's are opaque strings) maps them in its session's `address_of`."""
    mapping = getattr(getattr(bot, "session", None), "address_of", None)
    return str(mapping(user_id)) if mapping is not None else str(user_id)


class UpdatesInFlight(BaseMiddleware):
    """The updates being handled, so that a stop lets them finish: one cancelled mid-transaction would
    lose its answer and leave a connection to be reset while the database closes."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        task = asyncio.current_task()
        if task is None:
            return await handler(event, data)
        self.tasks.add(task)
        try:
            return await handler(event, data)
        finally:
            self.tasks.discard(task)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for the updates in hand; past the timeout they are cancelled, as before."""
        current = asyncio.current_task()
        pending = {task for task in self.tasks if task is not current and not task.done()}
        if not pending:
            return
        _done, late = await asyncio.wait(pending, timeout=timeout)
        if late:
            logger.warning("%d update(s) still running at shutdown after %.0f s", len(late), timeout)


class ServicesMiddleware(BaseMiddleware):
    """A unit of work per update, the actor re-read from the database, and the service facade. The sender
    is an address on the transport's channel: `telegram` for the Telegram bot and the terminal chat (which
    plays a Telegram user); another transport names its own. The channel's content policy (bot/content.py) is
    the actor's `content`, and the exit the update's answers leave through."""

    def __init__(self, database: Database, clock: Clock, files_dir: Path | None = None,
                 channel: str = Channel.TELEGRAM, content: Mapping[str, Content] | None = None,
                 web_url: str = "", files_key: bytes | None = None, verify_key: bytes | None = None,
                 verify_url: str | None = None) -> None:
        self.database, self.clock, self.files_dir, self.channel = database, clock, files_dir, channel
        self.files_key = files_key
        self.content, self.web_url = content or {}, web_url
        self.verify_key, self.verify_url = verify_key, verify_url

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        uow = UnitOfWork(self.database)
        # A transport whose session names its channel (the web chat's) speaks for it; else the configured one.
        channel = channel_of(data.get("bot"), self.channel)
        address = address_of(data.get("bot"), user.id) if user else None
        preloaded: Actor | None = data.pop(PRELOADED_ACTOR, None)
        if preloaded is not None and address is not None and (preloaded.channel, preloaded.address) == (channel, address):
            actor = preloaded
        else:
            actor = await load_actor(uow, channel, address)
        level = level_of(self.content, channel)
        actor = dataclasses.replace(actor, content=level)
        data["actor"] = actor
        data["services"] = Services(uow, actor, self.clock, self.files_dir, self.files_key, self.verify_key,
                                    self.verify_url)
        exit_ = Exit(channel, level, self.web_url)
        gate, audit = CURRENT.set(exit_), DISCLOSURE.set(exit_.disclosure)
        try:
            return await handler(event, data)
        finally:
            CURRENT.reset(gate)
            DISCLOSURE.reset(audit)


class PromptRights(BaseMiddleware):
    """An answer or a button of a prompt under way (a form, a reason, a date) first checks that the actor,
    re-read for this update, may still do what the prompt is for. A refusal ends the prompt, and nothing
    of it is saved; a command sent meanwhile still goes to its own handler, which checks its own rights."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        state: FSMContext | None = data.get("state")
        if state is None or not await prompt_refused(data.get("raw_state"), state, data["actor"]):
            return await handler(event, data)
        await state.clear()
        data["raw_state"] = None
        text = error_text(PermissionDenied())  # the same words as any refusal
        if isinstance(event, CallbackQuery) and is_form_button(event.data):
            await event.answer(refusal(PermissionDenied()), show_alert=True)  # the press's one answer
            return None
        if isinstance(event, Message) and not (event.text or "").startswith("/"):
            await event.answer(text)  # the answer to the prompt was the refusal
            return None
        # A command or another button (a card, the language): the refusal, then its own way, rights re-checked.
        chat = data.get("event_chat")
        if chat is not None:
            await data["bot"].send_message(chat.id, text)
        return await handler(event, data)


class PrivateChatGuard(BaseMiddleware):
    """Dossiers are classified: HoSo works in private chats only. A group gets one refusal, then the
    bot leaves it. Updates with no chat at all (inline queries and the like) are dropped."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        chat: Chat | None = data.get("event_chat")
        if chat is not None and chat.type == ChatType.PRIVATE:
            return await handler(event, data)
        if chat is None or not isinstance(event, Update):
            return UNHANDLED
        membership = event.my_chat_member
        if membership and membership.new_chat_member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.KICKED):
            return UNHANDLED  # we are already out
        await self._refuse_and_leave(data["bot"], event, chat)
        return UNHANDLED

    @staticmethod
    async def _refuse_and_leave(bot: Bot, update: Update, chat: Chat) -> None:
        text = _("HoSo works only in a private chat. Dossiers are classified, so I am leaving this group.")
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(text, show_alert=True)
            elif chat.type != ChatType.CHANNEL:
                await bot.send_message(chat.id, text)
        except TelegramAPIError as exc:
            logger.info("could not send the refusal to chat %s: %s", chat.id, exc)
        try:
            await bot.leave_chat(chat.id)
        except TelegramAPIError as exc:
            logger.warning("could not leave chat %s: %s", chat.id, exc)
        logger.info("refused and left %s chat %s", chat.type, chat.id)
