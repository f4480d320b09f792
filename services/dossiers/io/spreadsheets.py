"""Reading spreadsheets a row at a time: .xlsx (openpyxl, read-only, streaming) and .csv (UTF-8).

A large .xlsx is parsed by a process of its own, `python -m services.dossiers.io.spreadsheets FILE`, which streams
the rows back over a pipe: openpyxl's parsing is the longest part of a large import and holds the
interpreter, so in another process it runs on another core while the importer checks and writes the
rows it already has. The pipe is bounded, so memory stays flat however large the file.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import pickle
import sys
import zipfile
from collections.abc import AsyncIterator, Iterator, Sequence
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
from services.core.i18n import N_

SUFFIXES = (".xlsx", ".csv")
READ_CHUNK = 1000  # rows handed over at a time
# From this size on, an .xlsx is parsed by a process of its own; a smaller one in this process.
READER_PROCESS_MIN_BYTES = 2 * 1024 * 1024
UNREADABLE = N_("Not a readable Excel file: {name}")

Rows = list[tuple[int, Sequence[Any]]]


def suffix_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidInput("file", N_("Use an .xlsx or .csv file: {name}"), name=path.name)
    return suffix


class Table:
    """The rows of a spreadsheet's first sheet as sequences of cell values, numbered as in the file."""

    total: int | None = None  # rows in the file, when it says (for progress only)

    def rows(self) -> Iterator[tuple[int, Sequence[Any]]]:
        raise NotImplementedError

    async def chunks(self) -> AsyncIterator[Rows]:
        chunk: Rows = []
        for item in self.rows():
            chunk.append(item)
            if len(chunk) >= READ_CHUNK:
                yield chunk
                chunk = []
        yield chunk

    async def aclose(self) -> None:
        pass


# -- .xlsx ---------------------------------------------------------------------------------------------

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


class ReaderProcess(Table):
    """An .xlsx parsed by `python -m services.dossiers.io.spreadsheets FILE`, its rows read back from the pipe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.process: asyncio.subprocess.Process | None = None

    async def open(self) -> None:
        """Start the reader and wait until the file is open: an unreadable one is refused here, before
        anything is written."""
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.dossiers.io.spreadsheets", str(self.path),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )
        self.total = await self._message("total")

    async def _next(self) -> tuple[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        try:
            size = int.from_bytes(await self.process.stdout.readexactly(8), "big")
            return pickle.loads(await self.process.stdout.readexactly(size))  # our own child: trusted
        except asyncio.IncompleteReadError:
            code = await self.process.wait()
            raise RuntimeError(f"the spreadsheet reader ended with {code} before the end of the file") from None

    async def _message(self, expected: str) -> Any:
        kind, payload = await self._next()
        if kind == "error":
            field_name, message, params = payload
            raise InvalidInput(field_name, message, **params)
        if kind == "failed":
            raise RuntimeError(f"the spreadsheet reader failed: {payload}")
        if kind == "end" and expected == "rows":
            return None
        if kind != expected:
            raise RuntimeError(f"the spreadsheet reader sent {kind!r} instead of {expected!r}")
        return payload

    async def chunks(self) -> AsyncIterator[Rows]:
        while (chunk := await self._message("rows")) is not None:
            yield chunk

    async def aclose(self) -> None:
        if self.process is None:
            return
        if self.process.returncode is None:
            try:
                self.process.kill()
            except ProcessLookupError:
                pass
        await self.process.wait()


# -- .csv ----------------------------------------------------------------------------------------------

class CsvTable(Table):
    def __init__(self, path: Path) -> None:
        # One pass over the bytes before anything is written: the encoding is checked, the lines counted.
        decoder, lines = codecs.getincrementaldecoder("utf-8")(), 0
        try:
            with path.open("rb") as raw:
                while chunk := raw.read(1 << 20):
                    decoder.decode(chunk)
                    lines += chunk.count(b"\n")
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise InvalidInput("file", N_("{name} is not UTF-8 text: save it as \"CSV UTF-8\"."),
                               name=path.name) from None
        self.total = lines
        self.handle = path.open(encoding="utf-8-sig", newline="")
        first_line = self.handle.readline()
        self.handle.seek(0)
        try:
            self.dialect: Any = csv.Sniffer().sniff(first_line, delimiters=",;\t")
        except csv.Error:
            self.dialect = csv.excel

    def rows(self) -> Iterator[tuple[int, Sequence[Any]]]:
        yield from enumerate(csv.reader(self.handle, self.dialect), start=1)

    async def aclose(self) -> None:
        self.handle.close()


async def open_table(path: Path) -> Table:
    if suffix_of(path) == ".csv":
        return CsvTable(path)
    if path.stat().st_size < READER_PROCESS_MIN_BYTES:
        return XlsxTable(path)
    reader = ReaderProcess(path)
    try:
        await reader.open()
    except BaseException:
        await reader.aclose()
        raise
    return reader


async def rows_of(table: Table) -> AsyncIterator[tuple[int, Sequence[Any]]]:
    async for chunk in table.chunks():
        for item in chunk:
            yield item


if __name__ == "__main__":
    serve(Path(sys.argv[1]), sys.stdout.buffer)
