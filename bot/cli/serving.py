"""`hoso init`, `hoso run`, `hoso web`, `hoso demo` and `hoso chat`: prepare the database, serve the bot and
the web chat, chat with it in the terminal. Top-level commands (the root app adds this app without a name).

aiogram and the bot's runtime are imported inside the commands that need them: their import alone takes
seconds, and `hoso --help` and the administrative commands do without them.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.common import (
    JsonOption,
    _,
    config_line,
    emit,
    fail,
    require_current_schema,
    run_async,
    settings_or_exit,
)
from bot.settings import ConfigError
from services.core.actor import Role
from services.core.clock import Clock, SystemClock
from services.core.i18n import N_
from services.regime.profiles import DEFAULT_PROFILE, available_profiles

if TYPE_CHECKING:  # the commands import the database and the demo when they run: `hoso --help` needs neither
    from storage import Database

app = typer.Typer()

ProfileName = StrEnum("ProfileName", {name: name for name in available_profiles()})  # type: ignore[misc]


class DemoRole(StrEnum):
    admin = Role.ADMIN.value
    clerk = Role.CLERK.value
    manager = Role.MANAGER.value
    employee = Role.EMPLOYEE.value


DownloadsOption = Annotated[
    Path, typer.Option(help=_(N_("Folder where documents sent by the bot are saved.")))
]


async def prepare_database(database: Database, clock: Clock, profile: str | None) -> dict[str, Any]:
    from services.regime.reference import install_reference_lists
    from services.regime.setup import install_profile
    from storage import UnitOfWork

    await database.upgrade()
    installed = await install_profile(UnitOfWork(database), clock, profile)
    await install_reference_lists(UnitOfWork(database))
    return {"database": database.describe(), "revision": await database.current_revision(), "profile": installed.name}


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
        database = settings.open_database()
        try:
            return await prepare_database(database, SystemClock(settings.timezone), profile.value if profile else None)
        finally:
            await database.dispose()

    result = run_async(main())
    emit(as_json, result, _(N_("Database {database} ready (schema {revision}), profile {profile}.")).format(**result))


WebOption = Annotated[bool, typer.Option(
    "--web", help=_(N_("Serve the web chat in the same process too (HOSO_WEB_HOST, HOSO_WEB_PORT)."))),
]


@app.command(help=_(N_("Run the bot: long polling, or a webhook server with --webhook.")))
def run(
    webhook: Annotated[bool, typer.Option(
        "--webhook", help=_(N_("Serve a webhook (needs HOSO_WEBHOOK_URL and HOSO_WEBHOOK_SECRET)."))),
    ] = False,
    with_web: WebOption = False,
) -> None:
    settings = settings_or_exit()
    try:
        settings.require_token()
        if webhook:
            settings.require_webhook()
    except ConfigError as error:
        fail(config_line(error))
    from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError

    from bot.instances import RedisUnreachable
    from bot.instances.presence import InstanceRefused, presence
    from bot.runners import ListenError, run_polling, run_webhook
    from bot.runtime import open_runtime

    async def main() -> None:
        async with open_runtime(settings, serving=True) as runtime:
            await require_current_schema(runtime.database)
            async with presence(runtime):
                await (run_webhook(runtime, with_web) if webhook else run_polling(runtime, with_web))

    from bot.web.errors import WebListenError
    from bot.zalo.run import ZaloStartError

    try:
        run_async(main())
    except ZaloStartError as error:  # before Telegram's: Zalo's refusals arrive as aiogram's errors too
        fail(zalo_start_line(error))
    except TelegramUnauthorizedError:
        fail("HOSO_BOT_TOKEN: " + _(N_("Telegram refused this token")))
    except TelegramNetworkError:
        reason = _(N_("the Bot API cannot be reached at {base}")).format(base=settings.api_base)
        fail("HOSO_TELEGRAM_API_BASE: " + reason)
    except ListenError as error:
        fail("HOSO_WEBHOOK_HOST/HOSO_WEBHOOK_PORT: " + _(N_("cannot listen on {address}")).format(address=error))
    except WebListenError as error:
        fail(web_listen_line(error))
    except InstanceRefused as error:
        fail(refused_line(error))
    except RedisUnreachable:
        fail(redis_line())


def redis_line() -> str:
    return "HOSO_REDIS_URL: " + _(N_("Redis does not answer at this address"))


def refused_line(error: Any) -> str:
    """Why a second instance may not start: one of the two would run without Redis."""
    if error.shared:
        reason = N_("instances with Redis already serve this database ({host}); set HOSO_REDIS_URL to run "
                    "beside them")
    else:
        reason = N_("another instance already serves this database ({host}); several instances need Redis "
                    "(HOSO_REDIS_URL)")
    return "HOSO_REDIS_URL: " + _(reason).format(host=error.host)


def web_listen_line(error: Exception) -> str:
    return "HOSO_WEB_HOST/HOSO_WEB_PORT: " + _(N_("cannot listen on {address}")).format(address=error)


@app.command(help=_(N_("Serve the web chat (and the reminders) on HOSO_WEB_HOST:HOSO_WEB_PORT, and Zalo "
                        "beside it when HOSO_ZALO_TOKEN is set: HoSo without Telegram.")))
def web() -> None:
    settings = settings_or_exit()
    from bot.instances import RedisUnreachable
    from bot.instances.presence import InstanceRefused, presence
    from bot.runtime import open_runtime
    from bot.web.run import WebListenError, run_web
    from bot.zalo.run import ZaloStartError

    async def main() -> None:
        async with open_runtime(settings, serving=True) as runtime:
            await require_current_schema(runtime.database)
            async with presence(runtime):
                await run_web(runtime)

    try:
        run_async(main())
    except WebListenError as error:
        fail(web_listen_line(error))
    except ZaloStartError as error:
        fail(zalo_start_line(error))
    except InstanceRefused as error:
        fail(refused_line(error))
    except RedisUnreachable:
        fail(redis_line())


def zalo_start_line(error: Any) -> str:
    return f"{error.setting}: " + _(error.reason).format(**error.params)


@app.command(help=_(N_("Seed a demo province (only into an empty database) and serve the web chat; "
                        "--terminal chats in the terminal instead.")))
def demo(
    as_role: Annotated[DemoRole, typer.Option(
        "--as", help=_(N_("With --terminal: chat as this demo account.")))] = DemoRole.admin,
    size: Annotated[int, typer.Option(min=0, max=500_000, help=_(N_("Number of dossiers to seed.")))] = 300,
    downloads: DownloadsOption = Path("hoso-downloads"),
    terminal: Annotated[bool, typer.Option(
        "--terminal", help=_(N_("Chat in the terminal instead of serving the web chat.")))] = False,
) -> None:
    settings = settings_or_exit()
    from bot.console import ConsoleChat
    from bot.runtime import open_runtime
    from bot.web.run import WebListenError, run_web
    from services.demo import ACCOUNTS as DEMO_ACCOUNTS
    from services.demo import DEMO_PASSWORD, console_user_id, seed_demo

    async def main() -> None:
        async with open_runtime(settings, serving=True) as runtime:
            await prepare_database(runtime.database, runtime.clock, None)
            seeded = await seed_demo(runtime.uow, runtime.clock, size)
            if seeded is None:
                typer.echo(_(N_("The database already holds data; nothing was seeded.")))
            else:
                typer.echo(_(N_("Demo province seeded: {units} units, {accounts} accounts, {dossiers} dossiers."))
                           .format(units=seeded.units, accounts=seeded.accounts, dossiers=seeded.dossiers))
            typer.echo(_(N_("Demo accounts' password, when HoSo asks for it: {password}"))
                       .format(password=DEMO_PASSWORD))
            if not terminal:
                for username, full_name, _unit, role in DEMO_ACCOUNTS:
                    typer.echo(f"  {username}  ({role.value}, {full_name})")
                await run_web(runtime)
                return
            user_id = await console_user_id(runtime.uow, Role(as_role.value))
            if user_id is None:
                fail(_(N_("this database has no demo accounts; use `hoso chat` instead")))
            await ConsoleChat(runtime, user_id, downloads).run()

    try:
        run_async(main())
    except WebListenError as error:
        fail(web_listen_line(error))


@app.command(help=_(N_("Open the terminal chat on an existing database.")))
def chat(
    user_id: Annotated[
        int | None, typer.Option(help=_(N_(
            "Telegram user id to chat as (an account bound to it signs you in); by default one bound to none."))),
    ] = None,
    downloads: DownloadsOption = Path("hoso-downloads"),
) -> None:
    settings = settings_or_exit()
    from bot.console import ConsoleChat
    from bot.runtime import open_runtime
    from services.demo import ANONYMOUS_CONSOLE_USER_ID

    async def main() -> None:
        async with open_runtime(settings) as runtime:
            await require_current_schema(runtime.database)
            await ConsoleChat(runtime, ANONYMOUS_CONSOLE_USER_ID if user_id is None else user_id, downloads).run()

    run_async(main())
