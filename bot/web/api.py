"""What the page's script calls: the conversation's events (replayed, then live over a WebSocket), a typed
line, a button press, the command menu, and the files the bot sent.

Every call needs a live session; every state-changing one carries the session's CSRF token in the
`X-CSRF-Token` header. Refusals are JSON `{"error": "…"}` in the reader's language.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import BodyPartReader, WSCloseCode, WSMsgType, web

from bot.web.conversation import Event
from bot.web.security import Handler, RateLimiter
from bot.web.server import PRELOADED, SERVER, SIGNED_IN, WebServer
from bot.web.sessions import COOKIE, WebSignIn, same_token
from handlers.commands import COMMANDS
from handlers.views import MAX_MESSAGE_LENGTH
from services.core.actor import Channel
from services.core.identity import load_actor
from services.platform.attachments import MAX_BYTES as MAX_UPLOAD
from services.platform.audit import record

logger = logging.getLogger(__name__)

CSRF_HEADER = "X-CSRF-Token"
AFTER = re.compile(r"\d{1,18}")
INLINE_TYPES = frozenset({"image/png", "image/jpeg"})  # shown in the page; anything else is downloaded
RECHECK_EVERY = 30.0  # seconds: how soon an open page learns that its session has ended


class Refused(web.HTTPException):
    """A translated JSON refusal."""

    def __init__(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        super().__init__(text=json.dumps({"error": text}, ensure_ascii=False), content_type="application/json",
                         headers=headers)


def _server(request: web.Request) -> WebServer:
    return request.app[SERVER]


async def _signed_in(request: web.Request, changes: bool = False, feeds: bool = False) -> WebSignIn:
    """The request's live session, else a refusal. `changes`: it must carry the CSRF token; `feeds`: it feeds
    an update at once, whose sender is read with the session (bot/web/transport.py `Preloaded`)."""
    server = _server(request)
    signed_in = await server.signed_in(request, with_actor=feeds)
    if signed_in is None:
        raise Refused(401, server.error_text(request, "signed_out"))
    if changes and not same_token(signed_in.csrf, request.headers.get(CSRF_HEADER)):
        raise Refused(403, server.error_text(request, "csrf"))
    return signed_in


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise Refused(400, _server(request).error_text(request, "bad_request"))
    return body


def _limited(request: web.Request, signed_in: WebSignIn, limiter: RateLimiter | None = None) -> None:
    server = _server(request)
    limiter = limiter or server.limits.messages
    if not limiter.allow(f"session:{signed_in.session_id}"):
        raise Refused(429, server.error_text(request, "too_many"), {"Retry-After": str(limiter.retry_after())})


def _after_seq(request: web.Request) -> int:
    """`?after=N`: the last event the page has; anything else reads as 0 (all of them)."""
    value = request.query.get("after", "")
    return int(value) if AFTER.fullmatch(value) else 0


async def events(request: web.Request) -> web.StreamResponse:
    signed_in = await _signed_in(request)
    server = _server(request)
    after = _after_seq(request)
    secret = json.dumps(await server.chat.secret_prompt(signed_in.account_id))
    return web.Response(text=f'{{"events":{server.conversations.since_json(signed_in.account_id, after)},'
                             f'"secret":{secret}}}', content_type="application/json")


async def say(request: web.Request) -> web.StreamResponse:
    signed_in = await _signed_in(request, changes=True, feeds=True)
    body = await _json(request)
    text = body.get("text")
    server = _server(request)
    if not isinstance(text, str) or not text.strip():
        raise Refused(400, server.error_text(request, "bad_request"))
    if len(text) > MAX_MESSAGE_LENGTH:
        raise Refused(413, server.error_text(request, "too_long", limit=MAX_MESSAGE_LENGTH))
    _limited(request, signed_in)
    changes = server.runtime.database.sign_in_changes
    await server.chat.say(signed_in.account_id, signed_in.username, text, request.get(PRELOADED))
    return await _after(request, signed_in, changes)


async def _after(request: web.Request, signed_in: WebSignIn, changes: int) -> web.StreamResponse:
    """The answer to a line or a press, once handled. The update may have ended the session (/logout typed in
    the chat, a lockout at a password prompt): then every open page of the account is told. Only a commit
    that may end sign-ins can (storage/web_sessions.py marks them; `changes` is their count before the
    update), so the session is read again only after one, of this update or of any other meanwhile."""
    server = _server(request)
    if server.runtime.database.sign_in_changes != changes:
        request.pop(SIGNED_IN, None)
        if await server.signed_in(request) is None:
            server.conversations.end(signed_in.account_id)
    return web.json_response({"ok": True, "last": server.conversations.last_seq(signed_in.account_id)})


async def press(request: web.Request) -> web.StreamResponse:
    signed_in = await _signed_in(request, changes=True, feeds=True)
    body = await _json(request)
    server = _server(request)
    message_id, data = body.get("message_id"), body.get("data")
    if not isinstance(message_id, int) or not isinstance(data, str) or len(data) > 64:
        raise Refused(400, server.error_text(request, "bad_request"))
    _limited(request, signed_in)
    changes = server.runtime.database.sign_in_changes
    if not await server.chat.press(signed_in.account_id, signed_in.username, message_id, data,
                                 request.get(PRELOADED)):
        raise Refused(409, server.error_text(request, "no_button"))
    return await _after(request, signed_in, changes)


async def upload(request: web.Request) -> web.StreamResponse:
    """A file from the page, for the prompt under way (a form's scanned papers): one file, read in parts,
    at most the size a paper may have; the form checks its type as it checks Telegram's."""
    signed_in = await _signed_in(request, changes=True)
    server = _server(request)
    _limited(request, signed_in, server.limits.uploads)
    try:
        reader = await request.multipart()
        part = await reader.next()
    except (ValueError, AssertionError):  # not multipart at all
        raise Refused(400, server.error_text(request, "bad_request")) from None
    if not isinstance(part, BodyPartReader) or part.name != "file" or not part.filename:
        raise Refused(400, server.error_text(request, "bad_request"))
    content = bytearray()
    while chunk := await part.read_chunk(65536):
        content += chunk
        if len(content) > MAX_UPLOAD:
            raise Refused(413, server.error_text(request, "too_large"))
    changes = server.runtime.database.sign_in_changes
    await server.chat.upload(signed_in.account_id, signed_in.username, Path(part.filename).name[:128], bytes(content))
    return await _after(request, signed_in, changes)


async def commands(request: web.Request) -> web.StreamResponse:
    """The command menu, as a Telegram client shows it: here, those the account's role may use."""
    signed_in = await _signed_in(request)
    server = _server(request)
    actor = await load_actor(server.runtime.uow, Channel.WEB, signed_in.account_id)
    translate = server.translator(request, signed_in)
    listed = [{"command": spec.command, "description": translate(spec.description)}
              for spec in COMMANDS if spec.available_to(actor)]
    return web.json_response({"commands": listed})


async def live(request: web.Request) -> web.StreamResponse:
    """The conversation's events as they happen, after those the page has not seen (`?after=`)."""
    signed_in = await _signed_in(request)
    server = _server(request)
    origin = request.headers.get("Origin")
    if origin is not None and origin_of(origin) not in (origin_of(f"{request.scheme}://{request.host}"),
                                                       origin_of(server.runtime.settings.web_address)):
        raise Refused(403, server.error_text(request, "bad_request"))  # another site's page
    # A page that does not answer the closing handshake is not waited for long (a shutdown closes every page).
    socket = web.WebSocketResponse(heartbeat=30.0, max_msg_size=1024, timeout=2.0)
    await socket.prepare(request)
    account = signed_in.account_id
    queue = server.conversations.join(account)  # joined before the replay: nothing falls in between
    page = asyncio.current_task()
    if page is not None:
        server.pages.add(page)
    server.page_opened(account)
    after = _after_seq(request)
    try:
        last = after
        for seq, _type, _message, text in server.conversations.since(account, after):
            await socket.send_str(text)
            last = seq
        reader = asyncio.create_task(_until_closed(socket))
        while not reader.done():
            getter = asyncio.create_task(queue.get())
            done, _pending = await asyncio.wait({getter, reader}, timeout=RECHECK_EVERY,
                                                return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                if reader.done():
                    break
                # Re-read, without counting as activity: a sign-out elsewhere, a reset or a revocation ends it.
                if await server.sessions.current(server.cookie(request, COOKIE), touch=False) is None:
                    await socket.send_json({"seq": 0, "type": "signed_out"})
                    break
                continue
            seq, kind, _message, text = getter.result()
            if seq > last or kind != "message":
                await socket.send_str(text)
                last = max(last, seq)
            if kind == "signed_out":
                break
    except (ConnectionResetError, asyncio.CancelledError):
        pass  # the page went, or the server is shutting down: the socket is closed below
    finally:
        server.conversations.leave(account, queue)
        if page is not None:
            server.pages.discard(page)
        with contextlib.suppress(Exception):
            await socket.close(code=WSCloseCode.GOING_AWAY)
    return socket


def origin_of(url: str) -> tuple[str, str]:
    """Scheme and host (with its port) of an address: what an Origin header names."""
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


async def _until_closed(socket: web.WebSocketResponse) -> None:
    async for message in socket:  # the page sends nothing; its pings are answered by aiohttp
        if message.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
            break


async def download(request: web.Request) -> web.StreamResponse:
    """A file the bot sent to this account, while it has not expired; audited like any read."""
    signed_in = await _signed_in(request)
    server = _server(request)
    kept = server.files.get(signed_in.account_id, request.match_info["file_id"], server.runtime.clock.now())
    if kept is None:
        raise Refused(404, server.error_text(request, "not_found"))
    actor = await load_actor(server.runtime.uow, Channel.WEB, signed_in.account_id)
    async with server.runtime.uow.write() as repos:
        await record(repos, server.runtime.clock, actor, "web.file_download", "file", kept.name)
    inline = request.query.get("inline") == "1" and kept.content_type in INLINE_TYPES
    disposition = "inline" if inline else "attachment"
    response = web.FileResponse(kept.path, headers={
        "Content-Type": kept.content_type,
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(kept.name, safe='')}",
    })
    return response


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every HTTP error in the reader's language; the page's script gets JSON, a browser a short page."""
    server = _server(request)
    if not request.path.startswith("/static/") and not server.limits.requests.allow(server.client_address(request)):
        return _too_many(request, server.limits.requests)
    try:
        return await handler(request)
    except Refused:
        raise
    except web.HTTPRedirection:
        raise
    except web.HTTPRequestEntityTooLarge:
        return _refusal(request, 413, server.error_text(request, "too_large"))
    except web.HTTPException as error:
        key = {404: "not_found", 405: "bad_request", 403: "csrf", 401: "signed_out", 429: "too_many"}.get(
            error.status, "bad_request")
        refusal = _refusal(request, error.status, server.error_text(request, key))
        if "Allow" in error.headers:
            refusal.headers["Allow"] = error.headers["Allow"]
        return refusal
    except Exception:  # an incident: logged with identifiers only, the reader gets a translated apology
        logger.exception("web chat request %s %s failed", request.method, request.path)
        return _refusal(request, 500, server.error_text(request, "failed"))


def _too_many(request: web.Request, limiter: RateLimiter) -> web.StreamResponse:
    refusal = _refusal(request, 429, _server(request).error_text(request, "too_many"))
    refusal.headers["Retry-After"] = str(limiter.retry_after())
    return refusal


def _refusal(request: web.Request, status: int, text: str) -> web.StreamResponse:
    if request.path.startswith(("/api/", "/files/", "/ws")):
        return web.json_response({"error": text}, status=status)
    return _server(request).render(request, "error.html", status, message=text)


def register(app: web.Application) -> None:
    app.router.add_get("/api/events", events)
    app.router.add_post("/api/say", say)
    app.router.add_post("/api/press", press)
    app.router.add_post("/api/upload", upload)
    app.router.add_get("/api/commands", commands)
    app.router.add_get("/ws", live)
    app.router.add_get("/files/{file_id}", download)


__all__ = ["Event", "register", "errors"]
