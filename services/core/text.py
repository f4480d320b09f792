"""Vietnamese text: folding for search (case, diacritics, đ/Đ and tone-mark placement all fold away), and
numbers written with the reader's decimal mark."""

from __future__ import annotations

import unicodedata

# NFD does not decompose đ/Đ (they are letters of their own, not d + a mark), so they are mapped by hand.
_EXTRA = str.maketrans({"đ": "d", "Đ": "d", "ð": "d"})


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.translate(_EXTRA))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.lower().split())


def decimal(value: float, locale: str, digits: int = 2) -> str:
    """A number as its reader writes it: "4,32" in Vietnamese (the decimal comma), "4.32" in English."""
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if locale == "vi" else text
