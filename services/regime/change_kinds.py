"""What each kind of change asks, as plain data: the front ends turn the prompts into questions.

Agency changes and status changes cite their decision (number, date, issuer) and take effect on a
date. A personal change logged by a clerk may cite a paper; one declared by the person carries only the
date of the event. `/new` asks for the recruitment decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from services.core.i18n import N_
from services.regime.dossier_fields import ADDRESS, FAMILY


class Ask(StrEnum):
    TEXT = "text"
    DATE = "date"  # a real date, any time
    PAST_DATE = "past_date"  # a real date, not in the future
    BIRTH_DATE = "birth_date"
    INT = "int"
    YEAR = "year"
    DECIMAL = "decimal"
    CHOICE = "choice"
    UNIT_IN_SCOPE = "unit_in_scope"  # a unit the actor may write in
    UNIT = "unit"  # any active unit of the province
    RANK = "rank"
    ETHNICITY = "ethnicity"
    EDUCATION = "education"
    PERSONAL_ID = "personal_id"  # 12 digits, not already someone's
    DOC_NUMBER = "doc_number"


class Category(StrEnum):
    NEW = "new"
    AGENCY = "agency"
    PERSONAL = "personal"
    STATUS = "status"
    CUSTODY = "custody"


class Paper(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"


@dataclass(frozen=True, slots=True)
class Prompt:
    key: str
    question: str  # message id
    ask: Ask = Ask.TEXT
    optional: bool = False
    choices: tuple[tuple[str, str], ...] = ()  # (value, label message id)
    group: str | None = None  # an optional group of /new, filled now or later


@dataclass(frozen=True, slots=True)
class ChangeKind:
    name: str
    title: str  # message id
    category: Category
    prompts: tuple[Prompt, ...]
    paper: Paper = Paper.REQUIRED
    declarable: bool = False  # an employee may declare it about themselves
    # What the change is about when it is private data (services.regime.dossier_fields.FAMILY or ADDRESS): its
    # event, answers, papers and the records it writes are withheld from a role without the need.
    subject: str | None = None
    # The question of the effective date when the paper names another date than its own (a salary's
    # "hưởng từ ngày"); None: the decision's effective date.
    effective: Prompt | None = None


SEX_CHOICES = (("M", N_("Male")), ("F", N_("Female")))
DISCIPLINE_FORMS = (
    ("khien_trach", N_("Reprimand")), ("canh_cao", N_("Warning")), ("ha_bac_luong", N_("Salary step demotion")),
    ("giang_chuc", N_("Demotion")), ("cach_chuc", N_("Dismissal from post")),
    ("buoc_thoi_viec", N_("Forced resignation")),
)
DISCIPLINE_LABELS = dict(DISCIPLINE_FORMS)

# The source document, asked after the kind's own questions.
DOC_NUMBER = Prompt("doc_number", N_("Number of the decision (e.g. 123/QĐ-UBND):"), Ask.DOC_NUMBER)
# As the clerk reads them on the paper: the date it was signed ("ngày ký/ban hành") and the date it takes
# effect ("có hiệu lực"), which is never earlier; a deadline counts from the later of the two.
DOC_DATE = Prompt("doc_date", N_("Date the decision was signed or issued (dd/mm/yyyy):"), Ask.PAST_DATE)
DOC_ISSUER = Prompt("doc_issuer", N_("Issued by (e.g. UBND tỉnh Hậu Giang):"))
EFFECTIVE = Prompt("effective_on", N_("Date the decision takes effect (dd/mm/yyyy):"), Ask.DATE)
# A salary decision says from when the new salary is paid ("hưởng từ ngày"): the date of the benefit, which
# may be earlier than the paper; the dossier's salary counts from it.
SALARY_FROM = Prompt("effective_on", N_("New salary paid from (hưởng từ ngày, dd/mm/yyyy):"), Ask.DATE)
EVENT_DATE = Prompt("effective_on", N_("Date of the event (dd/mm/yyyy):"), Ask.PAST_DATE)
EFFECTIVE_PAST = Prompt("effective_on", N_("Date the decision takes effect (dd/mm/yyyy):"), Ask.PAST_DATE)
PAPER_KEYS = ("doc_number", "doc_date", "doc_issuer")


def paper_prompts(paper: Paper) -> tuple[Prompt, ...]:
    optional = paper is Paper.OPTIONAL
    return tuple(Prompt(p.key, p.question, p.ask, optional=optional) for p in (DOC_NUMBER, DOC_DATE, DOC_ISSUER))


KINDS: dict[str, ChangeKind] = {kind.name: kind for kind in (
    # -- made by the agency --
    ChangeKind("training", N_("Training"), Category.AGENCY, (
        Prompt("course", N_("Course or programme:")),
        Prompt("institution", N_("Training institution:")),
        Prompt("date_from", N_("First day of the course (dd/mm/yyyy):"), Ask.DATE),
        Prompt("date_to", N_("Last day of the course (dd/mm/yyyy):"), Ask.DATE, optional=True),
        Prompt("result", N_("Certificate or degree obtained:"), optional=True),
    )),
    ChangeKind("appointment", N_("Appointment"), Category.AGENCY, (
        Prompt("post", N_("New post (e.g. Phó Trưởng phòng):")),
        Prompt("position_allowance", N_("Position allowance coefficient (e.g. 0.20):"), Ask.DECIMAL, optional=True),
    )),
    ChangeKind("transfer", N_("Transfer to another unit"), Category.AGENCY, (
        Prompt("working_unit", N_("Code of the unit the person now works in:"), Ask.UNIT),
        Prompt("post", N_("Post in the new unit:"), optional=True),
    )),
    ChangeKind("rotation", N_("Rotation"), Category.AGENCY, (
        Prompt("working_unit", N_("Code of the unit the person is rotated to:"), Ask.UNIT_IN_SCOPE),
        Prompt("post", N_("Post in that unit:"), optional=True),
    )),
    # The step and coefficient the decision gives, when they are not the table's next ones.
    ChangeKind("salary_raise", N_("Salary step raise"), Category.AGENCY, (
        Prompt("salary_step", N_("Step on the decision (empty: the table's next step):"), Ask.INT, optional=True),
        Prompt("salary_coefficient", N_("Coefficient on the decision (empty: the table's for that step):"),
               Ask.DECIMAL, optional=True),
    ), effective=SALARY_FROM),
    ChangeKind("rank_raise", N_("Rank raise"), Category.AGENCY, (
        Prompt("rank_code", N_("The new rank:"), Ask.RANK),
    ), effective=SALARY_FROM),
    ChangeKind("commendation", N_("Commendation"), Category.AGENCY, (
        Prompt("form", N_("Form of commendation (e.g. Bằng khen của Chủ tịch UBND tỉnh):")),
        Prompt("reason", N_("For what:"), optional=True),
    )),
    ChangeKind("discipline", N_("Discipline"), Category.AGENCY, (
        Prompt("form", N_("Form of discipline:"), Ask.CHOICE, choices=DISCIPLINE_FORMS),
        Prompt("reason", N_("Reason:")),
    )),
    # The decision that puts the next regular raise off (kéo dài thời gian nâng bậc lương): the recorded
    # reason why a step is older than its period.
    ChangeKind("raise_postponed", N_("Salary raise postponed"), Category.AGENCY, (
        Prompt("months", N_("Postponed by how many months (e.g. 6):"), Ask.INT),
        Prompt("reason", N_("Reason (e.g. did not complete the tasks of 2025):")),
    )),
    # -- the person's own --
    ChangeKind("asset_declaration", N_("Asset declaration"), Category.PERSONAL, (
        Prompt("year", N_("Year declared for:"), Ask.YEAR),
        Prompt("summary", N_("Summary of the declaration (changes since the last one):")),
    ), paper=Paper.OPTIONAL, declarable=True),
    ChangeKind("income_tax", N_("Personal income tax"), Category.PERSONAL, (
        Prompt("year", N_("Tax year:"), Ask.YEAR),
        Prompt("tax_code", N_("Personal tax code:"), optional=True),
        Prompt("summary", N_("What was declared or settled:")),
    ), paper=Paper.OPTIONAL, declarable=True),
    ChangeKind("marriage", N_("Marriage"), Category.PERSONAL, (
        Prompt("spouse_name", N_("Full name of the spouse:")),
        Prompt("spouse_birth_year", N_("Spouse's year of birth:"), Ask.YEAR),
        Prompt("spouse_occupation", N_("Spouse's occupation and workplace:"), optional=True),
    ), paper=Paper.OPTIONAL, declarable=True, subject=FAMILY),
    ChangeKind("divorce", N_("Divorce"), Category.PERSONAL, (
        Prompt("spouse_name", N_("Full name of the former spouse:")),
    ), paper=Paper.OPTIONAL, declarable=True, subject=FAMILY),
    ChangeKind("address", N_("Change of address"), Category.PERSONAL, (
        Prompt("permanent_address", N_("Permanent address:"), optional=True),
        Prompt("current_address", N_("Current address:")),
    ), paper=Paper.OPTIONAL, declarable=True, subject=ADDRESS),
    # -- employment status --
    ChangeKind("probation_passed", N_("Probation passed"), Category.STATUS, ()),
    ChangeKind("retirement", N_("Retirement"), Category.STATUS, ()),
    ChangeKind("resignation", N_("Resignation"), Category.STATUS, ()),
    ChangeKind("death", N_("Death"), Category.STATUS, ()),
)}

CATEGORY_TITLES = {
    Category.AGENCY: N_("Agency changes"), Category.PERSONAL: N_("Personal changes"),
    Category.STATUS: N_("Status changes"),
}

# /new: the required questions, then optional groups.
NEW_GROUPS = {
    "contact": N_("Birthplace and addresses"),
    "salary": N_("Post and salary"),
    "qualifications": N_("Qualifications"),
    "party": N_("Party and military"),
}
NEW_DOSSIER = ChangeKind("new", N_("New dossier"), Category.NEW, (
    Prompt("full_name", N_("Full name, with diacritics (e.g. Đặng Thị Thuỷ):")),
    Prompt("sex", N_("Sex:"), Ask.CHOICE, choices=SEX_CHOICES),
    Prompt("birth_date", N_("Date of birth (dd/mm/yyyy):"), Ask.BIRTH_DATE),
    Prompt("personal_id", N_("Personal ID (12 digits):"), Ask.PERSONAL_ID),
    Prompt("ethnicity", N_("Ethnicity (a button, or type the name):"), Ask.ETHNICITY),
    Prompt("custodian_unit", N_("Unit that keeps the dossier:"), Ask.UNIT_IN_SCOPE),
    Prompt("rank_code", N_("Rank or professional title:"), Ask.RANK),
    Prompt("post", N_("Post (e.g. Chuyên viên phòng Tổ chức):")),
    Prompt("employment_status", N_("Probation:"), Ask.CHOICE, choices=(
        ("probation", N_("On probation")), ("active", N_("No probation (already served)")))),
    Prompt("doc_number", N_("Number of the recruitment decision (e.g. 45/QĐ-SNV):"), Ask.DOC_NUMBER),
    Prompt("doc_date", N_("Date of the recruitment decision (dd/mm/yyyy):"), Ask.PAST_DATE),
    Prompt("doc_issuer", N_("Recruitment decision issued by:")),
    Prompt("effective_on", N_("Recruited on (the decision's effective date, dd/mm/yyyy):"), Ask.DATE),
    # optional groups
    Prompt("birthplace", N_("Place of birth:"), optional=True, group="contact"),
    Prompt("home_town", N_("Home town:"), optional=True, group="contact"),
    Prompt("permanent_address", N_("Permanent address:"), optional=True, group="contact"),
    Prompt("current_address", N_("Current address:"), optional=True, group="contact"),
    Prompt("phone", N_("Phone:"), optional=True, group="contact"),
    Prompt("salary_step", N_("Salary step (empty: step 1 of the rank):"), Ask.INT, optional=True, group="salary"),
    Prompt("salary_since", N_("Salary step held since (dd/mm/yyyy):"), Ask.PAST_DATE, optional=True, group="salary"),
    Prompt("professional_level", N_("Professional level:"), Ask.EDUCATION, optional=True, group="qualifications"),
    Prompt("major", N_("Major:"), optional=True, group="qualifications"),
    Prompt("political_theory", N_("Political theory:"), optional=True, group="qualifications"),
    Prompt("state_management", N_("State management:"), optional=True, group="qualifications"),
    Prompt("foreign_language", N_("Foreign language:"), optional=True, group="qualifications"),
    Prompt("it_skill", N_("IT:"), optional=True, group="qualifications"),
    Prompt("party_joined_on", N_("Joined the Party on (dd/mm/yyyy):"), Ask.PAST_DATE, optional=True, group="party"),
    Prompt("party_official_on", N_("Official Party member on (dd/mm/yyyy):"), Ask.PAST_DATE, optional=True,
           group="party"),
    Prompt("military_enlisted_on", N_("Enlisted on (dd/mm/yyyy):"), Ask.PAST_DATE, optional=True, group="party"),
), paper=Paper.REQUIRED)


# /update → "Decision received, enter later": registered now, so that its deadline is followed up; it
# closes when the change it makes is logged with the same decision number.
REGISTRATION = ChangeKind("registration", N_("Decision received, enter later"), Category.AGENCY, (
    Prompt("for_kind", N_("What does the decision change?"), Ask.CHOICE,
           choices=tuple((kind.name, kind.title) for kind in KINDS.values() if kind.category is not Category.PERSONAL)),
))
KINDS[REGISTRATION.name] = REGISTRATION

# /update → "Complete the dossier": the optional groups of /new, filled later.
# It fills what is missing; the salary, which a decision changes, is not among it.
SUPPLEMENT = ChangeKind("supplement", N_("Complete the dossier"), Category.AGENCY,
                        tuple(p for p in NEW_DOSSIER.prompts if p.group not in (None, "salary")), paper=Paper.OPTIONAL)
KINDS[SUPPLEMENT.name] = SUPPLEMENT


# /transfer: the receiving unit's written request for a dossier another unit holds.
CUSTODY = ChangeKind("custody", N_("Custody transfer"), Category.CUSTODY, (
    Prompt("receiving_unit", N_("Which of your units asks for the dossier?"), Ask.UNIT_IN_SCOPE),
    Prompt("doc_number", N_("Number of the written request (e.g. 56/CV-SYT):"), Ask.DOC_NUMBER),
    Prompt("doc_date", N_("Date of the written request (dd/mm/yyyy):"), Ask.PAST_DATE),
    Prompt("doc_issuer", N_("Signed by (name and title):")),
))


def prompts_of(kind: ChangeKind, declared: bool = False) -> tuple[Prompt, ...]:
    """Every question of a kind, in order: its own, then the paper and the effective date."""
    if kind.category in (Category.NEW, Category.CUSTODY):
        return kind.prompts
    if declared:
        return (*kind.prompts, EVENT_DATE)
    # A status takes effect only when it is reached: a decision for later is registered ("enter later").
    effective = kind.effective or (EFFECTIVE_PAST if kind.category is Category.STATUS else EFFECTIVE)
    return (*kind.prompts, *paper_prompts(kind.paper), effective)


def kinds_for(declared: bool) -> list[ChangeKind]:
    return [kind for kind in KINDS.values() if kind.declarable or not declared]
