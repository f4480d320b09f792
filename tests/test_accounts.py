"""Accounts and units as services, on a real SQLite: issuing, activation, passwords, lockout,
sessions, the admin's commands, the unit tree, and the audit they leave."""

from __future__ import annotations

import datetime as dt

import pytest

from services.accounts.service import AccountService, ActivationRefused, code_hash
from services.accounts.subaccounts import SubAccountService
from services.core.actor import Actor
from services.core.clock import FrozenClock
from services.core.errors import InvalidInput, PermissionDenied
from services.core.identity import load_actor
from services.core.policy import Action, can
from services.custody.merge import UnitMerge
from services.platform.sessions import SessionExpired
from services.platform.units import UnitService
from storage import UnitOfWork
from tests.conftest import BINDING

SYSTEM = Actor.system()
PASSWORD = "mat-khau-2026"


async def tree(uow: UnitOfWork, clock: FrozenClock) -> UnitService:
    units = UnitService(uow, SYSTEM, clock)
    await units.add("CT", "UBND thành phố Cần Thơ")
    await units.add("SNV", "Sở Nội vụ", "CT")
    await units.add("SYT", "Sở Y tế", "CT")
    await units.add("BV", "Bệnh viện Đa khoa", "SYT")
    await units.add("STC", "Sở Tài chính", "CT")
    return units


async def sign_in(uow: UnitOfWork, clock: FrozenClock, username: str, unit: str, role: str, telegram_id: int,
                  personal_id: str | None = None) -> Actor:
    issued = await AccountService(uow, SYSTEM, clock).issue(username, unit, role, username.title(), "01/CV 01/07/2026",
                                                            personal_id=personal_id)
    channel = BINDING["channel"]  # a flow over the web transport binds its users there
    await AccountService(uow, await load_actor(uow, channel, telegram_id), clock).activate(issued.activation_code)
    await AccountService(uow, await load_actor(uow, channel, telegram_id), clock).choose_first_password(PASSWORD)
    return await load_actor(uow, channel, telegram_id)


async def audit_actions(uow: UnitOfWork) -> list[str]:
    async with uow.read() as repos:
        return [event.action for event in await repos.audit.search(limit=1000)][::-1]


@pytest.fixture
async def units(uow: UnitOfWork, clock: FrozenClock) -> UnitService:
    return await tree(uow, clock)


async def test_issue_stores_only_a_hash_of_the_code(uow: UnitOfWork, clock: FrozenClock, units: UnitService) -> None:
    issued = await AccountService(uow, SYSTEM, clock).issue("lan.syt", "SYT", "clerk", "Trần Thị Lan", "45/CV-SYT")
    assert issued.expires_at == clock.now() + dt.timedelta(hours=72)
    async with uow.read() as repos:
        account = await repos.accounts.by_username("lan.syt")
    assert account.activation_code_hash == code_hash(issued.activation_code)
    assert issued.activation_code not in str(vars(account))
    assert account.status == "pending" and account.request_ref == "45/CV-SYT"


@pytest.mark.parametrize(
    ("field", "args"),
    [
        ("username", ("Bad Name", "SYT", "clerk", "X", "r")),
        ("unit", ("good.name", "NOPE", "clerk", "X", "r")),
        ("role", ("good.name", "SYT", "boss", "X", "r")),
        ("name", ("good.name", "SYT", "clerk", "  ", "r")),
        ("request", ("good.name", "SYT", "clerk", "X", "")),
    ],
)
async def test_issue_names_the_bad_field(uow: UnitOfWork, clock: FrozenClock, units: UnitService,
                                         field: str, args: tuple[str, ...]) -> None:
    with pytest.raises(InvalidInput) as caught:
        await AccountService(uow, SYSTEM, clock).issue(*args)
    assert caught.value.field == field


async def test_activation_binds_once(uow: UnitOfWork, clock: FrozenClock, units: UnitService) -> None:
    issued = await AccountService(uow, SYSTEM, clock).issue("lan.syt", "SYT", "clerk", "Trần Thị Lan", "45/CV")
    view = await AccountService(uow, Actor.anonymous("telegram", 501), clock).activate(issued.activation_code)
    assert view.username == "lan.syt"
    pending = await load_actor(uow, "telegram", 501)
    assert pending.pending_password and pending.is_anonymous  # no rights before a password
    with pytest.raises(ActivationRefused):  # a second use, from another Telegram user
        await AccountService(uow, Actor.anonymous("telegram", 502), clock).activate(issued.activation_code)
    await AccountService(uow, pending, clock).choose_first_password(PASSWORD)
    actor = await load_actor(uow, "telegram", 501)
    assert actor.role == "clerk" and not actor.is_anonymous and actor.unit_code == "SYT"
    assert "auth.activation_refused" in await audit_actions(uow)


