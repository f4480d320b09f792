"""/new, /update, /declare and /pending: every change to a dossier through guided prompts that cite the
paper decision. The prompts are the change kinds' own (services.regime.change_kinds), asked by the form engine;
each answer is checked as it comes, and the form ends on a summary with what will change and whether it
is entered in time."""

from __future__ import annotations

import re
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from handlers.dossiers import EMPLOYMENT_LABELS, UpdatePick
from handlers.find import look_up
from handlers.forms import (
    FORMS,
    Field,
    Form,
    Reply,
    ask_reason,
    field_label,
    guard_prompt,
    register,
    start_form,
    take_reason,
)
from handlers.views import button, clip, error_text, esc, keyboard, number
from services.changes.declarations import PendingItem
from services.changes.planners import DECIMAL_COLUMNS, LABELS, Caution, Line
from services.changes.recording import Logged, Preview, Target
from services.core.clock import format_date
from services.core.errors import InvalidInput
from services.core.policy import Action
from services.facade import Services
from services.platform.attachments import Upload
from services.regime.change_kinds import (
    CATEGORY_TITLES,
    CUSTODY,
    KINDS,
    NEW_DOSSIER,
    NEW_GROUPS,
    Ask,
    Category,
    ChangeKind,
    Prompt,
    kinds_for,
    prompts_of,
)

DYNAMIC = frozenset({Ask.UNIT, Ask.UNIT_IN_SCOPE, Ask.RANK, Ask.EDUCATION, Ask.ETHNICITY})


class ChangeKindPick(CallbackData, prefix="chk"):
    id: int
    kind: str


class DeclareKindPick(CallbackData, prefix="dck"):
    kind: str


class Decide(CallbackData, prefix="dcd"):
    id: int
    approve: bool


class RejectStates(StatesGroup):
    reason = State()


guard_prompt(RejectStates.reason, Action.EDIT_DOSSIER)


# -- forms from the kinds -------------------------------------------------------------------------------
def _field(prompt: Prompt) -> Field:
    options = None
    if prompt.ask in DYNAMIC:
        async def options(services: Services, ask: Ask = prompt.ask) -> list[tuple[str, str]]:
            return await services.changes.options(ask)
    return Field(prompt.key, prompt.question, prompt.choices, prompt.optional, options, free=options is not None,
                 group=prompt.group)


def form_name(kind: ChangeKind, declared: bool) -> str:
    return f"{'dcl' if declared else 'chg'}:{kind.name}"


def verdict(deadline: Any, timely: bool | None) -> str:
    if deadline is None:
        return ""
    if timely is None:  # registered, to be entered
        return _("To be entered by {date}; you will be reminded.").format(date=format_date(deadline))
    if timely:
        return _("Deadline {date}: entered on time.").format(date=format_date(deadline))
    return _("Deadline {date}: entered LATE.").format(date=format_date(deadline))


DECIMAL_LABELS = frozenset(LABELS[name] for name in DECIMAL_COLUMNS if name in LABELS)
DECIMAL = re.compile(r"^\d+\.\d+$")


def decimal_text(value: object) -> object:
    """A coefficient written by a service ("3.99") as the reader writes it ("3,99" in Vietnamese)."""
    return number(float(value)) if isinstance(value, str) and DECIMAL.match(value) else value


def change_lines(lines: tuple[Line, ...] | list[Line]) -> list[str]:
    def value(line: Line, text: str) -> str:
        if line.label == LABELS["employment_status"]:  # a status code reads as the card shows it
            return _(EMPLOYMENT_LABELS.get(text, text))
        if line.label in DECIMAL_LABELS and DECIMAL.match(text):  # "4.32" is written "4,32" in Vietnamese
            return number(float(text))
        return text

    def label(line: Line) -> str:  # a question used as a label loses its colon and example
        return _(line.label).split(" (")[0].rstrip(": ")

    def table(line: Line) -> str:  # the salary table's value beside what a decision sets
        return " " + _("(table: {value})").format(value=esc(decimal_text(line.table))) if line.table else ""

    return [f"• {esc(label(line))}: {esc(value(line, line.old))} → <b>{esc(value(line, line.new))}</b>{table(line)}"
            for line in lines]


