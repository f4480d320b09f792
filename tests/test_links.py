"""Linking Zalo with a one-time code, unlinking, and the channels reminders go to: services on SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from services.accounts.links import (
    EXPIRED,
    MAX_FAILURES,
    NOT_ACTIVE,
    OTHER_CHANNEL,
    REPLACED,
    TAKEN,
    TOO_MANY,
    UNKNOWN,
    USED,
    LinkRefused,
    LinkService,
    looks_like_code,
    normalized,
)
from services.accounts.service import AccountService, code_hash
from services.core.actor import Actor
from services.core.clock import FrozenClock
from services.core.errors import InvalidInput, PermissionDenied
from services.core.identity import load_actor
from services.platform.outbox import Due, enqueue
from services.regime.deadlines import WorkingCalendar
from services.reminders.service import MyReminders
from storage import Database, UnitOfWork
from storage.models import AuditEvent, ChannelIdentity, LinkCode, Outbox
from tests.test_accounts import SYSTEM, sign_in, tree

ZALO_USER, OTHER_ZALO_USER = "9f1c2e7a0b", "4d5e6f7a8b"


@pytest.fixture
def db_uow(any_database: Database) -> UnitOfWork:
    return UnitOfWork(any_database)


async def zalo(uow: UnitOfWork, clock: FrozenClock, address: str = ZALO_USER) -> LinkService:
    """The link service as the Zalo user at `address` sees it."""
    return LinkService(uow, await load_actor(uow, "zalo", address), clock)


@pytest.fixture
async def office(db_uow: UnitOfWork, clock: FrozenClock) -> UnitOfWork:
    """The units, and two active clerks bound on Telegram (lan.syt: 501, an.syt: 502)."""
    await tree(db_uow, clock)
    await sign_in(db_uow, clock, "lan.syt", "SYT", "clerk", 501)
    await sign_in(db_uow, clock, "an.syt", "SYT", "clerk", 502)
    return db_uow


async def live(uow: UnitOfWork, channel: str = "zalo") -> list[tuple[int, str]]:
    async with uow.read() as repos:
        rows = (await repos.session.scalars(select(ChannelIdentity).where(
            ChannelIdentity.channel == channel, ChannelIdentity.revoked_at.is_(None)))).all()
    return [(row.account_id, row.address) for row in rows]


async def refused(service: LinkService, code: str) -> str:
    with pytest.raises(LinkRefused) as caught:
        await service.consume(code)
    return caught.value.message


async def test_a_code_links_the_sender_once_and_only_its_hash_is_kept(office: UnitOfWork, clock: FrozenClock) -> None:
    issued = await LinkService(office, SYSTEM, clock).issue("Lan.SYT", "zalo")
    assert issued.expires_at == clock.now() + dt.timedelta(minutes=15)
    assert looks_like_code(issued.code) and len(issued.code) == 14  # XXXX-XXXX-XXXX
    typed = issued.code.lower().replace("-", " ")  # case, spaces and dashes do not matter
    linked = await (await zalo(office, clock)).consume(typed)
    assert (linked.username, linked.channel) == ("lan.syt", "zalo")
    actor = await load_actor(office, "zalo", ZALO_USER)
    assert actor.username == "lan.syt" and actor.role == "clerk"
    assert await refused(await zalo(office, clock, OTHER_ZALO_USER), issued.code) == USED
    async with office.read() as repos:
        codes = (await repos.session.scalars(select(LinkCode))).all()
        audit = (await repos.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))).all()
    assert [(c.code_hash, c.used_at) for c in codes] == [(code_hash(normalized(issued.code)), clock.now())]
    actions = [event.action for event in audit]
    assert actions[-3:] == ["link.issue", "link.bind", "link.refused"]
    everything = " ".join(f"{e.details} {e.object_id}" for e in audit)
    assert normalized(issued.code) not in everything and codes[0].code_hash not in everything
    assert await live(office) == [(actor.account_id, ZALO_USER)]


async def test_expired_unknown_replaced_and_foreign_codes_are_refused_with_their_reason(
        office: UnitOfWork, clock: FrozenClock) -> None:
    admin = LinkService(office, SYSTEM, clock)
    first = await admin.issue("lan.syt", "zalo")
    second = await admin.issue("lan.syt", "zalo")  # replaces the first, not yet used
    user = await zalo(office, clock)
    assert await refused(user, first.code) == REPLACED
    assert await refused(user, "ABCD-EFGH-JKLM") == UNKNOWN
    clock.advance(dt.timedelta(minutes=15))
    assert await refused(user, second.code) == EXPIRED
    async with office.write() as repos:  # a code issued for another channel
        account = await repos.accounts.by_username("an.syt")
        assert account is not None
        await repos.links.add(account.id, "telegram", code_hash("QRSTUVWXYZ23"), clock.now(),
                              clock.now() + dt.timedelta(minutes=15))
    assert await refused(await zalo(office, clock, OTHER_ZALO_USER), "QRST-UVWX-YZ23") == OTHER_CHANNEL
    assert await live(office) == []


async def test_a_zalo_user_holds_one_account_and_a_new_link_replaces_the_old_address(
        office: UnitOfWork, clock: FrozenClock) -> None:
    admin = LinkService(office, SYSTEM, clock)
    await (await zalo(office, clock)).consume((await admin.issue("lan.syt", "zalo")).code)
    # The same Zalo user may not take another live account.
    assert await refused(await zalo(office, clock), (await admin.issue("an.syt", "zalo")).code) == TAKEN
    # The account linked again from another Zalo user: the new address replaces the old.
    await (await zalo(office, clock, OTHER_ZALO_USER)).consume((await admin.issue("lan.syt", "zalo")).code)
    lan = await load_actor(office, "telegram", 501)
    assert await live(office) == [(lan.account_id, OTHER_ZALO_USER)]
    # Once lan.syt is revoked, the Zalo user has no rights and may link the account it is given now.
    await AccountService(office, SYSTEM, clock).revoke("lan.syt", "7/CV-SNV")
    assert (await load_actor(office, "zalo", OTHER_ZALO_USER)).role is None
    linked = await (await zalo(office, clock, OTHER_ZALO_USER)).consume((await admin.issue("an.syt", "zalo")).code)
    assert linked.username == "an.syt"
    an = await load_actor(office, "telegram", 502)
    assert await live(office) == [(an.account_id, OTHER_ZALO_USER)]


async def test_only_an_active_account_is_linked(office: UnitOfWork, clock: FrozenClock) -> None:
    admin, accounts = LinkService(office, SYSTEM, clock), AccountService(office, SYSTEM, clock)
    await accounts.restrict("an.syt", "8/CV-SNV")
    with pytest.raises(InvalidInput) as caught:
        await admin.issue("an.syt", "zalo")
    assert caught.value.field == "username"
    issued = await admin.issue("lan.syt", "zalo")
    await accounts.revoke("lan.syt", "9/CV-SNV")  # after the code was issued: it no longer works
    assert await refused(await zalo(office, clock), issued.code) == NOT_ACTIVE
    with pytest.raises(InvalidInput) as caught:
        await admin.issue("lan.syt", "telegram")  # Telegram binds with the activation code
    assert caught.value.field == "channel"
    with pytest.raises(InvalidInput) as caught:
        await admin.issue("nobody", "zalo")
    assert caught.value.field == "username"


async def test_wrong_codes_hold_back_their_sender_only(office: UnitOfWork, clock: FrozenClock) -> None:
    issued = await LinkService(office, SYSTEM, clock).issue("lan.syt", "zalo")
    guesser = await zalo(office, clock)
    for _ in range(MAX_FAILURES):
        assert await refused(guesser, "2345-6789-ABCD") == UNKNOWN
    assert await refused(guesser, issued.code) == TOO_MANY  # even the right code, for now
    clock.advance(dt.timedelta(minutes=14))
    assert await refused(guesser, issued.code) == TOO_MANY
    clock.advance(dt.timedelta(minutes=1))  # the window is over (and the code with it: a new one)
    issued = await LinkService(office, SYSTEM, clock).issue("lan.syt", "zalo")
    assert (await guesser.consume(issued.code)).username == "lan.syt"
    # Another sender was never held back.
    other = await LinkService(office, SYSTEM, clock).issue("an.syt", "zalo")
    assert (await (await zalo(office, clock, OTHER_ZALO_USER)).consume(other.code)).username == "an.syt"


async def test_unlinking_ends_the_identity_and_the_unused_codes(office: UnitOfWork, clock: FrozenClock) -> None:
    admin = LinkService(office, SYSTEM, clock)
    await (await zalo(office, clock)).consume((await admin.issue("lan.syt", "zalo")).code)
    pending = await admin.issue("lan.syt", "zalo")
    assert await admin.unlink("lan.syt", "zalo") == 1
    assert await live(office) == [] and (await load_actor(office, "zalo", ZALO_USER)).account_id is None
    assert await refused(await zalo(office, clock), pending.code) == REPLACED
    with pytest.raises(InvalidInput) as caught:
        await admin.unlink("lan.syt", "zalo")
    assert caught.value.field == "channel"
    async with office.read() as repos:
        actions = [e.action for e in (await repos.session.scalars(select(AuditEvent))).all()]
    assert "link.unlink" in actions
    assert await live(office, "telegram") != []  # the other channels stay bound


async def test_the_holder_sees_their_code_only_in_the_web_chat_and_unlinks_there(
        office: UnitOfWork, clock: FrozenClock) -> None:
    lan = await load_actor(office, "telegram", 501)
    assert lan.account_id is not None
    with pytest.raises(PermissionDenied):
        await LinkService(office, lan, clock).issue_own("zalo")
    async with office.write() as repos:
        await repos.identities.bind(lan.account_id, "web", str(lan.account_id), clock.now())
    web = LinkService(office, await load_actor(office, "web", lan.account_id), clock)
    issued = await web.issue_own("zalo")
    await (await zalo(office, clock)).consume(issued.code)
    assert await web.linked_since("zalo") == clock.now()
    assert await web.unlink_own("zalo") == 1
    assert await web.linked_since("zalo") is None
    with pytest.raises(PermissionDenied):
        await LinkService(office, Actor.anonymous("web", "77"), clock).issue_own("zalo")


async def test_no_activation_code_or_password_is_taken_on_zalo(office: UnitOfWork, clock: FrozenClock) -> None:
    issued = await AccountService(office, SYSTEM, clock).issue("mai.syt", "SYT", "clerk", "Mai", "10/CV-SYT")
    with pytest.raises(PermissionDenied):
        await AccountService(office, await load_actor(office, "zalo", ZALO_USER), clock).activate(
            issued.activation_code)
    async with office.read() as repos:
        account = await repos.accounts.by_username("mai.syt")
    assert account is not None and account.activation_code_hash == code_hash(issued.activation_code)  # not spent
    await (await zalo(office, clock)).consume((await LinkService(office, SYSTEM, clock).issue("lan.syt", "zalo")).code)
    linked = AccountService(office, await load_actor(office, "zalo", ZALO_USER), clock)
    with pytest.raises(PermissionDenied):
        await linked.confirm_password("mat-khau-2026")
    with pytest.raises(PermissionDenied):
        await linked.set_password("mat-khau-moi-2026")


# -- the channels reminders go to ----------------------------------------------------------------------------


def due(account_id: int, kind: str = "report_due") -> Due:
    return Due(kind, account_id, "report", "SYT:2026-H1", dt.date(2026, 6, 15), {"unit": "Sở Y tế"})


async def planned(uow: UnitOfWork, clock: FrozenClock, account_id: int) -> list[tuple[str, str]]:
    async with uow.write() as repos:
        await enqueue(repos, clock, [due(account_id), due(account_id, "transfer_escalation")], WorkingCalendar())
    async with uow.read() as repos:
        rows = (await repos.session.scalars(select(Outbox).order_by(Outbox.id))).all()
    return sorted((row.kind, row.channel) for row in rows)


async def test_reminders_go_to_the_chosen_channels_and_escalations_to_every_one(
        office: UnitOfWork, clock: FrozenClock) -> None:
    await (await zalo(office, clock)).consume((await LinkService(office, SYSTEM, clock).issue("lan.syt", "zalo")).code)
    lan = await load_actor(office, "telegram", 501)
    assert lan.account_id is not None
    mine = MyReminders(office, lan, clock)
    assert await mine.channels() == [("telegram", True), ("zalo", True)]
    assert await mine.toggle_channel("telegram") is False
    assert await mine.channels() == [("telegram", False), ("zalo", True)]
    with pytest.raises(InvalidInput):  # the last channel receiving them stays on
        await mine.toggle_channel("zalo")
    with pytest.raises(InvalidInput):
        await mine.toggle_channel("web")  # not linked there
    assert await planned(office, clock, lan.account_id) == [
        ("report_due", "zalo"), ("transfer_escalation", "telegram"), ("transfer_escalation", "zalo")]
    # Zalo unlinked: rather than nowhere, the reminders go to the channels still linked.
    await LinkService(office, SYSTEM, clock).unlink("lan.syt", "zalo")
    clock.advance(dt.timedelta(days=1))
    async with office.write() as repos:
        await enqueue(repos, clock, [Due("report_due", lan.account_id, "report", "SYT:2026-H1",
                                         dt.date(2026, 6, 16), {})], WorkingCalendar())
    async with office.read() as repos:
        last = (await repos.session.scalars(select(Outbox).order_by(Outbox.id.desc()))).first()
    assert last is not None and (last.kind, last.channel) == ("report_due", "telegram")


async def test_a_revoked_account_receives_nothing_more_on_zalo(office: UnitOfWork, clock: FrozenClock) -> None:
    await (await zalo(office, clock)).consume((await LinkService(office, SYSTEM, clock).issue("lan.syt", "zalo")).code)
    lan = await load_actor(office, "telegram", 501)
    assert lan.account_id is not None
    async with office.write() as repos:
        await enqueue(repos, clock, [due(lan.account_id)], WorkingCalendar(), immediate=True)
    await AccountService(office, SYSTEM, clock).revoke("lan.syt", "11/CV-SNV")
    async with office.write() as repos:
        claimed = await repos.outbox.claim("zalo-sender", clock.now(), 10, channel="zalo")
        assert [row.address for row in claimed] == [ZALO_USER]
        assert await repos.outbox.start_sending(claimed[0].id, "zalo-sender", 1) is False
    async with office.read() as repos:
        row = await repos.session.get(Outbox, claimed[0].id)
    assert row is not None and row.status == "dropped"
