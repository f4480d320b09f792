"""Guided forms: one question at a time, then one service call.

A wrong answer re-asks the same question with the reason and keeps every earlier answer: each answer
may be checked as it comes (`Form.check`), and at the end the service names the field it refuses
(`InvalidInput.field`), and the form goes back to exactly that question. A form may end on a summary
with Confirm / Edit field / Cancel, offer optional groups of questions, and take scanned papers sent
as documents or photos along the way. Everything lives in the FSM storage, so a half-filled form
survives a restart.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from handlers.views import button, error_text, esc, keyboard
from services.core.actor import Actor, Channel
from services.core.errors import InvalidInput, ServiceError
from services.core.i18n import N_
from services.core.policy import Action, allows
from services.facade import Services
from services.platform.attachments import Upload, check_announced
from services.platform.sessions import SessionExpired

SKIP = "-"
# A date typed with a two-digit year: the century was chosen, so the answer says how it was read.
SHORT_YEAR_DATE = re.compile(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2}")
MENU, SUMMARY = -1, -2  # steps that are not questions
MAX_FILES = 5

Choices = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    question: str  # untranslated message id
    choices: tuple[tuple[str, str], ...] = ()  # (value, label message id): answered with buttons
    optional: bool = False  # "-" leaves it empty
    options: Callable[[Services], Awaitable[Choices]] | None = None  # buttons from the data, labels as shown
    # buttons that depend on what the form is about (its context), e.g. the units that may ask for this dossier
    context_options: Callable[[Services, dict[str, Any]], Awaitable[Choices]] | None = None
    free: bool = False  # with buttons, a typed answer is accepted too (and checked)
    group: str | None = None  # an optional group, asked only when the user opens it


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    markup: InlineKeyboardMarkup | None = None


Submit = Callable[..., Awaitable[str | Reply]]  # (services, answers[, uploads])
Check = Callable[[Services, dict[str, Any], str, str], Awaitable[str]]  # (services, context, key, value)
# (services, context, answers, shown): `shown` holds how button answers read (their labels)
Summary = Callable[[Services, dict[str, Any], dict[str, str], dict[str, str]], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Form:
    name: str
    title: str  # untranslated message id
    fields: tuple[Field, ...]
    submit: Submit  # returns the HTML answer, every dynamic value escaped
    check: Check | None = None
    summary: Summary | None = None  # when set, the form ends on Confirm / Edit field / Cancel
    groups: dict[str, str] = field(default_factory=dict)  # optional group → its title (message id)
    attachments: bool = False
    # What the user is told they may send along (message ids): the scanned decision, unless said otherwise.
    attachment_hint: str = N_("You can send the scanned decision (PDF, JPG, PNG or DOCX, up to 20 MB) at any step.")
    attachment_reminder: str = N_("You may still send the scanned decision as a document or photo.")
    # What the first message says of saving; a form whose answers are each kept at once says so instead.
    keeping: str = N_("Send /cancel at any time to stop; nothing is saved until the last answer.")
    # What the form is for: re-checked on every answer and button, so that a revoked or restricted
    # account cannot go on with a form it started (deny by default: every form names it).
    action: Action = field(kw_only=True)

    def index(self, key: str) -> int:
        return [f.key for f in self.fields].index(key)


FORMS: dict[str, Form] = {}


def register(form: Form) -> Form:
    FORMS[form.name] = form
    return form


class FormStates(StatesGroup):
    answering = State()


# Every prompt (a state waiting for the user's answer) names the action it serves, read from its data,
# or is declared free (signing in is how rights are gained); tests/test_invariants.py holds every prompt
# of the handlers to it. A state no version knows any more guards nothing: /cancel or the next prompt ends it.
ActionOf = Callable[[dict[str, Any]], Action | None]
PROMPTS: dict[str, ActionOf] = {}
FREE_PROMPTS: set[str] = set()


def guard_prompt(state: State, action: Action | ActionOf) -> None:
    """Declare what a prompt is for: its answers are refused once the actor may no longer do it."""
    assert state.state is not None
    PROMPTS[state.state] = action if callable(action) else (lambda _data: action)


def free_prompt(*states: State) -> None:
    FREE_PROMPTS.update(s.state for s in states if s.state is not None)


async def prompt_refused(raw_state: str | None, state: FSMContext, actor: Actor) -> bool:
    """True when the actor, as re-read for this update, may no longer do what the prompt under way is for."""
    rule = PROMPTS.get(raw_state or "")
    action = rule(await state.get_data()) if rule is not None else None
    return action is not None and not allows(actor, action)


class FormChoice(CallbackData, prefix="fc"):
    value: str


class FormBack(CallbackData, prefix="fb"):
    pass


class FormGroup(CallbackData, prefix="fg"):
    group: str  # "" closes the menu


class FormConfirm(CallbackData, prefix="fk"):
    action: str  # confirm | edit | cancel


class FormEdit(CallbackData, prefix="fe"):
    step: int


FORM_BUTTONS = frozenset(factory.__prefix__ for factory in (FormChoice, FormBack, FormGroup, FormConfirm, FormEdit))


def is_form_button(data: str | None) -> bool:
    return data is not None and data.split(":", 1)[0] in FORM_BUTTONS


guard_prompt(FormStates.answering, lambda data: FORMS[data["form"]].action if data.get("form") in FORMS else None)


# -- the conversation's data ------------------------------------------------------------------------------
@dataclass(slots=True)
class Progress:
    form: Form
    step: int
    answers: dict[str, str]
    shown: dict[str, str]  # how a button answer reads (its label), for the summary
    context: dict[str, Any]
    opened: list[str]  # optional groups the user chose to fill
    files: list[dict[str, Any]]
    trail: list[int]  # the questions asked, in order, for Back

    @classmethod
    async def load(cls, state: FSMContext) -> Progress | None:
        data = await state.get_data()
        form = FORMS.get(data.get("form", ""))
        if form is None:
            return None
        return cls(form, data.get("step", 0), dict(data.get("answers", {})), dict(data.get("shown", {})),
                   dict(data.get("context", {})), list(data.get("opened", [])), list(data.get("files", [])),
                   list(data.get("trail", [])))

    async def save(self, state: FSMContext) -> None:
        await state.set_data({"form": self.form.name, "step": self.step, "answers": self.answers,
                              "shown": self.shown, "context": self.context, "opened": self.opened,
                              "files": self.files, "trail": self.trail})

    def asked(self, f: Field) -> bool:
        return f.group is None or f.group in self.opened

    def following(self) -> int | None:
        """The next question still unanswered: after a corrected answer, the later ones are kept."""
        return next((i for i, f in enumerate(self.form.fields) if self.asked(f) and f.key not in self.answers), None)

    def closed_groups(self) -> list[str]:
        return [g for g in self.form.groups if g not in self.opened]


async def busy(query: CallbackQuery, state: FSMContext) -> bool:
    """True (and the user told so) when a form is half filled: another prompt would replace it."""
    if await state.get_state() != FormStates.answering.state:
        return False
    await query.answer(_("Finish the form under way first, or send /cancel."), show_alert=True)
    return True


async def ask_reason(query: CallbackQuery, state: FSMContext, reason_state: State, key: str, object_id: int,
                     question: str) -> None:
    """A rejection's reason, asked in its own prompt (unless a form is half filled)."""
    if await busy(query, state):
        return
    await state.set_state(reason_state)
    await state.set_data({key: object_id})
    if isinstance(query.message, Message):
        await query.message.answer(question)


