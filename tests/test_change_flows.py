"""The guided change flows through the real Dispatcher: /new, /update with every kind of change, /declare
with the clerk's review, /history with "as of", scanned papers, and the form engine under them (bad
answers, Back, Edit field, /cancel at every step, a restart in the middle).

The Vietnamese catalog is still being completed, so no assertion depends on it: they rest on names,
dates, numbers, codes, "#<event>" and database rows, and on texts rendered through the bot's own
translator for the user's locale (`tr`), which reads the same whether a message id is translated yet
or not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram.enums import ChatType
from aiogram.types import Chat, Document, File, Message, PhotoSize, Update
from sqlalchemy import select

from bot.factory import create_bot
from bot.local_session import LOCAL_BOT_TOKEN, LocalBotSession
from bot.runtime import open_runtime
from handlers.changes import CHANGE_FORMS, DECLARATION_FORMS, NEW_FORM, ChangeKindPick, Decide, DeclareKindPick
from handlers.dossiers import HistoryOpen, UpdatePick
from handlers.forms import Form, FormBack, FormConfirm, FormEdit, FormGroup
from handlers.history import AsOfAsk, AttachmentGet
from handlers.views import esc
from services.core.identity import load_actor
from services.dossiers.history import snapshot
from services.regime.change_kinds import KINDS
from services.regime.reference import install_reference_lists
from services.regime.setup import install_profile
from storage.models import Attachment, ChangeEvent, Dossier, DossierRecord, DossierVersion
from tests.conftest import BotHarness, outbox_rows
from tests.talk import Talk, tr
from tests.test_accounts import audit_actions, sign_in, tree
from tests.test_attachments import JPEG, PDF
from tests.test_lookup import PEOPLE, add_people, bot_sign_in

pytestmark = pytest.mark.both_transports  # the same flows over the web chat's transport (tests/conftest.py)

CLERK, EMPLOYEE, STC_CLERK = 501, 777, 503
HOA = "001188000111"  # Đặng Thị Hoà: active at SYT, rank 01.003, post Chuyên viên
AN = "092187000666"   # Nguyễn Văn An: active at SYT
NAMES = {pid: name for pid, name, *_rest in PEOPLE}

PAPER = {"doc_number": "12/QĐ-SYT", "doc_date": "15/06/2026", "doc_issuer": "Sở Y tế"}
EFFECTIVE, E = "20/06/2026", dt.date(2026, 6, 20)
DEADLINE = dt.date(2026, 7, 6)  # 15 calendar days from 20/06 end on Sun 05/07: Mon 06/07 (hau-giang-2016)


# -- the conversation --------------------------------------------------------------------------------------
_update_ids = itertools.count(100_000)


def file_update(user_id: int, **content: Any) -> Update:
    number = next(_update_ids)
    message = Message(message_id=number, date=dt.datetime.now(dt.UTC), chat=Chat(id=user_id, type=ChatType.PRIVATE),
                      from_user=BotHarness.user(user_id), **content)
    return Update(update_id=number, message=message)


def document_update(user_id: int, file_id: str, name: str, size: int) -> Update:
    return file_update(user_id, document=Document(file_id=file_id, file_unique_id=f"u-{file_id}", file_name=name,
                                                  file_size=size))


def photo_update(user_id: int, *sizes: tuple[str, int]) -> Update:
    return file_update(user_id, photo=[PhotoSize(file_id=file_id, file_unique_id=f"u-{file_id}", width=side,
                                                 height=side, file_size=side * 10) for file_id, side in sizes])


class FileServingSession(LocalBotSession):
    """The local Bot API, plus getFile and the file downloads of the documents a test sent."""

    def __init__(self, files: dict[str, bytes]) -> None:
        super().__init__()
        self.files = files

    async def _answer(self, bot: Any, method: Any) -> Any:
        if method.__api_method__ == "getFile":
            return File(file_id=method.file_id, file_unique_id=f"u-{method.file_id}",
                        file_size=len(self.files[method.file_id]), file_path=f"documents/{method.file_id}")
        return await super()._answer(bot, method)

    async def stream_content(self, url: str, headers: dict[str, Any] | None = None, timeout: int = 30,
                             chunk_size: int = 65536, raise_for_status: bool = True) -> AsyncGenerator[bytes, None]:
        yield self.files[url.rsplit("/", 1)[-1]]


def stored_files(harness: BotHarness) -> list[Any]:
    root = harness.runtime.settings.files_dir
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def serve_files(harness: BotHarness, files: dict[str, bytes]) -> None:
    if harness.channel != "telegram":
        pytest.skip("Telegram file ids; the web chat's uploads are tested over HTTP in tests/test_web.py")
    harness.session = FileServingSession(files)
    harness.bot = create_bot(LOCAL_BOT_TOKEN, session=harness.session)


# -- the data ---------------------------------------------------------------------------------------------
async def prepare(harness: BotHarness, profile: str = "hau-giang-2016") -> dict[str, int]:
    uow, clock = harness.runtime.uow, harness.runtime.clock
    await tree(uow, clock)
    await install_reference_lists(uow)
    await install_profile(uow, clock, profile)
    people = await add_people(uow, clock)
    await bot_sign_in(harness, "lan.syt", "SYT", "clerk", CLERK)
    return people


async def rows(harness: BotHarness, model: Any, *where: Any) -> list[Any]:
    async with harness.runtime.uow.read() as repos:
        return list((await repos.session.scalars(select(model).where(*where).order_by(model.id))).all())


async def dossier(harness: BotHarness, dossier_id: int) -> Dossier:
    async with harness.runtime.uow.read() as repos:
        return await repos.session.get(Dossier, dossier_id)


async def set_columns(harness: BotHarness, dossier_id: int, **values: Any) -> None:
    async with harness.runtime.uow.write() as repos:
        found = await repos.session.get(Dossier, dossier_id)
        for name, value in values.items():
            setattr(found, name, value)


async def unit_ids(harness: BotHarness) -> dict[str, int]:
    async with harness.runtime.uow.read() as repos:
        return {code: (await repos.units.by_code(code)).id for code in ("CT", "SNV", "SYT", "BV", "STC")}


async def change_audit(harness: BotHarness) -> list[str]:
    return [a for a in await audit_actions(harness.runtime.uow) if a.startswith(("change.", "declaration."))]


async def nothing_written(harness: BotHarness, people: dict[str, int], before: dict[str, Any]) -> None:
    assert await rows(harness, ChangeEvent) == []
    assert await rows(harness, DossierVersion) == []
    assert await rows(harness, DossierRecord) == []
    assert await rows(harness, Attachment) == []
    assert len(await rows(harness, Dossier)) == len(people)
    assert await change_audit(harness) == []
    assert snapshot(await dossier(harness, people[HOA])) == before


# -- the kinds of change ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    kind: str
    own: dict[str, str]  # the kind's own answers; "fc:…" presses that button, "-" leaves it empty
    bad: tuple[str, str, str, dict[str, Any]]  # a third bad answer: question, value, reason (message id, params)
    before: dict[str, Any] = field(default_factory=dict)  # dossier columns set before the flow
    after: dict[str, Any] = field(default_factory=dict)  # dossier columns that change ("…unit_id": a unit code)
    records: tuple[tuple[str, dt.date | None, dict[str, Any]], ...] = ()  # new records: kind, date_from, data ⊇
    shown: tuple[str, ...] = ()  # what the summary shows of the change

    def __str__(self) -> str:
        return self.kind

    def answers(self) -> dict[str, str]:
        return {**self.own, **PAPER, "effective_on": EFFECTIVE}

    def payload(self) -> dict[str, str]:
        return {k: v.removeprefix("fc:") for k, v in self.answers().items() if v != "-"}


TOO_LONG = ("Too long: at most {limit} characters.", {"limit": 255})
YEAR_AHEAD = ("effective_on", "01/01/2030", "The date {value} is more than a year ahead.", {"value": "01/01/2030"})
# A status takes effect only once reached: its effective date cannot be ahead.
FUTURE = ("effective_on", "01/08/2026", "The date {value} is in the future.", {"value": "01/08/2026"})
REF = {"doc_number": "12/QĐ-SYT"}  # every record cites the decision

CASES = [
    Case("training", {"course": "Bồi dưỡng quản lý nhà nước", "institution": "Học viện Hành chính",
                      "date_from": "01/03/2026", "date_to": "30/04/2026", "result": "Chứng chỉ chuyên viên chính"},
         bad=("course", "x" * 256, *TOO_LONG),
         records=(("training", dt.date(2026, 3, 1), {"major": "Bồi dưỡng quản lý nhà nước", "school": "Học viện Hành chính",
                                                     "degree": "Chứng chỉ chuyên viên chính", **REF}),)),
    Case("appointment", {"post": "Phó Trưởng phòng", "position_allowance": "0.20"},
         bad=("position_allowance", "nhiều", "Not a number: {value}.", {"value": "nhiều"}),
         after={"post": "Phó Trưởng phòng", "post_since": E, "position_allowance": 0.2},
         records=(("work_history", E, {"text": "Phó Trưởng phòng", **REF}),),
         shown=("Chuyên viên → <b>Phó Trưởng phòng</b>", "— → <b>0,20</b>", "— → <b>20/06/2026</b>")),
    Case("transfer", {"working_unit": "fc:STC", "post": "Chuyên viên phòng Ngân sách"},
         bad=("working_unit", "XYZ", "No unit has the code {code}.", {"code": "XYZ"}),
         after={"working_unit_id": "STC", "post": "Chuyên viên phòng Ngân sách", "post_since": E},
         records=(("work_history", E, {"text": "Sở Tài chính — Chuyên viên phòng Ngân sách", **REF}),),
         shown=("Sở Y tế → <b>Sở Tài chính</b>", "Chuyên viên → <b>Chuyên viên phòng Ngân sách</b>")),
    Case("rotation", {"working_unit": "fc:BV", "post": "-"},
         bad=("working_unit", "STC", "Unit {code} is outside your scope.", {"code": "STC"}),
         after={"working_unit_id": "BV"},
         records=(("work_history", E, {"text": "Bệnh viện Đa khoa", **REF}),),
         shown=("Sở Y tế → <b>Bệnh viện Đa khoa</b>",)),
    Case("salary_raise", {"salary_step": "-", "salary_coefficient": "-"}, bad=YEAR_AHEAD,
         before={"salary_step": 3, "salary_coefficient": 3.00, "rank_code": "01.003"},
         after={"salary_step": 4, "salary_coefficient": 3.33, "salary_since": E},
         records=(("salary_history", E, {"rank_code": "01.003", "step": 4, "coefficient": "3.33", **REF}),),
         shown=(": 3 → <b>4</b>", ": 3,00 → <b>3,33</b>")),  # the decimal comma
    Case("rank_raise", {"rank_code": "fc:01.002"},
         bad=("rank_code", "99.999",
              "{value} is not on the list; choose a button or ask the personnel office to add it.", {"value": "99.999"}),
         after={"rank_code": "01.002", "rank_name": "Chuyên viên chính", "rank_since": E, "salary_step": 1,
                "salary_coefficient": 4.40, "salary_since": E},
         records=(("salary_history", E, {"rank_code": "01.002", "step": 1, "coefficient": "4.40", **REF}),),
         shown=("Ngạch: 01.003 Chuyên viên → <b>01.002 Chuyên viên chính</b>", "— → <b>4,40</b>")),
    Case("commendation", {"form": "Bằng khen của Chủ tịch UBND tỉnh", "reason": "Hoàn thành xuất sắc nhiệm vụ 2025"},
         bad=("form", "y" * 256, *TOO_LONG),
         records=(("commendation", E, {"text": "Bằng khen của Chủ tịch UBND tỉnh",
                                       "reason": "Hoàn thành xuất sắc nhiệm vụ 2025", **REF}),)),
    Case("discipline", {"form": "fc:khien_trach", "reason": "Vi phạm quy chế làm việc"},
         bad=("form", "phạt nặng", "Please choose one of the buttons.", {}),
         records=(("discipline", E, {"form": "khien_trach", "text": "Khiển trách",
                                     "reason": "Vi phạm quy chế làm việc", **REF}),)),
    Case("raise_postponed", {"months": "6", "reason": "Không hoàn thành nhiệm vụ năm 2025"},
         bad=("months", "sáu", "Not a whole number: {value}.", {"value": "sáu"}),
         records=(("salary_history", E, {"text": "Kéo dài thời gian nâng bậc lương 6 tháng: Không hoàn thành "
                                                 "nhiệm vụ năm 2025", "postponed_months": 6,
                                         "reason": "Không hoàn thành nhiệm vụ năm 2025", **REF}),)),
    Case("asset_declaration", {"year": "2025", "summary": "Mua thêm một căn hộ"},
         bad=("year", "3000", "{value} is out of range ({low} to {high}).", {"value": "3000", "low": 1900, "high": 2026}),
         records=(("declaration", E, {"type": "assets", "year": "2025", "text": "Mua thêm một căn hộ", **REF}),)),
    Case("income_tax", {"year": "2025", "tax_code": "8012345678", "summary": "Quyết toán thuế năm 2025"},
         bad=("year", "năm ngoái", "Not a whole number: {value}.", {"value": "năm ngoái"}),
         records=(("declaration", E, {"type": "tax", "year": "2025", "tax_code": "8012345678",
                                      "text": "Quyết toán thuế năm 2025", **REF}),)),
    Case("marriage", {"spouse_name": "Lê Văn Bình", "spouse_birth_year": "1985", "spouse_occupation": "Kỹ sư, Điện lực"},
         bad=("spouse_birth_year", "3000", "{value} is out of range ({low} to {high}).",
              {"value": "3000", "low": 1900, "high": 2026}),
         records=(("declaration", E, {"type": "marital", "status": "married", "text": "Kết hôn với Lê Văn Bình", **REF}),
                  ("family", None, {"side": "spouse", "name": "Lê Văn Bình", "born": "1985",
                                    "details": "Kỹ sư, Điện lực"}))),
    Case("divorce", {"spouse_name": "Lê Văn Bình"}, bad=YEAR_AHEAD,
         records=(("declaration", E, {"type": "marital", "status": "divorced", "text": "Ly hôn với Lê Văn Bình", **REF}),)),
    Case("address", {"permanent_address": "-", "current_address": "45 Lý Tự Trọng, Ninh Kiều"},
         bad=("current_address", "z" * 256, *TOO_LONG),
         after={"current_address": "45 Lý Tự Trọng, Ninh Kiều"},
         shown=("12 Trần Hưng Đạo → <b>45 Lý Tự Trọng, Ninh Kiều</b>",)),
    Case("probation_passed", {}, bad=FUTURE,
         before={"employment_status": "probation"}, after={"employment_status": "active"}),
    Case("retirement", {}, bad=FUTURE, after={"employment_status": "retired"},
         records=(("work_history", E, {"text": "Nghỉ hưu", **REF}),)),
    Case("resignation", {}, bad=FUTURE, after={"employment_status": "resigned"}),
    Case("death", {}, bad=FUTURE, after={"employment_status": "deceased"}),
]
STATUS_SHOWN = {"probation_passed": ("on probation", "working"), "retirement": ("working", "retired"),
                "resignation": ("working", "resigned"), "death": ("working", "deceased")}


# "Complete the dossier" asks its questions by group, behind a menu, and "Decision received, enter later"
# changes nothing: each is tested on its own below.
IN_PROGRESS = {"supplement", "registration"}


def test_the_table_covers_every_kind() -> None:
    assert [case.kind for case in CASES] == [kind for kind in KINDS if kind not in IN_PROGRESS]
    for case in CASES:  # the answers follow the form's own questions, no more, no less
        assert list(case.answers()) == [f.key for f in CHANGE_FORMS[case.kind].fields]


def position(form: Form, key: str) -> str:
    asked = [f for f in form.fields if f.group is None]
    return f"({[f.key for f in asked].index(key) + 1}/{len(asked)})"


def assert_asks(harness: BotHarness, text: str, form: Form, key: str) -> None:
    """`text` asks the question `key` of `form`: its number and its wording."""
    f = form.fields[form.index(key)]
    assert position(form, key) in text and tr(harness, f.question) in text, (key, text)


async def start_change(talk: Talk, kind: str, dossier_id: int, query: str = HOA) -> str:
    await talk.say(f"/update {query}")
    await talk.tap(UpdatePick(id=dossier_id))
    return await talk.tap(ChangeKindPick(id=dossier_id, kind=kind))


async def answer_all(talk: Talk, answers: dict[str, str]) -> str:
    text = ""
    for value in answers.values():
        text = await talk.answer(value)
    return text


async def log_change(talk: Talk, kind: str, dossier_id: int, answers: dict[str, str], query: str = HOA) -> str:
    await start_change(talk, kind, dossier_id, query)
    await answer_all(talk, answers)
    return await talk.tap(FormConfirm(action="confirm"))


# -- 1. every kind, start to end --------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=str)
async def test_each_kind_is_logged_with_its_deadline_version_and_audit(harness: BotHarness, case: Case) -> None:
    people = await prepare(harness)
    units, hoa = await unit_ids(harness), people[HOA]
    if case.before:
        await set_columns(harness, hoa, **case.before)
    before = snapshot(await dossier(harness, hoa))
    talk = Talk(harness, CLERK)
    form = CHANGE_FORMS[case.kind]

    first = await start_change(talk, case.kind, hoa)
    assert NAMES[HOA] in first
    assert_asks(harness, first, form, form.fields[0].key)
    summary = await answer_all(talk, case.answers())

    # the summary, before anything is written: the person, every answer, what changes, the deadline
    assert NAMES[HOA] in summary
    for key, value in case.answers().items():
        if not value.startswith("fc:") and value != "-":
            assert esc(value) in summary, key
    for expected in case.shown:
        assert expected in summary
    for old, new in [STATUS_SHOWN[case.kind]] if case.kind in STATUS_SHOWN else []:
        assert f"{tr(harness, old)} → <b>{tr(harness, new)}</b>" in summary
    assert f"06/07/2026 — {tr(harness, 'on time')}" in summary
    assert talk.buttons() == [FormConfirm(action=a).pack() for a in ("confirm", "edit", "cancel")]
    assert await rows(harness, ChangeEvent) == []

    reply = await talk.tap(FormConfirm(action="confirm"))
    [event] = await rows(harness, ChangeEvent)
    assert f"#{event.id}" in reply and NAMES[HOA] in reply and "06/07/2026" in reply
    assert (event.dossier_id, event.kind, event.status) == (hoa, case.kind, "applied")
    assert (event.doc_number, event.doc_date, event.doc_issuer) == ("12/QĐ-SYT", dt.date(2026, 6, 15), "Sở Y tế")
    assert (event.effective_on, event.deadline, event.on_time) == (E, DEADLINE, True)
    assert (event.unit_id, event.recorded_by_label) == (units["SYT"], "lan.syt")
    assert event.payload == case.payload()
    assert await talk.state() is None

    # the dossier: exactly the expected columns changed, the custodian never
    expected = dict(before)
    for column, value in case.after.items():
        expected[column] = units[value] if column.endswith("unit_id") else (
            value.isoformat() if isinstance(value, dt.date) else value)
    after = snapshot(await dossier(harness, hoa))
    assert after == expected
    assert after["custodian_unit_id"] == units["SYT"]

    records = await rows(harness, DossierRecord, DossierRecord.dossier_id == hoa)
    assert sorted(r.kind for r in records) == sorted(kind for kind, _day, _data in case.records)
    for kind, day, data in case.records:
        [record] = [r for r in records if r.kind == kind]
        assert record.date_from == day and data.items() <= record.data.items(), (kind, record.data)

    first_version, last_version = await rows(harness, DossierVersion, DossierVersion.dossier_id == hoa)
    assert (first_version.change_event_id, first_version.valid_from, first_version.snapshot) == (None, None, before)
    assert (last_version.change_event_id, last_version.valid_from, last_version.snapshot) == (event.id, E, after)
    assert await change_audit(harness) == [f"change.{case.kind}"]


async def test_the_kinds_of_change_are_listed_one_per_line(harness: BotHarness) -> None:
    """The kinds' titles have commas of their own: joined by commas, the list could not be read."""
    people = await prepare(harness)
    talk = Talk(harness, CLERK)
    await talk.say(f"/update {HOA}")
    text = await talk.tap(UpdatePick(id=people[HOA]))
    lines = text.splitlines()
    for kind in KINDS.values():
        title = esc(tr(harness, kind.title))
        if title in text:
            assert f"• {title}" in lines, title
    assert f"• {esc(tr(harness, KINDS['salary_raise'].title))}" in lines


