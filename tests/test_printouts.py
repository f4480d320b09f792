"""Verifiable printouts: the code and QR on the 2C form, the reports and the statistics sheet; the check of a
code (genuine, as of version N, a newer version since), a forged one refused, every check audited. Both
backends."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from services.core.actor import Actor
from services.core.clock import FrozenClock
from services.core.errors import InvalidInput
from services.facade import Services
from services.platform.printouts import (
    FORM,
    NotGenuine,
    NoVerifyKey,
    PrintoutService,
    describe,
    keyed_hash,
    normalize,
    parse,
)
from storage import Database, UnitOfWork
from storage.models import AuditEvent, OrgUnit, Printout, UnitReport
from tests.test_accounts import audit_actions, sign_in
from tests.test_changes import PAPER, service, setup

KEY = b"v" * 40
URL = "https://hoso.example.vn/verify"
CODE = re.compile(r"\b(?:2C|BC|BT|TK)-[0-9A-Z.]+-\d+-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}\b")
HOA = "001188000111"


def facade(uow: UnitOfWork, actor: Actor, clock: FrozenClock, key: bytes | None = KEY) -> Services:
    return Services(uow, actor, clock, None, verify_key=key, verify_url=URL)


def footer_code(content: bytes) -> tuple[str, int]:
    """The code printed in the form's footer, and how many pictures (the QR) the footer holds."""
    document = Document(io.BytesIO(content))
    footer = document.sections[0].footer
    found = CODE.search("\n".join(paragraph.text for paragraph in footer.paragraphs))
    assert found, "no verification code in the footer"
    pictures = len(footer._element.xpath(".//pic:pic"))
    return found.group(), pictures


@pytest.fixture
async def world(any_database: Database, clock: FrozenClock) -> tuple[UnitOfWork, dict[str, int], Actor]:
    uow = UnitOfWork(any_database)
    people = await setup(uow, clock, "hau-giang-2016")
    clerk = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    return uow, people, clerk


async def test_a_printed_form_carries_a_code_and_its_qr_and_the_code_verifies(world, clock: FrozenClock) -> None:  # noqa: ANN001
    uow, people, clerk = world
    name, content = await facade(uow, clerk, clock).printed_2c(people[HOA])
    code, pictures = footer_code(content)
    assert pictures == 1
    assert code.startswith(f"2C-{people[HOA]}-1-")  # the dossier and its version (the import's baseline: 1)

    verdict = await facade(uow, clerk, clock).printouts.verify(code.lower().replace("-", " "))  # as typed
    assert (verdict.kind, verdict.subject, verdict.version) == (FORM, str(people[HOA]), 1)
    assert not verdict.changed and verdict.issued_by == "lan.syt"
    lines = describe(verdict, lambda message: message, clock.tz)
    assert "as of version 1" in lines[0] and "still stands" in lines[1]
    actions = await audit_actions(uow)
    assert actions[-3:] == ["dossier.print", "printout.issue", "printout.verify"]  # reading a code is audited


async def test_after_a_change_the_code_verifies_as_of_its_version_and_a_newer_one_exists(world, clock: FrozenClock) -> None:  # noqa: ANN001
    uow, people, clerk = world
    _name, content = await facade(uow, clerk, clock).printed_2c(people[HOA])
    code, _pictures = footer_code(content)
    clock.advance(dt.timedelta(minutes=5))
    await service(uow, clerk, clock).log("appointment", people[HOA],
                                         {"post": "Trưởng phòng", **PAPER, "effective_on": "15/06/2026"})
    verdict = await facade(uow, clerk, clock).printouts.verify(code)
    assert verdict.version == 1 and verdict.changed and verdict.current_version == 2
    lines = describe(verdict, lambda message: message, clock.tz)
    assert "as of version 1" in lines[0] and "A newer version exists (version 2)" in lines[1]
    _name, again = await facade(uow, clerk, clock).printed_2c(people[HOA])
    newer, _pictures = footer_code(again)
    assert newer.startswith(f"2C-{people[HOA]}-2-")
    assert not (await facade(uow, clerk, clock).printouts.verify(newer)).changed


