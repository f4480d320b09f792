"""Coded reference lists (ethnicities, religions, ranks, education levels): shipped as data, kept in the
database, extensible by the personnel office (services.platform.reference_lists)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from storage import UnitOfWork

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
