"""The audit trail checked by itself (the daemon's daily check): a signed checkpoint outside the database each
day the chain holds; a row changed behind its back, or a checkpoint the chain no longer matches, told to the
administrators at once (quiet hours or not) with the first broken sequence number, and told once. Both
backends."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.i18n import create_i18n
from bot.jobs import Jobs
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from handlers.reminders import render
from services.core.clock import FrozenClock
from services.platform.audit import AuditService, Checkpoint, sign
from services.platform.audit_watch import BROKEN_KIND, LATEST, AuditWatch, read_checkpoint
from storage import Database, UnitOfWork
from storage.audit import chain_hash, hashed_fields
from storage.models import AuditEvent, Outbox
from tests.test_accounts import sign_in, tree
from tests.test_audit import ADMIN, drop_guards, fill

KEY = b"k" * 40
# 22:30 in Hà Nội: inside the quiet hours, when a reminder would wait for the morning.
LATE_EVENING = dt.datetime(2026, 7, 1, 15, 30, tzinfo=dt.UTC)


@pytest.fixture
def evening() -> FrozenClock:
    return FrozenClock(LATE_EVENING)


async def admins(uow: UnitOfWork, clock: FrozenClock) -> None:
    await tree(uow, clock)
    await sign_in(uow, clock, "snv.quantri", "SNV", "admin", 901)


async def alarms(uow: UnitOfWork) -> list[Outbox]:
    async with uow.read() as repos:
        return list((await repos.session.scalars(select(Outbox).where(Outbox.kind == BROKEN_KIND))).all())


async def test_each_day_the_chain_holds_a_signed_checkpoint_is_written(any_database: Database, evening: FrozenClock,
                                                                        tmp_path: Path) -> None:
    uow = UnitOfWork(any_database)
    await fill(uow, evening, 3)
    watch = AuditWatch(uow, evening, KEY, tmp_path / "checkpoints")
    first = await watch.daily()
    assert first is not None and first.report.ok and first.checkpoint is not None
    written = json.loads((tmp_path / "checkpoints" / LATEST).read_text())
    assert written["seq"] == first.checkpoint.seq and written["signature"] == sign(KEY, written["seq"], written["hash"])
    assert dt.datetime.fromisoformat(written["at"]) == evening.now()
    assert await watch.daily() is None  # once a day
    evening.advance(dt.timedelta(days=1))
    second = await watch.daily()
    assert second is not None and second.report.ok and second.checkpoint.seq > first.checkpoint.seq
    assert (tmp_path / "checkpoints" / f"checkpoint-{first.checkpoint.seq}.json").exists()
    # `hoso audit verify --checkpoint` reads the daemon's file as its own.
    signed = read_checkpoint(tmp_path / "checkpoints")
    assert (await AuditService(uow, ADMIN, evening).verify(signed, KEY)).ok


async def test_a_row_changed_behind_its_back_is_told_to_the_admins_at_once_and_once(
        any_database: Database, evening: FrozenClock, tmp_path: Path) -> None:
    uow = UnitOfWork(any_database)
    await admins(uow, evening)
    watch = AuditWatch(uow, evening, KEY, tmp_path)
    good = (await watch.daily()).checkpoint
    assert good is not None
    await drop_guards(any_database)
    async with any_database.engine.begin() as connection:
        await connection.execute(text("UPDATE audit_event SET actor_label = 'someone-else' WHERE seq = 3"))

    evening.advance(dt.timedelta(days=1))
    found = await watch.daily()
    assert found is not None and not found.report.ok and found.report.broken_seq == 3 and found.told == 1
    [alarm] = await alarms(uow)
    assert alarm.due_at == evening.now() and alarm.payload["seq"] == 3  # at 22:30: the quiet hours do not hold it
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("en"):
        told, _markup = render(alarm.kind, alarm.payload)
    assert "broken at event #3 (its content was changed)" in told
    assert json.loads((tmp_path / LATEST).read_text())["seq"] == good.seq  # no checkpoint of a broken chain

    for _day in range(2):  # the same break on the following days: not told again
        evening.advance(dt.timedelta(days=1))
        again = await watch.daily()
        assert again is not None and not again.report.ok and again.told == 0
    assert len(await alarms(uow)) == 1


async def test_a_checkpoint_the_chain_no_longer_matches_is_reported(any_database: Database, evening: FrozenClock,
                                                                    tmp_path: Path) -> None:
    uow = UnitOfWork(any_database)
    await admins(uow, evening)
    watch = AuditWatch(uow, evening, KEY, tmp_path)
    checkpoint = (await watch.daily()).checkpoint
    assert checkpoint is not None

    # A wholesale rewrite (guards dropped, a row changed and every hash after it recomputed): the chain alone
    # holds, the signed checkpoint outside the database does not.
    await drop_guards(any_database)
    async with uow.write() as repos:
        rows = (await repos.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))).all()
        rows[1].actor_label = "forged"
        previous = rows[0].hash
        for row in rows[1:]:
            row.prev_hash = previous
            row.hash = chain_hash(previous, hashed_fields(row))
            previous = row.hash
    evening.advance(dt.timedelta(days=1))
    found = await watch.daily()
    assert found is not None and not found.report.ok and found.report.broken_seq == checkpoint.seq
    assert found.report.reason == "the trail was rewritten since the checkpoint"
    [alarm] = await alarms(uow)
    assert alarm.payload["seq"] == checkpoint.seq
    assert json.loads((tmp_path / LATEST).read_text())["hash"] == checkpoint.hash  # the good one is kept


async def test_a_tampered_checkpoint_file_is_reported(database: Database, evening: FrozenClock, tmp_path: Path) -> None:
    uow = UnitOfWork(database)
    await admins(uow, evening)
    watch = AuditWatch(uow, evening, KEY, tmp_path)
    checkpoint = (await watch.daily()).checkpoint
    forged = Checkpoint(checkpoint.seq, "0" * 64, checkpoint.signature)
    (tmp_path / LATEST).write_text(json.dumps(forged.as_dict()))
    evening.advance(dt.timedelta(days=1))
    found = await watch.daily()
    assert not found.report.ok and found.report.reason == "the checkpoint's signature is not valid"
    assert len(await alarms(uow)) == 1


async def test_the_daemon_runs_the_daily_check(tmp_path: Path, evening: FrozenClock) -> None:
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'hoso.db'}",
                        files_dir=tmp_path / "files", audit_key="k" * 40, audit_checkpoint_dir=tmp_path / "cp")
    async with open_runtime(settings, evening) as runtime:
        await runtime.database.upgrade()
        await checked_by_the_jobs(runtime)


async def checked_by_the_jobs(runtime: Runtime) -> None:
    jobs = Jobs(runtime)
    report = await jobs.watch_audit()
    assert report is not None and report.report.ok and (runtime.settings.audit_checkpoint_dir / LATEST).exists()
    assert await jobs.watch_audit() is None
