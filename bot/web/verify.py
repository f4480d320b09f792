"""The page that checks a printout's code (`/verify?code=…`, where a printout's QR points).

Only for a signed-in account, like the chat: the web chat is the province's own server, and a check names the
dossier or report a code is about, when and by whom it was printed; signed in, every check is audited to a
person (not to an address) and held to the account's rate, and nobody outside can probe which codes exist.
A reader outside the administration asks the personnel office, who checks it here or with `hoso verify`."""

from __future__ import annotations

from aiohttp import web

from bot.web.server import SERVER
from services.core.errors import ServiceError
from services.platform.printouts import PrintoutService, describe


async def verify_page(request: web.Request) -> web.StreamResponse:
    server = request.app[SERVER]
    signed_in = await server.signed_in(request, with_actor=True)
    if signed_in is None or signed_in.actor is None:
        raise web.HTTPSeeOther("/login")
    if not server.limits.messages.allow(f"session:{signed_in.session_id}"):
        return server.render(request, "verify.html", 429, code="", error=server.error_text(request, "too_many"))
    code = request.query.get("code", "").strip()[:80]
    if not code:
        return server.render(request, "verify.html", code="")
    runtime, translate = server.runtime, server.translator(request, signed_in)
    service = PrintoutService(runtime.uow, signed_in.actor, runtime.clock, runtime.settings.verify_key_bytes)
    try:
        verdict = await service.verify(code)
    except ServiceError as error:
        return server.render(request, "verify.html", 400, code=code, error=error.render(translate))
    lines = describe(verdict, translate, runtime.clock.tz)
    return server.render(request, "verify.html", code=verdict.code, genuine=lines[0], standing=lines[1],
                         changed=verdict.changed)


def register(app: web.Application) -> None:
    app.router.add_get("/verify", verify_page)