async def test_a_date_typed_with_a_two_digit_year_is_taken_and_said_how_it_was_read(harness: BotHarness) -> None:
    people = await prepare(harness)
    talk = Talk(harness, CLERK)
    await start_change(talk, "appointment", people[HOA])
    replies = [await talk.answer(value) for value in {
        **CASES[1].answers(), "doc_date": "15/6/26", "effective_on": "20.6.26"}.values()]
    assert any(tr(harness, "Read as: {typed} → {value}", typed="15/6/26", value="15/06/2026") in r for r in replies)
    summary = replies[-1]
    assert tr(harness, "Read as: {typed} → {value}", typed="20.6.26", value="20/06/2026") in summary
    assert "15/06/2026" in summary and "20/06/2026" in summary
    await talk.tap(FormConfirm(action="confirm"))
    [event] = await rows(harness, ChangeEvent)
    assert (event.doc_date, event.effective_on) == (dt.date(2026, 6, 15), E)


async def test_a_personal_change_may_be_logged_without_a_paper(harness: BotHarness) -> None:
    people = await prepare(harness)
    talk = Talk(harness, CLERK)
    await start_change(talk, "asset_declaration", people[HOA])
    summary = await answer_all(talk, {"year": "2025", "summary": "Không thay đổi", "doc_number": "-", "doc_date": "-",
                                      "doc_issuer": "-", "effective_on": "30/06/2026"})
    assert "Không thay đổi" in summary and "15/07/2026" in summary
    await talk.tap(FormConfirm(action="confirm"))
    [event] = await rows(harness, ChangeEvent)
    assert (event.doc_number, event.doc_date, event.doc_issuer) == (None, None, None)
    assert event.payload == {"year": "2025", "summary": "Không thay đổi", "effective_on": "30/06/2026"}
    [record] = await rows(harness, DossierRecord)
    assert record.data == {"type": "assets", "year": "2025", "text": "Không thay đổi"}


