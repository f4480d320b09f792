"""Foundation: settings, units, accounts, preferences, dossiers and the FSM records.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 08:37:57.514939
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('app_setting',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_app_setting'))
    )
    op.create_table('fsm_record',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('state', sa.String(length=255), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_fsm_record'))
    )
    op.create_table('org_unit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('path', sa.String(length=512), nullable=False),
    sa.Column('level_name', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['merged_into_id'], ['org_unit.id'], name=op.f('fk_org_unit_merged_into_id_org_unit')),
    sa.ForeignKeyConstraint(['parent_id'], ['org_unit.id'], name=op.f('fk_org_unit_parent_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_org_unit')),
    sa.UniqueConstraint('code', name=op.f('uq_org_unit_code'))
    )
    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_org_unit_path'), ['path'], unique=False)

    op.create_table('user_preference',
    sa.Column('telegram_user_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('telegram_user_id', name=op.f('pk_user_preference'))
    )
    op.create_table('account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('full_name', sa.String(length=255), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('telegram_user_id', sa.BigInteger(), nullable=True),
    sa.Column('locale', sa.String(length=8), nullable=True),
    sa.Column('secret_hash', sa.String(length=255), nullable=True),
    sa.Column('activation_code_hash', sa.String(length=255), nullable=True),
    sa.Column('activation_expires_at', sa.DateTime(), nullable=True),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('request_ref', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('activated_at', sa.DateTime(), nullable=True),
    sa.Column('last_seen_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_account_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account')),
    sa.UniqueConstraint('telegram_user_id', name=op.f('uq_account_telegram_user_id')),
    sa.UniqueConstraint('username', name=op.f('uq_account_username'))
    )
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_unit_id'), ['unit_id'], unique=False)

    op.create_table('dossier',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('personal_id', sa.String(length=12), nullable=False),
    sa.Column('full_name', sa.String(length=255), nullable=False),
    sa.Column('folded_name', sa.String(length=255), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('birthplace', sa.String(length=255), nullable=True),
    sa.Column('ethnicity', sa.String(length=64), nullable=True),
    sa.Column('rank_code', sa.String(length=16), nullable=True),
    sa.Column('post', sa.String(length=255), nullable=True),
    sa.Column('salary_step', sa.Integer(), nullable=True),
    sa.Column('salary_coefficient', sa.Numeric(precision=5, scale=2, asdecimal=False), nullable=True),
    sa.Column('recruited_on', sa.Date(), nullable=True),
    sa.Column('custodian_unit_id', sa.Integer(), nullable=False),
    sa.Column('working_unit_id', sa.Integer(), nullable=False),
    sa.Column('employment_status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['custodian_unit_id'], ['org_unit.id'], name=op.f('fk_dossier_custodian_unit_id_org_unit')),
    sa.ForeignKeyConstraint(['working_unit_id'], ['org_unit.id'], name=op.f('fk_dossier_working_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier')),
    sa.UniqueConstraint('personal_id', name=op.f('uq_dossier_personal_id'))
    )
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dossier_birth_date'), ['birth_date'], unique=False)
        batch_op.create_index('ix_dossier_custodian_status', ['custodian_unit_id', 'employment_status'], unique=False)
        batch_op.create_index(batch_op.f('ix_dossier_folded_name'), ['folded_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_dossier_working_unit_id'), ['working_unit_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_working_unit_id'))
        batch_op.drop_index(batch_op.f('ix_dossier_folded_name'))
        batch_op.drop_index('ix_dossier_custodian_status')
        batch_op.drop_index(batch_op.f('ix_dossier_birth_date'))

    op.drop_table('dossier')
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_unit_id'))

    op.drop_table('account')
    op.drop_table('user_preference')
    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_org_unit_path'))

    op.drop_table('org_unit')
    op.drop_table('fsm_record')
    op.drop_table('app_setting')
