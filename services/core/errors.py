"""Refusals a user must see. The message is an untranslated id; the front end translates it."""

from __future__ import annotations

from typing import Any

from services.core.i18n import N_


class ServiceError(Exception):
    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params

    def render(self, translate: Any) -> str:
        """The message in the reader's language: `translate` is that language's gettext. A value quoted
        from the user's input is shortened, so that a refusal never grows with what was typed."""
        return translate(self.message).format(**{key: _quoted(value) for key, value in self.params.items()})


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


QUOTED_LENGTH = 200


def _quoted(value: Any) -> Any:
    return value[: QUOTED_LENGTH - 1] + "…" if isinstance(value, str) and len(value) > QUOTED_LENGTH else value
