"""The terminal chat: the real Dispatcher, driven from a terminal through the in-process session.

A typed line becomes a message update; `#2` presses button 2 of the latest keyboard; `:file PATH` sends a
file as a document (a scanned paper, offline), which the bot then fetches through the session as it would
from Telegram; documents the bot sends are saved to a folder. Commands of the console itself start with a
colon (:help, :file, :quit).
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from aiogram import Bot, Dispatcher
from aiogram.enums import ChatType
from aiogram.methods import TelegramMethod
from aiogram.types import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update, User

from bot.factory import create_bot, create_dispatcher
from bot.local_session import LOCAL_BOT_TOKEN, LocalBotSession, UpdateFactory
from bot.runtime import Runtime
from services.core.i18n import N_

_TAG = re.compile(r"</?([a-z\-]+)[^>]*>")
_BOLD, _ITALIC, _RESET = "\033[1m", "\033[3m", "\033[0m"


def html_to_terminal(text: str, colour: bool) -> str:
    """Telegram's HTML subset as terminal text: bold and italic where the terminal can, else plain."""

    def replace(match: re.Match[str]) -> str:
        if not colour:
            return ""
        tag, closing = match.group(1), match.group(0).startswith("</")
        if tag in ("b", "strong"):
            return _RESET if closing else _BOLD
        if tag in ("i", "em"):
            return _RESET if closing else _ITALIC
        return ""

    return html.unescape(_TAG.sub(replace, text))


class ConsoleChat:
    def __init__(
        self,
        runtime: Runtime,
        user_id: int,
        downloads: Path,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        first_name: str = "Console",
    ) -> None:
        self.stdin, self.stdout = stdin or sys.stdin, stdout or sys.stdout
        self.colour = self.stdout.isatty()
        self.session = LocalBotSession(downloads=downloads, on_call=self._show)
        self.bot: Bot = create_bot(LOCAL_BOT_TOKEN, session=self.session)
        self.dispatcher: Dispatcher = create_dispatcher(runtime)
        self.user = User(id=user_id, is_bot=False, first_name=first_name, language_code="vi")
        self.chat = Chat(id=user_id, type=ChatType.PRIVATE, first_name=first_name)
        self.buttons: list[InlineKeyboardButton] = []
        self.keyboard_message: Message | None = None
        self.updates = UpdateFactory()
        self._ = runtime.i18n.translator(runtime.settings.default_locale)

    # -- output ------------------------------------------------------------------------------------
    def _print(self, text: str = "") -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def _show(self, method: TelegramMethod[Any], result: Any) -> None:
        name = method.__api_method__
        text = getattr(method, "text", None) or getattr(method, "caption", None)
        if name == "answerCallbackQuery":
            if text:
                self._print(f"  [!] {html_to_terminal(text, self.colour)}")
            return
        if name in ("sendDocument", "sendPhoto") and self.session.saved_files:
            self._print(f"HoSo ▸ [file] {self.session.saved_files[-1]}")
        if name in ("sendMessage", "editMessageText", "editMessageCaption") and text:
            prefix = "HoSo ▸ " if name == "sendMessage" else "HoSo ✎ "
            self._print(prefix + html_to_terminal(text, self.colour).replace("\n", "\n       "))
        markup = getattr(method, "reply_markup", None)
        if isinstance(result, Message) and isinstance(markup, InlineKeyboardMarkup):
            self._show_keyboard(result, markup)

    def _show_keyboard(self, message: Message, markup: InlineKeyboardMarkup) -> None:
        self.keyboard_message, self.buttons = message, []
        for row in markup.inline_keyboard:
            cells = []
            for button in row:
                self.buttons.append(button)
                label = f"#{len(self.buttons)} {button.text}"
                cells.append(f"[{label} → {button.url}]" if button.url else f"[{label}]")
            self._print("       " + " ".join(cells))

    # -- input -------------------------------------------------------------------------------------
    def _button_update(self, index: int) -> Update | None:
        if not 1 <= index <= len(self.buttons) or self.keyboard_message is None:
            return None
        button = self.buttons[index - 1]
        if button.callback_data is None:
            return None
        return self.updates.callback(self.user, self.keyboard_message, button.callback_data)

    def _file_update(self, typed: str) -> Update | None:
        path = Path(typed.strip("'\"")).expanduser()
        try:
            content = path.read_bytes()
        except OSError:
            self._print("  [!] " + self._(NO_SUCH_FILE).format(path=typed or "—"))
            return None
        file_id = self.session.offer(content)
        self._print(f"  [file] {path.name} ({len(content):,} B)")
        return self.updates.document(self.user, self.chat, file_id, path.name, len(content))

    async def send(self, line: str) -> bool:
        """Feed one typed line; False when the user asked to leave."""
        line = line.strip()
        if not line:
            return True
        if line in (":q", ":quit", ":exit"):
            return False
        if line in (":h", ":help"):
            self._print(self._(CONSOLE_HELP))
            return True
        update: Update | None
        if line.split(maxsplit=1)[0] == ":file":
            update = self._file_update(line[len(":file"):].strip())
            if update is None:
                return True
        elif re.fullmatch(r"#\d+", line):
            update = self._button_update(int(line[1:]))
            if update is None:
                self._print("  [!] " + self._(NO_SUCH_BUTTON))
                return True
        else:
            update = self.updates.message(self.user, self.chat, line)
        await self.dispatcher.feed_update(self.bot, update)
        return True

    async def run(self, read_line: Callable[[], str] | None = None) -> None:
        read = read_line or self.stdin.readline
        self._print(self._(BANNER))
        await self.dispatcher.emit_startup(bot=self.bot)
        try:
            while True:
                if self.stdin.isatty():
                    self.stdout.write("› ")
                    self.stdout.flush()
                line = await asyncio.to_thread(read)
                if line == "" or not await self.send(line):  # "" is end of input (Ctrl-D)
                    break
        finally:
            await self.dispatcher.emit_shutdown(bot=self.bot)
            await self.bot.session.close()


BANNER = N_("HoSo terminal chat. Type /help; #N presses button N; :help for more; :quit to leave.")
CONSOLE_HELP = N_(
    "#N presses button N of the latest keyboard.\n"
    ":file PATH sends that file, as a scanned paper is attached.\n"
    ":quit (or Ctrl-D) leaves.\n"
    "Any other line is sent to the bot as a message."
)
NO_SUCH_BUTTON = N_("There is no button with that number.")
NO_SUCH_FILE = N_("No file can be read at {path}.")
