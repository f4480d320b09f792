"""The printed resume form (Mẫu 2C-BNV/2008, HS02-VC/BNV): rendered, re-opened with python-docx, read back."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.table import Table

from services.core.clock import FrozenClock
from services.documents.print2c import DOT, LONG, SHORT, WITHHELD, render_2c
from services.regime.dossier_fields import ADDRESS, FAMILY, DossierFull, Record

NAME = "Đặng Thị Đào"
PERSONAL_ID = "001190012345"
WORK_ROWS = 200


def _values(**changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "full_name": NAME, "other_names": None, "sex": "F", "birth_date": dt.date(1990, 3, 5),
        "birthplace": "Xã Đông Thạnh, huyện Châu Thành, tỉnh Hậu Giang", "home_town": "Phường Cái Khế, Cần Thơ",
        "ethnicity": "Kinh", "religion": "Không", "nationality": "Việt Nam", "personal_id": PERSONAL_ID,
        "id_issued_on": dt.date(2021, 4, 12), "social_insurance_no": "9212345678",
        "permanent_address": "12 đường Đề Thám, phường Ninh Kiều, Cần Thơ", "current_address": None,
        "phone": "0909123456", "recruited_on": dt.date(2013, 9, 1), "recruiting_agency": "Sở Nội vụ thành phố Cần Thơ",
        "recruitment_decision": "123/QĐ-SNV", "post": "Phó Trưởng phòng", "post_since": dt.date(2020, 1, 1),
        "rank_code": "01.003", "rank_name": "Chuyên viên", "rank_since": dt.date(2013, 9, 1), "salary_step": 4,
        "salary_coefficient": 3.33, "salary_since": dt.date(2022, 9, 1), "position_allowance": 0.3,
        "over_ceiling_percent": None, "other_allowances": None, "employment_status": "active",
        "general_education": "12/12", "professional_level": "Thạc sĩ", "major": "Quản lý công",
        "political_theory": "Trung cấp", "state_management": "Chuyên viên", "foreign_language": "Tiếng Anh B1",
        "it_skill": "Cơ bản", "party_joined_on": dt.date(2015, 5, 19), "party_official_on": dt.date(2016, 5, 19),
        "military_enlisted_on": None, "military_discharged_on": None, "military_rank": None,
        "custodian_unit_code": "SNV", "working_unit_code": "SNV",
    }
    values.update(changes)
    return values


def _records() -> tuple[Record, ...]:
    training = [
        Record("training", dt.date(2008, 9, 1), dt.date(2012, 6, 30),
               {"school": "Trường Đại học Cần Thơ", "major": "Luật", "mode": "Chính quy", "degree": "Cử nhân"}),
        Record("training", dt.date(2016, 9, 1), dt.date(2018, 6, 30),
               {"school": "Học viện Hành chính Quốc gia", "major": "Quản lý công", "mode": "Vừa làm vừa học",
                "degree": "Thạc sĩ"}),
        Record("training", dt.date(2019, 3, 1), dt.date(2019, 9, 30),
               {"text": "Bồi dưỡng trung cấp lý luận chính trị - hành chính"}),
    ]
    work = [
        Record("work_history", dt.date(1990 + i // 12, i % 12 + 1, 1), None if i == WORK_ROWS - 1 else
               dt.date(1990 + (i + 1) // 12, (i + 1) % 12 + 1, 1), {"text": f"Chuyên viên phòng Tổ chức, đợt {i + 1}"})
        for i in range(WORK_ROWS)
    ]
    family = [
        Record("family", None, None, {"relation": "Cha", "name": "Đặng Văn Đức", "born": "1960",
                                      "details": "Nông dân, xã Đông Thạnh, Hậu Giang"}),
        Record("family", None, None, {"relation": "Mẹ", "name": "Lê Thị Đẹp", "born": 1963,
                                      "details": "Nội trợ"}),
    ]
    salary = [
        Record("salary_history", dt.date(2013, 9, 1), None, {"rank_code": "01.003", "step": 1, "coefficient": 2.34}),
        Record("salary_history", dt.date(2016, 9, 1), None, {"rank_code": "01.003", "step": 2, "coefficient": 2.67}),
        Record("salary_history", dt.date(2022, 9, 1), None, {"rank_code": "01.003", "step": 4, "coefficient": 3.33}),
    ]
    others = [
        Record("commendation", dt.date(2020, 12, 15), None, {"text": "Bằng khen của Chủ tịch UBND thành phố"}),
    ]
    return (*training, *work, *family, *salary, *others)


def _dossier(**changes: object) -> DossierFull:
    return DossierFull(7, _values(**changes), "Sở Nội vụ thành phố Cần Thơ", "Sở Nội vụ thành phố Cần Thơ", _records())


def _open(content: bytes):
    return Document(io.BytesIO(content))


def _lines(document) -> list[str]:
    """The text of every paragraph, inside tables (and tables in tables) too, in document order."""
    return ["".join(t.text or "" for t in p.iter(qn("w:t"))) for p in document.element.body.iter(qn("w:p"))]


def _line(document, start: str) -> str:
    found = [line for line in _lines(document) if line.startswith(start)]
    assert found, f"no line starting with {start!r}"
    return found[0]


def _table(document, first_header: str) -> Table:
    found = [table for table in document.tables if table.rows[0].cells[0].text.startswith(first_header)]
    assert len(found) == 1, first_header
    return found[0]


@pytest.fixture(scope="module")
def rendered() -> bytes:
    return render_2c(_dossier(), FrozenClock(dt.datetime(2026, 7, 1, 2, 0, tzinfo=dt.UTC)))


def test_title_and_form_number(rendered: bytes) -> None:
    text = "\n".join(_lines(_open(rendered)))
    assert "SƠ YẾU LÝ LỊCH CÁN BỘ, CÔNG CHỨC" in text
    assert "Mẫu 2C-BNV/2008" in text
    assert "HS02-VC/BNV" not in text
    assert "Ảnh màu" in text and "(4 x 6 cm)" in text


def test_header_names_units_and_number(rendered: bytes) -> None:
    document = _open(rendered)
    assert _line(document, "Cơ quan, đơn vị có thẩm quyền quản lý CBCC: ").endswith("Sở Nội vụ thành phố Cần Thơ")
    assert _line(document, "Số hiệu cán bộ, công chức: ") == f"Số hiệu cán bộ, công chức: {PERSONAL_ID}"


def test_items_carry_the_values(rendered: bytes) -> None:
    document = _open(rendered)
    assert _line(document, "1) Họ và tên khai sinh") == "1) Họ và tên khai sinh (viết chữ in hoa): ĐẶNG THỊ ĐÀO"
    assert _line(document, "3) Sinh ngày: ") == "3) Sinh ngày: 05/03/1990, Giới tính (nam, nữ): Nữ"
    assert _line(document, "11) ").startswith("11) Ngày tuyển dụng: 01/09/2013, Cơ quan tuyển dụng: Sở Nội vụ")
    assert "Hệ số: 3,33" in _line(document, "14) Ngạch công chức: Chuyên viên, Mã ngạch: 01.003, Bậc lương: 4")
    assert _line(document, "15.2- ") == "15.2- Trình độ chuyên môn cao nhất: Thạc sĩ, chuyên ngành Quản lý công"
    assert _line(document, "16) ") == (
        "16) Ngày vào Đảng Cộng sản Việt Nam: 19/05/2015, Ngày chính thức: 19/05/2016")
    assert _line(document, "25) ") == f"25) Số CCCD/định danh cá nhân: {PERSONAL_ID}, Ngày cấp: 12/04/2021"
    assert _line(document, "26) ") == "26) Số sổ BHXH: 9212345678"
    assert "Bằng khen của Chủ tịch UBND thành phố (2020)" in _line(document, "21) Khen thưởng: ")


def test_the_personal_id_keeps_its_leading_zeros(rendered: bytes) -> None:
    text = "\n".join(_lines(_open(rendered)))
    assert PERSONAL_ID in text
    assert text.count(PERSONAL_ID) == 2  # the dossier's number and item 25)


def test_empty_values_print_as_dotted_lines(rendered: bytes) -> None:
    document = _open(rendered)
    for start, label in (("2) ", "2) Tên gọi khác: "), ("9) ", "9) Nơi ở hiện nay: "),
                         ("10) ", "10) Nghề nghiệp khi được tuyển dụng: ")):
        value = _line(document, start).removeprefix(label)
        assert value and set(value) == {DOT}, (start, value)
    military = _line(document, "18) ")
    dots = DOT * SHORT
    assert military == f"18) Ngày nhập ngũ: {dots}, Ngày xuất ngũ: {dots}, Quân hàm cao nhất: {dots}"
    assert "None" not in "\n".join(_lines(document))


def test_training_table_has_a_header_and_every_row(rendered: bytes) -> None:
    table = _table(_open(rendered), "Tên trường")
    assert len(table.rows) == 1 + 3
    assert [cell.text for cell in table.rows[0].cells] == [
        "Tên trường", "Chuyên ngành đào tạo, bồi dưỡng", "Từ tháng, năm - đến tháng, năm", "Hình thức đào tạo",
        "Văn bằng, chứng chỉ, trình độ gì"]
    assert [cell.text for cell in table.rows[1].cells] == [
        "Trường Đại học Cần Thơ", "Luật", "09/2008 - 06/2012", "Chính quy", "Cử nhân"]
    # A row without the structured keys prints its words in the first column.
    assert table.rows[3].cells[0].text == "Bồi dưỡng trung cấp lý luận chính trị - hành chính"
    header = table.rows[0]._tr.trPr
    assert header is not None and header.find(qn("w:tblHeader")) is not None  # repeated on every page


def test_work_history_prints_all_200_rows(rendered: bytes) -> None:
    table = _table(_open(rendered), "Từ tháng, năm đến tháng, năm")
    rows = table.rows
    assert len(rows) - 1 == WORK_ROWS
    assert [cell.text for cell in rows[1].cells] == ["01/1990 - 02/1990", "Chuyên viên phòng Tổ chức, đợt 1"]
    assert [cell.text for cell in rows[WORK_ROWS].cells] == ["08/2006 - nay", "Chuyên viên phòng Tổ chức, đợt 200"]


def test_family_and_salary_tables(rendered: bytes) -> None:
    document = _open(rendered)
    own, in_laws = [table for table in document.tables if table.rows[0].cells[0].text == "Mối quan hệ"]
    assert [[cell.text for cell in row.cells[:3]] for row in own.rows[1:]] == [
        ["Cha", "Đặng Văn Đức", "1960"], ["Mẹ", "Lê Thị Đẹp", "1963"]]
    assert own.rows[1].cells[3].text == "Nông dân, xã Đông Thạnh, Hậu Giang"
    assert all(cell.text == "" for row in in_laws.rows[1:] for cell in row.cells)  # blank rows, filled by hand
    salary = _table(document, "Tháng/năm")
    assert [[cell.text for cell in row.cells] for row in salary.rows] == [
        ["Tháng/năm", "Mã ngạch/bậc", "Hệ số lương"], ["09/2013", "01.003/1", "2,34"],
        ["09/2016", "01.003/2", "2,67"], ["09/2022", "01.003/4", "3,33"]]


def test_sections_in_the_order_of_the_form(rendered: bytes) -> None:
    text = "\n".join(_lines(_open(rendered)))
    headings = ["27) ĐÀO TẠO, BỒI DƯỠNG VỀ CHUYÊN MÔN, NGHIỆP VỤ, LÝ LUẬN CHÍNH TRỊ, NGOẠI NGỮ, TIN HỌC",
                "28) TÓM TẮT QUÁ TRÌNH CÔNG TÁC", "29) ĐẶC ĐIỂM LỊCH SỬ BẢN THÂN", "30) QUAN HỆ GIA ĐÌNH",
                "31) DIỄN BIẾN QUÁ TRÌNH LƯƠNG", "32) NHẬN XÉT, ĐÁNH GIÁ CỦA CƠ QUAN, ĐƠN VỊ QUẢN LÝ",
                "Người khai"]
    positions = [text.index(heading) for heading in headings]
    assert positions == sorted(positions)
    assert "Khen thưởng: 15/12/2020: Bằng khen của Chủ tịch UBND thành phố" in text


def test_signature_block_is_dated_today_by_the_clock(clock: FrozenClock) -> None:
    document = _open(render_2c(_dossier(), clock))
    lines = _lines(document)
    assert any(line.endswith(", ngày 01 tháng 07 năm 2026") for line in lines)
    assert "Tôi xin cam đoan những lời khai trên đây là đúng sự thật" in lines
    assert "Thủ trưởng cơ quan, đơn vị quản lý và sử dụng CBCC" in lines
    assert "(Ký tên, đóng dấu)" in lines
    assert NAME in lines[lines.index("Người khai"):]  # the declarant's name under the signature


def test_signature_date_is_today_in_ho_chi_minh_not_utc() -> None:
    # 30/06/2026 20:00 UTC is already 01/07/2026 03:00 in Hà Nội.
    late = FrozenClock(dt.datetime(2026, 6, 30, 20, 0, tzinfo=dt.UTC))
    lines = _lines(_open(render_2c(_dossier(), late)))
    assert any(line.endswith(", ngày 01 tháng 07 năm 2026") for line in lines)


def test_viên_chức_get_the_hs02_form(clock: FrozenClock) -> None:
    document = _open(render_2c(_dossier(rank_code="V.07.05.15", rank_name="Giáo viên trung học phổ thông hạng III"),
                               clock))
    text = "\n".join(_lines(document))
    assert "Mẫu HS02-VC/BNV" in text and "SƠ YẾU LÝ LỊCH VIÊN CHỨC" in text
    assert "2C-BNV/2008" not in text and "CÁN BỘ, CÔNG CHỨC" not in text
    assert _line(document, "Số hiệu viên chức: ") == f"Số hiệu viên chức: {PERSONAL_ID}"
    assert _line(document, "14) Chức danh nghề nghiệp: Giáo viên trung học phổ thông hạng III, Mã số: V.07.05.15")


def test_a_bare_dossier_prints_the_blank_form(clock: FrozenClock) -> None:
    bare = DossierFull(1, {"personal_id": "000000000001", "full_name": "Đỗ Văn Đạt", "sex": "M",
                           "birth_date": dt.date(2001, 1, 2)}, "Sở Nội vụ", "Sở Nội vụ")
    document = _open(render_2c(bare, clock))
    assert _line(document, "1) ").endswith("ĐỖ VĂN ĐẠT")
    assert _line(document, "14) ").startswith(f"14) Ngạch công chức: {DOT * LONG}, Mã ngạch: {DOT * SHORT}")
    training = _table(document, "Tên trường")
    assert len(training.rows) == 1 + 3 and all(cell.text == "" for cell in training.rows[1].cells)


def test_page_and_fonts(rendered: bytes) -> None:
    document = _open(rendered)
    section = document.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    assert round(section.left_margin.cm, 1) == 3.0
    assert {round(m.cm, 1) for m in (section.right_margin, section.top_margin, section.bottom_margin)} == {2.0}
    normal = document.styles["Normal"]
    assert (normal.font.name, normal.font.size) == ("Times New Roman", Pt(13))
    assert document.styles["HS Table Text"].font.size == Pt(12)
    training = _table(document, "Tên trường")
    assert training.rows[1].cells[0].paragraphs[0].style.name == "HS Table Text"
    assert round(training.rows[1].cells[0].width.cm, 1) == 4.0


def test_converts_to_pdf_with_libreoffice(rendered: bytes, tmp_path: Path) -> None:
    office = shutil.which("libreoffice") or shutil.which("soffice")
    if office is None:
        pytest.skip("LibreOffice is not on PATH")
    source = tmp_path / "2c.docx"
    source.write_bytes(rendered)
    subprocess.run([office, "--headless", f"-env:UserInstallation=file://{tmp_path / 'profile'}",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)],
                   check=True, capture_output=True, timeout=180)
    pdf = (tmp_path / "2c.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")


def test_what_the_role_may_not_see_is_marked_withheld(clock: FrozenClock) -> None:
    """The manager's form (issue 18): no address and no family, and says so rather than leaving a blank."""
    values = {name: value for name, value in _values().items() if name not in ("permanent_address", "current_address")}
    records = tuple(record for record in _records() if record.kind != "family")
    withheld = DossierFull(7, values, "Sở Nội vụ", "Sở Nội vụ", records, frozenset({ADDRESS, FAMILY}))
    document = _open(render_2c(withheld, clock))
    assert _line(document, "8) ") == f"8) Nơi đăng ký hộ khẩu thường trú: {WITHHELD}"
    assert _line(document, "9) ") == f"9) Nơi ở hiện nay: {WITHHELD}"
    lines = _lines(document)
    family = lines.index("30) QUAN HỆ GIA ĐÌNH")
    assert lines[family + 1] == WITHHELD and "31) " in lines[family + 2]
    shown = _lines(_open(render_2c(_dossier(current_address=None), clock)))
    assert WITHHELD not in "\n".join(shown)  # a clerk's form: an empty value is a dotted line, as before
    assert f"9) Nơi ở hiện nay: {DOT * LONG}" in shown