async def test_wrong_and_expired_codes_are_refused(uow: UnitOfWork, clock: FrozenClock, units: UnitService) -> None:
    issued = await AccountService(uow, SYSTEM, clock).issue("lan.syt", "SYT", "clerk", "Trần Thị Lan", "45/CV")
    with pytest.raises(ActivationRefused):
        await AccountService(uow, Actor.anonymous("telegram", 501), clock).activate("not-the-code")
    clock.advance(dt.timedelta(hours=72, seconds=1))
    with pytest.raises(ActivationRefused):
        await AccountService(uow, Actor.anonymous("telegram", 501), clock).activate(issued.activation_code)


async def test_short_first_password_is_refused(uow: UnitOfWork, clock: FrozenClock, units: UnitService) -> None:
    issued = await AccountService(uow, SYSTEM, clock).issue("lan.syt", "SYT", "clerk", "Trần Thị Lan", "45/CV")
    await AccountService(uow, Actor.anonymous("telegram", 501), clock).activate(issued.activation_code)
    with pytest.raises(InvalidInput) as caught:
        await AccountService(uow, await load_actor(uow, "telegram", 501), clock).choose_first_password("short")
    assert caught.value.field == "password"


async def test_five_wrong_passwords_lock_until_the_admin_unlocks(
    uow: UnitOfWork, clock: FrozenClock, units: UnitService
) -> None:
    actor = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    service = AccountService(uow, actor, clock)
    for attempt in range(1, 5):
        check = await service.confirm_password("wrong-password")
        assert not check.ok and check.attempts_left == 5 - attempt and not check.locked
    check = await service.confirm_password("wrong-password")
    assert check.locked
    assert (await load_actor(uow, "telegram", 501)).is_anonymous  # a locked account grants nothing
    actions = await audit_actions(uow)
    assert actions.count("auth.failure") == 5 and "account.locked" in actions
    with pytest.raises(InvalidInput):  # only a locked account can be unlocked
        await AccountService(uow, SYSTEM, clock).restore("lan.syt")
    await AccountService(uow, SYSTEM, clock).unlock("lan.syt")
    actor = await load_actor(uow, "telegram", 501)
    assert actor.role == "clerk"
    assert (await AccountService(uow, actor, clock).confirm_password(PASSWORD)).ok


async def test_an_idle_session_asks_for_the_password_again(uow: UnitOfWork, clock: FrozenClock) -> None:
    await tree(uow, clock)
    admin = await sign_in(uow, clock, "hoa.snv", "SNV", "admin", 900)
    units = UnitService(uow, admin, clock)
    await units.rename("STC", "Sở Tài chính thành phố Cần Thơ")  # fresh: allowed
    clock.advance(dt.timedelta(minutes=31))
    with pytest.raises(SessionExpired):
        await units.rename("STC", "Sở Tài chính")
    assert (await AccountService(uow, admin, clock).confirm_password(PASSWORD)).ok
    await units.rename("STC", "Sở Tài chính")


async def test_restricted_reads_but_does_not_write_revoked_does_nothing(
    uow: UnitOfWork, clock: FrozenClock, units: UnitService
) -> None:
    clerk = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    async with uow.read() as repos:
        bv_path = (await repos.units.by_code("BV")).path
    assert can(clerk, Action.EDIT_DOSSIER, bv_path)
    await AccountService(uow, SYSTEM, clock).restrict("lan.syt", "07/QĐ-SNV")
    clerk = await load_actor(uow, "telegram", 501)
    assert can(clerk, Action.VIEW_DOSSIER, bv_path) and not can(clerk, Action.EDIT_DOSSIER, bv_path)
    await AccountService(uow, SYSTEM, clock).restore("lan.syt")
    await AccountService(uow, SYSTEM, clock).revoke("lan.syt", "08/QĐ-SNV")
    clerk = await load_actor(uow, "telegram", 501)
    assert clerk.is_anonymous and not can(clerk, Action.VIEW_DOSSIER, bv_path)
    actions = await audit_actions(uow)
    assert {"account.restrict", "account.restore", "account.revoke"} <= set(actions)


async def test_scope_is_the_unit_subtree_and_its_extensions(
    uow: UnitOfWork, clock: FrozenClock, units: UnitService
) -> None:
    clerk = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    async with uow.read() as repos:
        paths = {code: (await repos.units.by_code(code)).path for code in ("SYT", "BV", "STC", "SNV")}
    assert can(clerk, Action.EDIT_DOSSIER, paths["BV"])
    assert not can(clerk, Action.VIEW_DOSSIER, paths["STC"])  # unit A's clerk, unit B's dossier
    await AccountService(uow, SYSTEM, clock).extend("lan.syt", "STC", "09/QĐ-SNV")
    clerk = await load_actor(uow, "telegram", 501)
    assert can(clerk, Action.EDIT_DOSSIER, paths["STC"]) and not can(clerk, Action.VIEW_DOSSIER, paths["SNV"])


