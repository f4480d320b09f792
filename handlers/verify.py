"""/verify CODE: whether a printed form, report or statistics sheet was issued by HoSo, the version it shows,
and whether the record changed since. A code HoSo did not issue is refused; every check is audited."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from handlers.views import esc, or_usage
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.facade import Services
from services.platform.printouts import Verdict, describe

USAGE = N_("/verify CODE — the code printed beside the QR, e.g. 2C-1234-5-ABCD-EFGH-JKLM-NPQR")


async def verify(message: Message, command: CommandObject, services: Services) -> None:
    async def checked() -> Verdict:
        if not (command.args or "").strip():
            raise InvalidInput("code", N_("Type the code printed on the paper."))
        return await services.printouts.verify(command.args or "")

    verdict = await or_usage(message, USAGE, checked)
    if verdict is None:
        return
    lines = describe(verdict, _, services.clock.tz)
    await message.answer("✅ " + esc(lines[0]) + "\n" + ("" if not verdict.changed else "⚠️ ") + esc(lines[1]))


def build_router() -> Router:
    router = Router(name="verify")
    router.message.register(verify, Command("verify"))
    return router
