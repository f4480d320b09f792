"""/start and /help."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.commands import COMMANDS
from handlers.dossiers import OpenDossier
from handlers.signin import SignIn, ask_first_password
from handlers.views import clip, esc, role_label
from services.core.actor import AccountStatus
from services.facade import Services

STATUS_NOTICE = {
    AccountStatus.LOCKED: lambda: _("Your account is locked after too many wrong passwords. Ask the personnel office to unlock it."),
    AccountStatus.REVOKED: lambda: _("Your account was revoked. Ask the personnel office if this is a mistake."),
}

async def start(message: Message, state: FSMContext, services: Services) -> None:
    actor = services.actor
    if actor.pending_password:
        await state.set_state(SignIn.first_password)
        await message.answer(ask_first_password())
        return
    if actor.status in (AccountStatus.LOCKED, AccountStatus.REVOKED):
        await message.answer(STATUS_NOTICE[AccountStatus(actor.status)]())
        return
    overview = await services.overview.overview()
    if not overview.signed_in:
        await message.answer(
            _(
                "Welcome to <b>HoSo</b>, the electronic personnel dossiers of the public sector.\n\n"
                "You have no account yet. Accounts are issued by the personnel office (Sở Nội vụ): "
                "ask it for an activation code, then send /start followed by the code.\n\n"
                "/help lists what you can do; /lang changes the language."
            )
        )
        return
    lines = [
        _("Hello, <b>{name}</b>!").format(name=esc(overview.full_name)),
        _("Role: {role}").format(role=esc(role_label(overview.role))),
        _("Unit: {unit}").format(unit=esc(overview.unit_name)),
    ]
    if overview.dossiers_in_scope is not None:
        lines.append(_("Dossiers in your scope: {count}").format(count=overview.dossiers_in_scope))
    lines += ["", _("Send /help to see what you can do.")]
    keyboard = None
    if overview.own_dossier_id is not None:
        builder = InlineKeyboardBuilder()
        builder.button(text=_("My dossier"), callback_data=OpenDossier(id=overview.own_dossier_id))
        keyboard = builder.as_markup()
    await message.answer(clip("\n".join(lines)), reply_markup=keyboard)


async def help_(message: Message, services: Services) -> None:
    lines = [_("<b>HoSo commands</b>")]
    lines += [f"/{spec.command} — {esc(_(spec.description))}" for spec in COMMANDS if spec.available_to(services.actor)]
    await message.answer(clip("\n".join(lines)))


def build_router() -> Router:
    router = Router(name="start")
    router.message.register(start, CommandStart())
    router.message.register(help_, Command("help"))
    return router