async def test_a_forged_code_is_refused_and_the_attempt_is_audited(world, clock: FrozenClock) -> None:  # noqa: ANN001
    uow, people, clerk = world
    _name, content = await facade(uow, clerk, clock).printed_2c(people[HOA])
    code, _pictures = footer_code(content)
    checker = facade(uow, clerk, clock).printouts
    last = code[-1]
    for forged in (code[:-1] + ("A" if last != "A" else "B"),  # one letter of the hash
                   code.replace(f"2C-{people[HOA]}-1-", f"2C-{people[HOA]}-2-"),  # a later version claimed
                   code.replace(f"2C-{people[HOA]}-", "2C-99999-")):  # another dossier
        with pytest.raises(NotGenuine):
            await checker.verify(forged)
    with pytest.raises(InvalidInput) as malformed:
        await checker.verify("not a code")
    assert malformed.value.field == "code"
    async with uow.read() as repos:
        checks = [event for event in await repos.audit.search(limit=100) if event.action == "printout.verify"]
    assert [event.details["outcome"] for event in checks] == ["refused"] * 3

    # A row slipped into the database by someone without the key verifies nothing.
    mac = keyed_hash(b"w" * 40, FORM, "424242", 1, "0" * 64)
    slipped = f"2C-424242-1-{mac}"
    async with uow.write() as repos:
        head = await repos.audit.head()
        await repos.printouts.add(code=slipped, kind=FORM, subject="424242", version=1, digest="0" * 64,
                                  state="1:-", audit_seq=head.seq, issued_at=clock.now(), issued_by="lan.syt")
    with pytest.raises(NotGenuine):
        await checker.verify(slipped)


async def test_an_altered_issue_record_is_refused(world, clock: FrozenClock) -> None:  # noqa: ANN001
    """The digest is in the audited details of the issue: rewriting it there breaks the check of that event."""
    uow, people, clerk = world
    _name, content = await facade(uow, clerk, clock).printed_2c(people[HOA])
    code, _pictures = footer_code(content)
    database = uow.database
    async with database.engine.begin() as connection:
        if database.dialect == "postgresql":
            await connection.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        else:
            await connection.execute(text("DROP TRIGGER audit_event_no_update"))
    async with uow.write() as repos:
        event = await repos.session.scalar(select(AuditEvent).where(AuditEvent.action == "printout.issue"))
        event.details = {**event.details, "digest": "f" * 64}
    with pytest.raises(NotGenuine, match="altered"):
        await facade(uow, clerk, clock).printouts.verify(code)


async def test_an_issued_printout_is_never_changed_or_deleted(world, clock: FrozenClock) -> None:  # noqa: ANN001
    uow, people, clerk = world
    await facade(uow, clerk, clock).printed_2c(people[HOA])
    for statement in ("UPDATE printout SET version = 9", "DELETE FROM printout"):
        with pytest.raises(DBAPIError):
            async with uow.database.engine.begin() as connection:
                await connection.execute(text(statement))


async def test_the_statistics_sheet_and_the_unit_report_carry_their_code(world, clock: FrozenClock) -> None:  # noqa: ANN001
    uow, _people, clerk = world
    services = facade(uow, clerk, clock)
    table = await services.statistics.table("SYT")
    sheet = load_workbook(io.BytesIO(await services.statistics_file(table, "SYT", lambda m: m, "Thống kê"))).active
    cells = "\n".join(str(cell.value) for row in sheet.iter_rows() for cell in row if cell.value)
    code = CODE.search(cells)
    assert code and code.group().startswith("TK-") and len(sheet._images) == 1
    assert code.group() in sheet.oddFooter.left.text
    verdict = await services.printouts.verify(code.group())
    assert verdict.kind == "TK" and not verdict.changed

    view = await services.reports.open("SYT", None, full=True)
    document, workbook = await services.unit_report_files(view, lambda m: m, lambda m: m, "Báo cáo")
    report_code, pictures = footer_code(document)
    assert report_code.startswith("BC-") and pictures == 1
    book = load_workbook(io.BytesIO(workbook)).active
    assert report_code in "\n".join(str(cell.value) for row in book.iter_rows() for cell in row if cell.value)
    clock.advance(dt.timedelta(minutes=5))
    await services.reports.save("SYT", view.period.code, {"a": "Đơn vị đã cập nhật đầy đủ."})
    assert (await services.printouts.verify(report_code)).changed  # the draft was written since


