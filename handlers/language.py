"""/lang: the interface language, stored on the account (or for the visitor)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.views import error_text
from services.core.errors import ServiceError
from services.core.i18n import SUPPORTED_LOCALES
from services.facade import Services

# Each language is named in itself, so that anyone can find theirs.
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}


class LanguageChoice(CallbackData, prefix="lang"):
    locale: str


def language_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for locale in SUPPORTED_LOCALES:
        builder.button(text=LANGUAGE_NAMES[locale], callback_data=LanguageChoice(locale=locale))
    return builder.as_markup()


def confirmation(locale: str) -> str:
    """Said in the language just chosen."""
    return _("The language is now English.", locale=locale)


async def ask_language(message: Message, command: CommandObject, services: Services) -> None:
    wanted = (command.args or "").strip().lower()
    if wanted:
        try:
            locale = await services.preferences.set_language(wanted)
        except ServiceError as error:
            await message.answer(error_text(error), reply_markup=language_keyboard())
            return
        await message.answer(confirmation(locale))
        return
    await message.answer(_("Choose a language:"), reply_markup=language_keyboard())


async def choose_language(query: CallbackQuery, callback_data: LanguageChoice, services: Services) -> None:
    locale = await services.preferences.set_language(callback_data.locale)
    text = confirmation(locale)
    if isinstance(query.message, Message):
        await query.message.edit_text(text)


def build_router() -> Router:
    router = Router(name="language")
    router.message.register(ask_language, Command("lang"))
    router.callback_query.register(choose_language, LanguageChoice.filter(F.locale.in_(SUPPORTED_LOCALES)))
    return router
