"""Coded reference lists (ethnicities, religions, ranks, education levels): shipped as data, kept in the
database, extensible by the personnel office (services.platform.reference_lists)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the lists themselves are read by `hoso --help`, which needs no database
    from storage import Repositories, UnitOfWork

LISTS = ("ethnicity", "religion", "rank", "education")


@dataclass(frozen=True, slots=True)
class ReferenceEntry:
    code: str
    name: str
    extra: dict[str, Any] = field(default_factory=dict)


def shipped() -> dict[str, list[ReferenceEntry]]:
    text = resources.files(__name__).joinpath("lists.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return {
        name: [ReferenceEntry(code, entry["name"], {k: v for k, v in entry.items() if k != "name"})
               for code, entry in data.get(name, {}).items()]
        for name in LISTS
    }


async def install_reference_lists(uow: UnitOfWork) -> int:
    """Add the shipped entries the database lacks; never overwrite what the admin changed."""
    added = 0
    async with uow.write() as repos:
        for list_name, entries in shipped().items():
            have = {item.code for item in await repos.references.listing(list_name)}
            for entry in entries:
                if entry.code not in have:
                    await repos.references.add(list_name, entry.code, entry.name, entry.extra)
                    added += 1
    return added


async def names_of(repos: Repositories, list_name: str) -> dict[str, str]:
    """Code → name of a reference list as the office keeps it, the shipped entries filling what the database
    lacks (a database set up before an entry was shipped still names it)."""
    names = dict(_shipped_names(list_name))
    names.update(await repos.references.names(list_name))
    return names


@lru_cache(maxsize=len(LISTS))
def _shipped_names(list_name: str) -> tuple[tuple[str, str], ...]:
    return tuple((entry.code, entry.name) for entry in shipped().get(list_name, []))


def coded(code: str | None, name: str | None) -> str:
    """A code with its name, as a reader wants it: "01.003 Chuyên viên"; the code alone when the list does
    not know it, and "" for no code."""
    code = (code or "").strip()
    return " ".join(part for part in (code, (name or "").strip()) if part)
