"""Change events with their source documents, dossier versions, attachments, the admin's extra days
off; and nothing of a dossier can be deleted (triggers on SQLite and PostgreSQL).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 11:16:38.288844
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Invariant 4: nothing is deleted. Dossiers, their changes, versions and attachments refuse DELETE.
KEPT = ("dossier", "change_event", "dossier_version", "attachment")
SQLITE_TRIGGERS = tuple(
    f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} rows are never deleted'); END"""
    for table in KEPT
)
POSTGRES_TRIGGERS = (
    """CREATE FUNCTION hoso_never_delete() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION '% rows are never deleted', TG_TABLE_NAME; END $$""",
    *(f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
          FOR EACH ROW EXECUTE FUNCTION hoso_never_delete()""" for table in KEPT),
)

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('extra_day_off',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=False),
    sa.Column('added_by', sa.String(length=128), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_extra_day_off'))
    )
    op.create_table('change_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('doc_number', sa.String(length=64), nullable=True),
    sa.Column('doc_date', sa.Date(), nullable=True),
    sa.Column('doc_issuer', sa.String(length=255), nullable=True),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('on_time', sa.Boolean(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('recorded_by_label', sa.String(length=128), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decision_note', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_change_event_dossier_id_dossier')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_change_event_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_event'))
    )
    with op.batch_alter_table('change_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_event_dossier_id'), ['dossier_id'], unique=False)
        batch_op.create_index('ix_change_event_unit_status', ['unit_id', 'status'], unique=False)

    op.create_table('attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('change_event_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('uploaded_by', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['change_event_id'], ['change_event.id'], name=op.f('fk_attachment_change_event_id_change_event')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment'))
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_change_event_id'), ['change_event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_sha256'), ['sha256'], unique=False)

    op.create_table('dossier_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('change_event_id', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['change_event_id'], ['change_event.id'], name=op.f('fk_dossier_version_change_event_id_change_event')),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_dossier_version_dossier_id_dossier')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_version'))
    )
    with op.batch_alter_table('dossier_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dossier_version_dossier_id'), ['dossier_id'], unique=False)

    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES_TRIGGERS if postgres else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    for table in KEPT:
        op.execute(f"DROP TRIGGER {table}_no_delete" + (f" ON {table}" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION hoso_never_delete()")
    with op.batch_alter_table('dossier_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_version_dossier_id'))

    op.drop_table('dossier_version')
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_sha256'))
        batch_op.drop_index(batch_op.f('ix_attachment_change_event_id'))

    op.drop_table('attachment')
    with op.batch_alter_table('change_event', schema=None) as batch_op:
        batch_op.drop_index('ix_change_event_unit_status')
        batch_op.drop_index(batch_op.f('ix_change_event_dossier_id'))

    op.drop_table('change_event')
    op.drop_table('extra_day_off')
