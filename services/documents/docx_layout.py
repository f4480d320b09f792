"""Building blocks of the documents HoSo prints (the 2C resume form, the half-yearly reports): A4 pages in
Times New Roman with Vietnamese as the language, paragraphs, ruled tables, unruled frames that place
blocks side by side, and the national heading (quốc hiệu, tiêu ngữ) of an administrative document."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

FONT = "Times New Roman"
BODY_PT, TABLE_PT = 13, 12
TABLE_STYLE, TABLE_STYLE_ID = "HS Table Text", "HSTableText"  # the style of table cells: the body font at 12 pt


def set_up(doc: DocxDocument, title: str, now: dt.datetime) -> None:
    """A4 portrait, margins 2 cm (3 cm on the binding side), Times New Roman 13, Vietnamese; the title and
    the time in the document's properties."""
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin = section.bottom_margin = section.right_margin = Cm(2)
    section.left_margin = Cm(3)
    default_font(doc)
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(BODY_PT)
    normal.paragraph_format.space_before, normal.paragraph_format.space_after = Pt(0), Pt(3)
    normal.paragraph_format.line_spacing = 1.0
    cells = doc.styles.add_style(TABLE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    cells.style_id = TABLE_STYLE_ID
    cells.base_style = normal
    cells.font.size = Pt(TABLE_PT)
    cells.paragraph_format.space_after = Pt(0)
    properties = doc.core_properties
    properties.title = title
    properties.author = properties.last_modified_by = "HoSo"
    properties.language = "vi-VN"
    properties.created = properties.modified = now.astimezone(dt.UTC).replace(tzinfo=None)
    properties.revision = 1


def default_font(doc: DocxDocument) -> None:
    """Times New Roman for every script (not the template's theme fonts), and Vietnamese as the language."""
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    r_pr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    fonts = r_pr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        r_pr.insert(0, fonts)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)
    for script in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(script), FONT)
    lang = r_pr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        r_pr.append(lang)
    lang.set(qn("w:val"), "vi-VN")


def new_paragraph(container: DocxDocument | _Cell, first: bool = False) -> Paragraph:
    """A new paragraph; in a fresh table cell, `first` reuses the empty paragraph the cell comes with."""
    return container.paragraphs[0] if first else container.add_paragraph()


def text(container: DocxDocument | _Cell, content: str, *, bold: bool = False, italic: bool = False,
         size: int | None = None, align: WD_ALIGN_PARAGRAPH | None = None, first: bool = False) -> Paragraph:
    paragraph = new_paragraph(container, first)
    run = paragraph.add_run(content)
    run.bold, run.italic = bold or None, italic or None
    if size:
        run.font.size = Pt(size)
    if align is not None:
        paragraph.alignment = align
    return paragraph


def line(container: DocxDocument | _Cell, *parts: str, bold_value: bool = False, size: int | None = None,
         first: bool = False) -> Paragraph:
    """A labelled line of the form: label, value, label, value… The labels are plain, the values as given."""
    paragraph = new_paragraph(container, first)
    for index, part in enumerate(parts):
        run = paragraph.add_run(part)
        if index % 2 and bold_value:
            run.bold = True
        if size:
            run.font.size = Pt(size)
    return paragraph


def heading(doc: DocxDocument, content: str, space_before: int = 9) -> Paragraph:
    """A bold heading kept on the page of what follows it."""
    paragraph = text(doc, content, bold=True)
    paragraph.paragraph_format.space_before = Pt(space_before)
    paragraph.paragraph_format.keep_with_next = True
    return paragraph


