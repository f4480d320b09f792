"""/find on PostgreSQL by whole words: every prefix of every word of the folded name, in a text[] column the
database computes itself (a stored generated column) with a GIN index and its own statistics.

A trigram index cannot look up a word of one or two letters ("vu", "an"), and for a common one it gives
candidates by the tens of thousands; the planner guessed a handful of rows for the commonest family name.
`name_prefixes @> '{mai,vu}'` is exactly "each word starts a word of the name", whatever its length, and the
column's most common elements tell the planner how many rows a word has. The trigram index stays for digits
inside a personal ID. SQLite keeps its FTS5 index.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 02:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

from storage.migrations import on_postgresql

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every prefix of every space-separated word ("le an" → {l, le, a, an}); duplicates do no harm to `@>`.
# IMMUTABLE so that a generated column may use it: it reads nothing but its argument.
POSTGRES = (
    """CREATE FUNCTION hoso_name_prefixes(folded text) RETURNS text[]
       LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS
       $$ SELECT ARRAY(SELECT left(word, n) FROM unnest(string_to_array(folded, ' ')) AS word,
                                                 generate_series(1, length(word)) AS n) $$""",
    # Added as generated: the table is rewritten with every existing row's value (the backfill), and each
    # insert or update of folded_name (an import, a new dossier, a change of name) keeps it current.
    """ALTER TABLE dossier ADD COLUMN name_prefixes text[]
       GENERATED ALWAYS AS (hoso_name_prefixes(folded_name)) STORED""",
    "CREATE INDEX ix_dossier_name_prefixes ON dossier USING gin (name_prefixes)",
    # The most common elements kept by ANALYZE: 10 x the target. Family names and the first letters of
    # words are few and common; given names many. 1 000 keeps every usual word's frequency.
    "ALTER TABLE dossier ALTER COLUMN name_prefixes SET STATISTICS 1000",
    "ANALYZE dossier",
)


def upgrade() -> None:
    on_postgresql(POSTGRES)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_dossier_name_prefixes")
        op.execute("ALTER TABLE dossier DROP COLUMN name_prefixes")
        op.execute("DROP FUNCTION hoso_name_prefixes(text)")
