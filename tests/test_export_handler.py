"""/export through the real Dispatcher: the clerk's scope arrives as an .xlsx document."""

from __future__ import annotations

from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from locales import translator
from services.core.actor import Role
from services.demo import CONSOLE_USER_IDS, seed_demo
from storage.models import Dossier, OrgUnit
from tests.conftest import BotHarness, sent_texts


async def test_export_sends_the_scope_as_an_excel_document(harness: BotHarness) -> None:
    await seed_demo(harness.runtime.uow, harness.runtime.clock, size=40)
    async with harness.runtime.uow.read() as repos:
        custodian, working = aliased(OrgUnit), aliased(OrgUnit)
        in_scope = await repos.session.scalar(
            select(func.count()).select_from(Dossier)
            .join(custodian, custodian.id == Dossier.custodian_unit_id)
            .join(working, working.id == Dossier.working_unit_id)
            .where(or_(custodian.code.in_(("SGDDT", "THPT-CVL", "THPT-VT")),
                       working.code.in_(("SGDDT", "THPT-CVL", "THPT-VT")))))
    assert 0 < in_scope < 40

    await harness.send("/export", user_id=CONSOLE_USER_IDS[Role.CLERK])
    documents = harness.session.called("sendDocument")
    assert len(documents) == 1
    sent = documents[0]
    assert sent.document.filename == "hoso-sgddt-20260701.xlsx"
    assert sent.caption.startswith(f"{in_scope} ")
    sheet = load_workbook(BytesIO(sent.document.data)).worksheets[0]
    assert [cell.value for cell in sheet[1]][:3] == ["Số định danh", "Họ và tên", "Giới tính"]  # a Vietnamese reader
    assert sheet.max_row == 1 + in_scope

    # A visitor without an account gets the refusal and no file.
    calls = await harness.send("/export", user_id=111)
    assert [call.__api_method__ for call in calls] == ["sendMessage"]
    assert sent_texts(calls) == ["Bạn không có quyền thực hiện thao tác này."]


async def test_export_with_nothing_in_scope_says_so(harness: BotHarness) -> None:
    await seed_demo(harness.runtime.uow, harness.runtime.clock, size=0)
    calls = await harness.send("/export", user_id=CONSOLE_USER_IDS[Role.CLERK])
    assert not harness.session.called("sendDocument")
    assert sent_texts(calls) == [translator("vi")("No dossier in your scope to export.")]
