"""Storage: the migrations and the repositories, the same suite on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from services.core.clock import FrozenClock
from services.demo import is_empty, seed_demo
from storage import Database, UnitOfWork
from storage.migrations import head_revision
from storage.models import Account, OrgUnit
from storage.repositories import run_shared
from tests.conftest import sqlite_url

TABLES = {"app_setting", "org_unit", "account", "user_preference", "dossier", "fsm_record", "alembic_version"}


async def test_migration_reaches_head_and_creates_the_tables(any_database: Database) -> None:
    assert await any_database.current_revision() == head_revision()
    async with any_database.engine.connect() as connection:
        tables = set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    assert TABLES <= tables


def test_the_head_read_from_the_file_names_is_alembics_own() -> None:
    """The check before every command reads the migrations' numbers instead of importing alembic: each file's
    revision is its number, each revises the one before, and the highest is alembic's head."""
    from alembic.script import ScriptDirectory

    from storage.migrations import MIGRATIONS_DIR, VERSION_FILES, alembic_config

    scripts = ScriptDirectory.from_config(alembic_config())
    numbers = sorted(path.name.partition("_")[0] for path in (MIGRATIONS_DIR / "versions").glob(VERSION_FILES))
    assert [scripts.get_revision(number).down_revision for number in numbers] == [None, *numbers[:-1]]
    assert head_revision() == scripts.get_current_head() == numbers[-1]
    assert len(numbers) == len(list((MIGRATIONS_DIR / "versions").glob("*.py"))) - 1  # all but __init__.py


async def test_a_database_before_its_first_migration_has_no_revision(tmp_path: Path) -> None:
    database = Database(sqlite_url(tmp_path))
    try:
        assert await database.current_revision() is None
    finally:
        await database.dispose()


async def test_upgrade_twice_is_harmless(any_database: Database) -> None:
    await any_database.upgrade()
    assert await any_database.current_revision() == head_revision()


