"""The last line of defence: a translated answer to the user, the incident in the log, no traceback."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.types import ErrorEvent

from bot.callback_answers import answered
from bot.i18n import CatalogI18n
from handlers.signin import begin_reauth
from handlers.views import esc, refusal
from services.accounts.service import NO_SECRETS
from services.core.actor import Actor
from services.core.errors import ServiceError
from services.core.i18n import N_
from services.platform.sessions import SessionExpired

logger = logging.getLogger("hoso.incidents")

APOLOGY = N_("Sorry, something went wrong on our side. Nothing you entered was lost; please try again.")

# Where no password is ever typed (Zalo), an idle session is made fresh again by signing in on the web chat.
SIGN_IN_ON_WEB = N_("For your security, sign in again in the HoSo web chat, then send your request here again.")


async def on_error(
    event: ErrorEvent, bot: Bot, i18n: CatalogI18n, locale: str | None = None, state: FSMContext | None = None,
    actor: Actor | None = None,
) -> bool:
    update, exc = event.update, event.exception
    translate = i18n.translator(locale)
    no_secrets = actor is not None and actor.channel in NO_SECRETS
    if isinstance(exc, SessionExpired) and state is not None and not no_secrets:
        await begin_reauth(state)
    if isinstance(exc, SessionExpired) and no_secrets:
        text = translate(SIGN_IN_ON_WEB)
    elif isinstance(exc, ServiceError):
        # A refusal a handler did not catch itself: still the user's answer, not an incident.
        text = refusal(exc, translate)
    else:
        # Only identifiers go to the log: message texts can carry codes and passwords.
        user = update.event.from_user if hasattr(update.event, "from_user") else None
        logger.error(
            "incident in update %s (%s) from user %s: %s",
            update.update_id,
            update.event_type,
            user.id if user else "-",
            type(exc).__name__,
            exc_info=exc,
        )
        text = translate(APOLOGY)
    try:
        query = update.callback_query
        if query is not None and not answered(query):
            await query.answer(text, show_alert=True)  # the press's one answer
        elif query is not None:  # answered already: a second answer would be refused, unseen
            await bot.send_message(query.message.chat.id if query.message else query.from_user.id, esc(text))
        elif update.message is not None:
            await bot.send_message(update.message.chat.id, esc(text))
    except TelegramAPIError as send_error:
        logger.warning("could not deliver the error notice for update %s: %s", update.update_id, send_error)
    return True


def build_router() -> Router:
    router = Router(name="errors")
    router.errors.register(on_error)
    return router
