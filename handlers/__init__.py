"""aiogram routers, one module per capability. Thin: parse input, call one service, render."""

from aiogram import Router

from handlers import cancel, fallback, language, start


def routers() -> list[Router]:
    """In order: /cancel first (it works in every state), the capabilities, the fallback last."""
    return [cancel.router, start.router, language.router, fallback.router]
