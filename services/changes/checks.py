"""The answers to a change's questions: each checked as it is typed (`check`) and returned in its normal
written form, all of them again at the write (`recheck`), and the buttons of the questions whose answers
come from the data (`options`).

What a question accepts is its `Ask` (services.regime.change_kinds); a new kind of answer is one more arm
in `_check`.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from services.core.actor import Actor
from services.core.clock import Clock, format_date, local_today, parse_date
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.core.policy import Action, can, scope_of
from services.core.text import fold
from services.core.validation import birth_date, past_date, personal_id
from services.dossiers.service import readable
from services.platform.units import ACTIVE, normalise_code, usable_unit
from services.regime.change_kinds import CUSTODY, KINDS, NEW_DOSSIER, Ask, ChangeKind, Prompt, prompts_of
from storage import Repositories, UnitOfWork
from storage.models import Dossier, OrgUnit

DOC_NUMBER = re.compile(r"^\d{1,6}[a-z]?(?:/\d{4})?/[^\W_][\w.\-/]*$", re.UNICODE)
COMMON_ETHNICITIES = ("01", "02", "03", "04", "05", "06", "07", "17")  # Kinh, Tày, Thái, Hoa, Khơ-me, Mường, Nùng, Chăm
MAX_TEXT = 255
FUTURE_EFFECT_DAYS = 366  # a decision may take effect later, not years later
REFERENCE_LISTS = {Ask.RANK: "rank", Ask.EDUCATION: "education", Ask.ETHNICITY: "ethnicity"}


def kind_named(name: str) -> ChangeKind:
    """Any kind a form may ask about: the changes, /new and /transfer's custody request."""
    if name == NEW_DOSSIER.name:
        return NEW_DOSSIER
    if name == CUSTODY.name:
        return CUSTODY
    if name not in KINDS:
        raise InvalidInput("kind", N_("Unknown kind of change: {value}."), value=name)
    return KINDS[name]


def answer_date(text: str) -> dt.date:
    """A checked date answer (dd/mm/yyyy) as a date."""
    return parse_date(text)


def optional_date(text: str | None) -> dt.date | None:
    return parse_date(text) if text else None


# -- one answer ---------------------------------------------------------------------------------------
async def check(uow: UnitOfWork, actor: Actor, clock: Clock, kind_name: str, key: str, value: str,
                declared: bool = False) -> str:
    """One answer, checked on its own and returned in its normal written form: the question is asked
    again with the reason when it is refused."""
    kind = kind_named(kind_name)
    prompt = next((p for p in prompts_of(kind, declared) if p.key == key), None)
    if prompt is None:
        raise InvalidInput(key, N_("Unknown question."))
    text = " ".join(value.split())
    if not text:
        if prompt.optional:
            return ""
        raise InvalidInput(key, N_("An answer is needed here."))
    return await _check(uow, actor, clock, prompt, text)


async def recheck(uow: UnitOfWork, actor: Actor, clock: Clock, kind: ChangeKind, answers: dict[str, str],
                  declared: bool) -> dict[str, str]:
    """Every answer checked again at the write: the conversation may have lasted past midnight, or a
    unit may have been merged meanwhile."""
    checked = {}
    for prompt in prompts_of(kind, declared):
        checked[prompt.key] = await check(uow, actor, clock, kind.name, prompt.key, answers.get(prompt.key, ""),
                                          declared)
    return checked


async def _check(uow: UnitOfWork, actor: Actor, clock: Clock, prompt: Prompt, text: str) -> str:
    today = local_today(clock)
    key = prompt.key
    match prompt.ask:
        case Ask.TEXT:
            return _text(text, key)
        case Ask.DATE:
            try:
                day = parse_date(text, today)
            except ValueError:
                raise InvalidInput(key, N_("Not a valid date: {value} (use dd/mm/yyyy)"), value=text) from None
            if day > today + dt.timedelta(days=FUTURE_EFFECT_DAYS):
                raise InvalidInput(key, N_("The date {value} is more than a year ahead."), value=format_date(day))
            return format_date(day)
        case Ask.PAST_DATE:
            return format_date(past_date(text, today, key))
        case Ask.BIRTH_DATE:
            return format_date(birth_date(text, today, key))
        case Ask.INT:
            return _integer(text, key, 1, 99)
        case Ask.YEAR:
            return _integer(text, key, 1900, today.year)
        case Ask.DECIMAL:
            return _decimal(text, key)
        case Ask.CHOICE:
            if text not in {value for value, _label in prompt.choices}:
                raise InvalidInput(key, N_("Please choose one of the buttons."))
            return text
        case Ask.DOC_NUMBER:
            return _doc_number(text)
        case Ask.PERSONAL_ID:
            return await new_personal_id(uow, actor, text, key)
        case Ask.UNIT | Ask.UNIT_IN_SCOPE:
            async with uow.read() as repos:
                unit = await unit_for(repos, actor, text, key, in_scope=prompt.ask is Ask.UNIT_IN_SCOPE)
            return unit.code
        case Ask.RANK | Ask.EDUCATION | Ask.ETHNICITY:
            return await _reference(uow, prompt, text)
    raise AssertionError(prompt.ask)


