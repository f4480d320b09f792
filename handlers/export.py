"""/export: the dossiers of the clerk's (manager's, personnel office's) scope as an Excel file."""

from __future__ import annotations

import tempfile
from pathlib import Path

from aiogram import Router
from aiogram.enums import ChatAction
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import gettext as _

from services.core.clock import format_date, local_today
from services.core.policy import Action
from services.facade import Services

# The Bot API refuses documents over 50 MB.
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024


async def export(message: Message, services: Services, locale: str | None = None) -> None:
    services.require(Action.VIEW_DOSSIER)  # employees, auditors and visitors are refused here
    if message.bot is not None:
        await message.bot.send_chat_action(message.chat.id, ChatAction.UPLOAD_DOCUMENT)
    today = local_today(services.clock)
    name = f"hoso-{(services.actor.unit_code or 'all').lower()}-{today:%Y%m%d}.xlsx"
    with tempfile.TemporaryDirectory(prefix="hoso-export-") as directory:
        path = Path(directory) / name
        # Vietnamese headers and values for a Vietnamese reader; `hoso import` reads either.
        result = await services.dossier_io.export_file(path, vietnamese=(locale or "vi") == "vi")
        if result.count == 0:
            await message.answer(_("No dossier in your scope to export."))
            return
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            await message.answer(_("The file is too large to send on Telegram. Ask the personnel office for it "
                                   "(hoso export --unit {unit}).").format(unit=services.actor.unit_code or "…"))
            return
        content = path.read_bytes()
    await message.answer_document(
        BufferedInputFile(content, filename=name),
        caption=_("{count} dossiers of your scope, as of {date}. The file holds personal data: keep it safe.").format(
            count=result.count, date=format_date(today)),
    )


def build_router() -> Router:
    router = Router(name="export")
    router.message.register(export, Command("export"))
    return router
