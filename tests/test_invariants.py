"""Invariants that an outside attack once broke, held through the real Dispatcher:
- rights are re-read on every answer and button of a form or prompt, so a revoked or restricted account
  cannot go on with one it had started;
- every button press is answered exactly once, a refusal included, for every callback-data factory;
- no reply outgrows Telegram's limits, however long the input it echoes.

The in-process Bot API (bot/local_session.py) refuses what Telegram refuses: a second answer to one press,
and a text over 4 096 UTF-16 units after entity parsing."""

from __future__ import annotations

import datetime as dt
import enum
import typing
from typing import Any

import pytest
from aiogram.enums import ChatType
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import StatesGroup
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import Chat, Message, User
from sqlalchemy import select

import handlers
from bot.limits import ELLIPSIS, fit_html, fit_plain, utf16_length, visible_length
from handlers.admin import AdminMenu
from handlers.changes import CHANGE_FORMS
from handlers.dossiers import OpenDossier
from handlers.find import FindStates
from handlers.forms import FORMS, FREE_PROMPTS, PROMPTS, FormChoice, FormStates
from handlers.reports import ReportEdit
from handlers.transfers import TransferPick
from services.accounts.service import AccountService
from services.core.actor import Actor
from services.core.policy import WRITES, Action
from storage.models import UnitReport
from tests.conftest import BotHarness
from tests.talk import Talk, tr
from tests.test_accounts import sign_in
from tests.test_reminders import ADMIN, STC_CLERK, SYT_CLERK, province

MANAGER, EMPLOYEE, STRANGER = 504, 506, 999
HOA = "001188000111"  # Đặng Thị Hoà, kept by SYT
LONGEST = 4096  # the longest text a Telegram message can carry
REFUSED = "You are not allowed to do that."
APOLOGY = "Sorry, something went wrong on our side. Nothing you entered was lost; please try again."


@pytest.fixture
async def people(harness: BotHarness) -> dict[str, int]:
    uow, clock = harness.runtime.uow, harness.runtime.clock
    people = await province(uow, clock)  # admin 500 "ha.snv", clerks 501 "lan.syt" (SYT) and 502 (STC)
    await sign_in(uow, clock, "gd.syt", "SYT", "manager", MANAGER)
    await sign_in(uow, clock, "hoa", "SYT", "employee", EMPLOYEE, personal_id=HOA)
    return people


def key(harness: BotHarness, user_id: int) -> StorageKey:
    return StorageKey(bot_id=harness.bot.id, chat_id=user_id, user_id=user_id)


# Who fills a form or answers a prompt for each action: the least role that may, as in real use.
OWNERS = {Action.DECLARE: EMPLOYEE, Action.SEND_FEEDBACK: MANAGER, Action.VIEW_DOSSIER: MANAGER,
          Action.OPEN_DOSSIER: MANAGER, Action.EDIT_DOSSIER: SYT_CLERK, Action.REQUEST_TRANSFER: SYT_CLERK,
          Action.APPROVE_TRANSFER: SYT_CLERK, Action.FILE_REPORT: SYT_CLERK, Action.REQUEST_SUBACCOUNT: SYT_CLERK}
USERNAMES = {ADMIN: "ha.snv", SYT_CLERK: "lan.syt", MANAGER: "gd.syt", EMPLOYEE: "hoa"}


def owner(action: Action) -> int:
    return OWNERS.get(action, ADMIN)


def action_of(state: str) -> Action:
    action = PROMPTS[state]({"form": "feedback"})
    assert action is not None
    return action


def a_message(user_id: int) -> Message:
    """A message of the bot in the user's chat, whose buttons the user presses."""
    return Message(message_id=1, date=dt.datetime.now(dt.UTC), chat=Chat(id=user_id, type=ChatType.PRIVATE),
                   from_user=User(id=1, is_bot=True, first_name="HoSo"), text="…")


async def open_form(harness: BotHarness, user_id: int, name: str, dossier_id: int, step: int | None = None) -> None:
    """The user is in the middle of form `name`, at its first question (or `step`), as after a restart."""
    form = FORMS[name]
    first = next(i for i, f in enumerate(form.fields) if f.group is None)
    context = {"dossier": dossier_id, "name": "Đặng Thị Hoà", "born": 1988, "holder": "Sở Y tế",
               "unit": "SYT", "period": "2026-H1", "feedback": 1}
    storage = harness.runtime.fsm_storage
    await storage.set_state(key(harness, user_id), FormStates.answering.state)
    await storage.set_data(key(harness, user_id), {
        "form": name, "step": first if step is None else step, "answers": {}, "shown": {}, "context": context,
        "opened": list(form.groups), "files": [], "trail": []})


