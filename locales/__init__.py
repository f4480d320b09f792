"""The gettext catalogs: `<locale>/LC_MESSAGES/messages.po` in git; `.mo` compiled by `make`.

`load_catalogs` serves both the bot (through aiogram's I18n) and the CLI (plain gettext), so the
command line never has to import aiogram to speak the user's language.
"""

from __future__ import annotations

import gettext
import io
import logging
from collections.abc import Callable
from pathlib import Path

LOCALES_DIR = Path(__file__).parent
DOMAIN = "messages"

logger = logging.getLogger(__name__)


def load_catalogs(path: Path = LOCALES_DIR, domain: str = DOMAIN) -> dict[str, gettext.GNUTranslations]:
    """Every compiled catalog under `path`. A .mo that is missing or older than its .po is replaced
    by the .po compiled in memory with Babel, so a checkout never runs on stale translations."""
    catalogs: dict[str, gettext.GNUTranslations] = {}
    for folder in sorted(path.iterdir()):
        po = folder / "LC_MESSAGES" / f"{domain}.po"
        mo = po.with_suffix(".mo")
        if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
            with mo.open("rb") as handle:
                catalogs[folder.name] = gettext.GNUTranslations(handle)
        elif po.exists():
            from babel.messages.mofile import write_mo
            from babel.messages.pofile import read_po

            logger.debug("catalog %s is not compiled; compiling it in memory", folder.name)
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=folder.name, domain=domain)
            buffer = io.BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            catalogs[folder.name] = gettext.GNUTranslations(buffer)
    return catalogs


def translator(locale: str, fallback: str = "vi") -> Callable[[str], str]:
    """gettext for one language, outside any update (the CLI)."""
    catalogs = load_catalogs()
    chosen = catalogs.get(locale) or catalogs.get(fallback)
    return chosen.gettext if chosen is not None else (lambda message: message)
