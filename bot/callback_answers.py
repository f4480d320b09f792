"""Every button press answered exactly once.

Telegram accepts one answer per callback query and refuses a second ("query is too old"), so a refusal
sent after an early plain answer is never seen. Handlers therefore do not answer a press just to stop
the client's spinner: `AnswerPress` does it after the handler returns, unless the handler answered
itself (an alert, a "Muted" note). When the handler raises instead, the error handler answers with the
refusal, or, when the press was already answered, sends the refusal as a message.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery, Response, TelegramMethod
from aiogram.types import CallbackQuery, TelegramObject

logger = logging.getLogger(__name__)

# The presses answered while this update is handled (one update, one task, one context).
_answered: ContextVar[set[str] | None] = ContextVar("hoso_answered_presses", default=None)


def answered(query: CallbackQuery) -> bool:
    seen = _answered.get()
    return seen is not None and query.id in seen


class RecordAnswers(BaseRequestMiddleware):
    """Notes each answerCallbackQuery that leaves, whoever sends it."""

    async def __call__(
        self, make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Response[Any]:
        if isinstance(method, AnswerCallbackQuery):
            seen = _answered.get()
            if seen is not None:
                seen.add(method.callback_query_id)
        return await make_request(bot, method)


class AnswerPress(BaseMiddleware):
    """An outer callback-query middleware: the plain answer, after a handler that gave none."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, CallbackQuery):
            return await handler(event, data)
        _answered.set(set())  # this press's own record, left in place for the error handler
        result = await handler(event, data)  # a refusal raised here is answered by the error handler
        if not answered(event):
            try:
                await event.answer()
            except TelegramBadRequest as exc:  # "query is too old" after a long render: the work is done
                logger.info("press %s answered too late: %s", event.id, exc)
        return result
