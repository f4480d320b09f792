"""Logging set-up. Secrets (the bot token, the webhook secret, the audit key) and password hashes are
masked in every record. Database values are kept out of records at their source (storage/database.py)."""

from __future__ import annotations

import logging
import re
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Defence in depth: an argon2 hash is recognisable wherever it lands, a traceback or a library's line.
ARGON2_HASH = re.compile(r"\$argon2[A-Za-z0-9+/=,$]*")
# A PostgreSQL error's DETAIL quotes the row's values ("Key (activation_code_hash)=(…)", "Failing row
# contains (…)"), which SQLAlchemy's hide_parameters does not cover.
ERROR_DETAIL = re.compile(r"(DETAIL:\s*).*")


class RedactingFormatter(logging.Formatter):
    """Masks every secret in the whole formatted record, the message and any traceback alike."""

    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        self.secrets = [secret for secret in secrets if secret]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return ERROR_DETAIL.sub(r"\1***", ARGON2_HASH.sub("***", text))


def configure_logging(level: str, secrets: list[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(FORMAT, secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Routine chatter of libraries: migrations and per-update timings are not worth an operator's line.
    for noisy in ("alembic", "aiogram.event"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
