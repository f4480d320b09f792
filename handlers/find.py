"""/find: look a person up by name, personal ID or birth date; 10 candidates a page."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from handlers.dossiers import PICKS
from handlers.forms import guard_prompt
from handlers.views import button, clip, echo, error_text, esc, keyboard
from services.core.clock import format_date
from services.core.errors import InvalidInput
from services.core.policy import Action
from services.dossiers.lookup import FindPage, split_filters
from services.facade import Services

LAST_SEARCH = "find"  # the query and filters, kept in the conversation's data for the page buttons
PURPOSE = "find_for"  # what picking a candidate does: open (the card), update, history


class FindStates(StatesGroup):
    query = State()


guard_prompt(FindStates.query, lambda data: Action.EDIT_DOSSIER if data.get(PURPOSE) == "update" else Action.VIEW_DOSSIER)


class FindMore(CallbackData, prefix="fnd"):
    page: int
    purpose: str = "open"


def render(result: FindPage, purpose: str = "open") -> tuple[str, InlineKeyboardMarkup | None]:
    if not result.candidates:
        return _("Nobody in your scope matches <b>{query}</b>.").format(query=echo(result.query)), None
    first = result.page * 10
    lines = [_("Results for <b>{query}</b>, page {page}:").format(query=echo(result.query), page=result.page + 1)]
    picks = []
    for number, candidate in enumerate(result.candidates, start=first + 1):
        details = " — ".join(esc(part) for part in (format_date(candidate.birth_date), candidate.unit, candidate.post,
                                                     candidate.rank) if part)
        shown_id = f" · <code>{esc(candidate.personal_id)}</code>" if candidate.personal_id else ""
        lines.append(f"{number}. <b>{esc(candidate.full_name)}</b>{shown_id} — {details}")
        picks.append(button(str(number), PICKS[purpose](id=candidate.id)))
    paging = []
    if result.page > 0:
        paging.append(button(_("‹ Previous"), FindMore(page=result.page - 1, purpose=purpose)))
    if result.has_next:
        paging.append(button(_("Next ›"), FindMore(page=result.page + 1, purpose=purpose)))
    return clip("\n".join(lines)), keyboard(picks, 5, paging)


async def _search(message: Message, state: FSMContext, services: Services, text: str, page: int = 0,
                  raw_state: str | None = None, purpose: str = "open") -> None:
    query, filters = split_filters(text)
    try:
        result = await services.lookup.find(query, page, filters)
    except InvalidInput as error:
        await state.set_state(FindStates.query)  # ask again, with the reason
        await state.update_data({PURPOSE: purpose})
        await message.answer(error_text(error))
        return
    reply, keyboard = render(result, purpose)
    await message.answer(reply, reply_markup=keyboard)
    # Saved after the answer, which then comes sooner: the user's next update waits for this handler anyway
    # (per-user event isolation), so a page button can never find the query missing.
    if raw_state == FindStates.query.state:  # the prompt is answered; any other prompt under way is kept
        await state.set_state(None)
    await state.update_data({LAST_SEARCH: text})


async def look_up(message: Message, state: FSMContext, services: Services, args: str | None,
                  raw_state: str | None = None, purpose: str = "open") -> None:
    """A lookup whose candidates open the card, the change menu or the history (`purpose`)."""
    if not args:
        services.require(Action.VIEW_DOSSIER)
        await state.set_state(FindStates.query)
        await state.update_data({PURPOSE: purpose})
        await message.answer(_("Type a name (with the year of birth if you like: dang hoa 1988), a personal ID or a "
                               "birth date (dd/mm/yyyy). Filters: dv:CODE tt:nghihuu ngach:01.003"))
        return
    await _search(message, state, services, args, raw_state=raw_state, purpose=purpose)


async def find(
    message: Message, command: CommandObject, state: FSMContext, services: Services, raw_state: str | None = None
) -> None:
    await look_up(message, state, services, command.args, raw_state)


async def query_typed(message: Message, state: FSMContext, services: Services, raw_state: str | None = None) -> None:
    purpose = (await state.get_data()).get(PURPOSE, "open")
    await _search(message, state, services, message.text or "", raw_state=raw_state,
                  purpose=purpose if purpose in PICKS else "open")


async def more(query: CallbackQuery, callback_data: FindMore, state: FSMContext, services: Services,
               raw_state: str | None = None) -> None:
    text = (await state.get_data()).get(LAST_SEARCH)
    if text and isinstance(query.message, Message):
        purpose = callback_data.purpose if callback_data.purpose in PICKS else "open"
        await _search(query.message, state, services, text, callback_data.page, raw_state=raw_state, purpose=purpose)


def build_router() -> Router:
    router = Router(name="find")
    router.message.register(find, Command("find"))
    router.message.register(query_typed, FindStates.query, F.text, ~F.text.startswith("/"))
    router.callback_query.register(more, FindMore.filter())
    return router

