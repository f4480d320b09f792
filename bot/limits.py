"""Telegram's length limits, kept in one place where every request leaves for the Bot API.

Telegram counts a message after entity parsing (the tags removed, `&lt;` one character) in UTF-16 code
units, so an emoji counts twice. A text over the limit is refused as a whole ("message is too long"),
and the user would see nothing; here it is cut on the visible text instead, the open tags closed, and
an ellipsis says that something is missing. Handlers still cut long lists at line ends (`clip`); this
is the guarantee underneath, for every channel that goes through the Bot object.
"""

from __future__ import annotations

from html import escape
from html.parser import HTMLParser
from typing import Any

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.enums import ParseMode
from aiogram.methods import AnswerCallbackQuery, EditMessageText, Response, SendMessage, TelegramMethod

from handlers.views import MAX_ALERT_LENGTH, MAX_CAPTION_LENGTH, MAX_MESSAGE_LENGTH

ELLIPSIS = "…"


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, budget: int) -> str:
    """The longest start of `text` within `budget` UTF-16 units (never half of a surrogate pair)."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > budget:
            return text[:index]
    return text


def fit_plain(text: str, limit: int) -> str:
    if utf16_length(text) <= limit:
        return text
    return _cut(text, limit - utf16_length(ELLIPSIS)) + ELLIPSIS


class _HtmlFitter(HTMLParser):
    """Copies tags as they are and counts only the visible text; stops at the budget."""

    def __init__(self, budget: int) -> None:
        super().__init__(convert_charrefs=True)
        self.budget, self.used, self.full = budget, 0, False
        self.out: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.full:
            self.out.append(self.get_starttag_text() or "")
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.full:
            return
        self.out.append(f"</{tag}>")
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag)]

    def handle_data(self, data: str) -> None:
        if self.full:
            return
        size = utf16_length(data)
        if self.used + size <= self.budget:
            self.out.append(escape(data, quote=False))
            self.used += size
            return
        self.out.append(escape(_cut(data, self.budget - self.used), quote=False))
        self.full = True

    def fitted(self) -> str:
        closing = "".join(f"</{tag}>" for tag in reversed(self.open))
        return "".join(self.out) + (ELLIPSIS if self.full else "") + closing


def visible_length(html_text: str) -> int:
    """The length Telegram counts for an HTML text: the text between the tags, in UTF-16 units."""
    fitter = _HtmlFitter(budget=1 << 62)
    fitter.feed(html_text)
    fitter.close()
    return fitter.used


def fit_html(text: str, limit: int) -> str:
    if utf16_length(text) <= limit:  # the raw text already fits, tags and all: nothing to parse
        return text
    if visible_length(text) <= limit:
        return text
    fitter = _HtmlFitter(limit - utf16_length(ELLIPSIS))
    fitter.feed(text)
    fitter.close()
    return fitter.fitted()


def fit(text: str, limit: int, parse_mode: str | None) -> str:
    return fit_html(text, limit) if parse_mode == ParseMode.HTML else fit_plain(text, limit)


class LengthLimits(BaseRequestMiddleware):
    """Cuts a message text, a caption or a callback answer that Telegram would refuse for its length."""

    async def __call__(
        self, make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Response[Any]:
        if isinstance(method, AnswerCallbackQuery):
            if method.text:
                method.text = fit_plain(method.text, MAX_ALERT_LENGTH)
        elif isinstance(method, SendMessage | EditMessageText):
            method.text = fit(method.text or "", MAX_MESSAGE_LENGTH, _parse_mode(bot, method))
        elif isinstance(caption := getattr(method, "caption", None), str):
            setattr(method, "caption", fit(caption, MAX_CAPTION_LENGTH, _parse_mode(bot, method)))
        return await make_request(bot, method)


def _parse_mode(bot: Bot, method: TelegramMethod[Any]) -> str | None:
    mode = getattr(method, "parse_mode", None)
    return bot.default[mode.name] if isinstance(mode, Default) else mode
