"""The printed resume form: Mẫu 2C-BNV/2008 (cán bộ, công chức) or HS02-VC/BNV (viên chức), as a .docx.

Laid out as the paper form: the managing units and the dossier's number top left, the form's number top
right, the photo box, the title, the numbered items 1)–26), the tables 27)–31), the assessment 32) and the
signatures. A value the dossier lacks prints as a dotted line, to be filled in by hand as on paper.

The wording is the state form's own and is fixed: it is not UI text, so it does not go through gettext.

The repeating records are read from `Record.data`:
  training        school, major, mode, degree (else the record's text)
  work_history    text (the record's text)
  family          relation, name, born, details; side == "spouse" puts a row under 30 b)
  salary_history  rank_code, step, coefficient (else the record's text)
  commendation, discipline, declaration: the record's text
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.shared import Cm, Pt
from docx.table import _Cell

from services.core.clock import Clock, format_date, local_today
from services.documents import docx_layout as layout
from services.documents.docx_layout import TABLE_PT
from services.documents.stamp import stamp_docx
from services.dossiers.service import DossierService
from services.platform.printouts import PrintoutService, Stamp
from services.regime.dossier_fields import ADDRESS, FAMILY, DossierFull, Record

TITLE_PT, NOTE_PT = 14, 11
DOT = "…"
SHORT, LONG = 6, 12  # dots standing for an empty date or number, and for an empty text (they fit the line)
TEXT_WIDTH_CM = 16.0  # A4 (21 cm) less the margins (3 cm left, 2 cm right)
SEX = {"M": "Nam", "F": "Nữ"}
# What stands where the reader's role may not see the data (services.dossiers.masking): never a blank, which
# would read as "not declared".
WITHHELD = "[không hiển thị: ngoài quyền xem của người in]"


@dataclass(frozen=True, slots=True)
class Variant:
    """What differs between the form for cán bộ, công chức and the one for viên chức."""

    number: str
    issued_by: str
    title: str
    managing_unit: str
    using_unit: str
    dossier_number: str
    rank: str
    rank_code: str
    salary_title: str
    assessment_title: str
    head: str


CIVIL_SERVANT = Variant(
    number="Mẫu 2C-BNV/2008",
    issued_by="(Ban hành kèm theo Quyết định số 02/2008/QĐ-BNV ngày 06/10/2008 của Bộ trưởng Bộ Nội vụ)",
    title="SƠ YẾU LÝ LỊCH CÁN BỘ, CÔNG CHỨC",
    managing_unit="Cơ quan, đơn vị có thẩm quyền quản lý CBCC",
    using_unit="Cơ quan, đơn vị sử dụng CBCC",
    dossier_number="Số hiệu cán bộ, công chức",
    rank="Ngạch công chức",
    rank_code="Mã ngạch",
    salary_title="DIỄN BIẾN QUÁ TRÌNH LƯƠNG CỦA CÁN BỘ, CÔNG CHỨC",
    assessment_title="NHẬN XÉT, ĐÁNH GIÁ CỦA CƠ QUAN, ĐƠN VỊ QUẢN LÝ VÀ SỬ DỤNG CÁN BỘ, CÔNG CHỨC",
    head="Thủ trưởng cơ quan, đơn vị quản lý và sử dụng CBCC",
)
PUBLIC_EMPLOYEE = Variant(
    number="Mẫu HS02-VC/BNV",
    issued_by="(Ban hành kèm theo Thông tư số 07/2019/TT-BNV ngày 01/6/2019 của Bộ trưởng Bộ Nội vụ)",
    title="SƠ YẾU LÝ LỊCH VIÊN CHỨC",
    managing_unit="Cơ quan quản lý viên chức",
    using_unit="Đơn vị sử dụng viên chức",
    dossier_number="Số hiệu viên chức",
    rank="Chức danh nghề nghiệp",
    rank_code="Mã số",
    salary_title="DIỄN BIẾN QUÁ TRÌNH LƯƠNG CỦA VIÊN CHỨC",
    assessment_title="NHẬN XÉT, ĐÁNH GIÁ CỦA CƠ QUAN, ĐƠN VỊ QUẢN LÝ VÀ SỬ DỤNG VIÊN CHỨC",
    head="Thủ trưởng cơ quan, đơn vị quản lý và sử dụng viên chức",
)

HISTORY_PROMPTS = (
    "- Khai rõ: bị bắt, bị tù (từ ngày tháng năm nào đến ngày tháng năm nào, ở đâu), đã khai báo cho ai, "
    "những vấn đề gì? Bản thân có làm việc trong chế độ cũ (cơ quan, đơn vị nào, địa điểm, chức danh, "
    "chức vụ, thời gian làm việc…)",
    "- Tham gia hoặc có quan hệ với các tổ chức chính trị, kinh tế, xã hội nào ở nước ngoài (làm gì, tổ chức "
    "nào, đặt trụ sở ở đâu…)?",
    "- Có thân nhân (Cha, Mẹ, Vợ, Chồng, con, anh chị em ruột) ở nước ngoài (làm gì, địa chỉ…)?",
)
FAMILY_COLUMNS = (
    ("Mối quan hệ", 2.5), ("Họ và tên", 4.0), ("Năm sinh", 2.0),
    ("Quê quán, nghề nghiệp, chức danh, chức vụ, đơn vị công tác, học tập, nơi ở (trong, ngoài nước); "
     "thành viên các tổ chức chính trị - xã hội…", 7.5),
)


def variant_of(rank_code: str | None) -> Variant:
    """HS02-VC/BNV for a viên chức (professional title codes start with "V."), else 2C-BNV/2008."""
    return PUBLIC_EMPLOYEE if (rank_code or "").strip().upper().startswith("V.") else CIVIL_SERVANT


def render_2c(dossier: DossierFull, clock: Clock, stamp: Stamp | None = None) -> bytes:
    """The dossier's resume form as the bytes of a .docx, dated today in the clock's zone; with a stamp, its
    verification code and QR at the foot of every page."""
    values = dossier.values
    form = variant_of(values.get("rank_code"))
    doc = Document()
    layout.set_up(doc, f"{form.number} - {_value(values.get('full_name'))}", clock.now())
    _header(doc, form, dossier)
    _title(doc, form)
    _identity(doc, dossier)
    _post_and_qualifications(doc, form, values)
    _other_items(doc, dossier)
    _tables(doc, form, dossier)
    _assessment(doc, form)
    _signatures(doc, form, values, clock)
    stamp_docx(doc, stamp)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


# -- the form's parts, top to bottom --

def _header(doc: DocxDocument, form: Variant, dossier: DossierFull) -> None:
    left, right = layout.frame(doc, (9.0, 7.0))
    layout.line(left, f"{form.managing_unit}: ", _dotted(dossier.custodian_unit, LONG), size=TABLE_PT, first=True)
    layout.line(left, f"{form.using_unit}: ", _dotted(dossier.working_unit, LONG), size=TABLE_PT)
    layout.line(left, f"{form.dossier_number}: ", _dotted(dossier.values.get("personal_id"), LONG), size=TABLE_PT)
    layout.text(right, form.number, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, first=True)
    layout.text(right, form.issued_by, italic=True, size=NOTE_PT, align=WD_ALIGN_PARAGRAPH.CENTER)


def _title(doc: DocxDocument, form: Variant) -> None:
    paragraph = layout.text(doc, form.title, bold=True, size=TITLE_PT, align=WD_ALIGN_PARAGRAPH.CENTER)
    paragraph.paragraph_format.space_before = Pt(12)
    paragraph.paragraph_format.space_after = Pt(12)


def _identity(doc: DocxDocument, dossier: DossierFull) -> None:
    """The photo box, with items 1)–9) beside it as on paper."""
    values = dossier.values
    photo_cell, items = layout.frame(doc, (4.6, 11.4))
    _photo_box(photo_cell)
    name = _value(values.get("full_name")).upper()
    layout.line(items, "1) Họ và tên khai sinh (viết chữ in hoa): ", name or DOT * LONG, bold_value=True, first=True)
    layout.line(items, "2) Tên gọi khác: ", _dotted(values.get("other_names"), LONG))
    layout.line(items, "3) Sinh ngày: ", _dotted(values.get("birth_date"), SHORT),
          ", Giới tính (nam, nữ): ", _dotted(SEX.get(str(values.get("sex")), values.get("sex")), SHORT))
    layout.line(items, "4) Nơi sinh: ", _dotted(values.get("birthplace"), LONG))
    layout.line(items, "5) Quê quán: ", _dotted(values.get("home_town"), LONG))
    layout.line(items, "6) Dân tộc: ", _dotted(values.get("ethnicity"), SHORT),
          ", 7) Tôn giáo: ", _dotted(values.get("religion"), SHORT))
    hidden = ADDRESS in dossier.withheld
    layout.line(items, "8) Nơi đăng ký hộ khẩu thường trú: ",
                WITHHELD if hidden else _dotted(values.get("permanent_address"), LONG))
    layout.line(items, "9) Nơi ở hiện nay: ", WITHHELD if hidden else _dotted(values.get("current_address"), LONG))


def _post_and_qualifications(doc: DocxDocument, form: Variant, values: dict[str, Any]) -> None:
    get = values.get
    allowances = [_value(get("other_allowances"))]
    if get("over_ceiling_percent"):
        allowances.append(f"vượt khung {get('over_ceiling_percent')}%")
    layout.line(doc, "10) Nghề nghiệp khi được tuyển dụng: ", DOT * LONG)
    layout.line(doc, "11) Ngày tuyển dụng: ", _dotted(get("recruited_on"), SHORT),
          ", Cơ quan tuyển dụng: ", _dotted(get("recruiting_agency"), LONG))
    layout.line(doc, "12) Chức vụ (chức danh) hiện tại: ", _dotted(get("post"), LONG))
    layout.line(doc, "13) Công việc chính được giao: ", DOT * LONG)
    layout.line(doc, f"14) {form.rank}: ", _dotted(get("rank_name"), LONG),
          f", {form.rank_code}: ", _dotted(get("rank_code"), SHORT),
          ", Bậc lương: ", _dotted(get("salary_step"), SHORT),
          ", Hệ số: ", _dotted(get("salary_coefficient"), SHORT),
          ", Ngày hưởng: ", _dotted(get("salary_since"), SHORT),
          ", Phụ cấp chức vụ: ", _dotted(get("position_allowance"), SHORT),
          ", Phụ cấp khác: ", _dotted(", ".join(part for part in allowances if part), SHORT))
    level = ", chuyên ngành ".join(_value(get(key)) for key in ("professional_level", "major") if get(key))
    layout.line(doc, "15.1- Trình độ giáo dục phổ thông: ", _dotted(get("general_education"), SHORT))
    layout.line(doc, "15.2- Trình độ chuyên môn cao nhất: ", _dotted(level, LONG))
    layout.line(doc, "15.3- Lý luận chính trị: ", _dotted(get("political_theory"), SHORT),
          "     15.4- Quản lý nhà nước: ", _dotted(get("state_management"), SHORT))
    layout.line(doc, "15.5- Ngoại ngữ: ", _dotted(get("foreign_language"), SHORT),
          "     15.6- Tin học: ", _dotted(get("it_skill"), SHORT))
    layout.line(doc, "16) Ngày vào Đảng Cộng sản Việt Nam: ", _dotted(get("party_joined_on"), SHORT),
          ", Ngày chính thức: ", _dotted(get("party_official_on"), SHORT))


def _other_items(doc: DocxDocument, dossier: DossierFull) -> None:
    get = dossier.values.get
    layout.line(doc, "17) Ngày tham gia tổ chức chính trị - xã hội: ", DOT * LONG)
    layout.line(doc, "18) Ngày nhập ngũ: ", _dotted(get("military_enlisted_on"), SHORT),
          ", Ngày xuất ngũ: ", _dotted(get("military_discharged_on"), SHORT),
          ", Quân hàm cao nhất: ", _dotted(get("military_rank"), SHORT))
    layout.line(doc, "19) Danh hiệu được phong tặng cao nhất: ", DOT * LONG)
    layout.line(doc, "20) Sở trường công tác: ", DOT * LONG)
    layout.line(doc, "21) Khen thưởng: ", _dotted(_summary(dossier.of_kind("commendation")), LONG))
    layout.line(doc, "22) Kỷ luật: ", _dotted(_summary(dossier.of_kind("discipline")), LONG))
    layout.line(doc, "23) Tình trạng sức khỏe: ", DOT * SHORT, ", Chiều cao: ", DOT * SHORT,
          ", Cân nặng: ", DOT * SHORT, " kg, Nhóm máu: ", DOT * SHORT)
    layout.line(doc, "24) Là thương binh hạng: ", DOT * SHORT, ", Là con gia đình chính sách: ", DOT * SHORT)
    layout.line(doc, "25) Số CCCD/định danh cá nhân: ", _dotted(get("personal_id"), LONG),
          ", Ngày cấp: ", _dotted(get("id_issued_on"), SHORT))
    layout.line(doc, "26) Số sổ BHXH: ", _dotted(get("social_insurance_no"), LONG))


def _tables(doc: DocxDocument, form: Variant, dossier: DossierFull) -> None:
    layout.heading(doc, "27) ĐÀO TẠO, BỒI DƯỠNG VỀ CHUYÊN MÔN, NGHIỆP VỤ, LÝ LUẬN CHÍNH TRỊ, NGOẠI NGỮ, TIN HỌC")
    layout.table(doc, (("Tên trường", 4.0), ("Chuyên ngành đào tạo, bồi dưỡng", 3.5),
                 ("Từ tháng, năm - đến tháng, năm", 3.0), ("Hình thức đào tạo", 2.5),
                 ("Văn bằng, chứng chỉ, trình độ gì", 3.0)),
           [_training_row(record) for record in dossier.of_kind("training")])

    layout.heading(doc, "28) TÓM TẮT QUÁ TRÌNH CÔNG TÁC")
    layout.table(doc, (("Từ tháng, năm đến tháng, năm", 4.0),
                 ("Chức danh, chức vụ, đơn vị công tác (đảng, chính quyền, đoàn thể, tổ chức xã hội), kể cả "
                  "thời gian được đào tạo, bồi dưỡng về chuyên môn, nghiệp vụ…", 12.0)),
           [(_period(record), record.text) for record in dossier.of_kind("work_history")])

    layout.heading(doc, "29) ĐẶC ĐIỂM LỊCH SỬ BẢN THÂN")
    for prompt in HISTORY_PROMPTS:
        layout.text(doc, prompt, italic=True)
    history = [("", record) for record in dossier.of_kind("declaration")]
    history += [("Khen thưởng: ", record) for record in dossier.of_kind("commendation")]
    history += [("Kỷ luật: ", record) for record in dossier.of_kind("discipline")]
    for label, record in history:
        when = format_date(record.date_from)
        layout.text(doc, f"{label}{when + ': ' if when else ''}{record.text}")
    if not history:
        _blank_lines(doc, 3)

    layout.heading(doc, "30) QUAN HỆ GIA ĐÌNH")
    if FAMILY in dossier.withheld:
        layout.text(doc, WITHHELD, italic=True)
    else:
        _family(doc, dossier)

    layout.heading(doc, f"31) {form.salary_title}")
    layout.table(doc, (("Tháng/năm", 4.0), ("Mã ngạch/bậc", 6.0), ("Hệ số lương", 6.0)),
           [_salary_row(record) for record in dossier.of_kind("salary_history")])


def _family(doc: DocxDocument, dossier: DossierFull) -> None:
    family = dossier.of_kind("family")
    layout.heading(doc, "a) Về bản thân: Cha, Mẹ, Vợ (hoặc chồng), các con, anh chị em ruột", space_before=3)
    layout.table(doc, FAMILY_COLUMNS, [_family_row(r) for r in family if r.data.get("side") != "spouse"])
    layout.heading(doc, "b) Về bên vợ (hoặc chồng): Cha, Mẹ, anh chị em ruột", space_before=6)
    layout.table(doc, FAMILY_COLUMNS, [_family_row(r) for r in family if r.data.get("side") == "spouse"])


def _assessment(doc: DocxDocument, form: Variant) -> None:
    layout.heading(doc, f"32) {form.assessment_title}")
    _blank_lines(doc, 5)


def _signatures(doc: DocxDocument, form: Variant, values: dict[str, Any], clock: Clock) -> None:
    today = local_today(clock)
    left, right = layout.frame(doc, (7.5, 8.5))
    center = WD_ALIGN_PARAGRAPH.CENTER
    layout.text(left, "", first=True)
    layout.text(left, "Người khai", bold=True, align=center)
    layout.text(left, "Tôi xin cam đoan những lời khai trên đây là đúng sự thật", align=center)
    layout.text(left, "(Ký tên, ghi rõ họ tên)", italic=True, align=center)
    for _ in range(3):
        layout.text(left, "")
    layout.text(left, _value(values.get("full_name")), bold=True, align=center)
    layout.text(right, layout.long_date(DOT * 5, today), italic=True, align=center, first=True)
    layout.text(right, form.head, bold=True, align=center)
    layout.text(right, "(Ký tên, đóng dấu)", italic=True, align=center)


# -- rows of the repeating tables --

def _training_row(record: Record) -> tuple[str, ...]:
    data = record.data
    school = _value(data.get("school"))
    if not any(data.get(key) for key in ("school", "major", "mode", "degree")):
        school = record.text  # an unstructured row: its words go in the first column
    return (school, _value(data.get("major")), _period(record), _value(data.get("mode")),
            _value(data.get("degree")))


def _family_row(record: Record) -> tuple[str, ...]:
    data = record.data
    details = _value(data.get("details")) or "; ".join(
        _value(value) for key, value in data.items()
        if key not in ("relation", "name", "born", "side") and _value(value)
    )
    born = data.get("born")
    return (_value(data.get("relation")), _value(data.get("name")),
            str(born.year) if isinstance(born, dt.date) else _value(born), details)


def _salary_row(record: Record) -> tuple[str, ...]:
    data = record.data
    code, step = _value(data.get("rank_code")), _value(data.get("step"))
    rank = "/".join(part for part in (code, step) if part)
    coefficient = _value(data.get("coefficient"))
    if not (rank or coefficient):
        rank = record.text
    return (_month_year(record.date_from), rank, coefficient)


def _summary(records: list[Record]) -> str:
    """Commendations or disciplines on one line: each with its year, as item 21) and 22) ask."""
    return "; ".join(f"{r.text} ({r.date_from.year})" if r.date_from else r.text for r in records)


# -- values --

def _value(value: Any) -> str:
    """A value as printed: dates dd/mm/yyyy, numbers with a decimal comma, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return format_date(value)
    if isinstance(value, bool):
        return "Có" if value else "Không"
    if isinstance(value, float | Decimal):
        return f"{value:.2f}".replace(".", ",")
    return str(value).strip()


