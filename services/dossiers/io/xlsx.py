"""Reading an .xlsx with openpyxl (read-only, streaming): in this process for a small file, or as the reader
process of a large one (`python -m services.dossiers.io.xlsx FILE`, see `spreadsheets`). Apart from the
spreadsheets' common part because openpyxl is slow to import and only reading an .xlsx needs it."""

from __future__ import annotations

import pickle
import sys
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO
from xml.etree.ElementTree import iterparse

from openpyxl import load_workbook
from openpyxl.utils.cell import range_boundaries
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet import _read_only
from openpyxl.worksheet._reader import DATA_TAG, DIMENSION_TAG

from services.core.errors import InvalidInput
from services.dossiers.io.spreadsheets import READ_CHUNK, UNREADABLE, Rows, Table


def _sheet_size(sheet: Any) -> None:
    """A read-only sheet's declared size, read from the head of its XML. openpyxl's own `_get_size` waits
    for the *end* of <sheetData> before deciding there is no <dimension>, so a sheet without one (any
    write-only file, our exports included) is parsed in full twice; this stops at <sheetData>'s start."""
    with sheet._get_source() as source:
        for _event, element in iterparse(source, events=("start",)):
            if element.tag == DIMENSION_TAG:
                try:
                    sheet._min_column, sheet._min_row, sheet._max_column, sheet._max_row = range_boundaries(
                        element.get("ref", ""))
                except (TypeError, ValueError):
                    pass
                return
            if element.tag == DATA_TAG:
                return


@contextmanager
def _quick_sheet_size() -> Iterator[None]:
    original = _read_only.ReadOnlyWorksheet._get_size
    _read_only.ReadOnlyWorksheet._get_size = _sheet_size
    try:
        yield
    finally:
        _read_only.ReadOnlyWorksheet._get_size = original


class XlsxTable(Table):
    def __init__(self, path: Path) -> None:
        self.name = path.name
        try:
            with _quick_sheet_size():
                self.workbook = load_workbook(path, read_only=True, data_only=True)
            self.sheet = self.workbook.worksheets[0]
            self.total = self.sheet.max_row
        except (zipfile.BadZipFile, InvalidFileException, KeyError, IndexError, OSError, ValueError, SyntaxError):
            raise InvalidInput("file", UNREADABLE, name=path.name) from None
        # A declared dimension can be wrong (some programs write A1): read every row there is.
        self.sheet.reset_dimensions()

    def rows(self) -> Iterator[tuple[int, Sequence[Any]]]:
        try:
            for number, row in enumerate(self.sheet.iter_rows(values_only=True), start=1):
                yield number, row
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, SyntaxError):  # broken half-way
            raise InvalidInput("file", UNREADABLE, name=self.name) from None

    async def aclose(self) -> None:
        self.workbook.close()


def _send(out: BinaryIO, kind: str, payload: Any) -> None:
    data = pickle.dumps((kind, payload), protocol=pickle.HIGHEST_PROTOCOL)
    out.write(len(data).to_bytes(8, "big"))
    out.write(data)


def serve(path: Path, out: BinaryIO) -> None:
    """The reader process's work: ("total", n), then ("rows", chunk)…, then ("end", None); or ("error",
    (field, message, params)) for a file that cannot be read, ("failed", text) for anything else."""
    try:
        table = XlsxTable(path)
    except InvalidInput as error:
        _send(out, "error", (error.field, error.message, error.params))
        return
    try:
        _send(out, "total", table.total)
        chunk: Rows = []
        for item in table.rows():
            chunk.append(item)
            if len(chunk) >= READ_CHUNK:
                _send(out, "rows", chunk)
                chunk = []
        _send(out, "rows", chunk)
        _send(out, "end", None)
    except InvalidInput as error:
        _send(out, "error", (error.field, error.message, error.params))
    except Exception as error:  # noqa: BLE001 - handed over, raised on the other side
        _send(out, "failed", f"{type(error).__name__}: {error}")
    finally:
        table.workbook.close()
        out.flush()




if __name__ == "__main__":
    serve(Path(sys.argv[1]), sys.stdout.buffer)
