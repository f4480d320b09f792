"""Building the Bot and the Dispatcher: the one place where the layers meet."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats

import handlers
from bot import errors
from bot.callback_answers import AnswerPress, RecordAnswers
from bot.content import ContentGate
from bot.i18n import ActorI18nMiddleware, CatalogI18n
from bot.jobs import Jobs
from bot.limits import LengthLimits
from bot.middlewares import PrivateChatGuard, PromptRights, ServicesMiddleware, UpdatesInFlight
from bot.retry import RetryMiddleware
from bot.runtime import Runtime
from handlers.commands import COMMANDS

# Dossier content must not be forwarded or saved: every message is sent protected.
DEFAULTS = DefaultBotProperties(parse_mode=ParseMode.HTML, protect_content=True, link_preview_is_disabled=True)


def create_bot(token: str, api_base: str | None = None, session: BaseSession | None = None) -> Bot:
    if session is None:
        session = AiohttpSession(api=TelegramAPIServer.from_base(api_base)) if api_base else AiohttpSession()
    # Outermost first: the channel's content policy sees the request as the handler made it; the length is
    # fitted once, the answer noted once, whatever the retries.
    session.middleware(ContentGate())
    session.middleware(LengthLimits())
    session.middleware(RecordAnswers())
    session.middleware(RetryMiddleware())
    return Bot(token, session=session, default=DEFAULTS)


def create_dispatcher(runtime: Runtime, background: bool = False) -> Dispatcher:
    """The Dispatcher with every router; `background` also runs the periodic jobs (only `hoso run`)."""
    dispatcher = Dispatcher(
        storage=runtime.fsm_storage,
        events_isolation=runtime.events_isolation,
        i18n=runtime.i18n,
        clock=runtime.clock,
    )
    # Outer update middlewares run in this order, after aiogram's own (errors, user context, FSM).
    in_flight = UpdatesInFlight()
    dispatcher.update.outer_middleware(in_flight)
    # Registered first, so it runs first: the updates in hand finish before the jobs and the database stop.
    dispatcher.shutdown.register(in_flight.drain)
    settings = runtime.settings
    dispatcher.update.outer_middleware(ServicesMiddleware(runtime.database, runtime.clock, settings.files_dir,
                                                          content=settings.content_levels,
                                                          web_url=settings.web_address,
                                                          files_key=settings.storage_key_bytes,
                                                          verify_key=settings.verify_key_bytes,
                                                          verify_url=settings.verify_url))
    dispatcher["web_url"] = settings.web_address  # where a channel that cannot carry something sends people
    dispatcher.update.outer_middleware(ActorI18nMiddleware(runtime.i18n))
    dispatcher.update.outer_middleware(PrivateChatGuard())
    dispatcher.callback_query.outer_middleware(AnswerPress())  # outermost: it sees every answer of the press
    dispatcher.message.outer_middleware(PromptRights())
    dispatcher.callback_query.outer_middleware(PromptRights())
    dispatcher.include_routers(errors.build_router(), *handlers.routers())
    if background:
        jobs = Jobs(runtime)
        dispatcher["jobs"] = jobs  # the web chat served beside it adds its sender (bot/web/run.py)
        dispatcher.startup.register(jobs.start)
        dispatcher.shutdown.register(jobs.stop)
    return dispatcher


async def register_commands(bot: Bot, i18n: CatalogI18n) -> None:
    """The command menu in every language, the default language also for clients in any other.
    Only the commands open to everyone are in the shared menu; /help lists the rest by role."""
    scope = BotCommandScopeAllPrivateChats()
    shared = [spec for spec in COMMANDS if spec.roles is None]
    for locale in (None, *i18n.available_locales):
        translate = i18n.translator(locale)
        commands = [BotCommand(command=spec.command, description=translate(spec.description)) for spec in shared]
        await bot.set_my_commands(commands, scope=scope, language_code=locale)