async def take_reason(message: Message, state: FSMContext, key: str,
                      reject: Callable[[int, str], Awaitable[Any]], again: str = "") -> Any | None:
    """The typed reason given to `reject(object id, reason)`; its result, or None when the reason was
    refused and is asked again. Any other refusal ends the prompt, except an expired session, after
    which the prompt waits for the password."""
    object_id = int((await state.get_data()).get(key, 0))
    try:
        result = await reject(object_id, message.text or "")
    except InvalidInput as error:
        if error.field == "reason":
            await message.answer(error_text(error) + (f"\n{again}" if again else ""))
            return None
        await state.clear()
        raise
    except SessionExpired:
        raise
    except ServiceError:
        await state.clear()
        raise
    await state.clear()
    return result


def field_label(f: Field) -> str:
    """A question as a short label, for the summary and the Edit buttons: "Sex: " → "Sex"."""
    return _(f.question).split(" (")[0].rstrip(": ")


# -- asking ---------------------------------------------------------------------------------------------
async def _choices(services: Services, f: Field, context: dict[str, Any]) -> Choices:
    if f.context_options is not None:
        return await f.context_options(services, context)
    if f.options is not None:
        return await f.options(services)
    return [(value, _(label)) for value, label in f.choices]


async def _ask(message: Message, services: Services, progress: Progress, reason: str | None = None) -> None:
    form, step = progress.form, progress.step
    f = form.fields[step]
    asked = [x for x in form.fields if progress.asked(x)]
    lines = [reason] if reason else []
    lines.append(f"<b>{esc(_(form.title))}</b> ({asked.index(f) + 1}/{len(asked)})")
    lines.append(esc(_(f.question)))
    if f.optional:
        lines.append(_("Send {skip} to leave it empty.").format(skip=SKIP))
    picks = [button(label, FormChoice(value=value)) for value, label in await _choices(services, f, progress.context)]
    back = [button(_("‹ Back"), FormBack())] if progress.trail else []
    await message.answer("\n".join(lines), reply_markup=keyboard(picks, 2, back))


