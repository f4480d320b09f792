"""Alembic environment. `Database.upgrade()` passes its own connection; the `alembic` command line
(for writing new revisions) connects to HOSO_DATABASE_URL instead."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from storage.models import Base

config = context.config
target_metadata = Base.metadata


def _ours(name: str | None, type_: str, parent_names: object) -> bool:
    """The search index is maintained in SQL (FTS5 table, trigram index, the name's terms, the ID's runs of
    digits and their places), not by the models."""
    return not (name or "").startswith(("dossier_search", "ix_dossier_search", "name_terms", "ix_dossier_name_terms",
                                        "ix_dossier_id_runs", "ix_dossier_id_at_",
                                        "ix_dossier_id_inner_runs"))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=_ours,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_environment() -> None:
    from storage.database import Database

    database = Database(os.environ.get("HOSO_DATABASE_URL", "sqlite+aiosqlite:///./hoso.db"))
    try:
        async with database.engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await database.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_from_environment())
