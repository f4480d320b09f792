"""aiogram routers, one module per capability. Thin: parse input, call one service, render."""

from aiogram import Router

from handlers import cancel, fallback, language, start


def routers() -> list[Router]:
    """Fresh routers, in order: /cancel first (it works in every state), the capabilities, the
    fallback last. Fresh because a router can belong to one Dispatcher only."""
    return [module.build_router() for module in (cancel, start, language, fallback)]
