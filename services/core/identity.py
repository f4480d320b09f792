"""Recognising who sent an update. Read again on every update, so a revoked or restricted account
loses its rights at its very next message, even in the middle of a guided entry."""

from __future__ import annotations

from services.core.actor import AccountStatus, Actor, Role, as_address
from storage import UnitOfWork


async def load_actor(uow: UnitOfWork, channel: str, address: str | int | None) -> Actor:
    """The actor behind `address` on `channel`: the account whose live identity it is, else an anonymous
    visitor with the language chosen there. Only an active or restricted account's identity carries a role:
    a pending, locked or revoked account is recognised (its status is told) but may do nothing."""
    address = as_address(address)
    if address is None:
        return Actor.anonymous(channel, None)
    async with uow.read() as repos:
        found = await repos.accounts.signed_in(channel, address)
        if found is None:
            return Actor.anonymous(channel, address, await repos.preferences.locale_of(channel, address))
        account, unit, preferred = found
        status = AccountStatus(account.status)
        extensions = await repos.accounts.scope_paths(account.id) if status.grants_role else []
        return Actor(
            channel=channel,
            address=address,
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
