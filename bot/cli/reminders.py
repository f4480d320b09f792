"""`hoso reminders preview|campaign|blocked|send-due`: the reminders and notices the bot sends.

`send-due` imports the bot (and so aiogram) inside the command: only it talks to Telegram.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

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
from services.core.clock import format_date, parse_date
from services.core.i18n import N_
from services.reminders.titles import KIND_TITLES

if TYPE_CHECKING:
    from services.facade import Services

app = typer.Typer(help=_(N_("Reminders and notices: preview a day, send what is due.")), no_args_is_help=True)


def todo_line(item: Any, day: dt.date) -> str:
    from services.reminders.todo import describe

    unit = f"[{item.unit_code}] " if item.unit_code else ""
    return f"  {format_date(item.due)}  {unit}{describe(item, day, _)}"


def reminder_line(row: dict[str, Any]) -> str:
    return _(N_("  {due}  {kind} → {channel}:{address}  {about}")).format(
        due=format_date(dt.date.fromisoformat(row["due_on"])), kind=_(KIND_TITLES.get(row["kind"], row["kind"])),
        channel=row["channel"], address=row["address"], about=row["about"])


@app.command("preview", help=_(N_("Print the to-do list of a date and the reminders that day would send, without "
                                  "sending or recording them.")))
def reminders_preview(
    on: Annotated[str, typer.Option("--on", help=_(N_("The date, dd/mm/yyyy.")))],
    unit: Annotated[str | None, typer.Option(help=_(N_("Only this unit and its subunits.")))] = None,
    as_json: JsonOption = False,
) -> None:
    try:
        day = parse_date(on)
    except ValueError:
        fail("on: " + _(N_("Not a valid date: {value} (use dd/mm/yyyy)")).format(value=on))
    from services.reminders.service import ReminderService

    async def both(services: Services) -> tuple[list[Any], list[Any]]:
        reminders = ReminderService(services.uow, services.actor, services.clock)
        return await reminders.todo(day, unit), await reminders.preview(day, unit)

    todo, due = admin_call(both)
    rows = [{"kind": d.kind, "account": d.account_id, "channel": d.channel, "address": d.address,
             "chat_id": d.chat_id, "object": f"{d.object_type}:{d.object_id}",
             "due_on": d.due_on.isoformat(), "about": d.payload.get("name") or d.payload.get("unit") or ""}
            for d in due]
    if as_json:
        emit(True, {"on": day.isoformat(), "todo": [item.as_json() for item in todo], "reminders": rows}, "")
        return
    typer.echo(_(N_("To do on {date} ({count}), most urgent first:")).format(date=format_date(day), count=len(todo)))
    for item in todo:
        typer.echo(todo_line(item, day))
    typer.echo(_(N_("Reminders sent on {date} ({count}):")).format(date=format_date(day), count=len(rows)))
    for row in rows:
        typer.echo(reminder_line(row))


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