async def test_units_get_materialised_paths_and_subtrees(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    async with uow.write() as repos:
        root = await repos.units.add(OrgUnit(code="CT", name="Cần Thơ", path="", created_at=clock.now()))
        dept = await repos.units.add(OrgUnit(code="SYT", name="Sở Y tế", parent_id=root.id, path="", created_at=clock.now()))
        await repos.units.add(OrgUnit(code="BV", name="Bệnh viện", parent_id=dept.id, path="", created_at=clock.now()))
        await repos.units.add(OrgUnit(code="STC", name="Sở Tài chính", parent_id=root.id, path="", created_at=clock.now()))
    async with uow.read() as repos:
        dept = await repos.units.by_code("SYT")
        assert dept.path == f"/{root.id}/{dept.id}/"
        assert [unit.code for unit in await repos.units.subtree(dept.path)] == ["SYT", "BV"]
        assert len(await repos.units.subtree("/")) == 4


async def test_accounts_round_trip_with_utc_times(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    async with uow.write() as repos:
        unit = await repos.units.add(OrgUnit(code="SNV", name="Sở Nội vụ", path="", created_at=clock.now()))
        added = await repos.accounts.add(
            Account(username="snv.a", full_name="Đặng Thị Hoà", unit_id=unit.id, role="admin", status="active",
                    created_at=clock.now())
        )
        await repos.identities.bind(added.id, "telegram", "7000000001", clock.now())
    async with uow.read() as repos:
        account, found_unit = await repos.accounts.by_identity("telegram", "7000000001")
    assert account.full_name == "Đặng Thị Hoà"
    assert found_unit.code == "SNV"
    assert account.created_at == clock.now() and account.created_at.tzinfo == dt.UTC


async def test_a_failed_write_leaves_nothing_behind(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    with pytest.raises(RuntimeError):
        async with uow.write() as repos:
            await repos.units.add(OrgUnit(code="X", name="X", path="", created_at=clock.now()))
            raise RuntimeError("abort")
    async with uow.read() as repos:
        assert await repos.units.by_code("X") is None


async def test_unique_username_is_enforced(any_database: Database, clock: FrozenClock) -> None:
    from sqlalchemy.exc import IntegrityError

    uow = UnitOfWork(any_database)
    async with uow.write() as repos:
        unit = await repos.units.add(OrgUnit(code="U", name="U", path="", created_at=clock.now()))
        unit_id = unit.id
    account = dict(full_name="A", unit_id=unit_id, role="clerk", status="active", created_at=clock.now())
    async with uow.write() as repos:
        await repos.accounts.add(Account(username="same", **account))
    with pytest.raises(IntegrityError):
        async with uow.write() as repos:
            await repos.accounts.add(Account(username="same", **account))


async def test_settings_and_preferences_upsert(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    async with uow.write() as repos:
        await repos.settings.put("profile", {"name": "vn-2026"}, clock.now())
        await repos.settings.put("profile", {"name": "hcmc-2013"}, clock.now())
        await repos.preferences.set_locale("telegram", "42", "en", clock.now())
        await repos.preferences.set_locale("telegram", "42", "vi", clock.now())
    async with uow.read() as repos:
        assert await repos.settings.get("profile") == {"name": "hcmc-2013"}
        assert await repos.preferences.locale_of("telegram", "42") == "vi"
        assert await repos.preferences.locale_of("telegram", "43") is None


async def test_personal_id_keeps_leading_zeros(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    await seed_demo(uow, clock, size=0)
    async with uow.write() as repos:
        unit = await repos.units.by_code("SNV")
        now = clock.now()
        await repos.dossiers.add_many([{
            "personal_id": "001190000123", "full_name": "Đặng Văn Đức", "folded_name": "dang van duc", "sex": "M",
            "birth_date": dt.date(1990, 1, 2), "custodian_unit_id": unit.id, "working_unit_id": unit.id,
            "employment_status": "active", "created_at": now, "updated_at": now,
        }])
    async with any_database.engine.connect() as connection:
        stored = (await connection.execute(text("SELECT personal_id FROM dossier"))).scalar_one()
    assert stored == "001190000123"


async def test_demo_seed_fills_an_empty_database_once(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    assert await is_empty(uow)
    seeded = await seed_demo(uow, clock, size=120)
    assert seeded is not None and seeded.dossiers == 120
    assert await seed_demo(uow, clock, size=120) is None  # never a second time
    async with uow.read() as repos:
        assert await repos.dossiers.count() == 120
        assert await repos.accounts.count() == 4 == seeded.accounts  # admin, clerk, manager, employee
        education = await repos.units.by_code("SGDDT")
        in_education = await repos.dossiers.count_in_scope([education.path])
    assert 0 < in_education < 120


async def test_foreign_keys_are_enforced(any_database: Database, clock: FrozenClock) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        async with UnitOfWork(any_database).write() as repos:
            await repos.accounts.add(Account(username="orphan", full_name="O", unit_id=999, role="clerk",
                                             status="active", created_at=clock.now()))


async def test_sqlite_is_opened_in_wal_mode_with_a_busy_timeout(database: Database) -> None:
    async with database.engine.connect() as connection:
        mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar_one()
        keys = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar_one()
        timeout = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar_one()
    assert (mode, keys) == ("wal", 1)
    assert timeout >= 5000


async def test_sqlite_writers_take_the_lock_up_front(database: Database, clock: FrozenClock) -> None:
    """With BEGIN IMMEDIATE two concurrent read-modify-write transactions queue instead of failing
    with 'database is locked' on a lock upgrade: both increments land."""
    uow = UnitOfWork(database)
    async with uow.write() as repos:
        await repos.settings.put("counter", {"n": 0}, clock.now())

    async def increment() -> None:
        async with uow.write() as repos:
            value = (await repos.settings.get("counter"))["n"]
            await asyncio.sleep(0.05)  # hold the transaction open while the other one starts
            await repos.settings.put("counter", {"n": value + 1}, clock.now())

    await asyncio.gather(increment(), increment(), increment())
    async with uow.read() as repos:
        assert (await repos.settings.get("counter"))["n"] == 3


async def test_readers_are_not_blocked_by_a_writer(database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(database)
    async with uow.write() as repos:
        await repos.settings.put("k", {"v": 1}, clock.now())
        async with uow.read() as reader:  # WAL: a reader sees the last committed state at once
            assert await reader.settings.get("k") is None


async def test_search_index_on_both_backends(any_database: Database, clock: FrozenClock) -> None:
    from services.core.text import fold
    from services.dossiers.lookup import parse_query

    uow = UnitOfWork(any_database)
    async with uow.write() as repos:
        unit = await repos.units.add(OrgUnit(code="SYT", name="Sở Y tế", path="", created_at=clock.now()))
        rows = [("001188000111", "Đặng Thị Hoà"), ("092190000222", "Nguyễn Văn Thủy"), ("092191000333", "Lê Thị Thuỷ")]
        await repos.dossiers.add_many([{
            "personal_id": pid, "full_name": name, "folded_name": fold(name), "sex": "F",
            "birth_date": dt.date(1990, 1, 1), "custodian_unit_id": unit.id, "working_unit_id": unit.id,
            "employment_status": "active", "created_at": clock.now(), "updated_at": clock.now(),
        } for pid, name in rows])
    async with uow.read() as repos:
        async def names(query: str) -> list[str]:
            return sorted(f.full_name for f in await repos.search.find(parse_query(query), ["/"]))

        assert await names("hòa đặng") == ["Đặng Thị Hoà"]
        assert await names("thuy") == ["Lê Thị Thuỷ", "Nguyễn Văn Thủy"]
        assert await names("000111") == ["Đặng Thị Hoà"]
        assert await names("yen") == []
        assert await names("van th") == ["Nguyễn Văn Thủy"]


async def test_a_shared_statement_sets_aside_the_cost_of_passing_rows_up_for_itself_alone(
        any_database: Database) -> None:
    """`run_shared` (the statistics' aggregate, the inspection's rules) runs its statement with the rows parallel
    workers pass up not weighed, and the transaction's next statements as before; SQLite has no such setting."""
    setting = text("SELECT current_setting('parallel_tuple_cost')")
    async with any_database.session(write=False) as session:
        if any_database.is_sqlite:
            assert (await run_shared(session, text("SELECT 1"))).scalar() == 1
            return
        before = await session.scalar(setting)
        during = (await run_shared(session, setting)).scalar()
        after = await session.scalar(setting)
    assert during == "0" and after == before != "0"