async def test_an_agency_change_needs_its_paper(harness: BotHarness) -> None:
    people = await prepare(harness)
    talk = Talk(harness, CLERK)
    form = CHANGE_FORMS["commendation"]
    await start_change(talk, "commendation", people[HOA])
    await answer_all(talk, {"form": "Giấy khen", "reason": "-"})
    text = await talk.say("-")  # the decision's number is not optional here
    assert tr(harness, "An answer is needed here.") in text
    assert_asks(harness, text, form, "doc_number")


async def test_probation_passed_needs_a_person_on_probation(harness: BotHarness) -> None:
    people = await prepare(harness)
    before = snapshot(await dossier(harness, people[HOA]))
    talk = Talk(harness, CLERK)
    text = await start_change(talk, "probation_passed", people[HOA])  # refused before the first question
    assert text == tr(harness, "The person is not on probation.")
    assert await talk.state() is None  # no form starts: nothing could make it right
    await nothing_written(harness, people, before)


async def test_a_final_status_cannot_change_again(harness: BotHarness) -> None:
    people = await prepare(harness)
    talk = Talk(harness, CLERK)
    await log_change(talk, "retirement", people[HOA], {**PAPER, "effective_on": EFFECTIVE})
    text = await start_change(talk, "death", people[HOA])  # refused before the first question
    assert tr(harness, "The person has retired; the status cannot change again.") == text
    assert [e.kind for e in await rows(harness, ChangeEvent)] == ["retirement"]
    assert (await dossier(harness, people[HOA])).employment_status == "retired"


async def test_a_raise_off_the_table_is_said_and_the_paper_can_be_entered(harness: BotHarness) -> None:
    """The trial's case: "3.99 → 3.96" saved without a word. The summary now says what is off the table,
    and the clerk enters the decision's step and coefficient, the table's value shown beside them."""
    people = await prepare(harness)
    hoa = people[HOA]  # made an A0 rank (Cán sự: step 6 is 3.65, step 7 3.96), raised 8 months ago
    await set_columns(harness, hoa, rank_code="01.004", salary_step=6, salary_coefficient=3.99,
                      salary_since=dt.date(2025, 10, 20))
    talk = Talk(harness, CLERK)
    await start_change(talk, "salary_raise", hoa)
    summary = await answer_all(talk, {"salary_step": "-", "salary_coefficient": "-", **PAPER, "effective_on": EFFECTIVE})
    for message, params in (
        ("The dossier's step {step} has the coefficient {coefficient}, but the table gives {table} for this rank and "
         "step: check the dossier against the last salary decision.", {"step": 6, "coefficient": "3,99", "table": "3,65"}),
        ("The new coefficient {new} is lower than the current {old}.", {"new": "3,96", "old": "3,99"}),
        ("Only {months} months since the current step ({since}); this rank's period is {period} months, so the raise "
         "falls due on {due}.", {"months": 8, "since": "20/10/2025", "period": 36, "due": "20/10/2028"}),
    ):
        assert tr(harness, message, **params) in summary
    await talk.tap(FormConfirm(action="cancel"))
    await start_change(talk, "salary_raise", hoa)
    summary = await answer_all(talk, {"salary_step": "7", "salary_coefficient": "4,00", **PAPER,
                                      "effective_on": EFFECTIVE})
    assert "3,99 → <b>4,00</b> " + tr(harness, "(table: {value})", value="3,96") in summary  # the decimal comma
    assert tr(harness, "The decision gives the coefficient {given}; the table gives {table} for step {step}.",
              given="4,00", table="3,96", step=7) in summary
    reply = await talk.tap(FormConfirm(action="confirm"))
    saved = await dossier(harness, hoa)
    assert (saved.salary_step, saved.salary_coefficient, saved.salary_since) == (7, 4.0, E)
    # The saved reply still says what differs from the table (the audit row keeps it too: test_changes).
    assert tr(harness, "The decision gives the coefficient {given}; the table gives {table} for step {step}.",
              given="4,00", table="3,96", step=7) in reply


async def test_a_salary_raise_without_a_step_is_refused(harness: BotHarness) -> None:
    people = await prepare(harness)
    talk = Talk(harness, CLERK)
    text = await start_change(talk, "salary_raise", people[HOA])  # refused before the first question
    assert text == tr(harness, "The dossier has no salary step yet; enter it first.")
    assert await rows(harness, ChangeEvent) == []


async def test_a_transfer_to_the_unit_already_worked_in_is_asked_again(harness: BotHarness) -> None:
    people = await prepare(harness)
    talk = Talk(harness, CLERK)
    form = CHANGE_FORMS["transfer"]
    await start_change(talk, "transfer", people[HOA])
    text = await answer_all(talk, {"working_unit": "SYT", "post": "-", **PAPER, "effective_on": EFFECTIVE})
    assert tr(harness, "The person already works in {code}.", code="SYT") in text
    assert_asks(harness, text, form, "working_unit")
    summary = await talk.answer("fc:BV")  # every other answer kept: straight back to the summary
    assert "Bệnh viện Đa khoa" in summary and "12/QĐ-SYT" in summary and "06/07/2026" in summary
    await talk.tap(FormConfirm(action="confirm"))
    assert (await dossier(harness, people[HOA])).working_unit_id == (await unit_ids(harness))["BV"]


