"""Accounts: scope extensions, sub-account requests, session activity, unique activation codes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 09:02:20.661467
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The account table is rebuilt first (SQLite batch mode), before any table refers to it.
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_active_at', sa.DateTime(), nullable=True))
        batch_op.alter_column('activation_code_hash',
               existing_type=sa.VARCHAR(length=255),
               type_=sa.String(length=64),
               existing_nullable=True)
        batch_op.create_unique_constraint(batch_op.f('uq_account_activation_code_hash'), ['activation_code_hash'])

    op.create_table('account_scope',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('request_ref', sa.String(length=255), nullable=True),
    sa.Column('granted_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_account_scope_account_id_account')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_account_scope_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_scope')),
    sa.UniqueConstraint('account_id', 'unit_id', name=op.f('uq_account_scope_account_id'))
    )
    with op.batch_alter_table('account_scope', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_scope_account_id'), ['account_id'], unique=False)

    op.create_table('subaccount_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('full_name', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('request_ref', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('agreement_ref', sa.String(length=255), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_subaccount_request_account_id_account')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['account.id'], name=op.f('fk_subaccount_request_decided_by_id_account')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['account.id'], name=op.f('fk_subaccount_request_requested_by_id_account')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_subaccount_request_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subaccount_request'))
    )
    with op.batch_alter_table('subaccount_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subaccount_request_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_account_activation_code_hash'), type_='unique')
        batch_op.alter_column('activation_code_hash',
               existing_type=sa.String(length=64),
               type_=sa.VARCHAR(length=255),
               existing_nullable=True)
        batch_op.drop_column('last_active_at')

    with op.batch_alter_table('subaccount_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subaccount_request_status'))

    op.drop_table('subaccount_request')
    with op.batch_alter_table('account_scope', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_scope_account_id'))

    op.drop_table('account_scope')
