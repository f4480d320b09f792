"""/find: real-world Vietnamese queries, the scope filter, paging, the audit of every search, and the
dossier card's sections, masking and length limit."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest

from handlers.dossiers import DossierSection, OpenDossier, render_section
from handlers.find import FindMore
from services.core.actor import Actor
from services.core.errors import InvalidInput, PermissionDenied
from services.core.text import fold
from services.dossiers.lookup import FindFilters, LookupService, parse_query, split_filters
from services.regime.dossier_fields import DossierFull, Record
from storage import Database, UnitOfWork
from storage.models import Dossier
from storage.search import SearchTerms
from tests.conftest import BotHarness, sent_texts
from tests.test_accounts import sign_in, tree

pytestmark = pytest.mark.both_transports  # the same flows over the web chat's transport (tests/conftest.py)


@pytest.fixture
def database(any_database: Database) -> Database:
    """The service tests of /find run on each backend: SQLite's FTS5 index and PostgreSQL's word index."""
    return any_database

PEOPLE = [
    # personal ID, name, birth date, unit, status, rank
    ("001188000111", "Đặng Thị Hoà", dt.date(1988, 3, 9), "SYT", "active", "01.003"),
    ("092190000222", "Nguyễn Văn Thủy", dt.date(1990, 1, 2), "BV", "active", "01.003"),
    ("092191000333", "Lê Thị Thuỷ", dt.date(1991, 5, 6), "BV", "retired", "01.002"),
    ("092185000444", "Trần Đức Anh", dt.date(1985, 7, 8), "SYT", "active", "01.004"),
    ("092186000555", "Phạm Minh Đức", dt.date(1986, 9, 10), "BV", "active", "01.003"),
    ("092187000666", "Nguyễn Văn An", dt.date(1987, 11, 12), "SYT", "active", "01.003"),
    ("092188000777", "Nguyễn An Khang", dt.date(1988, 12, 1), "BV", "active", "01.003"),
    ("092189000888", "Đỗ Hoàng Yến", dt.date(1989, 4, 4), "STC", "active", "01.003"),  # another branch
]


async def add_people(uow: UnitOfWork, clock, people=PEOPLE) -> dict[str, int]:  # noqa: ANN001
    now = clock.now()
    async with uow.write() as repos:
        units = {code: await repos.units.by_code(code) for code in ("SYT", "BV", "STC")}
        await repos.dossiers.add_many([{
            "personal_id": pid, "full_name": name, "folded_name": fold(name), "sex": "F", "birth_date": born,
            "custodian_unit_id": units[unit].id, "working_unit_id": units[unit].id, "employment_status": status,
            "rank_code": rank, "post": "Chuyên viên", "current_address": "12 Trần Hưng Đạo",
            "created_at": now, "updated_at": now,
        } for pid, name, born, unit, status, rank in people])
        return await repos.dossiers.ids_by_personal_id([row[0] for row in people])


@pytest.fixture
async def clerk(uow: UnitOfWork, clock) -> Actor:  # noqa: ANN001
    await tree(uow, clock)
    await add_people(uow, clock)
    return await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)


def names(page) -> list[str]:  # noqa: ANN001
    return [candidate.full_name for candidate in page.candidates]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("dang", ["Đặng Thị Hoà"]),  # đ folds to d, which SQLite's own folding does not do
        ("Đặng", ["Đặng Thị Hoà"]),
        ("hòa đặng", ["Đặng Thị Hoà"]),  # the other tone placement, the words reversed
        (unicodedata.normalize("NFD", "Hoà"), ["Đặng Thị Hoà"]),  # decomposed input
        ("THUY", ["Lê Thị Thuỷ", "Nguyễn Văn Thủy"]),  # thuỷ and thủy alike
        ("thủy", ["Lê Thị Thuỷ", "Nguyễn Văn Thủy"]),
        ("nguyen van an", ["Nguyễn Văn An"]),
        ("an nguyen", ["Nguyễn An Khang", "Nguyễn Văn An"]),
        ("duc", ["Phạm Minh Đức", "Trần Đức Anh"]),
        ("000111", ["Đặng Thị Hoà"]),  # part of a personal ID
        ("001188000111", ["Đặng Thị Hoà"]),  # the whole ID, leading zeros and all
        ("09/03/1988", ["Đặng Thị Hoà"]),  # a birth date
        ("nguyen 12/11/1987", ["Nguyễn Văn An"]),
        ("yen", []),  # Đỗ Hoàng Yến works at another branch: never shown
        ("xyz", []),
    ],
)
async def test_real_world_queries(uow: UnitOfWork, clock, clerk: Actor, query: str, expected: list[str]) -> None:  # noqa: ANN001
    assert sorted(names(await LookupService(uow, clerk, clock).find(query))) == sorted(expected)


async def test_the_best_match_comes_first(uow: UnitOfWork, clock, clerk: Actor) -> None:  # noqa: ANN001
    page = await LookupService(uow, clerk, clock).find("nguyen van")
    assert names(page)[:2] == ["Nguyễn Văn An", "Nguyễn Văn Thủy"]  # "nguyen van…" before "nguyen an khang"


async def test_filters_unit_status_rank(uow: UnitOfWork, clock, clerk: Actor) -> None:  # noqa: ANN001
    lookup = LookupService(uow, clerk, clock)
    assert sorted(names(await lookup.find("thuy", filters=FindFilters(status="retired")))) == ["Lê Thị Thuỷ"]
    assert names(await lookup.find("nguyen", filters=FindFilters(unit_code="BV"))) == ["Nguyễn An Khang", "Nguyễn Văn Thủy"]
    assert names(await lookup.find("duc", filters=FindFilters(rank_code="01.004"))) == ["Trần Đức Anh"]
    assert split_filters("thuy tt:retired dv:bv ngach:01.002") == (
        "thuy", FindFilters(unit_code="BV", status="retired", rank_code="01.002"))


async def test_bad_queries_are_explained(uow: UnitOfWork, clock, clerk: Actor) -> None:  # noqa: ANN001
    lookup = LookupService(uow, clerk, clock)
    for query in ("", "  ", "31/02/1990"):
        with pytest.raises(InvalidInput):
            await lookup.find(query)
    assert parse_query("Đặng  thị-hoà 1988") == SearchTerms(("dang", "thi", "hoa"), None, 1988)  # name + birth year
    assert parse_query("hoa 188").words == ("hoa", "188")  # not a year: part of a personal ID


async def test_paging_and_the_audit_of_what_was_shown(uow: UnitOfWork, clock) -> None:  # noqa: ANN001
    await tree(uow, clock)
    many = [(f"0921900{n:05d}", f"Võ Văn Tâm {n:02d}", dt.date(1990, 1, 1), "SYT", "active", "01.003") for n in range(25)]
    ids = await add_people(uow, clock, many)
    manager = await sign_in(uow, clock, "minh.syt", "SYT", "manager", 601)
    lookup = LookupService(uow, manager, clock)
    pages = [await lookup.find("vo tam", page) for page in range(3)]
    assert [len(p.candidates) for p in pages] == [10, 10, 5]
    assert [p.has_next for p in pages] == [True, True, False]
    assert len({c.id for p in pages for c in p.candidates}) == 25
    async with uow.read() as repos:
        searches = [e for e in await repos.audit.search(actor_label="minh.syt", limit=10) if e.action == "dossier.search"]
    assert searches[0].details["shown"] == [c.id for c in pages[2].candidates]
    assert set(searches[0].details["shown"]) <= set(ids.values())


async def test_roles_without_lookup_are_refused(uow: UnitOfWork, clock) -> None:  # noqa: ANN001
    await tree(uow, clock)
    auditor = await sign_in(uow, clock, "kt.snv", "SNV", "auditor", 701)
    with pytest.raises(PermissionDenied):
        await LookupService(uow, auditor, clock).find("dang")


async def test_the_index_follows_every_write(uow: UnitOfWork, clock, clerk: Actor) -> None:  # noqa: ANN001
    from storage.models import Dossier

    async with uow.write() as repos:
        dossier = await repos.session.get(Dossier, await repos.dossiers.id_of("092185000444"))
        dossier.full_name, dossier.folded_name = "Trần Đức Anh Tuấn", fold("Trần Đức Anh Tuấn")
    assert names(await LookupService(uow, clerk, clock).find("tuan")) == ["Trần Đức Anh Tuấn"]


# -- through the bot -------------------------------------------------------------------------------

@pytest.fixture
async def people(harness: BotHarness) -> dict[str, int]:
    await tree(harness.runtime.uow, harness.runtime.clock)
    return await add_people(harness.runtime.uow, harness.runtime.clock)


async def bot_sign_in(harness: BotHarness, username: str, unit: str, role: str, user_id: int) -> None:
    await sign_in(harness.runtime.uow, harness.runtime.clock, username, unit, role, user_id)


async def test_find_lists_candidates_with_buttons_and_pages(harness: BotHarness, people: dict[str, int]) -> None:
    await bot_sign_in(harness, "lan.syt", "SYT", "clerk", 501)
    text = sent_texts(await harness.send("/find nguyen", user_id=501))[0]
    assert text.startswith("Kết quả tìm <b>nguyen</b>, trang 1:")
    # The personal ID, and the rank with its name from the reference list (issue 18, points 5 and 10).
    assert ("3. <b>Nguyễn Văn Thủy</b> · <code>092190000222</code> — 02/01/1990 — Bệnh viện Đa khoa — Chuyên viên"
            " — 01.003 Chuyên viên") in text
    keyboard = harness.last_keyboard_message().reply_markup.inline_keyboard
    assert [b.text for b in keyboard[0]] == ["1", "2", "3"]
    assert keyboard[0][0].callback_data == OpenDossier(id=people["092188000777"]).pack()


async def test_find_without_words_asks_and_re_asks(harness: BotHarness, people: dict[str, int]) -> None:
    await bot_sign_in(harness, "lan.syt", "SYT", "clerk", 501)
    assert "Gõ họ tên" in sent_texts(await harness.send("/find", user_id=501))[0]
    assert sent_texts(await harness.send("31/02/1990", user_id=501)) == ["Ngày không hợp lệ: 31/02/1990 (dùng dd/mm/yyyy)"]
    assert "Đặng Thị Hoà" in sent_texts(await harness.send("dang hoa", user_id=501))[0]


async def test_next_page_button(harness: BotHarness) -> None:
    await tree(harness.runtime.uow, harness.runtime.clock)
    await add_people(harness.runtime.uow, harness.runtime.clock,
                     [(f"0921900{n:05d}", f"Võ Văn Tâm {n:02d}", dt.date(1990, 1, 1), "SYT", "active", "01.003")
                      for n in range(12)])
    await bot_sign_in(harness, "lan.syt", "SYT", "clerk", 501)
    await harness.send("/find tam", user_id=501)
    texts = sent_texts(await harness.press(harness.last_keyboard_message(), FindMore(page=1).pack(), user_id=501))
    assert texts[0].startswith("Kết quả tìm <b>tam</b>, trang 2:") and "11. <b>Võ Văn Tâm 10</b>" in texts[0]


async def test_manager_sees_no_family_and_no_addresses(harness: BotHarness, people: dict[str, int]) -> None:
    await bot_sign_in(harness, "minh.syt", "SYT", "manager", 601)
    await bot_sign_in(harness, "lan.syt", "SYT", "clerk", 501)
    hoa = people["001188000111"]
    await harness.send("/start", user_id=601)
    anchor = list(harness.session.messages.values())[-1]
    await harness.press(anchor, OpenDossier(id=hoa).pack(), user_id=601)
    buttons = [b.text for row in harness.last_keyboard_message().reply_markup.inline_keyboard for b in row]
    assert "Quan hệ gia đình" not in buttons and "Sơ yếu" in buttons
    identity = sent_texts(await harness.press(anchor, DossierSection(id=hoa, section="identity").pack(), user_id=601))[0]
    assert "Nơi ở hiện nay" not in identity and "Số định danh cá nhân: 001188000111" in identity
    refused = await harness.press(anchor, DossierSection(id=hoa, section="family").pack(), user_id=601)
    assert refused[0].__api_method__ == "answerCallbackQuery" and refused[0].show_alert

    clerk_identity = sent_texts(await harness.press(anchor, DossierSection(id=hoa, section="identity").pack(), user_id=501))[0]
    assert "Nơi ở hiện nay: 12 Trần Hưng Đạo" in clerk_identity


async def test_an_employee_sees_only_their_own_dossier(harness: BotHarness, people: dict[str, int]) -> None:
    me = await sign_in(harness.runtime.uow, harness.runtime.clock, "hoa.nv", "SYT", "employee", 801, "001188000111")
    await harness.send("/start", user_id=801)
    anchor = list(harness.session.messages.values())[-1]
    mine = sent_texts(await harness.press(anchor, OpenDossier(id=people["001188000111"]).pack(), user_id=801))
    assert "<b>Đặng Thị Hoà</b>" in mine[0]
    other = await harness.press(anchor, OpenDossier(id=people["092190000222"]).pack(), user_id=801)
    assert other[0].text == "Bạn không có quyền thực hiện thao tác này."
    assert sent_texts(await harness.send("/find dang", user_id=801)) == ["Bạn không có quyền thực hiện thao tác này."]
    assert me.role == "employee"


def test_a_section_with_200_history_rows_fits_one_message() -> None:
    records = tuple(Record("work_history", dt.date(1990 + n // 12, n % 12 + 1, 1), None,
                           {"text": f"Chuyên viên phòng Tổ chức cán bộ, Sở Nội vụ thành phố Cần Thơ, lần {n}"})
                    for n in range(200))
    dossier = DossierFull(1, {"full_name": "Đặng Thị Hoà"}, "Sở Nội vụ", "Sở Nội vụ", records)
    from aiogram.utils.i18n import I18n

    from bot.i18n import create_i18n

    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("vi"):
        text = render_section(dossier, "history")
    assert len(text) <= 4096
    assert text.splitlines()[-1].startswith("… và ") and "dòng nữa" in text
    shown = sum(1 for line in text.splitlines() if line.startswith("• "))
    assert f"… và {200 - shown} dòng nữa" in text
    assert isinstance(i18n, I18n)


async def test_employee_account_opens_their_dossier_from_start(harness: BotHarness, people: dict[str, int]) -> None:
    from services.accounts.service import AccountService
    from services.core.actor import Actor as _Actor

    service = AccountService(harness.runtime.uow, _Actor.system(), harness.runtime.clock)
    with pytest.raises(InvalidInput) as caught:
        await service.issue("x.nv", "SYT", "employee", "X", "r", personal_id="12345")
    assert caught.value.field == "personal_id"
    code = (await service.issue("hoa.nv", "SYT", "employee", "Đặng Thị Hoà", "r", personal_id="001188000111")).activation_code
    await harness.send(f"/start {code}", user_id=802)
    await harness.send("mat-khau-2026", user_id=802)
    await harness.send("/start", user_id=802)
    button = harness.last_keyboard_message().reply_markup.inline_keyboard[0][0]
    assert button.text == "Hồ sơ của tôi" and button.callback_data == OpenDossier(id=people["001188000111"]).pack()


async def test_print_2c_sends_a_word_document(harness: BotHarness, people: dict[str, int]) -> None:
    import io

    import docx

    from handlers.dossiers import PrintDossier

    await bot_sign_in(harness, "lan.syt", "SYT", "clerk", 501)
    await harness.send("/start", user_id=501)
    anchor = list(harness.session.messages.values())[-1]
    calls = await harness.press(anchor, PrintDossier(id=people["001188000111"]).pack(), user_id=501)
    sent = [call for call in calls if call.__api_method__ == "sendDocument"]
    assert len(sent) == 1 and sent[0].document.filename == "2C-001188000111.docx"
    content = b"".join([chunk async for chunk in sent[0].document.read(harness.bot)])
    document = docx.Document(io.BytesIO(content))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    text = "\n".join([paragraph.text for paragraph in document.paragraphs] + cells)
    assert "SƠ YẾU LÝ LỊCH" in text and "ĐẶNG THỊ HOÀ" in text
    async with harness.runtime.uow.read() as repos:
        actions = [e.action for e in await repos.audit.search(actor_label="lan.syt", limit=5)]
    assert "dossier.print" in actions


async def test_find_answered_leaves_the_prompt_and_keeps_data(harness: BotHarness, people: dict[str, int]) -> None:
    from aiogram.fsm.storage.base import StorageKey

    await bot_sign_in(harness, "lan.syt", "SYT", "clerk", 501)
    key = StorageKey(bot_id=harness.bot.id, chat_id=501, user_id=501)
    await harness.runtime.fsm_storage.update_data(key, {"kept": 1})
    await harness.send("/find", user_id=501)
    await harness.send("/find dang", user_id=501)  # the command answers the pending prompt too
    assert await harness.runtime.fsm_storage.get_state(key) is None
    assert (await harness.runtime.fsm_storage.get_data(key)) == {"kept": 1, "find": "dang", "find_for": "open"}


# -- issue 18: what a personnel officer reads ------------------------------------------------------------

async def test_status_in_vietnamese_words_and_the_valid_ones_listed(uow: UnitOfWork, clock, clerk: Actor) -> None:  # noqa: ANN001
    assert split_filters("thuy tt:nghihuu") == ("thuy", FindFilters(status="retired"))
    assert split_filters("tt:Nghỉ-hưu thuy") == ("thuy", FindFilters(status="retired"))
    assert split_filters("nguyen tt:đang công tác dv:bv") == ("nguyen", FindFilters(unit_code="BV", status="active"))
    assert split_filters("tt:đang công tác nguyen") == ("nguyen", FindFilters(status="active"))
    assert split_filters("an tinhtrang:tap su") == ("an", FindFilters(status="probation"))
    lookup = LookupService(uow, clerk, clock)
    _query, filters = split_filters("thuy tt:nghihuu")
    assert names(await lookup.find("thuy", filters=filters)) == ["Lê Thị Thuỷ"]
    with pytest.raises(InvalidInput) as refused:
        await lookup.find("thuy", filters=split_filters("thuy tt:vevuon")[1])
    assert refused.value.params["value"] == "vevuon"
    for word in ("nghỉ hưu (retired)", "đang công tác (active)", "chuyển công tác (transferred_out)"):
        assert word in refused.value.params["choices"]


async def test_a_name_with_the_year_of_birth(uow: UnitOfWork, clock, clerk: Actor) -> None:  # noqa: ANN001
    lookup = LookupService(uow, clerk, clock)
    assert names(await lookup.find("dang hoa 1988")) == ["Đặng Thị Hoà"]
    assert names(await lookup.find("nguyen 1987")) == ["Nguyễn Văn An"]
    assert names(await lookup.find("nguyen 1988")) == ["Nguyễn An Khang"]
    assert names(await lookup.find("dang hoa 1990")) == []
    page = await lookup.find("hoa 1988")
    assert [(c.personal_id, c.rank) for c in page.candidates] == [("001188000111", "01.003 Chuyên viên")]


async def test_free_text_is_a_search_and_shows_the_personal_id(harness: BotHarness, people: dict[str, int]) -> None:
    await bot_sign_in(harness, "lan.syt", "SYT", "clerk", 501)
    text = sent_texts(await harness.send("dang hoa 1988", user_id=501))[0]
    assert text.startswith("Kết quả tìm <b>dang hoa 1988</b>, trang 1:")
    assert "1. <b>Đặng Thị Hoà</b> · <code>001188000111</code> — 09/03/1988 — Sở Y tế" in text
    assert harness.last_keyboard_message().reply_markup.inline_keyboard[0][0].callback_data == \
        OpenDossier(id=people["001188000111"]).pack()
    refused = sent_texts(await harness.send("/find thuy tt:vevuon", user_id=501))[0]
    assert refused.startswith("Không có tình trạng vevuon. Hãy dùng một trong các giá trị: đang công tác (active);")
    retired = sent_texts(await harness.send("thuy tt:nghihuu", user_id=501))[0]  # the prompt re-asked: answered
    assert "Lê Thị Thuỷ" in retired and "Nguyễn Văn Thủy" not in retired


async def test_the_card_names_the_rank_and_writes_coefficients_with_a_comma(
    harness: BotHarness, people: dict[str, int]
) -> None:
    await bot_sign_in(harness, "lan.syt", "SYT", "clerk", 501)
    hoa = people["001188000111"]
    async with harness.runtime.uow.write() as repos:
        dossier = await repos.session.get(Dossier, hoa)
        dossier.salary_coefficient, dossier.salary_step = 4.32, 5
    await harness.send("/start", user_id=501)
    anchor = list(harness.session.messages.values())[-1]
    card = sent_texts(await harness.press(anchor, OpenDossier(id=hoa).pack(), user_id=501))[0]
    assert "Ngạch / chức danh nghề nghiệp: 01.003 Chuyên viên" in card and "Mã ngạch" not in card
    post = sent_texts(await harness.press(anchor, DossierSection(id=hoa, section="post_salary").pack(), user_id=501))[0]
    assert "Mã ngạch: 01.003 Chuyên viên" in post and "Ngạch / chức danh nghề nghiệp: Chuyên viên" in post
    assert "Hệ số lương: 4,32" in post


def test_the_family_section_shows_no_internal_code() -> None:
    records = (Record("family", None, None, {"side": "spouse", "relation": "Vợ/Chồng", "name": "Lê Văn Tâm",
                                             "born": "1987", "details": None}),)
    dossier = DossierFull(1, {"full_name": "Đặng Thị Hoà"}, "Sở Nội vụ", "Sở Nội vụ", records)
    from bot.i18n import create_i18n

    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("vi"):
        text = render_section(dossier, "family")
    assert "• Vợ/Chồng; Lê Văn Tâm; 1987" in text and "spouse" not in text