async def test_a_course_ending_before_it_starts_goes_back_to_its_last_day(harness: BotHarness) -> None:
    people = await prepare(harness)
    talk = Talk(harness, CLERK)
    form = CHANGE_FORMS["training"]
    await start_change(talk, "training", people[HOA])
    answers = {**CASES[0].answers(), "date_to": "01/02/2026"}
    text = await answer_all(talk, answers)
    assert tr(harness, "The course cannot end before it starts.") in text
    assert_asks(harness, text, form, "date_to")
    summary = await talk.say("31/03/2026")
    assert "31/03/2026" in summary and "01/02/2026" not in summary and "Học viện Hành chính" in summary
    await talk.tap(FormConfirm(action="confirm"))
    [record] = await rows(harness, DossierRecord)
    assert (record.date_from, record.date_to) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))


# -- 2. bad answers are asked again, with the reason, the rest kept ---------------------------------------
@pytest.mark.parametrize("case", CASES, ids=str)
async def test_bad_answers_are_asked_again_with_the_reason(harness: BotHarness, case: Case) -> None:
    people = await prepare(harness)
    if case.before:
        await set_columns(harness, people[HOA], **case.before)
    talk = Talk(harness, CLERK)
    form = CHANGE_FORMS[case.kind]
    key, value, message_id, params = case.bad
    bad = {"doc_number": ("abc", "Not a valid document number: {value} (e.g. 123/QĐ-UBND)", {"value": "abc"}),
           "doc_date": ("31/02/2026", "Not a valid date: {value} (use dd/mm/yyyy)", {"value": "31/02/2026"}),
           key: (value, message_id, params)}
    assert len(bad) == 3

    await start_change(talk, case.kind, people[HOA])
    answers = case.answers()
    keys = list(answers)
    for number, (question, good) in enumerate(answers.items()):
        if question in bad:
            wrong, reason, reason_params = bad[question]
            text = await talk.say(wrong)
            assert tr(harness, reason, **reason_params) in text, text
            if question in ("doc_number", "doc_date"):
                assert wrong in text  # the reply quotes what was typed
            assert_asks(harness, text, form, question)  # the same question, not the first
            assert await rows(harness, ChangeEvent) == []
        text = await talk.answer(good)
        if number + 1 < len(keys):
            assert_asks(harness, text, form, keys[number + 1])  # on to the next question
    assert "06/07/2026" in text and "12/QĐ-SYT" in text  # the summary, with the earlier answers kept

    await talk.tap(FormConfirm(action="confirm"))
    [event] = await rows(harness, ChangeEvent)
    assert event.payload == case.payload()


async def test_an_old_button_does_not_answer_a_later_question(harness: BotHarness) -> None:
    people = await prepare(harness)
    talk = Talk(harness, CLERK)
    stale = tr(harness, "This button is no longer active.")
    form = CHANGE_FORMS["discipline"]
    await start_change(talk, "discipline", people[HOA])
    choices = talk.keyboard()
    text = await talk.tap("fc:canh_cao")
    assert_asks(harness, text, form, "reason")
    # the first question's buttons, pressed again while the reason is asked, answer nothing
    assert await talk.tap("fc:khien_trach", message=choices) == "" and talk.alerts() == [stale]
    text = await talk.say("Vi phạm kỷ luật lao động")
    assert_asks(harness, text, form, "doc_number")
    await answer_all(talk, {**PAPER, "effective_on": EFFECTIVE})
    await talk.tap("fc:canh_cao", message=choices)  # nor at the summary
    assert talk.alerts() == [stale]
    await talk.tap(FormConfirm(action="confirm"))
    [event] = await rows(harness, ChangeEvent)
    assert event.payload["form"] == "canh_cao" and event.payload["reason"] == "Vi phạm kỷ luật lao động"

    await talk.say("/new")  # the same in /new: the sex buttons do not answer the post
    await answer_all(talk, {k: NEW[k] for k in ("full_name", "sex", "birth_date", "personal_id", "ethnicity",
                                                  "custodian_unit")})
    sexes = [m for (chat, _id), m in harness.session.messages.items()
             if chat == CLERK and m.reply_markup and "fc:F" in talk.buttons(m)][-1]
    text = await talk.tap("fc:01.003")
    assert_asks(harness, text, NEW_FORM, "post")
    await talk.tap("fc:F", message=sexes)
    assert talk.alerts() == [stale]
    text = await talk.say("Chuyên viên phòng Kế hoạch")
    assert_asks(harness, text, NEW_FORM, "employment_status")


async def test_only_dossiers_in_scope_can_be_changed(harness: BotHarness) -> None:
    people = await prepare(harness)
    yen = people["092189000888"]  # kept by STC, outside the SYT clerk's scope
    talk = Talk(harness, CLERK)
    refusal = tr(harness, "You are not allowed to do that.")
    assert NAMES["092189000888"] not in await talk.say("/update yen")
    await talk.say(f"/update {HOA}")
    anchor = talk.keyboard()
    for forged in (UpdatePick(id=yen), ChangeKindPick(id=yen, kind="retirement")):
        talk.calls = await harness.press(anchor, forged.pack(), user_id=CLERK)
        assert talk.alerts() == [refusal] and talk.texts() == []
    assert await talk.state() is None and await rows(harness, ChangeEvent) == []

    # /update without a query asks for one; a BV dossier is in the SYT clerk's scope
    await talk.say("/update")
    found = await talk.say("thuỷ")
    thuy = people["092190000222"]
    assert "Nguyễn Văn Thủy" in found and UpdatePick(id=thuy).pack() in talk.buttons()
    await log_change(talk, "commendation", thuy, {"form": "Giấy khen", "reason": "-", **PAPER, "effective_on": EFFECTIVE},
                     query="092190000222")
    [event] = await rows(harness, ChangeEvent)
    assert (event.dossier_id, event.unit_id) == (thuy, (await unit_ids(harness))["BV"])


# -- 3. a restart in the middle -----------------------------------------------------------------------------
async def test_a_change_survives_a_restart(harness: BotHarness) -> None:
    people = await prepare(harness)
    case = CASES[1]  # appointment
    talk = Talk(harness, CLERK)
    await start_change(talk, case.kind, people[HOA])
    await answer_all(talk, {k: case.answers()[k] for k in ("post", "position_allowance", "doc_number")})

    async with open_runtime(harness.runtime.settings, harness.runtime.clock) as again:
        second = Talk(BotHarness(again, harness.channel), CLERK)
        text = await second.say("15/06/2026")  # the date of the decision, where the first process stopped
        assert_asks(harness, text, CHANGE_FORMS[case.kind], "doc_issuer")
        summary = await answer_all(second, {"doc_issuer": "Sở Y tế", "effective_on": EFFECTIVE})
        assert "Phó Trưởng phòng" in summary and "0.20" in summary and "12/QĐ-SYT" in summary
        await second.tap(FormConfirm(action="confirm"))
    [event] = await rows(harness, ChangeEvent)
    assert event.payload == case.payload()
    assert (await dossier(harness, people[HOA])).post == "Phó Trưởng phòng"


async def test_a_new_dossier_survives_a_restart_even_at_a_button(harness: BotHarness) -> None:
    await prepare(harness)
    talk = Talk(harness, CLERK)
    await talk.say("/new")
    await talk.say(NEW["full_name"])
    sex_question = talk.keyboard()

    async with open_runtime(harness.runtime.settings, harness.runtime.clock) as again:
        second = Talk(BotHarness(again, harness.channel), CLERK)
        text = await second.tap("fc:F", message=sex_question)  # the button sent before the restart
        assert_asks(harness, text, NEW_FORM, "birth_date")
        await answer_all(second, {k: v for k, v in NEW.items() if k not in ("full_name", "sex")})
        summary = await second.tap(FormGroup(group=""))
        assert "Trần Thị Mai" in summary
        await second.tap(FormConfirm(action="confirm"))
    [created] = await rows(harness, Dossier, Dossier.personal_id == NEW["personal_id"])
    assert (created.full_name, created.sex, created.birth_date) == ("Trần Thị Mai", "F", dt.date(1995, 5, 5))
    [event] = await rows(harness, ChangeEvent)
    assert (event.kind, event.dossier_id, event.doc_number) == ("new", created.id, "45/QĐ-SYT")


# -- 4. /cancel at every step writes nothing ----------------------------------------------------------------
async def test_cancel_at_every_step_of_a_change_writes_nothing(harness: BotHarness) -> None:
    people = await prepare(harness)
    before = snapshot(await dossier(harness, people[HOA]))
    talk = Talk(harness, CLERK)
    answers = list(CASES[1].answers().values())  # appointment: 6 questions, then the summary
    for step in range(len(answers) + 1):
        await start_change(talk, "appointment", people[HOA])
        for value in answers[:step]:
            await talk.answer(value)
        assert await talk.say("/cancel") == tr(harness, "Cancelled. Nothing was saved."), step
        assert await talk.state() is None, step
        await nothing_written(harness, people, before)
    summary = talk.keyboard()  # the last summary's Confirm, pressed after /cancel, saves nothing
    await talk.tap(FormConfirm(action="confirm"), message=summary)
    assert talk.alerts() == [tr(harness, "This button is no longer active.")]
    await talk.say("Phó Trưởng phòng")  # nor is a later message taken as an answer
    await nothing_written(harness, people, before)

    await start_change(talk, "appointment", people[HOA])
    await answer_all(talk, CASES[1].answers())
    assert await talk.tap(FormConfirm(action="cancel")) == tr(harness, "Cancelled. Nothing was saved.")
    assert await talk.state() is None
    await nothing_written(harness, people, before)


