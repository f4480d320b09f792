"""Scanned papers: stored once by their sha256 under HOSO_FILES_DIR, checked for size and type.

The type is judged by the bytes, not by the name a sender gave the file: a renamed executable is not a
PDF. The name's extension must agree with the content all the same, so that what the clerk sees in the
list is what opens.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from services.core.errors import InvalidInput
from services.core.i18n import N_

MAX_BYTES = 20 * 1024 * 1024
# type → (extensions, content type)
ALLOWED: dict[str, tuple[tuple[str, ...], str]] = {
    "pdf": ((".pdf",), "application/pdf"),
    "jpg": ((".jpg", ".jpeg"), "image/jpeg"),
    "png": ((".png",), "image/png"),
    "docx": ((".docx",), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
}
TOO_LARGE = N_("The file is larger than 20 MB; scan it at a lower resolution or split it.")
NOT_ALLOWED = N_("Only PDF, JPG, PNG or DOCX files can be attached; {name} is not one of them.")
NOT_ENABLED = N_("Attachments are not enabled on this installation.")


@dataclass(frozen=True, slots=True)
class Upload:
    """A file as received: its name, the bytes."""

    file_name: str
    content: bytes


@dataclass(frozen=True, slots=True)
class StoredFile:
    sha256: str
    file_name: str
    content_type: str
    size: int


def type_of_name(file_name: str) -> str | None:
    suffix = Path(file_name).suffix.lower()
    return next((kind for kind, (suffixes, _mime) in ALLOWED.items() if suffix in suffixes), None)


def check_announced(file_name: str, size: int | None) -> None:
    """What can be refused before downloading: the name's type and the announced size."""
    if size is not None and size > MAX_BYTES:
        raise InvalidInput("attachment", TOO_LARGE)
    if type_of_name(file_name) is None:
        raise InvalidInput("attachment", NOT_ALLOWED, name=file_name)


def type_of_content(content: bytes) -> str | None:
    if content.startswith(b"%PDF-"):
        return "pdf"
    if content.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if content.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                if "word/document.xml" in archive.namelist():
                    return "docx"
        except zipfile.BadZipFile:
            return None
    return None


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def check(self, upload: Upload) -> StoredFile:
        """Refuse what may not be attached; otherwise what it would be stored as."""
        check_announced(upload.file_name, len(upload.content))
        kind = type_of_content(upload.content)
        if kind is None or kind != type_of_name(upload.file_name):
            raise InvalidInput("attachment", NOT_ALLOWED, name=upload.file_name)
        digest = hashlib.sha256(upload.content).hexdigest()
        return StoredFile(digest, Path(upload.file_name).name[:255], ALLOWED[kind][1], len(upload.content))

    def put(self, upload: Upload) -> StoredFile:
        """Store the bytes once (a second copy of the same paper is the same file), atomically."""
        stored = self.check(upload)
        target = self.path_of(stored.sha256)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(upload.content)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        return stored

    def read(self, sha256: str) -> bytes:
        content = self.path_of(sha256).read_bytes()
        if hashlib.sha256(content).hexdigest() != sha256:
            raise OSError(f"stored file {sha256} does not match its digest")
        return content


def enabled(files: FileStore | None) -> FileStore:
    """The store, or a clear refusal where the installation keeps no files (no HOSO_FILES_DIR)."""
    if files is None:
        raise InvalidInput("attachment", NOT_ENABLED)
    return files
