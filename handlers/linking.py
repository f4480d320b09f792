"""Linking Zalo: /zalo in the web chat shows a one-time code (and unlinks); on Zalo, a sender who is not
linked may only send that code.

An unlinked Zalo user (no account, or one that grants no role) reaches this router before any other, and
nothing else: a message shaped like a code is spent on linking, anything else gets one short explanation.
No password or activation code is ever asked for or taken on Zalo (the sign-in prompts are refused there
too; services.accounts.service `NO_SECRETS` refuses them again), and a link code is never shown there or on
Telegram: only in the web chat, where its holder signed in with their password.
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.signin import SECRET_STATES
from handlers.start import STATUS_NOTICE
from handlers.views import button, error_text, esc, keyboard
from services.accounts.links import LinkRefused, looks_like_code
from services.core.actor import AccountStatus, Actor, Channel
from services.core.clock import format_local_datetime
from services.core.errors import ServiceError
from services.facade import Services


class ZaloLink(CallbackData, prefix="zl"):
    action: str  # unlink


def unlinked_zalo(_event: Any, actor: Actor) -> bool:
    """A Zalo sender whose address carries no role: not linked, or linked to a locked or revoked account."""
    return actor.channel == Channel.ZALO and actor.role is None


def on_zalo(_event: Any, actor: Actor) -> bool:
    return actor.channel == Channel.ZALO


def explanation(web_url: str) -> str:
    return _("This is <b>HoSo</b>, the electronic personnel dossiers. To receive HoSo here, link your account: "
             "sign in to the HoSo web chat ({link}), send /zalo there, then send me the code it shows. Never send "
             "a password or an activation code here.").format(link=esc(web_url))


def no_secrets_text(web_url: str) -> str:
    """The one answer on Zalo to anything that would carry a secret (here, and in the Zalo intake)."""
    return _("Passwords and codes never travel through Zalo. Sign in on the web chat instead: {link}").format(
        link=esc(web_url))


async def link_or_explain(message: Message, services: Services, web_url: str) -> None:
    status = services.actor.status
    text = message.text or ""
    if not looks_like_code(text):
        notice = STATUS_NOTICE.get(AccountStatus(status)) if status is not None else None
        await message.answer(notice() if notice is not None else explanation(web_url))
        return
    try:
        linked = await services.links.consume(text)
    except LinkRefused as error:
        await message.answer(error_text(error))
        return
    await message.answer(_("Zalo is now linked to account <b>{username}</b> ({name}). Your HoSo reminders "
                           "reach you here; /reminders chooses the channels they go to.").format(
        username=esc(linked.username), name=esc(linked.full_name)))


async def explain_press(query: CallbackQuery) -> None:
    await query.answer(refusal_text(), show_alert=True)


def refusal_text() -> str:
    return _("Link your HoSo account first: send /zalo in the web chat, then send me the code it shows.")


async def no_secrets_here(message: Message, state: FSMContext, web_url: str) -> None:
    """On Zalo, an activation code, a password or a change of it is refused with the way to the web chat."""
    await state.clear()
    await message.answer(no_secrets_text(web_url))


async def zalo(message: Message, services: Services) -> None:
    """The web chat's page for Zalo: the link if there is one (with Unlink), else a fresh code."""
    if services.actor.channel != Channel.WEB:
        await message.answer(_("Zalo is linked from the HoSo web chat: sign in there and send /zalo."))
        return
    try:
        since = await services.links.linked_since(Channel.ZALO)
        if since is not None:
            await message.answer(
                _("<b>Zalo</b> is linked to your account since {since}. The reminders you choose in /reminders "
                  "reach you there.").format(since=format_local_datetime(since, services.clock)),
                reply_markup=keyboard([button(_("Unlink Zalo"), ZaloLink(action="unlink"))], 1))
            return
        issued = await services.links.issue_own(Channel.ZALO)
    except ServiceError as error:
        await message.answer(error_text(error))
        return
    await message.answer(
        _("<b>Link Zalo</b>\nYour code: <code>{code}</code>\nValid until {until}, once.\n\nOpen Zalo, find the "
          "HoSo bot and send it this code. Never send your password or an activation code there.").format(
            code=esc(issued.code), until=format_local_datetime(issued.expires_at, services.clock)))


async def unlink(query: CallbackQuery, services: Services) -> None:
    if services.actor.channel != Channel.WEB:
        await query.answer(_("Zalo is unlinked from the HoSo web chat."), show_alert=True)
        return
    await services.links.unlink_own(Channel.ZALO)  # a refusal is answered by bot/errors.py
    await query.answer(_("Zalo is unlinked: nothing of HoSo reaches it any more."), show_alert=True)
    if isinstance(query.message, Message):
        await query.message.answer(_("Zalo is unlinked. Send /zalo to link it again."))


def build_router() -> Router:
    router = Router(name="linking")
    # Deny by default: an unlinked Zalo sender reaches nothing but this.
    router.message.register(link_or_explain, unlinked_zalo)
    router.callback_query.register(explain_press, unlinked_zalo)
    # A linked Zalo user is never asked for a secret, nor takes one.
    router.message.register(no_secrets_here, on_zalo, CommandStart(deep_link=True))
    router.message.register(no_secrets_here, on_zalo, Command("passwd"))
    router.message.register(no_secrets_here, on_zalo, F.text, lambda _m, raw_state: raw_state in SECRET_STATES)
    router.message.register(zalo, Command("zalo"))
    router.callback_query.register(unlink, ZaloLink.filter(F.action == "unlink"))
    return router
