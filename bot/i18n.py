"""Translations: aiogram's gettext machinery, with the language taken from the actor's account."""

from __future__ import annotations

import gettext
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n, I18nMiddleware

from locales import DOMAIN, LOCALES_DIR, load_catalogs
from services.core.actor import Actor
from services.core.i18n import DEFAULT_LOCALE

Translate = Callable[[str], str]


class CatalogI18n(I18n):
    """aiogram's I18n, loading the catalogs the way the CLI does (a stale .mo never wins)."""

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        return load_catalogs(self.path, self.domain)

    @contextmanager
    def context(self) -> Iterator[I18n]:
        # aiogram's context helpers look the instance up on I18n itself, and every subclass gets a
        # context variable of its own: register there, or `gettext` finds no context.
        token = I18n.set_current(self)
        try:
            yield self
        finally:
            I18n.reset_current(token)

    def translator(self, locale: str | None) -> Translate:
        """gettext bound to one language, for text produced outside an update (CLI, errors, commands)."""
        chosen = locale if locale in self.available_locales else self.default_locale
        return lambda message: self.gettext(message, locale=chosen)


def create_i18n(default_locale: str = DEFAULT_LOCALE) -> CatalogI18n:
    return CatalogI18n(path=LOCALES_DIR, default_locale=default_locale, domain=DOMAIN)


class ActorI18nMiddleware(I18nMiddleware):
    """The actor's stored language (account, or the visitor's /lang choice), else the default."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        actor: Actor | None = data.get("actor")
        locale = actor.locale if actor is not None else None
        if locale not in self.i18n.available_locales:
            locale = self.i18n.default_locale
        data["locale"] = locale  # for the error handler, which runs after this context has closed
        return locale
