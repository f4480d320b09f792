"""The full dossier (2C-BNV/2008, HS02-VC/BNV), its repeating records, reference lists, and the search
index: FTS5 trigram on SQLite, pg_trgm on PostgreSQL, both kept in step by the database itself.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 09:38:31.354171
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# What the search matches: the folded name and the personal ID, side by side. The leading space lets a
# trigram phrase like " an" match the start of a word only.
SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE dossier_search USING fts5(body, tokenize='trigram')",
    """CREATE TRIGGER dossier_search_insert AFTER INSERT ON dossier BEGIN
       INSERT INTO dossier_search(rowid, body) VALUES (new.id, ' ' || new.folded_name || ' ' || new.personal_id); END""",
    """CREATE TRIGGER dossier_search_update AFTER UPDATE OF folded_name, personal_id ON dossier BEGIN
       UPDATE dossier_search SET body = ' ' || new.folded_name || ' ' || new.personal_id WHERE rowid = new.id; END""",
    """CREATE TRIGGER dossier_search_delete AFTER DELETE ON dossier BEGIN
       DELETE FROM dossier_search WHERE rowid = old.id; END""",
    "INSERT INTO dossier_search(rowid, body) SELECT id, ' ' || folded_name || ' ' || personal_id FROM dossier",
)
POSTGRES_SEARCH = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_dossier_search_trgm ON dossier USING gin ((folded_name || ' ' || personal_id) gin_trgm_ops)",
)


def upgrade() -> None:
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("personal_id", sa.String(length=12), nullable=True))
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('other_names', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('home_town', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('religion', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('nationality', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('id_issued_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('social_insurance_no', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('permanent_address', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('current_address', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('recruiting_agency', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('recruitment_decision', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('post_since', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('rank_name', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('rank_since', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('salary_since', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('position_allowance', sa.Numeric(precision=5, scale=2, asdecimal=False), nullable=True))
        batch_op.add_column(sa.Column('over_ceiling_percent', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('other_allowances', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('general_education', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('professional_level', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('major', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('political_theory', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('state_management', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('foreign_language', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('it_skill', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('party_joined_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('party_official_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('military_enlisted_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('military_discharged_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('military_rank', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_dossier_rank_code'), ['rank_code'], unique=False)

    op.create_table('reference_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_name', sa.String(length=32), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reference_item')),
    sa.UniqueConstraint('list_name', 'code', name=op.f('uq_reference_item_list_name'))
    )
    op.create_table('dossier_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('date_from', sa.Date(), nullable=True),
    sa.Column('date_to', sa.Date(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_dossier_record_dossier_id_dossier')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_record'))
    )
    with op.batch_alter_table('dossier_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dossier_record_dossier_id'), ['dossier_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_SEARCH:
            op.execute(statement)
    else:
        for statement in SQLITE_SEARCH:
            op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_column("personal_id")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_dossier_search_trgm")
    else:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER dossier_search_{name}")
        op.execute("DROP TABLE dossier_search")
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_rank_code'))
        batch_op.drop_column('military_rank')
        batch_op.drop_column('military_discharged_on')
        batch_op.drop_column('military_enlisted_on')
        batch_op.drop_column('party_official_on')
        batch_op.drop_column('party_joined_on')
        batch_op.drop_column('it_skill')
        batch_op.drop_column('foreign_language')
        batch_op.drop_column('state_management')
        batch_op.drop_column('political_theory')
        batch_op.drop_column('major')
        batch_op.drop_column('professional_level')
        batch_op.drop_column('general_education')
        batch_op.drop_column('other_allowances')
        batch_op.drop_column('over_ceiling_percent')
        batch_op.drop_column('position_allowance')
        batch_op.drop_column('salary_since')
        batch_op.drop_column('rank_since')
        batch_op.drop_column('rank_name')
        batch_op.drop_column('post_since')
        batch_op.drop_column('recruitment_decision')
        batch_op.drop_column('recruiting_agency')
        batch_op.drop_column('phone')
        batch_op.drop_column('current_address')
        batch_op.drop_column('permanent_address')
        batch_op.drop_column('social_insurance_no')
        batch_op.drop_column('id_issued_on')
        batch_op.drop_column('nationality')
        batch_op.drop_column('religion')
        batch_op.drop_column('home_town')
        batch_op.drop_column('other_names')

    with op.batch_alter_table('dossier_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_record_dossier_id'))

    op.drop_table('dossier_record')
    op.drop_table('reference_item')
