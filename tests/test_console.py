"""The terminal chat drives the same Dispatcher: typed lines, numbered buttons, saved documents."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from aiogram.types import BufferedInputFile

from bot.console import ConsoleChat, html_to_terminal
from bot.runtime import Runtime
from services.core.actor import Role
from services.demo import CONSOLE_USER_IDS, seed_demo


def chat(runtime: Runtime, tmp_path: Path, user_id: int = 555) -> tuple[ConsoleChat, io.StringIO]:
    out = io.StringIO()
    return ConsoleChat(runtime, user_id, tmp_path / "downloads", stdin=io.StringIO(), stdout=out), out


async def test_typed_lines_and_button_presses(runtime: Runtime, tmp_path: Path) -> None:
    console, out = chat(runtime, tmp_path)
    await console.send("/lang")
    assert "[#1 Tiếng Việt] [#2 English]" in out.getvalue()
    await console.send("#2")
    await console.send("/start")
    text = out.getvalue()
    assert "HoSo ✎ The language is now English." in text
    assert "Welcome to HoSo" in text  # HTML tags are rendered, not shown


async def test_a_wrong_button_number_is_explained(runtime: Runtime, tmp_path: Path) -> None:
    console, out = chat(runtime, tmp_path)
    await console.send("#3")
    assert "Không có nút với số đó." in out.getvalue()


async def test_run_reads_until_quit(runtime: Runtime, tmp_path: Path) -> None:
    await seed_demo(runtime.uow, runtime.clock, size=5)
    out = io.StringIO()
    console = ConsoleChat(
        runtime, CONSOLE_USER_IDS[Role.ADMIN], tmp_path, stdin=io.StringIO("/start\n:quit\n/help\n"), stdout=out
    )
    await console.run()
    text = out.getvalue()
    assert "Xin chào Trần Thị Thu Hà!" in text
    assert "Các lệnh của HoSo" not in text  # nothing after :quit was sent


async def test_documents_are_saved_and_their_path_printed(runtime: Runtime, tmp_path: Path) -> None:
    console, out = chat(runtime, tmp_path)
    await console.bot.send_document(555, BufferedInputFile(b"PK-report", filename="bao-cao.xlsx"))
    await console.bot.send_document(555, BufferedInputFile(b"PK-again", filename="bao-cao.xlsx"))
    first, second = tmp_path / "downloads" / "bao-cao.xlsx", tmp_path / "downloads" / "bao-cao-2.xlsx"
    assert first.read_bytes() == b"PK-report" and second.read_bytes() == b"PK-again"
    assert f"[file] {first}" in out.getvalue() and f"[file] {second}" in out.getvalue()


def test_html_rendering_for_the_terminal() -> None:
    assert html_to_terminal("<b>Đặng</b> &amp; <i>Hoà</i>", colour=False) == "Đặng & Hoà"
    assert html_to_terminal("<b>x</b>", colour=True) == "\033[1mx\033[0m"



async def test_the_demo_employee_declares_in_the_terminal_chat(runtime: Runtime, tmp_path: Path) -> None:
    """The demo has an employee bound to a dossier of the clerk's department, to try /declare offline."""
    await seed_demo(runtime.uow, runtime.clock, size=40)
    console, out = chat(runtime, tmp_path, CONSOLE_USER_IDS[Role.EMPLOYEE])
    for line in ("/declare", "#5", "-", "5 Lý Thường Kiệt, Ninh Kiều", "10/06/2026", "#1"):
        await console.send(line)
    assert "5 Lý Thường Kiệt, Ninh Kiều" in out.getvalue()
    async with runtime.uow.read() as repos:
        pending = await repos.changes.pending(["/"])
    assert [(event.kind, event.payload["current_address"]) for event, _dossier in pending] == [
        ("address", "5 Lý Thường Kiệt, Ninh Kiều")]


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_a_file_is_sent_with_colon_file_and_fetched_through_the_session(runtime: Runtime, tmp_path: Path) -> None:
    """`:file PATH` sends a document, which the bot fetches with getFile and the download, as from Telegram."""
    await seed_demo(runtime.uow, runtime.clock, size=5)
    shot = tmp_path / "man-hinh.png"
    shot.write_bytes(PNG)
    console, out = chat(runtime, tmp_path, CONSOLE_USER_IDS[Role.CLERK])
    for line in ("/feedback", "#2", "Nút Xác nhận không phản hồi", f":file {shot}", ":file /nowhere/x.png"):
        await console.send(line)
    text = out.getvalue()
    assert "man-hinh.png" in text and "/nowhere/x.png" in text
    await console.send("#1")  # confirm: the bot fetches the file now
    async with runtime.uow.read() as repos:
        [(item, _account, _unit)] = await repos.feedback.listing()
    assert (item.screenshot_name, item.screenshot_sha256) == ("man-hinh.png", hashlib.sha256(PNG).hexdigest())