async def open_prompt(harness: BotHarness, user_id: int, state: str) -> None:
    await harness.runtime.fsm_storage.set_state(key(harness, user_id), state)
    await harness.runtime.fsm_storage.set_data(key(harness, user_id), {"event": 1, "request": 1, "dossier": 1})


async def state_of(harness: BotHarness, user_id: int) -> str | None:
    return await harness.runtime.fsm_storage.get_state(key(harness, user_id))


def answers(talk: Talk) -> list[Any]:
    return [c for c in talk.calls if c.__api_method__ == "answerCallbackQuery"]


async def set_status(harness: BotHarness, status: str, *usernames: str) -> None:
    """The office revokes or restricts these accounts (all the test's own, by default)."""
    accounts = AccountService(harness.runtime.uow, Actor.system(), harness.runtime.clock)
    for username in usernames or tuple(USERNAMES.values()):
        await getattr(accounts, status)(username, "99/QĐ-SNV")


# -- 1. rights mid-form ----------------------------------------------------------------------------------
@pytest.mark.parametrize("status", ["revoke", "restrict"])
async def test_every_form_and_prompt_stops_at_the_next_step_after_a_revocation_or_restriction(
        harness: BotHarness, people: dict[str, int], status: str) -> None:
    await set_status(harness, status)
    refusal = tr(harness, REFUSED)
    for name, form in sorted(FORMS.items()):
        user = owner(form.action)
        refused = status == "revoke" or form.action in WRITES
        # a typed answer
        await open_form(harness, user, name, people[HOA])
        talk = Talk(harness, user)
        await talk.say("Một câu trả lời")
        if refused:
            assert talk.texts() == [refusal], (name, talk.texts())
            assert await state_of(harness, user) is None, name
        else:  # a restricted account may still do what writes nothing: the form goes on
            assert refusal not in talk.texts() and await state_of(harness, user) == FormStates.answering.state, name
        # a button of the form: the refusal is the press's one answer, and nothing else is said
        await open_form(harness, user, name, people[HOA])
        await talk.tap(FormChoice(value="x"), a_message(user), check=False)
        if refused:
            assert [a.text for a in answers(talk)] == [refusal] and talk.texts() == [], (name, talk.calls)
            assert await state_of(harness, user) is None, name
        else:
            assert len(answers(talk)) == 1, name
    for state in sorted(set(PROMPTS) - {FormStates.answering.state}):
        action = action_of(state)
        user = owner(action)
        await open_prompt(harness, user, state)
        talk = Talk(harness, user)
        await talk.say("Một câu trả lời")
        if status == "revoke" or action in WRITES:
            assert talk.texts() == [refusal], (state, talk.texts())
            assert await state_of(harness, user) is None, state
        else:  # what writes nothing goes on for a restricted account: the answer is taken, not refused
            assert refusal not in talk.texts() and talk.texts(), (state, talk.texts())


def test_every_prompt_is_guarded_or_free() -> None:
    """Deny by default: a new prompt state must say what it serves, or be one of the sign-in prompts."""
    states = {state.state for group in StatesGroup.__subclasses__() if group.__module__.startswith("handlers.")
              for state in group.__states__}
    assert states and states <= set(PROMPTS) | FREE_PROMPTS, states - set(PROMPTS) - FREE_PROMPTS
    assert not set(PROMPTS) & FREE_PROMPTS


async def test_the_update_prompt_stops_for_a_restricted_clerk(harness: BotHarness, people: dict[str, int]) -> None:
    talk = Talk(harness, SYT_CLERK)
    await talk.say("/update")
    await set_status(harness, "restrict")
    assert await talk.say("dang hoa") == tr(harness, REFUSED)  # no candidates to change offered


async def test_another_button_after_the_refusal_still_works(harness: BotHarness, people: dict[str, int]) -> None:
    """A restricted account keeps its reads: a card's button pressed in a closed form opens the card."""
    await open_form(harness, SYT_CLERK, "chg:appointment", people[HOA])
    await set_status(harness, "restrict")
    talk = Talk(harness, SYT_CLERK)
    await talk.tap(OpenDossier(id=people[HOA]), a_message(SYT_CLERK), check=False)
    assert talk.texts()[0] == tr(harness, REFUSED) and "Đặng Thị Hoà" in talk.texts()[1]
    assert len(answers(talk)) == 1


async def test_a_command_sent_after_the_refusal_still_gets_its_own_answer(harness: BotHarness,
                                                                          people: dict[str, int]) -> None:
    await open_form(harness, ADMIN, "unit_rename", people[HOA])
    await set_status(harness, "restrict")
    talk = Talk(harness, ADMIN)
    await talk.say("/help")
    assert talk.texts()[0] == tr(harness, REFUSED) and len(talk.texts()) == 2  # the refusal, then the help
    assert await state_of(harness, ADMIN) is None