NEW = {"full_name": "Trần Thị Mai", "sex": "fc:F", "birth_date": "05/05/1995", "personal_id": "092195000999",
       "ethnicity": "fc:01", "custodian_unit": "fc:SYT", "rank_code": "fc:01.003", "post": "Chuyên viên phòng Kế hoạch",
       "employment_status": "fc:probation", "doc_number": "45/QĐ-SYT", "doc_date": "20/06/2026",
       "doc_issuer": "Sở Y tế", "effective_on": "01/07/2026"}


async def test_cancel_at_every_step_of_a_new_dossier_writes_nothing(harness: BotHarness) -> None:
    people = await prepare(harness)
    before = snapshot(await dossier(harness, people[HOA]))
    talk = Talk(harness, CLERK)
    answers = list(NEW.values())
    endings = [answers[:step] for step in range(len(answers) + 1)]  # …the last one at the group menu
    endings += [[*answers, FormGroup(group="salary")], [*answers, FormGroup(group="salary"), "3"],
                [*answers, FormGroup(group="")]]  # inside an optional group; at the summary
    for ending in endings:
        await talk.say("/new")
        for value in ending:
            await (talk.tap(value) if isinstance(value, FormGroup) else talk.answer(value))
        assert await talk.say("/cancel") == tr(harness, "Cancelled. Nothing was saved."), len(ending)
        assert await talk.state() is None
        await nothing_written(harness, people, before)


# -- /new -----------------------------------------------------------------------------------------------------
async def test_new_dossier_from_start_to_end(harness: BotHarness) -> None:
    people = await prepare(harness)
    units = await unit_ids(harness)
    talk = Talk(harness, CLERK)
    first = await talk.say("/new")
    assert_asks(harness, first, NEW_FORM, "full_name")
    await talk.say(NEW["full_name"])
    assert talk.buttons() == ["fc:M", "fc:F", FormBack().pack()]
    menu = await answer_all(talk, {k: v for k, v in NEW.items() if k != "full_name"})
    assert menu == tr(harness, "The required answers are in. Fill an optional group now, or later:")
    assert talk.buttons() == [FormGroup(group=g).pack() for g in ("contact", "salary", "qualifications", "party", "")]

    summary = await talk.tap(FormGroup(group=""))
    for expected in ("Trần Thị Mai", "05/05/1995", "092195000999", "Kinh", "SYT — Sở Y tế", "01.003 Chuyên viên",
                     "Chuyên viên phòng Kế hoạch", "45/QĐ-SYT", "20/06/2026", "01/07/2026",
                     f"20/07/2026 — {tr(harness, 'on time')}", tr(harness, "Female"), tr(harness, "On probation")):
        assert expected in summary, expected
    assert len(await rows(harness, Dossier)) == len(people)

    reply = await talk.tap(FormConfirm(action="confirm"))
    [created] = await rows(harness, Dossier, Dossier.personal_id == "092195000999")
    [event] = await rows(harness, ChangeEvent)
    assert f"#{event.id}" in reply and "Trần Thị Mai" in reply and "20/07/2026" in reply
    assert (created.full_name, created.sex, created.birth_date) == ("Trần Thị Mai", "F", dt.date(1995, 5, 5))
    assert (created.ethnicity, created.rank_code, created.rank_name) == ("Kinh", "01.003", "Chuyên viên")
    assert (created.custodian_unit_id, created.working_unit_id) == (units["SYT"], units["SYT"])
    assert (created.employment_status, created.post) == ("probation", "Chuyên viên phòng Kế hoạch")
    assert (created.salary_step, created.salary_coefficient) == (1, 2.34)
    assert (created.recruited_on, created.recruiting_agency) == (dt.date(2026, 7, 1), "Sở Y tế")
    assert created.recruitment_decision == "45/QĐ-SYT ngày 20/06/2026"
    assert (event.dossier_id, event.kind, event.doc_number, event.doc_date) == (
        created.id, "new", "45/QĐ-SYT", dt.date(2026, 6, 20))
    assert (event.effective_on, event.deadline, event.on_time) == (dt.date(2026, 7, 1), dt.date(2026, 7, 20), True)
    [version] = await rows(harness, DossierVersion)
    assert (version.dossier_id, version.change_event_id, version.valid_from) == (created.id, event.id, dt.date(2026, 7, 1))
    assert version.snapshot == snapshot(created)
    [record] = await rows(harness, DossierRecord)
    assert (record.kind, record.data["text"]) == ("work_history", "Chuyên viên phòng Kế hoạch, Sở Y tế")
    assert await change_audit(harness) == ["change.new"]


async def test_new_dossier_with_optional_groups_and_typed_buttons(harness: BotHarness) -> None:
    await prepare(harness)
    units = await unit_ids(harness)
    talk = Talk(harness, CLERK)
    await talk.say("/new")
    typed = {**NEW, "sex": "F", "ethnicity": "Khơ-me", "custodian_unit": "bv", "rank_code": "01.003",
             "employment_status": "fc:active"}
    await answer_all(talk, typed)
    text = await talk.tap(FormGroup(group="salary"))
    assert "(14/15)" in text and tr(harness, "Salary step (empty: step 1 of the rank):") in text
    assert "(15/15)" in await talk.say("3")
    await talk.say("-")
    assert FormGroup(group="salary").pack() not in talk.buttons()  # the menu again, without the filled group
    assert FormGroup(group="contact").pack() in talk.buttons()
    await talk.tap(FormGroup(group="contact"))
    await answer_all(talk, {"birthplace": "Cần Thơ", "home_town": "-", "permanent_address": "-",
                            "current_address": "-", "phone": "0912345678"})
    summary = await talk.tap(FormGroup(group=""))
    assert "BV — Bệnh viện Đa khoa" in summary and "Khơ-me" in summary and "0912345678" in summary
    await talk.tap(FormConfirm(action="confirm"))
    [created] = await rows(harness, Dossier, Dossier.personal_id == "092195000999")
    assert (created.custodian_unit_id, created.ethnicity, created.employment_status) == (units["BV"], "Khơ-me", "active")
    assert (created.salary_step, created.salary_coefficient, created.salary_since) == (3, 3.00, dt.date(2026, 7, 1))
    assert (created.birthplace, created.phone, created.home_town) == ("Cần Thơ", "0912345678", None)


async def test_new_dossier_bad_answers_are_asked_again(harness: BotHarness) -> None:
    await prepare(harness)
    talk = Talk(harness, CLERK)
    bad = {
        "personal_id": ("001188000111", "The personal ID {value} already has a dossier: {name}, kept by {unit} "
                        "(open it with /find {value}).", {"value": HOA, "name": NAMES[HOA], "unit": "Sở Y tế"}),
        "custodian_unit": ("STC", "Unit {code} is outside your scope.", {"code": "STC"}),
        "doc_number": ("abc", "Not a valid document number: {value} (e.g. 123/QĐ-UBND)", {"value": "abc"}),
        "doc_date": ("31/02/2026", "Not a valid date: {value} (use dd/mm/yyyy)", {"value": "31/02/2026"}),
    }
    await talk.say("/new")
    keys = list(NEW)
    for number, (question, good) in enumerate(NEW.items()):
        if question in bad:
            wrong, reason, params = bad[question]
            text = await talk.say(wrong)
            assert tr(harness, reason, **params) in text and wrong in text
            assert_asks(harness, text, NEW_FORM, question)
        text = await talk.answer(good)
        if number + 1 < len(keys):
            assert_asks(harness, text, NEW_FORM, keys[number + 1])
    summary = await talk.tap(FormGroup(group=""))
    for value in ("Trần Thị Mai", "05/05/1995", "092195000999", "SYT — Sở Y tế", "45/QĐ-SYT", "20/06/2026"):
        assert value in summary
    await talk.tap(FormConfirm(action="confirm"))
    [event] = await rows(harness, ChangeEvent)
    assert (event.kind, event.doc_number) == ("new", "45/QĐ-SYT")


# -- 5. Edit field ------------------------------------------------------------------------------------------
async def test_edit_a_field_from_the_summary(harness: BotHarness) -> None:
    people = await prepare(harness)
    talk = Talk(harness, CLERK)
    form = CHANGE_FORMS["appointment"]
    await start_change(talk, "appointment", people[HOA])
    await answer_all(talk, CASES[1].answers())
    await talk.tap(FormConfirm(action="edit"))
    assert talk.buttons() == [FormEdit(step=i).pack() for i in range(len(form.fields))]
    text = await talk.tap(FormEdit(step=form.index("post")))
    assert_asks(harness, text, form, "post")
    summary = await talk.say("Trưởng phòng Tổ chức")
    assert "Chuyên viên → <b>Trưởng phòng Tổ chức</b>" in summary and "Phó Trưởng phòng" not in summary
    assert "0.20" in summary and "12/QĐ-SYT" in summary and "06/07/2026" in summary

    # An effective date before the decision's (15/06): the deadline counts from the decision, 15 days → 30/06.
    await talk.tap(FormConfirm(action="edit"))
    await talk.tap(FormEdit(step=form.index("effective_on")))
    summary = await talk.say("01/06/2026")
    assert f"30/06/2026 — {tr(harness, 'LATE')}" in summary and "Trưởng phòng Tổ chức" in summary
    await talk.tap(FormConfirm(action="confirm"))
    [event] = await rows(harness, ChangeEvent)
    assert (event.effective_on, event.on_time) == (dt.date(2026, 6, 1), False)
    assert (await dossier(harness, people[HOA])).post == "Trưởng phòng Tổ chức"


