"""Repositories: the only place that speaks SQL. They take and return ORM rows inside one session."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CursorResult,
    Row,
    String,
    Table,
    and_,
    bindparam,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from storage.database import SIGN_INS_CHANGED
from storage.models import (
    Account,
    AccountScope,
    AppSetting,
    ChannelIdentity,
    Dossier,
    DossierRecord,
    FsmRecord,
    OrgUnit,
    ReferenceItem,
    SubAccountRequest,
    UserPreference,
)


async def _upsert(
    session: AsyncSession,
    model: type,
    values: dict[str, Any],
    key: str | tuple[str, ...],
    update: Iterable[str] | None = None,
) -> None:
    """Run INSERT … ON CONFLICT (key) DO UPDATE of `update` (default: every other column), in the dialect of
    the session's database. `key`: a column, or the columns of a composite key."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    keys = (key,) if isinstance(key, str) else key
    columns = tuple(update) if update is not None else tuple(name for name in values if name not in keys)
    await session.execute(_upsert_statement(dialect, model, keys, columns), values)


@lru_cache(maxsize=64)
def _upsert_statement(dialect: str, model: type, keys: tuple[str, ...], columns: tuple[str, ...]) -> Any:
    """Built once per shape and run with the row as its parameters: a conversation's state is written this way
    on most updates, and building the statement costs more than running it."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table_of(model))
    return statement.on_conflict_do_update(index_elements=list(keys),
                                           set_={name: statement.excluded[name] for name in columns})


# A dossier's two units, aliased once: an alias built per query costs more than the query's own SQL.
CUSTODIAN_UNIT = aliased(OrgUnit, name="custodian")
WORKING_UNIT = aliased(OrgUnit, name="working")
# A card's dossier and its two units, read on every card opened: built once, as `_ACTING` below.
_WITH_UNITS = (
    select(Dossier, CUSTODIAN_UNIT, WORKING_UNIT)
    .join(CUSTODIAN_UNIT, CUSTODIAN_UNIT.id == Dossier.custodian_unit_id)
    .join(WORKING_UNIT, WORKING_UNIT.id == Dossier.working_unit_id)
    .where(Dossier.id == bindparam("dossier"))
)


def under(path: Any, prefixes: Sequence[str]) -> ColumnElement[bool]:
    """SQL for "the unit path starts with one of these prefixes": the list form of `policy.can`."""
    if not prefixes:
        return false()
    if "/" in prefixes:
        return true()
    return or_(*(path.startswith(prefix, autoescape=True) for prefix in prefixes))


# The channel of every address known before there were channels, and of the terminal chat, which plays a
# Telegram user: the notices and the outbox (its chat ids) still go to Telegram addresses.
TELEGRAM = "telegram"


async def run_shared(session: AsyncSession, statement: Any) -> Any:
    """A statement over the whole table, run to its end (PostgreSQL gives parallel workers only to those, never
    to one fetched in batches), with the rows the workers pass up not weighed against the work they share. The
    planner would keep a scan of 2 million dossiers on one core for the cost it puts on passing rows up, the
    expressions tested on each row weighing more: measured, the statistics' aggregate took 2,3 s shared
    against 3,9 s alone, the inspection's rules 2,3 s against 4,7 s."""
    if session.bind is None or session.bind.dialect.name != "postgresql":
        return await session.execute(statement)
    await session.execute(text("SET LOCAL parallel_tuple_cost = 0"))
    result = await session.execute(statement)  # a failure ends the transaction, and the setting with it
    await session.execute(text("SET LOCAL parallel_tuple_cost TO DEFAULT"))
    return result


def live_identity(channel: str | BindParameter[str]) -> ColumnElement[bool]:
    """SQL joining an account to its live identity on `channel` (ChannelIdentity.address is then its address
    there): `select(…).join(ChannelIdentity, live_identity(TELEGRAM))` keeps the accounts bound there."""
    return and_(ChannelIdentity.account_id == Account.id, ChannelIdentity.channel == channel,
                ChannelIdentity.revoked_at.is_(None))


