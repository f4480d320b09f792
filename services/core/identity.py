"""Recognising who sent an update. Read again on every update, so a revoked or restricted account
loses its rights at its very next message, even in the middle of a guided entry."""

from __future__ import annotations

from typing import Any

from services.core.actor import AccountStatus, Actor, Role, as_address
from storage import Repositories, UnitOfWork


async def load_actor(uow: UnitOfWork, channel: str, address: str | int | None) -> Actor:
    """The actor behind `address` on `channel`: the account whose live identity it is, else an anonymous
    visitor with the language chosen there. Only an active or restricted account's identity carries a role:
    a pending, locked or revoked account is recognised (its status is told) but may do nothing."""
    if as_address(address) is None:
        return Actor.anonymous(channel, None)
    async with uow.read() as repos:
        return await actor_of(repos, channel, address)


async def actor_of(repos: Repositories, channel: str, address: str | int | None) -> Actor:
    """`load_actor` inside a transaction the caller holds."""
    address = as_address(address)
    if address is None:
        return Actor.anonymous(channel, None)
    found = await repos.accounts.acting(channel, address)
    if found is None:
        return Actor.anonymous(channel, address, await repos.preferences.locale_of(channel, address))
    return await actor_from(repos, channel, address, found)


async def actor_from(repos: Repositories, channel: str, address: str, found: Any) -> Actor:
    """The actor of an account found behind (channel, address) with storage's `ACTING_COLUMNS` (the web chat
    reads them with the session, in one query)."""
    status = AccountStatus(found.status)
    extensions = await repos.accounts.scope_paths(found.id) if status.grants_role and found.extended else []
    return Actor(
        channel=channel,
        address=address,
        locale=found.locale or found.preferred,
        account_id=found.id,
        username=found.username,
        full_name=found.full_name,
        role=Role(found.role) if status.grants_role else None,
        unit_id=found.unit_id,
        unit_code=found.unit_code,
        unit_name=found.unit_name,
        unit_path=found.unit_path,
        scope_paths=tuple(dict.fromkeys((found.unit_path, *extensions))),  # a merge can make them coincide
        personal_id=found.personal_id,
        status=status,
    )
