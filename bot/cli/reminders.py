"""`hoso reminders preview|campaign|blocked|send-due`: the reminders and notices the bot sends.

`send-due` imports the bot (and so aiogram) inside the command: only it talks to Telegram.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from bot.cli.common import (
    JsonOption,
    _,
    admin_call,
    emit,
    emit_rows,
    fail,
    require_current_schema,
    run_async,
    settings_or_exit,
)
from services.core.clock import parse_date
from services.core.i18n import N_
from services.facade import Services

app = typer.Typer(help=_(N_("Reminders and notices: preview a day, send what is due.")), no_args_is_help=True)


def preview_line(row: dict[str, Any]) -> str:
    return f"{row['due_on']}  {row['kind']:<24} → {row['channel']}:{row['address']}  {row['object']}  {row['about']}"


@app.command("preview", help=_(N_("Print the reminders due on a date, without sending or recording them.")))
def reminders_preview(
    on: Annotated[str, typer.Option("--on", help=_(N_("The date, YYYY-MM-DD.")))],
    unit: Annotated[str | None, typer.Option(help=_(N_("Only this unit and its subunits.")))] = None,
    as_json: JsonOption = False,
) -> None:
    try:
        day = dt.date.fromisoformat(on)
    except ValueError:
        fail("on: " + _(N_("Not a valid date: {value} (use YYYY-MM-DD)")).format(value=on))
    from services.reminders.service import ReminderService

    due = admin_call(lambda services: ReminderService(services.uow, services.actor, services.clock).preview(day, unit))
    rows = [{"kind": d.kind, "account": d.account_id, "channel": d.channel, "address": d.address,
             "chat_id": d.chat_id, "object": f"{d.object_type}:{d.object_id}",
             "due_on": d.due_on.isoformat(), "about": d.payload.get("name") or d.payload.get("unit") or ""}
            for d in due]
    emit_rows(as_json, rows, preview_line, footer=_(N_("{count} reminders.")).format(count=len(rows)))


@app.command("campaign", help=_(N_("Set the yearly date of the supplementary resume campaign (dd/mm).")))
def reminders_campaign(day: str, as_json: JsonOption = False) -> None:
    try:
        date = parse_date(day if day.count("/") == 2 else f"{day}/2024")  # a leap year accepts 29/02
    except ValueError:
        fail("day: " + _(N_("Not a valid date: {value} (use dd/mm/yyyy)")).format(value=day))
    from services.reminders.service import set_campaign

    admin_call(lambda services: set_campaign(services.uow, services.actor, services.clock, date))
    emit(as_json, {"campaign": date.strftime("%d/%m")},
         _(N_("The supplementary resume campaign is on {day} each year.")).format(day=date.strftime("%d/%m")))


async def blocked_accounts(services: Services) -> list[dict[str, Any]]:
    async with services.uow.read() as repos:
        return [{"username": a.username, "name": a.full_name, "since": a.bot_blocked_at.isoformat()}
                for a in await repos.outbox.blocked_accounts() if a.bot_blocked_at is not None]


@app.command("blocked", help=_(N_("List the accounts whose Telegram users blocked the bot.")))
def reminders_blocked(as_json: JsonOption = False) -> None:
    emit_rows(as_json, admin_call(blocked_accounts), lambda row: f"{row['username']}  {row['name']}  {row['since']}")


@app.command("send-due", help=_(N_("Compute today's reminders and send what is due now (for cron).")))
def reminders_send_due(as_json: JsonOption = False) -> None:
    settings = settings_or_exit()
    from bot.factory import create_bot
    from bot.jobs import Jobs
    from bot.runtime import open_runtime

    async def main() -> dict[str, int]:
        async with open_runtime(settings) as runtime:
            await require_current_schema(runtime.database)
            bot = create_bot(settings.require_token(), settings.api_base)
            try:
                jobs = Jobs(runtime)
                await jobs.start_sender(bot)
                sent = await jobs.run_once()
                assert jobs.sender is not None
                report = jobs.sender.report
                return {"sent": sent, "retried": report.retried, "ambiguous": report.ambiguous,
                        "blocked": report.blocked, "failed": report.failed}
            finally:
                await bot.session.close()

    result = run_async(main())
    emit(as_json, result, _(N_("Sent {sent}; to retry later {retried}; ambiguous {ambiguous}; blocked {blocked}; "
                               "failed {failed}.")).format(**result))
