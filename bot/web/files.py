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
import secrets
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TTL = dt.timedelta(hours=1)


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
        (self.folder / file_id).write_bytes(content)
        record = {"account": account_id, "name": Path(name).name or "file", "expires": (now + self.ttl).isoformat()}
        (self.folder / f"{file_id}.json").write_text(json.dumps(record), encoding="utf-8")
        return file_id

    def get(self, account_id: int, file_id: str, now: dt.datetime) -> KeptFile | None:
        """The file, if it is this account's and not expired; None otherwise, whichever the reason."""
        if not file_id.replace("-", "").replace("_", "").isalnum():
            return None  # never a path
        meta = self.folder / f"{file_id}.json"
        try:
            record = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        expires = dt.datetime.fromisoformat(record["expires"])
        if record["account"] != account_id or expires <= now:
            return None
        return KeptFile(file_id, account_id, record["name"], self.folder / file_id, expires)

    def content(self, file_id: str, now: dt.datetime) -> bytes | None:
        """What a handler fetches by the file id of a message it was given (an upload of the account it
        serves: the id is random and only ever reaches that account's updates)."""
        meta = self.folder / f"{file_id}.json"
        if not file_id.replace("-", "").replace("_", "").isalnum() or not meta.exists():
            return None
        record = json.loads(meta.read_text(encoding="utf-8"))
        kept = self.get(int(record["account"]), file_id, now)
        return kept.path.read_bytes() if kept is not None else None

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
