"""Scanned papers: stored once by their sha256 under HOSO_FILES_DIR, checked for size and type.

With HOSO_STORAGE_KEY set, each file is sealed at rest (services/platform/sealing.py) and still addressed by
the sha256 of its plain content, so a paper sent twice is stored once. A sealed file starts with its magic;
a plain one (a store not yet encrypted, `hoso attachments encrypt`) is still read, and checked the same way.

The type is judged by the bytes, not by the name a sender gave the file: a renamed executable is not a
PDF. The name's extension must agree with the content all the same, so that what the clerk sees in the
list is what opens.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.platform.atomic import atomic_file
from services.platform.sealing import Damaged, file_cipher, is_sealed_file, open_file, seal_file

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
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
TEMPORARY = ".incoming-"  # a file being written: never a stored paper; what a crash left is removed


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
    def __init__(self, root: Path, key: bytes | None = None) -> None:
        self.root = root
        self.cipher: AESGCM | None = file_cipher(key) if key is not None else None

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
        self.keep(stored.sha256, upload.content)
        return stored

    def keep(self, sha256: str, content: bytes) -> None:
        """Store checked bytes under their digest unless they are there already (a restore, an upload)."""
        if hashlib.sha256(content).hexdigest() != sha256:
            raise OSError(f"content does not match the digest {sha256}")
        target = self.path_of(sha256)
        if not target.exists():
            self.write_atomically(target, self._at_rest(sha256, content))

    def _at_rest(self, sha256: str, content: bytes) -> bytes:
        return seal_file(self.cipher, sha256, content) if self.cipher is not None else content

    @staticmethod
    def write_atomically(target: Path, data: bytes) -> None:
        """A crash leaves the old file or the new, and a leftover named TEMPORARY."""
        with atomic_file(target, TEMPORARY) as out:
            out.write(data)

    def read(self, sha256: str) -> bytes:
        data = self.path_of(sha256).read_bytes()
        if is_sealed_file(data):
            if self.cipher is None:
                raise OSError(f"stored file {sha256} is encrypted and HOSO_STORAGE_KEY is not set")
            try:
                data = open_file(self.cipher, sha256, data)
            except Damaged:
                raise OSError(f"stored file {sha256} does not open with HOSO_STORAGE_KEY") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise OSError(f"stored file {sha256} does not match its digest")
        return data

    def stored(self) -> list[str]:
        """The digests of the files in the store (not the web chat's downloads, not a half-written file)."""
        return sorted(path.name for path in self.root.glob("??/*")
                      if _DIGEST.match(path.name) and path.parent.name == path.name[:2] and path.is_file())


@dataclass(frozen=True, slots=True)
class EncryptReport:
    encrypted: int
    already: int
    damaged: list[str]


def encrypt_in_place(store: FileStore, progress: Callable[[str], None] = lambda _digest: None) -> EncryptReport:
    """Seal every plain file of the store, one at a time (temporary name, fsync, rename), so that an
    interruption leaves each file either plain or sealed and a rerun goes on where it stopped: a sealed file is
    known by its magic and skipped. A file that no longer matches its digest is left as it is and named."""
    if store.cipher is None:
        raise ValueError("the store has no key")
    for leftover in store.root.glob(f"??/{TEMPORARY}*"):  # what an interrupted run was writing
        leftover.unlink(missing_ok=True)
    encrypted, already, damaged = 0, 0, []
    for digest in store.stored():
        path = store.path_of(digest)
        data = path.read_bytes()
        if is_sealed_file(data):
            already += 1
            continue
        if hashlib.sha256(data).hexdigest() != digest:
            damaged.append(digest)
            continue
        store.write_atomically(path, seal_file(store.cipher, digest, data))
        encrypted += 1
        progress(digest)
    return EncryptReport(encrypted, already, damaged)


def enabled(files: FileStore | None) -> FileStore:
    """The store, or a clear refusal where the installation keeps no files (no HOSO_FILES_DIR)."""
    if files is None:
        raise InvalidInput("attachment", NOT_ENABLED)
    return files