async def _menu(message: Message, progress: Progress) -> None:
    """The optional groups not yet filled, and the way on."""
    picks = [button(_(progress.form.groups[g]), FormGroup(group=g)) for g in progress.closed_groups()]
    onward = _("Go to the summary") if progress.form.summary else _("Finish")
    await message.answer(_("The required answers are in. Fill an optional group now, or later:"),
                         reply_markup=keyboard(picks, 2, [button(onward, FormGroup(group=""))]))


async def _summarise(message: Message, state: FSMContext, services: Services, progress: Progress) -> bool:
    """The summary with Confirm / Edit field / Cancel; False when the service refused the answers."""
    assert progress.form.summary is not None
    try:
        text = await progress.form.summary(services, progress.context, progress.answers, progress.shown)
    except InvalidInput as error:
        await _refused(message, state, services, progress, error)
        return False
    if progress.files:
        text += "\n" + _("Attached: {names}").format(names=esc(", ".join(f["name"] for f in progress.files)))
    if progress.form.attachments:
        text += "\n" + _(attachment_note(services, progress.form.attachment_reminder))
    actions = [button(_("✅ Confirm"), FormConfirm(action="confirm")), button(_("✏️ Edit field"), FormConfirm(action="edit")),
               button(_("✖ Cancel"), FormConfirm(action="cancel"))]
    await message.answer(text, reply_markup=keyboard(actions, 3))
    return True


async def _advance(message: Message, state: FSMContext, services: Services, progress: Progress) -> None:
    """Ask the next question, or the group menu, or the summary, or submit."""
    following = progress.following()
    # the question just answered is where Back returns to, also from an optional group after the menu
    if progress.step >= 0 and progress.step != following and progress.form.fields[progress.step].key in progress.answers:
        progress.trail.append(progress.step)
    if following is not None:
        progress.step = following
        await progress.save(state)
        await _ask(message, services, progress)
        return
    if progress.closed_groups() and progress.step != MENU and not progress.context.get("_menu_done"):
        progress.step = MENU
        await progress.save(state)
        await _menu(message, progress)
        return
    if progress.form.summary is not None:
        progress.step = SUMMARY
        await progress.save(state)
        await _summarise(message, state, services, progress)
        return
    await _submit(message, state, services, progress)


async def _refused(message: Message, state: FSMContext, services: Services, progress: Progress,
                   error: InvalidInput) -> None:
    """Back to the refused question with the reason, the other answers kept. A refusal that names no
    question (the change is impossible as a whole) ends the form."""
    if error.field not in [f.key for f in progress.form.fields]:
        await state.clear()
        await message.answer(error_text(error))
        return
    progress.answers.pop(error.field, None)
    progress.step = progress.form.index(error.field)
    await progress.save(state)
    await _ask(message, services, progress, error_text(error))


# Zalo receives no files: the form says where the scan goes instead of asking for it there.
NO_FILES_HERE = N_("Files are not received here: to enter this with its scanned paper, use the web chat.")


def attachment_note(services: Services, note: str) -> str:
    return NO_FILES_HERE if services.actor.channel == Channel.ZALO else note


