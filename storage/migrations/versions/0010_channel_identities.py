"""Channels: an account's identities, one per channel (telegram | web | zalo), instead of the Telegram user
stored on the account; the language of a user not signed in kept by (channel, address).

Every bound account keeps its Telegram user as a live `telegram` identity, bound when the account was
activated (or now, if it never was), before `account.telegram_user_id` goes.

On SQLite the account table is rebuilt without the column. Alembic's batch mode cannot do it under rows that
refer to accounts (scopes, outbox, feedback…): it drops the old table after copying it, and with foreign keys
on that drop is refused. Here the rows are set aside, the table is dropped and created again, and the rows go
back in, with the foreign keys checked at the commit (`PRAGMA defer_foreign_keys`): every row referring to an
account finds it again, or the upgrade fails and nothing changes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 18:00:00.000000
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("revoked_at IS NULL")

# The account's columns at revision 0009 but the Telegram user, in their order.
ACCOUNT_COLUMNS = ('id', 'username', 'full_name', 'unit_id', 'role', 'status', 'locale', 'secret_hash',
                   'activation_code_hash', 'activation_expires_at', 'failed_attempts', 'request_ref', 'created_at',
                   'activated_at', 'last_seen_at', 'last_active_at', 'personal_id', 'bot_blocked_at')


def _account_table(with_telegram_user: bool) -> None:
    """The account table as revision 0009 left it, with or without `telegram_user_id` (SQLite only)."""
    telegram = [sa.Column('telegram_user_id', sa.BigInteger(), nullable=True)] if with_telegram_user else []
    op.create_table('account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('full_name', sa.String(length=255), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    *telegram,
    sa.Column('locale', sa.String(length=8), nullable=True),
    sa.Column('secret_hash', sa.String(length=255), nullable=True),
    sa.Column('activation_code_hash', sa.String(length=64), nullable=True),
    sa.Column('activation_expires_at', sa.DateTime(), nullable=True),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('request_ref', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('activated_at', sa.DateTime(), nullable=True),
    sa.Column('last_seen_at', sa.DateTime(), nullable=True),
    sa.Column('last_active_at', sa.DateTime(), nullable=True),
    sa.Column('personal_id', sa.String(length=12), nullable=True),
    sa.Column('bot_blocked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_account_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account')),
    sa.UniqueConstraint('username', name=op.f('uq_account_username')),
    *([sa.UniqueConstraint('telegram_user_id', name=op.f('uq_account_telegram_user_id'))] if with_telegram_user else []),
    sa.UniqueConstraint('activation_code_hash', name=op.f('uq_account_activation_code_hash'))
    )
    op.create_index(op.f('ix_account_unit_id'), 'account', ['unit_id'], unique=False)


def _rebuild_account_on_sqlite(with_telegram_user: bool, telegram_user: str = "NULL") -> None:
    """Drop the account table and create it again with its rows, under the rows that refer to it. The
    foreign keys are checked when the migration's transaction commits, not when the old table goes."""
    op.execute("PRAGMA defer_foreign_keys = ON")  # until the commit: the rows come back before it
    op.execute("CREATE TABLE _account_0010 AS SELECT * FROM account")
    op.drop_table('account')
    _account_table(with_telegram_user)
    columns = ", ".join(ACCOUNT_COLUMNS)
    if with_telegram_user:
        op.execute(f"INSERT INTO account ({columns}, telegram_user_id) SELECT {columns}, {telegram_user} "
                   "FROM _account_0010")
    else:
        op.execute(f"INSERT INTO account ({columns}) SELECT {columns} FROM _account_0010")
    op.drop_table('_account_0010')


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.create_table('channel_identity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=128), nullable=False),
    sa.Column('bound_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_channel_identity_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_identity'))
    )
    with op.batch_alter_table('channel_identity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_identity_account_id'), ['account_id'], unique=False)
        batch_op.create_index('uq_channel_identity_live_account', ['account_id', 'channel'], unique=True,
                              sqlite_where=LIVE, postgresql_where=LIVE)
        batch_op.create_index('uq_channel_identity_live_address', ['channel', 'address'], unique=True,
                              sqlite_where=LIVE, postgresql_where=LIVE)
    if sqlite:
        op.execute("""CREATE TRIGGER channel_identity_no_delete BEFORE DELETE ON channel_identity
                      BEGIN SELECT RAISE(ABORT, 'channel identities are never deleted'); END""")
    else:  # the function comes with revision 0005
        op.execute("""CREATE TRIGGER channel_identity_no_delete BEFORE DELETE ON channel_identity
                      FOR EACH ROW EXECUTE FUNCTION hoso_never_delete()""")

    # Every Telegram user bound to an account, as that account's live telegram identity.
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    op.get_bind().execute(sa.text(
        "INSERT INTO channel_identity (account_id, channel, address, bound_at, revoked_at) "
        "SELECT id, 'telegram', CAST(telegram_user_id AS VARCHAR(128)), COALESCE(activated_at, :now), NULL "
        "FROM account WHERE telegram_user_id IS NOT NULL ORDER BY id"
    ).bindparams(sa.bindparam("now", now, type_=sa.DateTime())))
    if sqlite:
        _rebuild_account_on_sqlite(with_telegram_user=False)
    else:
        op.drop_constraint('uq_account_telegram_user_id', 'account', type_='unique')
        op.drop_column('account', 'telegram_user_id')

    # The language of a user not signed in: by (channel, address) instead of the Telegram user.
    with op.batch_alter_table('user_preference', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=16), nullable=False, server_default='telegram'))
        batch_op.add_column(sa.Column('address', sa.String(length=128), nullable=True))
    op.execute("UPDATE user_preference SET address = CAST(telegram_user_id AS VARCHAR(128))")
    with op.batch_alter_table('user_preference', schema=None) as batch_op:
        batch_op.drop_constraint('pk_user_preference', type_='primary')
        batch_op.drop_column('telegram_user_id')
        batch_op.alter_column('channel', existing_type=sa.String(length=16), server_default=None,
                              existing_nullable=False)
        batch_op.alter_column('address', existing_type=sa.String(length=128), nullable=False)
        batch_op.create_primary_key('pk_user_preference', ['channel', 'address'])


