"""What every `hoso` command shares: the translator, the one-line failure, the settings, the operator's
service call, and the two ways to answer (one result, or a listing), in text or as JSON for scripts.

The group modules import this module; it imports none of them. aiogram is never imported here: its import
alone takes seconds, and only the commands that run the bot need it (they import it themselves).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from bot.logs import configure_logging
from bot.settings import ConfigError, Settings, load_settings
from locales import translator
from services.core.actor import Actor
from services.core.clock import SystemClock
from services.core.errors import ServiceError
from services.core.i18n import DEFAULT_LOCALE, N_

if TYPE_CHECKING:  # the services and storage bring SQLAlchemy and alembic: each command imports them when it runs
    from services.facade import Services
    from storage import Database, UnitOfWork

T = TypeVar("T")


# The CLI speaks the deployment's language, read before the settings are (they may be broken).
def cli_locale() -> str:
    return os.environ.get("HOSO_DEFAULT_LOCALE", DEFAULT_LOCALE)


_ = translator(cli_locale())

JsonOption = Annotated[bool, typer.Option("--json", help=_(N_("Print the result as JSON, for scripts.")))]


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


def _same(value: Any) -> Any:
    return value


def emit_rows(
    as_json: bool,
    rows: Iterable[T],
    line: Callable[[T], str],
    *,
    to_json: Callable[[T], Any] = _same,
    document: Callable[[list[Any]], Any] = _same,
    footer: str | None = None,
) -> None:
    """Answer with a listing: with --json, one JSON document (the list of the rows, each through `to_json`,
    which `document` may wrap in an object); otherwise one line per row, then the footer if there is one."""
    if as_json:
        typer.echo(json.dumps(document([to_json(row) for row in rows]), ensure_ascii=False))
        return
    for row in rows:
        typer.echo(line(row))
    if footer is not None:
        typer.echo(footer)


def run_async(coroutine: Any) -> Any:
    """Run a command's coroutine; a refusal or configuration error becomes the one-line answer."""
    try:
        return asyncio.run(coroutine)
    except ConfigError as error:
        fail(config_line(error))
    except ServiceError as error:
        field = getattr(error, "field", None)
        fail(f"{field}: {error.render(_)}" if field else error.render(_))


async def require_current_schema(database: Database) -> None:
    from storage.migrations import head_revision

    current, head = await database.current_revision(), head_revision()
    if current != head:
        fail(_(N_("the database schema is at {current}, this version needs {head}: run `hoso init`")).format(
            current=current or "-", head=head
        ))


@asynccontextmanager
async def lightweight_uow(settings: Settings) -> AsyncIterator[UnitOfWork]:
    """The database alone, for administrative commands that need no bot (and so no aiogram)."""
    from storage import UnitOfWork

    database = settings.open_database()
    try:
        await require_current_schema(database)
        yield UnitOfWork(database)
    finally:
        await database.dispose()


def admin_call(call: Callable[[Services], Awaitable[T]]) -> T:
    """Run one service call as the operator on the server (trusted like the personnel office)."""
    from services.facade import Services

    settings = settings_or_exit()

    async def main() -> T:
        async with lightweight_uow(settings) as uow:
            return await call(Services(uow, Actor.system(), SystemClock(settings.timezone), None,
                                       verify_key=settings.verify_key_bytes, verify_url=settings.verify_url))

    return run_async(main())