async def start_form(message: Message, state: FSMContext, form: Form, services: Services,
                     context: dict[str, Any] | None = None, intro: str | None = None) -> None:
    services.require(form.action)
    progress = Progress(form, 0, {}, {}, dict(context or {}), [], [], [])
    await state.set_state(FormStates.answering)
    note = intro + "\n" if intro else ""
    note += _(form.keeping)
    if form.attachments:
        note += "\n" + _(attachment_note(services, form.attachment_hint))
    await message.answer(note)
    progress.step = progress.following() or 0
    await progress.save(state)
    await _ask(message, services, progress)


# -- answering ------------------------------------------------------------------------------------------
async def _accept(message: Message, state: FSMContext, services: Services, value: str) -> None:
    progress = await Progress.load(state)
    if progress is None:
        await state.clear()
        return
    if progress.step < 0:  # the menu or the summary is showing: buttons only
        await message.answer(_("Please choose one of the buttons."))
        return
    f = progress.form.fields[progress.step]
    value = typed = value.strip()
    choices = await _choices(services, f, progress.context)
    if choices and not f.free and value not in {choice for choice, _label in choices}:
        await _ask(message, services, progress, _("Please choose one of the buttons."))
        return
    if value == SKIP:  # "-" leaves an optional answer empty; it is no answer to a required question
        value = ""
    if not value and not f.optional:
        await _ask(message, services, progress, _("An answer is needed here."))
        return
    if progress.form.check is not None:
        try:
            value = await progress.form.check(services, progress.context, f.key, value)
        except InvalidInput as error:
            await _ask(message, services, progress, error_text(error))
            return
    if SHORT_YEAR_DATE.fullmatch(typed) and value != typed:
        await message.answer(_("Read as: {typed} → {value}").format(typed=esc(typed), value=esc(value)))
    progress.answers[f.key] = value
    label = dict(choices).get(value)
    if label is not None:
        progress.shown[f.key] = label
    else:
        progress.shown.pop(f.key, None)
    await _advance(message, state, services, progress)


async def _submit(message: Message, state: FSMContext, services: Services, progress: Progress) -> None:
    form = progress.form
    answers = {**progress.answers, **{f"_{k}": str(v) for k, v in progress.context.items()}}
    try:
        if form.attachments:
            uploads = [await _download(message.bot, item) for item in progress.files]
            result = await form.submit(services, answers, uploads)
        else:
            result = await form.submit(services, answers)
    except InvalidInput as error:
        if error.field == "attachment":  # a paper refused at the end: the answers stay, the file goes
            progress.files = []
            await progress.save(state)
            await message.answer(error_text(error))
            return
        await _refused(message, state, services, progress, error)
        return
    except SessionExpired:
        raise  # the form waits, answers kept, while the password is asked again
    except ServiceError:
        await state.clear()
        raise  # the error handler answers the refusal
    await state.clear()
    reply = result if isinstance(result, Reply) else Reply(result)
    await message.answer(reply.text, reply_markup=reply.markup)


FETCH_FAILED = N_("The file could not be fetched; send it again.")


async def _download(bot: Bot | None, item: dict[str, Any]) -> Upload:
    if bot is None:
        raise InvalidInput("attachment", FETCH_FAILED)
    try:
        content = await bot.download(item["file_id"])
    except TelegramAPIError:
        raise InvalidInput("attachment", FETCH_FAILED) from None
    if content is None:
        raise InvalidInput("attachment", FETCH_FAILED)
    return Upload(item["name"], content.read())


# -- handlers -------------------------------------------------------------------------------------------
async def on_text(message: Message, state: FSMContext, services: Services) -> None:
    await _accept(message, state, services, message.text or "")


async def on_choice(query: CallbackQuery, callback_data: FormChoice, state: FSMContext, services: Services) -> None:
    progress = await Progress.load(state)
    if progress is not None and (progress.step < 0 or callback_data.value not in {
            value for value, _label in await _choices(services, progress.form.fields[progress.step],
                                                     progress.context)}):
        # a button of an earlier question: it must not answer the one asked now
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    if isinstance(query.message, Message):
        await _accept(query.message, state, services, callback_data.value)