async def test_edit_the_unit_of_a_new_dossier(harness: BotHarness) -> None:
    await prepare(harness)
    talk = Talk(harness, CLERK)
    await talk.say("/new")
    await answer_all(talk, NEW)
    await talk.tap(FormGroup(group=""))
    await talk.tap(FormConfirm(action="edit"))
    text = await talk.tap(FormEdit(step=NEW_FORM.index("custodian_unit")))
    assert_asks(harness, text, NEW_FORM, "custodian_unit")
    summary = await talk.tap("fc:BV")
    assert "BV — Bệnh viện Đa khoa" in summary and "SYT — Sở Y tế" not in summary and "Trần Thị Mai" in summary
    await talk.tap(FormConfirm(action="confirm"))
    [created] = await rows(harness, Dossier, Dossier.personal_id == NEW["personal_id"])
    assert created.custodian_unit_id == (await unit_ids(harness))["BV"]


# -- 6. Back --------------------------------------------------------------------------------------------------
async def test_back_returns_to_the_previous_question(harness: BotHarness) -> None:
    people = await prepare(harness)
    talk = Talk(harness, CLERK)
    form = CHANGE_FORMS["appointment"]
    await start_change(talk, "appointment", people[HOA])
    assert talk.sent_buttons() == []  # nothing to go back to from the first question
    await answer_all(talk, {"post": "Phó Trưởng phòng", "position_allowance": "0.20"})
    assert_asks(harness, talk.text, form, "doc_number")
    text = await talk.tap(FormBack())
    assert_asks(harness, text, form, "position_allowance")
    text = await talk.tap(FormBack())
    assert_asks(harness, text, form, "post")
    assert talk.sent_buttons() == []
    text = await talk.say("Phó Giám đốc")
    assert_asks(harness, text, form, "position_allowance")
    text = await talk.say("0.30")
    assert_asks(harness, text, form, "doc_number")
    summary = await answer_all(talk, {**PAPER, "effective_on": EFFECTIVE})
    assert "Phó Giám đốc" in summary and "0.30" in summary and "Phó Trưởng phòng" not in summary
    await talk.tap(FormConfirm(action="confirm"))
    found = await dossier(harness, people[HOA])
    assert (found.post, found.position_allowance) == ("Phó Giám đốc", 0.3)


async def test_back_in_a_new_dossier_and_none_on_the_first_question(harness: BotHarness) -> None:
    await prepare(harness)
    talk = Talk(harness, CLERK)
    await talk.say("/new")
    assert talk.sent_buttons() == []
    await talk.say("Trần Thị Ma")
    assert talk.sent_buttons() == ["fc:M", "fc:F", FormBack().pack()]
    text = await talk.tap(FormBack())
    assert_asks(harness, text, NEW_FORM, "full_name")
    await talk.say("Trần Thị Mai")
    await talk.tap("fc:F")
    text = await talk.tap(FormBack())
    assert_asks(harness, text, NEW_FORM, "sex")
    await answer_all(talk, {k: v for k, v in NEW.items() if k != "full_name"})
    summary = await talk.tap(FormGroup(group=""))
    assert "<b>Trần Thị Mai</b>" in summary and "<b>Trần Thị Ma</b>" not in summary


# -- 7. deadlines end to end --------------------------------------------------------------------------------
@pytest.mark.parametrize(("profile", "effective", "deadline", "timely"), [
    ("hau-giang-2016", "01/06/2026", dt.date(2026, 6, 16), False),
    ("hau-giang-2016", "20/06/2026", dt.date(2026, 7, 6), True),
    ("vn-2026", "26/06/2026", dt.date(2026, 7, 1), True),  # Fri + 3 working days = Wed 01/07, today
    ("vn-2026", "25/06/2026", dt.date(2026, 6, 30), False),
])
async def test_deadlines_end_to_end(harness: BotHarness, profile: str, effective: str, deadline: dt.date,
                                    timely: bool) -> None:
    people = await prepare(harness, profile)
    talk = Talk(harness, CLERK)
    await start_change(talk, "commendation", people[HOA])
    summary = await answer_all(talk, {"form": "Giấy khen", "reason": "-", "doc_number": "9/QĐ-SYT",
                                      "doc_date": effective, "doc_issuer": "Sở Y tế", "effective_on": effective})
    verdict = tr(harness, "on time" if timely else "LATE")
    assert f"{deadline:%d/%m/%Y} — {verdict}" in summary
    reply = await talk.tap(FormConfirm(action="confirm"))
    [event] = await rows(harness, ChangeEvent)
    assert (event.deadline, event.on_time) == (deadline, timely)
    assert reply.endswith(tr(harness, "Deadline {date}: entered on time." if timely else "Deadline {date}: entered LATE.",
                             date=f"{deadline:%d/%m/%Y}"))

    await talk.say(f"/history {HOA}")
    history = await talk.tap(HistoryOpen(id=people[HOA]))
    assert tr(harness, "on time" if timely else "LATE") + " " + tr(harness, "(deadline {date})",
                                                                     date=f"{deadline:%d/%m/%Y}") in history


@pytest.mark.parametrize(("profile", "doc_date", "deadline", "timely"), [
    ("hau-giang-2016", "20/06/2026", dt.date(2026, 7, 20), True),   # 30 calendar days
    ("hau-giang-2016", "25/05/2026", dt.date(2026, 6, 24), False),
    ("vn-2026", "26/06/2026", dt.date(2026, 7, 1), True),           # 3 working days
])
async def test_the_new_dossier_deadline_counts_from_the_recruitment_decision(
    harness: BotHarness, profile: str, doc_date: str, deadline: dt.date, timely: bool
) -> None:
    await prepare(harness, profile)
    talk = Talk(harness, CLERK)
    await talk.say("/new")
    await answer_all(talk, {**NEW, "doc_date": doc_date})
    summary = await talk.tap(FormGroup(group=""))
    assert f"{deadline:%d/%m/%Y} — {tr(harness, 'on time' if timely else 'LATE')}" in summary
    await talk.tap(FormConfirm(action="confirm"))
    [event] = await rows(harness, ChangeEvent)
    assert (event.deadline, event.on_time) == (deadline, timely)


# -- 8. the person's own declaration, and the clerk's review ---------------------------------------------------
async def declare_marriage(harness: BotHarness, people: dict[str, int]) -> tuple[Talk, Talk, ChangeEvent]:
    uow, clock = harness.runtime.uow, harness.runtime.clock
    await sign_in(uow, clock, "an.nv", "SYT", "employee", EMPLOYEE, personal_id=AN)
    await sign_in(uow, clock, "tam.stc", "STC", "clerk", STC_CLERK)
    employee, clerk = Talk(harness, EMPLOYEE), Talk(harness, CLERK)
    form = DECLARATION_FORMS["marriage"]

    menu = await employee.say("/declare")
    assert NAMES[AN] in menu
    assert employee.buttons() == [DeclareKindPick(kind=k).pack() for k in
                                  ("asset_declaration", "income_tax", "marriage", "divorce", "address")]
    text = await employee.tap(DeclareKindPick(kind="marriage"))
    assert_asks(harness, text, form, "spouse_name")
    await employee.say("Lê Văn Bình")
    text = await employee.say("3000")
    assert tr(harness, "{value} is out of range ({low} to {high}).", value="3000", low=1900, high=2026) in text
    await answer_all(employee, {"spouse_birth_year": "1985", "spouse_occupation": "-"})
    text = await employee.say("01/08/2026")  # an event cannot be declared before it happens
    assert tr(harness, "The date {value} is in the future.", value="01/08/2026") in text
    summary = await employee.say("10/06/2026")
    assert "Lê Văn Bình" in summary and "1985" in summary and "10/06/2026" in summary
    assert tr(harness, "Your unit's clerk will review it before it enters your dossier.") in summary

    reply = await employee.tap(FormConfirm(action="confirm"))
    [event] = await rows(harness, ChangeEvent)
    assert f"#{event.id}" in reply
    assert (event.kind, event.status, event.dossier_id) == ("marriage", "pending", people[AN])
    assert (event.deadline, event.on_time, event.doc_number, event.recorded_by_label) == (None, None, None, "an.nv")
    assert event.payload == {"spouse_name": "Lê Văn Bình", "spouse_birth_year": "1985", "effective_on": "10/06/2026"}
    assert await rows(harness, DossierRecord) == [] and await rows(harness, DossierVersion) == []
    assert await change_audit(harness) == ["declaration.marriage"]

    # The SYT clerk is told, with what to review (the STC clerk is not): a notice in the outbox, due at once.
    assert employee.texts(CLERK) == []  # not by the handler: by the sender
    clerk_account = (await load_actor(harness.runtime.uow, harness.channel, CLERK)).account_id
    [row] = await outbox_rows(harness.runtime.uow)
    assert (row.kind, row.account_id, row.channel, row.address, row.object_id, row.due_at) == (
        "declaration_new", clerk_account, harness.channel, str(CLERK), str(event.id), harness.runtime.clock.now())
    assert {key: row.payload[key] for key in ("event", "name", "kind", "answers", "dossier_id")} == {
        "event": event.id, "name": NAMES[AN], "kind": "marriage", "dossier_id": people[AN],
        "answers": {"spouse_name": "Lê Văn Bình", "spouse_birth_year": "1985", "effective_on": "10/06/2026"}}
    assert row.payload["lines"] == []  # a family record is added: no field of the card changes
    sent = await harness.deliver()
    [notice] = [c.text for c in sent if int(c.chat_id) == CLERK]
    assert f"#{event.id}" in notice and NAMES[AN] in notice and "Lê Văn Bình" in notice and "1985" in notice
    assert [int(c.chat_id) for c in sent] == [CLERK]
    assert clerk.buttons() == [Decide(id=event.id, approve=True).pack(), Decide(id=event.id, approve=False).pack()]
    assert clerk.buttons()[0].endswith(":1") and clerk.buttons()[1].endswith(":0")
    return employee, clerk, event


