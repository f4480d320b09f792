"""A fake Telegram Bot API server for end-to-end tests and benchmarks (aiohttp.web, 127.0.0.1 only).

It serves `/bot{token}/{method}` (POST or GET; JSON, urlencoded or multipart bodies), answers the few
methods HoSo calls, long-polls `getUpdates` on a queue the test fills, and records every call so a
test can assert on it or wait for it:

    async with BotAPIStub(token=TOKEN) as stub:
        env["HOSO_TELEGRAM_API_BASE"] = stub.base_url
        ...                                     # launch the bot
        await stub.first_get_updates.wait()
        stub.enqueue_private_message("/start")
        reply = await stub.wait_for("sendMessage", lambda call: "HoSo" in call.params["text"], timeout=30)
        stub.enqueue_callback_query(reply, "some:data", user_id=424242)  # presses a button of that message

From synchronous code (a plain script), `with BotAPIStub.run_in_thread() as stub:` runs it on a
loop of its own in a daemon thread; `enqueue_*` may then be called from any thread, and
`stub.wait_for_sync(...)` blocks. `python -m tests.botapi_stub` serves one until Ctrl+C.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

HOST = "127.0.0.1"
MAX_POLL_TIMEOUT = 3.0  # a getUpdates never waits longer than this, whatever it asked for

# Form values arrive as strings: these are decoded to int/bool; values that look like JSON objects or
# arrays (reply_markup, commands, scope, allowed_updates...) are decoded as JSON. Everything else
# (text, secret_token, url...) stays a string.
_INT_FIELDS = frozenset({
    "chat_id", "from_chat_id", "message_id", "message_thread_id", "reply_to_message_id", "user_id",
    "offset", "limit", "timeout", "max_connections", "cache_time", "until_date",
})
_BOOL_FIELDS = frozenset({
    "drop_pending_updates", "protect_content", "disable_notification", "disable_web_page_preview",
    "show_alert", "allow_sending_without_reply", "only_if_banned",
})
_TOKEN_IN_PATH = re.compile(r"^bot(?P<token>[^/]+)$")


class ApiError(Exception):
    """Raise (or return) from a custom handler to answer `ok: false` with this code."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(f"{code}: {description}")
        self.code, self.description, self.retry_after = code, description, retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass
class Call:
    """One request the stub received."""

    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() when the request arrived
    token: str
    http_method: str = "POST"
    raw: dict[str, Any] = field(default_factory=dict)  # the values as sent, before decoding
    files: dict[str, bytes] = field(default_factory=dict)  # multipart file parts, by field name
    status: int = 200
    result: Any = None  # what the stub answered (for sendMessage: the message, as the bot received it)

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)


Handler = Callable[[Call], Any]


