"""Channels as a concept: an account is reached through identities, one per channel (DESIGN, "Channels").

The migration that carries the Telegram user stored on each account over to a `telegram` identity; binding at
activation and rebinding after a reset; a revoked account refused on every channel; the database's own
guarantee of one live identity per address and per account and channel; the sender's channel as the
transport names it. On SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from aiogram.types import User
from sqlalchemy import delete, inspect, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.middlewares import ServicesMiddleware
from services.accounts.service import AccountService
from services.changes.declarations import Declarations
from services.core.actor import AccountStatus, Actor, Channel, Role
from services.core.clock import FrozenClock
from services.core.identity import load_actor
from services.core.policy import Action, can
from services.custody.transfers import TransferService
from services.platform.audit import actor_label
from services.platform.preferences import PreferenceService
from storage import Database, UnitOfWork
from storage.models import ChannelIdentity, Outbox
from tests.conftest import outbox_rows
from tests.test_accounts import PASSWORD, SYSTEM, sign_in, tree
from tests.test_transfers import HOA, LETTER, province

BEFORE_CHANNELS = "0009"


# -- the migration ------------------------------------------------------------------------------------
async def at_revision_0009(database: Database) -> None:
    """A province as revision 0009 kept it: two accounts bound to Telegram users (one active, one that never
    chose its password), one never bound, rows that refer to them, and a visitor's language."""
    await database.upgrade(BEFORE_CHANNELS)
    statements = [
        "INSERT INTO org_unit (id, code, name, path, status, created_at) "
        "VALUES (1, 'CT', 'Cần Thơ', '/1/', 'active', '2025-01-01 00:00:00')",
        *(f"INSERT INTO account (id, username, full_name, unit_id, role, status, failed_attempts, created_at, "
          f"activated_at, telegram_user_id) VALUES ({number}, '{username}', 'A', 1, 'clerk', '{status}', 0, "
          f"'2025-01-01 00:00:00', {activated}, {telegram})"
          for number, username, status, activated, telegram in (
              (1, "lan.ct", "active", "'2025-01-02 03:04:05'", "7000000001"),
              (2, "hoa.ct", "pending", "NULL", "502"),
              (3, "an.ct", "pending", "NULL", "NULL"))),
        "INSERT INTO account_scope (account_id, unit_id, granted_at) VALUES (1, 1, '2025-01-03 00:00:00')",
        "INSERT INTO feedback (account_id, unit_id, kind, text, status, created_at) "
        "VALUES (2, 1, 'problem', 'Chậm', 'new', '2025-01-04 00:00:00')",
        "INSERT INTO outbox (key, kind, account_id, chat_id, payload, due_at, status, attempts, created_at) "
        "VALUES ('k1', 'incident', 1, 7000000001, '{}', '2025-01-05 00:00:00', 'sent', 1, '2025-01-05 00:00:00')",
        "INSERT INTO user_preference (telegram_user_id, locale, updated_at) VALUES (999, 'en', '2025-01-06 00:00:00')",
    ]
    async with database.engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))