@pytest.mark.parametrize("status", ["revoke", "restrict"])
async def test_a_new_dossier_started_with_new_stops_at_the_next_button(harness: BotHarness, people: dict[str, int],
                                                                      status: str) -> None:
    talk = Talk(harness, SYT_CLERK)
    await talk.say("/new")
    await talk.say("Lâm Văn Phúc")
    await talk.say("079090001234")
    sex = talk.keyboard()  # the question with the sex buttons
    await set_status(harness, status, "lan.syt")
    await talk.tap(FormChoice(value="M"), sex, check=False)
    assert [a.text for a in answers(talk)] == [tr(harness, REFUSED)] and talk.texts() == []
    assert await state_of(harness, SYT_CLERK) is None
    async with harness.runtime.uow.read() as repos:
        assert await repos.dossiers.id_of("079090001234") is None


@pytest.mark.parametrize("status", ["revoke", "restrict"])
async def test_a_report_section_stops_at_the_next_answer(harness: BotHarness, people: dict[str, int],
                                                        status: str) -> None:
    talk = Talk(harness, SYT_CLERK)
    await talk.say("/report")
    await talk.tap(ReportEdit(unit="SYT", period="2026-H1", part="c"))
    await set_status(harness, status, "lan.syt")
    assert await talk.say("Đủ máy tính và máy quét.") == tr(harness, REFUSED)
    async with harness.runtime.uow.read() as repos:
        assert await repos.session.scalar(select(UnitReport)) is None


@pytest.mark.parametrize("status", ["revoke", "restrict"])
async def test_a_custody_request_stops_at_the_next_button(harness: BotHarness, people: dict[str, int],
                                                         status: str) -> None:
    """/transfer: STC's clerk asks for a dossier SYT keeps, and loses the right between two questions."""
    talk = Talk(harness, STC_CLERK)
    await talk.say("/transfer dang hoa")
    await talk.tap(TransferPick(id=people[HOA]))
    units = talk.keyboard()  # the receiving unit's buttons
    await set_status(harness, status, "yen.stc")
    await talk.tap(FormChoice(value="STC"), units, check=False)
    assert [a.text for a in answers(talk)] == [tr(harness, REFUSED)] and talk.texts() == []
    assert await state_of(harness, STC_CLERK) is None


@pytest.mark.parametrize("status", ["revoke", "restrict"])
async def test_an_admin_form_stops_at_the_next_answer(harness: BotHarness, people: dict[str, int],
                                                     status: str) -> None:
    talk = Talk(harness, ADMIN)
    await talk.say("/admin")
    await talk.tap(AdminMenu(item="account_add"))
    await talk.say("moi.syt")
    await set_status(harness, status, "ha.snv")
    assert await talk.say("SYT") == tr(harness, REFUSED)
    async with harness.runtime.uow.read() as repos:
        assert await repos.accounts.by_username("moi.syt") is None


