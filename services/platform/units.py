"""The organisational tree: units are added, renamed and moved; never deleted (a merge, which also moves
custody, is services.custody.merge)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.core.actor import Actor
from services.core.clock import Clock, local_today
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.core.policy import Action
from services.platform.audit import record
from services.platform.sessions import sensitive
from services.regime.profiles import Profile
from services.regime.setup import profile_of
from storage import Repositories, UnitOfWork
from storage.models import OrgUnit

CODE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,31}$")
ACTIVE, MERGED = "active", "merged"


@dataclass(frozen=True, slots=True)
class UnitView:
    code: str
    name: str
    parent_code: str | None
    path: str
    level_name: str | None
    status: str
    merged_into_code: str | None

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2


def to_view(unit: OrgUnit, codes: dict[int, str]) -> UnitView:
    """The unit as plain data; `codes` maps the ids of its parent and merger target to their codes."""
    return UnitView(unit.code, unit.name, codes.get(unit.parent_id or 0), unit.path, unit.level_name, unit.status,
                    codes.get(unit.merged_into_id or 0))


def normalise_code(code: str) -> str:
    return code.strip().upper()


NO_SUCH_UNIT = N_("No unit has the code {code}.")
MERGED_UNIT = N_("Unit {code} was merged and takes no changes.")
UNIT_OUT_OF_SCOPE = N_("Unit {code} is outside your scope.")


def usable_unit(unit: OrgUnit | None, code: str, field: str, *, active: bool = True,
                scope: tuple[str, ...] | None = None) -> OrgUnit:
    """The one rule for a unit a user names (`code`, as typed): it exists; it is active, unless `active` is
    False (a merged unit's past may still be read); it lies within `scope` (path prefixes, from
    policy.scope_of) when one is given. Each refusal names the field."""
    if unit is None:
        raise InvalidInput(field, NO_SUCH_UNIT, code=code)
    if active and unit.status != ACTIVE:
        raise InvalidInput(field, MERGED_UNIT, code=unit.code)
    if scope is not None and not any(unit.path.startswith(prefix) for prefix in scope):
        raise InvalidInput(field, UNIT_OUT_OF_SCOPE, code=unit.code)
    return unit


def unit_level(profile: Profile, level: str | None, depth: int) -> str | None:
    """The level of a unit `depth` deep (the province is 1): one of the regime's level names, as typed
    (letter case and spacing aside; a level of two kinds of unit, "Sở, ban, ngành / Xã, phường", also by
    either), or by default the name of that depth's level."""
    if not level:
        return profile.level_at(depth)
    wanted = " ".join(level.split()).casefold()
    for name in profile.unit_levels:
        if wanted == name.casefold() or wanted in (part.strip().casefold() for part in name.split("/")):
            return name
    raise InvalidInput("level", N_("{value} is not a level of this regime; use one of: {choices}."), value=level,
                       choices="; ".join(profile.unit_levels))


async def unit_by_code(repos: Repositories, code: str, field: str = "unit", *, active: bool = True,
                       scope: tuple[str, ...] | None = None) -> OrgUnit:
    """The unit of a typed code, under the one rule (`usable_unit`)."""
    return usable_unit(await repos.units.by_code(normalise_code(code)), code, field, active=active, scope=scope)


class UnitService:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock

    @staticmethod
    async def _view(repos: Repositories, unit: OrgUnit) -> UnitView:
        parent = await repos.units.get(unit.parent_id) if unit.parent_id else None
        return to_view(unit, {parent.id: parent.code} if parent else {})

    async def add(self, code: str, name: str, parent_code: str | None = None, level: str | None = None) -> UnitView:
        code, name = normalise_code(code), " ".join(name.split())
        if not CODE.match(code):
            raise InvalidInput("code", N_("A unit code is 1 to 32 letters, digits, dots, dashes or underscores."))
        if not name:
            raise InvalidInput("name", N_("The unit needs a name."))
        async with sensitive(self.uow, self.actor, self.clock, Action.MANAGE_UNITS) as repos:
            if await repos.units.by_code(code) is not None:
                raise InvalidInput("code", N_("The code {code} is already used."), code=code)
            parent = await unit_by_code(repos, parent_code, "parent") if parent_code else None
            depth = parent.path.count("/") if parent else 1
            level = unit_level(await profile_of(repos), level, depth)
            unit = await repos.units.add(OrgUnit(
                code=code, name=name, parent_id=parent.id if parent else None, path="", level_name=level,
                status=ACTIVE, valid_from=local_today(self.clock), created_at=self.clock.now(),
            ))
            await record(repos, self.clock, self.actor, "unit.add", "unit", unit.code, name=name,
                         parent=parent.code if parent else None, level=level)
            return await self._view(repos, unit)

    async def rename(self, code: str, name: str) -> UnitView:
        name = " ".join(name.split())
        if not name:
            raise InvalidInput("name", N_("The unit needs a name."))
        async with sensitive(self.uow, self.actor, self.clock, Action.MANAGE_UNITS) as repos:
            unit = await unit_by_code(repos, code, "code")
            old, unit.name = unit.name, name
            await record(repos, self.clock, self.actor, "unit.rename", "unit", unit.code, old=old, new=name)
            return await self._view(repos, unit)

    async def move(self, code: str, parent_code: str) -> UnitView:
        async with sensitive(self.uow, self.actor, self.clock, Action.MANAGE_UNITS) as repos:
            unit = await unit_by_code(repos, code, "code")
            parent = await unit_by_code(repos, parent_code, "parent")
            if parent.path.startswith(unit.path):
                raise InvalidInput("parent", N_("A unit cannot be moved under itself or its own subunits."))
            old_parent = await repos.units.get(unit.parent_id) if unit.parent_id else None
            await repos.units.reparent(unit, parent)
            await record(repos, self.clock, self.actor, "unit.move", "unit", unit.code,
                         old_parent=old_parent.code if old_parent else None, new_parent=parent.code)
            return await self._view(repos, unit)

    async def levels(self) -> tuple[list[str], str]:
        """The regime's level names, the province first (what `add` takes as a level), and the level that
        files the half-yearly report."""
        async with sensitive(self.uow, self.actor, self.clock, Action.MANAGE_UNITS) as repos:
            profile = await profile_of(repos)
        return list(profile.unit_levels), profile.unit_levels[profile.report_depth - 1]

    async def list(self) -> list[UnitView]:
        """The whole tree in path order (parents before children), merged units included."""
        async with sensitive(self.uow, self.actor, self.clock, Action.MANAGE_UNITS) as repos:
            units = await repos.units.subtree("/")
            codes = {unit.id: unit.code for unit in units}
            return [to_view(unit, codes) for unit in units]
