"""Recognising who sent an update. Read again on every update, so a revoked or restricted account
loses its rights at its very next message, even in the middle of a guided entry."""

from __future__ import annotations

from services.core.actor import AccountStatus, Actor, Role
from storage import UnitOfWork


async def load_actor(uow: UnitOfWork, telegram_user_id: int | None) -> Actor:
    if telegram_user_id is None:
        return Actor.anonymous(None)
    async with uow.read() as repos:
        found = await repos.accounts.signed_in(telegram_user_id)
        if found is None:
            return Actor.anonymous(telegram_user_id, await repos.preferences.locale_of(telegram_user_id))
        account, unit, preferred = found
        status = AccountStatus(account.status)
        extensions = await repos.accounts.scope_paths(account.id) if status.grants_role else []
        return Actor(
            telegram_user_id=telegram_user_id,
            locale=account.locale or preferred,
            account_id=account.id,
            username=account.username,
            full_name=account.full_name,
            role=Role(account.role) if status.grants_role else None,
            unit_id=unit.id,
            unit_code=unit.code,
            unit_name=unit.name,
            unit_path=unit.path,
            scope_paths=tuple(dict.fromkeys((unit.path, *extensions))),  # a merge can make them coincide
            personal_id=account.personal_id,
            status=status,
        )
