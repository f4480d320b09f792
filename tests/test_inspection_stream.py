"""The inspection's findings stream (issue 19): from the database in batches, in the order they are listed,
each handed on before the next is read, counted as they pass, never all held. On SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

import storage.inspection
from services.oversight.inspection import FINDINGS, Finding, InspectionService
from storage import Database, UnitOfWork
from tests.test_accounts import SYSTEM
from tests.test_inspection import EXPECTED, seed


async def test_the_findings_stream_in_batches_counted_as_they_pass(any_database: Database, clock: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A province's findings are never all held (issue 19): they come from the database in batches, in
    the order they are listed, each handed on before the next is read, and counted as they pass."""
    uow = UnitOfWork(any_database)
    await seed(uow, clock)
    service = InspectionService(uow, SYSTEM, clock)
    whole = await service.run()  # a small province: all of them kept
    monkeypatch.setattr(storage.inspection, "BATCH", 2)
    batches: list[list[Finding]] = []

    async def each(findings: Sequence[Finding]) -> None:
        batches.append(list(findings))

    streamed = await service.run(keep=0, each=each)
    assert streamed.findings == () and streamed.count == len(whole.findings) == len(EXPECTED)
    assert len(batches) > 1 and all(0 < len(batch) <= 2 for batch in batches)
    assert [f for batch in batches for f in batch] == list(whole.findings)
    order = list(FINDINGS)
    keys = [(f.unit_path, order.index(f.kind), f.full_name, f.dossier_id) for f in whole.findings]
    assert keys == sorted(keys)  # the database's order is the listing's: unit, kind, name, dossier
    # The counts per kind, in the table, are those of the findings that streamed past.
    assert streamed.counts() == {kind: sum(f.kind == kind for batch in batches for f in batch) for kind in FINDINGS}
    assert streamed.table == whole.table
    first = await service.run("SYT", keep=2)
    assert first.findings == tuple(f for f in whole.findings if f.unit_path.startswith(first.findings[0].unit_path))[:2]
    assert first.count == sum(first.counts().values()) == 4