# What recognising the sender of an update reads (`AccountRepository.acting`; the web chat reads the same with a
# session, storage/web_sessions.py): the account, its unit, the locale chosen on the channel (`preferred`, from
# UserPreference joined on the identity) and whether its scope was extended. The statements read on every
# update are built once, with bound parameters: building one costs more than running it.
ACTING_COLUMNS = (
    Account.id, Account.username, Account.full_name, Account.role, Account.status, Account.locale,
    Account.personal_id, OrgUnit.id.label("unit_id"), OrgUnit.code.label("unit_code"),
    OrgUnit.name.label("unit_name"), OrgUnit.path.label("unit_path"), UserPreference.locale.label("preferred"),
    select(AccountScope.id).where(AccountScope.account_id == Account.id).exists().label("extended"),
)
CHOSEN_LOCALE = and_(UserPreference.channel == ChannelIdentity.channel,
                     UserPreference.address == ChannelIdentity.address)
_ACTING = (
    select(*ACTING_COLUMNS)
    .join(ChannelIdentity, live_identity(bindparam("channel")))
    .join(OrgUnit, OrgUnit.id == Account.unit_id)
    .outerjoin(UserPreference, CHOSEN_LOCALE)
    .where(ChannelIdentity.address == bindparam("address"))
)


def table_of(model: type[Any]) -> Table:
    """The Table of a mapped class: the declarative stubs type `__table__` as a FromClause, though for
    a class mapped to one table, as all of ours are, it is always a Table."""
    return cast(Table, model.__table__)


_ACCOUNT = table_of(Account)
# On the table, not the mapped class: the same SQL without the ORM's bulk-update bookkeeping, on the path of every
# sensitive action. Its parameters' names are no column's: an UPDATE would take such a key for a SET value.
_EXTEND_SESSION = (
    update(_ACCOUNT)
    .where(_ACCOUNT.c.id == bindparam("account"), _ACCOUNT.c.last_active_at.is_not(None),
           _ACCOUNT.c.last_active_at >= bindparam("since"))
    .values(last_active_at=bindparam("at"), last_seen_at=bindparam("at"))  # the last use, which outlives a sign-out
)


class _Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session


class SettingRepository(_Repository):
    async def get(self, key: str) -> dict[str, Any] | None:
        row = await self.session.get(AppSetting, key)
        return None if row is None else row.value

    async def put(self, key: str, value: dict[str, Any], now: dt.datetime) -> None:
        await _upsert(self.session, AppSetting, {"key": key, "value": value, "updated_at": now}, "key")

    async def take_turn(self, key: str) -> None:
        """Until this transaction ends, others taking the turn of the same key wait: on PostgreSQL a
        transaction-scoped advisory lock; SQLite's write transactions already take turns (BEGIN IMMEDIATE)."""
        if self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


class UnitRepository(_Repository):
    async def get(self, unit_id: int) -> OrgUnit | None:
        return await self.session.get(OrgUnit, unit_id)

    async def by_code(self, code: str) -> OrgUnit | None:
        return await self.session.scalar(select(OrgUnit).where(OrgUnit.code == code))

    async def add(self, unit: OrgUnit) -> OrgUnit:
        """Insert a unit and derive its materialised path from its parent."""
        self.session.add(unit)
        await self.session.flush()
        parent_path = "/"
        if unit.parent_id is not None:
            parent = await self.session.get(OrgUnit, unit.parent_id)
            if parent is None:
                raise LookupError(f"parent unit {unit.parent_id} does not exist")
            parent_path = parent.path
        unit.path = f"{parent_path}{unit.id}/"
        await self.session.flush()
        return unit

    async def subtree(self, path: str) -> Sequence[OrgUnit]:
        query = select(OrgUnit).where(OrgUnit.path.startswith(path)).order_by(OrgUnit.path)
        return (await self.session.scalars(query)).all()

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(OrgUnit)) or 0)

    async def reparent(self, unit: OrgUnit, parent: OrgUnit) -> None:
        """Hang `unit` under `parent`, rewriting the paths of its whole subtree in one statement."""
        old_prefix, new_prefix = unit.path, f"{parent.path}{unit.id}/"
        unit.parent_id = parent.id
        await self.session.flush()
        await self.session.execute(
            update(OrgUnit)
            .where(OrgUnit.path.startswith(old_prefix, autoescape=True))
            .values(path=literal(new_prefix, String) + func.substr(OrgUnit.path, len(old_prefix) + 1))
            .execution_options(synchronize_session=False)
        )
        # Units already loaded follow the statement, so this session sees the tree as it now is.
        for loaded in list(self.session.identity_map.values()):
            if isinstance(loaded, OrgUnit) and loaded.path.startswith(old_prefix):
                set_committed_value(loaded, "path", new_prefix + loaded.path[len(old_prefix):])

    async def merge_into(self, old: OrgUnit, into: OrgUnit, today: dt.date) -> dict[str, list[str]]:
        """Move to `into` what `old` has, except custody of its dossiers (the caller moves it, with its
        events); return the ids concerned, by kind. `old` stays, as merged."""
        moved: dict[str, list[str]] = {}
        held = (Dossier.custodian_unit_id == old.id) | (Dossier.working_unit_id == old.id)
        moved["dossier"] = [str(i) for i in (await self.session.scalars(select(Dossier.id).where(held))).all()]
        # Custody moves through the transfer service (one event per dossier); the working unit here.
        await self.session.execute(update(Dossier).where(Dossier.working_unit_id == old.id)
                                   .values(working_unit_id=into.id))
        moved["account"] = [a.username for a in (await self.session.scalars(
            select(Account).where(Account.unit_id == old.id))).all()]
        await self.session.execute(update(Account).where(Account.unit_id == old.id).values(unit_id=into.id))
        already = select(AccountScope.account_id).where(AccountScope.unit_id == into.id)
        await self.session.execute(
            update(AccountScope)
            .where(AccountScope.unit_id == old.id, AccountScope.account_id.not_in(already))
            .values(unit_id=into.id)
        )
        pending = (SubAccountRequest.unit_id == old.id) & (SubAccountRequest.status == "pending")
        moved["subaccount_request"] = [str(i) for i in (await self.session.scalars(
            select(SubAccountRequest.id).where(pending))).all()]
        await self.session.execute(update(SubAccountRequest).where(pending).values(unit_id=into.id))
        children = (await self.session.scalars(select(OrgUnit).where(OrgUnit.parent_id == old.id))).all()
        moved["unit"] = [child.code for child in children]
        for child in children:
            await self.reparent(child, into)
        old.status, old.merged_into_id, old.valid_to = "merged", into.id, today
        await self.session.flush()
        return moved


