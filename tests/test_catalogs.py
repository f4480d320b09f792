"""The Vietnamese catalog is always complete: every string in the code is in it, translated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from locales import LOCALES_DIR, load_catalogs, translator

ROOT = Path(__file__).resolve().parent.parent
SOURCE_PACKAGES = ("bot", "handlers", "services")
KEYWORDS = {**DEFAULT_KEYWORDS, "__": None, "N_": None}
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
TAG = re.compile(r"</?[a-z]+>")


def catalog(locale: str):  # noqa: ANN201 - babel's Catalog
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def messages_in_code() -> set[str]:
    found = set()
    for package in SOURCE_PACKAGES:
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / package, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_vietnamese_msgid_is_translated() -> None:
    untranslated = [m.id for m in catalog("vi") if m.id and (not m.string or m.fuzzy)]
    assert untranslated == []


def test_every_string_in_the_code_is_in_the_vietnamese_catalog() -> None:
    known = {m.id for m in catalog("vi") if m.id}
    missing = sorted(messages_in_code() - known)
    assert missing == [], "run `make messages` and translate: " + "; ".join(missing)


def test_english_catalog_has_the_same_messages() -> None:
    assert {m.id for m in catalog("en") if m.id} == {m.id for m in catalog("vi") if m.id}


@pytest.mark.parametrize("message", [m for m in catalog("vi") if m.id], ids=lambda m: m.id[:40])
def test_translations_keep_placeholders_and_markup(message) -> None:  # noqa: ANN001
    assert sorted(PLACEHOLDER.findall(message.string)) == sorted(PLACEHOLDER.findall(message.id))
    assert sorted(TAG.findall(message.string)) == sorted(TAG.findall(message.id))


def test_catalogs_load_even_without_compiled_files(tmp_path: Path) -> None:
    for locale in ("vi", "en"):
        target = tmp_path / locale / "LC_MESSAGES"
        target.mkdir(parents=True)
        (target / "messages.po").write_bytes((LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").read_bytes())
    loaded = load_catalogs(tmp_path)
    assert loaded["vi"].gettext("Choose a language:") == "Chọn ngôn ngữ:"


def test_cli_translator_defaults_to_vietnamese() -> None:
    assert translator("vi")("Choose a language:") == "Chọn ngôn ngữ:"
    assert translator("en")("Choose a language:") == "Choose a language:"
    assert translator("xx")("Choose a language:") == "Chọn ngôn ngữ:"
