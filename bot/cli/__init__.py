"""The `hoso` command line (typer). Bad input or configuration: one line naming it, non-zero exit."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from bot.logs import configure_logging
from bot.settings import ConfigError, Settings, load_settings
from services.core.actor import Actor, Role
from services.platform.audit import AuditService, Checkpoint, VerifyReport
from services.accounts.service import AccountView, IssuedCode
from services.core.clock import DEFAULT_TIMEZONE, Clock, SystemClock, format_date, format_local_datetime, parse_date
from services.regime.deadlines import public_holidays
from services.facade import Services
from services.platform.units import UnitView
from services.demo import ANONYMOUS_CONSOLE_USER_ID, DEMO_PASSWORD, console_user_id, seed_demo
from services.core.errors import ServiceError
from services.core.i18n import DEFAULT_LOCALE, N_
from services.regime.profiles import DEFAULT_PROFILE, available_profiles
from services.regime.reference import LISTS, ReferenceEntry, ReferenceService, install_reference_lists
from services.regime.setup import install_profile
from locales import translator
from storage import Database, UnitOfWork
from storage.migrations import head_revision

# The CLI speaks the deployment's language, read before the settings are (they may be broken).
# aiogram is imported only by the commands that run the bot: its import alone takes seconds.
def cli_locale() -> str:
    return os.environ.get("HOSO_DEFAULT_LOCALE", DEFAULT_LOCALE)


_ = translator(cli_locale())

T = TypeVar("T")

ProfileName = StrEnum("ProfileName", {name: name for name in available_profiles()})  # type: ignore[misc]


class DemoRole(StrEnum):
    admin = Role.ADMIN.value
    clerk = Role.CLERK.value
    manager = Role.MANAGER.value
    employee = Role.EMPLOYEE.value


app = typer.Typer(
    help=_(N_("HoSo: electronic personnel dossiers on Telegram.")),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"hoso: {message}", err=True)
    raise typer.Exit(code)


def config_line(error: ConfigError) -> str:
    return f"{error.setting}: " + _(error.message).format(**error.params)


def settings_or_exit() -> Settings:
    try:
        settings = load_settings()
    except ConfigError as error:
        fail(config_line(error))
    configure_logging(settings.log_level, settings.secrets())
    return settings


def emit(as_json: bool, data: dict[str, Any], text: str) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False) if as_json else text)


def run_async(coroutine: Any) -> Any:
    """Run a command's coroutine; a refusal or configuration error becomes the one-line answer."""
    try:
        return asyncio.run(coroutine)
    except ConfigError as error:
        fail(config_line(error))
    except ServiceError as error:
        field = getattr(error, "field", None)
        fail(f"{field}: {error.render(_)}" if field else error.render(_))


async def prepare_database(database: Database, clock: Clock, profile: str | None) -> dict[str, Any]:
    await database.upgrade()
    installed = await install_profile(UnitOfWork(database), clock, profile)
    await install_reference_lists(UnitOfWork(database))
    return {"database": database.describe(), "revision": await database.current_revision(), "profile": installed.name}


async def require_current_schema(database: Database) -> None:
    current, head = await database.current_revision(), head_revision()
    if current != head:
        fail(_(N_("the database schema is at {current}, this version needs {head}: run `hoso init`")).format(
            current=current or "-", head=head
        ))


JsonOption = Annotated[bool, typer.Option("--json", help=_(N_("Print the result as JSON, for scripts.")))]


