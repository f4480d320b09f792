"""The half-yearly report in full: its number and signer, the figures frozen when it is submitted, and
no report is ever deleted.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 20:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('unit_report', schema=None) as batch_op:
        batch_op.add_column(sa.Column('doc_number', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('signer', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('signer_title', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('figures', sa.JSON(), nullable=True))
        batch_op.create_index('ix_unit_report_period_status', ['period', 'status'], unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_object', ['object_type', 'object_id'], unique=False)
    # No report is deleted, and a submitted one never changes: what the unit sent stays as sent.
    if op.get_bind().dialect.name == "postgresql":  # hoso_never_delete comes with revision 0005
        op.execute("""CREATE TRIGGER unit_report_no_delete BEFORE DELETE ON unit_report
                      FOR EACH ROW EXECUTE FUNCTION hoso_never_delete()""")
        op.execute("""CREATE FUNCTION hoso_submitted_kept() RETURNS trigger LANGUAGE plpgsql AS $$
                      BEGIN RAISE EXCEPTION 'a submitted report never changes'; END $$""")
        op.execute("""CREATE TRIGGER unit_report_submitted_kept BEFORE UPDATE ON unit_report
                      FOR EACH ROW WHEN (OLD.status = 'submitted') EXECUTE FUNCTION hoso_submitted_kept()""")
    else:
        op.execute("""CREATE TRIGGER unit_report_no_delete BEFORE DELETE ON unit_report
                      BEGIN SELECT RAISE(ABORT, 'unit_report rows are never deleted'); END""")
        op.execute("""CREATE TRIGGER unit_report_submitted_kept BEFORE UPDATE ON unit_report
                      WHEN OLD.status = 'submitted'
                      BEGIN SELECT RAISE(ABORT, 'a submitted report never changes'); END""")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for trigger in ("unit_report_no_delete", "unit_report_submitted_kept"):
        op.execute(f"DROP TRIGGER {trigger}" + (" ON unit_report" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION hoso_submitted_kept()")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_object')
    with op.batch_alter_table('unit_report', schema=None) as batch_op:
        batch_op.drop_index('ix_unit_report_period_status')
        batch_op.drop_column('figures')
        batch_op.drop_column('signer_title')
        batch_op.drop_column('signer')
        batch_op.drop_column('doc_number')
