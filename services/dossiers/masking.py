"""What a role does not see of a dossier: one mask, a property of the data, applied by every reader.

Only the fields a role needs are shown, masked by the data, not the section (invariant 6). Each piece
of private data carries its subject from where it is made, read back from its kind and never from its
words (services.regime.dossier_fields):

- the dossier's fields: the addresses and the phone (`FIELD_SUBJECTS`) are ADDRESS; the identity numbers and
  the salary are IDENTITY_NUMBERS and SALARY, withheld from no role but kept off a channel that carries only a
  summary (`NOT_IN_SUMMARY`, by the actor's `content`);
- the repeating records: a family record, and a declaration of marriage or divorce (type "marital"),
  are FAMILY, in whatever section they are shown (`record_subject`);
- the change events: a kind about private data (`ChangeKind.subject`: a marriage, a divorce, a change
  of address) is withheld whole, with its answers, papers and reason; of any other kind, the answers
  that fill an address field (a new dossier's, the completion's) are ADDRESS.

A role's mask is the subjects it does not see; the card, its sections, the printed form, the history,
the dossier as of a date, the declarations to review, the scanned papers and the export all go
through it. What is withheld is left out; the dossier, its history and its state on a date carry the
subjects withheld for the role (`withheld`), for a renderer to mark: the printed form says where it
withholds the addresses and the family, so that a blank is never read as "not declared".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from services.core.actor import Actor, Content, Role
from services.regime.change_kinds import CUSTODY, KINDS, NEW_DOSSIER
from services.regime.dossier_fields import (
    ADDRESS,
    FAMILY,
    FIELD_SUBJECTS,
    IDENTITY_NUMBERS,
    SALARY,
    SECTION_SUBJECTS,
    Record,
    record_subject,
)

PRIVATE = frozenset({FAMILY, ADDRESS})
# The private subjects each role sees, deny by default: a role not listed sees none of them. A manager
# makes quick lookups, not home visits: no family and no addresses. (An employee reads only their own
# dossier, and all of it; an auditor opens no dossier, and the audit holds none of this data.)
SEES: dict[Role, frozenset[str]] = {
    Role.ADMIN: PRIVATE, Role.CLERK: PRIVATE, Role.AUDITOR: PRIVATE, Role.EMPLOYEE: PRIVATE,
    Role.MANAGER: frozenset(),
}

# What a channel that carries only a summary (the actor's `content`) withholds whatever the role: names, units
# and statuses remain.
NOT_IN_SUMMARY = frozenset({FAMILY, ADDRESS, IDENTITY_NUMBERS, SALARY})

_KIND_SUBJECTS = {kind.name: kind.subject for kind in (*KINDS.values(), NEW_DOSSIER, CUSTODY) if kind.subject}


def change_subject(kind: str) -> str | None:
    """What a change event is about, by its kind: None when it is not private as a whole."""
    return _KIND_SUBJECTS.get(kind)


@dataclass(frozen=True, slots=True)
class Mask:
    withheld: frozenset[str] = frozenset()  # the subjects this role does not see

    def hides(self, subject: str | None) -> bool:
        return subject is not None and subject in self.withheld

    # -- the dossier's own fields --
    def shows_field(self, name: str) -> bool:
        return not self.hides(FIELD_SUBJECTS.get(name))

    def values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """A dossier's fields (or a version's, or a change's answers: those that fill a withheld field go
        too), less those withheld."""
        return {name: value for name, value in values.items() if self.shows_field(name)}

    # -- repeating records --
    def shows_record(self, kind: str, data: Mapping[str, Any]) -> bool:
        return not self.hides(record_subject(kind, data))

    def records(self, records: Iterable[Record]) -> list[Record]:
        return [r for r in records if self.shows_record(r.kind, r.data)]

    # -- change events, their answers and papers --
    def shows_change(self, kind: str) -> bool:
        return not self.hides(change_subject(kind))

    # -- the card's sections --
    def shows_section(self, section: str) -> bool:
        return not self.hides(SECTION_SUBJECTS.get(section))


def mask_for(actor: Actor) -> Mask:
    """The mask of the actor's role (which dossiers it reads at all is services.dossiers.readable), narrowed
    further on a channel that carries only a summary."""
    withheld = PRIVATE - SEES.get(actor.role, frozenset()) if actor.role is not None else PRIVATE
    if actor.content != Content.FULL:
        withheld |= NOT_IN_SUMMARY
    return Mask(withheld)