def caution_lines(cautions: tuple[Caution, ...]) -> list[str]:
    return ["⚠️ " + esc(_(caution.message).format(**{key: decimal_text(value) for key, value in caution.params.items()}))
            for caution in cautions]


def answer_lines(form: Form, answers: dict[str, str], shown: dict[str, str] | None = None) -> list[str]:
    lines = []
    for f in form.fields:
        value = answers.get(f.key)
        if value:
            label = dict((v, _(t)) for v, t in f.choices).get(value) or (shown or {}).get(f.key) or value
            lines.append(f"{esc(field_label(f))}: <b>{esc(label)}</b>")
    return lines


def _build(kind: ChangeKind, declared: bool) -> Form:
    name = form_name(kind, declared)

    async def check(services: Services, context: dict[str, Any], key: str, value: str) -> str:
        return await services.changes.check(kind.name, key, value, declared)

    async def summary(services: Services, context: dict[str, Any], answers: dict[str, str],
                      shown: dict[str, str]) -> str:
        form = FORMS[name]
        head = _("<b>{title}</b> — please check:").format(title=esc(_(kind.title)))
        lines = [head]
        if kind.category is not Category.NEW:
            lines.append(_("Person: <b>{name}</b>").format(name=esc(context.get("name", ""))))
        lines += answer_lines(form, answers, shown)
        if kind.category is Category.NEW:
            preview: Preview = await services.new_dossiers.preview_new(answers)
        else:
            preview = await services.changes.preview(kind.name, int(context["dossier"]), answers, declared)
        if preview.lines:
            lines.append(_("What changes:"))
            lines += change_lines(preview.lines)
        lines += caution_lines(preview.cautions)
        if preview.deadline is not None:
            label = (_("Deadline to complete the dossier: {date}") if kind.category is Category.NEW
                     else _("Deadline to enter this change: {date}"))
            lines.append(label.format(date=format_date(preview.deadline)) + " — "
                         + (_("on time") if preview.on_time else _("LATE")))
        if declared:
            lines.append(_("Your unit's clerk will review it before it enters your dossier."))
        return clip("\n".join(lines))

    async def submit(services: Services, answers: dict[str, str], uploads: list[Upload]) -> Reply:
        if kind.category is Category.NEW:
            return created_reply(await services.new_dossiers.create(answers, uploads))
        if declared:
            return declared_reply(await services.declarations.declare(kind.name, answers, uploads))
        return logged_reply(await services.changes.log(kind.name, int(answers["_dossier"]), answers, uploads))

    prompts = prompts_of(kind, declared)
    return register(Form(name, kind.title, tuple(_field(p) for p in prompts), submit, check=check, summary=summary,
                         groups=NEW_GROUPS if any(p.group for p in prompts) else {}, attachments=True,
                         action=Action.DECLARE if declared else Action.EDIT_DOSSIER))


CHANGE_FORMS = {name: _build(kind, False) for name, kind in KINDS.items()}
DECLARATION_FORMS = {kind.name: _build(kind, True) for kind in kinds_for(declared=True)}
NEW_FORM = _build(NEW_DOSSIER, False)


# -- replies --------------------------------------------------------------------------------------------
def kind_title(kind: str) -> str:
    special = {NEW_DOSSIER.name: NEW_DOSSIER, CUSTODY.name: CUSTODY}
    return _((special.get(kind) or KINDS[kind]).title)


def created_reply(done: Logged) -> Reply:
    text = _("Dossier of <b>{name}</b> created (change #{event}).").format(name=esc(done.full_name), event=done.event_id)
    text += "\n" + verdict(done.deadline, done.on_time)
    text += "\n" + _("Complete it before the deadline: /update to add what is still missing.")
    return Reply(text)


def logged_reply(done: Logged) -> Reply:
    lines = [_("Saved: <b>{kind}</b> for {name} (change #{event}).").format(
        kind=esc(kind_title(done.kind)), name=esc(done.full_name), event=done.event_id)]
    lines += change_lines(done.lines)
    lines += caution_lines(done.cautions)  # saved as the paper says, and the reply still says what was off
    lines.append(verdict(done.deadline, done.on_time))
    return Reply(clip("\n".join(line for line in lines if line)))


