"""A printout's verification code and its QR, drawn into a .docx (the footer of every page) or a sheet of a
.xlsx (the footer of every printed page, and the code and QR below the table).

The .docx documents are the state's Vietnamese forms and reports, so their line is in Vietnamese as their own
wording is; a workbook is in the reader's language and takes its words translated."""

from __future__ import annotations

import io

import segno
from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt
from openpyxl.drawing.image import Image
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from services.platform.printouts import Stamp

QR_CM = 1.8
DOCX_LINE = "Mã xác minh: {code} — quét mã QR hoặc tra trong HoSo (/verify) để đối chiếu với hồ sơ gốc."
QR_PIXELS = 96  # the QR's side in a workbook


def qr_png(text: str, scale: int = 4) -> bytes:
    """The QR of `text` as a PNG (error correction M: legible from a photocopy)."""
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="png", scale=scale, border=2)
    return out.getvalue()


def stamp_docx(doc: DocxDocument, stamp: Stamp | None) -> None:
    """The QR and the code in the footer of every section, so that every page carries them."""
    if stamp is None:
        return
    picture = qr_png(stamp.qr_text)
    for section in doc.sections:
        footer = section.footer
        footer.is_linked_to_previous = False
        paragraph = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.LEFT
        paragraph.add_run().add_picture(io.BytesIO(picture), width=Cm(QR_CM), height=Cm(QR_CM))
        text = paragraph.add_run("  " + DOCX_LINE.format(code=stamp.code))
        text.font.size = Pt(9)


def stamp_sheet(sheet: WriteOnlyWorksheet, stamp: Stamp | None, label: str, rows: int) -> None:
    """The code in the printed footer of every page, and the code with its QR two rows below the table
    (`rows`: what the streamed sheet holds so far)."""
    if stamp is None:
        return
    sheet.oddFooter.left.text = f"{label}: {stamp.code}"
    sheet.oddFooter.left.size = 8
    sheet.append([])
    sheet.append([None, f"{label}: {stamp.code}"])
    image = Image(io.BytesIO(qr_png(stamp.qr_text)))
    image.width = image.height = QR_PIXELS
    sheet.add_image(image, f"B{rows + 3}")
