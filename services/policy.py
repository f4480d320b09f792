"""Who may do what where. Deny by default: an action not granted to a role is refused.

A role grants actions; an account's unit grants the subtree below it. `dossier_scope` is the single
predicate behind both the one-record check and the list filter, so a list never shows what a view
would refuse.
"""

from __future__ import annotations

from enum import StrEnum

from services.actor import Actor, Role
from services.errors import PermissionDenied


class Action(StrEnum):
    VIEW_OVERVIEW = "overview.view"
    VIEW_DOSSIER = "dossier.view"
    EDIT_DOSSIER = "dossier.edit"
    VIEW_AUDIT = "audit.view"
    ADMINISTER = "admin"


GRANTS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.CLERK: frozenset({Action.VIEW_OVERVIEW, Action.VIEW_DOSSIER, Action.EDIT_DOSSIER}),
    Role.MANAGER: frozenset({Action.VIEW_OVERVIEW, Action.VIEW_DOSSIER}),
    Role.AUDITOR: frozenset({Action.VIEW_OVERVIEW, Action.VIEW_AUDIT}),
    Role.EMPLOYEE: frozenset({Action.VIEW_OVERVIEW}),
}


def allows(actor: Actor, action: Action) -> bool:
    return actor.role is not None and action in GRANTS.get(actor.role, frozenset())


def ensure(actor: Actor, action: Action) -> None:
    if not allows(actor, action):
        raise PermissionDenied()


def dossier_scope(actor: Actor) -> str | None:
    """The unit path prefix whose dossiers the actor may read, or None for none at all."""
    if not allows(actor, Action.VIEW_DOSSIER):
        return None
    if actor.role is Role.ADMIN:
        return "/"
    return actor.unit_path
