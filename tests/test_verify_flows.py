"""/verify through the real Dispatcher (Telegram's transport and the web chat's): a printout's code checked,
a forged one refused, the check audited."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from bot.settings import Settings
from tests.conftest import BotHarness, sqlite_url
from tests.talk import Talk, tr
from tests.test_accounts import audit_actions, sign_in
from tests.test_changes import setup
from tests.test_printouts import CODE

pytestmark = pytest.mark.both_transports

VERIFY_KEY = "v" * 40
CLERK = 501


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The suite's settings, with the key of the printouts' codes."""
    return Settings(_env_file=None, database_url=sqlite_url(tmp_path), files_dir=tmp_path / "files",
                    verify_key=VERIFY_KEY)


def sheet_code(call: Any) -> str:
    sheet = load_workbook(io.BytesIO(call.document.data)).active
    found = CODE.search("\n".join(str(cell.value) for row in sheet.iter_rows() for cell in row if cell.value))
    assert found, "no verification code on the sheet"
    return found.group()


async def test_a_clerk_checks_the_code_of_a_statistics_sheet(harness: BotHarness) -> None:
    await setup(harness.runtime.uow, harness.runtime.clock, "hau-giang-2016")
    await sign_in(harness.runtime.uow, harness.runtime.clock, "lan.syt", "SYT", "clerk", CLERK)
    clerk = Talk(harness, CLERK)
    await clerk.say("/stats SYT")
    [sheet] = [call for call in clerk.calls if call.__api_method__ == "sendDocument"]
    code = sheet_code(sheet)

    answer = await clerk.say(f"/verify {code}")
    assert answer.startswith("✅ ") and code.split("-")[1] in answer
    assert tr(harness, "The record still stands as this printout shows it.") in answer
    assert (await audit_actions(harness.runtime.uow))[-1] == "printout.verify"

    forged = code[:-1] + ("A" if code[-1] != "A" else "B")
    refused = await clerk.say(f"/verify {forged}")
    assert tr(harness, "This code was not issued by HoSo: do not trust the printout.") in refused

    usage = await clerk.say("/verify")
    assert tr(harness, "Type the code printed on the paper.") in usage