# -- 3. one answer per press ------------------------------------------------------------------------------
def factories() -> list[type[CallbackData]]:
    found, todo = [], list(CallbackData.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.__module__.startswith("handlers."):
            found.append(cls)
    return sorted(found, key=lambda cls: cls.__prefix__)


# Values that reach the deepest path of a handler (a real unit, period, section…); anything else gets 1 / "x".
PLAUSIBLE = {"unit": "SYT", "period": "2026-H1", "part": "a", "item": "accounts", "kind": "marriage",
             "section": "family", "purpose": "open", "action": "confirm", "locale": "vi", "group": "", "value": "x"}


def sample(factory: type[CallbackData]) -> CallbackData:
    values: dict[str, Any] = {}
    for name, info in factory.model_fields.items():
        kind = info.annotation
        if typing.get_origin(kind) is typing.Union:
            kind = next(k for k in typing.get_args(kind) if k is not type(None))
        if kind is bool:
            values[name] = False
        elif kind is int:
            values[name] = 1
        elif isinstance(kind, type) and issubclass(kind, enum.Enum):
            values[name] = next(iter(kind))
        else:
            values[name] = PLAUSIBLE.get(name, "x")
    return factory(**values)


def test_every_factory_is_covered() -> None:
    assert handlers.routers() and len(factories()) >= 36


@pytest.mark.parametrize("user_id", [STRANGER, EMPLOYEE, MANAGER, SYT_CLERK, ADMIN])
async def test_every_button_press_is_answered_exactly_once(harness: BotHarness, people: dict[str, int],
                                                           user_id: int) -> None:
    talk = Talk(harness, user_id)
    for factory in factories():
        data = sample(factory)
        for in_form in (False, True):  # also in the middle of a form, where a press may be refused as "busy"
            if in_form:
                await open_form(harness, user_id, "feedback", people[HOA])
            else:
                await harness.runtime.fsm_storage.set_state(key(harness, user_id), None)
            await talk.tap(data, a_message(user_id), check=False)
            assert len(answers(talk)) == 1, (data.pack(), user_id, in_form, talk.calls)
            assert tr(harness, APOLOGY) not in talk.texts() + [a.text for a in answers(talk)], (data.pack(), user_id)


async def test_an_answer_refused_as_too_late_is_no_incident(harness: BotHarness, people: dict[str, int]) -> None:
    """A long render answered after Telegram's time: the work is done, and no apology is sent."""
    from aiogram.exceptions import TelegramBadRequest

    def too_late(method: Any, _result: Any) -> None:
        if method.__api_method__ == "answerCallbackQuery":
            raise TelegramBadRequest(method, "Bad Request: query is too old and response timeout expired")

    harness.session.on_call = too_late
    talk = Talk(harness, SYT_CLERK)
    await talk.tap(OpenDossier(id=people[HOA]), a_message(SYT_CLERK), check=False)
    assert "Đặng Thị Hoà" in talk.text and tr(harness, APOLOGY) not in talk.text


async def test_a_refusal_after_the_press_was_answered_comes_as_a_message(harness: BotHarness,
                                                                         people: dict[str, int]) -> None:
    """A handler that answered the press and then was refused: the refusal is sent, not answered twice."""
    from aiogram import Router
    from aiogram.types import CallbackQuery

    from services.core.errors import PermissionDenied

    async def early(query: CallbackQuery) -> None:
        await query.answer("…")
        raise PermissionDenied()

    router = Router()
    router.callback_query.register(early, FormChoice.filter())
    harness.dispatcher.sub_routers.insert(1, router)  # right after the error router
    router._parent_router = harness.dispatcher
    talk = Talk(harness, SYT_CLERK)
    await talk.tap(FormChoice(value="x"), a_message(SYT_CLERK), check=False)
    assert [a.text for a in answers(talk)] == ["…"] and talk.texts() == [tr(harness, REFUSED)]


# -- 5. lengths ------------------------------------------------------------------------------------------
def test_fitting_counts_the_visible_text_in_utf16_units() -> None:
    assert visible_length("<b>a&lt;b</b>") == 3 and visible_length("😀") == 2
    text = "<b>" + "😀" * 3000 + "</b>"
    fitted = fit_html(text, 4096)
    assert visible_length(fitted) == 4095 and fitted.endswith("😀" + ELLIPSIS + "</b>")  # no half emoji
    tagged = "<i>" + "a &amp; b " * 800 + "</i>"  # 4 800 visible, the entities kept whole
    fitted = fit_html(tagged, 4096)
    assert visible_length(fitted) == 4096 and fitted.startswith("<i>a &amp; b") and fitted.endswith("</i>")
    assert fit_html("<b>short</b>", 4096) == "<b>short</b>"
    assert utf16_length(fit_plain("x" * 300, 200)) == 200
    nested = "<b>" + "x" * 5000 + "<i>y</i></b><a href=\"https://e.x/?a=1&amp;b=2\">z</a>"
    assert fit_html(nested, 4096) == "<b>" + "x" * 4095 + ELLIPSIS + "</b>"


async def test_the_longest_query_gets_a_reply_that_fits(harness: BotHarness, people: dict[str, int]) -> None:
    talk = Talk(harness, SYT_CLERK)
    reply = await talk.say("/find " + "x" * (LONGEST - len("/find ")))
    assert tr(harness, APOLOGY) not in reply and visible_length(reply) < 300 and "x" * 99 + "…" in reply
    await talk.say("/find")
    assert tr(harness, APOLOGY) not in await talk.say("ă" * LONGEST)
    assert await state_of(harness, SYT_CLERK) in (None, FindStates.query.state)


async def test_the_longest_input_to_every_prompt_gets_a_clear_answer(harness: BotHarness,
                                                                     people: dict[str, int]) -> None:
    longest = "Đ" * (LONGEST // 2) + "😀" * (LONGEST // 4)  # 4 096 UTF-16 units, 3 072 characters
    assert utf16_length(longest) == LONGEST
    for name, form in sorted(FORMS.items()):
        user = owner(form.action)
        for step, f in enumerate(form.fields):
            await open_form(harness, user, name, people[HOA], step)
            talk = Talk(harness, user)
            await talk.say(longest)
            said = talk.texts()
            assert said and tr(harness, APOLOGY) not in said, (name, f.key, said)
            assert all(visible_length(text) <= LONGEST for text in said), (name, f.key)
    for state in sorted(set(PROMPTS) - {FormStates.answering.state}):
        user = owner(action_of(state))
        await open_prompt(harness, user, state)
        talk = Talk(harness, user)
        await talk.say(longest)
        assert talk.texts() and tr(harness, APOLOGY) not in talk.texts(), (state, talk.texts())
    assert CHANGE_FORMS  # the change forms were among them
