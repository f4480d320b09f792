"""Running the bot against Telegram: long polling, or a webhook server."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.factory import create_bot, create_dispatcher, register_commands
from bot.instances.turns import TurnIsolation
from bot.runtime import Runtime
from bot.settings import Settings

logger = logging.getLogger(__name__)


def _bot_and_dispatcher(runtime: Runtime) -> tuple[Bot, Dispatcher]:
    settings = runtime.settings
    bot = create_bot(settings.require_token(), settings.api_base)
    return bot, create_dispatcher(runtime, background=True)


@asynccontextmanager
async def _web_beside(runtime: Runtime, dispatcher: Dispatcher, with_web: bool) -> AsyncIterator[None]:
    """The web chat served by the same process and Dispatcher, its sender among the same jobs."""
    if not with_web:
        yield
        return
    from bot.web.run import start_web

    _server, runner = await start_web(runtime, dispatcher, dispatcher["jobs"])
    print(f"HoSo web chat: {runtime.settings.web_address}", flush=True)
    try:
        yield
    finally:
        await runner.cleanup()


@asynccontextmanager
async def _zalo_beside(runtime: Runtime, dispatcher: Dispatcher) -> AsyncIterator[None]:
    """Zalo served by the same process and Dispatcher when HOSO_ZALO_TOKEN is set, its sender among the jobs."""
    if runtime.settings.zalo_token is None:
        yield
        return
    from bot.zalo.run import start_zalo

    service = await start_zalo(runtime, dispatcher, dispatcher["jobs"])
    try:
        yield
    finally:
        await service.stop()


async def run_polling(runtime: Runtime, with_web: bool = False) -> None:
    bot, dispatcher = _bot_and_dispatcher(runtime)

    async def on_startup(bot: Bot) -> None:
        # A webhook left behind would make every getUpdates fail with 409.
        await bot.delete_webhook(drop_pending_updates=False)
        await register_commands(bot, runtime.i18n)

    dispatcher.startup.register(on_startup)
    try:
        async with _web_beside(runtime, dispatcher, with_web), _zalo_beside(runtime, dispatcher):
            await dispatcher.start_polling(bot, allowed_updates=dispatcher.resolve_used_update_types())
    finally:
        await bot.session.close()


class OrderedRequestHandler(SimpleRequestHandler):
    """aiogram's webhook handler, which answers Telegram at once and handles the update in the background, with
    one step before the answer when several instances share Redis: the update takes its user's turn ticket
    (bot/instances/turns.py). Answered before that, the user's next update, sent to another instance, could
    take an earlier ticket and be handled first. Only the ticket is awaited, never the turn itself."""

    async def _handle_request_background(self, bot: Bot, request: web.Request) -> web.Response:
        isolation = self.dispatcher.fsm.events_isolation
        if not isinstance(isolation, TurnIsolation):
            return await super()._handle_request_background(bot, request)
        raw = await request.json(loads=bot.session.json_loads)
        update = Update.model_validate(raw, context={"bot": bot})
        where = UserContextMiddleware.resolve_event_context(update)
        context = self.dispatcher.fsm.resolve_context(bot, where.chat_id, where.user_id, where.thread_id,
                                                      where.business_connection_id)
        if context is not None:
            await isolation.arrive(context.key)
        task = asyncio.create_task(self._feed_in_turn(bot, raw, isolation))  # copies the ticket's context
        self._background_feed_update_tasks.add(task)
        task.add_done_callback(self._background_feed_update_tasks.discard)
        return web.json_response({}, dumps=bot.session.json_dumps)

    async def _feed_in_turn(self, bot: Bot, raw: dict[str, Any], isolation: TurnIsolation) -> None:
        try:
            result = await self.dispatcher.feed_raw_update(bot, raw, **self.data)
            if isinstance(result, TelegramMethod):
                await self.dispatcher.silent_call_request(bot=bot, result=result)
        finally:
            await isolation.settle_arrival()


class WebhookApp:
    """The aiohttp application and what registers it with Telegram once it listens."""

    def __init__(self, runtime: Runtime) -> None:
        self.url, self.secret = runtime.settings.require_webhook()
        self.bot, self.dispatcher = _bot_and_dispatcher(runtime)
        self.runtime = runtime
        self.app = web.Application()
        # Every request must carry the secret in Telegram's header, or it gets 401.
        handler = OrderedRequestHandler(dispatcher=self.dispatcher, bot=self.bot, secret_token=self.secret)
        handler.register(self.app, path=urlsplit(self.url).path or "/")
        setup_application(self.app, self.dispatcher, bot=self.bot)

    async def register(self) -> None:
        """Point Telegram at us, only once the port is bound: never at a server that did not start."""
        await register_commands(self.bot, self.runtime.i18n)
        await self.bot.set_webhook(
            self.url,
            secret_token=self.secret,
            allowed_updates=self.dispatcher.resolve_used_update_types(),
            drop_pending_updates=False,
        )
        logger.info("webhook registered")


class ListenError(Exception):
    """The webhook server could not bind its address."""


async def run_webhook(runtime: Runtime, with_web: bool = False) -> None:
    settings = runtime.settings
    webhook = WebhookApp(runtime)
    stop = _stop_event()
    runner = web.AppRunner(webhook.app, access_log=None)
    await runner.setup()
    async with _web_beside(runtime, webhook.dispatcher, with_web), _zalo_beside(runtime, webhook.dispatcher):
        await _serve_webhook(settings, webhook, runner, stop)


async def _serve_webhook(settings: Settings, webhook: WebhookApp, runner: web.AppRunner, stop: asyncio.Event) -> None:
    try:
        try:
            await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
        except OSError as exc:
            raise ListenError(f"{settings.webhook_host}:{settings.webhook_port}: {exc.strerror}") from None
        logger.info("webhook server on %s:%s", settings.webhook_host, settings.webhook_port)
        await webhook.register()
        await stop.wait()
    finally:
        _release_signals()
        await runner.cleanup()


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _stop_event() -> asyncio.Event:
    """Set on SIGINT or SIGTERM, so that a service manager's stop shuts the server down cleanly,
    installed before start-up so that even an early stop goes through the clean-up."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in _SIGNALS:
        loop.add_signal_handler(number, stop.set)
    return stop


def _release_signals() -> None:
    loop = asyncio.get_running_loop()
    for number in _SIGNALS:
        loop.remove_signal_handler(number)