async def test_a_declaration_approved_by_the_clerk(harness: BotHarness) -> None:
    people = await prepare(harness)
    employee, clerk, event = await declare_marriage(harness, people)
    notice = clerk.keyboard()

    listed = await clerk.say("/pending")
    assert f"#{event.id}" in listed and NAMES[AN] in listed and "Lê Văn Bình" in listed

    reply = await clerk.tap(Decide(id=event.id, approve=True), message=notice)
    assert f"#{event.id}" in reply and NAMES[AN] in reply
    [row] = await outbox_rows(harness.runtime.uow, "declaration_decided")
    employee_account = (await load_actor(harness.runtime.uow, harness.channel, EMPLOYEE)).account_id
    assert (row.account_id, row.channel, row.address, row.object_id) == (
        employee_account, harness.channel, str(EMPLOYEE), str(event.id))
    assert row.payload == {"event": event.id, "kind": "marriage", "status": "applied", "reason": "",
                           "locale": None, "due_on": "2026-07-01"}
    [told] = [c.text for c in await harness.deliver() if int(c.chat_id) == EMPLOYEE]
    assert told == tr(harness, "Your declaration #{event} ({kind}) was approved and entered in your dossier.",
                      event=event.id, kind=tr(harness, KINDS["marriage"].title))
    [decided] = await rows(harness, ChangeEvent)
    assert decided.status == "applied" and decided.decided_at is not None and decided.decision_note is None
    records = {r.kind: r for r in await rows(harness, DossierRecord, DossierRecord.dossier_id == people[AN])}
    assert sorted(records) == ["declaration", "family"]
    assert records["family"].data["name"] == "Lê Văn Bình" and records["family"].data["born"] == "1985"
    assert records["declaration"].data["status"] == "married"
    assert records["declaration"].date_from == dt.date(2026, 6, 10)
    versions = await rows(harness, DossierVersion)
    assert [(v.change_event_id, v.valid_from) for v in versions] == [(None, None), (event.id, dt.date(2026, 6, 10))]
    assert await change_audit(harness) == ["declaration.marriage", "declaration.applied"]

    await clerk.tap(Decide(id=event.id, approve=True), message=notice)  # a second press changes nothing
    assert clerk.alerts() == [tr(harness, "This declaration was already decided.")]
    assert len(await rows(harness, DossierRecord)) == 2
    assert await clerk.say("/pending") == tr(harness, "No declaration is waiting for you.")


async def test_a_declaration_rejected_with_a_reason(harness: BotHarness) -> None:
    people = await prepare(harness)
    employee, clerk, event = await declare_marriage(harness, people)

    # the person cannot decide on their own declaration, even with a forged button
    employee.calls = await harness.press(clerk.keyboard(), Decide(id=event.id, approve=True).pack(), user_id=EMPLOYEE)
    assert employee.alerts() == [tr(harness, "You are not allowed to do that.")]
    assert (await rows(harness, ChangeEvent))[0].status == "pending"

    asked = await clerk.tap(Decide(id=event.id, approve=False))
    assert f"#{event.id}" in asked
    text = await clerk.say("   ")  # no reason: asked again, nothing decided
    assert tr(harness, "A rejection needs a reason.") in text
    assert (await rows(harness, ChangeEvent))[0].status == "pending"
    reply = await clerk.say("Thiếu bản sao giấy chứng nhận kết hôn")
    assert f"#{event.id}" in reply and NAMES[AN] in reply
    [row] = await outbox_rows(harness.runtime.uow, "declaration_decided")
    assert (row.address, row.payload["status"], row.payload["reason"]) == (
        str(EMPLOYEE), "rejected", "Thiếu bản sao giấy chứng nhận kết hôn")
    [told] = [c.text for c in await harness.deliver() if int(c.chat_id) == EMPLOYEE]
    assert f"#{event.id}" in told and "Thiếu bản sao giấy chứng nhận kết hôn" in told
    [decided] = await rows(harness, ChangeEvent)
    assert (decided.status, decided.decision_note) == ("rejected", "Thiếu bản sao giấy chứng nhận kết hôn")
    assert await rows(harness, DossierRecord) == [] and await rows(harness, DossierVersion) == []
    assert await change_audit(harness) == ["declaration.marriage", "declaration.rejected"]
    assert await clerk.state() is None

    history = await employee.say("/history")  # the person sees the refusal and its reason
    assert f"#{event.id}" in history and "Thiếu bản sao giấy chứng nhận kết hôn" in history


async def test_an_employee_cannot_log_changes(harness: BotHarness) -> None:
    people = await prepare(harness)
    await sign_in(harness.runtime.uow, harness.runtime.clock, "an.nv", "SYT", "employee", EMPLOYEE, personal_id=AN)
    employee = Talk(harness, EMPLOYEE)
    refusal = tr(harness, "You are not allowed to do that.")
    assert await employee.say("/new") == refusal
    assert await employee.say(f"/update {AN}") == refusal
    await employee.say("/declare")
    # a forged button: the change menu's callback, which an employee is never shown
    employee.calls = await harness.press(employee.keyboard(), ChangeKindPick(id=people[AN], kind="retirement").pack(),
                                         user_id=EMPLOYEE)
    assert employee.alerts() == [refusal] and await employee.state() is None
    assert await rows(harness, ChangeEvent) == []


# -- 9. /history and "as of" ----------------------------------------------------------------------------------
async def test_history_lists_the_changes_and_shows_the_dossier_as_of_a_date(harness: BotHarness) -> None:
    people = await prepare(harness)
    hoa = people[HOA]
    talk = Talk(harness, CLERK)
    await log_change(talk, "address", hoa, {"permanent_address": "-", "current_address": "45 Lý Tự Trọng",
                                            "doc_number": "3/QĐ-SYT", "doc_date": "01/05/2026",
                                            "doc_issuer": "Sở Y tế", "effective_on": "01/05/2026"})
    await log_change(talk, "appointment", hoa, {"post": "Phó Trưởng phòng", "position_allowance": "0.25",
                                                "doc_number": "7/QĐ-SYT", "doc_date": "15/06/2026",
                                                "doc_issuer": "Sở Y tế", "effective_on": EFFECTIVE})
    first, second = await rows(harness, ChangeEvent)

    found = await talk.say("/history hoa")
    assert NAMES[HOA] in found and talk.buttons() == [HistoryOpen(id=hoa).pack()]
    history = await talk.tap(HistoryOpen(id=hoa))
    for expected in (f"#{first.id}", f"#{second.id}", "3/QĐ-SYT", "7/QĐ-SYT", "01/05/2026", "20/06/2026"):
        assert expected in history
    assert history.index(f"#{second.id}") < history.index(f"#{first.id}")  # the latest first
    menu = talk.keyboard()
    assert talk.buttons(menu) == [AsOfAsk(id=hoa).pack()]

    async def as_of(day: str) -> str:
        await talk.tap(AsOfAsk(id=hoa), message=menu)
        return await talk.say(day)

    between = await as_of("10/06/2026")  # after the move, before the appointment
    assert "10/06/2026" in between and "45 Lý Tự Trọng" in between
    assert "Chuyên viên" in between and "Phó Trưởng phòng" not in between
    after = await as_of("25/06/2026")
    assert "Phó Trưởng phòng" in after and "45 Lý Tự Trọng" in after
    assert ": 0,25" in after and "0.25" not in after  # the allowance with the decimal comma
    earlier = await as_of("01/01/2026")  # before any logged change: the dossier as it was
    assert "12 Trần Hưng Đạo" in earlier and "45 Lý Tự Trọng" not in earlier and "Phó Trưởng phòng" not in earlier

    await talk.tap(AsOfAsk(id=hoa), message=menu)
    text = await talk.say("31/02/2026")
    assert tr(harness, "Not a valid date: {value} (use dd/mm/yyyy)", value="31/02/2026") in text
    assert "Phó Trưởng phòng" in await talk.say("30/06/2026")
    assert await talk.state() is None
    actions = await audit_actions(harness.runtime.uow)
    assert actions.count("dossier.history") == 1 and actions.count("dossier.as_of") == 4


async def test_a_new_dossier_was_not_recorded_before_its_recruitment(harness: BotHarness) -> None:
    await prepare(harness)
    talk = Talk(harness, CLERK)
    await talk.say("/new")
    await answer_all(talk, NEW)
    await talk.tap(FormGroup(group=""))
    await talk.tap(FormConfirm(action="confirm"))
    [created] = await rows(harness, Dossier, Dossier.personal_id == NEW["personal_id"])
    history = await talk.say(f"/history {NEW['personal_id']}")
    history = await talk.tap(HistoryOpen(id=created.id))
    assert "45/QĐ-SYT" in history
    await talk.tap(AsOfAsk(id=created.id))
    assert tr(harness, "The dossier was not yet recorded on that date.") in await talk.say("30/06/2026")
    await talk.tap(AsOfAsk(id=created.id))
    assert "Chuyên viên phòng Kế hoạch" in await talk.say("01/07/2026")


