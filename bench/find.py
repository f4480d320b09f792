"""Latency of /find on a province-sized database: from just before `Dispatcher.feed_update` with the
message `/find <query>` until the bot calls sendMessage, through the real Dispatcher (middlewares, FSM
storage, session check, search, audit) and an in-process Bot API, signed in as the demo admin (whole
province). Then a naive baseline over the same queries: plain `LIKE '%word%'` SQL, no index, no folding.

    python -m bench.find [--size 200000] [--queries 300] [--runs 1] [--db PATH]

The database comes from `bench.seed` (a cache in the temp directory, seeded once). Nothing leaves the
process: the Bot API is `LocalBotSession`, the database a local SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import html
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiogram.enums import ChatType
from aiogram.methods import TelegramMethod
from aiogram.types import Chat, InlineKeyboardMarkup, User
from sqlalchemy import text

from bench.seed import DEFAULT_SIZE, SeedError, describe, ensure_seeded, sqlite_url
from bot.factory import create_bot, create_dispatcher
from bot.local_session import LOCAL_BOT_TOKEN, LocalBotSession, UpdateFactory
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from services.core.actor import Channel, Role
from services.core.clock import SystemClock
from services.core.identity import load_actor
from services.core.policy import EVERYWHERE, dossier_scope
from services.demo import CONSOLE_USER_IDS
from services.dossiers.lookup import DATE

TARGET_MS = 25.0
TARGET = "/find p95 < 25 ms over 200 000 dossiers"
WARMUP = 20
SEED = 2026

# The query kinds, in the order they are reported.
KINDS: dict[str, str] = {
    "written": "full name as written",
    "folded": "full name without diacritics",
    "family_given": "family + given name (folded)",
    "reversed": "given then family name",
    "id6": "6-digit part of a personal ID",
    "id12": "full 12-digit personal ID",
    "date": "birth date dd/mm/yyyy",
    "family": "family name alone",
}


class BenchError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Query:
    kind: str
    text: str  # what follows /find

    def naive_sql(self, dialect: str = "sqlite") -> tuple[str, dict[str, Any]]:
        """The naive search: every word as typed, anywhere in the name (or the ID, or the date); LIKE on
        SQLite (which ignores the case of ASCII letters), ILIKE on PostgreSQL."""
        like = "ILIKE" if dialect == "postgresql" else "LIKE"
        conditions, params = [], {}
        for number, token in enumerate(self.text.split()):
            name = f"w{number}"
            if DATE.match(token):
                day, month, year = (int(part) for part in token.replace(".", "/").replace("-", "/").split("/"))
                conditions.append(f"birth_date = :{name}")
                born = dt.date(year, month, day)
                params[name] = born if dialect == "postgresql" else born.isoformat()
            elif token.isdigit():
                conditions.append(f"personal_id LIKE :{name}")
                params[name] = f"%{token}%"
            else:
                conditions.append(f"full_name {like} :{name}")
                params[name] = f"%{token}%"
        sql = f"SELECT id, full_name, birth_date, post FROM dossier WHERE {' AND '.join(conditions)} LIMIT 11"
        return sql, params


@dataclass
class Timing:
    query: Query
    ms: float
    found: bool


@dataclass
class Recorder:
    """The LocalBotSession observer: when the first sendMessage came, and what it said."""

    sent_at: float | None = None
    method: TelegramMethod[Any] | None = None
    calls: list[str] = field(default_factory=list)

    def reset(self) -> None:
        self.sent_at, self.method, self.calls = None, None, []

    def __call__(self, method: TelegramMethod[Any], _result: Any) -> None:
        self.calls.append(method.__api_method__)
        if method.__api_method__ == "sendMessage" and self.sent_at is None:
            self.sent_at = time.perf_counter()
            self.method = method


# -- the query mix, drawn from the data ------------------------------------------------------------
async def most_common_family(runtime: Runtime) -> tuple[str, int, int]:
    family = ("split_part(folded_name, ' ', 1)" if runtime.database.dialect == "postgresql"
              else "substr(folded_name, 1, instr(folded_name || ' ', ' ') - 1)")
    async with runtime.database.session(write=False) as session:
        row = (await session.execute(text(
            f"SELECT {family} AS family, count(*) AS n FROM dossier GROUP BY family ORDER BY n DESC LIMIT 1"
        ))).one()
        total = int(await session.scalar(text("SELECT count(*) FROM dossier")) or 0)
    return str(row.family), int(row.n), total


async def random_dossiers(runtime: Runtime, count: int, rng: random.Random) -> list[Any]:
    """`count` random dossiers (distinct when the table allows), in the order drawn."""
    async with runtime.database.session(write=False) as session:
        low, high = (await session.execute(text("SELECT min(id), max(id) FROM dossier"))).one()
        if low is None:
            raise BenchError("the database holds no dossiers")
        ids = [rng.randint(low, high) for _ in range(count)]
        rows = {}
        for start in range(0, len(ids), 500):
            chunk = sorted(set(ids[start:start + 500]))
            marks = ", ".join(f":i{n}" for n in range(len(chunk)))
            result = await session.execute(
                text(f"SELECT id, full_name, folded_name, personal_id, birth_date FROM dossier WHERE id IN ({marks})"),
                {f"i{n}": value for n, value in enumerate(chunk)},
            )
            rows.update({row.id: row for row in result})
    return [rows[i] for i in ids if i in rows]


def make_query(kind: str, row: Any, family: str, rng: random.Random) -> Query:
    written, folded = row.full_name.split(), row.folded_name.split()
    if kind == "written":
        return Query(kind, row.full_name)
    if kind == "folded":
        return Query(kind, row.folded_name)
    if kind == "family_given":
        return Query(kind, f"{folded[0]} {folded[-1]}")
    if kind == "reversed":
        return Query(kind, f"{written[-1]} {written[0]}")
    if kind == "id6":
        start = rng.randint(0, len(row.personal_id) - 6)
        return Query(kind, row.personal_id[start:start + 6])
    if kind == "id12":
        return Query(kind, row.personal_id)
    if kind == "date":
        born = row.birth_date if isinstance(row.birth_date, dt.date) else dt.date.fromisoformat(str(row.birth_date))
        return Query(kind, born.strftime("%d/%m/%Y"))
    if kind == "family":
        return Query(kind, family)
    raise ValueError(kind)


async def query_mix(runtime: Runtime, count: int, family: str, rng: random.Random) -> list[Query]:
    """`count` queries, the kinds in equal shares, each from its own random dossier, shuffled."""
    kinds = [list(KINDS)[n % len(KINDS)] for n in range(count)]
    rows = await random_dossiers(runtime, count, rng)
    if len(rows) < count:  # ids missing from the range: draw again
        rows += await random_dossiers(runtime, 2 * (count - len(rows)), rng)
    queries = [make_query(kind, row, family, rng) for kind, row in zip(kinds, rows, strict=False)]
    rng.shuffle(queries)
    return queries


# -- measuring --------------------------------------------------------------------------------------
async def sign_in_admin(runtime: Runtime) -> str:
    """The demo admin, bound to its console user id, with a fresh session (last_active_at = now)."""
    user_id = CONSOLE_USER_IDS[Role.ADMIN]
    async with runtime.uow.write() as repos:
        found = await repos.accounts.by_identity(Channel.TELEGRAM, str(user_id))
        if found is None:
            raise BenchError("the database has no demo admin bound to the console user id")
        account, _unit = found
        account.last_active_at = runtime.clock.now()
    actor = await load_actor(runtime.uow, Channel.TELEGRAM, user_id)
    if actor.role is not Role.ADMIN or dossier_scope(actor) != EVERYWHERE:
        raise BenchError(f"the demo admin cannot search the whole province (role {actor.role}, "
                         f"scope {dossier_scope(actor)})")
    return f"{actor.username} ({actor.role.value}, {actor.unit_name}; scope: the whole province)"


class FindDriver:
    """The real Dispatcher with the in-process Bot API, sending as the demo admin."""

    def __init__(self, runtime: Runtime) -> None:
        self.recorder = Recorder()
        self.session = LocalBotSession(on_call=self.recorder)
        self.bot = create_bot(LOCAL_BOT_TOKEN, session=self.session)
        self.dispatcher = create_dispatcher(runtime)
        self.updates = UpdateFactory()
        user_id = CONSOLE_USER_IDS[Role.ADMIN]
        self.user = User(id=user_id, is_bot=False, first_name="Bench", language_code="vi")
        self.chat = Chat(id=user_id, type=ChatType.PRIVATE, first_name="Bench")

    async def find(self, query: Query) -> Timing:
        update = self.updates.message(self.user, self.chat, f"/find {query.text}")
        self.recorder.reset()
        started = time.perf_counter()
        await self.dispatcher.feed_update(self.bot, update)
        if self.recorder.sent_at is None or self.recorder.method is None:
            raise BenchError(f"/find {query.text} sent no message (calls: {self.recorder.calls})")
        method = self.recorder.method
        self.session.calls.clear()
        self.session.messages.clear()
        found = isinstance(method.reply_markup, InlineKeyboardMarkup)
        if not found and html.escape(query.text) not in (method.text or ""):
            raise BenchError(f"/find {query.text} answered neither results nor 'nobody matches': {method.text!r}")
        return Timing(query, (self.recorder.sent_at - started) * 1000, found)


async def naive(runtime: Runtime, query: Query) -> Timing:
    sql, params = query.naive_sql(runtime.database.dialect)
    async with runtime.database.engine.connect() as connection:
        await connection.execution_options(hoso_write=False)  # a plain BEGIN, as reads use
        started = time.perf_counter()
        rows = (await connection.execute(text(sql), params)).all()
        elapsed = time.perf_counter() - started
        await connection.rollback()
    return Timing(query, elapsed * 1000, bool(rows))


# -- reporting --------------------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def figures(values: list[float]) -> str:
    return (f"p50 {percentile(values, 50):7.2f} ms  p95 {percentile(values, 95):7.2f} ms  "
            f"p99 {percentile(values, 99):7.2f} ms  max {max(values):7.2f} ms")


def by_kind(timings: list[Timing]) -> None:
    for kind, label in KINDS.items():
        values = [t.ms for t in timings if t.query.kind == kind]
        if not values:
            continue
        found = sum(t.found for t in timings if t.query.kind == kind)
        print(f"    {label:<31} n={len(values):<4} p50 {percentile(values, 50):7.2f}  "
              f"p95 {percentile(values, 95):7.2f}  max {max(values):7.2f} ms   found {found}/{len(values)}")


def examples(queries: list[Query]) -> str:
    seen: dict[str, str] = {}
    for query in queries:
        seen.setdefault(query.kind, query.text)
    return "; ".join(f'"{seen[kind]}"' for kind in KINDS if kind in seen)


@dataclass
class FindRun:
    """One measurement of /find and of the naive SQL over the same queries, on one database."""

    admin: str
    family: str
    family_count: int
    total: int
    queries: list[Query]
    warmup: int
    passes: int
    timings: list[Timing]
    baseline: list[Timing]

    def p95(self, kind: str | None = None, *, naive: bool = False) -> float:
        chosen = self.baseline if naive else self.timings
        return percentile([t.ms for t in chosen if kind is None or t.query.kind == kind], 95)


async def run_find(runtime: Runtime, count: int, passes: int = 1) -> FindRun:
    """/find through the real Dispatcher, then the naive SQL, over the same query mix (`run_finds` on one
    database: the one code path of bench.find and bench.scale)."""
    return (await run_finds([runtime], count, passes))[0]


@dataclass
class _Database:
    """One database's side of `run_finds`."""

    runtime: Runtime
    driver: FindDriver
    admin: str
    family: str
    family_count: int
    total: int
    queries: list[Query]
    warmup: list[Query]
    timings: list[Timing] = field(default_factory=list)
    baseline: list[Timing] = field(default_factory=list)


