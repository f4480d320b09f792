"""A role's mask follows the data, not the section: a manager sees neither family nor addresses wherever
they appear (the card and each of its sections, the printed 2C form, the change history and its papers,
the dossier as of a date, the declarations to review, the export, the statistics, the audit and the
inspection), while the roles that may see them see them all.

One dossier is seeded with distinctive private values: its family, its addresses and phone at /new and
later, a divorce, a change of address, a marriage with its scanned certificate, and the person's own
declaration of a new address, still pending. Each role's whole output is then gathered, through the
services on each database backend and through the bot, and searched for every one of those values.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn
from openpyxl import load_workbook
from sqlalchemy import select

from handlers.dossiers import DossierSection, HistoryOpen, OpenDossier, PrintDossier
from handlers.history import AsOfAsk, AttachmentGet
from services.changes.declarations import Declarations
from services.changes.log import ChangeLog
from services.changes.new_dossiers import NewDossiers
from services.core.actor import Actor
from services.core.clock import FrozenClock, parse_date
from services.core.errors import PermissionDenied
from services.documents.print2c import printed_2c
from services.dossiers.history import HistoryService
from services.dossiers.io.service import DossierIOService
from services.dossiers.lookup import LookupService
from services.dossiers.service import DossierService
from services.oversight.inspection import InspectionService
from services.oversight.statistics import StatisticsService
from services.platform.attachments import FileStore, Upload
from services.platform.audit import AuditFilter, AuditService
from services.regime.reference import install_reference_lists
from services.regime.setup import install_profile
from storage import Database, UnitOfWork
from storage.models import Attachment, ChangeEvent
from tests.conftest import BotHarness
from tests.test_accounts import sign_in, tree
from tests.test_lookup import add_people

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

# The person, and the private values of their dossier: none may reach a manager.
PERSONAL_ID, NAME = "092192000321", "Đặng Thị Ngọc Hân"
SPOUSE, SPOUSE_BORN, SPOUSE_WORK = "Lâm Văn Phúc", "1990", "Kỹ sư cầu đường"
FORMER_SPOUSE = "Hồ Quang Vinh"
FATHER, MOTHER = "Đặng Văn Thọ", "Trần Thị Ngọc Lan"
FIRST_HOME, FIRST_LODGING = "Số 3 Đường Lan Hồ Điệp", "Số 5 Hẻm Trúc Xanh"  # given at /new
PHONE = "0939111222"  # completed later
HOME, LODGING = "Số 7 Đường Hoa Sứ", "Số 9 Hẻm Mai Vàng"  # the change of address
DECLARED_LODGING = "Số 21 Ngõ Cúc Tím"  # the person's own declaration, waiting for the clerk
CERTIFICATE = "giay-chung-nhan-ket-hon.pdf"  # the marriage's scanned paper
MARRIED, DIVORCED = f"Kết hôn với {SPOUSE}", f"Ly hôn với {FORMER_SPOUSE}"  # the declarations' own words
MASKED = (SPOUSE, SPOUSE_WORK, FORMER_SPOUSE, FATHER, MOTHER, FIRST_HOME, FIRST_LODGING, PHONE, HOME, LODGING,
          DECLARED_LODGING, CERTIFICATE, MARRIED, DIVORCED)
# Shown to the roles that may see it, as plainly as a manager sees the rest.
PUBLIC = ("Phó Trưởng phòng", PERSONAL_ID)

# role → (username, unit, Telegram user)
ACCOUNTS = {"admin": ("ha.snv", "CT", 401), "clerk": ("lan.syt", "SYT", 501), "manager": ("minh.syt", "SYT", 601),
            "auditor": ("kiem.ct", "CT", 701), "employee": ("han.nv", "SYT", 801)}
ROLES = tuple(ACCOUNTS)
SEE_PRIVATE = ("admin", "clerk", "employee")  # the employee on their own dossier
READERS = ("admin", "clerk", "manager", "employee")  # who opens the dossier at all
AS_OF_DAYS = ("20/03/2026", "30/06/2026")  # before the change of address, and after everything
PRIVATE_KINDS = ("marriage", "divorce", "address")


# -- the data ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Seeded:
    dossier_id: int
    actors: dict[str, Actor]
    files: FileStore
    events: dict[str, int]  # kind → event id (the address kind: the agency's change; "declared": the person's)


async def seed(uow: UnitOfWork, clock: FrozenClock, files: Path) -> Seeded:
    await tree(uow, clock)
    await install_reference_lists(uow)
    await install_profile(uow, clock, "hau-giang-2016")
    await add_people(uow, clock)  # others in the scope, so that no output is about this person alone
    actors = {}
    for role, (username, unit, user_id) in ACCOUNTS.items():
        actors[role] = await sign_in(uow, clock, username, unit, role, user_id,
                                     PERSONAL_ID if role == "employee" else None)
    store = FileStore(files)
    clerk = ChangeLog(uow, actors["clerk"], clock, store)
    created = await NewDossiers(uow, actors["clerk"], clock, store).create({
        "full_name": NAME, "sex": "F", "birth_date": "12/03/1992", "personal_id": PERSONAL_ID, "ethnicity": "01",
        "custodian_unit": "SYT", "rank_code": "01.003", "post": "Chuyên viên", "employment_status": "active",
        "doc_number": "45/QĐ-SYT", "doc_date": "20/02/2026", "doc_issuer": "Sở Y tế", "effective_on": "01/03/2026",
        "birthplace": "Cần Thơ", "home_town": "Hậu Giang", "permanent_address": FIRST_HOME,
        "current_address": FIRST_LODGING,
    })
    hoa = created.dossier_id
    async with uow.write() as repos:
        await repos.dossiers.add_records([
            {"dossier_id": hoa, "kind": "family", "date_from": None, "date_to": None, "created_at": clock.now(),
             "data": {"relation": "Cha", "name": FATHER, "born": "1960", "details": "Nông dân, Phụng Hiệp"}},
            {"dossier_id": hoa, "kind": "family", "date_from": None, "date_to": None, "created_at": clock.now(),
             "data": {"relation": "Mẹ", "name": MOTHER, "born": "1963", "details": "Nội trợ"}},
        ])
    events = {}
    no_paper = {"doc_number": "", "doc_date": "", "doc_issuer": ""}
    events["supplement"] = (await clerk.log("supplement", hoa, {"phone": PHONE, **no_paper,
                                                                "effective_on": "15/03/2026"})).event_id
    events["divorce"] = (await clerk.log("divorce", hoa, {"spouse_name": FORMER_SPOUSE, **no_paper,
                                                          "effective_on": "01/04/2026"})).event_id
    events["address"] = (await clerk.log("address", hoa, {"permanent_address": HOME, "current_address": LODGING,
                                                          **no_paper, "effective_on": "15/05/2026"})).event_id
    events["marriage"] = (await clerk.log(
        "marriage", hoa, {"spouse_name": SPOUSE, "spouse_birth_year": SPOUSE_BORN, "spouse_occupation": SPOUSE_WORK,
                          **no_paper, "effective_on": "01/06/2026"}, [Upload(CERTIFICATE, PDF)])).event_id
    events["appointment"] = (await clerk.log(
        "appointment", hoa, {"post": "Phó Trưởng phòng", "position_allowance": "", "doc_number": "7/QĐ-SYT",
                             "doc_date": "15/06/2026", "doc_issuer": "Sở Y tế", "effective_on": "15/06/2026"})).event_id
    declared = await Declarations(uow, actors["employee"], clock, store).declare(
        "address", {"current_address": DECLARED_LODGING, "effective_on": "20/06/2026"})
    events["declared"] = declared.event_id
    return Seeded(hoa, actors, store, events)


# -- reading the files back ---------------------------------------------------------------------------------
def docx_text(content: bytes) -> str:
    """Every word of a .docx: its paragraphs and table cells as python-docx reads them, every paragraph of
    the body at any depth (the tables nested in the form's frames), headers, footers and properties."""
    document = docx.Document(io.BytesIO(content))
    parts = [paragraph.text for paragraph in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    parts += ["".join(t.text or "" for t in p.iter(qn("w:t"))) for p in document.element.body.iter(qn("w:p"))]
    for section in document.sections:
        parts += [p.text for part in (section.header, section.footer) for p in part.paragraphs]
    props = document.core_properties
    parts += [props.title or "", props.subject or "", props.keywords or "", props.comments or ""]
    with zipfile.ZipFile(io.BytesIO(content)) as archive:  # and whatever else the package holds
        parts += [archive.read(name).decode("utf-8", "replace") for name in archive.namelist()
                  if name.endswith(".xml")]
    return "\n".join(parts)


def xlsx_text(content: bytes) -> str:
    workbook = load_workbook(io.BytesIO(content))
    return "\n".join(str(cell.value) for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row
                     if cell.value is not None)


def csv_text(content: bytes) -> str:
    return "\n".join(",".join(row) for row in csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def file_text(name: str, content: bytes) -> str:
    if name.endswith(".docx"):
        return docx_text(content)
    if name.endswith(".xlsx"):
        return xlsx_text(content)
    if name.endswith(".csv"):
        return csv_text(content)
    return content.decode("latin-1")  # a PDF or a picture: its bytes, searched as they are


# -- what each role gets ------------------------------------------------------------------------------------
Outputs = dict[str, str | None]  # output → its whole text; None: refused to this role


async def gather(outputs: Outputs, name: str, make: Callable[[], Awaitable[str]]) -> None:
    try:
        outputs[name] = await make()
    except PermissionDenied:
        outputs[name] = None


async def service_outputs(uow: UnitOfWork, clock: FrozenClock, seeded: Seeded, role: str, tmp_path: Path) -> Outputs:
    actor, hoa = seeded.actors[role], seeded.dossier_id
    dossiers, past = DossierService(uow, actor, clock), HistoryService(uow, actor, clock, seeded.files)
    declarations = Declarations(uow, actor, clock, seeded.files)
    outputs: Outputs = {}

    async def printed() -> str:
        name, content = await printed_2c(dossiers, clock, hoa)
        return name + "\n" + docx_text(content)

    async def as_of() -> str:
        return "\n".join([repr(await past.as_of(hoa, parse_date(day))) for day in AS_OF_DAYS])

    async def attachments() -> str:
        async with uow.read() as repos:
            ids = list(await repos.session.scalars(select(Attachment.id)))
        found = []
        for attachment_id in ids:
            try:
                name, content = await past.attachment(attachment_id)
            except PermissionDenied:
                continue
            found.append(name + "\n" + file_text(name, content))
        return "\n".join(found)

    async def export(suffix: str) -> str:
        path = tmp_path / f"{role}-export{suffix}"
        await DossierIOService(uow, actor, clock).export_file(path)
        return file_text(path.name, path.read_bytes())

    async def audit() -> str:
        pages, before = [], None
        while True:
            page = await AuditService(uow, actor, clock).events(AuditFilter(), before_seq=before, limit=50)
            pages.append(repr(page.entries))
            if page.older_than is None:
                return "\n".join(pages)
            before = page.older_than

    async def inspection() -> str:
        return repr(await InspectionService(uow, actor, clock).run())

    async def card() -> str:
        return repr(await dossiers.card(hoa))

    async def full() -> str:
        return repr(await dossiers.full(hoa)) + "\n" + repr(dossiers.sections())

    async def history() -> str:
        return repr(await past.history(hoa))

    async def pending() -> str:
        return repr(await declarations.pending())

    async def statistics() -> str:
        return repr(await StatisticsService(uow, actor, clock).table())

    async def find() -> str:
        return repr(await LookupService(uow, actor, clock).find("Ngọc Hân"))

    async def export_xlsx() -> str:
        return await export(".xlsx")

    async def export_csv() -> str:
        return await export(".csv")

    for name, make in (("card", card), ("full", full), ("2c", printed), ("history", history), ("as_of", as_of),
                       ("attachments", attachments), ("pending", pending), ("export.xlsx", export_xlsx),
                       ("export.csv", export_csv), ("statistics", statistics), ("find", find), ("audit", audit),
                       ("inspection", inspection)):
        await gather(outputs, name, make)
    return outputs


# What each role must reach, so that the search is known to cover it.
REACHES = {
    "admin": ("card", "full", "2c", "history", "as_of", "attachments", "pending", "export.xlsx", "export.csv",
              "statistics", "find", "audit", "inspection"),
    "clerk": ("card", "full", "2c", "history", "as_of", "attachments", "pending", "export.xlsx", "export.csv",
              "statistics", "find"),
    "manager": ("card", "full", "2c", "history", "as_of", "export.xlsx", "export.csv", "statistics", "find"),
    "auditor": ("audit", "inspection"),
    "employee": ("card", "full", "2c", "history", "as_of", "attachments"),
}
# Where the roles that may see private data find it (besides the whole output holding every value).
SHOWN_IN = {
    "full": (SPOUSE, SPOUSE_WORK, FATHER, MOTHER, HOME, LODGING, PHONE, MARRIED, DIVORCED),
    "2c": (SPOUSE, SPOUSE_WORK, FATHER, MOTHER, HOME, LODGING, MARRIED, DIVORCED),
    "history": (SPOUSE, SPOUSE_WORK, FORMER_SPOUSE, FIRST_HOME, FIRST_LODGING, PHONE, HOME, LODGING,
                DECLARED_LODGING, CERTIFICATE),
    "as_of": (FIRST_HOME, FIRST_LODGING, PHONE, HOME, LODGING),
    "attachments": (CERTIFICATE,),
    "export.xlsx": (HOME, LODGING, PHONE),
    "export.csv": (HOME, LODGING, PHONE),
    "pending": (DECLARED_LODGING,),
}


def leaks(outputs: Outputs) -> list[tuple[str, str]]:
    return [(name, value) for name, text in outputs.items() if text for value in MASKED if value in text]


def check(role: str, outputs: Outputs, reaches: tuple[str, ...]) -> None:
    refused = [name for name in reaches if outputs.get(name) is None]
    assert not refused, f"{role} was refused {refused}: the search would miss them"
    if role not in SEE_PRIVATE:
        assert leaks(outputs) == [], f"private data shown to the {role}: {leaks(outputs)}"
    if role == "manager":
        for name in ("card", "full", "2c", "find", "export.xlsx"):  # the rest of the dossier is there
            assert NAME in (outputs[name] or "") or NAME.upper() in (outputs[name] or ""), name
        for name in ("full", "2c", "history"):
            assert "Phó Trưởng phòng" in (outputs[name] or ""), name
    if role in SEE_PRIVATE:
        whole = "\n".join(text for text in outputs.values() if text)
        assert [value for value in MASKED if value not in whole] == []
        for name, values in SHOWN_IN.items():
            if name in reaches:
                assert [value for value in values if value not in (outputs[name] or "")] == [], name
    # The audit and the inspection hold no dossier data for anyone.
    for name in ("audit", "inspection"):
        assert [value for value in MASKED if value in (outputs.get(name) or "")] == [], name
    if outputs.get("audit"):
        assert "change.marriage" in (outputs["audit"] or "") and "declaration.address" in (outputs["audit"] or "")


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_sees_the_private_data_it_may_and_none_other_through_the_services(
    any_database: Database, clock: FrozenClock, tmp_path: Path, role: str
) -> None:
    uow = UnitOfWork(any_database)
    seeded = await seed(uow, clock, tmp_path / "files")
    outputs = await service_outputs(uow, clock, seeded, role, tmp_path)
    check(role, outputs, REACHES[role])
    if role in READERS:
        history = await HistoryService(uow, seeded.actors[role], clock).history(seeded.dossier_id)
        kinds = {entry.kind for entry in history.entries}
        assert {"new", "supplement", "appointment"} <= kinds
        assert bool(kinds & set(PRIVATE_KINDS)) is (role != "manager")
        sections = DossierService(uow, seeded.actors[role], clock).sections()
        assert ("family" in sections) is (role != "manager") and "history" in sections and "identity" in sections


async def test_the_views_name_what_they_withhold_for_a_renderer_to_mark(
    uow: UnitOfWork, clock: FrozenClock, tmp_path: Path
) -> None:
    seeded = await seed(uow, clock, tmp_path / "files")
    for role in READERS:
        actor, hoa = seeded.actors[role], seeded.dossier_id
        expected = frozenset({"family", "address"}) if role == "manager" else frozenset()
        past = HistoryService(uow, actor, clock)
        assert (await DossierService(uow, actor, clock).full(hoa)).withheld == expected
        assert (await past.history(hoa)).withheld == expected
        assert (await past.as_of(hoa, parse_date(AS_OF_DAYS[-1]))).withheld == expected


# -- through the bot ----------------------------------------------------------------------------------------
async def call_outputs(harness: BotHarness, calls: list[Any]) -> str:
    """Everything a batch of Bot API calls carries to the user: texts, captions, alerts, button labels
    and the documents' contents."""
    parts: list[str] = []
    for call in calls:
        for attribute in ("text", "caption"):
            value = getattr(call, attribute, None)
            if isinstance(value, str):
                parts.append(value)
        markup = getattr(call, "reply_markup", None)
        for row in getattr(markup, "inline_keyboard", None) or ():
            parts += [f"{button.text} {button.callback_data}" for button in row]
        document = getattr(call, "document", None)
        if document is not None and hasattr(document, "data"):
            parts.append(document.filename + "\n" + file_text(document.filename, document.data))
    return "\n".join(parts)


async def bot_outputs(harness: BotHarness, seeded: Seeded, role: str) -> dict[str, str]:
    user, hoa = ACCOUNTS[role][2], seeded.dossier_id
    await harness.send("/start", user_id=user)
    anchor = list(harness.session.messages.values())[-1]
    outputs: dict[str, str] = {}

    async def press(name: str, data: str) -> None:
        outputs[name] = await call_outputs(harness, await harness.press(anchor, data, user_id=user))

    async def say(name: str, text: str) -> None:
        outputs[name] = await call_outputs(harness, await harness.send(text, user_id=user))

    await press("card", OpenDossier(id=hoa).pack())
    for section in ("identity", "post_salary", "qualifications", "history", "family"):
        await press(f"section.{section}", DossierSection(id=hoa, section=section).pack())
    await press("2c", PrintDossier(id=hoa).pack())
    await press("history", HistoryOpen(id=hoa).pack())
    async with harness.runtime.uow.read() as repos:
        attachment_ids = list(await repos.session.scalars(select(Attachment.id)))
    for attachment_id in attachment_ids:  # a forged button too: the papers of every change
        await press(f"attachment.{attachment_id}", AttachmentGet(id=attachment_id).pack())
    for day in AS_OF_DAYS:
        await harness.press(anchor, AsOfAsk(id=hoa).pack(), user_id=user)
        await say(f"as_of.{day}", day)
    for command in ("/history", "/pending", "/export", "/stats", "/audit", "/inspect"):
        await say(command, command)
        await harness.send("/cancel", user_id=user)  # whatever it asked is left unanswered
    return outputs


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_sees_the_private_data_it_may_and_none_other_through_the_bot(
    harness: BotHarness, role: str
) -> None:
    runtime = harness.runtime
    seeded = await seed(runtime.uow, runtime.clock, runtime.settings.files_dir)
    outputs = await bot_outputs(harness, seeded, role)
    whole = "\n".join(outputs.values())
    if role not in SEE_PRIVATE:
        leaked = [(name, value) for name, text in outputs.items() for value in MASKED if value in text]
        assert leaked == [], f"private data shown to the {role}: {leaked}"
    if role == "manager":
        assert NAME in outputs["card"] and NAME.upper() in outputs["2c"] and "Phó Trưởng phòng" in outputs["2c"]
        assert "Phó Trưởng phòng" in outputs["section.history"] and PERSONAL_ID in outputs["/export"]
        async with runtime.uow.read() as repos:
            private = list(await repos.session.scalars(select(ChangeEvent.id).where(
                ChangeEvent.kind.in_(PRIVATE_KINDS))))
        assert f"#{seeded.events['appointment']} " in outputs["history"]
        assert [event for event in private if f"#{event} " in outputs["history"]] == []
    if role in SEE_PRIVATE:
        # The declaration the person made is shown to the clerks who review it (/pending), not in a view.
        expected = [value for value in MASKED if role != "employee" or value != DECLARED_LODGING]
        assert [value for value in expected if value not in whole] == []
        assert MARRIED in outputs["section.history"] and SPOUSE in outputs["section.family"]
        assert MARRIED in outputs["2c"] and HOME in outputs["2c"] and HOME in outputs["section.identity"]
        assert FIRST_HOME in outputs["as_of.20/03/2026"] and HOME in outputs["as_of.30/06/2026"]
        assert CERTIFICATE in outputs["history"]
