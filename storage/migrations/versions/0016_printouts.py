"""Printouts issued with a verification code: what each showed, to verify it later. Never deleted, never changed.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 02:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('printout',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=255), nullable=False),
    sa.Column('audit_seq', sa.BigInteger(), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('issued_by', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_printout')),
    sa.UniqueConstraint('code', name=op.f('uq_printout_code'))
    )
    # What was issued stays as issued: no row changes or goes (the audit holds its issue too).
    if op.get_bind().dialect.name == "postgresql":  # hoso_never_delete comes with revision 0005
        op.execute("""CREATE TRIGGER printout_kept BEFORE UPDATE OR DELETE ON printout
                      FOR EACH ROW EXECUTE FUNCTION hoso_never_delete()""")
    else:
        op.execute("""CREATE TRIGGER printout_no_update BEFORE UPDATE ON printout
                      BEGIN SELECT RAISE(ABORT, 'printout rows never change'); END""")
        op.execute("""CREATE TRIGGER printout_no_delete BEFORE DELETE ON printout
                      BEGIN SELECT RAISE(ABORT, 'printout rows are never deleted'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER printout_kept ON printout")
    else:
        op.execute("DROP TRIGGER printout_no_update")
        op.execute("DROP TRIGGER printout_no_delete")
    op.drop_table('printout')
