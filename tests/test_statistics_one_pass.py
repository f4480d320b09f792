"""The statistics read the dossiers once (issue 19): one aggregate counts every column of every unit, on
SQLite and on PostgreSQL, where there were seven scans for the distinct values and one more to count."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event

from services.oversight.statistics import StatisticsService
from storage import Database, UnitOfWork
from tests.test_accounts import SYSTEM
from tests.test_statistics import EXPECTED_OWN, D, full, own, seed

DOSSIERS = re.compile(r"\bFROM dossier\b", re.IGNORECASE)


async def test_one_statement_reads_the_dossiers(any_database: Database, clock: Any) -> None:
    uow = UnitOfWork(any_database)
    await seed(uow, clock)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(any_database.engine.sync_engine, "before_cursor_execute", seen)
    try:
        table = await StatisticsService(uow, SYSTEM, clock).table(as_of=D)
    finally:
        event.remove(any_database.engine.sync_engine, "before_cursor_execute", seen)
    assert len([s for s in statements if DOSSIERS.search(s)]) == 1
    for code, expected in EXPECTED_OWN.items():  # and its figures are the table's
        assert own(table, code) == full(expected, table), code