def declared_reply(done: Logged) -> Reply:
    """The person's own answer; the clerks are sent `declaration_notice` through the outbox."""
    return Reply(_("Your declaration ({kind}) is sent to your unit's clerks (#{event}). You will be told their "
                   "decision.").format(kind=esc(kind_title(done.kind)), event=done.event_id))


def decision_keyboard(event_id: int) -> InlineKeyboardMarkup | None:
    return keyboard([button(_("✅ Approve"), Decide(id=event_id, approve=True)),
                     button(_("✖ Reject"), Decide(id=event_id, approve=False))], 2)


# -- the notices, rendered from their outbox payload (handlers.reminders `render`) -------------------------
def declaration_notice(p: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup | None]:
    """`declaration_new`, to the clerks who may decide it: what was declared and what it changes, with
    Approve / Reject."""
    form = DECLARATION_FORMS.get(p["kind"])
    declared = answer_lines(form, p["answers"]) if form is not None else []
    changes = change_lines([Line(*line) for line in p["lines"]])
    text = _("New declaration #{event} from <b>{name}</b>: {kind}. Review it:").format(
        event=p["event"], name=esc(p["name"]), kind=esc(kind_title(p["kind"])))
    return clip(text + "\n" + "\n".join(declared + changes)), decision_keyboard(int(p["event"]))


def declaration_decided_notice(p: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup | None]:
    """`declaration_decided`, to the person: the clerk's decision (and the reason of a rejection)."""
    if p["status"] == "applied":
        text = _("Your declaration #{event} ({kind}) was approved and entered in your dossier.").format(
            event=p["event"], kind=esc(kind_title(p["kind"])))
    else:
        text = _("Your declaration #{event} ({kind}) was rejected: {reason}").format(
            event=p["event"], kind=esc(kind_title(p["kind"])), reason=esc(p.get("reason") or ""))
    return clip(text), None


# -- choosing what to change ----------------------------------------------------------------------------
def kinds_keyboard(kinds: list[ChangeKind], pick: Any) -> InlineKeyboardMarkup | None:
    rows = []
    for category in (Category.AGENCY, Category.PERSONAL, Category.STATUS):
        members = [kind for kind in kinds if kind.category is category]
        if members:
            rows += [button(_(kind.title), pick(kind)) for kind in members]
    return keyboard(rows, 2)


def kinds_text(target: Target, kinds: list[ChangeKind]) -> str:
    lines = [_("<b>{name}</b> — {status}, dossier kept by {unit}.").format(
        name=esc(target.full_name), status=esc(_(EMPLOYMENT_LABELS.get(target.employment_status, target.employment_status))),
        unit=esc(target.custodian_unit))]
    for category in (Category.AGENCY, Category.PERSONAL, Category.STATUS):
        titles = [_(kind.title) for kind in kinds if kind.category is category]
        if titles:  # one per line: the kinds' own titles have commas
            lines += [f"<i>{esc(_(CATEGORY_TITLES[category]))}</i>", *(f"• {esc(title)}" for title in titles)]
    lines.append(_("Which change?"))
    return "\n".join(lines)


async def new_dossier(message: Message, state: FSMContext, services: Services) -> None:
    services.require(Action.EDIT_DOSSIER)
    await start_form(message, state, NEW_FORM, services)


async def update(message: Message, command: CommandObject, state: FSMContext, services: Services,
                 raw_state: str | None = None) -> None:
    services.require(Action.EDIT_DOSSIER)
    await look_up(message, state, services, command.args, raw_state, purpose="update")


async def picked(query: CallbackQuery, callback_data: UpdatePick, services: Services) -> None:
    target = await services.changes.target(callback_data.id)
    if isinstance(query.message, Message):
        kinds = kinds_for(declared=False)
        await query.message.answer(kinds_text(target, kinds), reply_markup=kinds_keyboard(
            kinds, lambda kind: ChangeKindPick(id=target.id, kind=kind.name)))


