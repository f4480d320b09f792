"""Rendering helpers shared by the handlers. Every dynamic value is HTML-escaped here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

from aiogram import html
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from services.core.actor import ROLE_LABELS, STATUS_LABELS, AccountStatus, Role
from services.core.errors import InvalidInput, ServiceError
from services.core.i18n import DEFAULT_LOCALE
from services.core.text import decimal

# Telegram refuses longer messages, captions and alerts.
MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_ALERT_LENGTH = 200
ECHO_LENGTH = 100  # what a reply quotes of the user's own input
QUOTED_LENGTH = 200  # a value a refusal names (often what the user typed, sometimes a list of choices)


def shorten(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def echo(value: str, limit: int = ECHO_LENGTH) -> str:
    """The user's input quoted back: shortened, then escaped, so a reply never grows with it."""
    return esc(shorten(value, limit))


def esc(value: object) -> str:
    return html.quote(str(value))


def role_label(role: Role | None) -> str:
    return _(ROLE_LABELS[role]) if role is not None else ""


def status_label(status: str) -> str:
    return _(STATUS_LABELS[AccountStatus(status)])


T = TypeVar("T")


def refusal(error: ServiceError, translate: Callable[[str], str] = _) -> str:
    """A refusal as plain text in the reader's language, the values it quotes shortened."""
    return error.render(translate, quote=lambda value: shorten(value, QUOTED_LENGTH) if isinstance(value, str) else value)


def error_text(error: ServiceError) -> str:
    return esc(refusal(error))


async def or_usage(message: Message, usage: str, call: Callable[[], Awaitable[T]]) -> T | None:
    """What `call` gives; or, when it refuses the command's arguments, None and the reason with the usage
    (a message id: its arguments are named in the reader's language)."""
    try:
        return await call()
    except InvalidInput as error:
        await message.answer(error_text(error) + "\n" + _("Usage: {usage}").format(usage=esc(_(usage))))
        return None


def clip(text: str, limit: int = MAX_MESSAGE_LENGTH) -> str:
    """Cut a message that would exceed Telegram's limit, saying so."""
    if len(text) <= limit:
        return text
    marker = "\n…"
    cut = text.rfind("\n", 0, limit - len(marker))  # whole lines only: never inside a tag or an entity
    return text[: cut if cut > 0 else limit - len(marker)] + marker


def share(part: int, whole: int) -> str:
    """A share as a whole percentage, or a dash when there is nothing to share."""
    return percent(part / whole if whole else None)


def percent(fraction: float | None) -> str:
    return "—" if fraction is None else f"{100 * fraction:.0f}%"


def number(value: float, digits: int = 2) -> str:
    """A coefficient or an allowance as the reader writes it: "4,32" in Vietnamese, "4.32" in English."""
    try:
        locale = get_i18n().current_locale
    except LookupError:  # outside an update (a notice rendered by the sender)
        locale = DEFAULT_LOCALE
    return decimal(value, locale, digits)


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def keyboard(buttons: Iterable[InlineKeyboardButton], width: int, *tail: Sequence[InlineKeyboardButton]
             ) -> InlineKeyboardMarkup | None:
    """Buttons `width` to a row, then the `tail` rows as given (empty ones dropped). Built directly:
    aiogram's InlineKeyboardBuilder deep-copies every button, a few milliseconds on a hot path like /find."""
    flat = list(buttons)
    rows = [flat[start:start + width] for start in range(0, len(flat), width)]
    rows += [list(row) for row in tail if row]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None
