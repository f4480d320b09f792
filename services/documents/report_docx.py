"""The half-yearly reports as Word documents, laid out as administrative reports (Nghị định 30/2020/NĐ-CP):
the national heading, the number and date, the title, sections a) to đ), where the copies go, the signer.

A report is an official document in Vietnamese whatever the reader's language: its own wording is fixed
here, as on the paper form, and only the statistics' column names come from the catalog (`vi`).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Sequence

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

from services.documents import docx_layout as layout
from services.documents.stamp import stamp_docx
from services.oversight.compliance import Compliance
from services.oversight.inspection import FINDINGS
from services.oversight.periods import Period
from services.oversight.reports import ProvincialReport, Quality, ReportView, place_of
from services.oversight.statistics import StatTable
from services.platform.printouts import Stamp

Translate = Callable[[str], str]
DOTS = "…" * 8
HALF = {"1": "6 tháng đầu năm", "2": "6 tháng cuối năm"}
WRITTEN_SECTIONS = (("c", "c) Tình trạng trang thiết bị"), ("d", "d) Đào tạo, bồi dưỡng người vận hành hệ thống"),
                    ("dd", "đ) Kiến nghị, đề xuất"))


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}".replace(".", ",") + "%" if whole else "—"


def _count(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def _period_title(period: Period) -> str:
    return f"{HALF[period.code[-1]]} {period.code[:4]}"


def compliance_lines(c: Compliance) -> list[str]:
    """Section (a)'s measured figures, as sentences."""
    lines = []
    if c.changes:
        lines.append(f"Thay đổi được cập nhật trong thời hạn: {c.changes_on_time}/{c.changes} "
                     f"({_percent(c.changes_on_time, c.changes)}); quá hạn: {c.changes_late}.")
    else:
        lines.append("Trong kỳ không có thay đổi nào phải cập nhật theo thời hạn.")
    if c.new:
        lines.append(f"Hồ sơ mới: {c.new}; hoàn thiện trong thời hạn: {c.new_on_time}/{c.new_judged} "
                     f"({_percent(c.new_on_time, c.new_judged)}); hoàn thiện quá hạn: {c.new_late}; "
                     f"chưa hoàn thiện đã quá hạn: {c.new_overdue}; đang trong thời hạn: {c.new_open}.")
    else:
        lines.append("Trong kỳ không có hồ sơ mới.")
    lines.append(f"Việc còn chờ xử lý: {c.declarations} bản tự kê khai chờ duyệt, {c.transfers} đề nghị "
                 f"chuyển giao hồ sơ, {c.registered} quyết định chưa cập nhật (quá hạn: {c.registered_overdue}).")
    return lines


def quality_lines(quality: Quality | None, vi: Translate) -> list[str]:
    """What the personnel office's inspection finds of the unit's dossiers, as sentences."""
    if quality is None:
        return []
    found = "; ".join(f"{vi(FINDINGS[kind]).lower()}: {count}" for kind, count in quality.findings.items() if count)
    return [f"Hồ sơ có đủ các thông tin bắt buộc (Mẫu 2C-BNV/2008, HS02-VC/BNV): {quality.complete}/{quality.people} "
            f"({_percent(quality.complete, quality.people)}).",
            f"Qua kiểm tra dữ liệu, phát hiện {quality.found} trường hợp cần rà soát" + (f" ({found})." if found else ".")]


def statistics_lines(table: StatTable, vi: Translate) -> list[tuple[str, int, str]]:
    """The main figures of the statistics: (what, how many, share of the total)."""
    total = table.total.people
    rows = [("Tổng số người đang công tác", total, "")]
    for prefix in ("party", "women", "minority", "religious"):
        for column, count in table.group(prefix):
            rows.append((f"Trong đó: {vi(column.label).lower()}", count, _percent(count, total)))
    for prefix in ("rank", "level", "politics", "management", "it", "language", "age"):
        columns = table.group(prefix)
        if not columns:
            continue
        title = vi(columns[0][0].group)
        rows += [(f"{title}: {column.title(vi)}", count, _percent(count, total)) for column, count in columns]
    return rows


def _document(title: str, now: dt.datetime) -> DocxDocument:
    doc = Document()
    layout.set_up(doc, title, now)
    return doc


def _title(doc: DocxDocument, lines: Sequence[str], draft: bool) -> None:
    center = WD_ALIGN_PARAGRAPH.CENTER
    if draft:
        layout.text(doc, "DỰ THẢO", bold=True, align=WD_ALIGN_PARAGRAPH.RIGHT)
    head = layout.text(doc, "BÁO CÁO", bold=True, size=14, align=center)
    head.paragraph_format.space_before = Pt(12)
    for line in lines:
        layout.text(doc, line, bold=True, align=center)
    layout.text(doc, "")


def _body(doc: DocxDocument, content: str) -> None:
    for paragraph in content.splitlines():
        if paragraph.strip():
            layout.text(doc, paragraph.strip()).paragraph_format.first_line_indent = Pt(28)


def _figures_table(doc: DocxDocument, table: StatTable, vi: Translate) -> None:
    rows = [(what, _count(count), share) for what, count, share in statistics_lines(table, vi)]
    layout.table(doc, (("Chỉ tiêu", 10.0), ("Số người", 3.0), ("Tỷ lệ", 3.0)), rows)