async def kind_picked(query: CallbackQuery, callback_data: ChangeKindPick, state: FSMContext,
                      services: Services) -> None:
    try:
        target = await services.changes.applicable(callback_data.kind, callback_data.id)
    except InvalidInput as error:  # e.g. a raise for a dossier with no salary step: said before any question
        if isinstance(query.message, Message):
            await query.message.answer(error_text(error))
        return
    form = CHANGE_FORMS.get(services.changes.kind(callback_data.kind).name)
    if form is not None and isinstance(query.message, Message):
        await start_form(query.message, state, form, services, {"dossier": target.id, "name": target.full_name},
                         intro=_("{kind} for <b>{name}</b>.").format(kind=esc(_(form.title)), name=esc(target.full_name)))


async def declare(message: Message, services: Services) -> None:
    target = await services.declarations.own_dossier()
    kinds = kinds_for(declared=True)
    await message.answer(kinds_text(target, kinds),
                         reply_markup=kinds_keyboard(kinds, lambda kind: DeclareKindPick(kind=kind.name)))


async def declare_picked(query: CallbackQuery, callback_data: DeclareKindPick, state: FSMContext,
                         services: Services) -> None:
    target = await services.declarations.own_dossier()
    form = DECLARATION_FORMS.get(callback_data.kind)
    if form is not None and isinstance(query.message, Message):
        await start_form(query.message, state, form, services, {"dossier": target.id, "name": target.full_name})


# -- the clerk's review of declarations -----------------------------------------------------------------
def pending_line(item: PendingItem) -> str:
    details = "; ".join(f"{esc(v)}" for k, v in item.payload.items() if k != "effective_on")
    return _("#{event} <b>{name}</b> — {kind}, {date}: {details}").format(
        event=item.event_id, name=esc(item.full_name), kind=esc(kind_title(item.kind)),
        date=format_date(item.effective_on), details=details)


async def pending(message: Message, services: Services) -> None:
    services.require(Action.EDIT_DOSSIER)
    items = await services.declarations.pending()
    if not items:
        await message.answer(_("No declaration is waiting for you."))
        return
    for item in items[:20]:
        await message.answer(clip(pending_line(item)), reply_markup=decision_keyboard(item.event_id))
    if len(items) > 20:
        await message.answer(_("… and {count} more.").format(count=len(items) - 20))


async def decide(query: CallbackQuery, callback_data: Decide, state: FSMContext, services: Services) -> None:
    services.require(Action.EDIT_DOSSIER)
    if not callback_data.approve:
        await ask_reason(query, state, RejectStates.reason, "event", callback_data.id, _(
            "Why is declaration #{event} rejected? The person will read your reason.").format(event=callback_data.id))
        return
    done = await services.declarations.decide(callback_data.id, True)
    if isinstance(query.message, Message):
        await query.message.answer(_("Declaration #{event} approved and entered in the dossier of {name}.").format(
            event=done.event_id, name=esc(done.full_name)) + "\n" + "\n".join(change_lines(done.lines)))


async def reject_reason(message: Message, state: FSMContext, services: Services) -> None:
    done = await take_reason(message, state, "event", lambda event_id, text: services.declarations.decide(
        event_id, False, text), again=_("Why is it rejected?"))
    if done is None:
        return
    await message.answer(_("Declaration #{event} rejected; {name} is told why.").format(
        event=done.event_id, name=esc(done.full_name)))


def build_router() -> Router:
    router = Router(name="changes")
    router.message.register(new_dossier, Command("new"))
    router.message.register(update, Command("update"))
    router.message.register(declare, Command("declare"))
    router.message.register(pending, Command("pending"))
    router.message.register(reject_reason, RejectStates.reason, F.text, ~F.text.startswith("/"))
    router.callback_query.register(picked, UpdatePick.filter())
    router.callback_query.register(kind_picked, ChangeKindPick.filter())
    router.callback_query.register(declare_picked, DeclareKindPick.filter())
    router.callback_query.register(decide, Decide.filter())
    return router
