"""Alembic migrations, run programmatically on a connection that the caller already holds.

Every command checks the schema's revision before it runs. That check reads the version table and the
migrations' file names, without alembic, whose import alone costs a command a tenth of a second: the files
are numbered in order (`0016_printouts.py`) and each one's revision is its number, which
tests/test_storage.py holds against alembic's own graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent
VERSION_FILES = "[0-9][0-9][0-9][0-9]_*.py"


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def on_postgresql(statements: Sequence[str]) -> None:
    """In a migration: run these statements in order on PostgreSQL, nothing on SQLite (its search is the FTS5
    table, kept apart)."""
    from alembic import op

    if op.get_bind().dialect.name == "postgresql":
        for statement in statements:
            op.execute(statement)


def run_upgrade(connection: Connection, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), revision)


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (alembic's version table); None before the first migration."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def head_revision() -> str:
    """The newest migration's revision: the highest number among the migrations' files."""
    return max(path.name.partition("_")[0] for path in (MIGRATIONS_DIR / "versions").glob(VERSION_FILES))