async def test_a_statistics_code_names_the_unit_counted_however_it_was_asked(world, clock: FrozenClock) -> None:  # noqa: ANN001
    """The unit typed in any case, or none (the clerk's own scope), is the subject: never the province's 0."""
    uow, _people, clerk = world
    services = facade(uow, clerk, clock)
    async with uow.read() as repos:
        syt = await repos.units.by_code("SYT")
    assert syt is not None
    for typed in ("syt", None):
        table = await services.statistics.table(typed)
        sheet = load_workbook(io.BytesIO(await services.statistics_file(table, typed, lambda m: m, "Thống kê"))).active
        code = CODE.search("\n".join(str(cell.value) for row in sheet.iter_rows() for cell in row if cell.value))
        assert code and code.group().startswith(f"TK-{syt.id}."), (typed, code)
        assert (await services.printouts.verify(code.group())).subject.startswith(f"{syt.id}.")


async def test_the_province_reports_state_fits_its_column_whatever_the_units(world, clock: FrozenClock) -> None:  # noqa: ANN001
    """Compared for equality only, the state of a province report is a digest: 40 units' reports fit (PostgreSQL
    refused the joined text past a handful), and a change in one of them changes it."""
    uow, _people, _clerk = world
    now = clock.now()
    async with uow.write() as repos:
        for index in range(40):
            unit = await repos.units.add(OrgUnit(code=f"U{index:02}", name=f"Đơn vị {index}", path="/", created_at=now))
            repos.session.add(UnitReport(unit_id=unit.id, period="2026-H2", status="draft", sections={},
                                         created_at=now, updated_at=now))
    async with uow.read() as repos:
        before = await repos.printouts.report_state(None, "2026-H2")
    assert len(before) <= 255
    async with uow.write() as repos:
        report = (await repos.session.scalars(select(UnitReport).limit(1))).one()
        report.updated_at = now + dt.timedelta(minutes=1)
    async with uow.read() as repos:
        assert await repos.printouts.report_state(None, "2026-H2") != before


async def test_without_a_key_nothing_is_issued_and_nothing_verified(world, clock: FrozenClock) -> None:  # noqa: ANN001
    uow, people, clerk = world
    _name, content = await facade(uow, clerk, clock, key=None).printed_2c(people[HOA])
    footer = Document(io.BytesIO(content)).sections[0].footer
    assert not CODE.search("\n".join(paragraph.text for paragraph in footer.paragraphs))
    async with uow.read() as repos:
        assert (await repos.session.scalars(select(Printout))).all() == []
    with pytest.raises(NoVerifyKey):
        await PrintoutService(uow, clerk, clock, None).verify("2C-1-1-AAAA-AAAA-AAAA-AAAA")


def test_a_code_is_read_as_typed_from_paper() -> None:
    assert normalize(" 2c 12 3 abcd efgh ijkl mn0p ") == "2C-12-3-ABCD-EFGH-IJKL-MNOP"
    assert parse("2C-12-3-ABCD-EFGH-IJKL-MN0P") == ("2C", "12", 3, "ABCD-EFGH-IJKL-MNOP")
    with pytest.raises(InvalidInput):
        parse("XX-12-3-ABCD-EFGH-IJKL-MNOP")