@app.command(help=_(N_("Create or upgrade the database and load a regulation profile.")))
def init(
    profile: Annotated[
        ProfileName | None,
        typer.Option(help=_(N_("Regulation profile (default: the installed one, else {default}).")).format(
            default=DEFAULT_PROFILE
        )),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    settings = settings_or_exit()

    async def main() -> dict[str, Any]:
        database = Database(settings.database_url)
        try:
            return await prepare_database(database, SystemClock(settings.timezone), profile.value if profile else None)
        finally:
            await database.dispose()

    result = run_async(main())
    emit(as_json, result, _(N_("Database {database} ready (schema {revision}), profile {profile}.")).format(**result))


@app.command(help=_(N_("Run the bot: long polling, or a webhook server with --webhook.")))
def run(
    webhook: Annotated[
        bool, typer.Option("--webhook", help=_(N_("Serve a webhook (needs HOSO_WEBHOOK_URL and HOSO_WEBHOOK_SECRET)."))),
    ] = False,
) -> None:
    settings = settings_or_exit()
    try:
        settings.require_token()
        if webhook:
            settings.require_webhook()
    except ConfigError as error:
        fail(config_line(error))
    from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError

    from bot.runners import ListenError, run_polling, run_webhook
    from bot.runtime import open_runtime

    async def main() -> None:
        async with open_runtime(settings) as runtime:
            await require_current_schema(runtime.database)
            await (run_webhook(runtime) if webhook else run_polling(runtime))

    try:
        run_async(main())
    except TelegramUnauthorizedError:
        fail("HOSO_BOT_TOKEN: " + _(N_("Telegram refused this token")))
    except TelegramNetworkError:
        reason = _(N_("the Bot API cannot be reached at {base}")).format(base=settings.api_base)
        fail("HOSO_TELEGRAM_API_BASE: " + reason)
    except ListenError as error:
        fail("HOSO_WEBHOOK_HOST/HOSO_WEBHOOK_PORT: " + _(N_("cannot listen on {address}")).format(address=error))


DownloadsOption = Annotated[
    Path, typer.Option(help=_(N_("Folder where documents sent by the bot are saved.")))
]


@app.command(help=_(N_("Seed a demo province (only into an empty database) and chat with it as a demo user.")))
def demo(
    as_role: Annotated[DemoRole, typer.Option("--as", help=_(N_("Chat as this demo account.")))] = DemoRole.admin,
    size: Annotated[int, typer.Option(min=0, max=500_000, help=_(N_("Number of dossiers to seed.")))] = 300,
    downloads: DownloadsOption = Path("hoso-downloads"),
) -> None:
    settings = settings_or_exit()
    from bot.console import ConsoleChat
    from bot.runtime import open_runtime

    async def main() -> None:
        async with open_runtime(settings) as runtime:
            await prepare_database(runtime.database, runtime.clock, None)
            seeded = await seed_demo(runtime.uow, runtime.clock, size)
            if seeded is None:
                typer.echo(_(N_("The database already holds data; nothing was seeded.")))
            else:
                typer.echo(_(N_("Demo province seeded: {units} units, {accounts} accounts, {dossiers} dossiers.")).format(
                    units=seeded.units, accounts=seeded.accounts, dossiers=seeded.dossiers
                ))
            typer.echo(_(N_("Demo accounts' password, when HoSo asks for it: {password}")).format(password=DEMO_PASSWORD))
            user_id = await console_user_id(runtime.uow, Role(as_role.value))
            if user_id is None:
                fail(_(N_("this database has no demo accounts; use `hoso chat` instead")))
            await ConsoleChat(runtime, user_id, downloads).run()

    run_async(main())


@app.command(help=_(N_("Open the terminal chat on an existing database.")))
def chat(
    user_id: Annotated[
        int, typer.Option(help=_(N_("Telegram user id to chat as (an account bound to it signs you in)."))),
    ] = ANONYMOUS_CONSOLE_USER_ID,
    downloads: DownloadsOption = Path("hoso-downloads"),
) -> None:
    settings = settings_or_exit()
    from bot.console import ConsoleChat
    from bot.runtime import open_runtime

    async def main() -> None:
        async with open_runtime(settings) as runtime:
            await require_current_schema(runtime.database)
            await ConsoleChat(runtime, user_id, downloads).run()

    run_async(main())


audit_app = typer.Typer(help=_(N_("The audit trail: verify its chain, sign checkpoints.")), no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify", help=_(N_("Recompute the hash chain; with --checkpoint, also compare the signed head.")))
def audit_verify(
    checkpoint: Annotated[
        Path | None, typer.Option(help=_(N_("A checkpoint file written by `hoso audit checkpoint --json`.")))
    ] = None,
    as_json: JsonOption = False,
) -> None:
    settings = settings_or_exit()
    signed, key = None, None
    if checkpoint is not None:
        try:
            signed = Checkpoint(**json.loads(checkpoint.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            fail(_(N_("--checkpoint: not a checkpoint file: {path}")).format(path=checkpoint))
        key = settings.audit_key.get_secret_value().encode() if settings.audit_key else None

    async def main() -> VerifyReport:
        async with lightweight_uow(settings) as uow:
            return await AuditService(uow, Actor.system(), SystemClock(settings.timezone)).verify(signed, key)

    report: VerifyReport = run_async(main())
    if report.ok:
        emit(as_json, report.as_dict(), _(N_("OK: {count} events, the chain is intact.")).format(count=report.count))
        return
    data = {**report.as_dict(), "reason": _(report.reason) if report.reason else ""}
    emit(as_json, data, _(N_("BROKEN at seq {seq}: {reason}.")).format(seq=report.broken_seq, reason=data["reason"]))
    raise typer.Exit(1)


@audit_app.command("checkpoint", help=_(N_("Print the head of the chain (seq, hash), signed with HOSO_AUDIT_KEY.")))
def audit_checkpoint(as_json: JsonOption = False) -> None:
    settings = settings_or_exit()
    try:
        key = settings.require_audit_key()
    except ConfigError as error:
        fail(config_line(error))

    async def main() -> Checkpoint:
        async with lightweight_uow(settings) as uow:
            return await AuditService(uow, Actor.system(), SystemClock(settings.timezone)).checkpoint(key)

    signed: Checkpoint = run_async(main())
    emit(as_json, signed.as_dict(), f"({signed.seq}, {signed.hash}) {signed.signature}")


@asynccontextmanager
async def lightweight_uow(settings: Settings) -> AsyncIterator[UnitOfWork]:
    """The database alone, for administrative commands that need no bot (and so no aiogram)."""
    database = Database(settings.database_url)
    try:
        await require_current_schema(database)
        yield UnitOfWork(database)
    finally:
        await database.dispose()


def admin_call(call: Callable[[Services], Awaitable[T]]) -> T:
    """Run one service call as the operator on the server (trusted like the personnel office)."""
    settings = settings_or_exit()

    async def main() -> T:
        async with lightweight_uow(settings) as uow:
            return await call(Services(uow, Actor.system(), SystemClock(settings.timezone)))

    return run_async(main())


def unit_json(unit: UnitView) -> dict[str, Any]:
    return {"code": unit.code, "name": unit.name, "parent": unit.parent_code, "level": unit.level_name,
            "status": unit.status}


def account_json(account: AccountView) -> dict[str, Any]:
    return {"username": account.username, "name": account.full_name, "role": account.role,
            "status": account.status, "unit": account.unit_code, "bound": account.bound,
            "extra_units": list(account.extra_units)}


RequestOption = Annotated[str | None, typer.Option("--request", help=_(N_("The written request (number and date).")))]

unit_app = typer.Typer(help=_(N_("The unit tree: add, list, rename, move, merge.")), no_args_is_help=True)
app.add_typer(unit_app, name="unit")


@unit_app.command("add", help=_(N_("Add a unit.")))
def unit_add(
    code: str, name: str,
    parent: Annotated[str | None, typer.Option(help=_(N_("Code of the parent unit.")))] = None,
    level: Annotated[str | None, typer.Option(help=_(N_("Name of the level, e.g. Sở, ban, ngành.")))] = None,
    as_json: JsonOption = False,
) -> None:
    unit = admin_call(lambda services: services.units.add(code, name, parent, level))
    emit(as_json, unit_json(unit), _(N_("Unit {code} added.")).format(code=unit.code))


@unit_app.command("list", help=_(N_("List the units.")))
def unit_list(
    tree: Annotated[bool, typer.Option("--tree", help=_(N_("Indent the units under their parents.")))] = False,
    as_json: JsonOption = False,
) -> None:
    units = admin_call(lambda services: services.units.list())
    if as_json:
        typer.echo(json.dumps([unit_json(unit) for unit in units], ensure_ascii=False))
        return
    for unit in units:
        indent = "  " * unit.depth if tree else ""
        merged_into = _(N_("merged into {code}")).format(code=unit.merged_into_code)
        merged = f" [{merged_into}]" if unit.merged_into_code else ""
        typer.echo(f"{indent}{unit.code}  {unit.name}{merged}")


@unit_app.command("rename", help=_(N_("Rename a unit.")))
def unit_rename(code: str, name: str, as_json: JsonOption = False) -> None:
    unit = admin_call(lambda services: services.units.rename(code, name))
    emit(as_json, unit_json(unit), _(N_("Unit {code} is now named {name}.")).format(code=unit.code, name=unit.name))


@unit_app.command("move", help=_(N_("Move a unit (with its subunits) under another parent.")))
def unit_move(code: str, parent: str, as_json: JsonOption = False) -> None:
    unit = admin_call(lambda services: services.units.move(code, parent))
    emit(as_json, unit_json(unit), _(N_("Unit {code} now belongs to {parent}.")).format(code=unit.code, parent=unit.parent_code))


@unit_app.command("merge", help=_(N_("Merge a unit into another: its dossiers, accounts, subunits and open requests move.")))
def unit_merge(old: str, into: str, as_json: JsonOption = False) -> None:
    result = admin_call(lambda services: services.units.merge(old, into))
    emit(as_json, asdict(result), _(N_(
        "Unit {old} merged into {into}: {dossiers} dossiers, {accounts} accounts, {units} units, {requests} requests moved."
    )).format(**asdict(result)))


account_app = typer.Typer(help=_(N_("Accounts: issue, list, restrict, extend, revoke, unlock, reset.")), no_args_is_help=True)
app.add_typer(account_app, name="account")


@account_app.command("add", help=_(N_("Issue an account; prints its one-time activation code.")))
def account_add(
    username: str,
    unit: Annotated[str, typer.Option(help=_(N_("Code of the account's unit.")))],
    role: Annotated[str, typer.Option(help=_(N_("admin, clerk, manager, auditor or employee.")))],
    name: Annotated[str, typer.Option(help=_(N_("The person's full name.")))],
    request: Annotated[str, typer.Option(help=_(N_("The written request (number and date).")))],
    personal_id: Annotated[str | None, typer.Option(
        help=_(N_("For an employee: the personal ID of their own dossier.")))] = None,
    as_json: JsonOption = False,
) -> None:
    issued = admin_call(lambda services: services.accounts.issue(
        username, unit, role, name, request, personal_id=personal_id))
    emit_code(as_json, issued)


def emit_code(as_json: bool, issued: IssuedCode) -> None:
    emit(as_json, issued.as_dict(), _(N_(
        "Account {username}: activation code {code}, valid until {until}. Hand it over in person or by official letter."
    )).format(username=issued.username, code=issued.activation_code, until=format_local_datetime(
        issued.expires_at, SystemClock(os.environ.get("HOSO_TIMEZONE", DEFAULT_TIMEZONE)))))


@account_app.command("list", help=_(N_("List the accounts, of one unit's subtree or of all.")))
def account_list(
    unit: Annotated[str | None, typer.Option(help=_(N_("Only this unit and its subunits.")))] = None,
    as_json: JsonOption = False,
) -> None:
    accounts = admin_call(lambda services: services.accounts.listing(unit))
    if as_json:
        typer.echo(json.dumps([account_json(account) for account in accounts], ensure_ascii=False))
        return
    for account in accounts:
        typer.echo(f"{account.username}  {account.role}  {account.status}  {account.unit_code}  {account.full_name}")


def _status_command(name: str, help_text: str, method: str) -> None:
    @account_app.command(name, help=help_text)
    def command(username: str, request: RequestOption = None, as_json: JsonOption = False) -> None:
        account = admin_call(lambda services: getattr(services.accounts, method)(username, request))
        emit(as_json, account_json(account), _(N_("Account {username} is now {status}.")).format(
            username=account.username, status=account.status))


_status_command("restrict", _(N_("Make an account read-only.")), "restrict")
_status_command("restore", _(N_("Give a restricted account its rights back.")), "restore")
_status_command("revoke", _(N_("Revoke an account for good.")), "revoke")
_status_command("unlock", _(N_("Unlock an account locked after wrong passwords.")), "unlock")


@account_app.command("extend", help=_(N_("Widen an account's scope to another unit's subtree.")))
def account_extend(
    username: str,
    unit: Annotated[str, typer.Option(help=_(N_("Code of the unit added to the scope.")))],
    request: RequestOption = None,
    as_json: JsonOption = False,
) -> None:
    account = admin_call(lambda services: services.accounts.extend(username, unit, request))
    emit(as_json, account_json(account), _(N_("Account {username} now also reaches {unit}.")).format(
        username=account.username, unit=unit.upper()))


@account_app.command("reset", help=_(N_("A lost password: issue a new activation code (a written request is required).")))
def account_reset(
    username: str,
    request: Annotated[str, typer.Option(help=_(N_("The written request (number and date).")))],
    as_json: JsonOption = False,
) -> None:
    emit_code(as_json, admin_call(lambda services: services.accounts.reset(username, request)))


@account_app.command("requests", help=_(N_("Pending requests of units for sub-accounts.")))
def account_requests(as_json: JsonOption = False) -> None:
    pending = admin_call(lambda services: services.subaccounts.pending())
    if as_json:
        typer.echo(json.dumps([asdict(request) for request in pending], ensure_ascii=False))
        return
    for request in pending:
        typer.echo(f"#{request.id}  {request.unit_code}  {request.username}  {request.role}  "
                   f"{request.full_name}  ({request.request_ref})")


@account_app.command("approve", help=_(N_("Approve a sub-account request, citing the written agreement.")))
def account_approve(
    request_id: int,
    agreement: Annotated[str, typer.Option(help=_(N_("The written agreement (number and date).")))],
    as_json: JsonOption = False,
) -> None:
    emit_code(as_json, admin_call(lambda services: services.subaccounts.approve(request_id, agreement)))


@account_app.command("reject", help=_(N_("Reject a sub-account request, with a reason.")))
def account_reject(
    request_id: int,
    reason: Annotated[str, typer.Option(help=_(N_("Why it is rejected.")))],
    as_json: JsonOption = False,
) -> None:
    request = admin_call(lambda services: services.subaccounts.reject(request_id, reason))
    emit(as_json, asdict(request), _(N_("Request #{number} rejected.")).format(number=request.id))


reference_app = typer.Typer(help=_(N_("Reference lists: ethnicities, religions, ranks, education levels.")),
                            no_args_is_help=True)
app.add_typer(reference_app, name="reference")


@reference_app.command("list", help=_(N_("Show a reference list ({lists}).")).format(lists=", ".join(LISTS)))
def reference_list(list_name: str, as_json: JsonOption = False) -> None:
    entries: list[ReferenceEntry] = admin_call(lambda services: ReferenceService(
        services.uow, services.actor, services.clock).listing(list_name))
    if as_json:
        typer.echo(json.dumps([asdict(entry) for entry in entries], ensure_ascii=False))
        return
    for entry in entries:
        typer.echo(f"{entry.code}  {entry.name}")


@reference_app.command("add", help=_(N_("Add an entry to a reference list.")))
def reference_add(list_name: str, code: str, name: str, as_json: JsonOption = False) -> None:
    entry: ReferenceEntry = admin_call(lambda services: ReferenceService(
        services.uow, services.actor, services.clock).add(list_name, code, name))
    emit(as_json, asdict(entry), _(N_("Added {code} {name}.")).format(code=entry.code, name=entry.name))


calendar_app = typer.Typer(help=_(N_("Working days: public holidays and the extra days off.")), no_args_is_help=True)
app.add_typer(calendar_app, name="calendar")


def day_argument(text: str) -> dt.date:
    try:
        return parse_date(text)
    except ValueError:
        fail("day: " + _(N_("Not a valid date: {value} (use dd/mm/yyyy)")).format(value=text))


@calendar_app.command("add", help=_(N_("Add an extra day off (e.g. a Tết break extended by the government).")))
def calendar_add(day: str, reason: str, as_json: JsonOption = False) -> None:
    date = day_argument(day)
    added = admin_call(lambda services: services.changes.add_day_off(date, reason))
    text = (_(N_("{day} is now a day off.")) if added else _(N_("{day} was already a day off."))).format(
        day=format_date(date))
    emit(as_json, {"day": format_date(date), "added": added}, text)


@calendar_app.command("list", help=_(N_("The days off of a year: public holidays and the extra ones.")))
def calendar_list(year: Annotated[int | None, typer.Option(help=_(N_("The year (default: this year).")))] = None,
                  as_json: JsonOption = False) -> None:
    chosen = year or dt.date.today().year
    extra = [(d, reason) for d, reason in admin_call(lambda services: services.changes.days_off()) if d.year == chosen]
    rows = sorted([(d, name, "holiday") for d, name in public_holidays(chosen, cli_locale())] +
                  [(d, reason, "extra") for d, reason in extra])
    if as_json:
        typer.echo(json.dumps([{"day": format_date(d), "name": name, "kind": kind} for d, name, kind in rows],
                              ensure_ascii=False))
        return
    for d, name, kind in rows:
        typer.echo(f"{format_date(d)}  {name}" + ("  (+)" if kind == "extra" else ""))


reminders_app = typer.Typer(help=_(N_("Reminders and notices: preview a day, send what is due.")), no_args_is_help=True)
app.add_typer(reminders_app, name="reminders")


@reminders_app.command("preview", help=_(N_("Print the reminders due on a date, without sending or recording them.")))
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
    rows = [{"kind": d.kind, "chat_id": d.chat_id, "object": f"{d.object_type}:{d.object_id}",
             "due_on": d.due_on.isoformat(), "about": d.payload.get("name") or d.payload.get("unit") or ""}
            for d in due]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        typer.echo(f"{row['due_on']}  {row['kind']:<24} → {row['chat_id']}  {row['object']}  {row['about']}")
    typer.echo(_(N_("{count} reminders.")).format(count=len(rows)))


@reminders_app.command("campaign", help=_(N_("Set the yearly date of the supplementary resume campaign (dd/mm).")))
def reminders_campaign(day: str, as_json: JsonOption = False) -> None:
    try:
        date = parse_date(day if day.count("/") == 2 else f"{day}/2024")  # a leap year accepts 29/02
    except ValueError:
        fail("day: " + _(N_("Not a valid date: {value} (use dd/mm/yyyy)")).format(value=day))
    from services.reminders.service import set_campaign

    admin_call(lambda services: set_campaign(services.uow, services.actor, services.clock, date))
    emit(as_json, {"campaign": date.strftime("%d/%m")},
         _(N_("The supplementary resume campaign is on {day} each year.")).format(day=date.strftime("%d/%m")))


@reminders_app.command("blocked", help=_(N_("List the accounts whose users blocked the bot.")))
def reminders_blocked(as_json: JsonOption = False) -> None:
    async def listing(services: Services) -> list[dict[str, Any]]:
        async with services.uow.read() as repos:
            return [{"username": a.username, "name": a.full_name, "since": a.bot_blocked_at.isoformat()}
                    for a in await repos.outbox.blocked_accounts() if a.bot_blocked_at is not None]

    rows = admin_call(listing)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        typer.echo(f"{row['username']}  {row['name']}  {row['since']}")


@reminders_app.command("send-due", help=_(N_("Compute today's reminders and send what is due now (for cron).")))
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


def main() -> None:
    app()


from bot.cli_dossiers import register as _register_dossier_commands  # noqa: E402
_register_dossier_commands(app)
from bot.cli_oversight import register as _register_oversight_commands  # noqa: E402
_register_oversight_commands(app)
