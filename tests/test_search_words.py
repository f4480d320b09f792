"""/find's word index on both backends: every write that sets a name (an import, a new dossier, an import that
renames) keeps it current; migrations 0015 and 0017 fill it for the rows already there; a name's page found tier
by tier on PostgreSQL is the page of the one ranked query; and each PostgreSQL connection plans with its
parameters, so a statement prepared on an empty table keeps no stale plan."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import event, select, text

from bot.cli.serving import prepare_database
from services.changes.new_dossiers import NewDossiers
from services.core.actor import Actor
from services.core.clock import FrozenClock
from services.core.text import fold
from services.demo import seed_demo
from services.dossiers.io.service import DossierIOService
from services.dossiers.lookup import LookupService, parse_query
from storage import Database, UnitOfWork
from storage.models import Dossier, OrgUnit
from storage.search import FIRST, DossierSearch, frequencies
from tests.conftest import migrated, throwaway_postgres
from tests.test_accounts import sign_in
from tests.test_changes import setup
from tests.test_import_export import row, write_csv


async def found(uow: UnitOfWork, actor: Actor, clock: FrozenClock, query: str) -> list[str]:
    return [candidate.full_name for candidate in (await LookupService(uow, actor, clock).find(query)).candidates]


async def prefixes_in_step(database: Database) -> None:
    """On PostgreSQL: the stored name terms of every dossier are those of its folded name as it is now."""
    if database.is_sqlite:
        return
    async with database.session(write=False) as session:
        stale = await session.scalar(text(
            "SELECT count(*) FROM dossier WHERE name_terms IS DISTINCT FROM hoso_name_terms(folded_name)"))
        words = await session.scalar(text("SELECT count(*) FROM dossier WHERE cardinality(name_terms) > 0"))
        total = await session.scalar(text("SELECT count(*) FROM dossier"))
    assert (stale, words) == (0, total)


async def test_every_write_of_a_name_keeps_the_word_index_current(
    any_database: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    uow = UnitOfWork(any_database)
    await setup(uow, clock, "hau-giang-2016")
    clerk = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)

    # A new dossier, through /new's service.
    answers = {"full_name": "Vũ Thị Thuỷ", "sex": "F", "birth_date": "12/03/1995", "personal_id": "092195001234",
               "ethnicity": "Kinh", "custodian_unit": "bv", "rank_code": "01.003", "post": "Chuyên viên",
               "employment_status": "probation", "doc_number": "45/QĐ-SYT", "doc_date": "20/06/2026",
               "doc_issuer": "Sở Y tế", "effective_on": "22/06/2026"}
    await NewDossiers(uow, clerk, clock, None).create(answers)
    assert await found(uow, clerk, clock, "vu thuy") == ["Vũ Thị Thuỷ"]  # "vu": two letters, a whole word
    await prefixes_in_step(any_database)

    # An import that creates, then one that renames.
    service = DossierIOService(uow, Actor.system(), clock)
    created = await service.import_file(write_csv(tmp_path / "a.csv", [row("092190000999", "Mai Văn Hùng", "SYT")]))
    assert (created.created, created.failed) == (1, 0), created.errors
    assert await found(uow, clerk, clock, "mai hung") == ["Mai Văn Hùng"]
    renamed = await service.import_file(write_csv(tmp_path / "b.csv", [row("092190000999", "Hồ Văn Hùng", "SYT")]))
    assert (renamed.updated, renamed.failed) == (1, 0), renamed.errors
    assert await found(uow, clerk, clock, "mai hung") == []
    assert await found(uow, clerk, clock, "ho hung") == ["Hồ Văn Hùng"]
    assert await found(uow, clerk, clock, "h v h") == ["Hồ Văn Hùng"]  # one letter a word
    await prefixes_in_step(any_database)


async def test_the_migration_fills_the_word_index_for_existing_dossiers(
    database_url: str, clock: FrozenClock
) -> None:
    database = Database(database_url)
    try:
        await database.upgrade("0014")
        now = clock.now()
        async with UnitOfWork(database).write() as repos:
            unit = await repos.units.add(OrgUnit(code="SYT", name="Sở Y tế", path="", created_at=now))
            await repos.dossiers.add_many([{
                "personal_id": f"09219000000{n}", "full_name": name, "folded_name": fold(name), "sex": "F",
                "birth_date": dt.date(1990, 1, 1), "custodian_unit_id": unit.id, "working_unit_id": unit.id,
                "employment_status": "active", "created_at": now, "updated_at": now,
            } for n, name in enumerate(["Lê Thị An", "Võ An Khang", "Trần Văn Lê"])])
        await database.upgrade()
        await prefixes_in_step(database)
        async with UnitOfWork(database).read() as repos:
            hits = await repos.search.find(parse_query("le an"), ["/"])
        assert [hit.full_name for hit in hits] == ["Lê Thị An"]
    finally:
        await database.dispose()


async def test_postgresql_connections_plan_with_the_parameters(any_database: Database) -> None:
    if any_database.is_sqlite:
        return
    async with any_database.session(write=False) as session:
        assert await session.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"
        assert await session.scalar(text("SHOW jit")) == "off"


def name_queries(folded: str, rng: random.Random) -> list[str]:
    """What people type for one name: family and given, given and family, one word, a middle and a given
    name, the whole name, its first words, word starts, and the words shuffled."""
    words = folded.split()
    family, given = words[0], words[-1]
    shuffled = rng.sample(words, len(words))
    queries = [f"{family} {given}", f"{given} {family}", given, family, " ".join(words), " ".join(words[:2]),
               f"{family[:2]} {given[:2]}", " ".join(shuffled), f"{given} {given}"]
    if len(words) > 2:
        queries += [f"{words[1]} {given}", words[1], f"{family} {words[1]}"]
    return queries


async def test_a_page_found_tier_by_tier_is_the_ranked_querys_page() -> None:
    """On PostgreSQL a name's page after the fast path is put together from bounded parts, rank by rank
    (storage/search.py `_tiers`). Over the demo province, for every kind of name query, in the whole province
    and in one unit, on the first pages and with a short page, each part walked or read whole, it is the one
    ranked query's page, row for row."""
    async with throwaway_postgres() as url, migrated(url) as database:
        clock = FrozenClock(dt.datetime(2026, 6, 1, 3, 0, tzinfo=dt.UTC))
        uow = UnitOfWork(database)
        await prepare_database(database, clock, None)  # as `hoso init`
        assert await seed_demo(uow, clock, 3000) is not None
        async with database.engine.connect() as connection:  # the statistics a deployment's autovacuum keeps
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM ANALYZE dossier"))
        rng = random.Random(19)
        async with database.session(write=False) as session:
            names = list((await session.execute(select(Dossier.folded_name).order_by(Dossier.id))).scalars())
            # The terms' shares the parts are sized from: the statistics' own, every row sampled at this size.
            known = await frequencies(session)
            assert known is not None
            rows, shares, rarest = known
            family, count = Counter(name.split()[0] for name in names).most_common(1)[0]
            assert rows == len(names) and abs(shares[FIRST + family] - count / len(names)) < 0.001
            assert 0 < rarest <= min(shares.values())
            units = list((await session.execute(select(OrgUnit.path).order_by(OrgUnit.id))).scalars())
            queries = sorted({query for name in rng.sample(names, 24) for query in name_queries(name, rng)})
            everyone = (await session.execute(select(Dossier.id, Dossier.folded_name, Dossier.personal_id))).all()
            ids = sorted(pid for _id, _name, pid in everyone)
            # Digits alone: a run common to many IDs (their first digits) and rarer ones, of six digits (at each of
            # the first places, their btrees; further on, the inner runs' index), of seven or more (its first six,
            # then the whole run on the ID) and of five (the trigrams).
            runs = {pid[start:start + 6] for pid in rng.sample(ids, 12) for start in (0, 1, 2, 3, 6)}
            runs |= {pid[start:start + length] for pid in rng.sample(ids, 4) for start, length in ((0, 8), (2, 9), (0, 10), (1, 11))}
            runs |= {pid[7:12] for pid in rng.sample(ids, 4)}  # five: the trigrams
            for run in runs:  # the whole province's page, against the IDs themselves
                holders = sorted((name, one) for one, name, pid in everyone if run in pid)
                listed = await DossierSearch(session, tiered=False).find(parse_query(run), ["/"], limit=10)
                assert [hit.id for hit in listed] == [one for _name, one in holders[:10]], run
            queries += sorted(runs)
            beyond_the_phrase = 0
            for query in queries:
                terms = parse_query(query)
                for scope in (["/"], [rng.choice(units[1:])]):
                    for offset, limit in ((0, 10), (6, 3)):
                        expected = await DossierSearch(session, tiered=False).find(
                            terms, scope, offset=offset, limit=limit)
                        for small, walked in ((1, 30), (40, 300), (10**6, 10**6)):  # walked, some, read whole
                            page = await DossierSearch(session, small=small, walked=walked).find(
                                terms, scope, offset=offset, limit=limit)
                            assert [hit.id for hit in page] == [hit.id for hit in expected], (
                                query, scope, offset, limit, small, walked)
                        beyond_the_phrase += sum(not fold(hit.full_name).startswith(" ".join(terms.words))
                                                 for hit in expected if not terms.words[0].isdigit())
        assert len(queries) > 200 and beyond_the_phrase > 500  # the tiers were put to work, not the fast path alone


