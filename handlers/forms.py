"""Guided forms: one question at a time, then one service call.

A wrong answer re-asks the same question with the reason and keeps every earlier answer: the service
names the field it refuses (`InvalidInput.field`), and the form goes back to exactly that question.
The answers live in the FSM storage, so a half-filled form survives a restart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram import F, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.views import error_text, esc
from services.errors import InvalidInput, ServiceError
from services.facade import Services
from services.i18n import N_
from services.sessions import SessionExpired

SKIP = "-"


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    question: str  # untranslated message id
    choices: tuple[tuple[str, str], ...] = ()  # (value, label message id): answered with buttons
    optional: bool = False  # "-" leaves it empty


Submit = Callable[[Services, dict[str, str]], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Form:
    name: str
    title: str  # untranslated message id
    fields: tuple[Field, ...]
    submit: Submit  # returns the HTML answer, every dynamic value escaped


FORMS: dict[str, Form] = {}


def register(form: Form) -> Form:
    FORMS[form.name] = form
    return form


class FormStates(StatesGroup):
    answering = State()


class FormChoice(CallbackData, prefix="fc"):
    value: str


class FormBack(CallbackData, prefix="fb"):
    pass


def _keyboard(field: Field, step: int) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    for value, label in field.choices:
        builder.button(text=_(label), callback_data=FormChoice(value=value))
    if step > 0:
        builder.button(text=_("‹ Back"), callback_data=FormBack())
    builder.adjust(2)
    return builder.as_markup() if field.choices or step > 0 else None


async def _ask(message: Message, form: Form, step: int, reason: str | None = None) -> None:
    field = form.fields[step]
    lines = [reason] if reason else []
    lines.append(f"<b>{esc(_(form.title))}</b> ({step + 1}/{len(form.fields)})")
    lines.append(esc(_(field.question)))
    if field.optional:
        lines.append(_("Send {skip} to leave it empty.").format(skip=SKIP))
    await message.answer("\n".join(lines), reply_markup=_keyboard(field, step))


async def start_form(message: Message, state: FSMContext, form: Form) -> None:
    await state.set_state(FormStates.answering)
    await state.set_data({"form": form.name, "step": 0, "answers": {}})
    await message.answer(_("Send /cancel at any time to stop; nothing is saved until the last answer."))
    await _ask(message, form, 0)


async def _accept(message: Message, state: FSMContext, services: Services, value: str) -> None:
    data = await state.get_data()
    form = FORMS.get(data.get("form", ""))
    if form is None:
        await state.clear()
        return
    step, answers = data["step"], dict(data["answers"])
    field = form.fields[step]
    value = value.strip()
    if field.choices and value not in {choice for choice, _label in field.choices}:
        await _ask(message, form, step, _("Please choose one of the buttons."))
        return
    if not value and not field.optional:
        await _ask(message, form, step, _("An answer is needed here."))
        return
    answers[field.key] = "" if field.optional and value == SKIP else value
    # The next question still unanswered: after a corrected answer, the later ones are kept.
    following = next((i for i, f in enumerate(form.fields) if f.key not in answers), None)
    if following is not None:
        await state.update_data(step=following, answers=answers)
        await _ask(message, form, following)
        return
    await state.update_data(answers=answers)
    try:
        result = await form.submit(services, answers)
    except InvalidInput as error:
        keys = [f.key for f in form.fields]
        if error.field in keys:  # back to the refused question, the other answers kept
            back = keys.index(error.field)
            answers.pop(error.field, None)
            await state.update_data(step=back, answers=answers)
            await _ask(message, form, back, error_text(error))
            return
        await state.clear()
        await message.answer(error_text(error))
        return
    except SessionExpired:
        raise  # the form waits, answers kept, while the password is asked again
    except ServiceError:
        await state.clear()
        raise  # the error handler answers the refusal
    await state.clear()
    await message.answer(result)


async def on_text(message: Message, state: FSMContext, services: Services) -> None:
    await _accept(message, state, services, message.text or "")


async def on_choice(query: CallbackQuery, callback_data: FormChoice, state: FSMContext, services: Services) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await _accept(query.message, state, services, callback_data.value)


async def on_back(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    data = await state.get_data()
    form = FORMS.get(data.get("form", ""))
    if form is None or not isinstance(query.message, Message):
        return
    step = max(0, data["step"] - 1)
    answers = {k: v for k, v in data["answers"].items() if k in [f.key for f in form.fields[:step]]}
    await state.update_data(step=step, answers=answers)
    await _ask(query.message, form, step)


def build_router() -> Router:
    router = Router(name="forms")
    router.message.register(on_text, FormStates.answering, F.text, ~F.text.startswith("/"))
    router.callback_query.register(on_choice, FormStates.answering, FormChoice.filter())
    router.callback_query.register(on_back, FormStates.answering, FormBack.filter())
    return router


__all__ = ["Field", "Form", "FormStates", "N_", "build_router", "register", "start_form"]
