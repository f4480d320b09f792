"""The `hoso` command line: --help everywhere, --json for scripts, one clear line on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.regime.profiles import available_profiles, load_profile
from storage.migrations import head_revision
from tests.conftest import sqlite_url

HOSO = str(Path(sys.executable).with_name("hoso"))


def hoso(*args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str = "") -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("HOSO_")}
    environment.update(env or {})
    return subprocess.run(
        [HOSO, *args], cwd=cwd, env=environment, input=stdin, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "command", [[], ["init"], ["run"], ["demo"], ["chat"], ["audit"], ["audit", "verify"], ["audit", "checkpoint"]]
)
def test_every_command_has_help(tmp_path: Path, command: list[str]) -> None:
    result = hoso(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Cách dùng: hoso" in result.stdout


def test_the_help_frame_and_the_arguments_are_in_the_readers_language(tmp_path: Path) -> None:
    """Usage, the panels, the help option and the arguments' names: Vietnamese by default, English on request."""
    result = hoso("unit", "move", "--help", cwd=tmp_path, env={"TERMINAL_WIDTH": "100"})
    assert result.returncode == 0, result.stderr
    for shown in ("Cách dùng: hoso unit move [TÙY_CHỌN] {MÃ} {ĐƠN_VỊ_CẤP_TRÊN}", "Tham số", "Tùy chọn",
                  "Hiện hướng dẫn này rồi thoát."):
        assert shown in result.stdout, result.stdout
    for english in ("Usage:", "Options", "Show this message and exit.", "PARENT", "[OPTIONS]"):
        assert english not in result.stdout
    assert "Lệnh" in hoso("unit", "--help", cwd=tmp_path).stdout
    english = hoso("unit", "move", "--help", cwd=tmp_path, env={"HOSO_DEFAULT_LOCALE": "en", "TERMINAL_WIDTH": "100"})
    assert "Usage: hoso unit move [OPTIONS] {CODE} {PARENT_UNIT}" in english.stdout


def test_every_argument_of_the_command_line_has_a_name_in_the_catalog() -> None:
    import typer.main
    from typer.core import TyperArgument, TyperGroup

    from bot.cli import app
    from bot.cli.frame import ARGUMENTS

    def arguments(command: object) -> list[str]:
        found = [p.name for p in getattr(command, "params", []) if isinstance(p, TyperArgument) and p.name]
        if isinstance(command, TyperGroup):
            for sub in command.commands.values():
                found += arguments(sub)
        return found

    assert set(arguments(typer.main.get_command(app))) <= set(ARGUMENTS)


