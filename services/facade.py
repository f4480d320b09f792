"""The per-update entry point to every service, with the actor, unit of work and clock bound."""

from __future__ import annotations

from functools import cached_property

from services.actor import Actor
from services.audit import AuditService
from services.clock import Clock
from services.overview import OverviewService
from services.preferences import PreferenceService
from storage import UnitOfWork


class Services:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock

    @cached_property
    def audit(self) -> AuditService:
        return AuditService(self.uow, self.actor, self.clock)

    @cached_property
    def preferences(self) -> PreferenceService:
        return PreferenceService(self.uow, self.actor, self.clock)

    @cached_property
    def overview(self) -> OverviewService:
        return OverviewService(self.uow, self.actor, self.clock)