async def test_migration_0017_goes_down_and_up_again_on_postgresql() -> None:
    """Down to 0016 the word prefixes come back, in the database's own collation; up again the name terms, in
    the code points' order "C" that the page's order is, and the personal ID's runs of six digits at every place
    (0020 down and up again on the way)."""
    from alembic import command

    from storage.migrations import alembic_config

    async def collation(database: Database) -> str | None:
        async with database.session(write=False) as session:
            return await session.scalar(text(
                "SELECT collation_name FROM information_schema.columns "
                "WHERE table_name = 'dossier' AND column_name = 'folded_name'"))

    async with throwaway_postgres() as url, migrated(url) as database:
        async with UnitOfWork(database).write() as repos:
            unit = await repos.units.add(OrgUnit(code="SYT", name="Sở Y tế", path="", created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
            await repos.dossiers.add_many([{
                "personal_id": "092190000001", "full_name": "Lê Thị An", "folded_name": fold("Lê Thị An"), "sex": "F",
                "birth_date": dt.date(1990, 1, 1), "custodian_unit_id": unit.id, "working_unit_id": unit.id,
                "employment_status": "active", "created_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                "updated_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}])
        assert await collation(database) == "C"
        async with database.engine.connect() as connection:
            await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0016"))
            await connection.commit()
        assert await collation(database) is None  # the database's default
        async with database.session(write=False) as session:
            assert await session.scalar(text("SELECT name_prefixes FROM dossier")) == ["l", "le", "t", "th", "thi",
                                                                                        "a", "an"]
        await database.upgrade()
        await prefixes_in_step(database)
        assert await collation(database) == "C"
        async with UnitOfWork(database).read() as repos:
            assert [hit.full_name for hit in await repos.search.find(parse_query("an le"), ["/"])] == ["Lê Thị An"]
            for run in ("092190", "921900", "219000", "190000", "0000001"):  # 0020's btrees of three places, then GIN
                assert [hit.full_name for hit in await repos.search.find(parse_query(run), ["/"])] == ["Lê Thị An"]


async def test_the_runs_of_a_personal_id_are_looked_up_in_the_indexes_of_their_places() -> None:
    """The SQL /find sends for a run of digits is answered by migration 0020's indexes (with bitmap scans alone
    allowed, each on a condition of its index: an expression written otherwise than the index's would read the
    table): across the whole
    province the btree of each of the first places and the inner runs' GIN index, in a unit the same four, a word
    of nine digits or more the GIN index alone. An ID holding the run at two places is listed once."""
    async with throwaway_postgres() as url, migrated(url) as database:
        at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        async with UnitOfWork(database).write() as repos:
            unit = await repos.units.add(OrgUnit(code="SYT", name="Sở Y tế", path="", created_at=at))
            await repos.dossiers.add_many([{
                "personal_id": pid, "full_name": name, "folded_name": fold(name), "sex": "F",
                "birth_date": dt.date(1992, 1, 1), "custodian_unit_id": unit.id, "working_unit_id": unit.id,
                "employment_status": "active", "created_at": at, "updated_at": at}
                for pid, name in (("092092092092", "Lê Thị An"), ("079192000123", "Trần Văn Bình"))])
        sent: list[tuple[str, Any]] = []

        def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
            if "hoso_id_inner_runs" in statement:
                sent.append((statement, parameters))

        event.listen(database.engine.sync_engine, "before_cursor_execute", keep)
        plans = {}
        async with database.session(write=False) as session:
            path = await session.scalar(select(OrgUnit.path))
            for query, scope in (("092092", "/"), ("092092", path), ("0920920", "/"), ("092092092", "/")):
                hits = await DossierSearch(session).find(parse_query(query), [scope])
                assert [hit.personal_id for hit in hits] == ["092092092092"], (query, scope)
                statement, parameters = sent.pop()
                for scan in ("seqscan", "indexscan", "indexonlyscan"):  # left: bitmap scans, on a condition
                    await session.execute(text(f"SET LOCAL enable_{scan} = off"))
                plan = (await (await session.connection()).exec_driver_sql(f"EXPLAIN {statement}", parameters)).all()
                plans[query, scope] = " ".join(line[0] for line in plan)
        event.remove(database.engine.sync_engine, "before_cursor_execute", keep)
        heads = [f"ix_dossier_id_at_{place}" for place in (1, 2, 3)]
        for (query, scope), plan in plans.items():
            assert "ix_dossier_id_inner_runs" in plan and "Seq Scan" not in plan, (query, scope, plan)
            assert all(index in plan for index in heads) == (len(query) < 9), (query, scope, plan)


async def test_before_the_first_analysis_the_terms_have_no_shares_and_the_parts_are_counted() -> None:
    """A table PostgreSQL has not analysed yet has no statistics of the terms: the parts of a name's page are
    counted in the index instead, and the page is still found."""
    async with throwaway_postgres() as url, migrated(url) as database:
        clock = FrozenClock(dt.datetime(2026, 6, 1, 3, 0, tzinfo=dt.UTC))
        async with UnitOfWork(database).write() as repos:
            unit = await repos.units.add(OrgUnit(code="SYT", name="Sở Y tế", path="", created_at=clock.now()))
            await repos.dossiers.add_many([{
                "personal_id": f"09219000000{n}", "full_name": name, "folded_name": fold(name), "sex": "F",
                "birth_date": dt.date(1990, 1, 1), "custodian_unit_id": unit.id, "working_unit_id": unit.id,
                "created_at": clock.now(), "updated_at": clock.now()}
                for n, name in enumerate(("Lê Thị Mai", "Mai Văn Lê", "Trần Lê Mai"))])
        async with database.session(write=False) as session:
            assert await frequencies(session) is None
            page = await DossierSearch(session).find(parse_query("mai le"), ["/"])
    assert [hit.full_name for hit in page] == ["Lê Thị Mai", "Mai Văn Lê", "Trần Lê Mai"]  # each word apart: by name
