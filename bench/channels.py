"""Fan-out across channels at once: reminders split over Telegram, Zalo and the web chat, each channel's outbox
sender at its own pace, against local doubles (Telegram's flood limits; the Zalo Bot API double; the web chat's
in-process conversations), all three draining together as `hoso run` drives them.

    python -m bench channels [--size 10000] [--chats 2000] [--zalo-rate 25]
    python -m bench fanout --channels …       (the same)

Per channel: messages received, first→last seconds, the achieved rate against the configured one, refusals
(429 or others), and duplicates (must be 0). Everything stays on 127.0.0.1 with a temporary SQLite database.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.fanout import TOKEN, LimitedStub
from bot.factory import create_bot
from bot.jobs import WEB_RATE, sender_for
from bot.runtime import open_runtime
from bot.sender import DEFAULT_RATE, OutboxSender
from bot.settings import Settings
from bot.web.conversation import Conversations
from bot.web.files import FileStore
from bot.web.transport import WEB_BOT_TOKEN, WebBotSession
from bot.zalo.client import ZaloClient
from bot.zalo.session import ZALO_BOT_TOKEN, ZaloBotSession
from tests.zalo_stub import ZaloStub

ZALO_TOKEN = "1234567890:bench-channels-token-not-a-secret"
CHANNELS = ("telegram", "zalo", "web")


class CountingWebSession(WebBotSession):
    """The web chat's session, every account's page open; each message it publishes is timed."""

    reachable = None  # type: ignore[assignment]

    def __init__(self, folder: Path, clock: Any) -> None:
        super().__init__(Conversations(), FileStore(folder), clock)
        self.received: list[tuple[float, str]] = []

    def _publish(self, bot: Any, method: Any, result: Any) -> None:
        text = getattr(method, "text", None)
        if isinstance(text, str):
            self.received.append((time.monotonic(), text))


def seed(path: Path, size: int, chats: int) -> None:
    """`size` incident notices due now, one channel in three each, `chats` addresses per channel."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1)

    def address(channel: str, n: int) -> str:
        chat = n % chats
        return f"{0xA000000 + chat:016x}" if channel == "zalo" else str(10_000_000 + chat)

    rows = []
    for n in range(size):
        channel = CHANNELS[n % 3]
        rows.append((f"bench:{n}", channel, address(channel, n // 3), json.dumps({"text": f"#{n}#"}), now, now))
    with sqlite3.connect(path) as db:
        db.executemany("INSERT INTO outbox (key, kind, channel, address, payload, due_at, status, attempts, created_at)"
                       " VALUES (?, 'incident', ?, ?, ?, ?, 'pending', 0, ?)", rows)


def measure(name: str, times: list[float], texts: list[str], configured: float, refused: int,
            expected: int) -> bool:
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    rate = (len(times) - 1) / span if span else 0.0
    numbers = Counter(text.split("#")[1] for text in texts if text.count("#") >= 2)
    twice = sum(1 for count in numbers.values() if count > 1)
    print(f"{name:9} {len(numbers):6,} of {expected:,} received, first→last {span:6.1f} s, {rate:7.2f} msg/s against "
          f"the configured {configured:g}/s = {rate / configured:6.1%}; refusals {refused}; duplicates {twice}")
    return twice == 0 and len(numbers) == expected


async def bench(size: int, chats: int, zalo_rate: float) -> bool:
    telegram = LimitedStub()
    runner = web.AppRunner(telegram.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    api = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "channels.db"
            settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{path}", zalo_rate=zalo_rate,
                                files_dir=Path(folder) / "files", log_level="WARNING")
            async with ZaloStub(ZALO_TOKEN) as zalo, open_runtime(settings) as runtime:
                await runtime.database.upgrade()
                seed(path, size, chats)
                telegram_bot = create_bot(TOKEN, api)
                zalo_bot = create_bot(ZALO_BOT_TOKEN, session=ZaloBotSession(ZaloClient(ZALO_TOKEN, zalo.base_url),
                                                                             settings.web_address))
                web_session = CountingWebSession(Path(folder) / "web", runtime.clock)
                web_bot = create_bot(WEB_BOT_TOKEN, session=web_session)
                senders: list[OutboxSender] = [sender_for(runtime, bot) for bot in (telegram_bot, zalo_bot, web_bot)]
                started = time.monotonic()
                await asyncio.gather(*(sender.drain() for sender in senders))
                elapsed = time.monotonic() - started
                for bot in (telegram_bot, zalo_bot, web_bot):
                    await bot.session.close()
            expected = {channel: len(range(index, size, 3)) for index, channel in enumerate(CHANNELS)}
            zalo_sent = zalo.calls_of("sendMessage")
            print(f"{size:,} reminders over {chats:,} addresses a channel, all channels at once: {elapsed:.1f} s")
            results: list[bool] = []
            results.append(measure("telegram", [t for t, _c, _x in telegram.received], [x for _t, _c, x in telegram.received],
                                   DEFAULT_RATE, telegram.rejected, expected["telegram"]))
            results.append(measure("zalo", [call.at for call in zalo_sent], [call.params["text"] for call in zalo_sent],
                                   zalo_rate, len(zalo.calls_of("sendMessage", ok=False)), expected["zalo"]))
            results.append(measure("web", [t for t, _x in web_session.received], [x for _t, x in web_session.received],
                                   WEB_RATE, 0, expected["web"]))
    finally:
        await runner.cleanup()
    ok = all(results)
    print(f"target: every reminder once on its channel, no duplicate — {'met' if ok else 'MISSED'}")
    return ok


def run(runs: int = 1, size: int = 10_000, chats: int = 2_000, zalo_rate: float = 25.0) -> int:
    ok = True
    for _number in range(runs):
        ok &= asyncio.run(bench(size, chats, zalo_rate))
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.channels", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="reminders, all channels (default: 10000)")
    parser.add_argument("--chats", type=int, default=2_000, help="addresses per channel (default: 2000)")
    parser.add_argument("--zalo-rate", type=float, default=25.0,
                        help="HOSO_ZALO_RATE for the run (default: 25; the product's default is 5)")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args(argv)
    if min(args.size, args.chats, args.runs) < 1 or args.zalo_rate <= 0:
        parser.error("--size, --chats and --runs must be at least 1; --zalo-rate above 0")
    return run(args.runs, args.size, args.chats, args.zalo_rate)


if __name__ == "__main__":
    sys.exit(main())
