"""What every response of the web chat carries, and what every request is held to.

- Strict headers: a Content-Security-Policy that allows only HoSo's own scripts, styles, images and
  connections (no CDN, no inline script, no frame around it), no referrer, no sniffing, no caching of
  anything but the static assets.
- Rate limits: token buckets per session (messages and presses) and per client address (sign-in and
  activation attempts, and requests of any kind).
- Errors: an HTTP error becomes a translated answer, JSON for the page's script and a page otherwise; a
  request body over the limit is refused before it is read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

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
MAX_BODY = 64 * 1024  # a message is at most 4 096 characters; no upload is taken on the web chat

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """`burst` requests at once, then `per_second`; buckets of keys not seen for a while are forgotten."""

    def __init__(self, burst: int, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst, self.rate, self.clock = burst, per_second, clock
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, key: str) -> bool:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > 50_000:
                self._forget(now)
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def _forget(self, now: float) -> None:
        full = self.burst / self.rate
        for key in [key for key, bucket in self._buckets.items() if now - bucket.at > full]:
            del self._buckets[key]


def client_address(request: web.Request) -> str:
    """The peer's address. Behind the reverse proxy, aiohttp's `request.remote` is the proxy's unless the
    proxy's forwarded headers are trusted by its configuration (see the README)."""
    return request.remote or "-"


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
