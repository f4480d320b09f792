"""A local double of the Zalo Bot API, written for HoSo's tests and benchmarks (aiohttp.web, 127.0.0.1 only).

It holds HoSo to the strictest reading of the documentation (the summary in the project's reference notes):

- `POST /bot{token}/{method}` with a JSON object body; every answer is HTTP 200 with `{"ok": true, "result": …}`
  or `{"ok": false, "error_code": N, "description": …}`, unless a test injects another HTTP status: the body
  decides, never the status;
- only the documented methods and, for each, only its documented parameters (anything else: `ok: false`);
- ids are strings: a numeric `chat_id` is refused; a text is 1 to 2 000 characters (counted in UTF-16 units);
- `getUpdates` hands each update out once (no offset), long-polls up to its `timeout` (a string), and fails
  while a webhook is set; `setWebhook` takes only an HTTPS address and a secret of 8 to 256 characters;
- answers can be injected for the next calls of a method (`fail`): a 429-like refusal, a 5xx, a 403;
- `post_update` delivers an update to a webhook as Zalo does, with `X-Bot-Api-Secret-Token`.

    async with ZaloStub(token=TOKEN) as zalo:
        env["HOSO_ZALO_API_BASE"] = zalo.base_url
        zalo.say("user-hex-id", "/start")
        reply = await zalo.wait_for("sendMessage", lambda call: "HoSo" in call.params["text"])
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

HOST = "127.0.0.1"
MAX_TEXT = 2000
SECRET_HEADER = "X-Bot-Api-Secret-Token"
# method → the parameters it takes (documented), and those it requires.
METHODS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "getMe": (frozenset(), frozenset()),
    "getUpdates": (frozenset({"timeout"}), frozenset()),
    "setWebhook": (frozenset({"url", "secret_token"}), frozenset({"url", "secret_token"})),
    "getWebhookInfo": (frozenset(), frozenset()),
    "deleteWebhook": (frozenset(), frozenset()),
    "sendMessage": (frozenset({"chat_id", "text", "parse_mode"}), frozenset({"chat_id", "text"})),
    "sendPhoto": (frozenset({"chat_id", "photo", "caption"}), frozenset({"chat_id", "photo"})),
    "sendSticker": (frozenset({"chat_id", "sticker"}), frozenset({"chat_id", "sticker"})),
    "sendChatAction": (frozenset({"chat_id", "action"}), frozenset({"chat_id", "action"})),
}


def characters(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class Refusal(Exception):
    def __init__(self, code: int, description: str, http_status: int = 200) -> None:
        super().__init__(f"{code}: {description}")
        self.code, self.description, self.http_status = code, description, http_status

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error_code": self.code, "description": self.description}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    token: str
    ok: bool = True
    result: Any = None
    error: int | None = None


@dataclass
class Injected:
    code: int
    description: str
    http_status: int = 200
    when: Callable[[dict[str, Any]], bool] | None = None


@dataclass
class ZaloStub:
    token: str
    bot_id: str = "a1b2c3d4e5f60718"
    send_delay: float = 0.0  # seconds each sendMessage takes to answer (a slow network, for kill -9 tests)
    calls: list[Call] = field(default_factory=list)
    webhook: dict[str, Any] | None = None
    port: int | None = None

    def __post_init__(self) -> None:
        self._updates: deque[dict[str, Any]] = deque()
        self._message_ids = itertools.count(1)
        self._injected: dict[str, list[Injected]] = {}
        self._runner: web.AppRunner | None = None
        self._changed: asyncio.Event | None = None
        self._queued: asyncio.Event | None = None

    # -- life cycle ---------------------------------------------------------------------------------
    async def start(self) -> ZaloStub:
        self._changed, self._queued = asyncio.Event(), asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{bot}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0)
        await site.start()
        server = site._server  # aiohttp gives no public accessor for the bound port
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._queued is not None:
            self._queued.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> ZaloStub:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        assert self.port is not None, "the stub is not started"
        return f"http://{HOST}:{self.port}"

    # -- what tests feed ----------------------------------------------------------------------------
    @staticmethod
    def update(user_id: str, text: str | None = None, event: str = "message.text.received",
               chat_id: str | None = None, chat_type: str = "PRIVATE", envelope: bool = True,
               **message: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message_id": f"m{time.monotonic_ns():x}",
            "date": int(time.time() * 1000),
            "from": {"id": user_id, "display_name": "Người dùng Zalo", "is_bot": False},
            "chat": {"id": chat_id or user_id, "chat_type": chat_type},
            **message,
        }
        if text is not None:
            body["text"] = text
        update = {"event_name": event, "message": body}
        return {"ok": True, "result": update} if envelope else update

    def enqueue(self, update: dict[str, Any]) -> None:
        """An update for the next getUpdates."""
        self._updates.append(update)
        assert self._queued is not None
        self._queued.set()

    def say(self, user_id: str, text: str, **options: Any) -> None:
        self.enqueue(self.update(user_id, text, **options))

    def fail(self, method: str, code: int, description: str, times: int = 1, http_status: int = 200,
             when: Callable[[dict[str, Any]], bool] | None = None) -> None:
        """The next `times` calls of `method` (matching `when`) are refused with this answer."""
        self._injected.setdefault(method, []).extend(
            Injected(code, description, http_status, when) for _ in range(times))

    async def post_update(self, url: str, update: dict[str, Any], secret: str | None) -> tuple[int, str]:
        """Deliver an update to a webhook as Zalo does; the HTTP status and body of its answer."""
        headers = {} if secret is None else {SECRET_HEADER: secret}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            async with http.post(url, json=update, headers=headers) as response:
                return response.status, await response.text()

    # -- what tests read ----------------------------------------------------------------------------
    def calls_of(self, method: str, ok: bool | None = True) -> list[Call]:
        return [call for call in self.calls if call.method == method and (ok is None or call.ok == ok)]

    def texts_to(self, chat_id: str) -> list[str]:
        """What reached a chat, in order (refused sends left out)."""
        return [call.params["text"] for call in self.calls_of("sendMessage") if call.params["chat_id"] == chat_id]

    def find(self, method: str, predicate: Callable[[Call], bool] | None = None, since: int = 0,
             ok: bool | None = True) -> Call | None:
        for call in self.calls[since:]:
            if call.method == method and (ok is None or call.ok == ok) and (predicate is None or predicate(call)):
                return call
        return None

    async def wait_for(self, method: str, predicate: Callable[[Call], bool] | None = None, timeout: float = 30.0,
                       since: int = 0) -> Call:
        assert self._changed is not None, "the stub is not started"
        deadline = time.monotonic() + timeout
        while True:
            found = self.find(method, predicate, since)
            if found is not None:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {method} matched within {timeout:.0f}s; calls: "
                                   f"{[call.method for call in self.calls][-20:]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))

    # -- answers ------------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        bot, method = request.match_info["bot"], request.match_info["method"]
        token = bot[3:] if bot.startswith("bot") else ""
        call = Call(method, {}, time.monotonic(), token)
        try:
            call.params = await self._params(request)
            call.result = await self._answer(call)
            body: dict[str, Any] = {"ok": True, "result": call.result}
            status = 200
        except Refusal as refusal:
            call.ok, call.error = False, refusal.code
            body, status = refusal.body(), refusal.http_status
        self.calls.append(call)
        assert self._changed is not None
        self._changed.set()
        return web.json_response(body, status=status)

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        if request.method != "POST":
            raise Refusal(405, "Method Not Allowed: POST with a JSON body")
        if request.content_type != "application/json":
            raise Refusal(400, "Bad Request: the body must be JSON")
        try:
            params = json.loads(await request.text() or "{}")
        except ValueError:
            raise Refusal(400, "Bad Request: the body is not JSON") from None
        if not isinstance(params, dict):
            raise Refusal(400, "Bad Request: the body must be a JSON object")
        return params

    async def _answer(self, call: Call) -> Any:
        if call.token != self.token:
            raise Refusal(401, "Unauthorized")
        if call.method not in METHODS:
            raise Refusal(404, f"Not Found: no method {call.method}")
        allowed, required = METHODS[call.method]
        unknown = set(call.params) - allowed
        if unknown:
            raise Refusal(400, f"Bad Request: unknown parameter {sorted(unknown)[0]}")
        missing = required - set(call.params)
        if missing:
            raise Refusal(400, f"Bad Request: missing parameter {sorted(missing)[0]}")
        if "chat_id" in call.params and not (isinstance(call.params["chat_id"], str) and call.params["chat_id"]):
            raise Refusal(400, "Bad Request: chat_id must be a string")
        for injected in list(self._injected.get(call.method, [])):
            if injected.when is None or injected.when(call.params):
                self._injected[call.method].remove(injected)
                raise Refusal(injected.code, injected.description, injected.http_status)
        return await getattr(self, f"_{call.method}")(call.params)

    async def _getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"id": self.bot_id, "account_name": "HoSo (Zalo double)", "account_type": "BASIC",
                "can_join_groups": False}

    async def _getUpdates(self, params: dict[str, Any]) -> Any:
        timeout = params.get("timeout", "30")
        if not isinstance(timeout, str) or not timeout.isdigit():
            raise Refusal(400, "Bad Request: timeout must be a string of seconds")
        if self.webhook is not None:
            raise Refusal(409, "Conflict: a webhook is set")
        assert self._queued is not None
        deadline = time.monotonic() + min(float(timeout), 3.0)
        while not self._updates:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._runner is None:
                raise Refusal(408, "Request Timeout: no update")
            self._queued.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queued.wait(), remaining)
        update = self._updates.popleft()
        return update.get("result", update) if "event_name" not in update else update

    async def _setWebhook(self, params: dict[str, Any]) -> dict[str, Any]:
        url, secret = params["url"], params["secret_token"]
        if not isinstance(url, str) or not url.startswith("https://"):
            raise Refusal(400, "Bad Request: the webhook must be an HTTPS address")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            raise Refusal(400, "Bad Request: secret_token must have 8 to 256 characters")
        self.webhook = {"url": url, "secret_token": secret, "updated_at": int(time.time() * 1000)}
        return {"url": url, "updated_at": self.webhook["updated_at"]}

    async def _getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": (self.webhook or {}).get("url", ""), "updated_at": (self.webhook or {}).get("updated_at", 0)}

    async def _deleteWebhook(self, params: dict[str, Any]) -> dict[str, Any]:
        info = await self._getWebhookInfo(params)
        self.webhook = None
        return info

    async def _sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text = params["text"]
        if not isinstance(text, str) or not 1 <= characters(text) <= MAX_TEXT:
            raise Refusal(400, "Bad Request: text must have 1 to 2000 characters")
        if params.get("parse_mode") not in (None, "markdown", "html"):
            raise Refusal(400, "Bad Request: parse_mode is markdown or html")
        if self.send_delay:
            await asyncio.sleep(self.send_delay)
        return {"message_id": f"z{next(self._message_ids)}", "date": int(time.time() * 1000)}

    async def _sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        if not str(params["photo"]).startswith(("http://", "https://")):
            raise Refusal(400, "Bad Request: photo must be a URL")
        if characters(str(params.get("caption", ""))) > MAX_TEXT:
            raise Refusal(400, "Bad Request: caption too long")
        return {"message_id": f"z{next(self._message_ids)}", "date": int(time.time() * 1000)}

    async def _sendSticker(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"message_id": f"z{next(self._message_ids)}", "date": int(time.time() * 1000)}

    async def _sendChatAction(self, params: dict[str, Any]) -> bool:
        if params["action"] not in ("typing", "upload_photo"):
            raise Refusal(400, "Bad Request: unknown action")
        return True
