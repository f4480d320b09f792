"""An aiohttp client of the Zalo Bot API (`POST {base}/bot{token}/{method}`, a JSON body).

Zalo answers `{"ok": true, "result": …}` or `{"ok": false, "error_code": N, "description": "…"}`, and the HTTP
status is not to be trusted either way: `ok` in the body decides. Ids are opaque strings. The URL carries the
token, so it never appears in an error or a log line: an error names the method only.

Why not `python-zalo-bot`: it sends form-encoded bodies where the API documents JSON, defaults to the older host,
and never checks `ok` (a refused send returns None in silence); nine methods over aiohttp are simpler to trust.
"""

from __future__ import annotations

from typing import Any

import aiohttp

DEFAULT_BASE = "https://bot-api.zaloplatforms.com"
# The documented methods: anything else is a programming error, refused before it leaves.
METHODS = frozenset({"getMe", "getUpdates", "setWebhook", "getWebhookInfo", "deleteWebhook", "sendMessage",
                     "sendPhoto", "sendSticker", "sendChatAction"})
MAX_TEXT = 2000  # characters a message, the documented limit


class ZaloError(Exception):
    """An answer with `ok` not true. `code` is Zalo's `error_code`, else the HTTP status."""

    def __init__(self, method: str, code: int, description: str) -> None:
        super().__init__(f"{method}: {code} {description}")
        self.method, self.code, self.description = method, code, description


class ZaloNetworkError(Exception):
    """No answer: `connected` False when the connection was never made (the request cannot have been applied)."""

    def __init__(self, method: str, reason: str, connected: bool) -> None:
        super().__init__(f"{method}: {reason}")
        self.method, self.connected = method, connected


class ZaloClient:
    def __init__(self, token: str, base: str = DEFAULT_BASE, timeout: float = 40.0) -> None:
        self._token, self.base, self.timeout = token, base.rstrip("/"), timeout
        self._http: aiohttp.ClientSession | None = None

    async def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._http

    async def call(self, method: str, http_timeout: float | None = None, **params: Any) -> Any:
        if method not in METHODS:
            raise ValueError(f"not a Zalo Bot API method: {method}")
        body = {name: value for name, value in params.items() if value is not None}
        http = await self._session()
        request_timeout = aiohttp.ClientTimeout(total=http_timeout) if http_timeout is not None else None
        try:
            async with http.post(f"{self.base}/bot{self._token}/{method}", json=body,
                                 timeout=request_timeout) as response:
                status = response.status
                try:
                    answer = await response.json(content_type=None)
                except ValueError:
                    answer = None
        except aiohttp.ClientConnectorError:
            raise ZaloNetworkError(method, "cannot connect", connected=False) from None
        except (aiohttp.ClientError, TimeoutError) as exc:  # the URL is never quoted: it holds the token
            raise ZaloNetworkError(method, type(exc).__name__, connected=True) from None
        if not isinstance(answer, dict):
            raise ZaloError(method, status, "the answer is not a JSON object")
        if answer.get("ok") is not True:
            code = answer.get("error_code")
            raise ZaloError(method, code if isinstance(code, int) else status, str(answer.get("description") or ""))
        return answer.get("result")

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
