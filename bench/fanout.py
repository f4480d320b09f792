"""Fan-out of due reminders through a local Bot API stub that enforces Telegram's limits: 30 messages/s
overall and 1 message/s per chat, answering 429 when either is exceeded.

    python -m bench.fanout [--size 10000] [--chats 2000] [--kills 3]
    python -m bench.fanout --channels [--size 10000] [--zalo-rate 25]   (Telegram, Zalo and the web chat at once:
                                                                         bench/channels.py)

Two runs over the same number of reminders, each sent by `hoso reminders send-due` as a subprocess
(the cron path; `hoso run` drives the same sender):
1. uninterrupted: the achieved rate against the configured one (25/s), and the 429 answers (must be 0);
2. killed with SIGKILL at random moments `--kills` times, restarted each time: every reminder must reach
   the stub exactly once, except those marked ambiguous (caught mid-call), which are counted.

Everything stays on 127.0.0.1: the stub is an aiohttp server in this process, the database a temporary
SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from pathlib import Path

from aiohttp import web

GLOBAL_LIMIT, PER_CHAT_INTERVAL = 30, 1.0
CONFIGURED_RATE = 25.0
STARTUP = 5.0  # seconds before a `hoso` worker sends its first message
TOKEN = "123456:bench-fanout-token-not-a-secret"
HOSO = str(Path(sys.executable).with_name("hoso"))


class LimitedStub:
    """sendMessage only, with Telegram's flood limits; every accepted message is kept."""

    def __init__(self) -> None:
        self.window: deque[float] = deque()
        self.last_by_chat: dict[int, float] = {}
        self.received: list[tuple[float, int, str]] = []
        self.rejected = 0
        self.next_id = 1

    async def send_message(self, request: web.Request) -> web.Response:
        form = await request.post() if request.content_type != "application/json" else await request.json()
        chat, text, now = int(form["chat_id"]), str(form["text"]), time.monotonic()
        while self.window and now - self.window[0] >= 1.0:
            self.window.popleft()
        last = self.last_by_chat.get(chat)
        if len(self.window) >= GLOBAL_LIMIT or (last is not None and now - last < PER_CHAT_INTERVAL):
            self.rejected += 1
            return web.json_response({"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                                      "parameters": {"retry_after": 1}}, status=429)
        self.window.append(now)
        self.last_by_chat[chat] = now
        self.received.append((now, chat, text))
        self.next_id += 1
        return web.json_response({"ok": True, "result": {
            "message_id": self.next_id, "date": int(time.time()), "text": text,
            "chat": {"id": chat, "type": "private"}}})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(f"/bot{TOKEN}/sendMessage", self.send_message)
        return app


def seed(path: Path, size: int, chats: int) -> None:
    """A migrated database whose outbox holds `size` incident notices due now, spread over `chats`."""
    env = {**os.environ, "HOSO_DATABASE_URL": f"sqlite+aiosqlite:///{path}"}
    subprocess.run([HOSO, "init"], env=env, check=True, capture_output=True)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1)
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO outbox (key, kind, channel, address, payload, due_at, status, attempts, created_at) "
            "VALUES (?, 'incident', 'telegram', ?, ?, ?, 'pending', 0, ?)",
            [(f"bench:{n}", str(10_000_000 + n % chats), f'{{"text": "#{n}#"}}', now, now) for n in range(size)],
        )


def statuses(path: Path) -> Counter[str]:
    with sqlite3.connect(path) as db:
        return Counter(dict(db.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall()))


