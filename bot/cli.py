"""The `hoso` command line (typer). Bad input or configuration: one line naming it, non-zero exit."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from bot.logs import configure_logging
from bot.settings import ConfigError, Settings, load_settings
from services.actor import Actor, Role
from services.audit import AuditService, Checkpoint, VerifyReport
from services.clock import Clock, SystemClock
from services.demo import ANONYMOUS_CONSOLE_USER_ID, console_user_id, seed_demo
from services.errors import ServiceError
from services.i18n import DEFAULT_LOCALE, N_
from services.profiles import DEFAULT_PROFILE, available_profiles
from services.setup import install_profile
from locales import translator
from storage import Database, UnitOfWork
from storage.migrations import head_revision

# The CLI speaks the deployment's language, read before the settings are (they may be broken).
# aiogram is imported only by the commands that run the bot: its import alone takes seconds.
_ = translator(os.environ.get("HOSO_DEFAULT_LOCALE", DEFAULT_LOCALE))

ProfileName = StrEnum("ProfileName", {name: name for name in available_profiles()})  # type: ignore[misc]


class DemoRole(StrEnum):
    admin = Role.ADMIN.value
    clerk = Role.CLERK.value
    manager = Role.MANAGER.value


app = typer.Typer(
    help=_(N_("HoSo: electronic personnel dossiers on Telegram.")),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"hoso: {message}", err=True)
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        settings = load_settings()
    except ConfigError as error:
        fail(f"{error.setting}: {_(error.message).format(**error.params)}")
    configure_logging(settings.log_level, settings.secrets())
    return settings


def emit(as_json: bool, data: dict[str, Any], text: str) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False) if as_json else text)


def run_async(coroutine: Any) -> Any:
    """Run a command's coroutine; a refusal or configuration error becomes the one-line answer."""
    try:
        return asyncio.run(coroutine)
    except ConfigError as error:
        fail(f"{error.setting}: {_(error.message).format(**error.params)}")
    except ServiceError as error:
        field = getattr(error, "field", None)
        fail(f"{field}: {error.render(_)}" if field else error.render(_))


async def prepare_database(database: Database, clock: Clock, profile: str | None) -> dict[str, Any]:
    await database.upgrade()
    installed = await install_profile(UnitOfWork(database), clock, profile)
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
        fail(f"{error.setting}: {_(error.message).format(**error.params)}")
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
        fail(f"HOSO_BOT_TOKEN: {_(N_('Telegram refused this token'))}")
    except TelegramNetworkError:
        fail(f"HOSO_TELEGRAM_API_BASE: {_(N_('the Bot API cannot be reached at {base}')).format(base=settings.api_base)}")
    except ListenError as error:
        fail(f"HOSO_WEBHOOK_HOST/HOSO_WEBHOOK_PORT: {_(N_('cannot listen on {address}')).format(address=error)}")


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
    data = {**report.as_dict(), "reason": _(report.reason or "")}
    emit(as_json, data, _(N_("BROKEN at seq {seq}: {reason}.")).format(seq=report.broken_seq, reason=data["reason"]))
    raise typer.Exit(1)


@audit_app.command("checkpoint", help=_(N_("Print the head of the chain (seq, hash), signed with HOSO_AUDIT_KEY.")))
def audit_checkpoint(as_json: JsonOption = False) -> None:
    settings = settings_or_exit()
    try:
        key = settings.require_audit_key()
    except ConfigError as error:
        fail(f"{error.setting}: {_(error.message).format(**error.params)}")

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


def main() -> None:
    app()