class AccountRepository(_Repository):
    async def get(self, account_id: int) -> Account | None:
        return await self.session.get(Account, account_id)

    async def extend_session(self, account_id: int, now: dt.datetime, idle: dt.timedelta) -> bool:
        """Move the session's last activity to `now` if it was within `idle`: one statement, False when stale."""
        # An UPDATE's result is a CursorResult (it has rowcount); AsyncSession.execute is typed as Result.
        result = cast(CursorResult[Any], await self.session.execute(
            _EXTEND_SESSION, {"account": account_id, "at": now, "since": now - idle}))
        return bool(result.rowcount)

    async def by_username(self, username: str) -> Account | None:
        return await self.session.scalar(select(Account).where(Account.username == username))

    async def by_identity(self, channel: str, address: str) -> tuple[Account, OrgUnit] | None:
        found = await self.signed_in(channel, address)
        return None if found is None else (found[0], found[1])

    async def signed_in(self, channel: str, address: str) -> tuple[Account, OrgUnit, str | None] | None:
        """The account whose live identity is (channel, address), its unit and the locale that user chose
        there, in one query: it runs on every update."""
        query = (
            select(Account, OrgUnit, UserPreference.locale)
            .join(ChannelIdentity, live_identity(channel))
            .join(OrgUnit, OrgUnit.id == Account.unit_id)
            .outerjoin(UserPreference, CHOSEN_LOCALE)
            .where(ChannelIdentity.address == address)
        )
        row = (await self.session.execute(query)).first()
        return None if row is None else (row[0], row[1], row[2])

    async def acting(self, channel: str, address: str) -> Row[*tuple[Any, ...]] | None:
        """What recognising the sender of an update needs, as plain columns in one query (it runs on every
        update): `ACTING_COLUMNS` of the account behind the live identity (channel, address)."""
        return (await self.session.execute(_ACTING, {"channel": channel, "address": address})).first()

    async def add(self, account: Account) -> Account:
        self.session.add(account)
        await self.session.flush()
        return account

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(Account)) or 0)

    async def by_activation_hash(self, code_hash: str) -> Account | None:
        return await self.session.scalar(select(Account).where(Account.activation_code_hash == code_hash))

    async def listing(self, unit_prefixes: Sequence[str]) -> Sequence[tuple[Account, OrgUnit]]:
        query = (
            select(Account, OrgUnit)
            .join(OrgUnit, OrgUnit.id == Account.unit_id)
            .where(under(OrgUnit.path, unit_prefixes))
            .order_by(OrgUnit.path, Account.username)
        )
        return [(row[0], row[1]) for row in (await self.session.execute(query)).all()]

    async def extend_scope(self, account: Account, unit: OrgUnit, request_ref: str | None, now: dt.datetime) -> bool:
        exists = await self.session.scalar(
            select(AccountScope.id).where(AccountScope.account_id == account.id, AccountScope.unit_id == unit.id)
        )
        if exists:
            return False
        self.session.add(AccountScope(account_id=account.id, unit_id=unit.id, request_ref=request_ref, granted_at=now))
        await self.session.flush()
        return True

    async def scope_codes(self, account_ids: Sequence[int]) -> dict[int, list[str]]:
        """The codes of the units each account's scope was extended to, for many accounts at once."""
        if not account_ids:
            return {}
        query = (
            select(AccountScope.account_id, OrgUnit.code)
            .join(OrgUnit, OrgUnit.id == AccountScope.unit_id)
            .where(AccountScope.account_id.in_(account_ids))
            .order_by(OrgUnit.path)
        )
        codes: dict[int, list[str]] = {}
        for account_id, code in (await self.session.execute(query)).all():
            codes.setdefault(account_id, []).append(code)
        return codes

    async def scope_paths(self, account_id: int) -> list[str]:
        """Paths of the units an account's scope was extended to."""
        query = (
            select(OrgUnit.path)
            .join(AccountScope, AccountScope.unit_id == OrgUnit.id)
            .where(AccountScope.account_id == account_id)
            .order_by(OrgUnit.path)
        )
        return list((await self.session.scalars(query)).all())


