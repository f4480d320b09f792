"""The web chat's server: what it holds (the Dispatcher, the transport, sessions, files, limits) and the
aiohttp application of its pages (`pages`) and of the page's script (`api`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiogram import Dispatcher
from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.i18n import Translate
from bot.runtime import Runtime
from bot.sender import OutboxSender
from bot.web.conversation import Conversations
from bot.web.files import FileStore
from bot.web.security import MAX_BODY, SECURE_KEY, RateLimiter, client_address, security_headers
from bot.web.sessions import COOKIE, WebSessions, WebSignIn
from bot.web.texts import ERRORS, PAGE, translated
from bot.web.transport import Preloaded, WebChat

logger = logging.getLogger(__name__)

STOP_GRACE = 5.0  # seconds the outbox delivery of an opening page may take to finish at shutdown

HERE = Path(__file__).parent
LANG_COOKIE = "hoso_lang"


@dataclass
class Limits:
    """Requests allowed: per session (messages and presses; uploads), per client address (sign-in attempts;
    requests of any kind: an office behind one address gets a generous share)."""

    messages: RateLimiter
    sign_in: RateLimiter
    requests: RateLimiter
    uploads: RateLimiter = field(default_factory=lambda: RateLimiter(3, 0.1))  # 3 at once, then one per 10 s

    @classmethod
    def default(cls) -> Limits:
        return cls(messages=RateLimiter(30, 10.0), sign_in=RateLimiter(10, 1 / 6), requests=RateLimiter(600, 200.0))


class WebServer:
    def __init__(self, runtime: Runtime, dispatcher: Dispatcher, limits: Limits | None = None) -> None:
        settings = runtime.settings
        self.runtime, self.dispatcher = runtime, dispatcher
        self.secure, self.trusted_proxies = settings.web_secure, settings.trusted_proxies
        self.conversations = Conversations()
        self.files = FileStore(settings.files_dir / "web-downloads", dt.timedelta(minutes=settings.web_file_minutes))
        self.chat = WebChat(dispatcher, self.conversations, self.files, runtime.clock)
        self.sessions = WebSessions(runtime.uow, runtime.clock, dt.timedelta(hours=settings.web_session_hours))
        self.limits = limits or Limits.default()
        self.outbox: OutboxSender | None = None  # the web channel's sender, once the jobs run
        self.pages: set[asyncio.Task[Any]] = set()  # the handlers of the open pages, ended at shutdown
        self._delivering: asyncio.Task[Any] | None = None
        self.templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                                     autoescape=select_autoescape(default=True, default_for_string=True))

    def page_opened(self, account_id: int) -> None:
        """A page just opened: what waited for it in the outbox goes now, not at the next pass."""
        if self.outbox is None or (self._delivering is not None and not self._delivering.done()):
            return
        self._delivering = asyncio.create_task(self._deliver(), name="hoso-web-outbox")

    async def _deliver(self) -> None:
        assert self.outbox is not None
        try:
            await self.outbox.drain()
        except Exception:  # the background pass tries again
            logger.exception("web outbox delivery failed")

    @property
    def delivering(self) -> asyncio.Task[Any] | None:
        """The delivery a page's opening started, if any (tests wait on it)."""
        return self._delivering

    async def _close_pages(self, _app: web.Application) -> None:
        """At shutdown: every open page is told the server is going away (it reconnects), and the delivery a
        page started may finish (in-process, it is quick); past a few seconds it is stopped, and what it had not
        sent stays in the outbox. Cancelled inside a transaction, it would leave a database connection open,
        whose thread then holds the process after its stop."""
        for page in list(self.pages):  # each closes its socket on the way out
            page.cancel()
        if self._delivering is not None and not self._delivering.done():
            _done, late = await asyncio.wait({self._delivering}, timeout=STOP_GRACE)
            for task in late:
                task.cancel()

    # -- per request -------------------------------------------------------------------------------
    async def signed_in(self, request: web.Request, with_actor: bool = False) -> WebSignIn | None:
        """The request's session, read once per request; `with_actor`: with the account as an update's sender
        (read in the same transaction), for a request that feeds an update."""
        if SIGNED_IN in request:
            return request[SIGNED_IN]
        mark = self.chat.mark()  # before the read: see WebChat
        found = await self.sessions.current(self.cookie(request, COOKIE), with_actor=with_actor)
        request[SIGNED_IN] = found
        if found is not None and found.actor is not None:
            request[PRELOADED] = Preloaded(found.actor, mark)
        return found

    def client_address(self, request: web.Request) -> str:
        return client_address(request, self.trusted_proxies)

    def locale(self, request: web.Request, signed_in: WebSignIn | None = None) -> str:
        i18n = self.runtime.i18n
        for wanted in (signed_in.locale if signed_in else None, request.cookies.get(LANG_COOKIE)):
            if wanted in i18n.available_locales:
                return wanted
        return i18n.default_locale

    def translator(self, request: web.Request, signed_in: WebSignIn | None = None) -> Translate:
        return self.runtime.i18n.translator(self.locale(request, signed_in))

    def error_text(self, request: web.Request, key: str, **params: Any) -> str:
        return self.translator(request, request.get(SIGNED_IN))(ERRORS[key]).format(**params)

    def render(self, request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
        signed_in = request.get(SIGNED_IN)
        translate = self.translator(request, signed_in)
        page = self.templates.get_template(template).render(
            t=translated(PAGE, translate), locale=self.locale(request, signed_in), **context)
        return web.Response(text=page, status=status, content_type="text/html", charset="utf-8")

    def cookie_name(self, base: str) -> str:
        """Behind https a cookie is `__Host-`: the browser then takes it only from this very host, over https,
        for the whole site, so a sibling subdomain cannot plant one."""
        return f"__Host-{base}" if self.secure else base

    def cookie(self, request: web.Request, base: str) -> str | None:
        return request.cookies.get(self.cookie_name(base))

    def set_cookie(self, response: web.StreamResponse, base: str, value: str, max_age: int | None = None) -> None:
        response.set_cookie(self.cookie_name(base), value, httponly=True, samesite="Strict", secure=self.secure,
                            path="/", max_age=max_age)

    def drop_cookie(self, response: web.StreamResponse, base: str) -> None:
        response.del_cookie(self.cookie_name(base), path="/", secure=self.secure, samesite="Strict")

    def set_session_cookie(self, response: web.StreamResponse, token: str) -> None:
        self.set_cookie(response, COOKIE, token, int(self.sessions.idle.total_seconds() * 2))

    # -- the application ---------------------------------------------------------------------------
    def application(self) -> web.Application:
        from bot.web import api, pages, verify

        app = web.Application(client_max_size=MAX_BODY, middlewares=[security_headers, api.errors])
        app.on_shutdown.append(self._close_pages)
        app[SERVER] = self
        app[SECURE_KEY] = self.secure
        pages.register(app)
        api.register(app)
        verify.register(app)
        app.router.add_static("/static/", HERE / "static", show_index=False, follow_symlinks=False)
        return app


SERVER = web.AppKey("server", WebServer)
SIGNED_IN: web.RequestKey[WebSignIn | None] = web.RequestKey("signed_in")  # the session, read once per request
PRELOADED: web.RequestKey[Preloaded] = web.RequestKey("preloaded")  # the sender, read with it (`with_actor`)
