"""Repositories: the only place that speaks SQL. They take and return ORM rows inside one session."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, AppSetting, Dossier, FsmRecord, OrgUnit, UserPreference


def _upsert(
    session: AsyncSession,
    model: type,
    values: dict[str, Any],
    key: str,
    update: Iterable[str] | None = None,
) -> Any:
    """INSERT … ON CONFLICT (key) DO UPDATE of `update` (default: every other column), in the
    dialect of the session's database."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model).values(**values)
    columns = update if update is not None else [name for name in values if name != key]
    changes = {name: statement.excluded[name] for name in columns}
    return statement.on_conflict_do_update(index_elements=[key], set_=changes)


class _Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session


class SettingRepository(_Repository):
    async def get(self, key: str) -> dict[str, Any] | None:
        row = await self.session.get(AppSetting, key)
        return None if row is None else row.value

    async def put(self, key: str, value: dict[str, Any], now: dt.datetime) -> None:
        await self.session.execute(
            _upsert(self.session, AppSetting, {"key": key, "value": value, "updated_at": now}, "key")
        )


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


class AccountRepository(_Repository):
    async def get(self, account_id: int) -> Account | None:
        return await self.session.get(Account, account_id)

    async def by_username(self, username: str) -> Account | None:
        return await self.session.scalar(select(Account).where(Account.username == username))

    async def by_telegram_user(self, telegram_user_id: int) -> tuple[Account, OrgUnit] | None:
        query = (
            select(Account, OrgUnit)
            .join(OrgUnit, OrgUnit.id == Account.unit_id)
            .where(Account.telegram_user_id == telegram_user_id)
        )
        row = (await self.session.execute(query)).first()
        return None if row is None else (row[0], row[1])

    async def add(self, account: Account) -> Account:
        self.session.add(account)
        await self.session.flush()
        return account

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(Account)) or 0)


class PreferenceRepository(_Repository):
    async def locale_of(self, telegram_user_id: int) -> str | None:
        row = await self.session.get(UserPreference, telegram_user_id)
        return None if row is None else row.locale

    async def set_locale(self, telegram_user_id: int, locale: str, now: dt.datetime) -> None:
        values = {"telegram_user_id": telegram_user_id, "locale": locale, "updated_at": now}
        await self.session.execute(_upsert(self.session, UserPreference, values, "telegram_user_id"))


class DossierRepository(_Repository):
    async def add_many(self, rows: Iterable[dict[str, Any]]) -> None:
        rows = list(rows)
        if rows:
            await self.session.execute(Dossier.__table__.insert(), rows)

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(Dossier)) or 0)

    async def count_in_subtree(self, path: str) -> int:
        query = (
            select(func.count())
            .select_from(Dossier)
            .join(OrgUnit, OrgUnit.id == Dossier.custodian_unit_id)
            .where(OrgUnit.path.startswith(path))
        )
        return int(await self.session.scalar(query) or 0)


class FsmRepository(_Repository):
    async def get(self, key: str) -> FsmRecord | None:
        return await self.session.get(FsmRecord, key)

    async def put_state(self, key: str, state: str | None, now: dt.datetime) -> None:
        # Only the state changes on conflict: the data collected so far is kept.
        values = {"key": key, "state": state, "data": {}, "updated_at": now}
        await self.session.execute(
            _upsert(self.session, FsmRecord, values, "key", update=["state", "updated_at"])
        )

    async def put_data(self, key: str, data: dict[str, Any], now: dt.datetime) -> None:
        values = {"key": key, "state": None, "data": data, "updated_at": now}
        await self.session.execute(
            _upsert(self.session, FsmRecord, values, "key", update=["data", "updated_at"])
        )
