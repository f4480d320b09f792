"""/find: ranked candidates for a name (any order, with or without marks), a personal ID or part of
one, or a birth date, within the actor's scope. Every search is audited with the ids it showed."""

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
from services.platform.audit import record
from services.platform.sessions import sensitive
from services.platform.units import unit_by_code
from storage import UnitOfWork
from storage.search import Found, SearchTerms

PAGE_SIZE = 10
DATE = re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{4}$")
STATUSES = ("active", "probation", "retired", "resigned", "deceased", "transferred_out")


@dataclass(frozen=True, slots=True)
class Candidate:
    id: int
    full_name: str
    birth_date: dt.date
    post: str | None
    unit: str


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
    """Take the key:value filters out of a query; what remains is searched."""
    rest, found = [], {}
    for token in text.split():
        key, sep, value = token.partition(":")
        name = FILTER_KEYS.get(fold(key).replace(" ", "")) if sep else None
        if name and value:
            found[name] = value.upper() if name == "unit_code" else value.lower() if name == "status" else value
        else:
            rest.append(token)
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
    return SearchTerms(tuple(dict.fromkeys(words)), born)


class LookupService:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock

    async def find(self, query: str, page: int = 0, filters: FindFilters = FindFilters()) -> FindPage:
        terms = parse_query(query)
        if not terms.words and terms.birth_date is None:
            raise InvalidInput("query", N_("Type a name, a personal ID or a birth date (dd/mm/yyyy)."))
        if filters.status is not None and filters.status not in STATUSES:
            raise InvalidInput("status", N_("Unknown status {value}."), value=filters.status)
        page = max(0, page)
        async with sensitive(self.uow, self.actor, self.clock, Action.VIEW_DOSSIER) as repos:
            unit_prefix = (await unit_by_code(repos, filters.unit_code, active=False)).path if filters.unit_code else None
            found: list[Found] = await repos.search.find(
                terms, dossier_scope(self.actor), unit_prefix=unit_prefix, status=filters.status,
                rank_code=filters.rank_code, limit=PAGE_SIZE + 1, offset=page * PAGE_SIZE,
            )
            shown = found[:PAGE_SIZE]
            await record(repos, self.clock, self.actor, "dossier.search", "search", None, query=query, page=page,
                         filters=_filters(filters), shown=[item.id for item in shown])
        return FindPage(query, page, [Candidate(f.id, f.full_name, f.birth_date, f.post, f.working_unit) for f in shown],
                        len(found) > PAGE_SIZE)


def _filters(filters: FindFilters) -> dict[str, str]:
    return {name: value for name in ("unit_code", "status", "rank_code") if (value := getattr(filters, name))}
