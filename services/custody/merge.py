"""Merging a unit into another: everything it holds moves, its dossiers' custody included, in one
transaction. Above both the unit tree and custody, so that neither needs the other."""

from __future__ import annotations

from dataclasses import dataclass

from services.core.actor import Actor
from services.core.clock import Clock, local_today
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.core.policy import Action
from services.custody.transfers import TransferService
from services.platform.audit import record
from services.platform.sessions import sensitive
from services.platform.units import unit_by_code
from storage import UnitOfWork


@dataclass(frozen=True, slots=True)
class MergeResult:
    old: str
    into: str
    dossiers: int
    accounts: int
    units: int
    requests: int


class UnitMerge:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock

    async def merge(self, old_code: str, into_code: str) -> MergeResult:
        """Everything the old unit holds moves to the new one, in one transaction, one audit event per object."""
        async with sensitive(self.uow, self.actor, self.clock, Action.MANAGE_UNITS) as repos:
            old = await unit_by_code(repos, old_code, "old")
            into = await unit_by_code(repos, into_code, "into")
            if into.path.startswith(old.path):
                raise InvalidInput("into", N_("A unit cannot be merged into itself or its own subunits."))
            held = await repos.dossiers.held_by(old.id)
            moved = await repos.units.merge_into(old, into, local_today(self.clock))
            await TransferService(self.uow, self.actor, self.clock).merge_custody(repos, old, into, held)
            for kind, ids in moved.items():
                for object_id in ids:
                    await record(repos, self.clock, self.actor, "unit.merge.move", kind, object_id,
                                 old=old.code, into=into.code)
            await record(repos, self.clock, self.actor, "unit.merge", "unit", old.code, into=into.code,
                         **{kind: len(ids) for kind, ids in moved.items()})
            return MergeResult(old.code, into.code, len(moved["dossier"]), len(moved["account"]),
                               len(moved["unit"]), len(moved["subaccount_request"]))
