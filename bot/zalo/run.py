"""Serving Zalo inside `hoso run`, beside the other channels: its Bot, its intake (long polling, or a webhook
when HOSO_ZALO_WEBHOOK_SECRET is set) and its outbox sender among the process's jobs."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError
from aiohttp import web

from bot.factory import create_bot
from bot.jobs import Jobs
from bot.runtime import Runtime
from bot.web.files import FileStore
from bot.zalo.chats import ZaloChats
from bot.zalo.client import ZaloClient
from bot.zalo.intake import ZaloIntake
from bot.zalo.session import ZALO_BOT_TOKEN, KeepDocument, ZaloBotSession
from services.core.actor import Channel
from services.core.i18n import N_
from services.core.identity import load_actor

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/zalo/webhook"


class ZaloStartError(Exception):
    """Zalo could not be served: `setting` is the variable to look at, `reason` an untranslated message id."""

    def __init__(self, setting: str, reason: str, **params: str) -> None:
        super().__init__(f"{setting}: {reason}")
        self.setting, self.reason, self.params = setting, reason, params


def document_keeper(runtime: Runtime) -> KeepDocument:
    """A file for a Zalo address kept in the web chat's store for the account behind it: the link opens it only
    for that account, signed in on the web chat."""
    settings = runtime.settings
    files = FileStore(settings.files_dir / "web-downloads", dt.timedelta(minutes=settings.web_file_minutes))

    async def keep(address: str, name: str, content: bytes) -> str | None:
        actor = await load_actor(runtime.uow, Channel.ZALO, address)
        if actor.account_id is None:
            return None
        file_id = files.put(actor.account_id, name, content, runtime.clock.now())
        return f"{settings.web_address.rstrip('/')}/files/{file_id}"

    return keep


def zalo_bot(runtime: Runtime) -> tuple[Bot, ZaloBotSession]:
    settings = runtime.settings
    assert settings.zalo_token is not None
    client = ZaloClient(settings.zalo_token.get_secret_value(), settings.zalo_base)
    session = ZaloBotSession(client, settings.web_address, document_keeper(runtime),
                             ZaloChats(runtime.fsm_storage))
    return create_bot(ZALO_BOT_TOKEN, session=session), session


@dataclass
class ZaloService:
    bot: Bot
    intake: ZaloIntake
    poller: asyncio.Task[None] | None = None
    runner: web.AppRunner | None = None

    async def stop(self) -> None:
        if self.poller is not None:
            self.poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.poller
        if self.runner is not None:
            await self.runner.cleanup()
        await self.intake.drain()
        await self.bot.session.close()


async def start_zalo(runtime: Runtime, dispatcher: Dispatcher, jobs: Jobs) -> ZaloService:
    settings = runtime.settings
    bot, session = zalo_bot(runtime)

    async def locale_of(address: str) -> str | None:
        return (await load_actor(runtime.uow, Channel.ZALO, address)).locale

    intake = ZaloIntake(dispatcher, bot, session, runtime.i18n, locale_of, settings.web_address)
    try:
        await bot.get_me()  # a refused token stops the start here (Zalo's refusal read as aiogram's)
    except TelegramUnauthorizedError:
        await session.close()
        raise ZaloStartError("HOSO_ZALO_TOKEN", N_("Zalo refused this token")) from None
    except TelegramAPIError:
        await session.close()
        raise ZaloStartError("HOSO_ZALO_API_BASE", N_("the Zalo Bot API cannot be reached at {base}"),
                             base=settings.zalo_base) from None
    if settings.web_url is None:  # every refusal and document of Zalo points to the web chat
        logger.warning("HOSO_WEB_URL is not set: the links sent on Zalo point to %s", settings.web_address)
    service = ZaloService(bot, intake)
    if settings.zalo_webhook_secret is None:
        service.poller = asyncio.create_task(intake.poll(), name="hoso-zalo-polling")
    else:
        secret = settings.zalo_webhook_secret.get_secret_value()
        path = urlsplit(str(settings.zalo_webhook_url)).path if settings.zalo_webhook_url else WEBHOOK_PATH
        app = web.Application()
        app.router.add_post(path or WEBHOOK_PATH, intake.webhook(secret))
        service.runner = web.AppRunner(app, access_log=None)
        await service.runner.setup()
        try:
            await web.TCPSite(service.runner, settings.zalo_webhook_host, settings.zalo_webhook_port).start()
        except OSError:
            await service.runner.cleanup()
            await session.close()
            raise ZaloStartError("HOSO_ZALO_WEBHOOK_HOST/HOSO_ZALO_WEBHOOK_PORT", N_("cannot listen on {address}"),
                                 address=f"{settings.zalo_webhook_host}:{settings.zalo_webhook_port}") from None
        if settings.zalo_webhook_url is not None:  # registered only once it listens
            await session.client.call("setWebhook", url=str(settings.zalo_webhook_url), secret_token=secret)
        logger.info("Zalo webhook on %s:%s", settings.zalo_webhook_host, settings.zalo_webhook_port)
    await jobs.start_sender(bot)
    print("HoSo Zalo: serving", flush=True)  # the readiness line
    return service
