"""/inspect and /feedback through the real Dispatcher: the office's inspection worst first, a unit's
findings with a button per dossier, the list sent to the unit's clerks, the .xlsx; the auditor's read-only
view; a clerk refused. Feedback: sent with a screenshot, listed, answered, the answer on its way back. The
findings in section (a) of the unit's report. `hoso feedback list` and `hoso inspect` as a subprocess."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select, text, update

from handlers.dossiers import OpenDossier
from handlers.feedback import FeedbackAnswer, FeedbackShot
from handlers.forms import FormChoice, FormConfirm
from handlers.inspect import InspectFile, InspectSend, InspectUnit
from handlers.reminders import render
from services.core.clock import FrozenClock
from services.core.errors import InvalidInput, PermissionDenied
from services.core.identity import load_actor
from services.documents.report_docx import render_unit_report
from services.oversight.feedback import FeedbackService
from services.oversight.reports import ReportService
from services.platform.attachments import FileStore, Upload
from storage import Database, UnitOfWork
from storage.models import Account, Feedback, Outbox
from tests.conftest import BINDING, FROZEN_AT, BotHarness, migrated, sqlite_url
from tests.talk import Talk, tr
from tests.test_accounts import sign_in
from tests.test_change_flows import JPEG, photo_update, serve_files
from tests.test_cli import hoso
from tests.test_inspection import EXPECTED, seed
from tests.test_reports import FILLED

pytestmark = pytest.mark.both_transports  # the same flows over the web chat's transport (tests/conftest.py)

ADMIN, CLERK, AUDITOR = 500, 501, 502
DAY = "20260701"


def documents(talk: Talk) -> list[Any]:
    return [c for c in talk.calls if c.__api_method__ == "sendDocument"]


async def test_the_office_inspects_the_units_and_tells_one(harness: BotHarness) -> None:
    ids = await seed(harness.runtime.uow, harness.runtime.clock)
    admin = Talk(harness, ADMIN)
    overview = await admin.say("/inspect")
    lines = overview.split("\n")
    assert "01/07/2026" in lines[0]
    assert [line.split("</b>")[0].split("<b>")[1] for line in lines[3:7]] == [
        "Chi cục cũ", "Sở Y tế", "Sở Nội vụ", "Sở Tài chính"]  # the worst first
    assert admin.buttons()[:2] == [InspectUnit(unit="OLD", day=DAY).pack(), InspectUnit(unit="SYT", day=DAY).pack()]
    province = admin.keyboard()

    detail = await admin.tap(InspectUnit(unit="SYT", day=DAY))
    assert tr(harness, "<b>Findings</b>: {count}", count=4).replace("&lt;", "<").replace("&gt;", ">") in detail
    for pid in ("100000000002", "100000000011", "100000000015", "100000000007"):
        assert pid in detail
    buttons = admin.buttons()
    assert {OpenDossier(id=ids[pid]).pack() for pid in ("100000000002", "100000000007")} <= set(buttons)
    assert InspectSend(unit="SYT", day=DAY).pack() in buttons and InspectUnit(unit="BV", day=DAY).pack() in buttons

    await admin.tap(InspectSend(unit="SYT", day=DAY))
    assert admin.alerts() == [tr(harness, "The list goes to {count} clerks of the unit.", count=2)]
    async with harness.runtime.uow.read() as repos:
        [told, *_] = (await repos.session.scalars(select(Outbox).where(Outbox.kind == "inspection_findings"))).all()
    with harness.runtime.i18n.context(), harness.runtime.i18n.use_locale("vi"):
        text, _markup = render(told.kind, dict(told.payload))
    assert "Sở Y tế" in text and "100000000015" in text and "01/07/2026" in text

    await admin.tap(InspectFile(unit="CT", day=DAY), message=province)
    [sheet_call] = documents(admin)
    workbook = load_workbook(io.BytesIO(sheet_call.document.data))
    findings = [[c.value for c in row] for row in workbook.worksheets[1].iter_rows(min_row=2)]
    assert sorted((row[3]) for row in findings) == sorted(pid for _kind, pid in EXPECTED)
    assert workbook.worksheets[0]["B5"].value == "UBND thành phố Cần Thơ" and workbook.worksheets[0]["C5"].value == 16


async def test_the_auditor_reads_and_a_clerk_is_refused(harness: BotHarness) -> None:
    await seed(harness.runtime.uow, harness.runtime.clock)
    auditor = Talk(harness, AUDITOR)
    await auditor.say("/inspect SYT")
    assert not any(b.startswith("dos:") or b.startswith("iss:") for b in auditor.buttons())  # no dossier, no sending
    assert "100000000002" in auditor.text
    assert await Talk(harness, CLERK).say("/inspect") == tr(harness, "You are not allowed to do that.")
    bad = await auditor.say("/inspect SYT 31/02/2026")
    assert bad.startswith(tr(harness, "Not a valid date: {value} (use dd/mm/yyyy)", value="31/02/2026"))


async def test_feedback_round_trip(harness: BotHarness) -> None:
    serve_files(harness, {"shot": JPEG})
    await seed(harness.runtime.uow, harness.runtime.clock)
    clerk = Talk(harness, CLERK)
    intro = await clerk.say("/feedback")
    assert tr(harness, "You may add a screenshot (JPG or PNG) as a photo or a document.") in intro
    await clerk.tap(FormChoice(value="problem"))
    summary = await clerk.say("Nút In mẫu 2C không gửi tệp khi hồ sơ có nhiều quá trình công tác.")
    assert "2C" in summary
    assert "photo-u-shot.jpg" in await clerk.feed(photo_update(CLERK, ("shot", 1280)))  # a screenshot
    await clerk.tap(FormConfirm(action="confirm"))
    assert clerk.text == tr(harness, "Thank you. Your feedback #{number} is with the personnel office; its answer "
                                     "will come here.", number=1)
    async with harness.runtime.uow.read() as repos:
        [item] = (await repos.session.scalars(select(Feedback))).all()
    assert (item.kind, item.status, item.screenshot_type) == ("problem", "new", "image/jpeg")

    admin = Talk(harness, ADMIN)
    await admin.say("/feedback")
    assert "Nút In mẫu 2C" in admin.text and "lan.syt" in admin.text
    assert admin.buttons() == [FeedbackAnswer(id=item.id).pack(), FeedbackShot(id=item.id).pack()]
    await admin.tap(FeedbackShot(id=item.id))
    [shot] = documents(admin)
    assert shot.document.data == JPEG
    await admin.tap(FeedbackAnswer(id=item.id))
    await admin.tap(FormChoice(value="done"))
    done = await admin.say("Đã sửa trong bản cập nhật ngày 02/07.")
    assert done == tr(harness, "Answered #{number} ({status}); the sender is told.", number=1,
                      status=tr(harness, "done"))
    async with harness.runtime.uow.read() as repos:
        [answer] = (await repos.session.scalars(select(Outbox).where(Outbox.kind == "feedback_answer"))).all()
        item = await repos.session.get(Feedback, item.id)
    assert (item.status, item.answer) == ("done", "Đã sửa trong bản cập nhật ngày 02/07.")
    assert answer.chat_id == CLERK
    with harness.runtime.i18n.context(), harness.runtime.i18n.use_locale("vi"):
        text, _markup = render(answer.kind, dict(answer.payload))
    assert "Đã sửa trong bản cập nhật" in text and "Nút In mẫu 2C" in text
    # The sender sees it among their own, answer and all; the office's list, with nothing open, says so.
    mine = await clerk.say("/feedback")
    assert tr(harness, "done") in mine and "Đã sửa trong bản cập nhật ngày 02/07." in mine
    await clerk.say("/cancel")
    assert await admin.say("/feedback") == tr(harness, "No feedback waits for an answer. /feedback all lists every one.")


async def test_the_findings_go_into_section_a(harness: BotHarness) -> None:
    await seed(harness.runtime.uow, harness.runtime.clock)
    uow, clock = harness.runtime.uow, harness.runtime.clock
    reports = ReportService(uow, await load_actor(uow, BINDING["channel"], CLERK), clock)
    await reports.save("SYT", "2026-H1", FILLED)
    view = await reports.submit("SYT", "2026-H1")
    assert view.quality is not None and (view.quality.people, view.quality.complete, view.quality.found) == (10, 9, 4)
    assert view.quality.findings["past_retirement"] == 1
    document = Document(io.BytesIO(render_unit_report(view, harness.runtime.i18n.translator("vi"), clock.now(),
                                                      clock.tz)))
    text = [p.text for p in document.paragraphs]
    assert "- Hồ sơ có đủ các thông tin bắt buộc (Mẫu 2C-BNV/2008, HS02-VC/BNV): 9/10 (90,0%)." in text
    assert any(line.startswith("- Qua kiểm tra dữ liệu, phát hiện 4 trường hợp cần rà soát") for line in text)


async def test_the_cli_lists_feedback_and_inspects(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    clock = FrozenClock(FROZEN_AT)
    async with migrated(url) as database:
        uow = UnitOfWork(database)
        await seed(uow, clock)
        await FeedbackService(uow, await load_actor(uow, BINDING["channel"], CLERK), clock).send("suggestion", "Thêm lọc theo ngạch")
    env = {"HOSO_DATABASE_URL": url}
    listed = hoso("feedback", "list", "--json", cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert (row["kind"], row["status"], row["from"], row["text"]) == ("suggestion", "new", "lan.syt",
                                                                      "Thêm lọc theo ngạch")
    wrong = hoso("feedback", "list", "--status", "lost", cwd=tmp_path, env=env)
    assert wrong.returncode == 2 and wrong.stderr.startswith("hoso: status: ")
    inspected = hoso("inspect", "--as-of", "01/07/2026", "kiem-tra.xlsx", "--json", cwd=tmp_path, env=env)
    assert inspected.returncode == 0, inspected.stderr
    result = json.loads(inspected.stdout)
    assert result["count"] == len(EXPECTED) and result["units"][1]["unit"] == "OLD"
    # Each finding with its dossier, as the workbook's sheet has them (issue 18, point 10).
    assert len(result["findings"]) == len(EXPECTED)
    sheet = load_workbook(tmp_path / "kiem-tra.xlsx").worksheets[1]
    assert [(f["unit_name"], f["finding"], f["full_name"], f["personal_id"], f["details"]) for f in result["findings"]] \
        == [tuple(cell.value for cell in row) for row in sheet.iter_rows(min_row=2)]
    assert all(isinstance(f["dossier"], int) and f["kind"] and f["unit"] for f in result["findings"])
    assert load_workbook(tmp_path / "kiem-tra.xlsx").worksheets[1].max_row == len(EXPECTED) + 1


async def test_who_may_answer_feedback_and_see_its_screenshot(uow: UnitOfWork, clock: Any, tmp_path: Path) -> None:
    await seed(uow, clock)
    files = FileStore(tmp_path / "files")
    sender = FeedbackService(uow, await load_actor(uow, BINDING["channel"], CLERK), clock, files)
    sent = await sender.send("problem", "Lỗi hiển thị", Upload("man-hinh.jpg", JPEG))
    assert await sender.screenshot(sent.id) == ("man-hinh.jpg", JPEG)
    assert (await FeedbackService(uow, await load_actor(uow, BINDING["channel"], ADMIN), clock, files).screenshot(sent.id))[1] == JPEG
    await sign_in(uow, clock, "nam.stc", "STC", "clerk", 505)
    for other in (505, AUDITOR):  # another clerk, the auditor
        with pytest.raises(PermissionDenied):
            await FeedbackService(uow, await load_actor(uow, BINDING["channel"], other), clock, files).screenshot(sent.id)
    async with uow.write() as repos:
        await repos.session.execute(update(Account).where(Account.username == "ha.snv").values(status="restricted"))
    with pytest.raises(PermissionDenied):
        await FeedbackService(uow, await load_actor(uow, BINDING["channel"], ADMIN), clock, files).answer(sent.id, "done", "Xong")
    with pytest.raises(InvalidInput) as not_a_picture:
        await sender.send("problem", "Kèm PDF", Upload("qd.pdf", b"%PDF-1.4 x"))
    assert not_a_picture.value.field == "attachment"


async def test_the_last_use_of_accounts_is_filled_in_on_upgrade(tmp_path: Path) -> None:
    database = Database(sqlite_url(tmp_path))
    await database.upgrade("0008")
    async with database.engine.begin() as connection:
        await connection.execute(text("INSERT INTO org_unit (id, code, name, path, status, created_at) "
                                      "VALUES (1, 'CT', 'CT', '/1/', 'active', '2025-01-01 00:00:00')"))
        for number, last_active in ((1, "'2026-06-30 02:00:00'"), (2, "NULL"), (3, "NULL")):
            await connection.execute(text(
                "INSERT INTO account (id, username, full_name, unit_id, role, status, failed_attempts, created_at, "
                f"activated_at, last_active_at) VALUES ({number}, 'a{number}', 'A', 1, 'clerk', 'active', 0, "
                f"'2025-01-01 00:00:00', '2025-01-02 00:00:00', {last_active})"))
        await connection.execute(text(
            "INSERT INTO audit_event (seq, occurred_at, actor_account_id, actor_label, action, details, prev_hash, "
            "hash) VALUES (1, '2026-05-01 03:00:00', 2, 'a2', 'dossier.view', '{}', 'x', 'y')"))
    await database.upgrade()
    async with database.engine.connect() as connection:
        seen = dict((await connection.execute(text("SELECT username, last_seen_at FROM account"))).all())
    await database.dispose()
    # The last sensitive action, else the last act in the audit trail; else nothing (activation is the fallback).
    assert {name: str(value)[:19] if value else None for name, value in seen.items()} == {
        "a1": "2026-06-30 02:00:00", "a2": "2026-05-01 03:00:00", "a3": None}

