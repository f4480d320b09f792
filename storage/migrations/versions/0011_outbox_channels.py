"""Outbox rows addressed to an account on one of its channels: `channel` and `address` (the identity's address
as text) instead of the Telegram `chat_id`; a 403 marks the identity that was blocked, not the account.

Every existing row becomes a `telegram` row to `str(chat_id)`; its idempotency key stays as it was. A new
Telegram row's key has the same form (its chat last), so nothing planned before the upgrade is planned again;
the keys of the other channels name the channel before the address. `account.bot_blocked_at` moves to the account's live telegram identity.

On SQLite the outbox table is rebuilt by batch mode without `chat_id`: no table refers to the outbox, so
dropping the old copy is allowed with foreign keys on, and the rows it refers to (accounts) stay where they
are. The account table is not rebuilt: `bot_blocked_at` is a plain column, which SQLite drops in place
(`ALTER TABLE … DROP COLUMN`, SQLite 3.35+), so nothing that refers to accounts is touched.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The account's live telegram identity, correlated with the account being updated.
TELEGRAM_IDENTITY = ("FROM channel_identity WHERE channel_identity.account_id = account.id "
                     "AND channel_identity.channel = 'telegram' AND channel_identity.revoked_at IS NULL")


def upgrade() -> None:
    # A 403 marks the identity: the account's mark goes to its live telegram identity. (In place on SQLite
    # as well: a rebuild would lose the table's no-delete trigger.)
    op.add_column('channel_identity', sa.Column('blocked_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE channel_identity SET blocked_at = (SELECT account.bot_blocked_at FROM account "
               "WHERE account.id = channel_identity.account_id) "
               "WHERE channel = 'telegram' AND revoked_at IS NULL")
    op.drop_column('account', 'bot_blocked_at')  # in place on SQLite too: see the module's docstring

    # The outbox: (channel, address) instead of the Telegram chat.
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=16), nullable=False, server_default='telegram'))
        batch_op.add_column(sa.Column('address', sa.String(length=128), nullable=True))
    op.execute("UPDATE outbox SET address = CAST(chat_id AS VARCHAR(128))")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('chat_id')
        batch_op.alter_column('channel', existing_type=sa.String(length=16), server_default=None,
                              existing_nullable=False)
        batch_op.alter_column('address', existing_type=sa.String(length=128), nullable=False)
        batch_op.create_index('ix_outbox_channel_status_due', ['channel', 'status', 'due_at'], unique=False)


def downgrade() -> None:
    """Back to Telegram chats: the rows of other channels (and any address that is not a number) are lost;
    the telegram identity's 403 goes back to its account."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    numeric = "address NOT GLOB '*[^0-9]*' AND address <> ''" if sqlite else "address ~ '^[0-9]+$'"
    op.execute(f"DELETE FROM outbox WHERE channel <> 'telegram' OR NOT ({numeric})")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_channel_status_due')
        batch_op.add_column(sa.Column('chat_id', sa.BigInteger(), nullable=True))
    op.execute("UPDATE outbox SET chat_id = CAST(address AS BIGINT)")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('chat_id', existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_column('address')
        batch_op.drop_column('channel')

    op.add_column('account', sa.Column('bot_blocked_at', sa.DateTime(), nullable=True))
    op.execute(f"UPDATE account SET bot_blocked_at = (SELECT blocked_at {TELEGRAM_IDENTITY})")
    op.drop_column('channel_identity', 'blocked_at')  # in place on SQLite too, keeping its trigger
