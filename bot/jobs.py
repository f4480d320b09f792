"""Background work inside `hoso run`: for now, escalating custody requests left pending too long.

A plain asyncio task started with the dispatcher and cancelled with it. Each pass is idempotent (an
escalated request is marked and never escalated twice), so a restart loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from bot.runtime import Runtime
from handlers.transfers import escalation_notices
from services.actor import Actor
from services.transfers import TransferService

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 15 * 60


class Jobs:
    def __init__(self, runtime: Runtime, interval: float = INTERVAL_SECONDS) -> None:
        self.runtime, self.interval = runtime, interval
        self._task: asyncio.Task[None] | None = None

    async def start(self, bot: Bot) -> None:
        self._task = asyncio.create_task(self._loop(bot), name="hoso-jobs")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self, bot: Bot) -> None:
        while True:
            try:
                await self.run_once(bot)
            except Exception:  # a failed pass is retried at the next one; the loop must live
                logger.exception("background pass failed")
            await asyncio.sleep(self.interval)

    async def run_once(self, bot: Bot) -> int:
        """One pass; the number of requests escalated."""
        service = TransferService(self.runtime.uow, Actor.system(), self.runtime.clock)
        views, admins = await service.escalate_overdue()
        if views:
            i18n = self.runtime.i18n
            for notice in escalation_notices(views, admins):
                with i18n.context(), i18n.use_locale(notice.locale or i18n.default_locale):
                    text = notice.render()
                try:
                    await bot.send_message(notice.chat_id, text)
                except TelegramAPIError as exc:
                    logger.warning("could not tell admin chat %s of escalations: %s", notice.chat_id, exc)
            logger.info("escalated %d custody requests", len(views))
        return len(views)