async def run_finds(runtimes: list[Runtime], count: int, passes: int = 1) -> list[FindRun]:
    """`run_find` on several databases at once, their queries interleaved one by one: what the machine is
    doing meanwhile weighs on each database alike, so that their figures compare fairly."""
    databases = []
    for runtime in runtimes:
        rng = random.Random(SEED)
        family, family_count, total = await most_common_family(runtime)
        queries = await query_mix(runtime, count, family, rng)
        warmup = await query_mix(runtime, WARMUP, family, rng)
        admin = await sign_in_admin(runtime)
        databases.append(_Database(runtime, FindDriver(runtime), admin, family, family_count, total, queries, warmup))
    for one in databases:
        for query in one.warmup:
            await one.driver.find(query)
    count = min(len(one.queries) for one in databases)  # a mix may come short of ids to draw from
    for _ in range(passes):
        for index in range(count):
            for one in databases:
                one.timings.append(await one.driver.find(one.queries[index]))
    for one in databases:
        for query in one.warmup:
            await naive(one.runtime, query)
    for index in range(count):
        for one in databases:
            one.baseline.append(await naive(one.runtime, one.queries[index]))
    return [FindRun(one.admin, one.family, one.family_count, one.total, one.queries, len(one.warmup), passes,
                    one.timings, one.baseline) for one in databases]


