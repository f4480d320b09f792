"""Installing a deployment: the regulation profile it runs under."""

from __future__ import annotations

from services.core.clock import Clock
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.regime.profiles import DEFAULT_PROFILE, Profile, available_profiles, load_profile
from storage import Repositories, UnitOfWork

PROFILE_KEY = "profile"


async def install_profile(uow: UnitOfWork, clock: Clock, name: str | None) -> Profile:
    """Load `name`, or keep the profile already installed, or install the default one."""
    async with uow.write() as repos:
        current = await repos.settings.get(PROFILE_KEY)
        if name is None:
            name = current["name"] if current else DEFAULT_PROFILE
        try:
            profile = load_profile(name)
        except LookupError:
            raise InvalidInput(
                "profile",
                N_("Unknown profile {name}; choose one of: {choices}."),
                name=name,
                choices=", ".join(available_profiles()),
            ) from None
        await repos.settings.put(PROFILE_KEY, profile.model_dump(mode="json"), clock.now())
    return profile


async def profile_of(repos: Repositories) -> Profile:
    """The installed profile, or the default one on a database `hoso init` has not set up yet."""
    stored = await repos.settings.get(PROFILE_KEY)
    return Profile.model_validate(stored) if stored else load_profile(DEFAULT_PROFILE)


async def active_profile(uow: UnitOfWork) -> Profile | None:
    async with uow.read() as repos:
        stored = await repos.settings.get(PROFILE_KEY)
    return None if stored is None else Profile.model_validate(stored)
