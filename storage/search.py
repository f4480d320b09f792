"""Dossier search over the maintained index: FTS5 trigram on SQLite; on PostgreSQL the terms of the folded name
(a GIN index over a text[] column, migration 0017), and for digits inside a personal ID its runs of six digits
(a btree of each of the first three places in the page's order, a GIN index of the others: migration 0020) or,
for fewer digits, pg_trgm.

Every word of the query must start a word of the folded name, or (digits) appear in the personal ID, in
any order. On SQLite the trigram index answers words of three characters or more with the space before
them; shorter ones (Vietnamese has many: "an", "ha") are matched as the start of a name word among those
candidates. On PostgreSQL every name word, even of one letter, is looked up whole in the terms' index, and a
page of names is found tier by tier of the ranking, each a bounded walk or a small set (`_tiers`), so that
its cost does not grow with the number of matches.
"""

from __future__ import annotations

import datetime as dt
import math
import time
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
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.models import PERSONAL_ID_LENGTH, Dossier
from storage.repositories import CUSTODIAN_UNIT, WORKING_UNIT, under

_FTS = table("dossier_search", column("rowid"))
_BODY = Dossier.folded_name.op("||")(literal_column("' '")).op("||")(Dossier.personal_id)  # as indexed on PostgreSQL
# The terms of the folded name, computed by PostgreSQL (migration 0017); not on SQLite: every prefix of every
# word ("ngu"), of the first word ("^ngu"), of every word after it ("~ngu"), and each word followed by a prefix of
# the next ("nguyen t").
_TERMS = literal_column("dossier.name_terms", ARRAY(Text))
FIRST, INNER = "^", "~"
# The runs of RUN digits of the personal ID, indexed on PostgreSQL (migration 0020); not on SQLite. A run starting
# at one of the first HEADS places holds (part of) the province's code, the century and sex and the year of birth:
# at the first place thousands of IDs share it, at the next two ten and a hundred times fewer. Each of those places
# has a btree in the page's order, `substr(personal_id, place, RUN)` as the index has it (constants, not
# parameters); the runs further on hold the serial and are rare: a GIN index of them.
RUN = 6
HEADS = 3
LONG_RUN = HEADS + RUN  # a word this long has its digits HEADS + 1 to LONG_RUN at the fourth place or further
_ID_AT = tuple(func.substr(Dossier.personal_id, literal_column(str(place)), literal_column(str(RUN)))
               for place in range(1, HEADS + 1))
_ID_INNER_RUNS = func.hoso_id_inner_runs(Dossier.personal_id, type_=ARRAY(Text))
WALKED = 20000  # names read in the page's order, from the index alone, before digits are looked up as a set
SMALL = 2000  # a part's set this small is taken whole and sorted; a larger one is walked in the page's order


def _holds_inner(run: str) -> ColumnElement[bool]:
    return _ID_INNER_RUNS.op("@>")(bindparam(None, [run], type_=ARRAY(Text)))


def _run_key(word: str) -> str:
    """The six digits of a word of six or more that the runs' indexes look up: its first six, or for a word of
    LONG_RUN digits or more its digits 4 to 9, which sit at the fourth place or further in any ID holding it."""
    return word[HEADS:LONG_RUN] if len(word) >= LONG_RUN else word[:RUN]


def _heads_of(word: str) -> tuple[Any, ...]:
    """The first places whose btree may hold the key of a word of six digits or more: none for a word of LONG_RUN
    digits or more, whose key is never there."""
    return _ID_AT if len(word) < LONG_RUN else ()


def _holds_run(word: str) -> ColumnElement[bool]:
    """The personal ID holds the key of a word of six digits or more (`_run_key`): at one of its first places
    (`_heads_of`), or further on. With the word on the ID itself beside it, exact."""
    key = _run_key(word)
    return or_(*(at == key for at in _heads_of(word)), _holds_inner(key))


def _has_terms(terms: Sequence[str]) -> ColumnElement[bool]:
    return _TERMS.op("@>")(bindparam(None, list(terms), type_=ARRAY(Text)))


