"""PostgreSQL: a six-digit run at one of the first three places of a personal ID from a btree in the page's order,
the runs further on from a GIN index, so that "/find 921707" reads a page whatever the number of IDs holding it.

A personal ID (CCCD) begins with the province's code, a digit for the century and sex and the year of birth; the
last six digits are a serial. A run that begins at the first place (one province's code and one year) is held by
tens of thousands of IDs at 2 million dossiers, one at the second or third place by thousands or hundreds, and
migration 0019's GIN index gave them as a set, read from the table and sorted whole: 60 to 90 ms for 500 to 1 400
holders. Such a run is now walked in the page's order in the btree of its place (`substr(personal_id, p, 6)`, the
folded name, the id): the page's rows only. A run that begins at the fourth place or later has the serial in it
and is rare (a few dozen IDs at 2 million): the GIN index of those runs (`hoso_id_inner_runs`) gives them as a
small set, and a word of nine digits or more is looked up there alone (its digits 4 to 9). 0019's index goes.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 12:00:00.000000
"""

from collections.abc import Sequence

from storage.migrations import on_postgresql

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HEADS = 3  # the places whose runs have their own btree; storage/search.py `HEADS`


def _runs_from(name: str, first: int) -> str:
    """The function `name`: a personal ID's runs of six digits that start at the place `first` or later.
    PL/pgSQL, so that the planner never inlines it and the queries' expression stays the index's own."""
    return f"""CREATE FUNCTION {name}(personal_id text) RETURNS text[]
       LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
       BEGIN
           RETURN ARRAY(SELECT DISTINCT substr(personal_id, n, 6)
                        FROM generate_series({first}, length(personal_id) - 5) AS n);
       END
       $$"""


POSTGRES = (
    _runs_from("hoso_id_inner_runs", HEADS + 1),
    "CREATE INDEX ix_dossier_id_inner_runs ON dossier USING gin (hoso_id_inner_runs(personal_id))",
    *(f"CREATE INDEX ix_dossier_id_at_{place} ON dossier (substr(personal_id, {place}, 6), folded_name, id)"
      for place in range(1, HEADS + 1)),
    "DROP INDEX ix_dossier_id_runs",
    "DROP FUNCTION hoso_id_runs(text)",
    "ANALYZE dossier",
)

BACK = (
    _runs_from("hoso_id_runs", 1),  # 0019's
    "CREATE INDEX ix_dossier_id_runs ON dossier USING gin (hoso_id_runs(personal_id))",
    *(f"DROP INDEX ix_dossier_id_at_{place}" for place in range(1, HEADS + 1)),
    "DROP INDEX ix_dossier_id_inner_runs",
    "DROP FUNCTION hoso_id_inner_runs(text)",
    "ANALYZE dossier",
)


def upgrade() -> None:
    on_postgresql(POSTGRES)


def downgrade() -> None:
    on_postgresql(BACK)
