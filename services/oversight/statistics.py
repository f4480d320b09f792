"""The statistics of a scope, after the statistical form BM01/BNV: how many people are in service on a
date, and of them how many are party members, women, of an ethnic minority, religious; by rank, by
professional level, political theory, state management, IT and foreign language; by age band.

Rows are units with subtotals up the tree. The people are counted by the unit that keeps their dossier
(the custodian), as the personnel office counts dossiers.

Dossiers hold these qualifications as typed text ("Đại học", "Cử nhân Luật", "ThS", "Trung cấp LLCT"…).
The database counts the people of each unit by the raw values of these fields, in the one aggregate
that also counts the party members, the women and the age bands (storage/statistics.py); each distinct
value is then classed here once, folded and word by word, by the phrases below. A value no phrase matches is counted in
no column of its group (or, for IT and languages, as a certificate). The age bands come from the
regulation profile.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.core.actor import Actor
from services.core.clock import Clock, add_months, local_today
from services.core.errors import InvalidInput, PermissionDenied
from services.core.i18n import N_
from services.core.policy import EVERYWHERE, Action, can, scope_of
from services.core.text import fold
from services.platform.audit import record
from services.platform.sessions import sensitive
from services.platform.units import unit_by_code
from services.regime.profiles import Profile
from services.regime.setup import profile_of
from storage import Repositories, UnitOfWork
from storage.models import OrgUnit
from storage.statistics import Tally

Translate = Callable[[str], str]


# -- the columns --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Category:
    code: str
    label: str  # message id
    phrases: tuple[str, ...] = ()  # folded; any of them, as whole words, puts a value here


@dataclass(frozen=True, slots=True)
class Dimension:
    """A group of columns classing one text field of the dossier. The first matching category wins,
    so the more specific come first ("chuyên viên cao cấp" before "chuyên viên")."""

    key: str
    field: str
    title: str  # message id
    categories: tuple[Category, ...]
    rest: str | None = None  # the category of a filled-in value that no phrase matches


# What a clerk types for "none" (besides anything starting with "không"): never counted.
NONE_WORDS = frozenset({"khong", "chua co", "chua", "none", "no", "0", "00"})
MAJORITY_ETHNICITY = frozenset({"01", "viet"})  # the code of the Kinh, and their other name; "kinh" as a word

DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("level", "professional_level", N_("Professional level"), (
        Category("TS", N_("Doctorate"), ("tien si", "ts", "tskh", "giao su", "pho giao su", "gs", "pgs",
                                          "chuyen khoa ii", "ck ii", "ckii", "ck2")),
        Category("ThS", N_("Master's"), ("thac si", "ths", "chuyen khoa i", "ck i", "cki", "ck1",
                                          "bac si noi tru")),
        Category("DH", N_("Bachelor's"), ("dai hoc", "dh", "cu nhan", "cn", "ky su", "ks", "kien truc su",
                                           "bac si", "bs", "duoc si dai hoc")),
        Category("CD", N_("College"), ("cao dang", "cd")),
        Category("TC", N_("Secondary vocational"), ("trung cap", "tc", "trung hoc chuyen nghiep", "thcn")),
        Category("SC", N_("Elementary vocational"), ("so cap", "sc")),
    )),
    Dimension("politics", "political_theory", N_("Political theory"), (
        Category("CC", N_("Advanced or bachelor's"), ("cao cap", "cu nhan", "cc", "cn", "dai hoc")),
        Category("TC", N_("Intermediate"), ("trung cap", "tc")),
        Category("SC", N_("Elementary"), ("so cap", "sc")),
    )),
    Dimension("management", "state_management", N_("State management"), (
        Category("CVCC", N_("Senior principal specialist"), ("chuyen vien cao cap", "cvcc")),
        Category("CVC", N_("Principal specialist"), ("chuyen vien chinh", "cvc")),
        Category("CV", N_("Specialist"), ("chuyen vien", "cv")),
        Category("CS", N_("Officer"), ("can su", "cs")),
    )),
    Dimension("it", "it_skill", N_("IT"), (
        Category("UP", N_("Intermediate or higher"), ("trung cap", "tc", "cao dang", "cd", "dai hoc", "dh",
                                                      "cu nhan", "ky su", "thac si", "tien si")),
        Category("CERT", N_("Certificate")),
    ), rest="CERT"),
    Dimension("language", "foreign_language", N_("Foreign language"), (
        Category("UP", N_("Bachelor's or higher"), ("dai hoc", "dh", "cu nhan", "thac si", "ths", "tien si")),
        Category("CERT", N_("Certificate")),
    ), rest="CERT"),
)
RANK_CATEGORIES = (
    Category("CVCC", N_("Senior principal specialist")), Category("CVC", N_("Principal specialist")),
    Category("CV", N_("Specialist")), Category("CS", N_("Officer")), Category("NV", N_("Staff")),
)
# A rank's column: the "level" the rank list gives it, else its salary table's group (A3 is the
# senior principal specialists' and their equivalents, … B and C the staff's).
RANK_BY_GROUP = (("A3", "CVCC"), ("A2", "CVC"), ("A1", "CV"), ("A0", "CS"), ("B", "NV"), ("C", "NV"))
FLAGS = (("party", N_("Party members")), ("women", N_("Women")), ("minority", N_("Ethnic minorities")),
         ("religious", N_("Religious")))
OF_WHICH, RANK, AGE = N_("Of which"), N_("Rank"), N_("Age")


def words_of(text: str) -> str:
    return " " + " ".join(re.sub(r"[^0-9a-z]+", " ", fold(text)).split()) + " "


def says_none(words: str) -> bool:
    """"Không", "Không có", "Không theo tôn giáo", "-"…: a value that says there is none."""
    bare = words.strip()
    return not bare or bare in NONE_WORDS or bare.startswith("khong ")


def classify(dimension: Dimension, value: str) -> str | None:
    """The category code of a typed value, or None when it counts in none."""
    words = words_of(value)
    if says_none(words):
        return None
    for category in dimension.categories:
        if any(f" {phrase} " in words for phrase in category.phrases):
            return category.code
    return dimension.rest


def is_majority(ethnicity: str) -> bool:
    words = words_of(ethnicity)
    return " kinh " in words or words.strip() in MAJORITY_ETHNICITY


def rank_category(extra: dict[str, Any]) -> str | None:
    level = str(extra.get("level") or "")
    if level in {c.code for c in RANK_CATEGORIES}:
        return level
    group = str(extra.get("group") or "").upper()
    return next((code for prefix, code in RANK_BY_GROUP if group.startswith(prefix)), None)


def years_before(day: dt.date, years: int) -> dt.date:
    """The same day `years` earlier; 29 February becomes the 28th in a common year."""
    return add_months(day, -12 * years)


def age_label(low: int, high: int, first: bool, last: bool) -> tuple[str, dict[str, int]]:
    if first:
        return N_("Up to {high}"), {"high": high}
    if last:
        return N_("Over {low}"), {"low": low - 1}
    return N_("{low} to {high}"), {"low": low, "high": high}


@dataclass(frozen=True, slots=True)
class StatColumn:
    key: str  # "party", "rank.CV", "level.DH", "age.0"…
    group: str  # message id of its group
    label: str  # message id
    params: tuple[tuple[str, int], ...] = ()

    def title(self, translate: Translate) -> str:
        return translate(self.label).format(**dict(self.params))


def columns_for(profile: Profile) -> tuple[StatColumn, ...]:
    columns = [StatColumn(key, OF_WHICH, label) for key, label in FLAGS]
    columns += [StatColumn(f"rank.{c.code}", RANK, c.label) for c in RANK_CATEGORIES]
    for dimension in DIMENSIONS:
        columns += [StatColumn(f"{dimension.key}.{c.code}", dimension.title, c.label) for c in dimension.categories]
    bands = profile.age_bands
    for index, (low, high) in enumerate(bands):
        label, params = age_label(low, high, index == 0, index == len(bands) - 1)
        columns.append(StatColumn(f"age.{index}", AGE, label, tuple(params.items())))
    return tuple(columns)


def tallies_for(profile: Profile, day: dt.date) -> list[Tally]:
    """The columns the database tests each dossier for: party members and women on `day`, the age bands."""
    tallies = [Tally("party", "party_joined_on", "between", (None, day)), Tally("women", "sex", "in", ("F",))]
    # Age on `day` in whole years: in [low, high] when born after (day − high − 1 years) and on or before
    # (day − low years). The last band is open above, so nobody falls outside.
    bands = profile.age_bands
    for index, (low, high) in enumerate(bands):
        after = None if index == len(bands) - 1 else years_before(day, high + 1)
        tallies.append(Tally(f"age.{index}", "birth_date", "between", (after, years_before(day, low))))
    return tallies


TYPED = ("ethnicity", "religion", "rank_code", *(d.field for d in DIMENSIONS))  # counted by their raw values


async def classes_of(repos: Repositories) -> dict[str, Callable[[str], tuple[str, ...]]]:
    """For each typed field, the columns a raw value counts in (a filled-in value; empty ones count in none)."""
    ranks: dict[str, str] = {}
    for item in await repos.references.listing("rank"):
        category = rank_category(dict(item.extra))
        if category is not None:
            ranks[item.code] = f"rank.{category}"
    classes: dict[str, Callable[[str], tuple[str, ...]]] = {
        "ethnicity": lambda value: () if is_majority(value) or says_none(words_of(value)) else ("minority",),
        "religion": lambda value: () if says_none(words_of(value)) else ("religious",),
        "rank_code": lambda value: (ranks[value],) if value in ranks else (),
    }
    for dimension in DIMENSIONS:
        def classed(value: str, dimension: Dimension = dimension) -> tuple[str, ...]:
            code = classify(dimension, value)
            return () if code is None else (f"{dimension.key}.{code}",)
        classes[dimension.field] = classed
    return classes


async def count_units(repos: Repositories, profile: Profile, prefixes: Sequence[str], day: dt.date
                      ) -> dict[int, dict[str, int]]:
    """Per custodian unit, the people in service on `day` ("total") and each column: one aggregate, then
    each distinct typed value classed once."""
    counted = await repos.statistics.counted(prefixes, day, tallies_for(profile, day), TYPED)
    classes = await classes_of(repos)
    seen: dict[tuple[str, str], tuple[str, ...]] = {}
    result: dict[int, dict[str, int]] = {}
    for unit_id, unit in counted.items():
        values: dict[str, int] = defaultdict(int, {"total": unit.people, **unit.tallies})
        for name, held in unit.values.items():
            for value, people in held.items():
                if value is None or value == "":
                    continue
                key = (name, str(value))
                if key not in seen:
                    seen[key] = classes[name](str(value))
                for column in seen[key]:
                    values[column] += people
        result[unit_id] = dict(values)
    return result


# -- the table ----------------------------------------------------------------------------------------
TOTAL, SUBTOTAL, OWN, UNIT = "total", "subtotal", "own", "unit"


@dataclass(frozen=True, slots=True)
class StatRow:
    kind: str  # total | subtotal (a unit with its subunits) | own (that unit's own people) | unit
    unit_code: str | None
    unit_name: str | None
    depth: int
    people: int
    counts: tuple[int, ...]  # in the order of the table's columns


@dataclass(frozen=True, slots=True)
class StatTable:
    as_of: dt.date
    columns: tuple[StatColumn, ...]
    rows: tuple[StatRow, ...]
    scope: tuple[str, ...] = field(default=())  # the names of the units at the top of the scope

    @property
    def total(self) -> StatRow:
        return self.rows[0]

    def value(self, row: StatRow, key: str) -> int:
        if key == "total":
            return row.people
        return row.counts[[c.key for c in self.columns].index(key)]

    def group(self, prefix: str, row: StatRow | None = None) -> list[tuple[StatColumn, int]]:
        """The columns of one group ("rank", "level", "age"…) with their counts in `row` (the total)."""
        row = row or self.total
        return [(c, row.counts[i]) for i, c in enumerate(self.columns) if c.key.split(".")[0] == prefix]

    def as_json(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "scope": list(self.scope),
                "columns": [[c.key, c.group, c.label, [list(p) for p in c.params]] for c in self.columns],
                "rows": [[r.kind, r.unit_code, r.unit_name, r.depth, r.people, list(r.counts)] for r in self.rows]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StatTable:
        columns = tuple(StatColumn(k, g, label, tuple((n, int(v)) for n, v in params))
                        for k, g, label, params in data["columns"])
        rows = tuple(StatRow(kind, code, name, int(depth), int(people), tuple(int(c) for c in counts))
                     for kind, code, name, depth, people, counts in data["rows"])
        return cls(dt.date.fromisoformat(data["as_of"]), columns, rows, tuple(data.get("scope", ())))


def _add(a: Sequence[int], b: Sequence[int]) -> list[int]:
    return [x + y for x, y in zip(a, b, strict=True)]


def build_table(day: dt.date, columns: tuple[StatColumn, ...], roots: Sequence[OrgUnit],
                units: Sequence[OrgUnit], counted: dict[int, dict[str, int]],
                worst: Callable[[dict[str, int]], float] | None = None) -> StatTable:
    """Rows in tree order under each root: a unit with subunits is a subtotal, followed by its own
    people (when it has any) and its subunits, by name or, given `worst` (how bad a unit's subtotal
    is), worst first. The first row is the total: the root itself when there is one. A merged unit
    left without people is left out."""
    keys = ["total", *(c.key for c in columns)]
    zero = [0] * len(keys)
    own = {unit_id: [values.get(k, 0) for k in keys] for unit_id, values in counted.items()}
    children: dict[int | None, list[OrgUnit]] = defaultdict(list)
    for unit in sorted(units, key=lambda u: (u.path.count("/"), u.name)):
        children[unit.parent_id].append(unit)
    sums: dict[int, list[int]] = {}

    def total_of(unit: OrgUnit) -> list[int]:
        if unit.id not in sums:
            total = list(own.get(unit.id, zero))
            for child in children[unit.id]:
                total = _add(total, total_of(child))
            sums[unit.id] = total
        return sums[unit.id]

    def walk(unit: OrgUnit, depth: int, rows: list[StatRow]) -> None:
        mine, total = own.get(unit.id, zero), total_of(unit)
        kids = [k for k in children[unit.id] if k.status == "active" or total_of(k)[0]]
        if worst is not None:
            kids.sort(key=lambda k: -worst(dict(zip(keys, total_of(k), strict=True))))
        rows.append(StatRow(SUBTOTAL if kids else UNIT, unit.code, unit.name, depth, total[0], tuple(total[1:])))
        if kids and mine[0]:
            rows.append(StatRow(OWN, unit.code, unit.name, depth + 1, mine[0], tuple(mine[1:])))
        for kid in kids:
            walk(kid, depth + 1, rows)

    body: list[StatRow] = []
    for root in roots:
        walk(root, 0 if len(roots) == 1 else 1, body)
    if len(roots) == 1:
        head = body[0]
        rows = [StatRow(TOTAL, head.unit_code, head.unit_name, 0, head.people, head.counts), *body[1:]]
    else:
        grand = list(zero)
        for root in roots:
            grand = _add(grand, total_of(root))
        rows = [StatRow(TOTAL, None, None, 0, grand[0], tuple(grand[1:])), *body]
    return StatTable(day, columns, tuple(rows), tuple(root.name for root in roots))


async def scope_units(repos: Repositories, prefixes: Sequence[str]) -> tuple[list[OrgUnit], list[OrgUnit]]:
    """The units at the top of the scope and every unit under them."""
    everything = await repos.units.subtree("/")
    if tuple(prefixes) == EVERYWHERE:
        return [u for u in everything if u.parent_id is None], list(everything)
    tops = [u for u in everything if u.path in prefixes and not any(
        u.path != p and u.path.startswith(p) for p in prefixes)]
    inside = [u for u in everything if any(u.path.startswith(t.path) for t in tops)]
    return tops, inside


async def compute_table(repos: Repositories, prefixes: Sequence[str], day: dt.date) -> StatTable:
    profile = await profile_of(repos)
    roots, units = await scope_units(repos, prefixes)
    counted = await count_units(repos, profile, [r.path for r in roots], day)
    return build_table(day, columns_for(profile), roots, units, counted)


class StatisticsService:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock

    async def table(self, unit_code: str | None = None, as_of: dt.date | None = None) -> StatTable:
        """The table of the actor's scope (or of one unit's subtree within it) on a date (today)."""
        day = as_of or local_today(self.clock)
        if day > local_today(self.clock):
            raise InvalidInput("as_of", N_("The date {value} is in the future."), value=day.strftime("%d/%m/%Y"))
        # The read is audited first, in a short transaction of its own: the counting takes a while on a
        # province and must not hold SQLite's write lock meanwhile.
        async with sensitive(self.uow, self.actor, self.clock, Action.VIEW_STATISTICS) as repos:
            prefixes = await self._prefixes(repos, unit_code)
            await record(repos, self.clock, self.actor, "statistics.view", "unit", unit_code or None,
                         as_of=day.isoformat())
        async with self.uow.read() as repos:
            return await compute_table(repos, prefixes, day)

    async def _prefixes(self, repos: Repositories, unit_code: str | None) -> tuple[str, ...]:
        if unit_code is None:
            return scope_of(self.actor, Action.VIEW_STATISTICS)
        unit = await unit_by_code(repos, unit_code, active=False)
        if not can(self.actor, Action.VIEW_STATISTICS, unit.path):
            raise PermissionDenied()
        return (unit.path,)