async def test_the_migration_carries_every_telegram_user_over(database_url: str) -> None:
    database = Database(database_url)
    try:
        await at_revision_0009(database)
        started = dt.datetime.now(dt.UTC)
        await database.upgrade()
        finished = dt.datetime.now(dt.UTC)
        async with database.engine.connect() as connection:
            columns = await connection.run_sync(lambda sync: {
                table: [column["name"] for column in inspect(sync).get_columns(table)]
                for table in ("account", "user_preference")})
            kept = [(await connection.scalar(text(f"SELECT count(*) FROM {table}")))
                    for table in ("account", "account_scope", "feedback", "outbox")]
            broken = ((await connection.execute(text("PRAGMA foreign_key_check"))).all()
                      if database.is_sqlite else [])
        assert "telegram_user_id" not in columns["account"]
        assert "telegram_user_id" not in columns["user_preference"]
        assert {"channel", "address"} <= set(columns["user_preference"])
        assert kept == [3, 1, 1, 1] and broken == []

        uow = UnitOfWork(database)
        async with uow.read() as repos:
            identities = list((await repos.session.scalars(select(ChannelIdentity).order_by(ChannelIdentity.id))).all())
        by_account = {identity.account_id: identity for identity in identities}
        assert len(identities) == 2 and set(by_account) == {1, 2}  # the unbound account gets none
        assert [(i.channel, i.address, i.revoked_at) for i in identities] == [
            ("telegram", "7000000001", None), ("telegram", "502", None)]
        assert by_account[1].bound_at == dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)  # its activation
        assert started <= by_account[2].bound_at <= finished  # never activated: the migration's time

        # The same users are recognised, with their accounts; the visitor keeps the language chosen.
        lan = await load_actor(uow, Channel.TELEGRAM, 7000000001)
        assert (lan.username, lan.role, lan.channel, lan.address) == ("lan.ct", Role.CLERK, "telegram", "7000000001")
        hoa = await load_actor(uow, Channel.TELEGRAM, "502")
        assert hoa.username == "hoa.ct" and hoa.pending_password and hoa.role is None
        visitor = await load_actor(uow, Channel.TELEGRAM, 999)
        assert visitor.is_anonymous and visitor.locale == "en"
        assert (await load_actor(uow, Channel.ZALO, 7000000001)).is_anonymous  # another channel: nobody
        async with uow.read() as repos:  # the reminder sent before stays addressed to the same chat
            assert [chat for _account, chat in await repos.reminder_sources.bound_accounts()] == [7000000001]
    finally:
        await database.dispose()


# -- binding, rebinding, revoking -----------------------------------------------------------------------
async def identities_of(uow: UnitOfWork, username: str) -> list[ChannelIdentity]:
    async with uow.read() as repos:
        account = await repos.accounts.by_username(username)
        return list(await repos.identities.history(account.id))


