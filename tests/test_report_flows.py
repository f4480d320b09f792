"""/report and /stats through the real Dispatcher: a clerk writes the half-yearly report section by
section (a wrong answer asked again with its reason, a restart in the middle), previews it, submits it
and receives the .docx and the .xlsx; a manager reads it; the personnel office's board and the province's
report; /stats for a clerk and a manager, refused to an employee, with bad arguments answered.

The documents are read back with python-docx and openpyxl; texts are compared through the bot's own
Vietnamese translator (`tr`)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select

from bot.runtime import open_runtime
from handlers.forms import FormChoice
from handlers.reports import ProvinceReport, ReportEdit, ReportFiles, ReportPreview, ReportSubmit
from storage.models import Outbox, UnitReport
from tests.conftest import BotHarness
from tests.talk import Talk, tr
from tests.test_accounts import sign_in
from tests.test_reminders import ADMIN, SYT_CLERK, province

pytestmark = pytest.mark.both_transports  # the same flows over the web chat's transport (tests/conftest.py)

MANAGER, HOSPITAL_CLERK, EMPLOYEE = 504, 505, 506
PERIOD = "2026-H1"  # on 01/07/2026 it is overdue: what /report opens
TITLE = "6 tháng đầu năm 2026"  # how a title names it; the code is what a command is typed with
TEXTS = {"a": "Đơn vị cập nhật đầy đủ, kịp thời.", "c": "Đủ máy tính và máy quét.",
         "d": "Tập huấn cho 3 cán bộ.", "dd": "Đề nghị nâng cấp đường truyền."}


async def prepare(harness: BotHarness) -> None:
    uow, clock = harness.runtime.uow, harness.runtime.clock
    await province(uow, clock)  # admin 500 at SNV, clerks 501 at SYT and 502 at STC
    await sign_in(uow, clock, "gd.syt", "SYT", "manager", MANAGER)
    await sign_in(uow, clock, "nam.bv", "BV", "clerk", HOSPITAL_CLERK)
    await sign_in(uow, clock, "hoa", "SYT", "employee", EMPLOYEE, personal_id="001188000111")


def edit(part: str) -> ReportEdit:
    return ReportEdit(unit="SYT", period=PERIOD, part=part)


async def stored_report(harness: BotHarness) -> UnitReport | None:
    async with harness.runtime.uow.read() as repos:
        return await repos.session.scalar(select(UnitReport))


def documents(talk: Talk) -> list[Any]:
    return [c for c in talk.calls if c.__api_method__ == "sendDocument"]


async def test_a_clerk_writes_the_report_across_a_restart_and_submits_it(harness: BotHarness) -> None:
    await prepare(harness)
    talk = Talk(harness, SYT_CLERK)
    card = await talk.say("/report")
    assert "2026-H" not in card.split("\n")[0]
    assert tr(harness, "<b>Half-yearly report {period}</b> — {unit}", period=TITLE, unit="Sở Y tế").replace(
        "&lt;b&gt;", "<b>").replace("&lt;/b&gt;", "</b>") in card
    assert tr(harness, "Not begun") in card and "15/06/2026" in card
    # The draft screen carries the inspection's figures of section (a), not only the preview.
    assert tr(harness, "Findings of the inspection: {count}", count="").rstrip() in card
    assert talk.buttons() == [edit(p).pack() for p in ("a", "c", "d", "dd", "sign")] + [
        ReportPreview(unit="SYT", period=PERIOD).pack(), ReportSubmit(unit="SYT", period=PERIOD, sure=False).pack()]

    # a) shows the measured figures above its question, the inspection's too (issue 18, point 6); the answer
    # goes to the draft at once, and the prompt says so.
    question = await talk.tap(edit("a"))
    assert "0/0" in question and "(1/1)" in question
    assert tr(harness, "Dossiers with every mandatory field: {complete}/{total} ({share})", complete=0, total=6,
              share="0%").split(" (")[0] in question
    assert tr(harness, "Findings of the inspection: {count}", count="").rstrip() in question
    assert tr(harness, "Send /cancel at any time to stop; each answer is kept in the draft as soon as you send it.") \
        in question and tr(harness, "Send /cancel at any time to stop; nothing is saved until the last answer.") \
        not in question
    saved = await talk.say(TEXTS["a"])
    assert tr(harness, "Saved in the draft.") in saved and TEXTS["a"] in saved
    report = await stored_report(harness)
    assert (report.status, report.sections) == ("draft", {"a": TEXTS["a"]})

    # c): an answer too long is asked again with the reason; then the process restarts mid-prompt.
    await talk.tap(edit("c"))
    again = await talk.say("x" * 3001)
    assert tr(harness, "Too long: at most {limit} characters.", limit=3000) in again and "(1/1)" in again
    async with open_runtime(harness.runtime.settings, harness.runtime.clock) as restarted:
        # The old process is gone: the conversation goes on with the new one.
        talk = second = Talk(BotHarness(restarted, harness.channel), SYT_CLERK)
        assert TEXTS["c"] in await second.say(TEXTS["c"])
        for part in ("d", "dd"):
            await second.tap(edit(part))
            await second.say(TEXTS[part])
        # Submitting before the number and signer are given: told what is missing.
        await second.tap(ReportSubmit(unit="SYT", period=PERIOD, sure=False))
        assert second.alerts() == [tr(harness, "Still to fill in before submitting: {parts}",
                                      parts=tr(harness, "number and signer"))]
        await second.tap(edit("sign"))
        assert "(2/5)" in await second.say("12/BC-SYT")
        # Each answer is kept as it comes: the number is in the draft before the signer is named.
        assert (await stored_report(harness)).doc_number == "12/BC-SYT"
        how = await second.say("Nguyễn Văn Bình")
        assert "(3/5)" in how and second.buttons()[:2] == [FormChoice(value="own").pack(), FormChoice(value="KT").pack()]
        await second.tap(FormChoice(value="KT"))  # a deputy signs for the director
        await second.say("Phó Giám đốc")
        signed = await second.say("Giám đốc")
        assert "12/BC-SYT" in signed and "Nguyễn Văn Bình" in signed and "KT. GIÁM ĐỐC / PHÓ GIÁM ĐỐC" in signed
        report = await stored_report(harness)
        assert {k: report.sections[k] for k in TEXTS} == TEXTS and (
            report.doc_number, report.signer, report.signer_title) == ("12/BC-SYT", "Nguyễn Văn Bình", "Phó Giám đốc")

        # Preview: the text, and the draft as .docx with its table.
        preview = await talk.tap(ReportPreview(unit="SYT", period=PERIOD))
        assert all(text in preview for text in TEXTS.values())
        draft, table = documents(talk)
        assert draft.document.filename == "bao-cao-syt-2026-h1-du-thao.docx"
        assert Document(io.BytesIO(draft.document.data)).paragraphs[0].text == "DỰ THẢO"
        assert table.document.filename == "thong-ke-syt-2026-h1.xlsx"

        # Submit: a confirmation first, then the report as submitted.
        confirm = await talk.tap(ReportSubmit(unit="SYT", period=PERIOD, sure=False))
        assert TITLE in confirm and (await stored_report(harness)).status == "draft"
        done = await talk.tap(ReportSubmit(unit="SYT", period=PERIOD, sure=True))
        assert tr(harness, "The personnel office is told; its reminders stop.") in done
        assert tr(harness, "It was due before {due}, so it is marked late.", due="15/06/2026") in done
        final, sheet_call = documents(talk)
        assert final.document.filename == "bao-cao-syt-2026-h1.docx"
        document = Document(io.BytesIO(final.document.data))
        paragraphs = [p.text for p in document.paragraphs]
        assert "DỰ THẢO" not in paragraphs and all(text in paragraphs for text in TEXTS.values())
        assert "Số: 12/BC-SYT" in document.tables[0].rows[0].cells[0].text
        # The signature as Nghị định 30/2020/NĐ-CP, Appendix I prints it: KT. GIÁM ĐỐC over PHÓ GIÁM ĐỐC.
        signature = document.tables[-1].rows[0].cells[1].text
        assert "KT. GIÁM ĐỐC\nPHÓ GIÁM ĐỐC" in signature and "Nguyễn Văn Bình" in signature
        sheet = load_workbook(io.BytesIO(sheet_call.document.data)).worksheets[0]
        assert [sheet.cell(row=5, column=c).value for c in (2, 3)] == ["Sở Y tế", 6]
        report = await stored_report(harness)
        assert report.status == "submitted" and report.late is True and report.figures["statistics"]["rows"]
        async with harness.runtime.uow.read() as repos:
            notices = (await repos.session.scalars(select(Outbox).where(Outbox.kind == "report_submitted"))).all()
        assert [(n.channel, n.address) for n in notices] == [(harness.channel, str(ADMIN))]

        # Afterwards /report opens the next half-year; the submitted one offers its files only, and an old
        # Edit button is refused.
        assert "6 tháng cuối năm 2026" in await talk.say("/report")
        card = await talk.say(f"/report {PERIOD}")
        assert talk.buttons() == [ReportFiles(unit="SYT", period=PERIOD).pack()]
        assert "Nguyễn Văn Bình" in card
        await talk.tap(edit("c"), check=False)
        assert talk.alerts() == [tr(harness, "The report {period} of {unit} was already submitted; it can no longer "
                                             "change.", period=TITLE, unit="Sở Y tế")]
        assert (await stored_report(harness)).sections == {**TEXTS, "sign_capacity": "KT", "sign_for": "Giám đốc"}


async def test_a_manager_reads_the_report_but_cannot_write_it(harness: BotHarness) -> None:
    await prepare(harness)
    talk = Talk(harness, MANAGER)
    await talk.say("/report")
    assert talk.buttons() == [ReportPreview(unit="SYT", period=PERIOD).pack()]
    await talk.tap(ReportPreview(unit="SYT", period=PERIOD))
    assert len(documents(talk)) == 2
    await talk.tap(edit("a"), check=False)
    assert talk.alerts() == [tr(harness, "You are not allowed to do that.")]
    assert await talk.state() is None and await stored_report(harness) is None


async def test_a_clerk_of_a_subunit_is_told_who_reports(harness: BotHarness) -> None:
    await prepare(harness)
    answer = await Talk(harness, HOSPITAL_CLERK).say("/report")
    assert answer == tr(harness, "Your unit reports through {unit}, whose clerks file the half-yearly report.",
                        unit="Sở Y tế")
    refused = await Talk(harness, EMPLOYEE).say("/report")
    assert refused == tr(harness, "You are not allowed to do that.")


async def test_the_office_follows_the_submissions_and_gets_the_provinces_report(harness: BotHarness) -> None:
    await prepare(harness)
    clerk = Talk(harness, SYT_CLERK)
    await clerk.say("/report")
    await clerk.tap(edit("a"))
    await clerk.say(TEXTS["a"])
    admin = Talk(harness, ADMIN)
    board = await admin.say("/report")
    lines = board.split("\n")
    assert "Sở Nội vụ" in lines[3] and "Sở Tài chính" in lines[4] and "Sở Y tế" in lines[5]  # to chase first
    assert tr(harness, "draft") in lines[5] and tr(harness, "not begun") in lines[3]
    assert admin.buttons()[0] == ProvinceReport(period=PERIOD).pack()
    await admin.tap(ProvinceReport(period=PERIOD))
    docx_call, xlsx_call = documents(admin)
    assert docx_call.document.filename == "bao-cao-tong-hop-2026-h1.docx"
    text = "\n".join(p.text for p in Document(io.BytesIO(docx_call.document.data)).paragraphs)
    assert "Đã gửi: 0/3 cơ quan, đơn vị; gửi muộn: 0." in text
    workbook = load_workbook(io.BytesIO(xlsx_call.document.data))
    assert len(workbook.worksheets) == 3 and workbook.worksheets[0]["C5"].value == 7  # the province's total
    # One unit's report, opened by the office: read and writable (it files on a unit's behalf if need be).
    await admin.say("/report syt")
    assert edit("a").pack() in admin.buttons()
    wrong = await admin.say("/report NOPE")
    assert wrong == tr(harness, "{code} is not a unit that files the half-yearly report.", code="NOPE")


async def test_stats_for_a_clerk_and_a_manager(harness: BotHarness) -> None:
    await prepare(harness)
    talk = Talk(harness, SYT_CLERK)
    summary = await talk.say("/stats")
    assert "Sở Y tế" in summary and "01/07/2026" in summary and "<b>6</b>" in summary
    [sheet_call] = documents(talk)
    [photo] = [c for c in talk.calls if c.__api_method__ == "sendPhoto"]
    assert sheet_call.document.filename == "thong-ke-syt-20260701.xlsx"
    assert photo.photo.data.startswith(b"\x89PNG\r\n\x1a\n") and len(photo.photo.data) > 20_000
    rows = [[c.value for c in row] for row in load_workbook(io.BytesIO(sheet_call.document.data)).worksheets[0].iter_rows(min_row=5)]
    assert [(row[1], row[2]) for row in rows] == [
        ("Sở Y tế", 6), (tr(harness, "{unit} (its own staff)", unit="Sở Y tế"), 3), ("Bệnh viện Đa khoa", 3)]
    # A unit and a date; the hospital alone on 30/06.
    await talk.say("/stats BV 30/06/2026")
    [sheet_call] = documents(talk)
    assert sheet_call.document.filename == "thong-ke-bv-20260630.xlsx"
    manager = Talk(harness, MANAGER)
    await manager.say("/stats")
    assert len(documents(manager)) == 1


async def test_stats_refusals_and_bad_arguments(harness: BotHarness) -> None:
    await prepare(harness)
    assert await Talk(harness, EMPLOYEE).say("/stats") == tr(harness, "You are not allowed to do that.")
    talk = Talk(harness, SYT_CLERK)
    usage = tr(harness, "Usage: {usage}", usage=tr(harness, "/stats [UNIT] [dd/mm/yyyy]"))
    assert "[ĐƠN_VỊ]" in usage
    assert await talk.say("/stats SYT 31/02/2026") == tr(
        harness, "Not a valid date: {value} (use dd/mm/yyyy)", value="31/02/2026") + "\n" + usage
    assert await talk.say("/stats NOPE") == tr(harness, "No unit has the code {code}.", code="NOPE") + "\n" + usage
    assert await talk.say("/stats STC") == tr(harness, "You are not allowed to do that.")
    assert await talk.say("/stats 02/07/2026") == tr(
        harness, "The date {value} is in the future.", value="02/07/2026") + "\n" + usage
    assert documents(talk) == []
