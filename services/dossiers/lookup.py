"""/find: ranked candidates for a name (any order, with or without marks), a personal ID or part of
one, a birth date, or a name and a birth year, within the actor's scope. Every search is audited with the
ids it showed."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from services.core.actor import Actor
from services.core.clock import Clock, parse_date
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.core.policy import Action, dossier_scope
from services.core.text import fold
from services.dossiers.io.columns import status_of
from services.dossiers.masking import mask_for
from services.platform.audit import record
from services.platform.sessions import sensitive
from services.platform.units import unit_by_code
from services.regime.reference import coded, names_of
from storage import UnitOfWork
from storage.search import Found, SearchTerms

PAGE_SIZE = 10
DATE = re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{4}$")
YEAR = re.compile(r"^(19|20)\d\d$")
STATUSES = ("active", "probation", "retired", "resigned", "deceased", "transferred_out")
# The word a refusal offers for each status, beside its code (any of the import's words is accepted too).
STATUS_WORDS = {"active": "đang công tác", "probation": "tập sự", "retired": "nghỉ hưu", "resigned": "thôi việc",
                "deceased": "từ trần", "transferred_out": "chuyển công tác"}


@dataclass(frozen=True, slots=True)
class Candidate:
    id: int
    full_name: str
    birth_date: dt.date
    post: str | None
    unit: str
    personal_id: str | None  # None where the actor's mask withholds it (a channel carrying a summary)
    rank: str  # the code and its name, "01.003 Chuyên viên"; "" for none


@dataclass(frozen=True, slots=True)
class FindPage:
    query: str
    page: int
    candidates: list[Candidate]
    has_next: bool


@dataclass(frozen=True, slots=True)
class FindFilters:
    unit_code: str | None = None
    status: str | None = None
    rank_code: str | None = None


# "unit:SYT status:retired rank:01.003", with Vietnamese aliases, anywhere in the query.
FILTER_KEYS = {"unit": "unit_code", "dv": "unit_code", "donvi": "unit_code", "status": "status", "tt": "status",
               "tinhtrang": "status", "rank": "rank_code", "ngach": "rank_code"}


def split_filters(text: str) -> tuple[str, FindFilters]:
    """Take the key:value filters out of a query; what remains is searched. A status may be typed in words
    ("tt:đang công tác"): the words that follow it belong to it as long as together they name a status."""
    tokens, rest, found = text.split(), [], {}
    index = 0
    while index < len(tokens):
        key, sep, value = tokens[index].partition(":")
        name = FILTER_KEYS.get(fold(key).replace(" ", "")) if sep else None
        index += 1
        if not (name and value):
            rest.append(tokens[index - 1])
        elif name == "status":
            for end in range(len(tokens), index - 1, -1):  # the longest run of words that names a status
                if status_of(" ".join([value, *tokens[index:end]])) is not None:
                    value, index = " ".join([value, *tokens[index:end]]), end
                    break
            found[name] = status_of(value) or value
        else:
            found[name] = value.upper() if name == "unit_code" else value
    return " ".join(rest), FindFilters(**found)


def parse_query(text: str) -> SearchTerms:
    """Split a query into folded words, digit runs and at most one dd/mm/yyyy birth date."""
    words: list[str] = []
    born = None
    for token in unicodedata.normalize("NFC", text).split():
        if DATE.match(token):
            try:
                born = parse_date(token)
            except ValueError:
                raise InvalidInput("query", N_("Not a valid date: {value} (use dd/mm/yyyy)"), value=token) from None
            continue
        words += [part for part in re.split(r"[^0-9a-z]+", fold(token)) if part]
    # Beside a name, four digits that could be a year are the year of birth ("dang hoa 1988"); alone, they
    # are part of a personal ID.
    years = [word for word in words if YEAR.match(word)]
    if born is None and len(years) == 1 and any(not word.isdigit() for word in words):
        words.remove(years[0])
        return SearchTerms(tuple(dict.fromkeys(words)), None, int(years[0]))
    return SearchTerms(tuple(dict.fromkeys(words)), born)


class LookupService:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock

    async def find(self, query: str, page: int = 0, filters: FindFilters = FindFilters()) -> FindPage:
        terms = parse_query(query)
        if not terms.words and terms.birth_date is None:
            raise InvalidInput("query", N_("Type a name, a personal ID or a birth date (dd/mm/yyyy)."))
        if filters.status is not None and filters.status not in STATUSES:
            raise InvalidInput("status", N_("Unknown status {value}. Use one of: {choices}."), value=filters.status,
                               choices="; ".join(f"{STATUS_WORDS[code]} ({code})" for code in STATUSES))
        page = max(0, page)
        async with sensitive(self.uow, self.actor, self.clock, Action.VIEW_DOSSIER) as repos:
            unit_prefix = (await unit_by_code(repos, filters.unit_code, active=False)).path if filters.unit_code else None
            found: list[Found] = await repos.search.find(
                terms, dossier_scope(self.actor), unit_prefix=unit_prefix, status=filters.status,
                rank_code=filters.rank_code, limit=PAGE_SIZE + 1, offset=page * PAGE_SIZE,
            )
            shown = found[:PAGE_SIZE]
            rank_names = await names_of(repos, "rank") if any(item.rank_code for item in shown) else {}
            await record(repos, self.clock, self.actor, "dossier.search", "search", None, query=query, page=page,
                         filters=_filters(filters), shown=[item.id for item in shown])
        shows_id = mask_for(self.actor).shows_field("personal_id")
        return FindPage(query, page, [
            Candidate(f.id, f.full_name, f.birth_date, f.post, f.working_unit, f.personal_id if shows_id else None,
                      coded(f.rank_code, rank_names.get(f.rank_code or ""))) for f in shown
        ], len(found) > PAGE_SIZE)


def _filters(filters: FindFilters) -> dict[str, str]:
    return {name: value for name in ("unit_code", "status", "rank_code") if (value := getattr(filters, name))}
