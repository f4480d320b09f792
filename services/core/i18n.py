"""Marking user-facing text in services without translating it here.

Services never know the reader's language. They carry message ids marked with `N_` (extracted by Babel
into the catalogs) and the front end translates them for whoever reads them.
"""

from typing import Final

SUPPORTED_LOCALES: tuple[str, ...] = ("vi", "en")
DEFAULT_LOCALE: Final = "vi"


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    return message
