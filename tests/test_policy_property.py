"""Property tests of the unit-scope policy: random unit trees, accounts, extensions, moves and merges.

Every decision of `policy.can`, made on an actor loaded from the database (`identity.load_actor`,
whose scope is a list of materialised paths), is compared with an oracle that knows nothing about
paths: it keeps its own child -> parent map, replays the same moves and merges on it, and allows an
action on a unit iff walking up the parent links from that unit reaches the account's unit or one
of the units its scope was extended to.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st

from services.accounts.service import AccountService
from services.core.actor import AccountStatus, Actor, Role
from services.core.clock import FrozenClock
from services.core.errors import InvalidInput
from services.core.identity import load_actor
from services.core.policy import Action, can
from services.custody.merge import UnitMerge
from services.platform.units import UnitService
from storage import Database, UnitOfWork

AT = dt.datetime(2026, 7, 1, 2, 0, tzinfo=dt.UTC)
CHECKED = (Action.VIEW_DOSSIER, Action.EDIT_DOSSIER)
ROLES = (Role.CLERK, Role.MANAGER)
FIRST_TELEGRAM_ID = 7000


# -- the plan of one example --------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountPlan:
    username: str
    role: Role
    unit: str
    telegram_user_id: int


@dataclass(frozen=True)
class Plan:
    parents: tuple[tuple[str, str | None], ...]  # (code, parent code) in creation order; the root first
    accounts: tuple[AccountPlan, ...]
    extensions: tuple[tuple[str, str], ...]  # (username, unit code)
    operations: tuple[tuple[str, str, str], ...]  # ("move", unit, new parent) or ("merge", old, into)

    def describe(self) -> str:
        tree = ", ".join(f"{code}<-{parent}" if parent else f"{code} (root)" for code, parent in self.parents)
        accounts = ", ".join(f"{a.username}={a.role.value}@{a.unit}" for a in self.accounts)
        extensions = ", ".join(f"{u}+{code}" for u, code in self.extensions) or "none"
        return f"tree: {tree}\naccounts: {accounts}\nextensions: {extensions}"


def unit_code(index: int) -> str:
    return f"U{index}"


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    size = draw(st.integers(min_value=2, max_value=12), label="units")
    parents: list[tuple[str, str | None]] = [(unit_code(0), None)]
    for index in range(1, size):
        parents.append((unit_code(index), unit_code(draw(st.integers(0, index - 1)))))
    codes = [code for code, _ in parents]
    unit = st.sampled_from(codes)

    accounts = tuple(
        AccountPlan(f"acct{number}", draw(st.sampled_from(ROLES)), draw(unit), FIRST_TELEGRAM_ID + number)
        for number in range(draw(st.integers(min_value=1, max_value=4), label="accounts"))
    )
    usernames = [account.username for account in accounts]
    extensions = tuple(draw(st.lists(st.tuples(st.sampled_from(usernames), unit), max_size=3)))
    # Raw operations: whether each one is legal depends on the tree as the earlier ones left it, so
    # the scenario decides that against the oracle and expects the service to refuse the others.
    # Half the picks favour the units that accounts hold or were extended to, where it matters most.
    held = sorted({account.unit for account in accounts} | {code for _, code in extensions})
    pick = st.one_of(st.sampled_from(held), unit)
    operation = st.tuples(st.sampled_from(("move", "merge")), pick, pick)
    operations = tuple(draw(st.lists(operation, max_size=4)))
    return Plan(tuple(parents), accounts, extensions, operations)


# -- the oracle ---------------------------------------------------------------------------------------


@dataclass
class Oracle:
    """The organisation as plain parent links: no paths, no database."""

    parent: dict[str, str | None]
    active: dict[str, bool] = field(default_factory=dict)
    home: dict[str, str] = field(default_factory=dict)  # username -> unit code
    role: dict[str, Role] = field(default_factory=dict)
    extra: dict[str, set[str]] = field(default_factory=dict)  # username -> extension unit codes

    def ancestors_or_self(self, code: str) -> list[str]:
        chain: list[str] = []
        current: str | None = code
        while current is not None:
            assert current not in chain, f"oracle tree has a cycle through {current}"
            chain.append(current)
            current = self.parent[current]
        return chain

    def inside(self, code: str, top: str) -> bool:
        """Is `code` the unit `top` or one of its descendants?"""
        return top in self.ancestors_or_self(code)

    def may_move(self, code: str, new_parent: str) -> bool:
        return self.active[code] and self.active[new_parent] and not self.inside(new_parent, code)

    def may_merge(self, old: str, into: str) -> bool:
        return self.active[old] and self.active[into] and not self.inside(into, old)

    def move(self, code: str, new_parent: str) -> None:
        self.parent[code] = new_parent

    def merge(self, old: str, into: str) -> None:
        for child, parent in list(self.parent.items()):
            if parent == old:
                self.parent[child] = into
        for username, unit in self.home.items():
            if unit == old:
                self.home[username] = into
        for units in self.extra.values():
            if old in units and into not in units:
                units.discard(old)
                units.add(into)
        self.active[old] = False

    def allows(self, username: str, action: Action, target: str) -> bool:
        if action is Action.EDIT_DOSSIER and self.role[username] is not Role.CLERK:
            return False
        reach = {self.home[username], *self.extra[username]}
        return any(unit in reach for unit in self.ancestors_or_self(target))


# -- one scenario ---------------------------------------------------------------------------------------


async def scenario(plan: Plan, directory: str) -> None:
    database = Database(f"sqlite+aiosqlite:///{directory}/p.db")
    try:
        await database.upgrade()
        await run(plan, UnitOfWork(database))
    finally:
        await database.dispose()


async def run(plan: Plan, uow: UnitOfWork) -> None:
    clock, operator = FrozenClock(AT), Actor.system()
    units, accounts = UnitService(uow, operator, clock), AccountService(uow, operator, clock)
    merges = UnitMerge(uow, operator, clock)
    oracle = Oracle(parent=dict(plan.parents), active={code: True for code, _ in plan.parents})

    # 1. The tree.
    for code, parent in plan.parents:
        await units.add(code, f"Unit {code}", parent)

    # 2. The accounts, bound to their Telegram users and active; then the extensions.
    for account in plan.accounts:
        await accounts.issue(account.username, account.unit, account.role.value, f"Person {account.username}",
                             "CV 1/2026")
        async with uow.write() as repos:
            row = await repos.accounts.by_username(account.username)
            row.status = AccountStatus.ACTIVE.value
            await repos.identities.bind(row.id, "telegram", str(account.telegram_user_id), clock.now())
        oracle.home[account.username], oracle.role[account.username] = account.unit, account.role
        oracle.extra[account.username] = set()
    for username, code in plan.extensions:
        await accounts.extend(username, code, "CV 2/2026")
        oracle.extra[username].add(code)

    # 3. The moves and merges: the legal ones are applied to both; the service must refuse the others.
    log: list[str] = []
    for kind, first, second in plan.operations:
        legal = oracle.may_move(first, second) if kind == "move" else oracle.may_merge(first, second)
        step = f"{kind} {first} -> {second}"
        if not legal:
            try:
                await (units.move(first, second) if kind == "move" else merges.merge(first, second))
            except InvalidInput:
                log.append(f"{step} (refused)")
                continue
            raise AssertionError(f"the service accepted the illegal {step}\n{plan.describe()}\n"
                                 f"operations: {'; '.join(log + [step])}")
        if kind == "move":
            await units.move(first, second)
            oracle.move(first, second)
        else:
            await merges.merge(first, second)
            oracle.merge(first, second)
        log.append(step)

    context = f"{plan.describe()}\noperations: {'; '.join(log) or 'none'}"
    note(context)

    # 4. The tree the database holds is the oracle's; then every account x unit x action.
    async with uow.read() as repos:
        stored = await repos.units.subtree("/")
    by_id = {unit.id: unit for unit in stored}
    assert {unit.code: by_id[unit.parent_id].code if unit.parent_id else None for unit in stored} == oracle.parent, (
        f"the stored tree is not the oracle's\n{context}")
    for unit in stored:
        parent_path = by_id[unit.parent_id].path if unit.parent_id else "/"
        assert unit.path == f"{parent_path}{unit.id}/", f"unit {unit.code} has the stale path {unit.path}\n{context}"
        assert (unit.status == "active") == oracle.active[unit.code], f"unit {unit.code} is {unit.status}\n{context}"

    disagreements: list[str] = []
    for account in plan.accounts:
        actor = await load_actor(uow, "telegram", account.telegram_user_id)
        username = account.username
        assert actor.unit_code == oracle.home[username], (
            f"{username} belongs to {actor.unit_code}, the oracle says {oracle.home[username]}\n{context}")
        for unit in stored:
            for action in CHECKED:
                product, expected = can(actor, action, unit.path), oracle.allows(username, action, unit.code)
                if product != expected:
                    disagreements.append(
                        f"{username} ({account.role.value}, unit {oracle.home[username]}, extensions "
                        f"{sorted(oracle.extra[username]) or '-'}; actor scope {actor.scope_paths}) "
                        f"{action.value} on {unit.code} ({unit.status}, path {unit.path}): "
                        f"can={product}, oracle={expected}")
    assert not disagreements, "policy.can disagrees with the oracle:\n" + "\n".join(disagreements) + f"\n{context}"


def _accounts(*specs: tuple[Role, str]) -> tuple[AccountPlan, ...]:
    return tuple(AccountPlan(f"acct{n}", role, unit, FIRST_TELEGRAM_ID + n) for n, (role, unit) in enumerate(specs))


# Cases random draws reach only now and then, run on every test run.
MERGE_WITH_EXTENSIONS = Plan(  # an account extended to both old and into; children and a home move
    parents=(("U0", None), ("U1", "U0"), ("U2", "U0"), ("U3", "U1")),
    accounts=_accounts((Role.CLERK, "U1"), (Role.MANAGER, "U3"), (Role.CLERK, "U0")),
    extensions=(("acct1", "U1"), ("acct1", "U2"), ("acct0", "U3")),
    operations=(("merge", "U1", "U2"),),
)
MOVES_AND_MERGE_INTO_ROOT = Plan(  # an extended subtree moves, its new parent merges into the root
    parents=(("U0", None), ("U1", "U0"), ("U2", "U1"), ("U3", "U2"), ("U4", "U0")),
    accounts=_accounts((Role.CLERK, "U4"), (Role.MANAGER, "U2")),
    extensions=(("acct0", "U2"),),
    operations=(("move", "U2", "U4"), ("merge", "U4", "U0"), ("move", "U1", "U3"), ("move", "U3", "U3")),
)
WIDE = Plan(  # ids 2 and 12 side by side: /1/2/ must not cover /1/12/
    parents=(("U0", None), *((unit_code(i), "U0") for i in range(1, 12))),
    accounts=_accounts((Role.CLERK, "U1"), (Role.MANAGER, "U11")),
    extensions=(("acct0", "U10"),),
    operations=(("merge", "U11", "U1"), ("move", "U2", "U1")),
)


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plan=plans())
@example(plan=MERGE_WITH_EXTENSIONS)
@example(plan=MOVES_AND_MERGE_INTO_ROOT)
@example(plan=WIDE)
def test_can_agrees_with_walking_up_the_tree(plan: Plan) -> None:
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(scenario(plan, directory))


# -- plain cases ----------------------------------------------------------------------------------------


async def test_restricted_account_may_view_but_not_edit_and_anonymous_nothing(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/p.db")
    await database.upgrade()
    try:
        uow, clock, operator = UnitOfWork(database), FrozenClock(AT), Actor.system()
        units = UnitService(uow, operator, clock)
        await units.add("ROOT", "Root")
        await units.add("A", "A", "ROOT")
        await units.add("B", "B", "ROOT")
        await AccountService(uow, operator, clock).issue("clerk.a", "A", Role.CLERK.value, "Clerk A", "CV 1/2026")
        async with uow.write() as repos:
            row = await repos.accounts.by_username("clerk.a")
            row.status = AccountStatus.RESTRICTED.value
            await repos.identities.bind(row.id, "telegram", "501", clock.now())
            paths = {code: (await repos.units.by_code(code)).path for code in ("ROOT", "A", "B")}

        restricted = await load_actor(uow, "telegram", 501)
        assert restricted.restricted and restricted.role is Role.CLERK
        assert can(restricted, Action.VIEW_DOSSIER, paths["A"])
        assert not can(restricted, Action.EDIT_DOSSIER, paths["A"])
        assert not can(restricted, Action.VIEW_DOSSIER, paths["B"])
        assert not can(restricted, Action.VIEW_DOSSIER, paths["ROOT"])

        for anonymous in (await load_actor(uow, "telegram", 999), await load_actor(uow, "telegram", None), Actor.anonymous("telegram", 5)):
            assert anonymous.is_anonymous
            for action in Action:
                for target in (None, "/", *paths.values()):
                    assert not can(anonymous, action, target), (anonymous, action, target)
    finally:
        await database.dispose()


@pytest.mark.parametrize("status", [AccountStatus.PENDING, AccountStatus.LOCKED, AccountStatus.REVOKED])
def test_statuses_without_a_role_may_do_nothing(status: AccountStatus) -> None:
    actor = Actor(channel="telegram", address="1", account_id=1, username="x", role=None, unit_path="/1/", scope_paths=("/1/",),
                  status=status)
    assert not any(can(actor, action, "/1/") for action in Action)