async def on_back(query: CallbackQuery, state: FSMContext, services: Services) -> None:
    progress = await Progress.load(state)
    if progress is None or not isinstance(query.message, Message) or not progress.trail:
        return
    progress.step = progress.trail.pop()
    progress.answers.pop(progress.form.fields[progress.step].key, None)
    await progress.save(state)
    await _ask(query.message, services, progress)


async def on_group(query: CallbackQuery, callback_data: FormGroup, state: FSMContext, services: Services) -> None:
    progress = await Progress.load(state)
    if progress is None or not isinstance(query.message, Message) or progress.step != MENU:
        return
    if callback_data.group:
        if callback_data.group in progress.form.groups and callback_data.group not in progress.opened:
            progress.opened.append(callback_data.group)
    else:
        progress.context["_menu_done"] = True
    await _advance(query.message, state, services, progress)


async def on_confirm(query: CallbackQuery, callback_data: FormConfirm, state: FSMContext, services: Services) -> None:
    progress = await Progress.load(state)
    if progress is None or not isinstance(query.message, Message) or progress.step != SUMMARY:
        return
    if callback_data.action == "cancel":
        await state.clear()
        await query.message.answer(_("Cancelled. Nothing was saved."))
    elif callback_data.action == "edit":
        answered = [(i, f) for i, f in enumerate(progress.form.fields) if f.key in progress.answers]
        picks = [button(field_label(f), FormEdit(step=i)) for i, f in answered]
        await query.message.answer(_("Which answer do you want to change?"), reply_markup=keyboard(picks, 2))
    else:
        await _submit(query.message, state, services, progress)


async def on_edit(query: CallbackQuery, callback_data: FormEdit, state: FSMContext, services: Services) -> None:
    progress = await Progress.load(state)
    if (progress is None or not isinstance(query.message, Message) or progress.step != SUMMARY
            or not 0 <= callback_data.step < len(progress.form.fields)):
        return
    progress.answers.pop(progress.form.fields[callback_data.step].key, None)
    progress.trail = []
    progress.step = callback_data.step
    await progress.save(state)
    await _ask(query.message, services, progress)


async def on_file(message: Message, state: FSMContext, services: Services) -> None:
    """A scanned paper sent during a form: checked by its name and size now, fetched at the confirmation."""
    progress = await Progress.load(state)
    if progress is None:
        return
    if not progress.form.attachments:
        await message.answer(_("This form takes no attachments."))
        return
    if message.document is not None:
        name, file_id, size = message.document.file_name or "document", message.document.file_id, message.document.file_size
    else:
        photo = max(message.photo or [], key=lambda p: p.width * p.height)
        name, file_id, size = f"photo-{photo.file_unique_id}.jpg", photo.file_id, photo.file_size
    try:
        check_announced(name, size)
        if len(progress.files) >= MAX_FILES:
            raise InvalidInput("attachment", N_("At most {count} files per change."), count=MAX_FILES)
    except InvalidInput as error:
        await message.answer(error_text(error))
        return
    progress.files.append({"file_id": file_id, "name": name})
    await progress.save(state)
    await message.answer(_("Attached {name}; it is stored when you confirm.").format(name=esc(name)))
    if progress.step >= 0:
        await _ask(message, services, progress)
    elif progress.step == SUMMARY:  # the Confirm button again, below the file
        await _summarise(message, state, services, progress)


def build_router() -> Router:
    router = Router(name="forms")
    router.message.register(on_text, FormStates.answering, F.text, ~F.text.startswith("/"))
    router.message.register(on_file, FormStates.answering, F.document | F.photo)
    router.callback_query.register(on_choice, FormStates.answering, FormChoice.filter())
    router.callback_query.register(on_back, FormStates.answering, FormBack.filter())
    router.callback_query.register(on_group, FormStates.answering, FormGroup.filter())
    router.callback_query.register(on_confirm, FormStates.answering, FormConfirm.filter())
    router.callback_query.register(on_edit, FormStates.answering, FormEdit.filter())
    return router


__all__ = ["Field", "Form", "ask_reason", "busy", "take_reason", "field_label", "FormStates", "N_", "Reply",
           "build_router", "free_prompt", "guard_prompt", "is_form_button", "prompt_refused", "register", "start_form"]