async def test_the_rank_name_comes_from_the_reference_list(uow, clock: FrozenClock) -> None:  # noqa: ANN001
    """A dossier holding only the code prints the name the reference list gives it (issue 18, point 5)."""
    from services.dossiers.service import DossierService
    from storage.models import Dossier
    from tests.test_accounts import SYSTEM
    from tests.test_lookup import add_people, tree

    await tree(uow, clock)
    ids = await add_people(uow, clock, [("001188000111", "Đặng Thị Hoà", dt.date(1988, 3, 9), "SYT", "active",
                                         "V.07.05.15")])
    dossier = await DossierService(uow, SYSTEM, clock).full(ids["001188000111"])
    assert dossier.values["rank_name"] == "Giáo viên trung học phổ thông hạng III"
    document = _open(render_2c(dossier, clock))
    assert _line(document, "14) ").startswith(
        "14) Chức danh nghề nghiệp: Giáo viên trung học phổ thông hạng III, Mã số: V.07.05.15")
    async with uow.write() as repos:  # the office's own list first; a name the paper gave is kept as it is
        await repos.references.add("rank", "V.99", "Chức danh thử", {})
        (await repos.session.get(Dossier, ids["001188000111"])).rank_name = "Giáo viên THPT hạng III"
    again = await DossierService(uow, SYSTEM, clock).full(ids["001188000111"])
    assert again.values["rank_name"] == "Giáo viên THPT hạng III"
    async with uow.write() as repos:
        own = await repos.session.get(Dossier, ids["001188000111"])
        own.rank_code, own.rank_name = "V.99", None
    assert (await DossierService(uow, SYSTEM, clock).full(ids["001188000111"])).values["rank_name"] == "Chức danh thử"
