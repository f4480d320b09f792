"""Dossier search over the maintained index: FTS5 trigram on SQLite; on PostgreSQL the word prefixes of
the folded name (a GIN index over a text[] column) and pg_trgm for digits inside a personal ID.

Every word of the query must start a word of the folded name, or (digits) appear in the personal ID, in
any order. On SQLite the trigram index answers words of three characters or more with the space before
them; shorter ones (Vietnamese has many: "an", "ha") are matched as the start of a name word among those
candidates. On PostgreSQL every name word, even of one letter, is looked up whole in the prefix index.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Text,
    and_,
    bindparam,
    case,
    column,
    literal,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Dossier
from storage.repositories import CUSTODIAN_UNIT, WORKING_UNIT, under

_FTS = table("dossier_search", column("rowid"))
_BODY = Dossier.folded_name.op("||")(literal_column("' '")).op("||")(Dossier.personal_id)  # as indexed on PostgreSQL
# Every prefix of every word of the folded name, computed by PostgreSQL (migration 0015); not on SQLite.
_PREFIXES = literal_column("dossier.name_prefixes", ARRAY(Text))


@dataclass(frozen=True, slots=True)
class SearchTerms:
    words: tuple[str, ...] = ()  # folded words and digit runs, all required
    birth_date: dt.date | None = None
    birth_year: int | None = None  # "dang hoa 1988": a name and the year of birth


@dataclass(frozen=True, slots=True)
class Found:
    id: int
    full_name: str
    birth_date: dt.date
    post: str | None
    working_unit: str
    personal_id: str
    rank_code: str | None


def _fts_phrase(word: str) -> str:
    return '"' + word.replace('"', "") + '"'


def _word_start(word: str) -> ColumnElement[bool]:
    return (literal(" ") + Dossier.folded_name).like(f"% {word}%", escape="\\")


def _rank(words: Sequence[str]) -> ColumnElement[int]:
    """0 the exact name, 1 the name starting with the words as typed, 2 the words in that order at a
    word start, 3 every word at a word start, 4 the rest (a word found inside another)."""
    phrase = " ".join(words)
    return case(
        (Dossier.folded_name == phrase, 0),
        (Dossier.folded_name.like(f"{phrase}%"), 1),
        (_word_start(phrase), 2),
        (and_(*[_word_start(word) for word in words]), 3),
        else_=4,
    )


class DossierSearch:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect = session.bind.dialect.name if session.bind is not None else "sqlite"

    def _text_filter(self, words: Sequence[str]) -> list[ColumnElement[bool]]:
        """The index narrows the candidates; then a name word must start a word of the name ("yen" is
        not found inside "nguyen"), and digits may sit anywhere in the personal ID.

        On SQLite a name word is looked up as " word" (a space, then the word), which the trigram index
        answers as "a word starting so": two letters are enough ("an" → " an"), and a common letter run
        inside longer words brings no candidates."""
        conditions: list[ColumnElement[bool]] = []
        if self.dialect == "postgresql":
            # The word-prefix index answers "starts a word of the name" exactly, however short the word:
            # no second condition on the name, so the planner's estimate is that of the index's own column.
            name_words = [w for w in words if not w.isdigit()]
            if name_words:
                conditions.append(_PREFIXES.op("@>")(bindparam(None, name_words, type_=ARRAY(Text))))
            digits = [w for w in words if w.isdigit()]
            conditions += [_BODY.like(f"%{w}%") for w in digits if len(w) >= 3]
            conditions += [Dossier.personal_id.like(f"%{w}%") for w in digits]
            return conditions
        phrases = [w if w.isdigit() else f" {w}" for w in words]
        match = " AND ".join(_fts_phrase(p) for p in phrases if len(p) >= 3)
        if match:
            conditions.append(Dossier.id.in_(
                select(_FTS.c.rowid).where(literal_column("dossier_search").op("MATCH")(match))))
        for word in words:
            conditions.append(Dossier.personal_id.like(f"%{word}%") if word.isdigit() else _word_start(word))
        return conditions

    async def find(
        self,
        terms: SearchTerms,
        scope: Sequence[str],
        *,
        unit_prefix: str | None = None,
        status: str | None = None,
        rank_code: str | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[Found]:
        """Ranked candidates in scope (custodian or working unit): exact names first, then names whose
        words start as typed, then alphabetically."""
        custodian, working = CUSTODIAN_UNIT, WORKING_UNIT
        conditions = [or_(under(custodian.path, scope), under(working.path, scope))]
        if terms.birth_date is not None:
            conditions.append(Dossier.birth_date == terms.birth_date)
        if terms.birth_year is not None:
            conditions.append(Dossier.birth_date.between(dt.date(terms.birth_year, 1, 1),
                                                         dt.date(terms.birth_year, 12, 31)))
        if unit_prefix is not None:
            conditions.append(or_(custodian.path.startswith(unit_prefix, autoescape=True),
                                  working.path.startswith(unit_prefix, autoescape=True)))
        if status is not None:
            conditions.append(Dossier.employment_status == status)
        if rank_code is not None:
            conditions.append(Dossier.rank_code == rank_code)
        columns = (Dossier.id, Dossier.full_name, Dossier.birth_date, Dossier.post, working.name, Dossier.personal_id,
                   Dossier.rank_code)

        def base() -> Any:
            return (select(*columns)
                    .join(custodian, custodian.id == Dossier.custodian_unit_id)
                    .join(working, working.id == Dossier.working_unit_id)
                    .where(*conditions))

        name_words = [w for w in terms.words if not w.isdigit()]
        if name_words and len(name_words) == len(terms.words):
            # Fast path: names starting with the words as typed are the best matches (ranks 0 and 1),
            # and a walk of the folded-name index finds them without sorting every candidate. When they
            # fill the page, the page is exactly what the ranked query would give. A name that starts
            # with the phrase has each of its words at a word start already: no second condition, whose
            # guessed selectivity would make PostgreSQL expect a handful of "nguyen" instead of a third of
            # the table, and sort them all.
            phrase = " ".join(name_words)
            upper = phrase[:-1] + chr(ord(phrase[-1]) + 1)
            fast = (base().where(Dossier.folded_name >= phrase, Dossier.folded_name < upper)
                    .order_by(Dossier.folded_name, Dossier.id).limit(offset + limit))
            rows = (await self.session.execute(fast)).all()
            if len(rows) >= offset + limit:
                return [Found(*row) for row in rows[offset:]]
        ranking = [_rank(name_words)] if name_words else []
        query = (
            base()
            .where(*self._text_filter(terms.words))
            .order_by(*ranking, Dossier.folded_name, Dossier.id)
            .limit(limit)
            .offset(offset)
        )
        rows = (await self.session.execute(query)).all()
        return [Found(*row) for row in rows]