def test_init_creates_the_database_and_reports_json(tmp_path: Path) -> None:
    env = {"HOSO_DATABASE_URL": sqlite_url(tmp_path)}
    result = hoso("init", "--profile", "hau-giang-2016", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["profile"] == "hau-giang-2016" and report["revision"] == head_revision()
    # Running again upgrades nothing and keeps the installed profile.
    again = json.loads(hoso("init", "--json", cwd=tmp_path, env=env).stdout)
    assert again["profile"] == "hau-giang-2016"


def test_init_speaks_vietnamese_by_default(tmp_path: Path) -> None:
    result = hoso("init", cwd=tmp_path, env={"HOSO_DATABASE_URL": sqlite_url(tmp_path)})
    assert result.returncode == 0
    assert "đã sẵn sàng" in result.stdout and "vn-2026" in result.stdout


def test_unknown_profile_is_refused(tmp_path: Path) -> None:
    result = hoso("init", "--profile", "hanoi-1999", cwd=tmp_path, env={"HOSO_DATABASE_URL": sqlite_url(tmp_path)})
    assert result.returncode != 0
    assert "hanoi-1999" in result.stderr


def test_a_malformed_setting_is_one_line_naming_it(tmp_path: Path) -> None:
    result = hoso("init", cwd=tmp_path, env={"HOSO_DATABASE_URL": "mysql://nobody@nowhere/x"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hoso: HOSO_DATABASE_URL:")
    assert "Traceback" not in result.stderr


def test_settings_come_from_a_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("HOSO_DATABASE_URL=sqlite+aiosqlite:///./from-dotenv.db\n")
    result = hoso("init", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "from-dotenv.db").exists()


def test_demo_seeds_and_chats_in_vietnamese(tmp_path: Path) -> None:
    env = {"HOSO_DATABASE_URL": sqlite_url(tmp_path)}
    result = hoso("demo", "--terminal", "--as", "manager", "--size", "30", cwd=tmp_path, env=env, stdin="/start\n/help\n:quit\n")
    assert result.returncode == 0, result.stderr
    assert "Đã tạo tỉnh mẫu: 13 đơn vị, 4 tài khoản, 30 hồ sơ." in result.stdout
    assert "Xin chào Lê Hoàng Minh!" in result.stdout
    assert "Vai trò: Lãnh đạo (chỉ xem)" in result.stdout
    assert "Các lệnh của HoSo" in result.stdout
    # A second demo run finds the data and does not seed again.
    again = hoso("demo", "--terminal", "--as", "clerk", cwd=tmp_path, env=env, stdin="/start\n")
    assert "không tạo dữ liệu mẫu" in again.stdout and "Nguyễn Văn Bình" in again.stdout


def test_chat_refuses_an_uninitialised_database(tmp_path: Path) -> None:
    result = hoso("chat", cwd=tmp_path, env={"HOSO_DATABASE_URL": sqlite_url(tmp_path)}, stdin="/start\n")
    assert result.returncode == 2
    assert "hoso init" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_audit_checkpoint_and_verify(tmp_path: Path) -> None:
    env = {"HOSO_DATABASE_URL": sqlite_url(tmp_path), "HOSO_AUDIT_KEY": "x" * 40}
    assert hoso("init", cwd=tmp_path, env=env).returncode == 0
    missing_key = hoso("audit", "checkpoint", cwd=tmp_path, env={"HOSO_DATABASE_URL": sqlite_url(tmp_path)})
    assert missing_key.returncode == 2 and "HOSO_AUDIT_KEY" in missing_key.stderr

    signed = hoso("audit", "checkpoint", "--json", cwd=tmp_path, env=env)
    assert signed.returncode == 0, signed.stderr
    checkpoint = tmp_path / "checkpoint.json"
    checkpoint.write_text(signed.stdout)
    assert json.loads(signed.stdout)["seq"] == 0

    verified = hoso("audit", "verify", "--checkpoint", str(checkpoint), cwd=tmp_path, env=env)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("OK: 1 ")  # the checkpoint itself was audited

    report = json.loads(hoso("audit", "verify", "--json", cwd=tmp_path, env=env).stdout)
    assert report["ok"] and report["count"] == 2  # the checkpoint and the first verify

    forged = hoso("audit", "verify", "--checkpoint", str(checkpoint), cwd=tmp_path,
                  env={**env, "HOSO_AUDIT_KEY": "y" * 40})
    assert forged.returncode == 1 and "seq 0" in forged.stdout


def test_unit_and_account_commands(tmp_path: Path) -> None:
    env = {"HOSO_DATABASE_URL": sqlite_url(tmp_path)}
    assert hoso("init", cwd=tmp_path, env=env).returncode == 0
    for args in (("CT", "UBND Cần Thơ"), ("SYT", "Sở Y tế", "--parent", "CT"), ("BV", "Bệnh viện", "--parent", "SYT"),
                 ("STC", "Sở Tài chính", "--parent", "CT")):
        result = hoso("unit", "add", *args, "--json", cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
    tree = hoso("unit", "list", "--tree", cwd=tmp_path, env=env).stdout.splitlines()
    assert tree == ["CT  UBND Cần Thơ", "  SYT  Sở Y tế", "    BV  Bệnh viện", "  STC  Sở Tài chính"]

    issued = json.loads(hoso("account", "add", "lan.syt", "--unit", "SYT", "--role", "clerk", "--name",
                             "Trần Thị Lan", "--request", "45/CV-SYT", "--json", cwd=tmp_path, env=env).stdout)
    assert set(issued) == {"username", "activation_code", "expires_at"} and len(issued["activation_code"]) >= 16

    bad = hoso("account", "add", "an.x", "--unit", "NOPE", "--role", "clerk", "--name", "An", "--request", "r",
               cwd=tmp_path, env=env)
    assert bad.returncode == 2 and bad.stderr.strip() == "hoso: unit: Không có đơn vị mã NOPE."

    refused = hoso("account", "restrict", "lan.syt", cwd=tmp_path, env=env)  # still pending: nothing to restrict
    assert refused.returncode == 2 and refused.stderr.startswith("hoso: username: ")
    revoked = json.loads(hoso("account", "revoke", "lan.syt", "--request", "9/QĐ", "--json", cwd=tmp_path, env=env).stdout)
    assert revoked["status"] == "revoked"
    listed = json.loads(hoso("account", "list", "--unit", "CT", "--json", cwd=tmp_path, env=env).stdout)
    assert [(a["username"], a["status"], a["unit"]) for a in listed] == [("lan.syt", "revoked", "SYT")]
    # For people, the role and the state in their language; the JSON keeps the codes for scripts.
    assert hoso("account", "list", "--unit", "CT", cwd=tmp_path, env=env).stdout.splitlines() == [
        "lan.syt  Cán bộ quản lý hồ sơ  đã thu hồi  SYT  Trần Thị Lan"]

    merged = json.loads(hoso("unit", "merge", "SYT", "STC", "--json", cwd=tmp_path, env=env).stdout)
    assert merged == {"old": "SYT", "into": "STC", "dossiers": 0, "accounts": 1, "units": 1, "requests": 0}
    assert hoso("audit", "verify", cwd=tmp_path, env=env).returncode == 0


def test_reference_lists_are_installed_and_extensible(tmp_path: Path) -> None:
    env = {"HOSO_DATABASE_URL": sqlite_url(tmp_path)}
    assert hoso("init", cwd=tmp_path, env=env).returncode == 0
    ethnicities = json.loads(hoso("reference", "list", "ethnicity", "--json", cwd=tmp_path, env=env).stdout)
    assert len(ethnicities) == 54 and ethnicities[0] == {"code": "01", "name": "Kinh", "extra": {}}
    ranks = {r["code"]: r for r in json.loads(hoso("reference", "list", "rank", "--json", cwd=tmp_path, env=env).stdout)}
    assert ranks["01.003"]["name"] == "Chuyên viên" and ranks["01.005"]["extra"]["raise_months"] == 24
    assert hoso("reference", "add", "religion", "99", "Tín ngưỡng dân gian", cwd=tmp_path, env=env).returncode == 0
    assert hoso("init", cwd=tmp_path, env=env).returncode == 0  # re-running keeps the admin's entry
    religions = hoso("reference", "list", "religion", cwd=tmp_path, env=env).stdout
    assert "99  Tín ngưỡng dân gian" in religions
    bad = hoso("reference", "list", "planets", cwd=tmp_path, env=env)
    assert bad.returncode == 2 and bad.stderr.startswith("hoso: list: ")


def test_calendar_extra_days_off(tmp_path: Path) -> None:
    env = {"HOSO_DATABASE_URL": sqlite_url(tmp_path)}
    assert hoso("init", cwd=tmp_path, env=env).returncode == 0
    added = hoso("calendar", "add", "23/02/2026", "Tết kéo dài", "--json", cwd=tmp_path, env=env)
    assert json.loads(added.stdout) == {"day": "23/02/2026", "added": True}
    again = hoso("calendar", "add", "23/02/2026", "Tết kéo dài", "--json", cwd=tmp_path, env=env)
    assert json.loads(again.stdout)["added"] is False
    days = json.loads(hoso("calendar", "list", "--year", "2026", "--json", cwd=tmp_path, env=env).stdout)
    assert {"day": "23/02/2026", "name": "Tết kéo dài", "kind": "extra"} in days
    assert {"day": "17/02/2026", "name": "Tết Nguyên Đán", "kind": "holiday"} in days
    bad = hoso("calendar", "add", "31/02/2026", "x", cwd=tmp_path, env=env)
    assert bad.returncode != 0 and bad.stderr.strip().startswith("hoso: day:")
    assert "31/02/2026" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("profile", available_profiles())
def test_unit_add_offers_and_keeps_the_regimes_levels(tmp_path: Path, profile: str) -> None:
    env = {"HOSO_DATABASE_URL": sqlite_url(tmp_path)}
    assert hoso("init", "--profile", profile, cwd=tmp_path, env=env).returncode == 0
    levels = load_profile(profile).unit_levels
    offered = json.loads(hoso("unit", "levels", "--json", cwd=tmp_path, env=env).stdout)
    assert [(item["name"], item["reports"]) for item in offered] == [(name, depth == 2) for depth, name in
                                                                     enumerate(levels, start=1)]
    province = json.loads(hoso("unit", "add", "CT", "Tỉnh", "--json", cwd=tmp_path, env=env).stdout)
    assert province["level"] == levels[0]  # by default, the level of its depth
    typed = levels[1].upper().replace(" / ", "  /  ")  # letter case and spacing aside
    department = json.loads(hoso("unit", "add", "SYT", "Sở Y tế", "--parent", "CT", "--level", typed, "--json",
                                 cwd=tmp_path, env=env).stdout)
    assert department["level"] == levels[1]
    refused = hoso("unit", "add", "X", "Thôn", "--parent", "SYT", "--level", "Thôn, ấp", cwd=tmp_path, env=env)
    assert refused.returncode == 2 and refused.stderr.startswith("hoso: level: ")
    assert all(name in refused.stderr for name in levels)


@pytest.mark.parametrize(("args", "said"), [
    (["unit", "move"], "Thiếu tham số MÃ."),
    (["unit", "move", "--bogus"], "Không có tùy chọn --bogus."),
    (["init", "a", "b"], "Thừa tham số: a b."),
    (["nosuch"], "Không có lệnh nosuch."),
    (["calendar", "list", "--year", "abc"], "Giá trị không hợp lệ cho '--year': cần một số nguyên."),
    (["demo", "--size", "9999999"], "Giá trị không hợp lệ cho '--size': tối đa 500000."),
    (["demo", "--size"], "Tùy chọn --size cần một giá trị."),
])
def test_typers_own_refusals_are_in_the_readers_language(args: list[str], said: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """A trial saw "Missing argument", "No such option" in English under a Vietnamese help frame."""
    import typer.main

    from bot.cli import app
    from bot.cli.frame import frame
    from bot.cli.usage_errors import run

    command = typer.main.get_command(app)
    frame(command)
    assert run(command, args) == 2
    error = " ".join(capsys.readouterr().err.split())  # rich wraps the panel; its borders are not words
    assert said in error.replace("│ │", ""), error
    assert "Lỗi" in error and "Missing" not in error and "No such" not in error


def test_a_refusal_exits_non_zero_from_the_command_line(tmp_path: Path) -> None:
    result = hoso("unit", "move", cwd=tmp_path, env={"TERMINAL_WIDTH": "200"})
    assert result.returncode == 2 and "Thiếu tham số MÃ." in result.stderr, result.stderr
    assert hoso("unit", "move", cwd=tmp_path, env={"HOSO_DEFAULT_LOCALE": "en", "TERMINAL_WIDTH": "200"}
                ).stderr.count("Missing argument CODE.") == 1


def test_account_link_code_and_unlink(tmp_path: Path) -> None:
    """`hoso account link-code USER --channel zalo` prints a code and its expiry; `unlink` ends the link."""
    import asyncio
    import re

    from services.accounts.links import LinkService
    from services.accounts.service import AccountService
    from services.core.actor import Actor
    from services.core.clock import SystemClock
    from services.core.identity import load_actor
    from storage import Database, UnitOfWork

    env = {"HOSO_DATABASE_URL": sqlite_url(tmp_path)}
    assert hoso("init", cwd=tmp_path, env=env).returncode == 0
    assert hoso("unit", "add", "SYT", "Sở Y tế", cwd=tmp_path, env=env).returncode == 0
    issued = json.loads(hoso("account", "add", "lan.syt", "--unit", "SYT", "--role", "clerk", "--name",
                             "Trần Thị Lan", "--request", "45/CV-SYT", "--json", cwd=tmp_path, env=env).stdout)
    pending = hoso("account", "link-code", "lan.syt", "--channel", "zalo", cwd=tmp_path, env=env)
    assert pending.returncode == 2 and pending.stderr.startswith("hoso: username: ")  # not active yet

    async def in_process(work: str, code: str = "") -> None:
        database = Database(env["HOSO_DATABASE_URL"])
        uow, clock = UnitOfWork(database), SystemClock("Asia/Ho_Chi_Minh")
        try:
            if work == "activate":
                await AccountService(uow, await load_actor(uow, "telegram", 501), clock).activate(
                    issued["activation_code"])
                await AccountService(uow, await load_actor(uow, "telegram", 501), clock).choose_first_password(
                    "mat-khau-2026")
            else:
                await LinkService(uow, Actor.anonymous("zalo", "9f1c2e"), clock).consume(code)
        finally:
            await database.dispose()

    asyncio.run(in_process("activate"))
    line = hoso("account", "link-code", "lan.syt", "--channel", "zalo", cwd=tmp_path, env=env)
    assert line.returncode == 0, line.stderr
    found = re.fullmatch(r"Tài khoản lan\.syt: mã liên kết ([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}) cho zalo, dùng một "
                         r"lần, có hiệu lực đến (\d\d/\d\d/\d{4} \d\d:\d\d)\. .*\n", line.stdout)
    assert found is not None, line.stdout
    as_json = json.loads(hoso("account", "link-code", "lan.syt", "--channel", "zalo", "--json",
                              cwd=tmp_path, env=env).stdout)
    assert set(as_json) == {"username", "channel", "link_code", "expires_at"}
    for args, field in ((("lan.syt", "--channel", "telegram"), "channel"), (("nobody", "--channel", "zalo"), "username")):
        bad = hoso("account", "link-code", *args, cwd=tmp_path, env=env)
        assert bad.returncode == 2 and bad.stderr.startswith(f"hoso: {field}: ") and len(bad.stderr.splitlines()) == 1
    not_linked = hoso("account", "unlink", "lan.syt", "--channel", "zalo", cwd=tmp_path, env=env)
    assert not_linked.returncode == 2 and not_linked.stderr.startswith("hoso: channel: ")
    asyncio.run(in_process("link", as_json["link_code"]))  # the latest code replaced the one printed before
    unlinked = hoso("account", "unlink", "lan.syt", "--channel", "zalo", cwd=tmp_path, env=env)
    assert unlinked.returncode == 0 and unlinked.stdout == "Đã hủy liên kết tài khoản lan.syt trên zalo.\n"
    log = hoso("audit", "verify", cwd=tmp_path, env=env)
    assert log.returncode == 0
