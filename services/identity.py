"""Recognising who sent an update. Read again on every update, so a revoked account stops at once."""

from __future__ import annotations

from services.actor import Actor, Role
from storage import UnitOfWork

ACTIVE = "active"


async def load_actor(uow: UnitOfWork, telegram_user_id: int | None) -> Actor:
    if telegram_user_id is None:
        return Actor.anonymous(None)
    async with uow.read() as repos:
        found = await repos.accounts.by_telegram_user(telegram_user_id)
        preferred = await repos.preferences.locale_of(telegram_user_id)
    if found is None:
        return Actor.anonymous(telegram_user_id, preferred)
    account, unit = found
    if account.status != ACTIVE:
        # A bound but inactive account acts as nobody; its language is still honoured.
        return Actor.anonymous(telegram_user_id, account.locale or preferred)
    return Actor(
        telegram_user_id=telegram_user_id,
        locale=account.locale or preferred,
        account_id=account.id,
        username=account.username,
        full_name=account.full_name,
        role=Role(account.role),
        unit_id=unit.id,
        unit_code=unit.code,
        unit_name=unit.name,
        unit_path=unit.path,
    )
