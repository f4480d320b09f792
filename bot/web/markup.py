"""Telegram's HTML subset, as HTML safe to put in the page.

The handlers escape every dynamic value already; this is the second wall. Only Telegram's formatting tags
pass, without attributes (a link keeps an http, https or mailto address); anything else is text. The page
inserts the result as markup, under a Content-Security-Policy that runs no inline script anyway.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser
from urllib.parse import urlsplit

# Telegram's tags → the page's (tg-spoiler and span.tg-spoiler become a spoiler the page blurs).
TAGS = {"b": "b", "strong": "b", "i": "i", "em": "i", "u": "u", "ins": "u", "s": "s", "strike": "s", "del": "s",
        "code": "code", "pre": "pre", "blockquote": "blockquote", "a": "a", "tg-spoiler": "span"}
LINK_SCHEMES = ("http", "https", "mailto")


class _Sanitizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[tuple[str, str]] = []  # (Telegram's tag, what closes it here)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "span" and values.get("class") == "tg-spoiler":
            tag = "tg-spoiler"
        target = TAGS.get(tag)
        if target is None:
            return
        if tag == "a":
            href = values.get("href") or ""
            if urlsplit(href).scheme not in LINK_SCHEMES:
                self.open.append((tag, ""))  # a link to anything else keeps its text only
                return
            self.out.append(f'<a href="{html.escape(href, quote=True)}" rel="noopener noreferrer" target="_blank">')
        else:
            self.out.append('<span class="spoiler">' if tag == "tg-spoiler" else f"<{target}>")
        self.open.append((tag, f"</{target}>"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self.open and self.open[-1][0] == "tg-spoiler":
            tag = "tg-spoiler"
        if not any(opened == tag for opened, _closing in self.open):
            return
        while self.open:  # close what was left open inside it, as a browser would
            opened, closing = self.open.pop()
            self.out.append(closing)
            if opened == tag:
                break

    def handle_data(self, data: str) -> None:
        self.out.append(html.escape(data, quote=False))

    def result(self) -> str:
        self.close()
        return "".join(self.out) + "".join(closing for _tag, closing in reversed(self.open))


def safe_html(text: str, is_html: bool = True) -> str:
    """The page's markup for a message text (HTML parse mode), or plain text escaped."""
    if not is_html:
        return html.escape(text, quote=False)
    sanitizer = _Sanitizer()
    sanitizer.feed(text)
    return sanitizer.result()