class IdentityRepository(_Repository):
    """Where each account is reached: its identities, one live per channel (storage/models.py ChannelIdentity)."""

    async def live(self, account_id: int) -> Sequence[ChannelIdentity]:
        query = (select(ChannelIdentity)
                 .where(ChannelIdentity.account_id == account_id, ChannelIdentity.revoked_at.is_(None))
                 .order_by(ChannelIdentity.channel))
        return (await self.session.scalars(query)).all()

    async def history(self, account_id: int) -> Sequence[ChannelIdentity]:
        """Every identity the account ever had, live or revoked, oldest first."""
        query = select(ChannelIdentity).where(ChannelIdentity.account_id == account_id).order_by(ChannelIdentity.id)
        return (await self.session.scalars(query)).all()

    async def address(self, account_id: int, channel: str) -> str | None:
        """The account's live address on `channel`, if it is bound there."""
        return await self.session.scalar(select(ChannelIdentity.address).where(
            ChannelIdentity.account_id == account_id, ChannelIdentity.channel == channel,
            ChannelIdentity.revoked_at.is_(None)))

    async def live_many(self, account_ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
        """The live (channel, address) of each of these accounts, in one query: where the outbox reaches them."""
        found: dict[int, list[tuple[str, str]]] = {}
        ids = sorted(set(account_ids))
        for start in range(0, len(ids), 500):
            query = (select(ChannelIdentity.account_id, ChannelIdentity.channel, ChannelIdentity.address)
                     .where(ChannelIdentity.account_id.in_(ids[start:start + 500]), ChannelIdentity.revoked_at.is_(None))
                     .order_by(ChannelIdentity.account_id, ChannelIdentity.channel))
            for account_id, channel, address in (await self.session.execute(query)).all():
                found.setdefault(account_id, []).append((channel, address))
        return found

    async def channels(self, account_ids: Sequence[int]) -> dict[int, list[str]]:
        """The channels each account is bound on, for many accounts at once."""
        if not account_ids:
            return {}
        query = (select(ChannelIdentity.account_id, ChannelIdentity.channel)
                 .where(ChannelIdentity.account_id.in_(account_ids), ChannelIdentity.revoked_at.is_(None))
                 .order_by(ChannelIdentity.channel))
        bound: dict[int, list[str]] = {}
        for account_id, channel in (await self.session.execute(query)).all():
            bound.setdefault(account_id, []).append(channel)
        return bound

    async def revoke(self, now: dt.datetime, *, account_id: int | None = None, channel: str | None = None,
                     address: str | None = None) -> int:
        """End the live identities matching every given criterion (an account's, a channel's, an address's);
        the rows stay. The number ended."""
        criteria: list[ColumnElement[bool]] = [ChannelIdentity.revoked_at.is_(None)]
        if account_id is not None:
            criteria.append(ChannelIdentity.account_id == account_id)
        if channel is not None:
            criteria.append(ChannelIdentity.channel == channel)
        if address is not None:
            criteria.append(ChannelIdentity.address == address)
        if len(criteria) == 1:
            raise ValueError("revoke needs an account, a channel or an address")
        ended = cast(CursorResult[Any], await self.session.execute(
            update(ChannelIdentity).where(*criteria).values(revoked_at=now)
            .execution_options(synchronize_session="fetch")))
        if ended.rowcount:
            self.session.info[SIGN_INS_CHANGED] = True  # a web session opened under it ends with it
        return int(ended.rowcount or 0)

    async def bind(self, account_id: int, channel: str, address: str, now: dt.datetime) -> ChannelIdentity:
        """Make (channel, address) the account's live identity on that channel; its previous one there is
        revoked first. An address still live for another account is the caller's to revoke: the database
        refuses a second live holder (IntegrityError)."""
        await self.revoke(now, account_id=account_id, channel=channel)
        identity = ChannelIdentity(account_id=account_id, channel=channel, address=address, bound_at=now)
        self.session.add(identity)
        await self.session.flush()
        return identity


class PreferenceRepository(_Repository):
    async def locale_of(self, channel: str, address: str) -> str | None:
        row = await self.session.get(UserPreference, (channel, address))
        return None if row is None else row.locale

    async def set_locale(self, channel: str, address: str, locale: str, now: dt.datetime) -> None:
        values = {"channel": channel, "address": address, "locale": locale, "updated_at": now}
        await _upsert(self.session, UserPreference, values, ("channel", "address"))


class DossierRepository(_Repository):
    async def add_many(self, rows: Iterable[dict[str, Any]]) -> None:
        rows = list(rows)
        if rows:
            await self.session.execute(table_of(Dossier).insert(), rows)

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(Dossier)) or 0)

    async def with_units(self, dossier_id: int) -> tuple[Dossier, OrgUnit, OrgUnit] | None:
        """A dossier with its custodian and working units."""
        row = (await self.session.execute(_WITH_UNITS, {"dossier": dossier_id})).first()
        return None if row is None else (row[0], row[1], row[2])

    async def ids_by_personal_id(self, personal_ids: Sequence[str]) -> dict[str, int]:
        if not personal_ids:
            return {}
        query = select(Dossier.personal_id, Dossier.id).where(Dossier.personal_id.in_(personal_ids))
        return {row[0]: row[1] for row in (await self.session.execute(query)).all()}

    async def add_records(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(table_of(DossierRecord).insert(), list(rows))

    async def records(self, dossier_id: int) -> Sequence[DossierRecord]:
        query = (
            select(DossierRecord)
            .where(DossierRecord.dossier_id == dossier_id)
            .order_by(DossierRecord.kind, DossierRecord.date_from, DossierRecord.id)
        )
        return (await self.session.scalars(query)).all()

    async def get(self, dossier_id: int) -> Dossier | None:
        return await self.session.get(Dossier, dossier_id)

    async def held_by(self, unit_id: int) -> list[int]:
        """The ids of the dossiers this unit is the custodian of."""
        return list(await self.session.scalars(select(Dossier.id).where(Dossier.custodian_unit_id == unit_id)))

    async def id_of(self, personal_id: str) -> int | None:
        return await self.session.scalar(select(Dossier.id).where(Dossier.personal_id == personal_id))

    async def count_in_scope(self, prefixes: Sequence[str]) -> int:
        query = (
            select(func.count())
            .select_from(Dossier)
            .join(OrgUnit, OrgUnit.id == Dossier.custodian_unit_id)
            .where(under(OrgUnit.path, prefixes))
        )
        return int(await self.session.scalar(query) or 0)

    # -- bulk import and export --------------------------------------------------------------------
    async def by_personal_ids(self, personal_ids: Sequence[str], columns: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The named columns (with id, personal_id and both unit ids) of the dossiers having these
        personal IDs, by personal ID."""
        if not personal_ids:
            return {}
        names = dict.fromkeys(("id", "personal_id", "custodian_unit_id", "working_unit_id", *columns))
        table = table_of(Dossier)
        query = select(*(table.c[name] for name in names)).where(table.c.personal_id.in_(personal_ids))
        return {row.personal_id: dict(row._mapping) for row in await self.session.execute(query)}

    async def insert_many(self, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
        """Insert dossiers (every row with the same keys) in one executemany; their new ids by personal ID."""
        if not rows:
            return {}
        table = table_of(Dossier)
        result = await self.session.execute(insert(table).returning(table.c.id, table.c.personal_id), list(rows))
        return {personal_id: dossier_id for dossier_id, personal_id in result.all()}

    async def update_many(self, changes: Iterable[tuple[int, dict[str, Any]]]) -> None:
        """Update dossiers by id, each with its own changed columns. Rows changing the same columns go
        together in one executemany."""
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for dossier_id, values in changes:
            groups[tuple(sorted(values))].append({"key_id": dossier_id, **{f"new_{k}": v for k, v in values.items()}})
        table = table_of(Dossier)
        for columns, params in groups.items():
            statement = (
                update(table)
                .where(table.c.id == bindparam("key_id"))
                .values({name: bindparam(f"new_{name}") for name in columns})
            )
            await self.session.execute(statement, params)

    async def export_batch(
        self,
        prefixes: Sequence[str],
        columns: Sequence[str],
        after_id: int,
        limit: int,
        subtree: str | None = None,
    ) -> list[dict[str, Any]]:
        """The next `limit` dossiers by id after `after_id` whose custodian or working unit lies under
        one of `prefixes` (and under `subtree`, if given): the named columns, the id, and the codes of
        both units as custodian_code and working_code."""
        custodian, working = CUSTODIAN_UNIT, WORKING_UNIT
        names = dict.fromkeys(("id", *columns))
        query = (
            select(*(getattr(Dossier, name) for name in names),
                   custodian.code.label("custodian_code"), working.code.label("working_code"))
            .join(custodian, custodian.id == Dossier.custodian_unit_id)
            .join(working, working.id == Dossier.working_unit_id)
            .where(Dossier.id > after_id, or_(under(custodian.path, prefixes), under(working.path, prefixes)))
        )
        if subtree is not None:
            query = query.where(or_(under(custodian.path, (subtree,)), under(working.path, (subtree,))))
        query = query.order_by(Dossier.id).limit(limit)
        return [dict(row._mapping) for row in await self.session.execute(query)]


class FsmRepository(_Repository):
    async def get(self, key: str) -> FsmRecord | None:
        return await self.session.get(FsmRecord, key)

    async def put_state(self, key: str, state: str | None, now: dt.datetime) -> None:
        # Only the state changes on conflict: the data collected so far is kept.
        values: dict[str, Any] = {"key": key, "state": state, "data": {}, "updated_at": now}
        await _upsert(self.session, FsmRecord, values, "key", update=["state", "updated_at"])

    async def put_data(self, key: str, data: dict[str, Any], now: dt.datetime) -> None:
        values = {"key": key, "state": None, "data": data, "updated_at": now}
        await _upsert(self.session, FsmRecord, values, "key", update=["data", "updated_at"])


class SubAccountRepository(_Repository):
    async def add(self, request: SubAccountRequest) -> SubAccountRequest:
        self.session.add(request)
        await self.session.flush()
        return request

    async def get(self, request_id: int) -> SubAccountRequest | None:
        return await self.session.get(SubAccountRequest, request_id)

    async def listing(self, status: str | None = "pending") -> Sequence[tuple[SubAccountRequest, OrgUnit]]:
        query = select(SubAccountRequest, OrgUnit).join(OrgUnit, OrgUnit.id == SubAccountRequest.unit_id)
        if status is not None:
            query = query.where(SubAccountRequest.status == status)
        return [(row[0], row[1]) for row in (await self.session.execute(query.order_by(SubAccountRequest.id))).all()]


_NAMES = select(ReferenceItem.code, ReferenceItem.name).where(ReferenceItem.list_name == bindparam("list"))


class ReferenceRepository(_Repository):
    async def names(self, list_name: str) -> dict[str, str]:
        """Code → name of a list's entries: plain rows, read on every card and search page."""
        return {code: name for code, name in (await self.session.execute(_NAMES, {"list": list_name})).all()}

    async def listing(self, list_name: str) -> Sequence[ReferenceItem]:
        query = select(ReferenceItem).where(ReferenceItem.list_name == list_name).order_by(ReferenceItem.code)
        return (await self.session.scalars(query)).all()

    async def add(self, list_name: str, code: str, name: str, extra: dict[str, Any]) -> None:
        self.session.add(ReferenceItem(list_name=list_name, code=code, name=name, extra=extra))
        await self.session.flush()
