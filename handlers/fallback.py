"""Whatever no other router took: free text with no prompt open is a search (as /find); anything else is
answered with a pointer to /help, and nothing is lost."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.find import look_up
from services.core.policy import Action
from services.facade import Services


async def not_understood(message: Message) -> None:
    await message.answer(_("I did not understand that. Send /help to see what you can do."))


async def free_text(message: Message, state: FSMContext, services: Services) -> None:
    """A name typed without /find is what a clerk looks for most: search it, for whoever may look up."""
    if not services.allows(Action.VIEW_DOSSIER):
        await not_understood(message)
        return
    await look_up(message, state, services, message.text)


async def stale_button(query: CallbackQuery) -> None:
    await query.answer(_("This button is no longer active."), show_alert=True)


def build_router() -> Router:
    router = Router(name="fallback")
    router.message.register(free_text, StateFilter(None), F.text, ~F.text.startswith("/"))
    router.message.register(not_understood)
    router.callback_query.register(stale_button)
    return router
