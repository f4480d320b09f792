"""The change service on a real database: deadlines recorded per event, versions and "as of", the
person's declarations, duplicate personal IDs, attachments, and nothing ever deleted."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from services.changes.declarations import Declarations
from services.changes.log import ChangeLog
from services.changes.new_dossiers import NewDossiers
from services.changes.planners import LOWER, NOT_THE_NEXT_STEP, NOT_THE_TABLES, OFF_TABLE, PLANNERS, TOO_SOON
from services.core.actor import Actor
from services.core.clock import FrozenClock
from services.core.errors import InvalidInput, PermissionDenied
from services.dossiers.history import HistoryService
from services.platform.attachments import FileStore, Upload
from services.platform.audit import AuditService
from services.platform.calendar import CalendarService
from services.regime.reference import install_reference_lists
from services.regime.setup import install_profile
from storage import Database, UnitOfWork
from storage.models import Attachment, ChangeEvent, Dossier, DossierRecord, DossierVersion
from tests.conftest import outbox_rows
from tests.test_accounts import SYSTEM, audit_actions, sign_in, tree
from tests.test_lookup import add_people

PAPER = {"doc_number": "123/QĐ-SYT", "doc_date": "15/06/2026", "doc_issuer": "Sở Y tế"}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


async def setup(uow: UnitOfWork, clock: FrozenClock, profile: str) -> dict[str, int]:
    await tree(uow, clock)
    await install_reference_lists(uow)
    await install_profile(uow, clock, profile)
    return await add_people(uow, clock)


@pytest.fixture
async def people(uow: UnitOfWork, clock: FrozenClock) -> dict[str, int]:
    return await setup(uow, clock, "hau-giang-2016")


@pytest.fixture
async def clerk(uow: UnitOfWork, clock: FrozenClock, people: dict[str, int]) -> Actor:
    return await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)


def service(uow: UnitOfWork, actor: Actor, clock: FrozenClock, files: Path | None = None) -> ChangeLog:
    return ChangeLog(uow, actor, clock, FileStore(files) if files else None)


def declarations(uow: UnitOfWork, actor: Actor, clock: FrozenClock) -> Declarations:
    return Declarations(uow, actor, clock)


def new_dossiers(uow: UnitOfWork, actor: Actor, clock: FrozenClock, files: Path | None = None) -> NewDossiers:
    return NewDossiers(uow, actor, clock, FileStore(files) if files else None)


def history_service(uow: UnitOfWork, actor: Actor, clock: FrozenClock, files: Path | None = None) -> HistoryService:
    return HistoryService(uow, actor, clock, FileStore(files) if files else None)


async def dossier(uow: UnitOfWork, dossier_id: int) -> Dossier:
    async with uow.read() as repos:
        found = await repos.session.get(Dossier, dossier_id)
        assert found is not None
        return found


async def test_each_event_records_its_deadline_and_verdict(uow: UnitOfWork, clock: FrozenClock, clerk: Actor,
                                                           people: dict[str, int]) -> None:
    changes = service(uow, clerk, clock)
    hoa = people["001188000111"]
    late = await changes.log("appointment", hoa, {"post": "Phó Trưởng phòng", **PAPER, "effective_on": "01/06/2026"})
    on_time = await changes.log("commendation", hoa, {"form": "Bằng khen", **PAPER, "effective_on": "20/06/2026"})
    # hau-giang-2016: 15 calendar days from the later of the paper's dates (15/06 here): Tuesday 30/06;
    # 05/07/2026 is a Sunday → Monday 06/07.
    assert (late.deadline, late.on_time) == (dt.date(2026, 6, 30), False)
    assert (on_time.deadline, on_time.on_time) == (dt.date(2026, 7, 6), True)
    async with uow.read() as repos:
        events = (await repos.session.scalars(select(ChangeEvent).order_by(ChangeEvent.id))).all()
    assert [(e.kind, e.on_time, e.doc_number) for e in events] == [
        ("appointment", False, "123/QĐ-SYT"), ("commendation", True, "123/QĐ-SYT")]
    assert (await dossier(uow, hoa)).post == "Phó Trưởng phòng"
    assert "change.appointment" in await audit_actions(uow)


async def test_working_days_and_the_admins_extra_day_off(uow: UnitOfWork, clock: FrozenClock) -> None:
    people = await setup(uow, clock, "vn-2026")
    clerk = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    changes = service(uow, clerk, clock)
    answers = {"form": "Giấy khen", **PAPER, "effective_on": "26/06/2026"}  # a Friday
    first = await changes.log("commendation", people["001188000111"], answers)
    assert first.deadline == dt.date(2026, 7, 1)  # Mon 29, Tue 30, Wed 01
    assert await CalendarService(uow, SYSTEM, clock).add_day_off(dt.date(2026, 6, 30), "Nghỉ bù") is True
    second = await changes.log("commendation", people["001188000111"], answers)
    assert (second.deadline, second.on_time) == (dt.date(2026, 7, 2), True)
    with pytest.raises(PermissionDenied):
        await CalendarService(uow, clerk, clock).add_day_off(dt.date(2026, 7, 3), "a clerk may not")


async def test_as_of_a_date_before_a_change_shows_the_old_value(uow: UnitOfWork, clock: FrozenClock, clerk: Actor,
                                                                people: dict[str, int]) -> None:
    changes, past = service(uow, clerk, clock), history_service(uow, clerk, clock)
    hoa = people["001188000111"]
    await changes.log("appointment", hoa, {"post": "Phó Trưởng phòng", **PAPER, "effective_on": "15/06/2026"})
    await changes.log("appointment", hoa, {"post": "Trưởng phòng", **PAPER, "effective_on": "25/06/2026"})
    assert (await past.as_of(hoa, dt.date(2026, 6, 1))).values["post"] == "Chuyên viên"  # before any change
    assert (await past.as_of(hoa, dt.date(2026, 6, 20))).values["post"] == "Phó Trưởng phòng"
    assert (await past.as_of(hoa, dt.date(2026, 6, 30))).values["post"] == "Trưởng phòng"
    async with uow.read() as repos:
        versions = (await repos.session.scalars(select(DossierVersion).where(DossierVersion.dossier_id == hoa))).all()
    assert [v.valid_from for v in versions] == [None, dt.date(2026, 6, 15), dt.date(2026, 6, 25)]
    history = await past.history(hoa)
    assert [entry.payload["post"] for entry in history.entries] == ["Trưởng phòng", "Phó Trưởng phòng"]


async def test_a_manager_reads_history_without_addresses_and_outsiders_are_refused(
    uow: UnitOfWork, clock: FrozenClock, clerk: Actor, people: dict[str, int]
) -> None:
    hoa = people["001188000111"]
    await service(uow, clerk, clock).log("address", hoa, {"current_address": "5 Lý Thường Kiệt",
                                                          "effective_on": "20/06/2026"})
    manager = await sign_in(uow, clock, "minh.syt", "SYT", "manager", 502)
    view = await history_service(uow, manager, clock).as_of(hoa, dt.date(2026, 6, 30))
    assert view.values is not None and "current_address" not in view.values and view.values["full_name"] == "Đặng Thị Hoà"
    outsider = await sign_in(uow, clock, "yen.stc", "STC", "clerk", 503)
    with pytest.raises(PermissionDenied):
        await history_service(uow, outsider, clock).history(hoa)
    with pytest.raises(PermissionDenied):
        await service(uow, outsider, clock).log("commendation", hoa, {"form": "x", **PAPER, "effective_on": "20/06/2026"})
    assert "dossier.refused" in await audit_actions(uow)


async def test_salary_raise_and_rank_raise_follow_the_table(uow: UnitOfWork, clock: FrozenClock, clerk: Actor,
                                                            people: dict[str, int]) -> None:
    anh = people["092185000444"]  # rank 01.004 (A0)
    async with uow.write() as repos:
        person = await repos.session.get(Dossier, anh)
        person.salary_step, person.salary_coefficient = 4, 3.03
    changes = service(uow, clerk, clock)
    preview = await changes.preview("salary_raise", anh, {**PAPER, "effective_on": "20/06/2026"})
    assert [(line.old, line.new) for line in preview.lines][:2] == [("4", "5"), ("3.03", "3.34")]
    await changes.log("salary_raise", anh, {**PAPER, "effective_on": "20/06/2026"})
    raised = await dossier(uow, anh)
    assert (raised.salary_step, raised.salary_coefficient, raised.salary_since) == (5, 3.34, dt.date(2026, 6, 20))
    promotion = await changes.preview("rank_raise", anh, {"rank_code": "01.003", **PAPER, "effective_on": "25/06/2026"})
    # The summary names both ranks, code and name, on one line (a trial saw "01.004 → 01.003" alone).
    assert [(line.label, line.old, line.new) for line in promotion.lines][0] == (
        "Rank", "01.004 Cán sự", "01.003 Chuyên viên")
    await changes.log("rank_raise", anh, {"rank_code": "01.003", **PAPER, "effective_on": "25/06/2026"})
    promoted = await dossier(uow, anh)
    # A1: the first step not below 3.34 is step 5 (3.66).
    assert (promoted.rank_code, promoted.rank_name, promoted.salary_step, promoted.salary_coefficient) == (
        "01.003", "Chuyên viên", 5, 3.66)
    async with uow.read() as repos:
        rows = (await repos.session.scalars(select(DossierRecord).where(
            DossierRecord.dossier_id == anh, DossierRecord.kind == "salary_history"))).all()
    assert [(r.data["step"], r.data["coefficient"]) for r in rows] == [(5, "3.34"), (5, "3.66")]


async def test_transfer_moves_the_working_unit_not_the_custodian(uow: UnitOfWork, clock: FrozenClock, clerk: Actor,
                                                                 people: dict[str, int]) -> None:
    hoa = people["001188000111"]
    before = await dossier(uow, hoa)
    changes = service(uow, clerk, clock)
    with pytest.raises(InvalidInput) as refused:
        await changes.log("rotation", hoa, {"working_unit": "STC", **PAPER, "effective_on": "20/06/2026"})
    assert refused.value.field == "working_unit"  # a rotation stays within the clerk's scope
    await changes.log("transfer", hoa, {"working_unit": "STC", **PAPER, "effective_on": "20/06/2026"})
    after = await dossier(uow, hoa)
    assert after.custodian_unit_id == before.custodian_unit_id and after.working_unit_id != before.working_unit_id


async def test_status_changes_and_their_rules(uow: UnitOfWork, clock: FrozenClock, clerk: Actor,
                                              people: dict[str, int]) -> None:
    changes = service(uow, clerk, clock)
    hoa = people["001188000111"]
    with pytest.raises(InvalidInput):
        await changes.log("probation_passed", hoa, {**PAPER, "effective_on": "20/06/2026"})  # not on probation
    await changes.log("retirement", hoa, {**PAPER, "effective_on": "30/06/2026"})
    assert (await dossier(uow, hoa)).employment_status == "retired"
    with pytest.raises(InvalidInput):
        await changes.log("death", hoa, {**PAPER, "effective_on": "30/06/2026"})  # retired is final here


async def test_a_declaration_waits_for_the_clerk_then_applies(uow: UnitOfWork, clock: FrozenClock, clerk: Actor,
                                                              people: dict[str, int]) -> None:
    employee = await sign_in(uow, clock, "hoa.nv", "SYT", "employee", 777, personal_id="001188000111")
    declared = await declarations(uow, employee, clock).declare(
        "marriage", {"spouse_name": "Lê Văn Bình", "spouse_birth_year": "1986", "effective_on": "10/06/2026"})
    assert declared.status == "pending"
    # The custodian unit's clerk is asked to decide it: a notice written with the declaration, due at once.
    [asked] = await outbox_rows(uow)
    assert (asked.kind, asked.account_id, asked.channel, asked.address, asked.object_type, asked.object_id,
            asked.status, asked.due_at) == ("declaration_new", clerk.account_id, "telegram", "501", "change",
                                            str(declared.event_id), "pending", clock.now())
    assert [item.event_id for item in await declarations(uow, clerk, clock).pending()] == [declared.event_id]
    async with uow.read() as repos:
        families = (await repos.session.scalars(select(DossierRecord).where(DossierRecord.kind == "family"))).all()
    assert families == []  # nothing enters the dossier before the clerk's decision
    decided = await declarations(uow, clerk, clock).decide(declared.event_id, approve=True)
    assert decided.status == "applied"
    [told] = await outbox_rows(uow, "declaration_decided")  # and the person is told
    assert (told.account_id, told.channel, told.address, told.object_id, told.payload["status"]) == (
        employee.account_id, "telegram", "777", str(declared.event_id), "applied")
    async with uow.read() as repos:
        families = (await repos.session.scalars(select(DossierRecord).where(DossierRecord.kind == "family"))).all()
    assert [(f.data["name"], f.data["born"]) for f in families] == [("Lê Văn Bình", "1986")]
    with pytest.raises(InvalidInput):
        await declarations(uow, clerk, clock).decide(declared.event_id, approve=False, reason="late")  # already decided
    assert await declarations(uow, clerk, clock).pending() == []


async def test_a_rejection_needs_a_reason_and_changes_nothing(uow: UnitOfWork, clock: FrozenClock, clerk: Actor,
                                                              people: dict[str, int]) -> None:
    employee = await sign_in(uow, clock, "hoa.nv", "SYT", "employee", 777, personal_id="001188000111")
    declared = await declarations(uow, employee, clock).declare(
        "address", {"current_address": "9 Hùng Vương", "effective_on": "10/06/2026"})
    with pytest.raises(InvalidInput) as refused:
        await declarations(uow, clerk, clock).decide(declared.event_id, approve=False, reason="  ")
    assert refused.value.field == "reason"
    [asked] = await outbox_rows(uow, "declaration_new")  # what it would change goes with the question
    assert asked.payload["lines"] == [["Current address", "12 Trần Hưng Đạo", "9 Hùng Vương"]]
    assert asked.payload["answers"] == {"current_address": "9 Hùng Vương", "effective_on": "10/06/2026"}
    rejected = await declarations(uow, clerk, clock).decide(declared.event_id, approve=False,
                                                            reason=" Thiếu   xác nhận ")
    assert rejected.status == "rejected"
    [told] = await outbox_rows(uow, "declaration_decided")
    assert (told.address, told.payload["status"], told.payload["reason"]) == ("777", "rejected", "Thiếu xác nhận")
    assert (await dossier(uow, people["001188000111"])).current_address == "12 Trần Hưng Đạo"
    history = await history_service(uow, employee, clock).history(people["001188000111"])
    assert [(e.status, e.decision_note) for e in history.entries] == [("rejected", "Thiếu xác nhận")]
    # An employee declares only their own personal changes.
    with pytest.raises(PermissionDenied):
        await declarations(uow, employee, clock).declare("retirement", {"effective_on": "10/06/2026"})


async def test_a_duplicate_personal_id_points_to_the_dossier_in_scope(uow: UnitOfWork, clock: FrozenClock,
                                                                      clerk: Actor, people: dict[str, int]) -> None:
    changes = service(uow, clerk, clock)
    with pytest.raises(InvalidInput) as in_scope:
        await changes.check("new", "personal_id", "001188000111")
    assert in_scope.value.params["name"] == "Đặng Thị Hoà"
    with pytest.raises(InvalidInput) as elsewhere:
        await changes.check("new", "personal_id", "092189000888")  # held by STC, outside the scope
    assert "name" not in elsewhere.value.params
    assert await changes.check("new", "personal_id", " 0921 9500 1234 ") == "092195001234"


async def test_new_dossier_with_its_recruitment_deadline_and_attachment(
    uow: UnitOfWork, clock: FrozenClock, clerk: Actor, people: dict[str, int], tmp_path: Path
) -> None:
    changes = service(uow, clerk, clock, tmp_path / "files")
    answers = {"full_name": "Đặng  Thị Thuỷ", "sex": "F", "birth_date": "12/03/1995", "personal_id": "092195001234",
               "ethnicity": "Kinh", "custodian_unit": "bv", "rank_code": "01.003", "post": "Chuyên viên",
               "employment_status": "probation", "doc_number": "45/QĐ-SYT", "doc_date": "20/06/2026",
               "doc_issuer": "Sở Y tế", "effective_on": "22/06/2026"}
    created = await new_dossiers(uow, clerk, clock, tmp_path / "files").create(answers, [Upload("quyet-dinh.pdf", PDF)])
    assert (created.deadline, created.on_time) == (dt.date(2026, 7, 20), True)  # 30 days from the decision
    new = await dossier(uow, created.dossier_id)
    assert (new.full_name, new.folded_name, new.ethnicity, new.salary_step, new.salary_coefficient) == (
        "Đặng Thị Thuỷ", "dang thi thuy", "Kinh", 1, 2.34)
    digest = hashlib.sha256(PDF).hexdigest()
    assert (tmp_path / "files" / digest[:2] / digest).read_bytes() == PDF
    async with uow.read() as repos:
        attachment = (await repos.session.scalars(select(Attachment))).one()
    assert (attachment.change_event_id, attachment.sha256) == (created.event_id, digest)
    name, content = await history_service(uow, clerk, clock, tmp_path / "files").attachment(attachment.id)
    assert (name, content) == ("quyet-dinh.pdf", PDF)
    with pytest.raises(InvalidInput) as refused:
        await changes.log("commendation", created.dossier_id, {"form": "x", **PAPER, "effective_on": "20/06/2026"},
                          [Upload("virus.exe", b"MZ...")])
    assert refused.value.field == "attachment"


@pytest.mark.parametrize("value", ["31/02/2026", "2026-06-01", "hôm qua"])
async def test_bad_dates_are_refused_with_the_value(uow: UnitOfWork, clock: FrozenClock, clerk: Actor,
                                                    people: dict[str, int], value: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        await service(uow, clerk, clock).check("appointment", "doc_date", value)
    assert refused.value.field == "doc_date" and refused.value.params["value"] == value


@pytest.mark.parametrize("value", ["123", "QĐ-UBND", "123/", "abc/QĐ", "12/QĐ UBND!"])
async def test_bad_document_numbers_are_refused(uow: UnitOfWork, clock: FrozenClock, clerk: Actor,
                                                people: dict[str, int], value: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        await service(uow, clerk, clock).check("appointment", "doc_number", value)
    assert refused.value.field == "doc_number"


@pytest.mark.parametrize("value", ["123/QĐ-UBND", "45/2026/QĐ-UBND", "7a/NQ-HĐND"])
async def test_good_document_numbers_pass(uow: UnitOfWork, clock: FrozenClock, clerk: Actor,
                                          people: dict[str, int], value: str) -> None:
    assert await service(uow, clerk, clock).check("appointment", "doc_number", value) == value


async def test_nothing_of_a_dossier_can_be_deleted(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    people = await setup(uow, clock, "hcmc-2013")
    clerk = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    await service(uow, clerk, clock).log("commendation", people["001188000111"],
                                         {"form": "Bằng khen", **PAPER, "effective_on": "20/06/2026"})
    for table in (Dossier, ChangeEvent, DossierVersion):
        with pytest.raises((IntegrityError, DBAPIError)):
            async with uow.write() as repos:
                await repos.session.execute(delete(table))
    async with uow.read() as repos:
        assert (await repos.session.scalars(select(ChangeEvent))).one().kind == "commendation"


async def test_the_optional_groups_are_completed_later(uow: UnitOfWork, clock: FrozenClock, clerk: Actor,
                                                       people: dict[str, int]) -> None:
    anh = people["092185000444"]
    changes = service(uow, clerk, clock)
    answers = {"birthplace": "Vị Thanh", "professional_level": "DH", "party_joined_on": "03/02/2015",
               "effective_on": "20/06/2026"}
    checked = {key: await changes.check("supplement", key, value) for key, value in answers.items()}
    preview = await changes.preview("supplement", anh, checked)
    assert ("—", "Đại học") in [(line.old, line.new) for line in preview.lines]
    await changes.log("supplement", anh, checked)
    done = await dossier(uow, anh)
    assert (done.birthplace, done.professional_level, done.party_joined_on) == (
        "Vị Thanh", "Đại học", dt.date(2015, 2, 3))
    with pytest.raises(InvalidInput) as nothing:
        await changes.log("supplement", anh, {"birthplace": "Vị Thanh", "effective_on": "20/06/2026"})
    assert nothing.value.field == "kind"  # the same value again changes nothing
    with pytest.raises(InvalidInput) as filled:  # completing is not correcting: that needs its own decision
        await changes.log("supplement", anh, {"birthplace": "Cần Thơ", "effective_on": "20/06/2026"})
    assert filled.value.field == "birthplace"
    with pytest.raises(InvalidInput):  # the salary is not completed here: a decision changes it
        await changes.check("supplement", "salary_step", "3")


async def test_a_change_logged_late_lands_in_its_place(uow: UnitOfWork, clock: FrozenClock, clerk: Actor,
                                                       people: dict[str, int]) -> None:
    """A later-effective change stays in the dossier; the earlier one, logged after it, shows only in the
    dates it governed."""
    hoa = people["001188000111"]
    changes, past = service(uow, clerk, clock), history_service(uow, clerk, clock)
    await changes.log("appointment", hoa, {"post": "Trưởng phòng", **PAPER, "effective_on": "25/06/2026"})
    await changes.log("appointment", hoa, {"post": "Phó Trưởng phòng", **PAPER, "effective_on": "10/06/2026"})
    assert (await dossier(uow, hoa)).post == "Trưởng phòng"
    assert (await past.as_of(hoa, dt.date(2026, 6, 1))).values["post"] == "Chuyên viên"
    assert (await past.as_of(hoa, dt.date(2026, 6, 15))).values["post"] == "Phó Trưởng phòng"
    assert (await past.as_of(hoa, dt.date(2026, 6, 30))).values["post"] == "Trưởng phòng"


async def test_a_decision_registered_to_enter_later(uow: UnitOfWork, clock: FrozenClock, clerk: Actor,
                                                    people: dict[str, int]) -> None:
    """Registered with its deadline (nothing changes yet), reminded before it lapses, closed when the
    change is logged with the same decision number."""
    from services.regime.deadlines import WorkingCalendar
    from services.reminders.service import ReminderService

    hoa = people["001188000111"]
    changes = service(uow, clerk, clock)
    registered = await changes.log("registration", hoa, {"for_kind": "appointment", **PAPER,
                                                         "effective_on": "25/06/2026"})
    assert (registered.status, registered.deadline, registered.on_time) == ("registered", dt.date(2026, 7, 10), None)
    assert (await dossier(uow, hoa)).post == "Chuyên viên"
    async with uow.read() as repos:
        def reminded(day: dt.date) -> list[str]:
            return [d.kind for d in due if d.due_on == day]
        due = [d for day in (dt.date(2026, 7, 9), dt.date(2026, 7, 10), dt.date(2026, 7, 8))
               for d in await ReminderService(uow, SYSTEM, clock).compute(repos, day, WorkingCalendar())
               if d.kind == "change_deadline"]
    assert reminded(dt.date(2026, 7, 9)) == ["change_deadline"] == reminded(dt.date(2026, 7, 10))
    assert reminded(dt.date(2026, 7, 8)) == []
    await changes.log("appointment", hoa, {"post": "Phó Trưởng phòng", **PAPER, "effective_on": "25/06/2026"})
    history = await history_service(uow, clerk, clock).history(hoa)
    assert [(e.kind, e.status) for e in history.entries] == [("appointment", "applied"), ("registration", "entered")]


async def test_a_manager_cannot_fetch_the_papers_of_a_family_change(
    uow: UnitOfWork, clock: FrozenClock, clerk: Actor, people: dict[str, int], tmp_path: Path
) -> None:
    hoa = people["001188000111"]
    await service(uow, clerk, clock, tmp_path).log(
        "marriage", hoa, {"spouse_name": "Lê Văn Bình", "spouse_birth_year": "1986", "effective_on": "10/06/2026"},
        [Upload("giay-ket-hon.pdf", PDF)])
    async with uow.read() as repos:
        attachment = (await repos.session.scalars(select(Attachment))).one()
    manager = await sign_in(uow, clock, "minh.syt", "SYT", "manager", 502)
    with pytest.raises(PermissionDenied):
        await history_service(uow, manager, clock, tmp_path).attachment(attachment.id)
    assert (await history_service(uow, clerk, clock, tmp_path).attachment(attachment.id))[1] == PDF
    assert "attachment.refused" in await audit_actions(uow)


def test_every_kind_of_change_has_its_planner() -> None:
    """Adding a kind to change_kinds without its planner (services.changes.planners) fails here."""
    from services.regime.change_kinds import KINDS

    assert sorted(KINDS.keys() - PLANNERS.keys()) == []


async def test_the_deadline_counts_from_the_later_of_the_decisions_date_and_its_effective_date(
    uow: UnitOfWork, clock: FrozenClock, clerk: Actor, people: dict[str, int]
) -> None:
    """A decision signed on 20/06 that takes effect on 01/06 (a salary's "hưởng từ ngày") is not late on
    01/07: the paper did not exist on 01/06. 15 calendar days from 20/06 end on Sunday 05/07 → 06/07."""
    changes = service(uow, clerk, clock)
    hoa = people["001188000111"]
    paper = {**PAPER, "doc_date": "20/06/2026", "effective_on": "01/06/2026"}
    preview = await changes.preview("commendation", hoa, {"form": "Giấy khen", **paper})
    assert (preview.deadline, preview.on_time) == (dt.date(2026, 7, 6), True)
    logged = await changes.log("commendation", hoa, {"form": "Giấy khen", **paper})
    assert (logged.deadline, logged.on_time) == (dt.date(2026, 7, 6), True)
    # A paper that takes effect after it is signed counts from its effective date, as before.
    later = await changes.log("commendation", hoa, {"form": "Giấy khen", **PAPER, "effective_on": "20/06/2026"})
    assert later.deadline == dt.date(2026, 7, 6)


async def test_upgrading_recomputes_the_old_verdicts_and_audits_how_many_changed(database_url: str,
                                                                                  clock: FrozenClock) -> None:
    database = Database(database_url)
    try:
        await database.upgrade("0012")
        uow = UnitOfWork(database)
        people = await setup(uow, clock, "hau-giang-2016")
        clerk = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
        changes, hoa = service(uow, clerk, clock), people["001188000111"]
        backdated = {"form": "Giấy khen", **PAPER, "doc_date": "20/06/2026", "effective_on": "01/06/2026"}
        first = await changes.log("commendation", hoa, backdated)
        await changes.log("commendation", hoa, {"form": "Giấy khen", **PAPER, "effective_on": "20/06/2026"})
        registered = await changes.log("registration", hoa, {"for_kind": "appointment", **backdated})
        # As the old rule recorded them: counted from the effective date, 01/06 → 16/06, late.
        async with uow.write() as repos:
            await repos.session.execute(update(ChangeEvent).where(ChangeEvent.id == first.event_id)
                                        .values(deadline=dt.date(2026, 6, 16), on_time=False))
            await repos.session.execute(update(ChangeEvent).where(ChangeEvent.id == registered.event_id)
                                        .values(deadline=dt.date(2026, 6, 16)))
        await database.upgrade()
        async with uow.read() as repos:
            events = {e.id: (e.deadline, e.on_time) for e in (await repos.session.scalars(select(ChangeEvent))).all()}
            [audited] = await repos.audit.search(object_type="change_event", object_id=None, limit=5)
        assert events[first.event_id] == (dt.date(2026, 7, 6), True)
        assert events[registered.event_id] == (dt.date(2026, 7, 6), None)  # still to be entered: no verdict
        assert (audited.action, audited.details["examined"], audited.details["changed"],
                audited.details["late_now_on_time"]) == ("change.deadlines_recomputed", 3, 2, 1)
        assert audited.details["events"][str(first.event_id)] == {"was": ["2026-06-16", False],
                                                                  "now": ["2026-07-06", True]}
        report = await AuditService(uow, SYSTEM, clock).verify()
        assert report.ok and report.count >= audited.seq
    finally:
        await database.dispose()


async def test_a_salary_raise_is_checked_against_the_table(uow: UnitOfWork, clock: FrozenClock, clerk: Actor,
                                                          people: dict[str, int]) -> None:
    """The trial's case: step 6 at 3.99 on an A0 rank (the table: 3.65), raised 8 months after the last
    raise, showed "3.99 → 3.96" and said nothing."""
    anh = people["092185000444"]  # rank 01.004 Cán sự, A0: 2.10 2.41 2.72 3.03 3.34 3.65 3.96 …, 36 months
    async with uow.write() as repos:
        person = await repos.session.get(Dossier, anh)
        person.salary_step, person.salary_coefficient, person.salary_since = 6, 3.99, dt.date(2025, 10, 20)
    changes = service(uow, clerk, clock)
    preview = await changes.preview("salary_raise", anh, {**PAPER, "effective_on": "20/06/2026"})
    assert [(c.message, c.params) for c in preview.cautions] == [
        (OFF_TABLE, {"step": "6", "coefficient": "3.99", "table": "3.65"}),
        (LOWER, {"new": "3.96", "old": "3.99"}),
        (TOO_SOON, {"months": "8", "since": "20/10/2025", "period": "36", "due": "20/10/2028"}),
    ]
    assert [(line.old, line.new, line.table) for line in preview.lines][:2] == [("6", "7", "7"),
                                                                                ("3.99", "3.96", "3.96")]
    # What the paper says (step 7 at 4.00), with the table's value beside it; saved as the paper says.
    paper = {"salary_step": "7", "salary_coefficient": "4,00", **PAPER, "effective_on": "20/06/2026"}
    checked = {key: await changes.check("salary_raise", key, value) for key, value in paper.items()}
    preview = await changes.preview("salary_raise", anh, checked)
    assert (NOT_THE_TABLES, {"given": "4.00", "table": "3.96", "step": "7"}) in [
        (c.message, c.params) for c in preview.cautions]
    assert LOWER not in [c.message for c in preview.cautions]
    logged = await changes.log("salary_raise", anh, checked)
    raised = await dossier(uow, anh)
    assert (raised.salary_step, raised.salary_coefficient) == (7, 4.0)
    # What was off stays known after the save: in the reply and in the audit row of the change.
    assert NOT_THE_TABLES in [c.message for c in logged.cautions]
    async with uow.read() as repos:
        [audited] = await repos.audit.search(object_type="dossier", object_id=anh, limit=1)
    assert audited.action == "change.salary_raise"
    assert {"message": NOT_THE_TABLES, "given": "4.00", "table": "3.96", "step": "7"} in audited.details["cautions"]
    # A step the table does not skip to is said too.
    preview = await changes.preview("salary_raise", anh, {"salary_step": "9", **PAPER, "effective_on": "20/06/2029"})
    assert [(c.message, c.params) for c in preview.cautions] == [
        (OFF_TABLE, {"step": "7", "coefficient": "4.00", "table": "3.96"}),
        (NOT_THE_NEXT_STEP, {"given": "9", "step": "8"})]