# -- 10. scanned papers ---------------------------------------------------------------------------------------
async def test_a_scanned_decision_is_attached_and_stored_by_its_sha256(harness: BotHarness) -> None:
    serve_files(harness, {"file-qd": PDF, "file-exe": b"MZ\x90\x00"})
    people = await prepare(harness)
    talk = Talk(harness, CLERK)
    form = CHANGE_FORMS["appointment"]
    await start_change(talk, "appointment", people[HOA])
    await talk.say("Phó Trưởng phòng")

    text = await talk.feed(document_update(CLERK, "file-qd", "qd.pdf", len(PDF)))
    assert "qd.pdf" in text
    assert_asks(harness, text, form, "position_allowance")  # the question is asked again, nothing skipped
    text = await talk.feed(document_update(CLERK, "file-exe", "setup.exe", 4))
    assert text == tr(harness, "Only PDF, JPG, PNG or DOCX files can be attached; {name} is not one of them.",
                      name="setup.exe")
    summary = await answer_all(talk, {k: v for k, v in CASES[1].answers().items() if k != "post"})
    assert "qd.pdf" in summary and "setup.exe" not in summary
    assert stored_files(harness) == []  # nothing is fetched or stored before the confirmation

    await talk.tap(FormConfirm(action="confirm"))
    [event] = await rows(harness, ChangeEvent)
    [attachment] = await rows(harness, Attachment)
    digest = hashlib.sha256(PDF).hexdigest()
    assert (attachment.change_event_id, attachment.file_name, attachment.sha256) == (event.id, "qd.pdf", digest)
    assert (attachment.size, attachment.content_type) == (len(PDF), "application/pdf")
    assert (harness.runtime.settings.files_dir / digest[:2] / digest).read_bytes() == PDF
    assert "change.appointment" in await change_audit(harness)

    await talk.say(f"/history {HOA}")
    history = await talk.tap(HistoryOpen(id=people[HOA]))
    assert "📎 qd.pdf" in history
    await talk.tap(AttachmentGet(id=attachment.id))
    [sent] = [c for c in talk.calls if c.__api_method__ == "sendDocument"]
    assert sent.document.filename == "qd.pdf"
    assert b"".join([chunk async for chunk in sent.document.read(harness.bot)]) == PDF


async def test_a_renamed_executable_is_refused_at_the_confirmation_and_the_answers_stay(harness: BotHarness) -> None:
    serve_files(harness, {"file-fake": b"MZ\x90\x00 not a pdf at all"})
    people = await prepare(harness)
    talk = Talk(harness, CLERK)
    await start_change(talk, "appointment", people[HOA])
    await talk.feed(document_update(CLERK, "file-fake", "quyet-dinh.pdf", 26))  # the name passes, the bytes will not
    await answer_all(talk, CASES[1].answers())
    summary = talk.keyboard()
    text = await talk.tap(FormConfirm(action="confirm"))
    assert text == tr(harness, "Only PDF, JPG, PNG or DOCX files can be attached; {name} is not one of them.",
                      name="quyet-dinh.pdf")
    assert await rows(harness, ChangeEvent) == [] and await rows(harness, Attachment) == []
    assert stored_files(harness) == []
    await talk.tap(FormConfirm(action="confirm"), message=summary)  # confirmed again: saved, without the file
    [event] = await rows(harness, ChangeEvent)
    assert event.payload == CASES[1].payload() and await rows(harness, Attachment) == []


async def test_back_from_an_optional_group_returns_to_the_last_answered_question(harness: BotHarness) -> None:
    await prepare(harness)
    talk = Talk(harness, CLERK)
    await talk.say("/new")
    await answer_all(talk, NEW)
    text = await talk.tap(FormGroup(group="party"))
    assert "(14/16)" in text and FormBack().pack() in talk.sent_buttons()
    text = await talk.tap(FormBack())
    assert "(13/16)" in text and tr(harness, NEW_FORM.fields[NEW_FORM.index("effective_on")].question) in text
    text = await talk.say("02/07/2026")
    assert "(14/16)" in text


async def test_a_photo_and_at_most_five_papers_per_change(harness: BotHarness) -> None:
    serve_files(harness, {"thumb": b"small preview", "scan": JPEG, "file-qd": PDF})
    people = await prepare(harness)
    talk = Talk(harness, CLERK)
    await start_change(talk, "commendation", people[HOA])
    text = await talk.feed(photo_update(CLERK, ("thumb", 90), ("scan", 1280)))  # the largest size is kept
    assert "photo-u-scan.jpg" in text
    for number in range(1, 5):
        assert f"qd{number}.pdf" in await talk.feed(document_update(CLERK, "file-qd", f"qd{number}.pdf", len(PDF)))
    text = await talk.feed(document_update(CLERK, "file-qd", "qd5.pdf", len(PDF)))
    assert text == tr(harness, "At most {count} files per change.", count=5)
    summary = await answer_all(talk, {"form": "Giấy khen", "reason": "-", **PAPER, "effective_on": EFFECTIVE})
    assert "photo-u-scan.jpg, qd1.pdf, qd2.pdf, qd3.pdf, qd4.pdf" in summary and "qd5.pdf" not in summary
    await talk.tap(FormConfirm(action="confirm"))

    attachments = await rows(harness, Attachment)
    assert [a.file_name for a in attachments] == ["photo-u-scan.jpg", "qd1.pdf", "qd2.pdf", "qd3.pdf", "qd4.pdf"]
    assert [a.content_type for a in attachments][:2] == ["image/jpeg", "application/pdf"]
    digests = {hashlib.sha256(JPEG).hexdigest(), hashlib.sha256(PDF).hexdigest()}
    assert {a.sha256 for a in attachments} == digests
    assert sorted(path.name for path in stored_files(harness)) == sorted(digests)  # the same paper is stored once


async def test_as_of_with_a_change_logged_out_of_order(harness: BotHarness) -> None:
    people = await prepare(harness)
    hoa = people[HOA]
    talk = Talk(harness, CLERK)
    await log_change(talk, "appointment", hoa, {"post": "Phó Trưởng phòng", "position_allowance": "-", **PAPER,
                                                "effective_on": EFFECTIVE})
    await log_change(talk, "address", hoa, {"permanent_address": "-", "current_address": "45 Lý Tự Trọng",
                                            "doc_number": "3/QĐ-SYT", "doc_date": "01/05/2026",
                                            "doc_issuer": "Sở Y tế", "effective_on": "01/05/2026"})
    await talk.say(f"/history {HOA}")
    await talk.tap(HistoryOpen(id=hoa))
    await talk.tap(AsOfAsk(id=hoa))
    between = await talk.say("10/06/2026")  # moved on 01/05, appointed only on 20/06
    assert "45 Lý Tự Trọng" in between and "Phó Trưởng phòng" not in between


async def test_the_optional_groups_of_new_are_filled_later_through_update(harness: BotHarness) -> None:
    people = await prepare(harness)
    talk = Talk(harness, CLERK)
    await start_change(talk, "supplement", people[HOA])
    for value in ("-", "-", "-"):  # the paper is optional for completing a dossier
        await talk.say(value)
    menu = await talk.say(EFFECTIVE)
    assert tr(harness, "The required answers are in. Fill an optional group now, or later:") in menu
    await talk.tap(FormGroup(group="qualifications"))
    await talk.answer("fc:ThS")
    await talk.say("Quản lý công")
    for _ in range(4):  # political theory, state management, foreign language, IT: left empty
        await talk.say("-")
    await talk.tap(FormGroup(group="contact"))
    await talk.say("Vị Thanh")
    for _ in range(4):
        await talk.say("-")
    summary = await talk.tap(FormGroup(group=""))  # on to the summary
    assert "Thạc sĩ" in summary and "Quản lý công" in summary and "Vị Thanh" in summary
    await talk.tap(FormConfirm(action="confirm"))
    done = await dossier(harness, people[HOA])
    assert (done.professional_level, done.major, done.birthplace) == ("Thạc sĩ", "Quản lý công", "Vị Thanh")
    [event] = await rows(harness, ChangeEvent)
    assert (event.kind, event.doc_number, event.effective_on) == ("supplement", None, E)


async def test_a_decision_is_registered_to_enter_later(harness: BotHarness) -> None:
    people = await prepare(harness)
    talk = Talk(harness, CLERK)
    await start_change(talk, "registration", people[HOA])
    await talk.answer("fc:appointment")
    for value in PAPER.values():
        await talk.say(value)
    summary = await talk.say(EFFECTIVE)
    assert "12/QĐ-SYT" in summary
    done = await talk.tap(FormConfirm(action="confirm"))
    assert tr(harness, "To be entered by {date}; you will be reminded.", date="06/07/2026") in done
    [event] = await rows(harness, ChangeEvent)
    assert (event.kind, event.status, event.payload["for_kind"]) == ("registration", "registered", "appointment")
    assert (await dossier(harness, people[HOA])).post == "Chuyên viên"