async def test_a_manager_may_not_write_anything(uow: UnitOfWork, clock: FrozenClock, units: UnitService) -> None:
    manager = await sign_in(uow, clock, "minh.syt", "SYT", "manager", 601)
    async with uow.read() as repos:
        syt = (await repos.units.by_code("SYT")).path
    assert can(manager, Action.VIEW_DOSSIER, syt)
    for action in (Action.EDIT_DOSSIER, Action.REQUEST_TRANSFER, Action.REQUEST_SUBACCOUNT, Action.MANAGE_UNITS):
        assert not can(manager, action, syt)
    with pytest.raises(PermissionDenied):
        await UnitService(uow, manager, clock).add("X1", "X")
    with pytest.raises(PermissionDenied):
        await AccountService(uow, manager, clock).issue("x.y", "SYT", "clerk", "X", "r")
    with pytest.raises(PermissionDenied):
        await SubAccountService(uow, manager, clock).request("BV", "x.bv", "X", "clerk", "r")


async def test_reset_issues_a_new_code_and_unbinds(uow: UnitOfWork, clock: FrozenClock, units: UnitService) -> None:
    await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    with pytest.raises(InvalidInput) as caught:
        await AccountService(uow, SYSTEM, clock).reset("lan.syt", "")
    assert caught.value.field == "request"
    issued = await AccountService(uow, SYSTEM, clock).reset("lan.syt", "10/CV-SYT")
    assert (await load_actor(uow, "telegram", 501)).account_id is None
    await AccountService(uow, Actor.anonymous("telegram", 777), clock).activate(issued.activation_code)
    await AccountService(uow, await load_actor(uow, "telegram", 777), clock).choose_first_password("mat-khau-moi-2026")
    assert (await load_actor(uow, "telegram", 777)).username == "lan.syt"


async def test_logout_unbinds(uow: UnitOfWork, clock: FrozenClock, units: UnitService) -> None:
    actor = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    await AccountService(uow, actor, clock).logout()
    assert (await load_actor(uow, "telegram", 501)).account_id is None


async def test_subaccount_request_and_approval(uow: UnitOfWork, clock: FrozenClock, units: UnitService) -> None:
    clerk = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    requests = SubAccountService(uow, clerk, clock)
    with pytest.raises(InvalidInput):  # its own unit is not subordinate
        await requests.request("SYT", "an.syt", "An", "clerk", "11/CV-SYT")
    with pytest.raises(PermissionDenied):  # another branch of the tree
        await requests.request("STC", "an.stc", "An", "clerk", "11/CV-SYT")
    request = await requests.request("BV", "an.bv", "Phạm Văn An", "clerk", "11/CV-SYT")
    office = SubAccountService(uow, SYSTEM, clock)
    assert [r.username for r in await office.pending()] == ["an.bv"]
    with pytest.raises(InvalidInput):
        await office.approve(request.id, " ")
    issued = await office.approve(request.id, "12/SNV-TCCB 02/07/2026")
    assert issued.username == "an.bv" and await office.pending() == []
    async with uow.read() as repos:
        account = await repos.accounts.by_username("an.bv")
    assert account.status == "pending" and "12/SNV-TCCB" in account.request_ref


async def test_units_move_and_merge_keep_history(uow: UnitOfWork, clock: FrozenClock, units: UnitService) -> None:
    await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    with pytest.raises(InvalidInput):
        await units.move("SYT", "BV")  # under its own subunit
    moved = await units.move("BV", "SNV")
    async with uow.read() as repos:
        snv, bv = await repos.units.by_code("SNV"), await repos.units.by_code("BV")
    assert moved.parent_code == "SNV" and bv.path == f"{snv.path}{bv.id}/"

    await units.move("BV", "SYT")
    result = await UnitMerge(uow, SYSTEM, clock).merge("SYT", "SNV")
    assert (result.accounts, result.units) == (1, 1)
    async with uow.read() as repos:
        syt, bv, snv = [await repos.units.by_code(code) for code in ("SYT", "BV", "SNV")]
    assert syt.status == "merged" and syt.merged_into_id == snv.id  # kept, not deleted
    assert bv.path.startswith(snv.path)
    assert (await load_actor(uow, "telegram", 501)).unit_code == "SNV"
    actions = await audit_actions(uow)
    assert actions.count("unit.merge.move") == 2 and "unit.merge" in actions
    with pytest.raises(InvalidInput):
        await units.rename("SYT", "Không được")  # a merged unit takes no changes
