"""/stats: the statistics of the reader's scope (BM01/BNV) as a short summary, an Excel table with
subtotals up the tree, and a chart of the main breakdowns.

    /stats                 the whole scope, today
    /stats SYT             one unit's subtree within it
    /stats SYT 30/06/2026  on a date
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re

from aiogram import Router
from aiogram.enums import ChatAction
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import gettext as _

from handlers.views import MAX_CAPTION_LENGTH, clip, esc, or_usage, share
from services.core.clock import format_date, parse_date
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.facade import Services
from services.oversight.statistics import StatTable

USAGE_HINT = N_("/stats [UNIT] [dd/mm/yyyy]")  # the arguments named in the reader's language
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATE_LIKE = re.compile(r"^(\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{2}-\d{2}|\d+/.*)$")


def parse_args(text: str | None) -> tuple[str | None, dt.date | None]:
    """A unit code and a date, in either order; InvalidInput names the one that is wrong."""
    unit, day = None, None
    for token in (text or "").split():
        if DATE_LIKE.match(token):
            try:
                day = dt.date.fromisoformat(token) if ISO_DATE.match(token) else parse_date(token)
            except ValueError:
                raise InvalidInput("as_of", N_("Not a valid date: {value} (use dd/mm/yyyy)"), value=token) from None
        elif unit is None:
            unit = token
        else:
            raise InvalidInput("unit", N_("Give one unit code at most: {value}"), value=token)
    return unit, day


def number(value: int) -> str:
    return f"{value:,}".replace(",", " ")



def scope_title(table: StatTable) -> str:
    return ", ".join(table.scope) if table.scope else _("your scope")


def summary(table: StatTable) -> str:
    """The main figures in a few lines: the whole table follows as a file."""
    total = table.total.people
    lines = [_("<b>Statistics of {scope}</b> on {date}").format(scope=esc(scope_title(table)),
                                                               date=format_date(table.as_of)),
             _("In service: <b>{count}</b>").format(count=number(total))]
    flags = ", ".join(f"{esc(column.title(_).lower())} {number(count)} ({share(count, total)})"
                      for key in ("women", "party", "minority", "religious") for column, count in table.group(key))
    lines.append(_("Of which: {figures}").format(figures=flags))
    for key in ("rank", "level", "age"):
        group = table.group(key)
        if group:
            parts = " · ".join(f"{esc(column.title(_))}: {number(count)}" for column, count in group)
            lines.append(f"<b>{esc(_(group[0][0].group))}</b>: {parts}")
    lines.append(_("The whole table (.xlsx) and a chart follow."))
    return clip("\n".join(lines))


async def send_statistics(message: Message, services: Services, table: StatTable, unit: str | None,
                          stem: str) -> None:
    """The table as an .xlsx document (with its verification code) and the chart as a picture, in the
    reader's language."""
    # The renderers load their libraries (openpyxl, matplotlib) here, on first use, not at the bot's start.
    from services.documents.stats_chart import render_chart
    from services.documents.stats_workbook import statistics_title

    title = statistics_title(scope_title(table), table, _)
    day = table.as_of.strftime("%Y%m%d")
    # Drawn and written off the event loop: a chart takes a good part of a second.
    workbook, chart = await asyncio.gather(services.statistics_file(table, unit, _, title),
                                           asyncio.to_thread(render_chart, table, _, title))
    await message.answer_document(
        BufferedInputFile(workbook, filename=f"{stem}-{day}.xlsx"),
        caption=_("Statistics after the BM01/BNV form, with subtotals up the tree."))
    await message.answer_photo(BufferedInputFile(chart, filename=f"{stem}-{day}.png"),
                               caption=clip(esc(title), MAX_CAPTION_LENGTH))


async def stats(message: Message, command: CommandObject, services: Services) -> None:
    async def table_of_the_arguments() -> tuple[str | None, StatTable]:
        unit, day = parse_args(command.args)
        if message.bot is not None:
            await message.bot.send_chat_action(message.chat.id, ChatAction.UPLOAD_DOCUMENT)
        return unit, await services.statistics.table(unit, day)

    found = await or_usage(message, USAGE_HINT, table_of_the_arguments)
    if found is None:
        return
    unit, table = found
    await message.answer(summary(table))
    await send_statistics(message, services, table, unit, f"thong-ke-{(unit or services.actor.unit_code or 'all').lower()}")


def build_router() -> Router:
    router = Router(name="stats")
    router.message.register(stats, Command("stats"))
    return router
