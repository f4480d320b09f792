"""Reading a dossier: in scope through its custodian or its working unit, and always audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from services.core.actor import Actor, Role
from services.core.clock import Clock
from services.core.errors import NotFound, PermissionDenied
from services.core.i18n import N_
from services.core.policy import Action, can
from services.dossiers.masking import Mask, mask_for
from services.platform.audit import record
from services.platform.sessions import sensitive
from services.regime.dossier_fields import SECTIONS, DossierFull, Record
from services.regime.reference import names_of
from storage import Repositories, UnitOfWork
from storage.models import Dossier, OrgUnit

FIELDS = tuple(name for fields in SECTIONS.values() for name, _label in fields)
# The fields that are dates (kept as ISO text in a version's snapshot).
DATE_FIELDS = frozenset(name for name in FIELDS if Dossier.__table__.c[name].type.python_type is dt.date)


@dataclass(frozen=True, slots=True)
class DossierCard:
    id: int
    personal_id: str | None  # None where the actor's mask withholds it (a channel carrying a summary)
    full_name: str
    sex: str
    birth_date: dt.date
    post: str | None
    rank_code: str | None
    rank_name: str | None  # the dossier's own, else the reference list's
    custodian_unit: str
    working_unit: str
    employment_status: str


def readable(actor: Actor, dossier: Dossier, custodian: OrgUnit, working: OrgUnit) -> bool:
    """The one rule for reading a dossier: an employee reads their own; anyone else needs the custodian
    or the working unit in scope."""
    if actor.role is Role.EMPLOYEE:
        return actor.personal_id is not None and actor.personal_id == dossier.personal_id
    return any(can(actor, Action.VIEW_DOSSIER, unit.path) for unit in (custodian, working))


def rank_name_of(dossier: Dossier, rank_names: Mapping[str, str]) -> str | None:
    """The name of the dossier's rank: the one its paper gave (kept in the dossier), else the reference list's
    for its code, so that a code is never shown without its name."""
    return dossier.rank_name or rank_names.get(dossier.rank_code or "")


def to_full(dossier: Dossier, custodian: OrgUnit, working: OrgUnit, records: list[Record], mask: Mask,
            rank_names: Mapping[str, str] | None = None) -> DossierFull:
    """The dossier as `mask` lets it be read: its fields and records, less the private data withheld."""
    values = mask.values({name: getattr(dossier, name) for name in FIELDS})
    if "rank_name" in values:
        values["rank_name"] = rank_name_of(dossier, rank_names or {})
    values.update(custodian_unit_code=custodian.code, working_unit_code=working.code)
    return DossierFull(dossier.id, values, custodian.name, working.name, tuple(mask.records(records)), mask.withheld)


class DossierService:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock

    async def _load(
        self, repos: Repositories, dossier_id: int, purpose: str
    ) -> tuple[Dossier, OrgUnit, OrgUnit] | None:
        """The dossier and its units, the read audited; None when refused. Out of scope and
        non-existent are refused alike (a refusal never tells whether it exists), and audited too."""
        found = await repos.dossiers.with_units(dossier_id)
        if found is None or not readable(self.actor, *found):
            await record(repos, self.clock, self.actor, "dossier.refused", "dossier", dossier_id, purpose=purpose)
            return None
        await record(repos, self.clock, self.actor, f"dossier.{purpose}", "dossier", dossier_id)
        return found

    async def card(self, dossier_id: int) -> DossierCard:
        async with sensitive(self.uow, self.actor, self.clock, Action.OPEN_DOSSIER) as repos:
            found = await self._load(repos, dossier_id, "view")
            rank_names = await names_of(repos, "rank") if found else {}
        if found is None:  # raised only now, so that the refusal's audit is committed
            raise PermissionDenied()
        dossier, custodian, working = found
        shown_id = dossier.personal_id if mask_for(self.actor).shows_field("personal_id") else None
        return DossierCard(dossier.id, shown_id, dossier.full_name, dossier.sex, dossier.birth_date,
                           dossier.post, dossier.rank_code, rank_name_of(dossier, rank_names), custodian.name,
                           working.name, dossier.employment_status)

    async def full(self, dossier_id: int, purpose: str = "view") -> DossierFull:
        """The whole dossier, e.g. for a section of the card or the printed form (`purpose` is audited)."""
        async with sensitive(self.uow, self.actor, self.clock, Action.OPEN_DOSSIER) as repos:
            found = await self._load(repos, dossier_id, purpose)
            rows = await repos.dossiers.records(dossier_id) if found else []
            rank_names = await names_of(repos, "rank") if found else {}
        if found is None:
            raise PermissionDenied()
        dossier, custodian, working = found
        records = [Record(row.kind, row.date_from, row.date_to, dict(row.data)) for row in rows]
        return to_full(dossier, custodian, working, records, mask_for(self.actor), rank_names)

    async def id_of(self, personal_id: str) -> int:
        """The dossier carrying a personal ID, as the command line names it. Missing and out of scope are
        refused alike (a refusal never tells whether it exists)."""
        async with self.uow.read() as repos:
            dossier_id = (await repos.dossiers.ids_by_personal_id([personal_id.strip()])).get(personal_id.strip())
            found = await repos.dossiers.with_units(dossier_id) if dossier_id is not None else None
        if found is None or not readable(self.actor, *found):
            raise NotFound(N_("No dossier in your scope carries the personal ID {value}."), value=personal_id)
        return found[0].id

    def sections(self) -> tuple[str, ...]:
        """The card's sections this actor may open."""
        mask = mask_for(self.actor)
        return tuple(name for name in ("identity", "post_salary", "qualifications", "history", "family")
                     if mask.shows_section(name))
