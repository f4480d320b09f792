"""The personnel office's edits to the coded reference lists: listed, and extended with new codes, audited.
The shipped lists themselves are regulation data (services.regime.reference)."""

from __future__ import annotations

import re

from services.core.actor import Actor
from services.core.clock import Clock
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.core.policy import Action
from services.platform.audit import record
from services.platform.sessions import sensitive
from services.regime.reference import LISTS, ReferenceEntry
from storage import UnitOfWork

CODE = re.compile(r"^[A-Za-z0-9.\-_]{1,32}$")


class ReferenceService:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock

    async def listing(self, list_name: str) -> list[ReferenceEntry]:
        _check_list(list_name)
        async with self.uow.read() as repos:
            return [ReferenceEntry(i.code, i.name, dict(i.extra)) for i in await repos.references.listing(list_name)]

    async def add(self, list_name: str, code: str, name: str) -> ReferenceEntry:
        _check_list(list_name)
        code, name = code.strip(), " ".join(name.split())
        if not CODE.match(code):
            raise InvalidInput("code", N_("A code is 1 to 32 letters, digits, dots, dashes or underscores."))
        if not name:
            raise InvalidInput("name", N_("The entry needs a name."))
        async with sensitive(self.uow, self.actor, self.clock, Action.MANAGE_UNITS) as repos:
            if code in {item.code for item in await repos.references.listing(list_name)}:
                raise InvalidInput("code", N_("The code {code} is already used."), code=code)
            await repos.references.add(list_name, code, name, {})
            await record(repos, self.clock, self.actor, "reference.add", "reference", f"{list_name}:{code}", name=name)
        return ReferenceEntry(code, name)


def _check_list(list_name: str) -> None:
    if list_name not in LISTS:
        raise InvalidInput("list", N_("Unknown list {name}; the lists are: {choices}."), name=list_name,
                           choices=", ".join(LISTS))
