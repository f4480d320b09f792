"""Who may do what where. Deny by default.

A role grants actions; an account's unit (and any extension of its scope) grants the subtrees below
them. `can` is the single predicate. `scope_of` gives the same rule as a list of path prefixes, from
which the repositories build their SQL filters, so a list can never show what a view would refuse.
"""

from __future__ import annotations

from enum import StrEnum

from services.core.actor import Actor, Role
from services.core.errors import PermissionDenied


class Action(StrEnum):
    VIEW_OVERVIEW = "overview.view"
    OPEN_DOSSIER = "dossier.open"  # may open dossier cards at all; which ones: services.dossiers.readable
    VIEW_DOSSIER = "dossier.view"
    EDIT_DOSSIER = "dossier.edit"
    DECLARE = "dossier.declare"  # an employee's declaration about their own dossier, for the clerk to review
    REQUEST_TRANSFER = "transfer.request"
    APPROVE_TRANSFER = "transfer.approve"
    REQUEST_SUBACCOUNT = "subaccount.request"
    VIEW_AUDIT = "audit.view"
    MANAGE_UNITS = "units.manage"
    MANAGE_ACCOUNTS = "accounts.manage"
    VIEW_STATISTICS = "statistics.view"  # the aggregate tables of a scope: no person is named
    FILE_REPORT = "report.file"  # fill in and submit a unit's half-yearly report
    REVIEW_REPORTS = "reports.review"  # the submission board and the province's report
    INSPECT = "inspection.run"  # the inspection of how the units keep their dossiers
    SEND_FEEDBACK = "feedback.send"  # a suggestion or a problem, to the personnel office (read-only accounts too)
    ANSWER_FEEDBACK = "feedback.answer"
    VERIFY_PRINTOUT = "printout.verify"  # check the code of a printed form or report: every role holds paper


# Actions that change something: a restricted account keeps only the others.
WRITES = frozenset({
    Action.EDIT_DOSSIER, Action.DECLARE, Action.REQUEST_TRANSFER, Action.APPROVE_TRANSFER, Action.REQUEST_SUBACCOUNT,
    Action.MANAGE_UNITS, Action.MANAGE_ACCOUNTS, Action.FILE_REPORT, Action.ANSWER_FEEDBACK,
})
# Actions that concern no unit in particular.
UNSCOPED = frozenset({
    Action.VIEW_OVERVIEW, Action.OPEN_DOSSIER, Action.DECLARE, Action.VIEW_AUDIT, Action.MANAGE_UNITS, Action.MANAGE_ACCOUNTS,
    Action.REVIEW_REPORTS, Action.INSPECT, Action.SEND_FEEDBACK, Action.ANSWER_FEEDBACK, Action.VERIFY_PRINTOUT,
})

GRANTS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.CLERK: frozenset({
        Action.VIEW_OVERVIEW, Action.OPEN_DOSSIER, Action.VIEW_DOSSIER, Action.EDIT_DOSSIER, Action.REQUEST_TRANSFER,
        Action.APPROVE_TRANSFER, Action.REQUEST_SUBACCOUNT, Action.VIEW_STATISTICS, Action.FILE_REPORT,
        Action.SEND_FEEDBACK, Action.VERIFY_PRINTOUT,
    }),
    Role.MANAGER: frozenset({Action.VIEW_OVERVIEW, Action.OPEN_DOSSIER, Action.VIEW_DOSSIER, Action.VIEW_STATISTICS,
                             Action.SEND_FEEDBACK, Action.VERIFY_PRINTOUT}),
    Role.AUDITOR: frozenset({Action.VIEW_OVERVIEW, Action.VIEW_AUDIT, Action.INSPECT, Action.SEND_FEEDBACK,
                            Action.VERIFY_PRINTOUT}),
    Role.EMPLOYEE: frozenset({Action.VIEW_OVERVIEW, Action.OPEN_DOSSIER, Action.DECLARE, Action.SEND_FEEDBACK,
                             Action.VERIFY_PRINTOUT}),
}

EVERYWHERE = ("/",)


def allows(actor: Actor, action: Action) -> bool:
    """The role part of the rule: may this actor do this kind of thing at all?"""
    if actor.role is None or action not in GRANTS.get(actor.role, frozenset()):
        return False
    return not (actor.restricted and action in WRITES)


def scope_of(actor: Actor, action: Action) -> tuple[str, ...]:
    """The unit path prefixes where `action` is allowed: () for nowhere, ("/",) for everywhere."""
    if not allows(actor, action):
        return ()
    if actor.role is Role.ADMIN or action in UNSCOPED:
        return EVERYWHERE
    return actor.scope_paths


def can(actor: Actor, action: Action, target_unit_path: str | None = None) -> bool:
    """May `actor` do `action` on something held by the unit at `target_unit_path`?"""
    paths = scope_of(actor, action)
    if paths == EVERYWHERE:
        return True
    return target_unit_path is not None and any(target_unit_path.startswith(path) for path in paths)


def ensure(actor: Actor, action: Action, target_unit_path: str | None = None) -> None:
    """Refuse without saying whether the target exists."""
    if not can(actor, action, target_unit_path):
        raise PermissionDenied()


def dossier_scope(actor: Actor) -> tuple[str, ...]:
    return scope_of(actor, Action.VIEW_DOSSIER)
