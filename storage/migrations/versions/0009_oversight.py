"""Oversight: the users' feedback (never deleted), an index for the inspection's duplicate people, and
the accounts' last use.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 20:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('text', sa.String(length=2000), nullable=False),
    sa.Column('screenshot_sha256', sa.String(length=64), nullable=True),
    sa.Column('screenshot_name', sa.String(length=255), nullable=True),
    sa.Column('screenshot_type', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('answer', sa.String(length=2000), nullable=True),
    sa.Column('answered_by', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_feedback_account_id_account')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_feedback_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback'))
    )
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_status'), ['status'], unique=False)
    # The last use of an account, written since this revision: until then the last sensitive action or,
    # signed out since, the account's last act in the audit trail.
    op.execute("""UPDATE account SET last_seen_at = COALESCE(last_active_at,
                      (SELECT max(occurred_at) FROM audit_event WHERE audit_event.actor_account_id = account.id))
                  WHERE last_seen_at IS NULL""")
    # Not in batch mode: on SQLite that could copy the table, and its triggers would be lost.
    op.create_index('ix_dossier_name_birth', 'dossier', ['folded_name', 'birth_date'], unique=False)
    if op.get_bind().dialect.name == "postgresql":  # the function comes with revision 0005
        op.execute("""CREATE TRIGGER feedback_no_delete BEFORE DELETE ON feedback
                      FOR EACH ROW EXECUTE FUNCTION hoso_never_delete()""")
    else:
        op.execute("""CREATE TRIGGER feedback_no_delete BEFORE DELETE ON feedback
                      BEGIN SELECT RAISE(ABORT, 'feedback rows are never deleted'); END""")


def downgrade() -> None:
    op.execute("DROP TRIGGER feedback_no_delete" + (" ON feedback" if op.get_bind().dialect.name == "postgresql" else ""))
    op.drop_index('ix_dossier_name_birth', table_name='dossier')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_status'))
    op.drop_table('feedback')