def _upper_bound(prefix: str) -> str:
    """The least string above every string starting with `prefix`: a prefix is a range of the name's index."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


# The terms' share of the rows, per database, from PostgreSQL's statistics of the column (its most common elements:
# every term in one name in 5 000 or more, at 2 million dossiers); read again after STATISTICS_TTL seconds, as
# autovacuum keeps them. (rows, {term: share}, the share below which a term is not listed)
_FREQUENCIES: dict[str, tuple[float, tuple[float, dict[str, float], float] | None]] = {}
STATISTICS_TTL = 600.0


async def frequencies(session: AsyncSession) -> tuple[float, dict[str, float], float] | None:
    """The table's rows and each common term's share of them, as PostgreSQL's statistics of the terms have them;
    None before the table was first analysed."""
    bind = session.bind
    key = "" if bind is None else str((bind.engine if isinstance(bind, AsyncConnection) else bind).url)
    now = time.monotonic()
    cached = _FREQUENCIES.get(key)
    if cached is not None and now - cached[0] < STATISTICS_TTL:
        return cached[1]
    row = (await session.execute(text(  # the dossier table the search reads, wherever search_path finds it
        "SELECT c.reltuples, s.most_common_elems::text::text[], s.most_common_elem_freqs "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = 'name_terms' "
        "WHERE c.oid = to_regclass('dossier')"))).first()
    found = None
    if row is not None and row[0] > 0 and row[1] and row[2]:
        terms, shares = row[1], row[2]
        # After one share per term comes the least of them (then the greatest, and that of null elements).
        found = (float(row[0]), dict(zip(terms, shares[:len(terms)], strict=True)), float(shares[len(terms)]))
    _FREQUENCIES[key] = (now, found)
    return found


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
    def __init__(self, session: AsyncSession, *, tiered: bool = True, small: int = SMALL, walked: int = WALKED
                 ) -> None:
        self.session = session
        self.tiered = tiered  # False: a name's page from the one ranked query (the tests' reference)
        self.small = small  # a part's set below this is read whole, else walked (`_tiers`)
        self.walked = walked  # names walked for digits before they are looked up as a set (`_digits_walked`)
        self.dialect = session.bind.dialect.name if session.bind is not None else "sqlite"

    def _text_filter(self, words: Sequence[str]) -> list[ColumnElement[bool]]:
        """The index narrows the candidates; then a name word must start a word of the name ("yen" is
        not found inside "nguyen"), and digits may sit anywhere in the personal ID.

        On SQLite a name word is looked up as " word" (a space, then the word), which the trigram index
        answers as "a word starting so": two letters are enough ("an" → " an"), and a common letter run
        inside longer words brings no candidates."""
        conditions: list[ColumnElement[bool]] = []
        if self.dialect == "postgresql":
            # The terms index answers "starts a word of the name" exactly, however short the word:
            # no second condition on the name, so the planner's estimate is that of the index's own column.
            name_words = [w for w in words if not w.isdigit()]
            if name_words:
                conditions.append(_has_terms(name_words))
            digits = [w for w in words if w.isdigit()]
            # A whole personal ID (as long as the column) can only be the ID itself: its unique index.
            conditions += [Dossier.personal_id == w for w in digits if len(w) == PERSONAL_ID_LENGTH]
            digits = [w for w in digits if len(w) != PERSONAL_ID_LENGTH]
            # Six digits or more: the IDs holding its key (`_run_key`), at one of the first places or further on.
            conditions += [_holds_run(w) for w in digits if len(w) >= RUN]
            conditions += [_BODY.like(f"%{w}%") for w in digits if 3 <= len(w) < RUN]
            # The run itself on the ID, but for six digits, which the runs' indexes answer exactly: a second
            # condition would have the planner multiply their estimates.
            conditions += [Dossier.personal_id.like(f"%{w}%") for w in digits if len(w) != RUN]
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
        # The whole province with no other filter: a walk of the folded name's index needs no row but the page's.
        whole = ("/" in scope and unit_prefix is None and status is None and rank_code is None
                 and terms.birth_date is None and terms.birth_year is None)
        if (self.dialect == "postgresql" and self.tiered and whole and terms.words and not name_words
                and all(len(word) < PERSONAL_ID_LENGTH for word in terms.words)):  # a whole ID: its unique index
            longest = max(terms.words, key=len)
            if len(longest) >= RUN:
                return [Found(*row) for row in (await self._runs_walked(base, terms.words, longest,
                                                                        offset + limit))[offset:]]
            walked = await self._digits_walked(base, terms.words, offset + limit)
            if walked is not None:
                return [Found(*row) for row in walked[offset:]]
            # Rarer than the walk could find: a small set, taken whole and sorted (OFFSET 0: never a walk).
            rare = base().add_columns(Dossier.folded_name).where(*self._text_filter(terms.words)).offset(0).subquery()
            query = select(rare).order_by(rare.c.folded_name, rare.c.id).limit(limit).offset(offset)
            return [Found(*row[:-1]) for row in await self.session.execute(query)]
        if name_words and len(name_words) == len(terms.words):
            # Fast path: names starting with the words as typed are the best matches (ranks 0 and 1),
            # and a walk of the folded-name index finds them without sorting every candidate. When they
            # fill the page, the page is exactly what the ranked query would give. A name that starts
            # with the phrase has each of its words at a word start already: no second condition, whose
            # guessed selectivity would make PostgreSQL expect a handful of "nguyen" instead of a third of
            # the table, and sort them all.
            phrase = " ".join(name_words)
            fast = (base().where(Dossier.folded_name >= phrase, Dossier.folded_name < _upper_bound(phrase))
                    .order_by(Dossier.folded_name, Dossier.id).limit(offset + limit))
            rows = (await self.session.execute(fast)).all()
            if len(rows) >= offset + limit:
                return [Found(*row) for row in rows[offset:]]
            if self.dialect == "postgresql" and self.tiered:
                return await self._tiers(base, name_words, rows, offset, limit, whole=whole)
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

    async def _runs_walked(self, base: Any, digits: Sequence[str], run: str, wanted: int) -> list[Any]:
        """Digits alone across the whole province, with a run of six or more (`run`): the first `wanted` IDs in
        the page's order that hold its key (`_run_key`) at each of the first places, each walked in the btree of
        its place, and those that hold it further on, a small set of the inner runs' index (OFFSET 0: never a
        walk), sorted; the best `wanted` of them. Every word but the key on the ID itself. None of it grows with
        the number of IDs that share a province's code and a year of birth."""
        key = _run_key(run)
        on_the_id = [Dossier.personal_id.like(f"%{w}%") for w in digits if w != key]
        parts = [select(Dossier.id, Dossier.folded_name).where(at == key, *on_the_id)
                 .order_by(Dossier.folded_name, Dossier.id).limit(wanted) for at in _heads_of(run)]
        further = (select(Dossier.id, Dossier.folded_name).where(_holds_inner(key), *on_the_id)
                   .offset(0).subquery())
        parts.append(select(further).order_by(further.c.folded_name, further.c.id).limit(wanted))
        found = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery()
        hits = await self.session.execute(select(found.c.id).order_by(found.c.folded_name, found.c.id))
        return await self._rows_of(base, list(dict.fromkeys(hits.scalars()))[:wanted])  # once, if at two places

    async def _digits_walked(self, base: Any, digits: Sequence[str], wanted: int) -> list[Any] | None:
        """Digits alone across the whole province, every run shorter than six (a longer one: `_runs_walked`): the
        page from the first `walked` names in the page's order, tested on the personal ID in the name's index
        itself (an index-only scan), when they hold it; None when they do not. The trigram index's estimate for
        a run of digits is a guess: "09217" (a province's code and a decade of birth) is held by hundreds of
        thousands of IDs at 2 million dossiers. A run so common is on the page within the first names; a rarer
        one is a small set, sorted."""
        first = (select(Dossier.id, Dossier.folded_name, Dossier.personal_id)
                 .order_by(Dossier.folded_name, Dossier.id).limit(self.walked).subquery())
        hits = (select(first.c.id).where(*(first.c.personal_id.like(f"%{w}%") for w in digits))
                .order_by(first.c.folded_name, first.c.id).limit(wanted))
        ids = list((await self.session.execute(hits)).scalars())
        if len(ids) < wanted:
            return None
        return await self._rows_of(base, ids)

    async def _rows_of(self, base: Any, ids: Sequence[int]) -> list[Any]:
        """The page's rows of these dossiers, in this order."""
        rows = {row[0]: row for row in await self.session.execute(base().where(Dossier.id.in_(ids)))}
        return [rows[one] for one in ids]

    async def _whole_sets(self, base: Any, whole: bool, parts: Sequence[Sequence[str]], wanted: int) -> list[bool]:
        """For each part, whether its set is read whole (small) or walked in the page's order (large).

        The terms' shares of the table in its statistics settle most parts without counting (`frequencies`): a
        part with a term rarer than `small` names is small, whatever its other terms. Across the whole province
        a part is walked when its terms are common enough in its stretch of the index for the walk to find
        `wanted` names within `walked` of them (the terms taken as independent): "^nguyen" with "hoa" is
        walked among the names starting with "nguyen", in which one in twenty has a word starting "hoa".
        The rest are counted in the terms' index, up to `small`: counting "^nguyen" with "hoa" (41 000 of 2
        million dossiers) read two long lists of the index, 16 ms, for a walk of a few hundred names."""
        known = await frequencies(self.session)
        choices: list[bool | None] = [None] * len(parts)
        if known is not None:
            rows, of, rarest = known
            for index, terms in enumerate(parts):
                shares = [of.get(term, rarest) for term in terms]
                in_stretch = shares[1:] if terms[0].startswith(FIRST) else shares  # "^w": the names starting so
                if rows * min(shares) < self.small:
                    choices[index] = True
                elif whole and math.prod(in_stretch) * self.walked >= wanted:
                    choices[index] = False
        unknown = [index for index, choice in enumerate(choices) if choice is None]
        if unknown:
            counted = (await self.session.execute(select(*(
                self._counted(base, whole, _has_terms(parts[index])).scalar_subquery() for index in unknown)))).one()
            for index, count in zip(unknown, counted, strict=True):
                choices[index] = count < self.small
        return [bool(choice) for choice in choices]

    def _counted(self, base: Any, whole: bool, *conditions: ColumnElement[bool]) -> Any:
        """How many rows match, counted up to `small` (the index's set, stopped there)."""
        within = select(literal(1)).select_from(Dossier) if whole else base()
        return select(func.count()).select_from(within.where(*conditions).limit(self.small).subquery())

    async def _tiers(self, base: Any, words: Sequence[str], first: Sequence[Any], offset: int, limit: int, *,
                     whole: bool = False) -> list[Found]:
        """The ranked page of a name on PostgreSQL once the fast path has found every name starting with it
        (`first`: ranks 0 and 1, fewer than the page). Every other match has each word at a word start: rank 2
        when the words follow one another as typed further on, else rank 3; each rank in the name's order.

        The page is the best of a few parts, each row once at its rank. Each part is a set of the terms' index
        holding all of one rank, and brings its first `wanted` rows in the name's order:
        - rank 2, one word: the names with it after the first word ("~mai");
        - rank 2, several: the names with the phrase's words in a row ("nguyen mai"; with three or more, each
          pair, then the phrase itself);
        - rank 3: for each word, the names whose first word starts with it that have the others ("^nguyen",
          "mai"), and the names with every word after the first ("~nguyen", "~mai"): a name of neither kind
          would have no word first.
        A part may hold rows of a better rank. Each still brings every row of its own rank that the page can
        show: fewer than `wanted` rows rank before any of them.

        How a part finds its rows is chosen from the size of its set (`_whole_sets`: the terms' statistics, else
        a count in the terms' index up to `small`): a small set is taken whole and sorted; a large one is dense,
        and a walk of the folded name's index in the page's order, testing the words on the name, finds its rows
        soon. Neither grows with the table.
        With nothing but the name to filter on (`whole`: the whole province, no unit, status, rank or birth),
        the walk reads the index alone (an index-only scan) and only the page's rows."""
        wanted = offset + limit
        phrase = " ".join(words)
        parts: list[tuple[list[str], list[ColumnElement[bool]]]] = [  # (its terms, the same as the name's words)
            ([INNER + word for word in words], [Dossier.folded_name.like(f"% {word}%") for word in words])]
        if len(words) > 1:
            pairs = [f"{one} {after}" for one, after in zip(words, words[1:], strict=False)]
            parts.append((pairs, [_word_start(phrase)]))
            for word in dict.fromkeys(words):
                others = [other for other in words if other != word]
                parts.append(([FIRST + word, *others], [Dossier.folded_name >= word,
                                                        Dossier.folded_name < _upper_bound(word),
                                                        *(_word_start(other) for other in others)]))

        read_whole = await self._whole_sets(base, whole, [terms for terms, _ in parts], wanted)
        queries = []
        for (terms, on_the_name), small in zip(parts, read_whole, strict=True):
            if small:  # taken whole (no ORDER BY, so never a walk) and ranked below with the rest
                queries.append(base().add_columns(Dossier.folded_name).where(_has_terms(terms)))
            elif whole:
                walk = (select(Dossier.id).where(*on_the_name).order_by(Dossier.folded_name, Dossier.id)
                        .limit(wanted))
                queries.append(base().add_columns(Dossier.folded_name).where(Dossier.id.in_(walk.scalar_subquery())))
            else:
                queries.append(base().add_columns(Dossier.folded_name).where(*on_the_name)
                               .order_by(Dossier.folded_name, Dossier.id).limit(wanted))
        rows = (await self.session.execute(union_all(*queries))).all()  # one round trip for every part
        seen = {row[0] for row in first}
        later: dict[int, tuple[int, str, int, Any]] = {}
        for *found, folded in rows:
            if found[0] not in seen:
                rank = 2 if f" {phrase}" in f" {folded}" else 3  # as _rank: the phrase at a word start
                later[found[0]] = (rank, folded, found[0], found)
        page = [*first, *(row for *_key, row in sorted(later.values(), key=lambda item: item[:3]))]
        return [Found(*row) for row in page[offset:wanted]]