def downgrade() -> None:
    """Back to one Telegram user per account: the live telegram identities; the other channels, the
    revoked identities and the languages kept for other channels are lost."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    numeric = "address NOT GLOB '*[^0-9]*' AND address <> ''" if sqlite else "address ~ '^[0-9]+$'"
    with op.batch_alter_table('user_preference', schema=None) as batch_op:
        batch_op.add_column(sa.Column('telegram_user_id', sa.BigInteger(), nullable=True))
    op.execute(f"DELETE FROM user_preference WHERE channel <> 'telegram' OR NOT ({numeric})")
    op.execute("UPDATE user_preference SET telegram_user_id = CAST(address AS BIGINT)")
    with op.batch_alter_table('user_preference', schema=None) as batch_op:
        batch_op.drop_constraint('pk_user_preference', type_='primary')
        batch_op.drop_column('channel')
        batch_op.drop_column('address')
        batch_op.alter_column('telegram_user_id', existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_primary_key('pk_user_preference', ['telegram_user_id'])

    telegram_user = (f"(SELECT CAST(address AS BIGINT) FROM channel_identity WHERE account_id = account.id "
                     f"AND channel = 'telegram' AND revoked_at IS NULL AND {numeric})")
    if sqlite:
        # The subquery reads the set-aside rows: `account` there is the table being copied from.
        _rebuild_account_on_sqlite(with_telegram_user=True,
                                   telegram_user=telegram_user.replace("account.id", "_account_0010.id"))
    else:
        op.add_column('account', sa.Column('telegram_user_id', sa.BigInteger(), nullable=True))
        op.execute(f"UPDATE account SET telegram_user_id = {telegram_user}")
        op.create_unique_constraint(op.f('uq_account_telegram_user_id'), 'account', ['telegram_user_id'])

    op.execute("DROP TRIGGER channel_identity_no_delete" + ("" if sqlite else " ON channel_identity"))
    with op.batch_alter_table('channel_identity', schema=None) as batch_op:
        batch_op.drop_index('uq_channel_identity_live_address', sqlite_where=LIVE, postgresql_where=LIVE)
        batch_op.drop_index('uq_channel_identity_live_account', sqlite_where=LIVE, postgresql_where=LIVE)
        batch_op.drop_index(batch_op.f('ix_channel_identity_account_id'))
    op.drop_table('channel_identity')
