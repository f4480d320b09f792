"""/find on PostgreSQL without sorting every match: the word prefixes of migration 0015 become `name_terms`, which
also hold the prefixes of the first word (marked "^") and of the words after it (marked "~"), and each word
followed by a prefix of the next ("nguyen t", "nguyen th", …); the folded name's index also holds the id, the
tie-break of every page, and on PostgreSQL the personal ID, for digits tested in the index alone.

At 2 million dossiers "nguyen mai" has some 10 000 matches, all of them real, and the page is the first ten in
the name's order. Sorting them all cost a row read each. With these terms each tier of the ranking is one set of
the terms' index ("^nguyen" and "mai": the names starting with "nguyen" that have "mai"; "~nguyen" and "~mai":
both after the first word; "nguyen mai": the two in a row), whose size the index tells exactly. A small set is
sorted; a large one is dense enough that a walk of the folded name's index in the page's order soon finds the
page (storage/search.py).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 05:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

from storage.migrations import on_postgresql

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# "le thi an" → {l, le, t, th, thi, a, an, ^l, ^le, ~t, ~th, ~thi, ~a, ~an, le t, le th, le thi, thi a, thi an}.
# IMMUTABLE so that a generated column may use it: it reads nothing but its argument.
POSTGRES = (
    """CREATE FUNCTION hoso_name_terms(folded text) RETURNS text[]
       LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
       WITH words AS (SELECT word, place FROM unnest(string_to_array(folded, ' ')) WITH ORDINALITY AS w(word, place)
                      WHERE word <> '')
       SELECT ARRAY(
           SELECT DISTINCT term FROM (
               SELECT left(word, n) AS term FROM words, generate_series(1, length(word)) AS n
               UNION ALL
               SELECT CASE WHEN place = 1 THEN '^' ELSE '~' END || left(word, n)
               FROM words, generate_series(1, length(word)) AS n
               UNION ALL
               SELECT one.word || ' ' || left(next.word, n)
               FROM words one JOIN words next ON next.place = one.place + 1, generate_series(1, length(next.word)) AS n
           ) AS terms ORDER BY term)
       $$""",
    "DROP INDEX ix_dossier_name_prefixes",
    "ALTER TABLE dossier DROP COLUMN name_prefixes",
    "DROP FUNCTION hoso_name_prefixes(text)",
    # The page's order is the code points' (the walks' ranges, the tiers merged in Python), whatever collation
    # the database was created with: "le an" before "le anh" (a locale's collation ignores the space).
    'ALTER TABLE dossier ALTER COLUMN folded_name TYPE varchar(255) COLLATE "C"',
    # Added as generated: the table is rewritten with every existing row's terms, and each write of folded_name
    # keeps them current.
    "ALTER TABLE dossier ADD COLUMN name_terms text[] GENERATED ALWAYS AS (hoso_name_terms(folded_name)) STORED",
    "CREATE INDEX ix_dossier_name_terms ON dossier USING gin (name_terms)",
    # The most common elements kept by ANALYZE: 10 x the target, so that every usual word's frequency is known.
    "ALTER TABLE dossier ALTER COLUMN name_terms SET STATISTICS 1000",
    "ANALYZE dossier",
)


def upgrade() -> None:
    # Every page of /find is in the order (folded name, id): a walk of this index stops at the page's last row.
    op.drop_index("ix_dossier_folded_name", table_name="dossier")
    on_postgresql(POSTGRES)
    op.create_index("ix_dossier_folded_name", "dossier", ["folded_name", "id"], postgresql_include=["personal_id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        from importlib import import_module

        previous = import_module("storage.migrations.versions.0015_name_prefixes")
        op.execute("DROP INDEX ix_dossier_name_terms")
        op.execute("ALTER TABLE dossier DROP COLUMN name_terms")
        op.execute("DROP FUNCTION hoso_name_terms(text)")
        op.execute('ALTER TABLE dossier ALTER COLUMN folded_name TYPE varchar(255) COLLATE "default"')
        for statement in previous.POSTGRES:
            op.execute(statement)
    op.drop_index("ix_dossier_folded_name", table_name="dossier")
    op.create_index("ix_dossier_folded_name", "dossier", ["folded_name"])
