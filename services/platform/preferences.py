"""The user's own settings: the interface language."""

from __future__ import annotations

from services.core.actor import Actor
from services.core.clock import Clock
from services.core.errors import InvalidInput
from services.core.i18n import N_, SUPPORTED_LOCALES
from storage import UnitOfWork


class PreferenceService:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock

    async def set_language(self, locale: str) -> str:
        """Store the language on the account, and for the sender on its channel (what it sees signed out)."""
        if locale not in SUPPORTED_LOCALES:
            raise InvalidInput("locale", N_("Unsupported language: {locale}."), locale=locale)
        channel, address = self.actor.channel, self.actor.address
        if channel is None or address is None:
            raise InvalidInput("locale", N_("The language belongs to the user of a chat."))
        async with self.uow.write() as repos:
            if self.actor.account_id is not None:
                account = await repos.accounts.get(self.actor.account_id)
                if account is not None:
                    account.locale = locale
            await repos.preferences.set_locale(channel, address, locale, self.clock.now())
        return locale
