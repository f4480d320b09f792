"""The audit trail: append-only by trigger, hash-chained, verified, and checkpointed (both backends)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.core.actor import Actor, Role
from services.core.clock import FrozenClock
from services.core.errors import PermissionDenied
from services.platform.audit import AuditService, record
from storage import Database, UnitOfWork
from storage.audit import chain_hash, hashed_fields

KEY = b"k" * 32
ADMIN = Actor(channel="telegram", address="1", account_id=1, username="snv.quantri", role=Role.ADMIN, unit_path="/1/")


async def fill(uow: UnitOfWork, clock: FrozenClock, count: int) -> None:
    for number in range(count):
        async with uow.write() as repos:
            await record(repos, clock, ADMIN, "dossier.view", "dossier", number, query="Đặng")


async def drop_guards(database: Database) -> None:
    """What an intruder with the database's own credentials would do first."""
    async with database.engine.begin() as connection:
        if database.dialect == "postgresql":
            await connection.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        else:
            await connection.execute(text("DROP TRIGGER audit_event_no_update"))
            await connection.execute(text("DROP TRIGGER audit_event_no_delete"))


async def test_events_chain_and_verify(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    await fill(uow, clock, 5)
    async with uow.read() as repos:
        first, second = await repos.audit.at_seq(1), await repos.audit.at_seq(2)
    assert first.prev_hash == "0" * 64 and second.prev_hash == first.hash
    assert chain_hash(first.hash, hashed_fields(second)) == second.hash
    report = await AuditService(uow, ADMIN, clock).verify()
    assert report.ok and report.count == 5


async def test_update_and_delete_are_refused_by_the_database(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    await fill(uow, clock, 2)
    for statement in ("UPDATE audit_event SET action = 'nothing' WHERE seq = 1", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with any_database.engine.begin() as connection:
                await connection.execute(text(statement))
    assert (await AuditService(uow, ADMIN, clock).verify()).ok


async def test_an_edited_row_breaks_the_chain_at_that_row(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    await fill(uow, clock, 4)
    await drop_guards(any_database)
    async with any_database.engine.begin() as connection:
        await connection.execute(text("UPDATE audit_event SET actor_label = 'someone-else' WHERE seq = 3"))
    report = await AuditService(uow, ADMIN, clock).verify()
    assert not report.ok and report.broken_seq == 3 and report.count == 2


async def test_a_removed_row_is_found(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    await fill(uow, clock, 4)
    await drop_guards(any_database)
    async with any_database.engine.begin() as connection:
        await connection.execute(text("DELETE FROM audit_event WHERE seq = 2"))
    report = await AuditService(uow, ADMIN, clock).verify()
    assert not report.ok and report.broken_seq == 2


async def test_a_wholesale_rewrite_is_caught_by_the_checkpoint(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    await fill(uow, clock, 3)
    checkpoint = await AuditService(uow, ADMIN, clock).checkpoint(KEY)
    assert checkpoint.seq == 3
    assert (await AuditService(uow, ADMIN, clock).verify(checkpoint, KEY)).ok

    # Through a fresh connection: drop the guards, change a row and recompute every hash after it.
    await drop_guards(any_database)
    rewriter = Database(any_database.url.render_as_string(hide_password=False))
    try:
        async with rewriter.session(write=True) as session:
            from sqlalchemy import select

            from storage.models import AuditEvent

            rows = (await session.scalars(select(AuditEvent).order_by(AuditEvent.seq))).all()
            rows[1].actor_label = "forged"
            previous = rows[0].hash
            for row in rows[1:]:
                row.prev_hash = previous
                row.hash = chain_hash(previous, hashed_fields(row))
                previous = row.hash
    finally:
        await rewriter.dispose()

    assert (await AuditService(uow, ADMIN, clock).verify()).ok  # the chain alone looks fine…
    report = await AuditService(uow, ADMIN, clock).verify(checkpoint, KEY)
    assert not report.ok and report.broken_seq == 3  # …the signed checkpoint does not


async def test_a_forged_checkpoint_is_refused(database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(database)
    await fill(uow, clock, 2)
    checkpoint = await AuditService(uow, ADMIN, clock).checkpoint(KEY)
    report = await AuditService(uow, ADMIN, clock).verify(checkpoint, b"another key of thirty-two bytes!")
    assert not report.ok and "signature" in report.reason


async def test_concurrent_appends_stay_one_chain(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    await asyncio.gather(*(fill(uow, clock, 5) for _ in range(4)))
    report = await AuditService(uow, ADMIN, clock).verify()
    assert report.ok and report.count == 20


async def test_a_rolled_back_transaction_leaves_no_audit(database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(database)
    with pytest.raises(RuntimeError):
        async with uow.write() as repos:
            await record(repos, clock, ADMIN, "dossier.change", "dossier", 1)
            raise RuntimeError("the change failed")
    async with uow.read() as repos:
        assert await repos.audit.count() == 0


async def test_only_auditors_and_admins_verify(database: Database, clock: FrozenClock) -> None:
    clerk = Actor(channel="telegram", address="2", account_id=2, username="c", role=Role.CLERK, unit_path="/1/")
    with pytest.raises(PermissionDenied):
        await AuditService(UnitOfWork(database), clerk, clock).verify()
    auditor = Actor(channel="telegram", address="3", account_id=3, username="a", role=Role.AUDITOR, unit_path="/1/")
    assert (await AuditService(UnitOfWork(database), auditor, clock).verify()).ok
