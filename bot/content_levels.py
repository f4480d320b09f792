"""The setting `HOSO_CHANNEL_CONTENT` read into a level per channel (the policy itself is `bot/content.py`).

Apart from the policy because the settings read it, and so every `hoso` command: the policy's module imports
aiogram, whose import alone takes most of a command's start.
"""

from __future__ import annotations

from services.core.actor import Channel, Content

DEFAULT_CONTENT = "web=full,telegram=full,zalo=notices"


class ContentError(ValueError):
    """HOSO_CHANNEL_CONTENT is malformed; the message names the part."""


def parse_content(value: str) -> dict[str, Content]:
    """`channel=level` pairs over the defaults (every channel not named keeps its default)."""
    levels = {channel: Content(level) for channel, level in
              (pair.split("=") for pair in DEFAULT_CONTENT.split(","))}
    for part in (piece.strip() for piece in value.split(",")):
        if not part:
            continue
        channel, sep, level = (word.strip() for word in part.partition("="))
        if not sep or channel not in {c.value for c in Channel}:
            raise ContentError(part)
        try:
            levels[channel] = Content(level)
        except ValueError:
            raise ContentError(part) from None
    return levels
