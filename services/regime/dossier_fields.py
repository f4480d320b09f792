"""The dossier's fields, grouped as on Mẫu 2C-BNV/2008 and HS02-VC/BNV, and the kinds of repeating records.

One list serves the card's sections, the printed 2C form, import and export, so that a field added here
appears everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.core.i18n import N_

# section → (field, label message id); labels are the form's own wording.
SECTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "identity": (
        ("full_name", N_("Full name")), ("other_names", N_("Other names")), ("sex", N_("Sex")),
        ("birth_date", N_("Date of birth")), ("birthplace", N_("Place of birth")), ("home_town", N_("Home town")),
        ("ethnicity", N_("Ethnicity")), ("religion", N_("Religion")), ("nationality", N_("Nationality")),
        ("personal_id", N_("Personal ID")), ("id_issued_on", N_("ID issued on")),
        ("social_insurance_no", N_("Social insurance number")), ("permanent_address", N_("Permanent address")),
        ("current_address", N_("Current address")), ("phone", N_("Phone")),
    ),
    "post_salary": (
        ("recruited_on", N_("Recruited on")), ("recruiting_agency", N_("Recruiting agency")),
        ("recruitment_decision", N_("Recruitment decision")), ("post", N_("Current post")),
        ("post_since", N_("In the post since")), ("rank_code", N_("Rank code")), ("rank_name", N_("Rank or title")),
        ("rank_since", N_("In the rank since")), ("salary_step", N_("Salary step")),
        ("salary_coefficient", N_("Coefficient")), ("salary_since", N_("Salary since")),
        ("position_allowance", N_("Position allowance")), ("over_ceiling_percent", N_("Over-ceiling allowance (%)")),
        ("other_allowances", N_("Other allowances")), ("employment_status", N_("Employment status")),
    ),
    "qualifications": (
        ("general_education", N_("General education")), ("professional_level", N_("Professional level")),
        ("major", N_("Major")), ("political_theory", N_("Political theory")),
        ("state_management", N_("State management")), ("foreign_language", N_("Foreign language")),
        ("it_skill", N_("IT")), ("party_joined_on", N_("Joined the Party on")),
        ("party_official_on", N_("Official Party member on")), ("military_enlisted_on", N_("Enlisted on")),
        ("military_discharged_on", N_("Discharged on")), ("military_rank", N_("Highest military rank")),
    ),
}
SECTION_TITLES = {
    "identity": N_("Identity"), "post_salary": N_("Post and salary"), "qualifications": N_("Qualifications"),
    "history": N_("History"), "family": N_("Family"),
}
# What a piece of private data is about, for the roles that have no need of it (services.dossiers.masking). The
# subject is given by the data's kind where the data is made, and read back from the kind, never from
# the data's words.
FAMILY, ADDRESS = "family", "address"
# The dossier's fields that are the person's address and contact.
ADDRESS_FIELDS = frozenset({"permanent_address", "current_address", "phone"})
# Not private to any role, but kept off a channel that carries only a summary (HOSO_CHANNEL_CONTENT): the
# identity numbers and the salary.
IDENTITY_NUMBERS, SALARY = "identity_numbers", "salary"
IDENTITY_FIELDS = frozenset({"personal_id", "id_issued_on", "social_insurance_no"})
SALARY_FIELDS = frozenset({"salary_step", "salary_coefficient", "salary_since", "position_allowance",
                           "over_ceiling_percent", "other_allowances"})
FIELD_SUBJECTS: dict[str, str] = {**dict.fromkeys(ADDRESS_FIELDS, ADDRESS), **dict.fromkeys(IDENTITY_FIELDS, IDENTITY_NUMBERS),
                                  **dict.fromkeys(SALARY_FIELDS, SALARY)}

RECORD_KINDS: dict[str, str] = {
    "work_history": N_("Work history"), "training": N_("Training"), "salary_history": N_("Salary history"),
    "commendation": N_("Commendations"), "discipline": N_("Disciplines"), "family": N_("Family"),
    "declaration": N_("Declarations"),
}
HISTORY_KINDS = ("work_history", "training", "salary_history", "commendation", "discipline", "declaration")
# The type of the declaration a marriage or a divorce writes: about the family, wherever it is shown
# (the card's history, item 29 of the printed form).
MARITAL = "marital"
RECORD_SUBJECTS: dict[str, str] = {"family": FAMILY, "salary_history": SALARY}
DECLARATION_SUBJECTS: dict[str, str] = {MARITAL: FAMILY}
# The card's sections that hold nothing but one subject's data.
SECTION_SUBJECTS: dict[str, str] = {"family": FAMILY}


def record_subject(kind: str, data: Mapping[str, Any]) -> str | None:
    """What a repeating record is about: by its kind, and a declaration by its type."""
    if kind == "declaration":
        return DECLARATION_SUBJECTS.get(str(data.get("type")))
    return RECORD_SUBJECTS.get(kind)


# The keys of a record's data that hold a code for the program ("spouse", "marital"), never shown as words.
CODED_KEYS = frozenset({"side", "type"})


@dataclass(frozen=True, slots=True)
class Record:
    kind: str
    date_from: dt.date | None
    date_to: dt.date | None
    data: dict[str, Any]

    @property
    def text(self) -> str:
        """The record's own words: a description, or its values joined, less the internal codes (a family
        record's side, a declaration's type), which are for the program, not for the reader."""
        return str(self.data.get("text") or "; ".join(
            f"{v}" for k, v in self.data.items() if k not in CODED_KEYS and v not in (None, "")))


@dataclass(frozen=True, slots=True)
class DossierFull:
    """Everything of one dossier, as plain data: for the card, the printed form and export."""

    id: int
    values: dict[str, Any]  # every column of SECTIONS, plus the ids
    custodian_unit: str
    working_unit: str
    records: tuple[Record, ...] = field(default=())
    # The private subjects (FAMILY, ADDRESS) left out for the reader's role, whether the dossier holds any
    # or not: what a renderer may mark as withheld rather than show as empty.
    withheld: frozenset[str] = frozenset()

    def of_kind(self, kind: str) -> list[Record]:
        return [record for record in self.records if record.kind == kind]

# The fields of Mẫu 2C/HS02 a dossier is not complete without (the identity questions of /new are
# required anyway): a new dossier is followed up until these are filled.
MANDATORY_FIELDS = ("birthplace", "home_town", "ethnicity", "permanent_address", "current_address", "recruited_on",
                    "post", "rank_code", "salary_step", "professional_level")
