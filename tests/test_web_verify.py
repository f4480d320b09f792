"""The web chat's /verify page over HTTP (signed in only), and `hoso verify` as a subprocess: a printout's code
checked, a forged one refused, the check audited."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.runtime import Runtime
from bot.settings import Settings
from services.core.actor import Actor
from services.platform.printouts import PrintoutService
from tests.conftest import sqlite_url
from tests.test_changes import setup
from tests.test_cli import hoso
from tests.test_printouts import CODE, HOA
from tests.webchat import WebChatUnderTest, served

VERIFY_KEY = "v" * 40


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The suite's settings, with the key of the printouts' codes."""
    return Settings(_env_file=None, database_url=sqlite_url(tmp_path), files_dir=tmp_path / "files",
                    verify_key=VERIFY_KEY)


# -- the web chat's page ---------------------------------------------------------------------------------
@pytest.fixture
async def web(runtime: Runtime) -> AsyncIterator[WebChatUnderTest]:
    await setup(runtime.uow, runtime.clock, "hau-giang-2016")
    async with served(runtime) as chat:
        yield chat


async def test_the_web_page_checks_a_code_for_a_signed_in_reader(web: WebChatUnderTest) -> None:
    runtime = web.runtime
    printouts = PrintoutService(runtime.uow, Actor.system(), runtime.clock, VERIFY_KEY.encode(), "x")
    async with runtime.uow.read() as repos:
        dossier_id = (await repos.dossiers.ids_by_personal_id([HOA]))[HOA]
    stamp = await printouts.issue_form(dossier_id, {"shown": "the form"})
    assert stamp is not None and stamp.qr_text == f"x?code={stamp.code}"

    stranger = web.browser()
    async with stranger.http.get(stranger.url(f"/verify?code={stamp.code}"), allow_redirects=False) as response:
        assert response.status == 303 and response.headers["Location"] == "/login"  # signed in only

    browser = web.browser()
    assert (await browser.activate(await web.issue("lan.syt", "SYT", "clerk"), "mat-khau-web-2026")).status == 303
    async with browser.http.get(browser.url(f"/verify?code={stamp.code}")) as response:
        page = await response.text()
    assert response.status == 200 and 'id="verdict"' in page and f"{dossier_id}" in page
    translate = runtime.i18n.translator("vi")
    assert translate("The record still stands as this printout shows it.") in page

    forged = stamp.code[:-1] + ("A" if stamp.code[-1] != "A" else "B")
    async with browser.http.get(browser.url(f"/verify?code={forged}")) as response:
        refused = await response.text()
    assert response.status == 400 and 'id="verdict"' not in refused
    assert translate("This code was not issued by HoSo: do not trust the printout.").replace("'", "&#39;") in refused
    async with runtime.uow.read() as repos:
        checks = [event for event in await repos.audit.search(limit=100) if event.action == "printout.verify"]
    assert [(event.actor_label, event.details["channel"], event.details["outcome"]) for event in checks] == [
        ("lan.syt", "web", "refused"), ("lan.syt", "web", "current")]


# -- the command line ------------------------------------------------------------------------------------
def test_hoso_verify_checks_a_code_and_refuses_a_forged_one(tmp_path: Path) -> None:
    env = {"HOSO_DATABASE_URL": sqlite_url(tmp_path, "cli.db"), "HOSO_VERIFY_KEY": VERIFY_KEY}
    assert hoso("init", cwd=tmp_path, env=env).returncode == 0
    written = hoso("stats", "thong-ke.xlsx", cwd=tmp_path, env=env)
    assert written.returncode == 0, written.stderr
    sheet = load_workbook(tmp_path / "thong-ke.xlsx").active
    code = CODE.search("\n".join(str(cell.value) for row in sheet.iter_rows() for cell in row if cell.value))
    assert code is not None

    checked = hoso("verify", code.group(), "--json", cwd=tmp_path, env=env)
    assert checked.returncode == 0, checked.stderr
    verdict = json.loads(checked.stdout)
    assert verdict["kind"] == "TK" and verdict["issued_by"] == "system" and verdict["changed"] is False

    forged = code.group()[:-1] + ("A" if code.group()[-1] != "A" else "B")
    refused = hoso("verify", forged, cwd=tmp_path, env=env)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert refused.stderr.startswith("hoso: ") and "HoSo" in refused.stderr
    malformed = hoso("verify", "xyz", cwd=tmp_path, env=env)
    assert malformed.returncode == 2 and malformed.stderr.startswith("hoso: code: ")
    no_key = hoso("verify", code.group(), cwd=tmp_path, env={"HOSO_DATABASE_URL": env["HOSO_DATABASE_URL"]})
    assert no_key.returncode == 2 and "HOSO_VERIFY_KEY" in no_key.stderr
