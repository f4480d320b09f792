"""Refusals a user must see. The message is an untranslated id; the front end translates it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.core.i18n import N_


class ServiceError(Exception):
    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params

    def render(self, translate: Any, quote: Callable[[Any], Any] = lambda value: value) -> str:
        """The message in the reader's language: `translate` is that language's gettext; `quote` shapes
        each value it names (a chat shortens what the user typed)."""
        return translate(self.message).format(**{key: quote(value) for key, value in self.params.items()})


class PermissionDenied(ServiceError):
    def __init__(self, message: str = N_("You are not allowed to do that."), **params: Any) -> None:
        super().__init__(message, **params)


class InvalidInput(ServiceError):
    """Bad input for one named field; the prompt asks the same question again with this reason."""

    def __init__(self, field: str, message: str, **params: Any) -> None:
        super().__init__(message, **params)
        self.field = field


class NotFound(ServiceError):
    pass
