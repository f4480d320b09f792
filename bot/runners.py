"""Running the bot against Telegram: long polling, or a webhook server."""

from __future__ import annotations

import asyncio
import logging
import signal
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.factory import create_bot, create_dispatcher, register_commands
from bot.runtime import Runtime

logger = logging.getLogger(__name__)


def _bot_and_dispatcher(runtime: Runtime) -> tuple[Bot, Dispatcher]:
    settings = runtime.settings
    bot = create_bot(settings.require_token(), settings.api_base)
    return bot, create_dispatcher(runtime)


async def run_polling(runtime: Runtime) -> None:
    bot, dispatcher = _bot_and_dispatcher(runtime)

    async def on_startup(bot: Bot) -> None:
        # A webhook left behind would make every getUpdates fail with 409.
        await bot.delete_webhook(drop_pending_updates=False)
        await register_commands(bot, runtime.i18n)

    dispatcher.startup.register(on_startup)
    try:
        await dispatcher.start_polling(bot, allowed_updates=dispatcher.resolve_used_update_types())
    finally:
        await bot.session.close()


def build_webhook_app(runtime: Runtime) -> web.Application:
    """The aiohttp application; every request must carry the secret in its Telegram header."""
    url, secret = runtime.settings.require_webhook()
    bot, dispatcher = _bot_and_dispatcher(runtime)
    path = urlsplit(url).path or "/"

    async def on_startup(bot: Bot) -> None:
        await register_commands(bot, runtime.i18n)
        await bot.set_webhook(
            url, secret_token=secret, allowed_updates=dispatcher.resolve_used_update_types(), drop_pending_updates=False
        )
        logger.info("webhook registered, listening on %s", path)

    dispatcher.startup.register(on_startup)
    app = web.Application()
    SimpleRequestHandler(dispatcher=dispatcher, bot=bot, secret_token=secret).register(app, path=path)
    setup_application(app, dispatcher, bot=bot)
    return app


async def run_webhook(runtime: Runtime) -> None:
    app = build_webhook_app(runtime)
    settings = runtime.settings
    runner = web.AppRunner(app, access_log=None)  # paths are not secret, but keep the log to incidents
    await runner.setup()
    site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
    await site.start()
    logger.info("webhook server on %s:%s", settings.webhook_host, settings.webhook_port)
    try:
        await _stop_signal()
    finally:
        await runner.cleanup()


async def _stop_signal() -> None:
    """Wait for SIGINT or SIGTERM, so that a service manager's stop shuts the server down cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    try:
        await stop.wait()
    finally:
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(number)