def report(measured: FindRun) -> None:
    """The figures of one run: overall, by kind, the worst case, and the naive SQL beside."""
    total, family = measured.total, measured.family
    print(f"signed in as {measured.admin}")
    print(f"most common family name: {family!r}, {measured.family_count:,} of {total:,} dossiers "
          f"({measured.family_count / total:.0%})")
    print(f"query mix: {len(measured.queries)} queries, {len(KINDS)} kinds in equal shares, "
          f"e.g. {examples(measured.queries)}")
    timings, baseline = measured.timings, measured.baseline
    find_ms = [t.ms for t in timings]
    found = sum(t.found for t in timings)
    repeat = f" × {measured.passes} passes" if measured.passes > 1 else ""
    print(f"\n/find, feed_update → sendMessage, {len(measured.queries)} queries{repeat} after {measured.warmup} "
          f"warm-up ({found}/{len(timings)} with results):")
    print(f"  {figures(find_ms)}")
    by_kind(timings)
    family_ms = [t.ms for t in timings if t.query.kind == "family"]
    if family_ms:
        print(f'  family name alone "/find {family}" (worst case): median {statistics.median(family_ms):.2f} ms, '
              f"max {max(family_ms):.2f} ms over {len(family_ms)}")
    naive_ms = [t.ms for t in baseline]
    print(f"\nnaive SQL (full_name LIKE '%w%' AND …, personal_id LIKE '%d%', birth_date = d; LIMIT 11; "
          f"no index use for words, no folding), same {len(measured.queries)} queries "
          f"({sum(t.found for t in baseline)}/{len(baseline)} with results):")
    print(f"  {figures(naive_ms)}")
    by_kind(baseline)
    print(f"  naive p95 / find p95 = {measured.p95(naive=True) / measured.p95():.2f}")


