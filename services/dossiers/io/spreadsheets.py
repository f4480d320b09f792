"""Reading spreadsheets a row at a time: .xlsx (openpyxl, read-only, streaming) and .csv (UTF-8).

An .xlsx is read by `services.dossiers.io.xlsx` (openpyxl, imported only when one is read). A large one is
parsed by a process of its own, `python -m services.dossiers.io.xlsx FILE`, which streams
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
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

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

class ReaderProcess(Table):
    """An .xlsx parsed by `python -m services.dossiers.io.xlsx FILE`, its rows read back from the pipe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.process: asyncio.subprocess.Process | None = None

    async def open(self) -> None:
        """Start the reader and wait until the file is open: an unreadable one is refused here, before
        anything is written."""
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.dossiers.io.xlsx", str(self.path),
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
        from services.dossiers.io.xlsx import XlsxTable  # openpyxl, slow to load: only when an .xlsx is read

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
