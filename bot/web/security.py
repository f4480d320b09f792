"""What every response of the web chat carries, and what every request is held to.

- Strict headers: a Content-Security-Policy that allows only HoSo's own scripts, styles, images and
  connections (no CDN, no inline script, no frame around it), no referrer, no sniffing, no caching of
  anything but the static assets.
- Rate limits: token buckets per session (messages and presses; uploads apart) and per client address
  (sign-in and activation attempts, and requests of any kind); behind a trusted proxy the address is the
  client's, read from X-Forwarded-For.
- Errors: an HTTP error becomes a translated answer, JSON for the page's script and a page otherwise; a
  request body over the limit is refused before it is read.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from aiohttp import web

logger = logging.getLogger(__name__)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
MAX_BODY = 64 * 1024  # a message is at most 4 096 characters; an upload is read in parts, apart (api.upload)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RateLimiter:
    """`burst` requests at once, then `per_second`. At most `keys` buckets are kept, the least recently
    used going first (a stream of new keys costs one bucket each, never a scan)."""

    def __init__(self, burst: int, per_second: float, clock: Callable[[], float] = time.monotonic,
                 keys: int = 50_000) -> None:
        self.burst, self.rate, self.clock, self.keys = burst, per_second, clock, keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key → (tokens, at)

    def allow(self, key: str) -> bool:
        now = self.clock()
        tokens, at = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        if len(self._buckets) > self.keys:
            self._buckets.popitem(last=False)
        return allowed

    def retry_after(self) -> int:
        """Seconds until one more request is allowed to an empty bucket."""
        return max(1, math.ceil(1.0 / self.rate))


def client_address(request: web.Request, trusted_proxies: frozenset[str] = frozenset()) -> str:
    """The client's address. Behind one of the trusted reverse proxies, the nearest address of
    X-Forwarded-For that is not itself a trusted proxy; otherwise the peer (which a proxy not declared
    in HOSO_WEB_TRUSTED_PROXIES makes the proxy's own)."""
    peer = request.remote or "-"
    if peer not in trusted_proxies:
        return peer
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
    for address in reversed(forwarded):
        if address not in trusted_proxies:
            return address
    return peer


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as error:
        response = error
        _secure(request, response)
        raise
    _secure(request, response)
    return response


def _secure(request: web.Request, response: web.StreamResponse) -> None:
    if response.prepared:  # a WebSocket or a streamed file: its headers left already, set before prepare
        return
    response.headers.update(HEADERS)
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"
    if request.app.get(SECURE_KEY):
        response.headers["Strict-Transport-Security"] = "max-age=31536000"


SECURE_KEY = web.AppKey("secure", bool)