async def measure(size: int, count: int, passes: int, db: Path | None) -> bool:
    seeded = await ensure_seeded(size, db)
    print(describe(seeded), flush=True)
    settings = Settings(_env_file=None, database_url=sqlite_url(seeded.path))
    async with open_runtime(settings, SystemClock(settings.timezone)) as runtime:
        measured = await run_find(runtime, count, passes)
    report(measured)
    find_p95 = measured.p95()
    met = find_p95 < TARGET_MS
    print(f"\ntarget: {TARGET} — {'met' if met else 'MISSED'} (p95 {find_p95:.2f} ms over {measured.total:,} dossiers)")
    return met


def run(runs: int = 1, size: int = DEFAULT_SIZE, queries: int = 300, db: Path | None = None) -> int:
    """For `python -m bench`: `runs` timed passes over the query set. 0 when the target is met."""
    try:
        return 0 if asyncio.run(measure(size, queries, runs, db)) else 1
    except (BenchError, SeedError) as error:
        print(f"find benchmark failed: {error}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.find", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help=f"dossiers (default: {DEFAULT_SIZE})")
    parser.add_argument("--queries", type=int, default=300, help="timed queries (default: 300)")
    parser.add_argument("--runs", type=int, default=1, help="timed passes over the queries (default: 1)")
    parser.add_argument("--db", type=Path, default=None, help="database file (default: the bench.seed cache)")
    args = parser.parse_args(argv)
    if args.size < 1 or args.queries < 1 or args.runs < 1:
        parser.error("--size, --queries and --runs must be at least 1")
    return run(args.runs, args.size, args.queries, args.db)


if __name__ == "__main__":
    sys.exit(main())
