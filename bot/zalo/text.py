"""Telegram's HTML made Zalo's plain text, cut into messages Zalo takes, and menus made numbered lines.

Zalo's `sendMessage` takes 1 to 2 000 characters of plain text (the markup of later versions is not relied
on). A long answer is split at line ends, never inside a line unless one line alone is too long (then at a
space). Lengths are counted in UTF-16 units, the strictest reading of "characters".
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

from aiogram.types import InlineKeyboardMarkup

from bot.limits import _cut, utf16_length
from bot.zalo.client import MAX_TEXT

_BLOCKS = frozenset({"p", "div", "blockquote", "pre", "li"})


class _PlainText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.href: str | None = None
        self.link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.out.append("\n")
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            self.href = href if urlsplit(href).scheme in ("http", "https") else None
            self.link_text = []
        elif tag in _BLOCKS and self.out and not self.out[-1].endswith("\n"):
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.href is not None:
            shown = "".join(self.link_text).strip()
            if self.href != shown:
                self.out.append(f" ({self.href})")
            self.href = None

    def handle_data(self, data: str) -> None:
        self.out.append(data)
        if self.href is not None:
            self.link_text.append(data)


def plain_text(text: str, html: bool = True) -> str:
    """What the user reads: the tags dropped, the entities decoded, a link's address after its words."""
    if not html:
        return text
    parser = _PlainText()
    parser.feed(text)
    parser.close()
    return "".join(parser.out)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Messages of at most `limit` units, split at line ends; no empty message."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while utf16_length(line) > limit:  # one line alone too long: at the last space that fits
            head = _cut(line, limit)
            space = head.rfind(" ")
            head = head[:space] if space > limit // 2 else head
            if current.strip():
                parts.append(current)
            parts.append(head)
            current, line = "", line[len(head):].lstrip(" ")
        candidate = f"{current}\n{line}" if current else line
        if utf16_length(candidate) <= limit:
            current = candidate
        else:
            if current.strip():
                parts.append(current)
            current = line
    if current.strip():
        parts.append(current)
    return [part.strip("\n") for part in parts]


def menu_of(markup: object) -> tuple[list[str], list[str]]:
    """A keyboard as numbered lines: (the lines, the callback data of each number in order). A button that is
    only its own number (the items of a /find list) needs no line. A link button is shown as its address; other
    kinds of buttons have no meaning here and are left out."""
    lines: list[str] = []
    choices: list[str] = []
    if not isinstance(markup, InlineKeyboardMarkup):
        return lines, choices
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data is not None:
                choices.append(button.callback_data)
                if button.text.strip() != str(len(choices)):  # "1. 1": the text above already numbers it
                    lines.append(f"{len(choices)}. {button.text}")
            elif button.url and urlsplit(button.url).scheme in ("http", "https"):
                lines.append(f"• {button.text}: {button.url}")
    return lines, choices