def _text(text: str, key: str) -> str:
    column = Dossier.__table__.c.get(key)
    limit = min(MAX_TEXT, getattr(column.type, "length", None) or MAX_TEXT) if column is not None else MAX_TEXT
    if len(text) > limit:
        raise InvalidInput(key, N_("Too long: at most {limit} characters."), limit=limit)
    return text


def _doc_number(value: str) -> str:
    text = value.strip().replace(" ", "")
    if not DOC_NUMBER.match(text) or len(text) > 64:
        raise InvalidInput("doc_number", N_("Not a valid document number: {value} (e.g. 123/QĐ-UBND)"), value=value)
    return text


def _decimal(value: str, key: str) -> str:
    try:
        number = Decimal(value.strip().replace(",", "."))
    except InvalidOperation:
        raise InvalidInput(key, N_("Not a number: {value}."), value=value) from None
    if not Decimal(0) <= number <= Decimal("99.99"):
        raise InvalidInput(key, N_("{value} is out of range ({low} to {high})."), value=value, low=0, high="99.99")
    return f"{number:.2f}"


def _integer(value: str, key: str, low: int, high: int) -> str:
    text = value.strip()
    if not text.isdigit():
        raise InvalidInput(key, N_("Not a whole number: {value}."), value=value)
    if not low <= int(text) <= high:
        raise InvalidInput(key, N_("{value} is out of range ({low} to {high})."), value=value, low=low, high=high)
    return str(int(text))


async def new_personal_id(uow: UnitOfWork, actor: Actor, text: str, key: str) -> str:
    """A valid personal ID that has no dossier yet; the refusal names the holder only to whoever may read it."""
    number = personal_id(text, key)
    async with uow.read() as repos:
        existing = await repos.dossiers.with_units(await repos.dossiers.id_of(number) or 0)
    if existing is not None:
        if readable(actor, *existing):
            raise InvalidInput(key, N_("The personal ID {value} already has a dossier: {name}, kept by {unit} "
                                       "(open it with /find {value})."),
                               value=number, name=existing[0].full_name, unit=existing[1].name)
        raise InvalidInput(key, N_("The personal ID {value} already has a dossier, kept by a unit outside "
                                   "your scope; ask the personnel office."), value=number)
    return number


async def unit_for(repos: Repositories, actor: Actor, code: str, key: str, in_scope: bool) -> OrgUnit:
    """An active unit by its code (a button's label starts with it); `in_scope`: one the actor writes in."""
    unit = await repos.units.by_code(normalise_code(code.split(" ")[0]))
    return usable_unit(unit, code, key, scope=scope_of(actor, Action.EDIT_DOSSIER) if in_scope else None)


async def _reference(uow: UnitOfWork, prompt: Prompt, text: str) -> str:
    async with uow.read() as repos:
        items = await repos.references.listing(REFERENCE_LISTS[prompt.ask])
    wanted = fold(text)
    for item in items:
        if text.upper() == item.code.upper() or wanted == fold(item.name):
            return item.code
    raise InvalidInput(prompt.key, N_("{value} is not on the list; choose a button or ask the personnel office "
                                      "to add it."), value=text)


# -- the buttons ----------------------------------------------------------------------------------------
async def options(uow: UnitOfWork, actor: Actor, ask: Ask) -> list[tuple[str, str]]:
    """The buttons for a question whose answers come from the data: (value, label)."""
    async with uow.read() as repos:
        if ask in (Ask.UNIT_IN_SCOPE, Ask.UNIT):
            units = await repos.units.subtree("/")
            return [(u.code, f"{u.code} — {u.name}") for u in units
                    if u.status == ACTIVE and (ask is Ask.UNIT or can(actor, Action.EDIT_DOSSIER, u.path))][:24]
        if ask is Ask.RANK:
            return [(i.code, f"{i.code} {i.name}") for i in await repos.references.listing("rank")]
        if ask is Ask.EDUCATION:
            return [(i.code, i.name) for i in await repos.references.listing("education")]
        if ask is Ask.ETHNICITY:
            items = {i.code: i.name for i in await repos.references.listing("ethnicity")}
            return [(code, items[code]) for code in COMMON_ETHNICITIES if code in items]
    return []
