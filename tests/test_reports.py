"""The half-yearly report as a service, on a real SQLite: the periods and their data windows, the draft,
submitting (late or not, only once, with everything filled in), the figures frozen at submission, the
measured compliance of section (a), the reminders stopped and the office told, who may do what, the
submission board with who was reminded, and the province's report. The documents are opened with
python-docx and openpyxl and read back."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from typing import Any

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from bot.i18n import create_i18n
from handlers.reports import board_text
from locales import translator
from services.core.errors import InvalidInput, PermissionDenied
from services.core.identity import load_actor
from services.documents.report_docx import render_provincial_report, render_unit_report
from services.documents.stats_workbook import provincial_workbook, statistics_workbook
from services.oversight.compliance import Compliance
from services.oversight.periods import parse_period, period_for
from services.oversight.reports import ReportService, place_of
from services.platform.sessions import SessionExpired
from services.regime.profiles import load_profile
from services.reminders.service import ReminderService
from storage import UnitOfWork
from storage.models import (
    Account,
    ChangeEvent,
    Dossier,
    DossierVersion,
    Outbox,
    TransferRequest,
    UnitReport,
)
from tests.test_accounts import SYSTEM, sign_in
from tests.test_reminders import ADMIN, STC_CLERK, SYT_CLERK, TZ, at, province, reports, unit_id

VI = translator("vi")
FILLED = {"a": "Đơn vị cập nhật kịp thời.", "c": "Đủ máy tính, máy quét.", "d": "Tập huấn 2 đợt.",
          "dd": "Đề nghị nâng cấp đường truyền.", "doc_number": "12/BC-SYT", "signer": "Nguyễn Văn Bình",
          "signer_title": "Giám đốc"}
PROFILE = load_profile("vn-2026")
PERIOD = "2026-H2"


def local_instant(year: int, month: int, day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=TZ).astimezone(dt.UTC)


@pytest.fixture
async def people(uow: UnitOfWork, clock: Any) -> dict[str, int]:
    return await province(uow, clock)


async def as_user(uow: UnitOfWork, clock: Any, telegram_id: int) -> ReportService:
    """The service as the account bound to `telegram_id`, signed in just now by `clock`."""
    async with uow.write() as repos:
        account, _unit = await repos.accounts.by_identity("telegram", str(telegram_id))
        await repos.session.execute(update(Account).where(Account.id == account.id)
                                    .values(last_active_at=clock.now()))
    return ReportService(uow, await load_actor(uow, "telegram", telegram_id), clock)


# -- periods -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("today", "code", "start", "due"), [
    (dt.date(2026, 12, 1), "2026-H2", dt.date(2026, 6, 15), dt.date(2026, 12, 15)),
    (dt.date(2026, 6, 14), "2026-H1", dt.date(2025, 12, 15), dt.date(2026, 6, 15)),
    (dt.date(2026, 6, 15), "2026-H2", dt.date(2026, 6, 15), dt.date(2026, 12, 15)),  # due *before* the 15th
    (dt.date(2026, 12, 20), "2027-H1", dt.date(2026, 12, 15), dt.date(2027, 6, 15)),
])
def test_the_period_being_reported(today: dt.date, code: str, start: dt.date, due: dt.date) -> None:
    period = period_for(today, PROFILE)
    assert (period.code, period.start, period.due, period.end) == (code, start, due, due - dt.timedelta(days=1))
    assert parse_period(code.lower(), PROFILE) == period


@pytest.mark.parametrize("text", ["2026-H3", "2026", "H1-2026", "26-H1"])
def test_a_period_that_is_none(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_period(text, PROFILE)
    assert caught.value.field == "period"


def test_the_place_of_the_date_line() -> None:
    assert place_of("Ủy ban nhân dân thành phố Cần Thơ") == "Cần Thơ"
    assert place_of("UBND tỉnh Hậu Giang") == "Hậu Giang"
    assert place_of("Sở Nội vụ") == "Sở Nội vụ"


# -- the draft, then submitting ------------------------------------------------------------------------------
async def test_a_clerk_drafts_then_submits_on_time(uow: UnitOfWork, clock: Any, people: dict[str, int]) -> None:
    service = await as_user(uow, clock, SYT_CLERK)
    assert [u.code for u in await service.units()] == ["SYT"]
    # On 01/07 the first half-year's report is overdue: it is what /report opens, and the next one says so.
    assert (await service.open("SYT")).period.code == "2026-H1"
    view = await service.open("SYT", "2026-H2")
    assert (view.period.code, view.status, view.editable, view.missing, view.overdue_before) == (
        "2026-H2", "new", True, ["a", "c", "d", "dd", "sign"], "2026-H1")
    assert view.statistics.total.people == 6  # SYT and the hospital: the retired nurse is not counted
    view = await service.save("SYT", "2026-H2", {"a": "  Đơn vị cập nhật kịp thời.  "})
    assert view.status == "draft" and view.sections == {"a": "Đơn vị cập nhật kịp thời."}
    with pytest.raises(InvalidInput) as early:
        await service.submit("SYT", "2026-H2")
    assert early.value.params == {"parts": "c), d), đ)"}
    await service.save("SYT", "2026-H2", {k: v for k, v in FILLED.items() if k in ("c", "d", "dd")})
    with pytest.raises(InvalidInput) as unsigned:
        await service.submit("SYT", "2026-H2")
    assert "number and signer" in unsigned.value.message
    await service.save("SYT", "2026-H2", {k: FILLED[k] for k in ("doc_number", "signer", "signer_title")})
    submitted = await service.submit("SYT", "2026-H2")
    assert (submitted.status, submitted.late, submitted.submitted_by, submitted.editable) == (
        "submitted", False, "lan.syt", False)
    assert submitted.submitted_at == clock.now()
    with pytest.raises(InvalidInput):
        await service.submit("SYT", "2026-H2")
    with pytest.raises(InvalidInput):
        await service.save("SYT", "2026-H2", {"a": "Sửa lại"})
    async with uow.read() as repos:
        actions = [e.action for e in await repos.audit.search(limit=50) if e.action.startswith("report.")]
    assert actions.count("report.save") == 3 and actions.count("report.submit") == 1


async def test_a_report_submitted_after_the_due_date_is_late(uow: UnitOfWork, people: dict[str, int]) -> None:
    on_the_eve, on_the_day = at(2026, 6, 14, 20), at(2026, 6, 15, 8)
    for clock, unit, telegram_id, late in ((on_the_eve, "SYT", SYT_CLERK, False), (on_the_day, "STC", STC_CLERK, True)):
        service = await as_user(uow, clock, telegram_id)
        await service.save(unit, "2026-H1", FILLED)
        assert (await service.submit(unit, "2026-H1")).late is late
    board = await ReportService(uow, SYSTEM, on_the_day).board("2026-H1")
    assert [(line.unit_code, line.status, line.late) for line in board.lines] == [
        ("SNV", "new", None), ("STC", "submitted", True), ("SYT", "submitted", False)]
    assert board.late == 1 and board.count("submitted") == 2


async def test_the_figures_are_frozen_when_submitted(uow: UnitOfWork, clock: Any, people: dict[str, int]) -> None:
    service = await as_user(uow, clock, SYT_CLERK)
    await service.save("SYT", "2026-H2", FILLED)
    before = await service.submit("SYT", "2026-H2")
    async with uow.write() as repos:  # later, someone joins the hospital
        bv = await repos.units.by_code("BV")
        repos.session.add(Dossier(personal_id="092199000999", full_name="Mới Vào", folded_name="moi vao", sex="M",
                                  birth_date=dt.date(1999, 1, 1), custodian_unit_id=bv.id, working_unit_id=bv.id,
                                  employment_status="active", created_at=clock.now(), updated_at=clock.now()))
    after = await service.open("SYT", "2026-H2")
    assert after.statistics == before.statistics and after.statistics.total.people == 6
    assert (await service.open("SYT", "2026-H1")).statistics.total.people == 7  # a draft counts what is there


async def test_submitting_stops_the_reminders_and_tells_the_office(uow: UnitOfWork, people: dict[str, int]) -> None:
    clock = at(2026, 12, 1)
    reminders = ReminderService(uow, SYSTEM, clock)
    assert await reminders.plan(dt.date(2026, 12, 1)) > 0  # 14 days before: both departments reminded
    syt = await unit_id(uow, "SYT")
    service = await as_user(uow, clock, SYT_CLERK)
    await service.save("SYT", "2026-H2", FILLED)
    await service.submit("SYT", "2026-H2")
    async with uow.read() as repos:
        rows = list((await repos.session.scalars(select(Outbox).order_by(Outbox.id))).all())
    assert [(r.status, r.last_error) for r in rows if r.object_id == f"{syt}:2026-H2" and r.kind == "report_due"] == [
        ("dropped", "the report was submitted")]
    [notice] = [r for r in rows if r.kind == "report_submitted"]
    assert notice.chat_id == ADMIN and notice.payload["unit"] == "Sở Y tế" and notice.payload["late"] is False
    assert notice.status == "pending"
    # From now on SYT is left alone; STC is still reminded.
    assert reports(await reminders.preview(dt.date(2026, 12, 8))) == [
        ("report_due", STC_CLERK, "Sở Tài chính", 7, "2026-H2")]


# -- section (a): the measured compliance --------------------------------------------------------------------
async def add_event(uow: UnitOfWork, dossier_id: int, kind: str, recorded: dt.datetime, **values: Any) -> None:
    async with uow.write() as repos:
        dossier = await repos.dossiers.get(dossier_id)
        await repos.changes.add(ChangeEvent(
            dossier_id=dossier_id, kind=kind, status=values.pop("status", "applied"), payload=values.pop("payload", {}),
            doc_number="1/QĐ-X", doc_date=recorded.date(), doc_issuer="X",
            effective_on=values.pop("effective_on", recorded.date()), unit_id=dossier.custodian_unit_id,
            recorded_by_label="test", recorded_at=recorded, **values))


async def new_dossier(uow: UnitOfWork, clock: Any, personal_id: str, recorded: dt.datetime, deadline: dt.date,
                      complete: bool, completed: dt.datetime | None = None) -> int:
    """A dossier made with /new at `recorded`, complete now or not; `completed` is when a version showed it
    complete."""
    fields = {"birthplace": "Cần Thơ", "home_town": "Cần Thơ", "ethnicity": "Kinh", "permanent_address": "1 A",
              "current_address": "1 A", "recruited_on": dt.date(2026, 6, 1), "post": "Chuyên viên",
              "rank_code": "01.003", "salary_step": 1, "professional_level": "Đại học"}
    if not complete:
        fields["home_town"] = None
    async with uow.write() as repos:
        syt = await repos.units.by_code("SYT")
        dossier = Dossier(personal_id=personal_id, full_name="Người Mới", folded_name="nguoi moi", sex="F",
                          birth_date=dt.date(1998, 1, 1), custodian_unit_id=syt.id, working_unit_id=syt.id,
                          employment_status="probation", created_at=recorded, updated_at=recorded, **fields)
        repos.session.add(dossier)
        await repos.flush()
        snapshot = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in fields.items()}
        if completed is not None:
            repos.session.add(DossierVersion(dossier_id=dossier.id, valid_from=None, recorded_at=recorded,
                                             snapshot={**snapshot, "home_town": None}, changes=None))
            repos.session.add(DossierVersion(dossier_id=dossier.id, valid_from=None, recorded_at=completed,
                                             snapshot=snapshot, changes={"home_town": "Cần Thơ"}))
        else:
            repos.session.add(DossierVersion(dossier_id=dossier.id, valid_from=None, recorded_at=recorded,
                                             snapshot=snapshot, changes=None))
        dossier_id = dossier.id
    await add_event(uow, dossier_id, "new", recorded, deadline=deadline, on_time=True)
    return dossier_id


async def test_section_a_measures_the_units_compliance(any_database: Any, clock: Any) -> None:
    uow = UnitOfWork(any_database)
    people = await province(uow, clock)
    hoa, thuy, anh = people["001188000111"], people["092190000222"], people["092185000444"]
    in_window, last_half = local_instant(2026, 6, 20), local_instant(2026, 5, 20)
    await add_event(uow, hoa, "appointment", in_window, on_time=True, deadline=dt.date(2026, 6, 23))
    await add_event(uow, thuy, "training", in_window, on_time=False, deadline=dt.date(2026, 6, 10))  # at the hospital
    await add_event(uow, anh, "appointment", last_half, on_time=False, deadline=dt.date(2026, 5, 1))  # another period
    await add_event(uow, anh, "custody", in_window, status="pending")  # a custody request: not a declaration
    await add_event(uow, anh, "address", in_window, status="pending", on_time=None)  # a declaration waits
    await add_event(uow, hoa, "registration", in_window, status="registered", deadline=dt.date(2026, 6, 25))
    await new_dossier(uow, clock, "092198000001", local_instant(2026, 6, 29), dt.date(2026, 7, 2), complete=True)
    await new_dossier(uow, clock, "092198000002", local_instant(2026, 6, 16), dt.date(2026, 6, 19), complete=True,
                      completed=local_instant(2026, 6, 25))  # completed after its deadline
    await new_dossier(uow, clock, "092198000003", local_instant(2026, 6, 16), dt.date(2026, 6, 19), complete=False)
    await new_dossier(uow, clock, "092198000004", local_instant(2026, 6, 30), dt.date(2026, 7, 3), complete=False)
    async with uow.write() as repos:
        syt, stc = await repos.units.by_code("SYT"), await repos.units.by_code("STC")
        event = (await repos.session.scalars(select(ChangeEvent).where(ChangeEvent.kind == "custody"))).first()
        repos.session.add(TransferRequest(dossier_id=anh, change_event_id=event.id, requesting_unit_id=stc.id,
                                          holding_unit_id=syt.id, request_number="5/CV-STC", request_date=dt.date(2026, 6, 19),
                                          signer="X", status="pending", requested_at=in_window))
    view = await (await as_user(uow, clock, SYT_CLERK)).open("SYT", "2026-H2")
    assert view.compliance == Compliance(changes_on_time=1, changes_late=1, new_on_time=1, new_late=1, new_open=1,
                                         new_overdue=1, declarations=1, transfers=1, registered=1,
                                         registered_overdue=1)
    assert view.compliance.changes_share == 0.5 and view.compliance.new_share == pytest.approx(1 / 3)
    # The previous half-year had the one late change and nothing else.
    before = await (await as_user(uow, clock, SYT_CLERK)).open("SYT", "2026-H1")
    assert (before.compliance.changes_on_time, before.compliance.changes_late, before.compliance.pending) == (0, 1, 0)


# -- who may ---------------------------------------------------------------------------------------------------
async def test_who_may_open_fill_in_and_review(uow: UnitOfWork, clock: Any, people: dict[str, int]) -> None:
    await sign_in(uow, clock, "nam.bv", "BV", "clerk", 601)
    await sign_in(uow, clock, "gd.syt", "SYT", "manager", 602)
    await sign_in(uow, clock, "hoa", "SYT", "employee", 603, personal_id="001188000111")
    hospital = await as_user(uow, clock, 601)
    assert await hospital.units() == []
    assert (await hospital.reporting_unit_of_actor()).name == "Sở Y tế"
    with pytest.raises(PermissionDenied):
        await hospital.open("SYT")
    manager = await as_user(uow, clock, 602)
    view = await manager.open("SYT")
    assert view.editable is False and view.statistics.total.people == 6
    with pytest.raises(PermissionDenied):
        await manager.save("SYT", "2026-H2", {"a": "x"})
    with pytest.raises(PermissionDenied):
        await (await as_user(uow, clock, 603)).units()
    clerk = await as_user(uow, clock, SYT_CLERK)
    with pytest.raises(PermissionDenied):
        await clerk.open("STC")
    with pytest.raises(InvalidInput) as hospital_report:
        await clerk.open("BV")  # not a unit that reports of its own
    assert hospital_report.value.field == "unit"
    with pytest.raises(PermissionDenied):
        await clerk.board()
    with pytest.raises(InvalidInput) as too_long:
        await clerk.save("SYT", "2026-H2", {"c": "x" * 3001})
    assert too_long.value.field == "c"
    admin = await as_user(uow, clock, ADMIN)
    assert [u.code for u in await admin.units()] == ["SNV", "SYT", "STC"]


# -- the office's side ---------------------------------------------------------------------------------------
async def test_the_board_and_who_was_reminded(any_database: Any) -> None:
    clock, uow = at(2026, 12, 16), UnitOfWork(any_database)
    await province(uow, at(2026, 12, 2))
    syt, stc = await unit_id(uow, "SYT"), await unit_id(uow, "STC")
    async with uow.write() as repos:
        accounts = {a.username: (a, chat) for a, chat in await repos.reminder_sources.bound_accounts()}
        for day, unit, username, status in ((1, syt, "lan.syt", "sent"), (8, syt, "lan.syt", "sent"),
                                            (8, stc, "yen.stc", "sent"), (14, stc, "yen.stc", "failed")):
            account, chat = accounts[username]
            key = f"report_due:unit:{unit}:2026-H2:2026-12-{day:02d}:{chat}"
            repos.session.add(Outbox(key=key, kind="report_due", account_id=account.id,
                                     channel="telegram", address=str(chat), object_type="unit", object_id=f"{unit}:2026-H2",
                                     payload={}, due_at=local_instant(2026, 12, day), status=status, attempts=1,
                                     created_at=local_instant(2026, 12, day), sent_at=local_instant(2026, 12, day, 7)))
    await sign_in(uow, at(2026, 12, 2), "binh.syt", "SYT", "clerk", 611)
    async with uow.write() as repos:  # a second clerk of SYT reminded on the 8th too: still two days
        account = await repos.accounts.by_username("binh.syt")
        repos.session.add(Outbox(key=f"report_due:unit:{syt}:2026-H2:2026-12-08:611", kind="report_due",
                                 account_id=account.id, channel="telegram", address="611",
                                 object_type="unit", object_id=f"{syt}:2026-H2",
                                 payload={}, due_at=local_instant(2026, 12, 8), status="sent", attempts=1,
                                 created_at=local_instant(2026, 12, 8), sent_at=local_instant(2026, 12, 8, 6)))
    await (await as_user(uow, clock, STC_CLERK)).save("STC", "2026-H2", {"a": "Nháp"})
    board = await (await as_user(uow, clock, ADMIN)).board("2026-H2")
    assert [(line.unit_code, line.status, line.reminders, line.reminded) for line in board.lines] == [
        ("SNV", "new", 0, ()), ("SYT", "new", 2, ("lan.syt", "binh.syt")), ("STC", "draft", 1, ("yen.stc",))]
    assert board.lines[1].last_reminded == local_instant(2026, 12, 8, 7)
    assert board.overdue and board.count("draft") == 1


async def test_the_provincial_report_merges_the_sections(any_database: Any, clock: Any) -> None:
    uow = UnitOfWork(any_database)
    await province(uow, clock)
    for unit, telegram_id in (("SYT", SYT_CLERK), ("STC", STC_CLERK)):
        service = await as_user(uow, clock, telegram_id)
        await service.save(unit, "2026-H2", {**FILLED, "a": f"Tự đánh giá của {unit}.", "doc_number": f"3/BC-{unit}"})
        if unit == "SYT":
            await service.submit(unit, "2026-H2")
    made = await (await as_user(uow, clock, ADMIN)).provincial("2026-H2")
    assert (made.province, made.office, made.period.code) == ("UBND thành phố Cần Thơ", "Sở Nội vụ", "2026-H2")
    assert [(u.code, u.status, u.sections.get("a")) for u in made.units] == [
        ("SNV", "new", None), ("SYT", "submitted", "Tự đánh giá của SYT."), ("STC", "draft", None)]
    assert made.statistics.total.people == 7 and [r.unit_code for r in made.statistics.rows][:2] == ["CT", "SNV"]

    document = Document(io.BytesIO(render_provincial_report(made, VI, clock.now(), TZ)))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Đã gửi: 1/3 cơ quan, đơn vị; gửi muộn: 0." in text
    assert "Chưa gửi: Sở Nội vụ; Sở Tài chính." in text
    assert "Sở Y tế:\nTự đánh giá của SYT." in text and "Tự đánh giá của STC." not in text  # a draft is not merged
    header = [c.text for c in document.tables[0].rows[0].cells]
    assert "SỞ NỘI VỤ" in header[0] and "Độc lập - Tự do - Hạnh phúc" in header[1]
    units_table = document.tables[1]
    assert [c.text for c in units_table.rows[2].cells] == ["Sở Y tế", "0/0", "0/0", "0", "Đã gửi"]

    sheets = load_workbook(io.BytesIO(provincial_workbook(made, VI, "Thống kê", TZ))).worksheets
    assert [s.title for s in sheets] == [VI("Statistics"), VI("Compliance"), VI("Submissions")]
    submissions = [[c.value for c in row] for row in sheets[2].iter_rows(min_row=2)]
    assert [row[:2] for row in submissions] == [["Sở Nội vụ", VI("not begun")], ["Sở Tài chính", VI("draft")],
                                                ["Sở Y tế", VI("submitted")]]


# -- the documents -----------------------------------------------------------------------------------------
async def test_the_unit_report_as_a_word_document(uow: UnitOfWork, clock: Any, people: dict[str, int]) -> None:
    service = await as_user(uow, clock, SYT_CLERK)
    await service.save("SYT", "2026-H2", FILLED)
    draft = Document(io.BytesIO(render_unit_report(await service.open("SYT", "2026-H2"), VI, clock.now(), TZ)))
    assert draft.paragraphs[0].text == "DỰ THẢO"
    view = await service.submit("SYT", "2026-H2")
    document = Document(io.BytesIO(render_unit_report(view, VI, clock.now(), TZ)))
    left, right = (cell.text.split("\n") for cell in document.tables[0].rows[0].cells)
    assert left == ["UBND THÀNH PHỐ CẦN THƠ", "SỞ Y TẾ", "———", "Số: 12/BC-SYT"]
    assert right == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "",
                     "Cần Thơ, ngày 01 tháng 07 năm 2026"]
    text = [p.text for p in document.paragraphs]
    assert "DỰ THẢO" not in text
    assert text[:4] == ["BÁO CÁO", "Tình hình quản lý hồ sơ điện tử cán bộ, công chức, viên chức",
                        "6 tháng cuối năm 2026", ""]
    assert "(Số liệu từ ngày 15/06/2026 đến ngày 01/07/2026)" in text
    for title, content in (("a) Đánh giá việc thực hiện quy chế", FILLED["a"]),
                           ("c) Tình trạng trang thiết bị", FILLED["c"]),
                           ("d) Đào tạo, bồi dưỡng người vận hành hệ thống", FILLED["d"]),
                           ("đ) Kiến nghị, đề xuất", FILLED["dd"])):
        assert text.index(title) < text.index(content)
    assert "- Thay đổi được cập nhật trong thời hạn: 0/0 (—); quá hạn: 0." not in text
    assert "- Trong kỳ không có thay đổi nào phải cập nhật theo thời hạn." in text
    figures = [[c.text for c in row.cells] for row in document.tables[1].rows]
    assert figures[0] == ["Chỉ tiêu", "Số người", "Tỷ lệ"]
    assert figures[1] == ["Tổng số người đang công tác", "6", ""]
    assert ["Trong đó: nữ", "6", "100,0%"] in figures
    signature = [c.text.split("\n") for c in document.tables[2].rows[0].cells]
    assert signature[0] == ["Nơi nhận:", "- Sở Nội vụ;", "- Lưu: VT."]
    assert signature[1][0] == "GIÁM ĐỐC" and signature[1][-1] == "Nguyễn Văn Bình"
    assert document.core_properties.title == "Báo cáo 2026-H2 - Sở Y tế"

    sheet = load_workbook(io.BytesIO(statistics_workbook(view.statistics, VI, "Thống kê SYT"))).worksheets[0]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "Thống kê SYT"
    assert values[2][:4] == [VI("No."), VI("Unit"), VI("Total"), VI("Of which")]
    assert values[3][3:7] == [VI("Party members"), VI("Women"), VI("Ethnic minorities"), VI("Religious")]
    assert values[4][1:4] == ["Sở Y tế", 6, 0] and values[5][1] == VI("{unit} (its own staff)").format(unit="Sở Y tế")
    assert values[5][2] == 3 and values[6][1:3] == ["Bệnh viện Đa khoa", 3]
    assert sheet["B5"].font.bold and not sheet["B6"].font.bold
    assert any(str(r) == "D3:G3" for r in sheet.merged_cells.ranges)  # "Of which" over its four columns


async def test_two_clerks_racing_begin_one_draft_and_submit_it_once(any_database: Any, clock: Any) -> None:
    uow = UnitOfWork(any_database)
    await province(uow, clock)
    await sign_in(uow, clock, "binh.syt", "SYT", "clerk", 601)
    first, second = await as_user(uow, clock, SYT_CLERK), await as_user(uow, clock, 601)
    await asyncio.gather(first.save("SYT", PERIOD, {"a": "Một", "c": "c", "d": "d", "dd": "đ"}),
                         second.save("SYT", PERIOD, {"doc_number": "1/BC", "signer": "B", "signer_title": "GĐ"}))
    async with uow.read() as repos:
        [report] = (await repos.session.scalars(select(UnitReport))).all()
    assert report.sections == {"a": "Một", "c": "c", "d": "d", "dd": "đ"} and report.doc_number == "1/BC"
    outcomes = await asyncio.gather(first.submit("SYT", PERIOD), second.submit("SYT", PERIOD), return_exceptions=True)
    assert sorted(type(o).__name__ for o in outcomes) == ["InvalidInput", "ReportView"]
    async with uow.read() as repos:
        notices = (await repos.session.scalars(select(Outbox).where(Outbox.kind == "report_submitted"))).all()
        submits = [e for e in await repos.audit.search(limit=100) if e.action == "report.submit"]
    assert len(notices) == 1 and len(submits) == 1


# -- the period a report is for, and what may not be written ---------------------------------------------------
async def test_the_period_opened_by_default(uow: UnitOfWork, people: dict[str, int]) -> None:
    # From the due date on, the overdue half-year is what /report opens, until it is submitted…
    on_the_day = await as_user(uow, at(2026, 6, 15), SYT_CLERK)
    assert (await on_the_day.open("SYT")).period.code == "2026-H1"
    await on_the_day.save("SYT", None, FILLED)
    assert (await on_the_day.submit("SYT", None)).period.code == "2026-H1"
    assert (await on_the_day.open("SYT")).period.code == "2026-H2"
    # … or until it is no longer chased, 62 days after; the office's board follows the same rule.
    assert (await (await as_user(uow, at(2026, 8, 16), STC_CLERK)).open("STC")).period.code == "2026-H1"
    assert (await (await as_user(uow, at(2026, 8, 17), STC_CLERK)).open("STC")).period.code == "2026-H2"
    assert (await ReportService(uow, SYSTEM, at(2026, 8, 16)).board()).period.code == "2026-H1"
    assert (await ReportService(uow, SYSTEM, at(2026, 8, 17)).board()).period.code == "2026-H2"


async def test_a_period_that_has_not_begun_is_not_written(uow: UnitOfWork, clock: Any, people: dict[str, int]) -> None:
    service = await as_user(uow, clock, SYT_CLERK)
    for method, args in ((service.save, ({"a": "Sớm"},)), (service.submit, ())):
        with pytest.raises(InvalidInput) as early:
            await method("SYT", "2027-H1", *args)
        assert early.value.field == "period" and early.value.params == {"period": "2027-H1", "date": "15/12/2026"}
    for code in ("0001-H1", "2101-H2"):
        with pytest.raises(InvalidInput):
            await service.open("SYT", code)
    async with uow.read() as repos:
        assert (await repos.session.scalars(select(UnitReport))).all() == []


async def test_opening_a_report_after_idling_asks_for_the_password(uow: UnitOfWork, clock: Any,
                                                                   people: dict[str, int]) -> None:
    service = await as_user(uow, clock, SYT_CLERK)
    clock.advance(dt.timedelta(hours=5))
    with pytest.raises(SessionExpired):
        await service.open("SYT")


async def test_a_submitted_report_never_changes_even_in_the_database(any_database: Any, clock: Any) -> None:
    uow = UnitOfWork(any_database)
    await province(uow, clock)
    service = await as_user(uow, clock, SYT_CLERK)
    await service.save("SYT", PERIOD, FILLED)
    await service.submit("SYT", PERIOD)
    for statement in ("UPDATE unit_report SET sections = '{}'", "DELETE FROM unit_report"):
        with pytest.raises(DBAPIError):
            async with uow.write() as repos:
                await repos.session.execute(text(statement))
    assert (await service.open("SYT", PERIOD)).sections["a"] == FILLED["a"]


async def test_dates_are_shown_in_local_time(uow: UnitOfWork, people: dict[str, int]) -> None:
    early = at(2026, 6, 15, 6, 30)  # 23:30 on the 14th in UTC
    service = await as_user(uow, early, SYT_CLERK)
    await service.save("SYT", "2026-H1", FILLED)
    view = await service.submit("SYT", "2026-H1")
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("vi"):
        board = board_text(await ReportService(uow, SYSTEM, early).board("2026-H1"), TZ)[0]
    assert "15/06/2026" in board and "14/06/2026" not in board
    assert view.late is True  # on the due date itself


async def test_a_claimed_reminder_is_dropped_when_the_report_is_in(uow: UnitOfWork, people: dict[str, int]) -> None:
    clock = at(2026, 12, 1)
    await ReminderService(uow, SYSTEM, clock).plan(dt.date(2026, 12, 1))
    syt = await unit_id(uow, "SYT")
    async with uow.write() as repos:
        row = await repos.session.scalar(select(Outbox).where(Outbox.object_id == f"{syt}:2026-H2"))
        row.status, row.claimed_by, row.claimed_at = "claimed", "sender-1", clock.now()
    service = await as_user(uow, clock, SYT_CLERK)
    await service.save("SYT", "2026-H2", FILLED)
    await service.submit("SYT", "2026-H2")
    async with uow.write() as repos:
        assert not await repos.outbox.start_sending(row.id, "sender-1", 1)  # its sender finds nothing to send
        assert (await repos.session.get(Outbox, row.id)).status == "dropped"



@pytest.mark.parametrize(("capacity", "head", "lines"), [
    ("own", "", ["GIÁM ĐỐC"]),
    ("KT", "Giám đốc", ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"]),
    ("TL", "Giám đốc", ["TL. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"]),
    ("TUQ", "Chủ tịch", ["TUQ. CHỦ TỊCH", "PHÓ GIÁM ĐỐC"]),
    ("Q", "", ["Q. PHÓ GIÁM ĐỐC"]),
])
def test_the_signers_capacity_is_printed_as_appendix_i_shows(capacity: str, head: str, lines: list[str]) -> None:
    """Nghị định 30/2020/NĐ-CP, Appendix I: "KT. GIÁM ĐỐC" above "PHÓ GIÁM ĐỐC"; "Q. GIÁM ĐỐC" alone."""
    from services.oversight.reports import missing_parts, signature_title

    title = "Giám đốc" if capacity == "own" else "Phó Giám đốc"
    sections = {"sign_capacity": capacity, "sign_for": head}
    assert signature_title(sections, title) == lines
    # Signing for the head without naming the head's title is not ready to submit.
    if capacity in ("KT", "TL", "TUQ"):
        assert missing_parts({**sections, "sign_for": ""}, "1/BC", "A", title) == ["a", "c", "d", "dd", "sign"]
