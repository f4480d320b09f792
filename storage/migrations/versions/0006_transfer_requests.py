"""Custody transfer requests: at most one pending per dossier, enforced by a partial unique index.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 11:40:57.037957
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('transfer_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('change_event_id', sa.Integer(), nullable=False),
    sa.Column('requesting_unit_id', sa.Integer(), nullable=False),
    sa.Column('holding_unit_id', sa.Integer(), nullable=False),
    sa.Column('request_number', sa.String(length=64), nullable=False),
    sa.Column('request_date', sa.Date(), nullable=False),
    sa.Column('signer', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=True),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('escalated_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['change_event_id'], ['change_event.id'], name=op.f('fk_transfer_request_change_event_id_change_event')),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_transfer_request_dossier_id_dossier')),
    sa.ForeignKeyConstraint(['holding_unit_id'], ['org_unit.id'], name=op.f('fk_transfer_request_holding_unit_id_org_unit')),
    sa.ForeignKeyConstraint(['requesting_unit_id'], ['org_unit.id'], name=op.f('fk_transfer_request_requesting_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_request'))
    )
    with op.batch_alter_table('transfer_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfer_request_dossier_id'), ['dossier_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_request_holding_unit_id'), ['holding_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_request_requesting_unit_id'), ['requesting_unit_id'], unique=False)
        batch_op.create_index('uq_transfer_request_pending', ['dossier_id'], unique=True, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))



def downgrade() -> None:
    with op.batch_alter_table('transfer_request', schema=None) as batch_op:
        batch_op.drop_index('uq_transfer_request_pending', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_index(batch_op.f('ix_transfer_request_requesting_unit_id'))
        batch_op.drop_index(batch_op.f('ix_transfer_request_holding_unit_id'))
        batch_op.drop_index(batch_op.f('ix_transfer_request_dossier_id'))

    op.drop_table('transfer_request')
