"""Files the bot sent on the web chat (the 2C form, reports, exports, charts), kept for the account they were
sent to, for a while.

Each file is stored under a random id with a small record of its owner, name and expiry; only that account
may fetch it, and only until it expires (then it is removed: the record it was made from is in the
database, and asking again makes it anew).
"""

from __future__ import annotations

import datetime as dt
import json
import mimetypes
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_TTL = dt.timedelta(hours=1)
FILE_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _write_private(path: Path, content: bytes) -> None:
    """Readable by HoSo's own user only: what is kept here is classified."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)


@dataclass(frozen=True, slots=True)
class KeptFile:
    file_id: str
    account_id: int
    name: str
    path: Path
    expires_at: dt.datetime

    @property
    def content_type(self) -> str:
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"


class FileStore:
    def __init__(self, folder: Path, ttl: dt.timedelta = DEFAULT_TTL) -> None:
        self.folder, self.ttl = folder, ttl

    def put(self, account_id: int, name: str, content: bytes, now: dt.datetime) -> str:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.sweep(now)
        file_id = secrets.token_urlsafe(18)
        record = {"account": account_id, "name": Path(name).name or "file", "expires": (now + self.ttl).isoformat()}
        _write_private(self.folder / file_id, content)
        _write_private(self.folder / f"{file_id}.json", json.dumps(record).encode())
        return file_id

    def get(self, account_id: int, file_id: str, now: dt.datetime) -> KeptFile | None:
        """The file, if it is this account's and not expired; None otherwise, whichever the reason."""
        record = self._record(file_id)
        if record is None:
            return None
        expires = dt.datetime.fromisoformat(record["expires"])
        if record["account"] != account_id or expires <= now:
            return None
        return KeptFile(file_id, account_id, record["name"], self.folder / file_id, expires)

    def _record(self, file_id: str) -> dict[str, Any] | None:
        if not FILE_ID.fullmatch(file_id):
            return None  # never a path
        try:
            record = json.loads((self.folder / f"{file_id}.json").read_text(encoding="utf-8"))
            dt.datetime.fromisoformat(record["expires"])
            int(record["account"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return record if isinstance(record, dict) else None

    def content(self, file_id: str, now: dt.datetime) -> bytes | None:
        """What a handler fetches by the file id of a message it was given (an upload of the account it
        serves: the id is random and only ever reaches that account's updates)."""
        record = self._record(file_id)
        kept = self.get(int(record["account"]), file_id, now) if record is not None else None
        try:
            return kept.path.read_bytes() if kept is not None else None
        except OSError:  # swept away meanwhile
            return None

    def sweep(self, now: dt.datetime) -> int:
        """Remove the expired files; the number removed."""
        removed = 0
        for meta in self.folder.glob("*.json"):
            try:
                expires = dt.datetime.fromisoformat(json.loads(meta.read_text(encoding="utf-8"))["expires"])
            except (OSError, ValueError, KeyError):
                continue
            if expires <= now:
                meta.with_suffix("").unlink(missing_ok=True)
                meta.unlink(missing_ok=True)
                removed += 1
        return removed
