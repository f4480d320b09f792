"""/feedback: a suggestion or a problem for the personnel office, with a screenshot if you like; the
office's list, its answer (planned or done), which goes back to the sender."""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from handlers.forms import Field, Form, Reply, busy, register, start_form
from handlers.views import MAX_MESSAGE_LENGTH, button, error_text, esc
from services.core.clock import format_local_date
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.core.policy import Action
from services.facade import Services
from services.oversight.feedback import KINDS, STATUSES, FeedbackView
from services.platform.attachments import Upload


class FeedbackAnswer(CallbackData, prefix="fba"):
    id: int


class FeedbackShot(CallbackData, prefix="fbs"):
    id: int


async def _check(services: Services, context: dict[str, Any], key: str, value: str) -> str:
    return services.feedback.check(key, value)


async def _summary(services: Services, context: dict[str, Any], answers: dict[str, str], shown: dict[str, str]) -> str:
    return "\n".join([_("<b>Your feedback</b> — please check:"),
                      _("Kind: {kind}").format(kind=esc(shown.get("kind") or answers["kind"])),
                      esc(answers["text"])])


async def _send(services: Services, answers: dict[str, str], uploads: list[Upload]) -> Reply:
    if len(uploads) > 1:
        raise InvalidInput("attachment", N_("Send one screenshot at most."))
    sent = await services.feedback.send(answers["kind"], answers["text"], uploads[0] if uploads else None)
    return Reply(_("Thank you. Your feedback #{number} is with the personnel office; its answer will come here.")
                 .format(number=sent.id))


SEND_FORM = register(Form("feedback", N_("Feedback to the personnel office"), (
    Field("kind", N_("Is it a suggestion or a problem?"), choices=tuple(KINDS.items())),
    Field("text", N_("Describe it in one message (what you did, what happened, what you expected):")),
), _send, check=_check, summary=_summary, attachments=True,
    attachment_hint=N_("You may add a screenshot (JPG or PNG) as a photo or a document."),
    attachment_reminder=N_("You may still add a screenshot as a photo or a document."), action=Action.SEND_FEEDBACK))


async def _answer(services: Services, answers: dict[str, str]) -> Reply:
    done = await services.feedback.answer(int(answers["_feedback"]), answers["status"], answers["answer"])
    return Reply(_("Answered #{number} ({status}); the sender is told.").format(
        number=done.id, status=esc(_(STATUSES[done.status]))))


ANSWER_FORM = register(Form("feedback_answer", N_("Answer to feedback"), (
    Field("status", N_("What becomes of it?"), choices=(("planned", N_("Planned")), ("done", N_("Done")))),
    Field("answer", N_("Your answer to the sender, in one message:")),
), _answer, check=_check, action=Action.ANSWER_FEEDBACK))


SHOWN = 15  # items in the office's list, in one message
EXCERPT = 400
ROOM = MAX_MESSAGE_LENGTH - 200  # for the closing line


def excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT else text[:EXCERPT - 1] + "…"


def item_text(item: FeedbackView, tz: Any) -> str:
    lines = [_("#{number} {kind} from <b>{name}</b> ({username}, {unit}), {date} — {status}").format(
        number=item.id, kind=esc(_(KINDS[item.kind])), name=esc(item.full_name), username=esc(item.username),
        unit=esc(item.unit_name), date=format_local_date(item.created_at, tz), status=esc(_(STATUSES[item.status]))),
        esc(excerpt(item.text))]
    if item.screenshot:
        lines.append(_("Screenshot: {name}").format(name=esc(item.screenshot)))
    if item.answer:
        lines.append(_("Answer: {text}").format(text=esc(excerpt(item.answer))))
    return "\n".join(lines)


def own_line(item: FeedbackView) -> str:
    line = f"#{item.id} {esc(_(KINDS[item.kind]))}: {esc(_(STATUSES[item.status]))}"
    if item.answer:  # told in chat too; signed out meanwhile, the sender reads it here
        line += " — " + _("Answer: {text}").format(text=esc(excerpt(item.answer)))
    return line


async def feedback(message: Message, command: CommandObject, state: FSMContext, services: Services) -> None:
    if not services.allows(Action.ANSWER_FEEDBACK):
        services.require(Action.SEND_FEEDBACK)
        mine = await services.feedback.mine()
        intro = _("Your latest feedback:") + "\n" + "\n".join(own_line(item) for item in mine[:3]) if mine else None
        await start_form(message, state, SEND_FORM, services, intro=intro)
        return
    try:
        items = await services.feedback.listing((command.args or "").strip() or None)
    except InvalidInput as error:
        await message.answer(error_text(error))
        return
    if not items:
        await message.answer(_("No feedback waits for an answer. /feedback all lists every one."))
        return
    # One message, a row of buttons per item: a list of many is no burst of messages.
    lines = [_("<b>Feedback</b>: {count} (newest first; /feedback all, /feedback done…)").format(count=len(items))]
    rows = []
    for item in items[:SHOWN]:
        entry = item_text(item, services.clock.tz)
        if sum(len(line) + 1 for line in lines) + len(entry) > ROOM:
            break  # the message would be cut: its buttons would outnumber what it shows
        lines += ["", entry]
        row = [button(f"✍️ #{item.id} " + _("Answer"), FeedbackAnswer(id=item.id))]
        if item.screenshot:
            row.append(button(f"🖼 #{item.id} " + _("Screenshot"), FeedbackShot(id=item.id)))
        rows.append(row)
    if len(items) > len(rows):
        lines += ["", _("… and {count} more: hoso feedback list on the server.").format(count=len(items) - len(rows))]
    await message.answer("\n".join(lines), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


async def answer(query: CallbackQuery, callback_data: FeedbackAnswer, state: FSMContext, services: Services) -> None:
    services.require(Action.ANSWER_FEEDBACK)
    if await busy(query, state):
        return
    if isinstance(query.message, Message):
        await start_form(query.message, state, ANSWER_FORM, services, {"feedback": callback_data.id},
                         intro=_("Answer to feedback #{number}.").format(number=callback_data.id))


async def screenshot(query: CallbackQuery, callback_data: FeedbackShot, services: Services) -> None:
    name, content = await services.feedback.screenshot(callback_data.id)
    if isinstance(query.message, Message):
        await query.message.answer_document(BufferedInputFile(content, filename=name),
                                            caption=_("Screenshot of feedback #{number}.").format(number=callback_data.id))


def build_router() -> Router:
    router = Router(name="feedback")
    router.message.register(feedback, Command("feedback"))
    router.callback_query.register(answer, FeedbackAnswer.filter())
    router.callback_query.register(screenshot, FeedbackShot.filter())
    return router