def worker(path: Path, api: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HOSO_DATABASE_URL": f"sqlite+aiosqlite:///{path}", "HOSO_BOT_TOKEN": TOKEN,
           "HOSO_TELEGRAM_API_BASE": api, "HOSO_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([HOSO, "reminders", "send-due"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


async def wait(process: subprocess.Popen[bytes], timeout: float | None = None) -> bool:
    """True when the process ended within `timeout` (None: however long)."""
    started = time.monotonic()
    while process.poll() is None:
        if timeout is not None and time.monotonic() - started > timeout:
            return False
        await asyncio.sleep(0.2)
    return True


async def bench(size: int, chats: int, kills: int, seed_value: int) -> bool:
    stub = LimitedStub()
    runner = web.AppRunner(stub.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    api = f"http://127.0.0.1:{port}"
    ok = True
    try:
        with tempfile.TemporaryDirectory() as folder:
            # 1. uninterrupted
            first = Path(folder) / "steady.db"
            seed(first, size, chats)
            started = time.monotonic()
            await wait(worker(first, api))
            elapsed = time.monotonic() - started
            times = [t for t, _c, _x in stub.received]
            span = (times[-1] - times[0]) if len(times) > 1 else 0.0
            rate = (len(times) - 1) / span if span else 0.0
            print(f"uninterrupted: {len(times):,} of {size:,} reminders to {chats:,} chats in {elapsed:.1f} s "
                  f"(process), first→last message {span:.1f} s")
            print(f"  achieved {rate:.2f} msg/s against the configured {CONFIGURED_RATE:.0f}/s = "
                  f"{rate / CONFIGURED_RATE:.1%} (target ≥ 95%); 429 answers: {stub.rejected} (target 0)")
            ok &= rate >= 0.95 * CONFIGURED_RATE and stub.rejected == 0 and len(times) == size

            # 2. killed at random moments, restarted
            stub.received.clear()
            stub.rejected = 0
            second = Path(folder) / "killed.db"
            seed(second, size, chats)
            rng = random.Random(seed_value)
            expected_duration = size / CONFIGURED_RATE
            for number in range(kills):
                process = worker(second, api)
                # The worker takes a few seconds to start (aiogram's import): kill it while it sends.
                delay = rng.uniform(STARTUP, STARTUP + max(1.0, expected_duration / (kills + 1)))
                if await wait(process, delay):
                    break
                process.send_signal(signal.SIGKILL)
                await wait(process)
                print(f"  kill -9 #{number + 1} after {delay:.1f} s: {len(stub.received):,} received so far")
            await wait(worker(second, api))
            counts = Counter(text for _t, _c, text in stub.received)
            final = statuses(second)
            twice = sum(1 for n in counts.values() if n > 1)
            missing = size - len(counts)
            print(f"killed {kills}×: {len(counts):,} distinct reminders received, {twice} received twice, "
                  f"{missing} never received; outbox: {dict(final)}")
            ambiguous = final.get("ambiguous", 0)
            print(f"  ambiguous (caught mid-call, counted and not resent): {ambiguous}; 429 answers: {stub.rejected}")
            ok &= twice == 0 and missing <= ambiguous and final.get("pending", 0) == 0
    finally:
        await runner.cleanup()
    print(f"\ntarget: ≥ 95% of the configured rate, zero 429, exactly once after kill -9 — {'met' if ok else 'MISSED'}")
    return ok


def run(runs: int = 1, size: int = 10_000, chats: int = 2_000, kills: int = 3) -> int:
    ok = True
    for number in range(runs):
        ok &= asyncio.run(bench(size, chats, kills, 2026 + number))
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if "--channels" in argv:  # every channel at once
        from bench import channels

        return channels.main([arg for arg in argv if arg != "--channels"])
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="reminders (default: 10000)")
    parser.add_argument("--chats", type=int, default=2_000, help="distinct chats (default: 2000)")
    parser.add_argument("--kills", type=int, default=3, help="SIGKILLs in the second run (default: 3)")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args(argv)
    if min(args.size, args.chats, args.runs) < 1 or args.kills < 0:
        parser.error("--size, --chats and --runs must be at least 1; --kills at least 0")
    return run(args.runs, args.size, args.chats, args.kills)


if __name__ == "__main__":
    sys.exit(main())