async def test_activation_binds_and_a_reset_rebinds(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    await tree(uow, clock)
    await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    [first] = await identities_of(uow, "lan.syt")
    assert (first.channel, first.address, first.bound_at, first.revoked_at) == ("telegram", "501", clock.now(), None)

    # A reset unbinds at once; the new code, used from the same Telegram user, binds a new identity.
    clock.advance(dt.timedelta(hours=1))
    issued = await AccountService(uow, SYSTEM, clock).reset("lan.syt", "10/CV-SYT")
    assert (await load_actor(uow, "telegram", 501)).account_id is None
    [revoked] = await identities_of(uow, "lan.syt")
    assert revoked.revoked_at == clock.now()
    clock.advance(dt.timedelta(hours=1))
    await AccountService(uow, await load_actor(uow, "telegram", 501), clock).activate(issued.activation_code)
    old, new = await identities_of(uow, "lan.syt")
    assert (old.id, old.revoked_at) == (first.id, clock.now() - dt.timedelta(hours=1))
    assert (new.address, new.bound_at, new.revoked_at) == ("501", clock.now(), None)

    # Another reset, activated from another Telegram user: the old identity is revoked, the new user holds it.
    issued = await AccountService(uow, SYSTEM, clock).reset("lan.syt", "11/CV-SYT")
    await AccountService(uow, Actor.anonymous("telegram", 777), clock).activate(issued.activation_code)
    await AccountService(uow, await load_actor(uow, "telegram", 777), clock).choose_first_password(PASSWORD)
    history = await identities_of(uow, "lan.syt")
    assert [(i.address, i.revoked_at is None) for i in history] == [("501", False), ("501", False), ("777", True)]
    assert (await load_actor(uow, "telegram", 777)).username == "lan.syt"
    assert (await load_actor(uow, "telegram", 501)).is_anonymous
    async with uow.read() as repos:  # the activation was audited under the sender's channel and address
        labels = [e.actor_label for e in await repos.audit.search(limit=1000) if e.action == "auth.activate"]
    assert labels == ["telegram:777", "telegram:501", "telegram:501"]


async def test_logout_ends_only_the_identity_of_its_channel(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    await tree(uow, clock)
    actor = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    async with uow.write() as repos:
        await repos.identities.bind(actor.account_id, Channel.WEB, "lan.syt@web", clock.now())
    await AccountService(uow, actor, clock).logout()
    assert (await load_actor(uow, "telegram", 501)).is_anonymous
    assert (await load_actor(uow, Channel.WEB, "lan.syt@web")).username == "lan.syt"
    assert [(i.channel, i.revoked_at is None) for i in await identities_of(uow, "lan.syt")] == [
        ("telegram", False), ("web", True)]


async def test_a_revoked_account_is_refused_on_every_channel(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    await tree(uow, clock)
    actor = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    async with uow.write() as repos:
        await repos.identities.bind(actor.account_id, Channel.ZALO, "zalo-8f3a", clock.now())
    for channel, address in (("telegram", 501), ("zalo", "zalo-8f3a")):
        assert (await load_actor(uow, channel, address)).role is Role.CLERK

    view = await AccountService(uow, SYSTEM, clock).revoke("lan.syt", "12/CV-SNV")
    assert view.status == "revoked" and view.channels == ("telegram", "zalo")  # its identities stay, as history
    for channel, address in (("telegram", 501), ("zalo", "zalo-8f3a")):
        revoked = await load_actor(uow, channel, address)
        assert revoked.account_id == actor.account_id and revoked.status == AccountStatus.REVOKED
        assert revoked.role is None and revoked.is_anonymous
        assert not any(can(revoked, action, target) for action in Action for target in (None, "/", revoked.unit_path))
    async with uow.read() as repos:  # nor is anything sent to it
        assert await repos.reminder_sources.bound_accounts() == []
        assert await repos.changes.clerks_reached((await repos.units.by_code("SYT")).path) == []

    # Its Telegram user may take a new account: the revoked one gives that identity up.
    issued = await AccountService(uow, SYSTEM, clock).issue("lan2.syt", "SYT", "manager", "Lan", "13/CV-SNV")
    await AccountService(uow, await load_actor(uow, "telegram", 501), clock).activate(issued.activation_code)
    assert [(i.channel, i.revoked_at is None) for i in await identities_of(uow, "lan.syt")] == [
        ("telegram", False), ("zalo", True)]
    assert (await load_actor(uow, "telegram", 501)).username == "lan2.syt"


async def test_a_notice_queued_for_an_old_identity_is_dropped(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    await tree(uow, clock)
    actor = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    async with uow.write() as repos:
        for key, chat in (("to-501", 501), ("to-777", 777)):
            repos.session.add(Outbox(key=key, kind="incident", account_id=actor.account_id, channel="telegram",
                                     address=str(chat), payload={},
                                     due_at=clock.now(), created_at=clock.now()))
    issued = await AccountService(uow, SYSTEM, clock).reset("lan.syt", "10/CV-SYT")
    await AccountService(uow, Actor.anonymous("telegram", 777), clock).activate(issued.activation_code)
    await AccountService(uow, await load_actor(uow, "telegram", 777), clock).choose_first_password(PASSWORD)
    async with uow.write() as repos:
        claimed = {row.key: row.id for row in await repos.outbox.claim("s1", clock.now(), 10)}
        assert not await repos.outbox.start_sending(claimed["to-501"], "s1", 1)
        assert await repos.outbox.start_sending(claimed["to-777"], "s1", 1)


# -- the database's guarantees ---------------------------------------------------------------------------
async def two_accounts(uow: UnitOfWork, clock: FrozenClock) -> tuple[int, int]:
    await tree(uow, clock)
    accounts = AccountService(uow, SYSTEM, clock)
    await accounts.issue("lan.syt", "SYT", "clerk", "Lan", "1/CV")
    await accounts.issue("hoa.stc", "STC", "clerk", "Hoa", "2/CV")
    async with uow.read() as repos:
        return (await repos.accounts.by_username("lan.syt")).id, (await repos.accounts.by_username("hoa.stc")).id


async def add_identity(uow: UnitOfWork, clock: FrozenClock, account_id: int, channel: str, address: str,
                       revoked: bool = False) -> None:
    async with uow.write() as repos:
        repos.session.add(ChannelIdentity(account_id=account_id, channel=channel, address=address,
                                          bound_at=clock.now(), revoked_at=clock.now() if revoked else None))
        await repos.flush()


async def test_one_live_identity_per_address_and_per_account_channel(any_database: Database,
                                                                     clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    lan, hoa = await two_accounts(uow, clock)
    await add_identity(uow, clock, lan, "telegram", "501")
    with pytest.raises(IntegrityError):  # a second live holder of the same Telegram user
        await add_identity(uow, clock, hoa, "telegram", "501")
    with pytest.raises(IntegrityError):  # a second live Telegram user for the same account
        await add_identity(uow, clock, lan, "telegram", "502")
    # History is not bound by it; the same address on another channel is another identity.
    await add_identity(uow, clock, hoa, "telegram", "501", revoked=True)
    await add_identity(uow, clock, lan, "telegram", "502", revoked=True)
    await add_identity(uow, clock, hoa, "zalo", "501")
    await add_identity(uow, clock, lan, "web", "lan.syt")
    async with uow.read() as repos:
        assert (await repos.identities.channels([lan, hoa])) == {lan: ["telegram", "web"], hoa: ["zalo"]}
        assert await repos.identities.address(lan, "telegram") == "501"
    # And none is ever deleted.
    with pytest.raises(DBAPIError):
        async with uow.write() as repos:
            await repos.session.execute(delete(ChannelIdentity).where(ChannelIdentity.account_id == hoa))


async def test_binding_another_accounts_live_address_is_refused(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    lan, hoa = await two_accounts(uow, clock)
    async with uow.write() as repos:
        await repos.identities.bind(lan, "telegram", "501", clock.now())
    with pytest.raises(IntegrityError):
        async with uow.write() as repos:
            await repos.identities.bind(hoa, "telegram", "501", clock.now())
    async with uow.write() as repos:  # the account's own earlier address is replaced
        await repos.identities.bind(lan, "telegram", "502", clock.now())
        assert [(i.address, i.revoked_at is None) for i in await repos.identities.history(lan)] == [
            ("501", False), ("502", True)]


# -- the channel of an update ----------------------------------------------------------------------------
async def test_a_transport_names_its_channel(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    lan, _hoa = await two_accounts(uow, clock)
    async with uow.write() as repos:
        account = await repos.accounts.get(lan)
        account.status = AccountStatus.ACTIVE.value
        await repos.identities.bind(lan, Channel.ZALO, "4242", clock.now())

    async def seen(middleware: ServicesMiddleware) -> Actor:
        data: dict[str, Any] = {"event_from_user": User(id=4242, is_bot=False, first_name="Lan")}

        async def handler(_event: Any, data: dict[str, Any]) -> Actor:
            return data["actor"]

        return await middleware(handler, None, data)

    on_zalo = await seen(ServicesMiddleware(any_database, clock, channel=Channel.ZALO))
    assert (on_zalo.username, on_zalo.channel, on_zalo.address) == ("lan.syt", "zalo", "4242")
    on_telegram = await seen(ServicesMiddleware(any_database, clock))  # the default: Telegram, where 4242 is nobody
    assert on_telegram.is_anonymous and (on_telegram.channel, on_telegram.address) == ("telegram", "4242")
    assert actor_label(on_telegram) == "telegram:4242"
    assert actor_label(Actor.anonymous("zalo", "4242")) == "zalo:4242" and actor_label(SYSTEM) == "system"


async def test_a_visitors_language_is_kept_per_channel(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    await PreferenceService(uow, Actor.anonymous("zalo", "4242"), clock).set_language("en")
    assert (await load_actor(uow, "zalo", "4242")).locale == "en"
    assert (await load_actor(uow, "telegram", 4242)).locale is None


# -- the outbox addresses an account, delivered on each of its channels -------------------------------
async def test_the_migration_addresses_existing_outbox_rows_on_telegram(database_url: str) -> None:
    """From revision 0010 with rows: each becomes a telegram row to its chat, its key unchanged; a blocked
    account's mark moves to its live telegram identity."""
    database = Database(database_url)
    try:
        await database.upgrade("0010")
        statements = [
            "INSERT INTO org_unit (id, code, name, path, status, created_at) "
            "VALUES (1, 'CT', 'Cần Thơ', '/1/', 'active', '2025-01-01 00:00:00')",
            "INSERT INTO account (id, username, full_name, unit_id, role, status, failed_attempts, created_at, "
            "bot_blocked_at) VALUES (1, 'lan.ct', 'A', 1, 'clerk', 'active', 0, '2025-01-01 00:00:00', "
            "'2025-01-07 00:00:00')",
            "INSERT INTO channel_identity (account_id, channel, address, bound_at) "
            "VALUES (1, 'telegram', '7000000001', '2025-01-02 00:00:00')",
            *(f"INSERT INTO outbox (key, kind, account_id, chat_id, payload, due_at, status, attempts, created_at) "
              f"VALUES ('{key}', 'incident', {account}, {chat}, '{{}}', '2025-01-05 00:00:00', '{status}', 1, "
              f"'2025-01-05 00:00:00')"
              for key, account, chat, status in (("k1", 1, 7000000001, "sent"), ("k2", "NULL", 42, "pending"))),
        ]
        async with database.engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
        await database.upgrade()
        async with database.engine.connect() as connection:
            columns = await connection.run_sync(lambda sync: {
                table: [column["name"] for column in inspect(sync).get_columns(table)]
                for table in ("account", "outbox", "channel_identity")})
            broken = ((await connection.execute(text("PRAGMA foreign_key_check"))).all()
                      if database.is_sqlite else [])
        assert "chat_id" not in columns["outbox"] and {"channel", "address"} <= set(columns["outbox"])
        assert "bot_blocked_at" not in columns["account"] and "blocked_at" in columns["channel_identity"]
        assert broken == []
        uow = UnitOfWork(database)
        async with uow.read() as repos:
            rows = (await repos.session.scalars(select(Outbox).order_by(Outbox.id))).all()
            account = await repos.accounts.by_username("lan.ct")
            blocked = [a.username for a in await repos.outbox.blocked_accounts()]
        assert [(r.key, r.account_id, r.channel, r.address, r.status) for r in rows] == [
            ("k1", 1, "telegram", "7000000001", "sent"), ("k2", None, "telegram", "42", "pending")]
        assert account.bot_blocked_at == dt.datetime(2025, 1, 7, tzinfo=dt.UTC) and blocked == ["lan.ct"]
    finally:
        await database.dispose()


class RecordingBot:
    """Records the chats sent to; answers 403 for the chats in `forbidden`."""

    def __init__(self, forbidden: frozenset[int] = frozenset()) -> None:
        self.sent: list[int] = []
        self.forbidden = forbidden

    async def send_message(self, chat_id: int, text: str, reply_markup: Any = None) -> Any:
        if chat_id in self.forbidden:
            from aiogram.exceptions import TelegramForbiddenError
            from aiogram.methods import SendMessage

            raise TelegramForbiddenError(SendMessage(chat_id=chat_id, text="x"), "bot was blocked by the user")
        self.sent.append(chat_id)
        return type("Sent", (), {"message_id": len(self.sent)})()


def notice(account_id: int, object_id: str = "1") -> Any:
    """An incident notice to the account (on each of its channels)."""
    from services.platform.outbox import Due

    return Due("incident", account_id, "notice", object_id, dt.date(2026, 7, 1), {"text": "Mất điện"})


async def test_two_identities_two_rows_and_the_telegram_sender_sends_its_own(any_database: Database,
                                                                            clock: FrozenClock) -> None:
    from bot.i18n import create_i18n
    from bot.sender import OutboxSender
    from services.platform.outbox import enqueue
    from services.regime.deadlines import WorkingCalendar

    uow = UnitOfWork(any_database)
    await tree(uow, clock)
    lan = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    await AccountService(uow, SYSTEM, clock).issue("an.syt", "SYT", "clerk", "An", "2/CV")  # bound nowhere
    async with uow.write() as repos:
        await repos.identities.bind(lan.account_id, "web", "lan@syt", clock.now())
        unbound = await repos.accounts.by_username("an.syt")
        assert await enqueue(repos, clock, [notice(lan.account_id), notice(unbound.id)], WorkingCalendar(),
                             immediate=True) == 2
        assert await enqueue(repos, clock, [notice(lan.account_id)], WorkingCalendar(), immediate=True) == 0
    bot = RecordingBot()
    await OutboxSender(uow, clock, bot, create_i18n(), rate=1000, per_chat=0.0).drain()  # type: ignore[arg-type]
    async with uow.read() as repos:
        rows = (await repos.session.scalars(select(Outbox).order_by(Outbox.channel))).all()
    assert [(r.channel, r.address, r.account_id, r.status) for r in rows] == [
        ("telegram", "501", lan.account_id, "sent"), ("web", "lan@syt", lan.account_id, "pending")]
    assert rows[1].key.endswith(":web:lan@syt") and rows[0].key.endswith(":501")
    assert bot.sent == [501]  # the web row waits for the web chat's sender
    with pytest.raises(ValueError):
        OutboxSender(uow, clock, bot, create_i18n(), channel="sms")  # type: ignore[arg-type]  # no such channel


async def test_a_revoked_identity_is_not_sent_and_a_block_marks_the_identity(any_database: Database,
                                                                            clock: FrozenClock) -> None:
    from bot.i18n import create_i18n
    from bot.sender import OutboxSender
    from services.platform.outbox import enqueue
    from services.regime.deadlines import WorkingCalendar

    uow = UnitOfWork(any_database)
    await tree(uow, clock)
    lan = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    hoa = await sign_in(uow, clock, "hoa.syt", "SYT", "clerk", 502)
    async with uow.write() as repos:
        await repos.identities.bind(hoa.account_id, "web", "hoa@syt", clock.now())
        await enqueue(repos, clock, [notice(lan.account_id), notice(hoa.account_id)], WorkingCalendar(),
                      immediate=True)
        await repos.identities.revoke(clock.now(), account_id=lan.account_id, channel="telegram")  # signed out
    bot = RecordingBot(forbidden=frozenset({502}))
    await OutboxSender(uow, clock, bot, create_i18n(), rate=1000, per_chat=0.0).drain()  # type: ignore[arg-type]
    async with uow.read() as repos:
        rows = {(r.channel, r.address): r.status for r in (await repos.session.scalars(select(Outbox))).all()}
        marks = {(i.channel, i.address): i.blocked_at for i in
                 (await repos.session.scalars(select(ChannelIdentity))).all()}
        blocked = [a.username for a in await repos.outbox.blocked_accounts()]
    assert rows == {("telegram", "501"): "dropped", ("telegram", "502"): "blocked", ("web", "hoa@syt"): "pending"}
    assert bot.sent == []
    assert marks == {("telegram", "501"): None, ("telegram", "502"): clock.now(), ("web", "hoa@syt"): None}
    assert blocked == ["hoa.syt"]
    async with uow.write() as repos:  # the next notice still goes to the web identity of who blocked Telegram
        assert await enqueue(repos, clock, [notice(hoa.account_id, "2")], WorkingCalendar(), immediate=True) == 2


# -- the notices of an action ---------------------------------------------------------------------------------
async def test_a_notice_goes_to_every_channel_of_the_account(any_database: Database, clock: FrozenClock) -> None:
    """A custody request asks the holding clerk, bound on Telegram and on the web chat, on both: one row each,
    the same notice. The requester acts from the web chat, the one channel it is reached on: the decision is
    told there, and the Telegram sender sends it nothing."""
    from bot.i18n import create_i18n
    from bot.sender import OutboxSender

    uow = UnitOfWork(any_database)
    people = await province(uow, clock)
    holding = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    yen = await sign_in(uow, clock, "yen.stc", "STC", "clerk", 502)
    async with uow.write() as repos:
        await repos.identities.bind(holding.account_id, Channel.WEB, "lan@syt", clock.now())
        await repos.identities.bind(yen.account_id, Channel.WEB, "yen@stc", clock.now())
        await repos.identities.revoke(clock.now(), account_id=yen.account_id, channel="telegram")
    receiving = await load_actor(uow, Channel.WEB, "yen@stc")
    assert receiving.account_id == yen.account_id

    asked = await TransferService(uow, receiving, clock).request(people[HOA], LETTER)
    rows = await outbox_rows(uow)
    assert sorted((r.kind, r.account_id, r.channel, r.address, r.object_id, r.status) for r in rows) == [
        ("transfer_requested", holding.account_id, "telegram", "501", str(asked.id), "pending"),
        ("transfer_requested", holding.account_id, "web", "lan@syt", str(asked.id), "pending")]
    assert rows[0].payload == rows[1].payload and rows[0].key != rows[1].key
    assert {r.due_at for r in rows} == {clock.now()}
    bot = RecordingBot()
    await OutboxSender(uow, clock, bot, create_i18n(), rate=1000, per_chat=0.0).drain()  # type: ignore[arg-type]
    assert bot.sent == [501]  # the web row waits for the web chat's sender

    await TransferService(uow, holding, clock).approve(asked.id)
    [told] = await outbox_rows(uow, "transfer_decided")
    assert (told.account_id, told.channel, told.address, told.payload["status"]) == (
        yen.account_id, "web", "yen@stc", "approved")
    await OutboxSender(uow, clock, bot, create_i18n(), rate=1000, per_chat=0.0).drain()  # type: ignore[arg-type]
    assert bot.sent == [501]  # nothing for the requester's old Telegram chat
    assert sorted((r.kind, r.channel, r.status) for r in await outbox_rows(uow)) == [
        ("transfer_decided", "web", "pending"), ("transfer_requested", "telegram", "sent"),
        ("transfer_requested", "web", "pending")]


async def test_a_declaration_from_the_web_chat_is_told_back_there(any_database: Database, clock: FrozenClock) -> None:
    """An employee reached only on the web chat declares there; the clerk, on two channels, is asked on both;
    the decision goes back to the web chat alone."""
    uow = UnitOfWork(any_database)
    await province(uow, clock)
    clerk = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    hoa = await sign_in(uow, clock, "hoa.nv", "SYT", "employee", 777, personal_id=HOA)
    async with uow.write() as repos:
        await repos.identities.bind(clerk.account_id, Channel.WEB, "lan@syt", clock.now())
        await repos.identities.bind(hoa.account_id, Channel.WEB, "hoa@web", clock.now())
        await repos.identities.revoke(clock.now(), account_id=hoa.account_id, channel="telegram")
    employee = await load_actor(uow, Channel.WEB, "hoa@web")

    declared = await Declarations(uow, employee, clock).declare(
        "address", {"current_address": "9 Hùng Vương", "effective_on": "10/06/2026"})
    assert sorted((r.kind, r.account_id, r.channel, r.address) for r in await outbox_rows(uow)) == [
        ("declaration_new", clerk.account_id, "telegram", "501"), ("declaration_new", clerk.account_id, "web", "lan@syt")]
    await Declarations(uow, clerk, clock).decide(declared.event_id, approve=True)
    [told] = await outbox_rows(uow, "declaration_decided")
    assert (told.account_id, told.channel, told.address, told.object_id, told.payload["status"]) == (
        hoa.account_id, "web", "hoa@web", str(declared.event_id), "applied")
