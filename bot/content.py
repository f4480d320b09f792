"""The content policy of each channel, kept where a message leaves for it (invariant 6).

`HOSO_CHANNEL_CONTENT` ("web=full,telegram=full,zalo=notices") says what each channel may carry:

- `full`: everything the role may see;
- `summary`: the role's view less identity numbers, addresses, family and salary (the actor carries the level
  and `services.dossiers.masking` withholds them at the source), and no documents;
- `notices`: reminders and notices only, each with a link to the web chat.

The setting is read in `bot/content_levels.py`.

Two halves: `ServicesMiddleware` opens an `Exit` for each update (the channel, its level, and the audit's
note of what the update read), and `ContentGate`, a middleware of every Bot's session, checks each request
against it where the request leaves: a document on a channel below `full`, or anything an update says after it
read dossier data on a `notices` channel, is replaced by one refusal naming the channel and the web chat's link.
What the outbox sends (no update: a reminder or a notice) goes, with the link added below `full`.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import (
    EditMessageCaption,
    EditMessageText,
    Response,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.utils.i18n import gettext as _

from services.core.actor import CHANNEL_LABELS, Content
from services.platform.audit import Disclosure

# What an update may have audited and still answer on a `notices` channel (the audit's object types): the
# account's own sign-in, password and reminders' mute and unmute ("account"), a reminders campaign, a notice.
# Anything else audited is dossier data.
NOTICE_OBJECTS = frozenset({"account", "campaign", "notice"})


@dataclass
class Exit:
    """The update under way, as the gate sees it."""

    channel: str
    level: Content
    web_url: str
    disclosure: Disclosure = field(default_factory=Disclosure)
    refused: Any = None  # the refusal sent for this update: one is enough


CURRENT: contextvars.ContextVar[Exit | None] = contextvars.ContextVar("hoso_exit", default=None)
# The outbox sender names the level of its channel for the messages it sends (no update is under way there).
OUTBOX: contextvars.ContextVar[Exit | None] = contextvars.ContextVar("hoso_outbox_exit", default=None)


def refusal(channel: str, web_url: str) -> str:
    return _("This is not shown on {channel}: this deployment keeps dossier content off it. "
             "Open it in the web chat: {link}").format(channel=_(CHANNEL_LABELS[channel]) if channel in CHANNEL_LABELS else channel, link=web_url)


def with_link(text: str, web_url: str) -> str:
    """A reminder's text (HTML, as the outbox sends it) with the web chat's link below."""
    link = _("Details in the web chat: {link}").format(link=escape(web_url))
    return f"{text}\n\n{link}"


class ContentGate(BaseRequestMiddleware):
    """Every request of every Bot leaves through here (bot/factory.py registers it first, so it sees the
    request as the handler made it)."""

    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                       method: TelegramMethod[Any]) -> Response[Any]:
        exit_ = CURRENT.get() or OUTBOX.get()
        if exit_ is not None and exit_.refused is not None and isinstance(
                method, SendMessage | EditMessageText | EditMessageCaption | SendDocument | SendPhoto):
            return exit_.refused  # once refused, the rest of the update's answer is withheld too
        if exit_ is None or exit_.level == Content.FULL:
            return await make_request(bot, method)
        outbox = CURRENT.get() is None
        sends_file = isinstance(method, SendDocument | SendPhoto)
        says = isinstance(method, SendMessage | EditMessageText | EditMessageCaption) or sends_file
        if outbox and isinstance(method, SendMessage):  # a reminder or a notice: the link to the details
            method.text = with_link(method.text, exit_.web_url)
            return await make_request(bot, method)
        content_read = exit_.level == Content.NOTICES and exit_.disclosure.read_beyond(NOTICE_OBJECTS)
        if sends_file or (says and content_read):
            chat_id = getattr(method, "chat_id", None)
            if chat_id is None:
                return await make_request(bot, method)  # nothing said (an inline edit): nothing to replace
            replaced = SendMessage(chat_id=chat_id, text=refusal(exit_.channel, exit_.web_url), parse_mode=None)
            exit_.refused = await make_request(bot, replaced)
            return exit_.refused
        return await make_request(bot, method)


def level_of(levels: Mapping[str, Content], channel: str) -> Content:
    return levels.get(channel, Content.FULL)
