"""Linking a channel with a one-time code (Zalo): the codes, stored as their sha256 only, valid 15 minutes and
spent once; the wrong codes counted per sender; and the linked channels an account turned its reminders off on.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 23:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('link_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_link_code_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_code')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_link_code_code_hash'))
    )
    op.create_index(op.f('ix_link_code_account_id'), 'link_code', ['account_id'], unique=False)
    op.create_table('link_attempt',
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=128), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'address', name=op.f('pk_link_attempt'))
    )
    op.create_table('reminder_channel_off',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('chosen_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'],
                            name=op.f('fk_reminder_channel_off_account_id_account')),
    sa.PrimaryKeyConstraint('account_id', 'channel', name=op.f('pk_reminder_channel_off'))
    )


def downgrade() -> None:
    op.drop_table('reminder_channel_off')
    op.drop_table('link_attempt')
    op.drop_index(op.f('ix_link_code_account_id'), table_name='link_code')
    op.drop_table('link_code')