def table(doc: DocxDocument, columns: Sequence[tuple[str, float]], rows: Iterable[Sequence[str]],
          blank_rows: int = 3) -> Table:
    """A ruled table: a bold header row repeated on every page, then every row (blank ones when none)."""
    rows = list(rows) or [("",) * len(columns)] * blank_rows
    ruled = doc.add_table(rows=1, cols=len(columns))
    ruled.style = doc.styles["Table Grid"]
    ruled.alignment = WD_TABLE_ALIGNMENT.CENTER
    ruled.autofit = False
    widths = [Cm(width) for _header, width in columns]
    for column, width in zip(ruled.columns, widths, strict=True):
        column.width = width
    header = ruled.rows[0]
    repeat_as_header(header)
    for cell, (title, _width), width in zip(header.cells, columns, widths, strict=True):
        fill_cell(cell, title, width, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    for values in rows:
        for cell, value, width in zip(ruled.add_row().cells, values, widths, strict=True):
            fill_cell(cell, value, width)
    return ruled


def fill_cell(cell: _Cell, content: str, width: Cm, *, bold: bool = False, align: WD_ALIGN_PARAGRAPH | None = None) -> None:
    cell.width = width
    paragraph = cell.paragraphs[0]
    # The style by id: `paragraph.style = name` looks the name up among all styles, for every cell.
    paragraph._p.style = TABLE_STYLE_ID
    if align is not None:
        paragraph.alignment = align
    if content:
        run = paragraph.add_run(content)
        run.bold = bold or None
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def repeat_as_header(row: Any) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    for tag in ("w:cantSplit", "w:tblHeader"):
        tr_pr.append(OxmlElement(tag))


def frame(doc: DocxDocument, widths_cm: Sequence[float]) -> list[_Cell]:
    """An unruled one-row table that places blocks side by side; returns its cells."""
    frame_table = doc.add_table(rows=1, cols=len(widths_cm))
    frame_table.autofit = False
    cells = frame_table.rows[0].cells
    for column, cell, width in zip(frame_table.columns, cells, widths_cm, strict=True):
        column.width = cell.width = Cm(width)
    return list(cells)


def borders(cell: _Cell) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()
    borders = OxmlElement("w:tcBorders")
    for edge in ("top", "left", "bottom", "right"):
        line = OxmlElement(f"w:{edge}")
        line.set(qn("w:val"), "single")
        line.set(qn("w:sz"), "6")
        line.set(qn("w:color"), "000000")
        borders.append(line)
    tc_pr.append(borders)


def national_heading(doc: DocxDocument, governing: str, issuer: str, number: str, dated: str) -> None:
    """The heading of an administrative document (Nghị định 30/2020/NĐ-CP): the governing body and the
    issuing one with the document's number on the left; the national name and motto with the place and
    date on the right."""
    left, right = frame(doc, (6.0, 10.0))
    center = WD_ALIGN_PARAGRAPH.CENTER
    text(left, governing.upper(), size=TABLE_PT, align=center, first=True)
    text(left, issuer.upper(), bold=True, size=TABLE_PT, align=center)
    text(left, "———", align=center, size=TABLE_PT)
    text(left, f"Số: {number}", align=center)
    text(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, size=TABLE_PT, align=center, first=True)
    motto = text(right, "Độc lập - Tự do - Hạnh phúc", bold=True, align=center)
    motto.runs[0].underline = True
    text(right, "")
    text(right, dated, italic=True, align=center)


def signature_block(doc: DocxDocument, recipients: Sequence[str], title: str, name: str) -> None:
    """"Nơi nhận" on the left; the signer's title, room to sign, and name on the right."""
    left, right = frame(doc, (7.5, 8.5))
    center = WD_ALIGN_PARAGRAPH.CENTER
    heading_run = text(left, "Nơi nhận:", bold=True, size=TABLE_PT, first=True).runs[0]
    heading_run.italic = True
    for recipient in recipients:
        text(left, recipient, size=11)
    text(right, title.upper(), bold=True, align=center, first=True)
    for _ in range(4):
        text(right, "")
    text(right, name, bold=True, align=center)


def long_date(place: str, day: dt.date) -> str:
    """"Cần Thơ, ngày 01 tháng 12 năm 2026"."""
    return f"{place}, ngày {day:%d} tháng {day:%m} năm {day:%Y}"
