"""The pages: sign-in, activation, the chat itself, sign-out, and the language of the pages before sign-in.

A form refused (a wrong password, a used code, a forged token) comes back filled, with the reason, except
for the password fields, which a browser never gets back. Before sign-in there is no session: the forms'
CSRF token is a random value in a SameSite=Strict cookie that the form must repeat.
"""

from __future__ import annotations

import secrets

from aiohttp import web

from bot.web.server import LANG_COOKIE, SERVER, WebServer
from bot.web.sessions import COOKIE, same_token
from bot.web.texts import SCRIPT, translated
from services.accounts.sign_in import PasswordSignIn, SignedIn
from services.core.actor import Actor, Channel
from services.core.errors import ServiceError
from services.platform.audit import record

FORM_CSRF = "hoso_form"


def _server(request: web.Request) -> WebServer:
    return request.app[SERVER]


def _form_token(request: web.Request) -> str:
    return _server(request).cookie(request, FORM_CSRF) or secrets.token_urlsafe(24)


def _form_page(request: web.Request, template: str, status: int = 200, **context: object) -> web.Response:
    server, token = _server(request), _form_token(request)
    response = server.render(request, template, status, csrf=token, **context)
    server.set_cookie(response, FORM_CSRF, token)
    return response


async def chat_page(request: web.Request) -> web.StreamResponse:
    server = _server(request)
    signed_in = await server.signed_in(request)
    if signed_in is None:
        raise web.HTTPSeeOther("/login")
    script = translated(SCRIPT, server.translator(request, signed_in))
    return server.render(request, "chat.html", csrf=signed_in.csrf, full_name=signed_in.full_name,
                         username=signed_in.username, script_texts=script)


async def login_page(request: web.Request) -> web.StreamResponse:
    if await _server(request).signed_in(request) is not None:
        raise web.HTTPSeeOther("/")
    notice = {"expired": "expired_notice", "bye": "signed_out_notice"}.get(request.query.get("why", ""))
    return _form_page(request, "login.html", notice=notice, username="")


async def login(request: web.Request) -> web.StreamResponse:
    server = _server(request)
    form = await request.post()
    username = str(form.get("username", ""))[:64]
    refused = _refused_form(request, form)
    if refused is not None:
        return _form_page(request, "login.html", 429 if refused == "too_many" else 403,
                          error=server.error_text(request, refused), username=username)
    try:
        account = await _sign_in(server).sign_in(username, str(form.get("password", ""))[:256])
    except ServiceError as error:
        return _form_page(request, "login.html", 401, error=_refusal(server, request, error), username=username)
    return await _enter(server, request, account)


async def activation_page(request: web.Request) -> web.StreamResponse:
    return _form_page(request, "activate.html", code="")


async def activate(request: web.Request) -> web.StreamResponse:
    server = _server(request)
    form = await request.post()
    code = str(form.get("code", "")).strip()[:64]
    password = str(form.get("password", ""))[:256]
    refused = _refused_form(request, form)
    if refused is None and password != str(form.get("password2", ""))[:256]:
        refused = "passwords_differ"
    if refused is not None:
        status = {"too_many": 429, "passwords_differ": 400}.get(refused, 403)
        return _form_page(request, "activate.html", status, error=server.error_text(request, refused), code=code)
    try:
        account = await _sign_in(server).activate(code, password)
    except ServiceError as error:
        return _form_page(request, "activate.html", 400, error=_refusal(server, request, error), code=code)
    return await _enter(server, request, account)


async def logout(request: web.Request) -> web.StreamResponse:
    server = _server(request)
    signed_in = await server.signed_in(request)
    form = await request.post()
    if signed_in is not None:
        if not same_token(signed_in.csrf, str(form.get("csrf", ""))):
            raise web.HTTPForbidden(text=server.error_text(request, "csrf"))
        await server.sessions.end(signed_in.session_id)
        actor = Actor.anonymous(Channel.WEB, signed_in.account_id)
        async with server.runtime.uow.write() as repos:
            await record(repos, server.runtime.clock, actor, "auth.logout", "account", signed_in.username,
                         session="web")
    response = web.HTTPSeeOther("/login?why=bye")
    server.drop_cookie(response, COOKIE)
    raise response


async def language(request: web.Request) -> web.StreamResponse:
    """The pages' language before sign-in (afterwards, /lang in the chat sets the account's)."""
    server = _server(request)
    wanted = request.match_info["locale"]
    back = request.query.get("back", "/login")
    response = web.HTTPSeeOther(back if back in ("/login", "/activate") else "/login")
    if wanted in server.runtime.i18n.available_locales:
        response.set_cookie(LANG_COOKIE, wanted, samesite="Strict", secure=server.secure, path="/",
                            max_age=365 * 86400)
    raise response


# -- helpers ---------------------------------------------------------------------------------------
def _refused_form(request: web.Request, form: object) -> str | None:
    """Why a sign-in or activation form is refused before it is read: the rate, or its CSRF token."""
    server = _server(request)
    if not server.limits.sign_in.allow(server.client_address(request)):
        return "too_many"
    expected = server.cookie(request, FORM_CSRF)
    given = form.get("csrf") if hasattr(form, "get") else None
    if not expected or not same_token(expected, str(given or "")):
        return "csrf"
    return None


def _sign_in(server: WebServer) -> PasswordSignIn:
    return PasswordSignIn(server.runtime.uow, Actor.anonymous(Channel.WEB, None), server.runtime.clock)


def _refusal(server: WebServer, request: web.Request, error: ServiceError) -> str:
    return error.render(server.translator(request))


async def _enter(server: WebServer, request: web.Request, account: SignedIn) -> web.StreamResponse:
    """Signed in: a new session (a new token, never the one the browser came with, whose session ends) and
    the chat."""
    token = await server.sessions.open(account.account_id, replacing=server.cookie(request, COOKIE))
    if token is None:  # its web identity was revoked between the password and now
        raise web.HTTPSeeOther("/login")
    response = web.HTTPSeeOther("/")
    server.set_session_cookie(response, token)
    server.drop_cookie(response, FORM_CSRF)
    raise response


def register(app: web.Application) -> None:
    app.router.add_get("/", chat_page)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_get("/activate", activation_page)
    app.router.add_post("/activate", activate)
    app.router.add_post("/logout", logout)
    app.router.add_get("/lang/{locale}", language)
