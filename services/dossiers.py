"""Reading a dossier: in scope through its custodian or its working unit, and always audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.actor import Actor
from services.audit import record
from services.clock import Clock
from services.errors import PermissionDenied
from services.policy import Action, can
from services.sessions import sensitive
from storage import UnitOfWork


@dataclass(frozen=True, slots=True)
class DossierCard:
    id: int
    personal_id: str
    full_name: str
    sex: str
    birth_date: dt.date
    post: str | None
    rank_code: str | None
    custodian_unit: str
    working_unit: str
    employment_status: str


class DossierService:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock

    async def card(self, dossier_id: int) -> DossierCard:
        """The dossier's summary. Out of scope and non-existent are refused alike: a refusal never
        tells whether the dossier exists."""
        async with sensitive(self.uow, self.actor, self.clock, Action.VIEW_DOSSIER) as repos:
            found = await repos.dossiers.with_units(dossier_id)
            if found is None or not any(can(self.actor, Action.VIEW_DOSSIER, unit.path) for unit in found[1:]):
                await record(repos, self.clock, self.actor, "dossier.view_refused", "dossier", dossier_id)
                refused = True
            else:
                dossier, custodian, working = found
                await record(repos, self.clock, self.actor, "dossier.view", "dossier", dossier.id)
                refused = False
        if refused:  # the refusal itself is audited: the transaction above has committed it
            raise PermissionDenied()
        return DossierCard(dossier.id, dossier.personal_id, dossier.full_name, dossier.sex, dossier.birth_date,
                           dossier.post, dossier.rank_code, custodian.name, working.name, dossier.employment_status)