def _save(doc: DocxDocument) -> bytes:
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def render_unit_report(view: ReportView, vi: Translate, now: dt.datetime, tz: dt.tzinfo,
                       stamp: Stamp | None = None) -> bytes:
    """One unit's report; a draft is marked as such and dated today."""
    draft = view.status != "submitted"
    day = (view.submitted_at or now).astimezone(tz).date()
    doc = _document(f"Báo cáo {view.period.code} - {view.unit_name}", now)
    layout.national_heading(doc, view.parent_name or view.province, view.unit_name, view.doc_number or DOTS,
                            layout.long_date(place_of(view.province), day))
    _title(doc, ["Tình hình quản lý hồ sơ điện tử cán bộ, công chức, viên chức",
                 _period_title(view.period)], draft)
    stats = view.statistics
    layout.text(doc, f"(Số liệu từ ngày {view.period.start:%d/%m/%Y} đến ngày {stats.as_of:%d/%m/%Y})",
                italic=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _body(doc, f"Thực hiện {view.legal_basis}, {view.unit_name} báo cáo tình hình quản lý hồ sơ điện tử "
               f"cán bộ, công chức, viên chức {_period_title(view.period)} như sau:")
    layout.heading(doc, "a) Đánh giá việc thực hiện quy chế")
    _body(doc, "\n".join(f"- {line}" for line in compliance_lines(view.compliance) + quality_lines(view.quality, vi)))
    _body(doc, view.sections.get("a", DOTS))
    layout.heading(doc, "b) Số lượng, chất lượng hồ sơ")
    _body(doc, f"Số hồ sơ cán bộ, công chức, viên chức đang công tác do đơn vị quản lý tính đến ngày "
               f"{stats.as_of:%d/%m/%Y}: {_count(stats.total.people)} (chi tiết tại biểu thống kê kèm theo).")
    _figures_table(doc, stats, vi)
    for key, title in WRITTEN_SECTIONS:
        layout.heading(doc, title)
        _body(doc, view.sections.get(key, DOTS))
    layout.text(doc, "")
    # Signing for the head takes two lines ("KT. GIÁM ĐỐC" over "PHÓ GIÁM ĐỐC"): one paragraph, a line break.
    layout.signature_block(doc, ["- Sở Nội vụ;", "- Lưu: VT."], "\n".join(view.signature) or "THỦ TRƯỞNG ĐƠN VỊ",
                           view.signer or DOTS)
    stamp_docx(doc, stamp)
    return _save(doc)


def render_provincial_report(report: ProvincialReport, vi: Translate, now: dt.datetime, tz: dt.tzinfo,
                             stamp: Stamp | None = None) -> bytes:
    """The personnel office's report for the province: the submissions, then sections a) to đ) with the
    province's figures and each unit's own words."""
    day = now.astimezone(tz).date()
    period, board = report.period, report.board
    place = place_of(report.province)
    doc = _document(f"Báo cáo tổng hợp {period.code} - {report.province}", now)
    layout.national_heading(doc, report.province, report.office or "Sở Nội vụ", DOTS,
                            layout.long_date(place, day))
    _title(doc, ["Tổng hợp tình hình quản lý hồ sơ điện tử cán bộ, công chức, viên chức",
                 f"{_period_title(period)} trên địa bàn {place}"], draft=False)
    _body(doc, f"Thực hiện {report.legal_basis}, {report.office or 'Sở Nội vụ'} tổng hợp báo cáo "
               f"{_period_title(period)} của các cơ quan, đơn vị như sau:")
    submitted = [line for line in board.lines if line.status == "submitted"]
    layout.heading(doc, "I. Tình hình gửi báo cáo")
    _body(doc, f"Đã gửi: {len(submitted)}/{len(board.lines)} cơ quan, đơn vị; gửi muộn: {board.late}.")
    missing = [line.unit_name for line in board.lines if line.status != "submitted"]
    if missing:
        _body(doc, "Chưa gửi: " + "; ".join(missing) + ".")
    layout.heading(doc, "II. Kết quả thực hiện")
    layout.heading(doc, "a) Đánh giá việc thực hiện quy chế", space_before=3)
    _body(doc, "\n".join(f"- {line}" for line in compliance_lines(report.compliance)))
    status = {"submitted": "Đã gửi", "draft": "Đang soạn", "new": "Chưa gửi"}
    rows = [(u.name, f"{u.compliance.changes_on_time}/{u.compliance.changes}",
             f"{u.compliance.new_on_time}/{u.compliance.new_judged}", str(u.compliance.pending),
             status[u.status] + (" (muộn)" if u.late else "")) for u in report.units]
    layout.table(doc, (("Cơ quan, đơn vị", 5.5), ("Cập nhật đúng hạn", 2.8), ("Hồ sơ mới đúng hạn", 2.8),
                       ("Chờ xử lý", 2.0), ("Báo cáo", 2.9)), rows)
    _merged(doc, report, "a")
    layout.heading(doc, "b) Số lượng, chất lượng hồ sơ")
    stats = report.statistics
    _body(doc, f"Tổng số cán bộ, công chức, viên chức đang công tác tính đến ngày {stats.as_of:%d/%m/%Y}: "
               f"{_count(stats.total.people)} (chi tiết theo từng cơ quan, đơn vị tại biểu thống kê kèm theo).")
    _figures_table(doc, stats, vi)
    for key, title in WRITTEN_SECTIONS:
        layout.heading(doc, title)
        if not _merged(doc, report, key):
            _body(doc, "Không có đơn vị nào nêu.")
    layout.text(doc, "")
    layout.signature_block(doc, ["- Bộ Nội vụ;", f"- {report.province};", "- Lưu: VT."], "GIÁM ĐỐC", DOTS)
    stamp_docx(doc, stamp)
    return _save(doc)


def _merged(doc: DocxDocument, report: ProvincialReport, key: str) -> bool:
    """Each submitted unit's text of one section, under its name; False when none wrote one."""
    written = [(u.name, u.sections[key]) for u in report.units if u.sections.get(key)]
    for name, content in written:
        paragraph = layout.text(doc, f"{name}:", italic=True)
        paragraph.paragraph_format.keep_with_next = True
        _body(doc, content)
    return bool(written)