def _dotted(value: Any, width: int) -> str:
    """The value, or a dotted line to fill in by hand."""
    return _value(value) or DOT * width


def _month_year(day: dt.date | None) -> str:
    return day.strftime("%m/%Y") if day else ""


def _period(record: Record) -> str:
    if record.date_from is None and record.date_to is None:
        return ""
    start = _month_year(record.date_from) or DOT * 3
    return f"{start} - {_month_year(record.date_to) or 'nay'}"


# -- document building blocks of the 2C form's own --

def _blank_lines(doc: DocxDocument, count: int) -> None:
    """Dotted lines across the page, to be written on by hand."""
    for _ in range(count):
        paragraph = doc.add_paragraph()
        paragraph.paragraph_format.tab_stops.add_tab_stop(Cm(TEXT_WIDTH_CM), WD_TAB_ALIGNMENT.RIGHT,
                                                          WD_TAB_LEADER.DOTS)
        paragraph.paragraph_format.space_after = Pt(6)
        paragraph.add_run("\t")


def _photo_box(cell: _Cell) -> None:
    """A ruled 4 x 6 cm box for the photo, its caption in the middle."""
    box = cell.add_table(rows=1, cols=1)
    box.autofit = False
    row = box.rows[0]
    row.height, row.height_rule = Cm(6), WD_ROW_HEIGHT_RULE.EXACTLY
    inner = row.cells[0]
    box.columns[0].width = inner.width = Cm(4)
    layout.borders(inner)
    layout.text(inner, "Ảnh màu", align=WD_ALIGN_PARAGRAPH.CENTER, size=TABLE_PT, first=True)
    layout.text(inner, "(4 x 6 cm)", align=WD_ALIGN_PARAGRAPH.CENTER, size=TABLE_PT)
    inner.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    # The cell's own empty paragraph would push the box down a line: drop it (the one after the box stays,
    # since a cell must end with a paragraph).
    leading = cell.paragraphs[0]._p
    leading.getparent().remove(leading)


async def printed_2c(dossiers: DossierService, clock: Clock, dossier_id: int,
                     printouts: PrintoutService | None = None) -> tuple[str, bytes]:
    """The form of one dossier as its reader may see it (the read audited as a print), and its file name,
    with its verification code when printouts are issued. Rendered off the event loop: python-docx takes a
    while over a long career."""
    dossier = await dossiers.full(dossier_id, purpose="print")
    stamp = await printouts.issue_form(dossier.id, asdict(dossier)) if printouts is not None else None
    content = await asyncio.to_thread(render_2c, dossier, clock, stamp)
    return f"2C-{dossier.values['personal_id']}.docx", content