def _decode(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text[:1] in "{[":
        with contextlib.suppress(ValueError):
            return json.loads(text)
    if key in _INT_FIELDS and re.fullmatch(r"-?\d+", text):
        return int(text)
    if key in _BOOL_FIELDS and text in ("true", "false", "True", "False", "1", "0"):
        return text in ("true", "True", "1")
    return value


class BotAPIStub:
    """A fake Bot API on 127.0.0.1:<free port>. Not thread-safe except where stated."""

    def __init__(
        self,
        token: str | None = None,
        *,
        bot_id: int | None = None,
        username: str = "hoso_stub_bot",
        first_name: str = "HoSo (stub)",
        max_poll_timeout: float = MAX_POLL_TIMEOUT,
    ) -> None:
        """`token`: if given, any other token is answered 401 Unauthorized (and still recorded)."""
        self.token = token
        if bot_id is None:
            prefix = token.split(":", 1)[0] if token else ""
            bot_id = int(prefix) if prefix.isdigit() else 123456
        self.bot_user = {
            "id": bot_id,
            "is_bot": True,
            "first_name": first_name,
            "username": username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.max_poll_timeout = max_poll_timeout
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []  # queued, not yet confirmed by an offset
        self.handlers: dict[str, Handler] = {}
        self.port: int | None = None
        self.first_get_updates_at: float | None = None
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._closing = False
        # Created lazily on the serving loop (an Event binds to the loop it is first awaited on).
        self._first_get_updates: asyncio.Event | None = None
        self._recorded: asyncio.Event | None = None
        self._queued: asyncio.Event | None = None

    # -- life cycle ---------------------------------------------------------------------------------

    async def start(self) -> BotAPIStub:
        self._loop = asyncio.get_running_loop()
        self._first_get_updates, self._recorded, self._queued = asyncio.Event(), asyncio.Event(), asyncio.Event()
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/{bot}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0)
        await site.start()
        server = site._server  # aiohttp gives no public accessor for the bound port
        assert server is not None and server.sockets, "the stub is not listening"
        self.port = server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        self._closing = True
        self._wake(self._queued)  # long polls return at once
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotAPIStub:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """For HOSO_TELEGRAM_API_BASE."""
        if self.port is None:
            raise RuntimeError("the stub is not started")
        return f"http://{HOST}:{self.port}"

    # -- what the tests read ------------------------------------------------------------------------

    @property
    def first_get_updates(self) -> asyncio.Event:
        """Set when the first getUpdates arrives (its time is `first_get_updates_at`)."""
        if self._first_get_updates is None:
            raise RuntimeError("the stub is not started")
        return self._first_get_updates

    def calls_of(self, method: str, since: int = 0) -> list[Call]:
        return [call for call in self.calls[since:] if call.method == method]

    def methods(self) -> list[str]:
        return [call.method for call in self.calls]

    def find(self, method: str, predicate: Callable[[Call], bool] | None = None, since: int = 0) -> Call | None:
        for call in self.calls[since:]:
            if call.method == method and (predicate is None or predicate(call)):
                return call
        return None

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 10.0,
        since: int = 0,
    ) -> Call:
        """The first call of `method` (from index `since` of `calls`) that satisfies `predicate`,
        already recorded or arriving within `timeout` seconds; TimeoutError otherwise."""
        assert self._recorded is not None, "the stub is not started"
        deadline = time.monotonic() + timeout
        while True:
            found = self.find(method, predicate, since)
            if found is not None:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"no {method} call matched within {timeout:.1f}s; calls so far: {self.methods()}"
                )
            recorded = self._recorded
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(recorded.wait(), remaining)

    # -- what the tests feed ------------------------------------------------------------------------

    def enqueue_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates; an update_id is given if it has none. Thread-safe."""
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        self._call_on_loop(self._queue, update)
        return update

    def enqueue_private_message(
        self, text: str, user_id: int = 424242, *, first_name: str = "Nguyễn Văn", language_code: str = "vi"
    ) -> dict[str, Any]:
        """A text message from a user in their private chat with the bot (chat id = user id)."""
        return self.enqueue_update(self.private_message_update(text, user_id, first_name=first_name,
                                                               language_code=language_code))

    def enqueue_group_message(
        self, text: str, user_id: int = 424242, chat_id: int = -1001234567890, *, chat_type: str = "supergroup"
    ) -> dict[str, Any]:
        """A text message from a user in a group chat the bot is in."""
        return self.enqueue_update(self.group_message_update(text, user_id, chat_id, chat_type=chat_type))

    def private_message_update(
        self, text: str, user_id: int = 424242, *, first_name: str = "Nguyễn Văn", language_code: str = "vi"
    ) -> dict[str, Any]:
        """An update (with no update_id yet) to queue, or to POST to a webhook."""
        user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language_code}
        chat = {"id": user_id, "type": "private", "first_name": first_name}
        return {"message": self._incoming_message(text, user, chat)}

    def group_message_update(
        self, text: str, user_id: int = 424242, chat_id: int = -1001234567890, *, chat_type: str = "supergroup"
    ) -> dict[str, Any]:
        user = {"id": user_id, "is_bot": False, "first_name": "Trần Thị", "language_code": "vi"}
        chat = {"id": chat_id, "type": chat_type, "title": "Phòng Tổ chức"}
        return {"message": self._incoming_message(text, user, chat)}

    def enqueue_callback_query(
        self, message: Call | dict[str, Any], data: str, user_id: int = 424242, *, first_name: str = "Nguyễn Văn",
        language_code: str = "vi", check: bool = True,
    ) -> dict[str, Any]:
        """The user presses the inline button carrying `data` under `message`, a message the bot sent: its
        sendMessage `Call`, or the message dict it was answered with. With `check`, a button that is not on
        the message is refused (ValueError), as a real client could not press it."""
        return self.enqueue_update(self.callback_query_update(message, data, user_id, first_name=first_name,
                                                              language_code=language_code, check=check))

    def callback_query_update(
        self, message: Call | dict[str, Any], data: str, user_id: int = 424242, *, first_name: str = "Nguyễn Văn",
        language_code: str = "vi", check: bool = True,
    ) -> dict[str, Any]:
        """An update (with no update_id yet) for a pressed inline button; see `enqueue_callback_query`."""
        sent = message.result if isinstance(message, Call) else message
        if not isinstance(sent, dict) or "message_id" not in sent:
            raise ValueError("not a message the bot sent (was the call answered?)")
        if check:
            rows = sent.get("reply_markup", {}).get("inline_keyboard", [])
            pressable = [button.get("callback_data") for row in rows for button in row]
            if data not in pressable:
                raise ValueError(f"no button {data!r} under message {sent['message_id']}: {pressable}")
        user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language_code}
        query = {"id": str(next(self._callback_ids)), "from": user, "chat_instance": str(sent["chat"]["id"]),
                 "message": sent, "data": data}
        return {"callback_query": query}

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def on(self, method: str, handler: Handler) -> None:
        """Answer `method` with `handler(call)`: its return value is the result; raising or returning
        an ApiError answers ok:false. Replaces the built-in answer."""
        self.handlers[method] = handler

    # -- synchronous use ------------------------------------------------------------------------------

    @classmethod
    @contextlib.contextmanager
    def run_in_thread(cls, *args: Any, **kwargs: Any) -> Iterator[BotAPIStub]:
        """Serve a stub on a loop of its own in a daemon thread, for synchronous code."""
        stub = cls(*args, **kwargs)
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="botapi-stub", daemon=True)
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(stub.start(), loop).result(timeout=10)
            yield stub
        finally:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(stub.close(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()

    def wait_for_sync(self, method: str, predicate: Callable[[Call], bool] | None = None,
                      timeout: float = 10.0, since: int = 0) -> Call:
        """`wait_for` from another thread than the stub's (see `run_in_thread`)."""
        assert self._loop is not None, "the stub is not started"
        future = asyncio.run_coroutine_threadsafe(self.wait_for(method, predicate, timeout, since), self._loop)
        return future.result(timeout=timeout + 5)

    # -- serving ----------------------------------------------------------------------------------

    def _call_on_loop(self, function: Callable[..., Any], *args: Any) -> None:
        loop = self._loop
        if loop is None or not loop.is_running():
            function(*args)  # not serving yet: nothing is waiting on it
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            function(*args)
        else:
            loop.call_soon_threadsafe(function, *args)

    def _queue(self, update: dict[str, Any]) -> None:
        self.updates.append(update)
        self._wake(self._queued)

    def _wake(self, event: asyncio.Event | None) -> None:
        """Wake whoever waits on `event`, and arm a fresh one for the next waiters."""
        if event is None:
            return
        event.set()
        if event is self._queued:
            self._queued = asyncio.Event()
        elif event is self._recorded:
            self._recorded = asyncio.Event()

    def _incoming_message(self, text: str, user: dict[str, Any], chat: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return message

    async def _handle(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        method = request.match_info["method"]
        matched = _TOKEN_IN_PATH.match(request.match_info["bot"])
        if matched is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        raw, files = await self._read_params(request)
        call = Call(
            method=method,
            params={key: _decode(key, value) for key, value in raw.items()},
            at=arrived,
            token=matched["token"],
            http_method=request.method,
            raw=raw,
            files=files,
        )
        if method == "getUpdates" and self.first_get_updates_at is None:
            self.first_get_updates_at = arrived
            self.first_get_updates.set()
        self.calls.append(call)
        self._wake(self._recorded)
        try:
            if self.token is not None and call.token != self.token:
                raise ApiError(401, "Unauthorized")
            result = await self._answer(call)
            if isinstance(result, ApiError):
                raise result
            call.result = result
        except ApiError as error:
            call.status = error.code if 400 <= error.code < 600 else 400
            return web.json_response(error.payload(), status=call.status)
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, bytes] = {}
        if not request.can_read_body:
            return params, files
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = value.file.read()
                    params[key] = f"<file {value.filename}>"
                else:
                    params[key] = value
        return params, files

    async def _answer(self, call: Call) -> Any:
        custom = self.handlers.get(call.method)
        if custom is not None:
            result = custom(call)
            return await result if asyncio.iscoroutine(result) else result
        method = call.method
        if method == "getMe":
            return self.bot_user
        if method == "getUpdates":
            return await self._get_updates(call)
        if method in ("deleteWebhook", "setWebhook", "setMyCommands", "deleteMyCommands", "leaveChat",
                      "answerCallbackQuery", "deleteMessage", "sendChatAction", "close", "logOut"):
            return True
        if method == "getWebhookInfo":
            return {"url": "", "has_custom_certificate": False, "pending_update_count": len(self.updates)}
        if method == "sendMessage":
            return self._sent_message(call, next(self._message_ids))
        if method == "editMessageText":
            if call.get("inline_message_id"):
                return True
            message = self._sent_message(call, call.get("message_id") or next(self._message_ids))
            message["edit_date"] = int(time.time())
            return message
        raise ApiError(404, f"Not Found: method {method} is not implemented by the stub")

    def _sent_message(self, call: Call, message_id: int) -> dict[str, Any]:
        chat_id = call.get("chat_id")
        if chat_id is None:
            raise ApiError(400, "Bad Request: chat_id is empty")
        if "text" not in call.params:
            raise ApiError(400, "Bad Request: message text is empty")
        chat_type = "private" if not isinstance(chat_id, int) or chat_id > 0 else "supergroup"
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type},
            "from": self.bot_user,
            "text": call.params["text"],
        }
        markup = call.params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:  # Telegram returns the inline keyboard
            message["reply_markup"] = markup
        return message

    async def _get_updates(self, call: Call) -> list[dict[str, Any]]:
        offset = call.get("offset")
        limit = call.get("limit") or 100
        timeout = call.get("timeout") or 0
        if isinstance(offset, int) and offset > 0:
            # Telegram forgets every update below the offset: they are confirmed.
            self.updates = [update for update in self.updates if update["update_id"] >= offset]
        wait = min(float(timeout) if isinstance(timeout, (int, float)) else 0.0, self.max_poll_timeout)
        deadline = time.monotonic() + wait
        while True:
            pending = [u for u in self.updates if not isinstance(offset, int) or u["update_id"] >= offset]
            remaining = deadline - time.monotonic()
            if pending or remaining <= 0 or self._closing:
                return pending[: int(limit)]
            queued = self._queued
            assert queued is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(queued.wait(), remaining)


async def _serve_forever(token: str | None) -> None:
    async with BotAPIStub(token=token) as stub:
        print(f"Bot API stub on {stub.base_url} (HOSO_TELEGRAM_API_BASE={stub.base_url}); Ctrl+C stops it.")
        print("Type a line to send it as a private message; every call is printed.", flush=True)
        loop = asyncio.get_running_loop()
        seen = 0

        async def report() -> None:
            nonlocal seen
            while True:
                await asyncio.sleep(0.2)
                for call in stub.calls[seen:]:
                    if call.method != "getUpdates":
                        print(f"<- {call.method} {json.dumps(call.params, ensure_ascii=False)}", flush=True)
                seen = len(stub.calls)

        reporter = asyncio.create_task(report())
        try:
            while True:
                line = await loop.run_in_executor(None, input)
                if line.strip():
                    stub.enqueue_private_message(line.strip())
        except (EOFError, KeyboardInterrupt):
            pass
        finally:
            reporter.cancel()


if __name__ == "__main__":
    import sys

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(sys.argv[1] if len(sys.argv) > 1 else None))
