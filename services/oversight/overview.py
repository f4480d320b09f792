"""What a user sees on /start: who they are to the system and what they can reach."""

from __future__ import annotations

from dataclasses import dataclass

from services.core.actor import Actor, Role
from services.core.clock import Clock
from services.core.policy import dossier_scope
from storage import UnitOfWork


@dataclass(frozen=True, slots=True)
class Overview:
    signed_in: bool
    full_name: str | None = None
    role: Role | None = None
    unit_name: str | None = None
    dossiers_in_scope: int | None = None
    own_dossier_id: int | None = None  # an employee's own dossier


class OverviewService:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock

    async def overview(self) -> Overview:
        if self.actor.is_anonymous:
            return Overview(signed_in=False)
        scope = dossier_scope(self.actor)
        count = own = None
        async with self.uow.read() as repos:
            if scope:
                count = await repos.dossiers.count_in_scope(scope)
            if self.actor.personal_id:
                own = await repos.dossiers.id_of(self.actor.personal_id)
        return Overview(
            signed_in=True,
            full_name=self.actor.full_name,
            role=self.actor.role,
            unit_name=self.actor.unit_name,
            dossiers_in_scope=count,
            own_dossier_id=own,
        )
