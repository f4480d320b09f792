"""Signing in: /start CODE binds the account and asks for a password; the password is asked again
after the profile's idle time; /passwd changes it; /logout unbinds this Telegram user (on the web chat, ends
its sign-in there; the page's own sign-in and activation are bot/web/pages.py).

Messages carrying a code or a password are deleted as soon as they are read.
"""

from __future__ import annotations

import contextlib

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from handlers.forms import free_prompt
from handlers.views import error_text, esc
from services.accounts.service import PasswordCheck
from services.core.actor import Channel
from services.core.errors import InvalidInput, ServiceError
from services.facade import Services


class SignIn(StatesGroup):
    first_password = State()


class Reauth(StatesGroup):
    password = State()


class ChangePassword(StatesGroup):
    current = State()
    new = State()


# Signing in and changing one's password are how an account gets and keeps its rights: open to all; the
# service checks the account itself (a revoked one cannot sign in).
free_prompt(SignIn.first_password, Reauth.password, ChangePassword.current, ChangePassword.new)
# The prompts whose answer is a password: a front end that can (the web chat) hides what is typed there.
SECRET_STATES = frozenset(state.state for state in (SignIn.first_password, Reauth.password, ChangePassword.current,
                                                    ChangePassword.new))


async def forget(message: Message) -> None:
    """Delete a message that carried a secret; a message too old to delete is not worth an error."""
    with contextlib.suppress(TelegramAPIError):
        await message.delete()


def ask_first_password() -> str:
    return _("Choose a password of at least 8 characters and send it here. I delete it right after reading.")


async def start_with_code(message: Message, command: CommandObject, state: FSMContext, services: Services) -> None:
    await forget(message)
    try:
        account = await services.accounts.activate(command.args or "")
    except ServiceError as error:
        await message.answer(error_text(error))
        return
    await state.set_state(SignIn.first_password)
    await state.set_data({})
    await message.answer(
        _("Account <b>{username}</b> ({name}) is now bound to your Telegram.").format(
            username=esc(account.username), name=esc(account.full_name))
        + "\n" + ask_first_password()
    )


async def first_password(message: Message, state: FSMContext, services: Services) -> None:
    await forget(message)
    try:
        await services.accounts.choose_first_password(message.text or "")
    except InvalidInput as error:
        await message.answer(error_text(error) + "\n" + ask_first_password())
        return
    await state.clear()
    await message.answer(_("You are signed in. Send /help to see what you can do."))


async def begin_reauth(state: FSMContext) -> None:
    """Park whatever prompt was under way and ask for the password; it resumes after the password."""
    current = await state.get_state()
    if current == Reauth.password.state:
        return
    data = await state.get_data()
    await state.set_state(Reauth.password)
    await state.set_data({"resume_state": current, "resume_data": data})


async def reauth_password(message: Message, state: FSMContext, services: Services) -> None:
    await forget(message)
    check = await services.accounts.confirm_password(message.text or "")
    if check.ok:
        data = await state.get_data()
        await state.set_state(data.get("resume_state"))
        await state.set_data(data.get("resume_data") or {})
        await message.answer(_("Password confirmed. Please send your last request again."))
        return
    await refuse_password(message, state, check)


async def refuse_password(message: Message, state: FSMContext, check: PasswordCheck) -> None:
    """A wrong password: the attempts left, or the lock that the last one caused."""
    if check.locked:
        await state.clear()
        await message.answer(_("Too many wrong passwords: your account is locked. Ask the personnel office to unlock it."))
        return
    await message.answer(_("Wrong password. Attempts left: {count}.").format(count=check.attempts_left))


async def passwd(message: Message, state: FSMContext, services: Services) -> None:
    if services.actor.is_anonymous:
        await message.answer(_("You are not signed in."))
        return
    await state.set_state(ChangePassword.current)
    await message.answer(_("Send your current password."))


async def passwd_current(message: Message, state: FSMContext, services: Services) -> None:
    await forget(message)
    check = await services.accounts.confirm_password(message.text or "")
    if check.ok:
        await state.set_state(ChangePassword.new)
        await message.answer(_("Now send the new password (at least 8 characters)."))
        return
    await refuse_password(message, state, check)


async def passwd_new(message: Message, state: FSMContext, services: Services) -> None:
    await forget(message)
    try:
        await services.accounts.set_password(message.text or "")
    except InvalidInput as error:
        await message.answer(error_text(error) + "\n" + _("Now send the new password (at least 8 characters)."))
        return
    await state.clear()
    await message.answer(_("Your password is changed."))


async def logout(message: Message, state: FSMContext, services: Services) -> None:
    if services.actor.account_id is None:
        await message.answer(_("You are not signed in."))
        return
    await services.accounts.logout()
    await state.clear()
    if services.actor.channel == Channel.WEB:  # the web chat signs in with the password again
        await message.answer(_("Signed out. To come back, sign in again with your username and password."))
        return
    if services.actor.channel == Channel.ZALO:  # linked with a code from the web chat, never a password
        await message.answer(_("Zalo is unlinked. To link it again, send /zalo in the HoSo web chat."))
        return
    await message.answer(_("Signed out. This Telegram account is no longer bound to HoSo; to come back, ask the personnel office for a new activation code."))


def build_router() -> Router:
    router = Router(name="signin")
    router.message.register(start_with_code, CommandStart(deep_link=True))  # "/start CODE", typed or deep link
    secret = F.text & ~F.text.startswith("/")
    router.message.register(first_password, SignIn.first_password, secret)
    router.message.register(reauth_password, Reauth.password, secret)
    router.message.register(passwd_current, ChangePassword.current, secret)
    router.message.register(passwd_new, ChangePassword.new, secret)
    router.message.register(passwd, Command("passwd"))
    router.message.register(logout, Command("logout"))
    return router
