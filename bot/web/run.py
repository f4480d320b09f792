"""Serving the web chat: alone (`hoso web`), or beside the Telegram bot in one process (`hoso run --web`)."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Dispatcher
from aiohttp import web

from bot.factory import create_dispatcher
from bot.jobs import Jobs
from bot.runtime import Runtime
from bot.web.errors import WebListenError
from bot.web.server import WebServer

logger = logging.getLogger(__name__)


async def start_web(runtime: Runtime, dispatcher: Dispatcher, jobs: Jobs) -> tuple[WebServer, web.AppRunner]:
    """The web chat listening, its outbox sender among the jobs'."""
    server = WebServer(runtime, dispatcher)
    runner = web.AppRunner(server.application(), access_log=None)
    await runner.setup()
    settings = runtime.settings
    try:
        await web.TCPSite(runner, settings.web_host, settings.web_port).start()
    except OSError as exc:
        await runner.cleanup()
        raise WebListenError(f"{settings.web_host}:{settings.web_port}: {exc.strerror}") from None
    await jobs.start_sender(server.chat.bot)
    server.outbox = jobs.sender_of(server.chat.bot)
    logger.info("web chat on %s", settings.web_address)
    return server, runner


async def run_web(runtime: Runtime, ready: asyncio.Event | None = None) -> None:
    """`hoso web`: the web chat and the background jobs, until SIGINT or SIGTERM."""
    from bot.runners import _release_signals, _stop_event

    dispatcher = create_dispatcher(runtime)
    jobs = Jobs(runtime)
    stop = _stop_event()
    server, runner = await start_web(runtime, dispatcher, jobs)
    zalo = None
    try:
        if runtime.settings.zalo_token is not None:  # a province without Telegram: the web chat and Zalo
            from bot.zalo.run import start_zalo

            zalo = await start_zalo(runtime, dispatcher, jobs)
        await dispatcher.emit_startup(bot=server.chat.bot)
        await jobs.check_outage()
        jobs.run_in_background()
        print(f"HoSo web chat: {runtime.settings.web_address}", flush=True)  # the readiness line
        if ready is not None:
            ready.set()
        await stop.wait()
    finally:
        _release_signals()
        logger.info("web chat stopping")
        if zalo is not None:
            await zalo.stop()
        await jobs.stop()
        logger.info("web chat stopping: background jobs stopped")
        await dispatcher.emit_shutdown(bot=server.chat.bot)
        logger.info("web chat stopping: updates in hand finished")
        await runner.cleanup()
        logger.info("web chat stopped")
