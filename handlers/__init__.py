"""aiogram routers, one module per capability. Thin: parse input, call one service, render."""

from aiogram import Router

from handlers import (
    admin,
    audit,
    cancel,
    changes,
    dossiers,
    export,
    fallback,
    feedback,
    find,
    forms,
    history,
    inspect,
    language,
    linking,
    reminders,
    reports,
    signin,
    start,
    stats,
    transfers,
    verify,
)


def routers() -> list[Router]:
    """Fresh routers, in order: linking first (an unlinked Zalo sender reaches nothing else), /cancel (it
    works in every state), sign-in (the password prompts must win over anything else), the capabilities,
    the form answers, the fallback last. Fresh because a router can belong to one Dispatcher only."""
    modules = (linking, cancel, signin, start, language, find, dossiers, changes, history, transfers, reminders, reports, stats,
               inspect, feedback, admin, audit, verify, export, forms, fallback)  # ← new modules go before forms
    return [module.build_router() for module in modules]
