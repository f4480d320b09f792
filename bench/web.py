"""The web chat over real loopback HTTP, against `hoso web` running in its own process on a seeded province.

1. /find through the web chat, signed in as the demo admin (the whole province): from the page's
   POST /api/say "/find <query>" until the bot's reply reaches the page's WebSocket, which is when the page
   renders it (the POST's own 200 is shown beside it). In the same run, interleaved query by query, the same
   queries through the Telegram transport as `bench.find` measures them (Dispatcher.feed_update with the
   in-process Bot API, in this process, same database, same account): p50, p95, max and count of both.
2. N signed-in web sessions at once, each its own browser (cookies, CSRF token, WebSocket) of its own
   account, in a loop: /find, then open one of its results (POST /api/press on the result's button), then the
   next /find. Throughput, latency (request → reply on the WebSocket: p50, p95, p99), errors (any non-200,
   timeouts, exceptions, a reply that is not the one asked for) and the server's peak memory. Two user
   models, one after the other on the same signed-in sessions, S seconds each, printed side by side:
   - capacity: no think time, each session asks again as soon as its reply came (closed loop). Its p95 is
     bound below by queueing (N / throughput), so this run gives the capacity, not a latency to meet;
   - clerks: each session waits a think time after each reply, drawn from an exponential distribution of
     mean --think seconds (default 5: a brisk clerk, who types a name, glances at the list and opens a card
     in a few seconds; a real one reads a card far longer). The issue's target (0 errors, p95 < 100 ms)
     is judged on this run.

    python -m bench web [--size 200000] [--sessions 200] [--seconds 60] [--queries 300] [--think 5]
                        [--models both|capacity|clerks] [--runs 1] [--part both|find|load] [--db PATH]
                        [--profile FILE]

The seeded database (`bench.seed`'s cache) is copied to a temporary directory first: the accounts, sessions
and audit rows the run writes never reach the cache. The load accounts (clerks and managers spread over the
province's units) are issued and activated through the services before the server starts; their password is
random and never printed.

Everything talks to 127.0.0.1: the server listens there. Each browser of the load connects from its own
loopback address (127.1.x.y) because the server limits requests and sign-in attempts per client address,
as it would see 200 users at 200 desks; its per-session limit (30 at once, then 10/s) is respected by pacing
each session at 8 requests/s at most.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import json
import os
import pstats
import random
import re
import secrets
import signal
import socket
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import ClientSession, ClientTimeout, CookieJar, TCPConnector, WSMsgType
from sqlalchemy import text

from bench.find import (
    KINDS,
    SEED,
    WARMUP,
    BenchError,
    FindDriver,
    Query,
    Timing,
    by_kind,
    make_query,
    most_common_family,
    percentile,
    query_mix,
    sign_in_admin,
)
from bench.seed import DEFAULT_SIZE, SeedError, describe, ensure_seeded, sqlite_url
from bench.startup import hoso_executable
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from services.accounts.service import AccountService
from services.accounts.sign_in import PasswordSignIn
from services.core.actor import Actor, Channel, Role
from services.core.clock import SystemClock
from services.demo import ACCOUNTS as DEMO_ACCOUNTS
from services.demo import DEMO_PASSWORD
from services.reminders.service import PLANNED_KEY

TARGET_MS = 100.0
TARGET = "0 errors and p95 < 100 ms (the issue's target, for 200 concurrent web sessions working as clerks)"
THINK = 5.0  # seconds: the clerks' mean think time (see the module's docstring)
READY = "HoSo web chat: "  # the readiness line of `hoso web`
READY_TIMEOUT = 120.0
FIRST_PASS_TIMEOUT = 300.0
STOP_TIMEOUT = 30.0
REPLY_TIMEOUT = 10.0  # a request whose reply has not reached the page by then counts as a timeout
SIGN_IN_TIMEOUT = ClientTimeout(total=120.0)  # setting up, not measured: argon2 runs on the server's event loop
MIN_INTERVAL = 0.125  # seconds between two requests of one session: 8/s, under the server's 10/s per session
LOAD_QUERIES = 40  # per load session: its own queries, drawn from its scope, used in a cycle
FORM_TOKEN = re.compile(r'name="csrf" value="([^"]+)"')
PAGE_CONFIG = re.compile(r'<script type="application/json" id="hoso-config">(.*?)</script>', re.S)
CSRF_HEADER = "X-CSRF-Token"
TICK = os.sysconf("SC_CLK_TCK")


# -- the server, in its own process -----------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_env(workdir: Path, db: Path, port: int) -> dict[str, str]:
    """This environment without HOSO_* settings or proxies, then the server's: only 127.0.0.1 is used."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("HOSO_") and key.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.update(HOSO_DATABASE_URL=sqlite_url(db), HOSO_WEB_HOST="127.0.0.1", HOSO_WEB_PORT=str(port),
               HOSO_FILES_DIR=str(workdir / "files"))
    return env


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM… of a process, in kB."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name.startswith("Vm"):
                values[name] = int(rest.split()[0])
    return values


def cpu_seconds(pid: int | str) -> float:
    """User + system CPU time of a process (all its threads)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_cpu() -> tuple[float, float]:
    """Busy and total CPU seconds of the machine, all cores, since boot."""
    with open("/proc/stat") as stat:
        values = [int(value) for value in stat.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = values
    busy = user + nice + system + irq + softirq + steal
    return busy / TICK, (busy + idle + iowait) / TICK


def load_average() -> float:
    with open("/proc/loadavg") as loadavg:
        return float(loadavg.read().split()[0])


class Server:
    """`hoso web` as a subprocess on a free loopback port, ready once it prints its readiness line."""

    def __init__(self, workdir: Path, db: Path, profile: Path | None) -> None:
        self.workdir, self.db, self.profile = workdir, db, profile
        self.process: asyncio.subprocess.Process | None = None
        self.base = ""
        self.log_path = workdir / "server.log"
        self._drain: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    async def start(self) -> float:
        """Launch it; the seconds until its readiness line."""
        command, env = [hoso_executable(), "web"], server_env(self.workdir, self.db, free_port())
        if self.profile is not None:  # profiled between profile_begin() and profile_end() only
            command = [sys.executable, "-m", "bench.profiled", str(self.profile)]
            env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
        started = time.perf_counter()
        with self.log_path.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                *command, env=env, cwd=self.workdir,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=log)
        try:
            await asyncio.wait_for(self._ready(), READY_TIMEOUT)
        except TimeoutError:
            raise BenchError(f"hoso web printed no readiness line within {READY_TIMEOUT:.0f}s:\n"
                             f"{self.log_tail()}") from None
        if not self.base.startswith("http://127.0.0.1:"):
            raise BenchError(f"hoso web listens on {self.base}, not on 127.0.0.1")
        return time.perf_counter() - started

    async def _ready(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        while True:
            line = await self.process.stdout.readline()
            if not line:
                code = await self.process.wait()
                raise BenchError(f"hoso web exited with {code} before its readiness line:\n{self.log_tail()}")
            shown = line.decode(errors="replace").strip()
            if shown.startswith(READY):
                self.base = shown[len(READY):].strip().rstrip("/")
                self._drain = asyncio.create_task(self._drain_stdout())
                return

    async def _drain_stdout(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        while await self.process.stdout.readline():
            pass

    def profile_begin(self) -> None:
        if self.profile is not None and self.alive():
            os.kill(self.pid, signal.SIGUSR1)

    def profile_end(self) -> None:
        if self.profile is not None and self.alive():
            os.kill(self.pid, signal.SIGUSR2)

    def memory(self) -> dict[str, int]:
        return proc_status(self.pid)

    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def stop(self) -> int | None:
        if self.process is None or self.process.returncode is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGINT)
        try:
            code = await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            self.process.kill()
            code = await self.process.wait()
        if self._drain is not None:
            self._drain.cancel()
        return code


# -- a browser --------------------------------------------------------------------------------------
@dataclass(slots=True)
class Outcome:
    kind: str  # "find" or "open"
    started: float  # perf_counter at the request
    shown_ms: float | None = None  # request → the bot's reply on the page's WebSocket
    answered_ms: float | None = None  # request → the POST's response
    error: str | None = None
    reply: dict[str, Any] | None = None


class Page:
    """One browser with the chat page open: its cookies, its CSRF token, its WebSocket. It sends what the page's
    script sends, and waits for the bot's reply to arrive on the WebSocket as the page does."""

    def __init__(self, base: str, address: str | None) -> None:
        self.base = base
        connector = TCPConnector(local_addr=(address, 0) if address else None, limit=6)  # a browser's 6 per host
        self.http = ClientSession(cookie_jar=CookieJar(unsafe=True), connector=connector,
                                  timeout=ClientTimeout(total=REPLY_TIMEOUT))
        self.csrf = ""
        self.socket: aiohttp.ClientWebSocketResponse | None = None
        self.reader: asyncio.Task[None] | None = None
        self.last_seq = 0
        # Each update the server handles ends with an "input" event (the page's input field, text or password):
        # the events of a request are those up to its own "input", which tells one request's from the next.
        self.inputs = 0  # "input" events received
        self.owed = 0  # "input" events due for the requests sent so far
        self.handled = asyncio.Event()
        self.waiter: asyncio.Future[tuple[float, dict[str, Any] | None]] | None = None
        self.accepts: Callable[[dict[str, Any]], bool] = lambda _message: True
        self.unsolicited = 0  # bot messages that answered no request (a reminder from the outbox)
        self.other: dict[str, Any] | None = None  # the last bot message that was not the reply sought
        self.closed_reason: str | None = None

    def url(self, path: str) -> str:
        return self.base + path

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader
        await self.http.close()

    async def sign_in(self, username: str, password: str) -> None:
        async with self.http.get(self.url("/login"), timeout=SIGN_IN_TIMEOUT) as response:
            found = FORM_TOKEN.search(await response.text())
        if found is None:
            raise BenchError(f"no sign-in form at /login (HTTP {response.status})")
        form = {"csrf": found.group(1), "username": username, "password": password}
        async with self.http.post(self.url("/login"), data=form, allow_redirects=False,
                                  timeout=SIGN_IN_TIMEOUT) as response:
            await response.read()
            if response.status != 303:
                raise BenchError(f"signing in as {username} answered HTTP {response.status}, not 303")
        async with self.http.get(self.url("/"), timeout=SIGN_IN_TIMEOUT) as response:
            config = PAGE_CONFIG.search(await response.text())
        if config is None:
            raise BenchError(f"the chat page did not open for {username} (HTTP {response.status})")
        self.csrf = json.loads(config.group(1))["csrf"]

    async def open(self) -> None:
        """What the page does when it loads: replay the conversation, then listen on the WebSocket."""
        async with self.http.get(self.url("/api/events?after=0"), timeout=SIGN_IN_TIMEOUT) as response:
            if response.status != 200:
                raise BenchError(f"GET /api/events answered HTTP {response.status}")
            events = (await response.json())["events"]
        self.last_seq = max([event["seq"] for event in events], default=0)
        self.socket = await self.http.ws_connect(self.url(f"/ws?after={self.last_seq}"), origin=self.base,
                                                 autoping=True, timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0))
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.socket is not None
        async for message in self.socket:
            if message.type is not WSMsgType.TEXT:
                continue
            arrived = time.perf_counter()
            event = json.loads(message.data)
            self.last_seq = max(self.last_seq, event.get("seq", 0))
            waiting = self.waiter is not None and not self.waiter.done()
            if event.get("type") == "message" and event["message"].get("from") == "bot":
                if waiting and self.inputs == self.owed - 1 and self.accepts(event["message"]):
                    assert self.waiter is not None
                    self.waiter.set_result((arrived, event["message"]))
                else:
                    self.unsolicited += 1
                    self.other = event["message"]
            elif event.get("type") == "input":
                self.inputs += 1
                self.handled.set()
                if waiting and self.inputs == self.owed:  # this request's update is handled, without its reply
                    assert self.waiter is not None
                    self.waiter.set_result((arrived, None))
            elif event.get("type") == "signed_out":
                self.closed_reason = "signed out"
        self.closed_reason = self.closed_reason or "WebSocket closed"
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(self.closed_reason))

    async def settle(self, timeout: float) -> bool:
        """Until every update sent so far is handled (after a timeout, its late events come in first)."""
        deadline = time.perf_counter() + timeout
        while self.inputs < self.owed and self.closed_reason is None:
            self.handled.clear()
            try:
                await asyncio.wait_for(self.handled.wait(), max(deadline - time.perf_counter(), 0.001))
            except TimeoutError:
                self.inputs = self.owed  # given up on: counted from here on
                return False
        return True

    async def act(self, kind: str, path: str, body: dict[str, Any],
                  accepts: Callable[[dict[str, Any]], bool]) -> Outcome:
        """POST what the page posts; done when its response, the bot's reply on the WebSocket and the end of
        the update ("input") came. The reply is the first bot message that `accepts`; the update handled
        without one got an unexpected reply (a refusal, an apology)."""
        await self.settle(REPLY_TIMEOUT)
        waiter = self.waiter = asyncio.get_running_loop().create_future()
        self.accepts, self.other = accepts, None
        self.owed += 1
        outcome = Outcome(kind, time.perf_counter())
        try:
            if self.closed_reason is not None:
                raise ConnectionError(self.closed_reason)
            async with self.http.post(self.url(path), json=body, headers={CSRF_HEADER: self.csrf}) as response:
                await response.read()
                status = response.status
            outcome.answered_ms = (time.perf_counter() - outcome.started) * 1000
            if status != 200:
                outcome.error = f"HTTP {status}"
                if status < 500:  # refused before the update was fed: no "input" will come
                    self.owed -= 1
                return outcome
            remaining = REPLY_TIMEOUT - outcome.answered_ms / 1000
            arrived, outcome.reply = await asyncio.wait_for(asyncio.shield(waiter), max(remaining, 0.001))
            if outcome.reply is None:
                outcome.error, outcome.reply = "unexpected reply", self.other
            else:
                outcome.shown_ms = (arrived - outcome.started) * 1000
            await self.settle(max(REPLY_TIMEOUT - (time.perf_counter() - outcome.started), 0.001))
        except TimeoutError:
            outcome.error = "timeout"
        except (aiohttp.ClientError, ConnectionError, OSError) as error:
            outcome.error = type(error).__name__
        finally:
            self.waiter = None
            if not waiter.done():
                waiter.cancel()
            elif not waiter.cancelled():
                waiter.exception()  # seen: never "exception was never retrieved"
        return outcome

    async def find(self, query: str) -> Outcome:
        return await self.act("find", "/api/say", {"text": f"/find {query}"},
                              lambda message: judge_find(message, query) is not None)

    async def press(self, message_id: int, data: str) -> Outcome:
        return await self.act("open", "/api/press", {"message_id": message_id, "data": data}, judge_card)


def results_of(reply: dict[str, Any]) -> list[str]:
    """The callback data of the result buttons of a /find reply (each opens a card)."""
    return [cell["data"] for row in reply.get("buttons", []) for cell in row
            if str(cell.get("data", "")).startswith("dos:")]


def judge_find(message: dict[str, Any], query: str) -> bool | None:
    """Whether a message is a /find reply that lists results (True), or says nobody matches (False); None:
    another message."""
    if results_of(message):
        return True
    return False if query in html.unescape(message.get("html", "")) else None


def judge_card(message: dict[str, Any]) -> bool:
    """Whether a message is a dossier card (its section buttons)."""
    return any(str(cell.get("data", "")).startswith("dsec:") for row in message.get("buttons", []) for cell in row)


# -- machine load -----------------------------------------------------------------------------------
@dataclass
class Load:
    """CPU used between `start` and `stop`: the machine, the server, this process (the client)."""

    server_pid: int
    started: float = 0.0
    machine: tuple[float, float] = (0.0, 0.0)
    server: float = 0.0
    client: float = 0.0
    loadavg: float = 0.0
    peak_rss: int = 0
    result: dict[str, float] = field(default_factory=dict)
    _sampler: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.started, self.machine = time.perf_counter(), machine_cpu()
        self.server, self.client, self.loadavg = cpu_seconds(self.server_pid), cpu_seconds("self"), load_average()
        self._sampler = asyncio.create_task(self._sample())

    async def _sample(self) -> None:
        while True:
            with contextlib.suppress(OSError):
                self.peak_rss = max(self.peak_rss, proc_status(self.server_pid).get("VmRSS", 0))
            await asyncio.sleep(0.5)

    def stop(self) -> dict[str, float]:
        if self._sampler is not None:
            self._sampler.cancel()
        wall = time.perf_counter() - self.started
        busy, total = machine_cpu()
        cores = os.cpu_count() or 1
        machine = (busy - self.machine[0]) / max(total - self.machine[1], 1e-9) * cores * 100
        server = (cpu_seconds(self.server_pid) - self.server) / wall * 100
        client = (cpu_seconds("self") - self.client) / wall * 100
        self.result = {"wall": wall, "cores": cores, "machine": machine, "server": server, "client": client,
                       "others": max(0.0, machine - server - client), "load_before": self.loadavg,
                       "load_after": load_average()}
        return self.result

    def line(self) -> str:
        r = self.result
        return (f"CPU busy {r['machine']:.0f}% of {r['cores'] * 100:.0f}% over {r['wall']:.1f} s: server "
                f"{r['server']:.0f}%, this process (client) {r['client']:.0f}%, other processes "
                f"{r['others']:.0f}%; load average (1 min) {r['load_before']:.2f} → {r['load_after']:.2f}")


# -- reporting --------------------------------------------------------------------------------------
def row(label: str, values: list[float], width: int = 58) -> str:
    if not values:
        return f"  {label:<{width}} (none)"
    return (f"  {label:<{width}} {percentile(values, 50):8.2f} {percentile(values, 95):8.2f} "
            f"{max(values):8.2f} {len(values):7d}")


def header(width: int = 58) -> str:
    return f"  {'':<{width}} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'count':>7}"


def megabytes(kilobytes: int) -> str:
    return f"{kilobytes / 1024:.0f} MB"


# -- 1. /find, web and Telegram side by side --------------------------------------------------------
async def web_find(page: Page, query: Query) -> tuple[Timing, float]:
    """One /find through the page: (request → reply on the WebSocket, request → the POST's 200)."""
    outcome = await page.find(query.text)
    if outcome.error is not None or outcome.reply is None:
        raise BenchError(f"/find {query.text} on the web chat: {outcome.error} {outcome.reply or ''}")
    assert outcome.shown_ms is not None and outcome.answered_ms is not None
    return Timing(query, outcome.shown_ms, bool(judge_find(outcome.reply, query.text))), outcome.answered_ms


async def paced(started: float) -> None:
    """Wait out the rest of MIN_INTERVAL since `started`: the page stays under its 10 requests/s."""
    rest = started + MIN_INTERVAL - time.perf_counter()
    if rest > 0:
        await asyncio.sleep(rest)


@dataclass(frozen=True, slots=True)
class FindPlan:
    """What part 1 needs from the database, read before the server starts."""

    queries: list[Query]
    warmup: list[Query]
    admin: str
    family: str
    family_count: int
    total: int


async def plan_find(runtime: Runtime, count: int) -> FindPlan:
    rng = random.Random(SEED)
    family, family_count, total = await most_common_family(runtime)
    queries = await query_mix(runtime, count, family, rng)
    warmup = await query_mix(runtime, WARMUP, family, rng)
    return FindPlan(queries, warmup, await sign_in_admin(runtime), family, family_count, total)


async def compare_find(runtime: Runtime, server: Server, plan: FindPlan, passes: int) -> FindFigures:
    queries, warmup, total = plan.queries, plan.warmup, plan.total
    page = Page(server.base, None)
    try:
        await page.sign_in(DEMO_ACCOUNTS[0][0], DEMO_PASSWORD)  # the demo admin, bound on both channels
        await page.open()
        driver = FindDriver(runtime)
        print(f"\n1. /find over {total:,} dossiers, signed in as {plan.admin} on both transports")
        print(f"   query mix: {len(queries)} queries × {passes} pass(es) after {len(warmup)} warm-up, "
              f"{len(KINDS)} kinds in equal shares (as bench.find); most common family name {plan.family!r} "
              f"({plan.family_count:,} dossiers)")
        print(f"   interleaved query by query (web then Telegram, the order swapped every other query); "
              f"one web request per {MIN_INTERVAL * 1000:.0f} ms at most (the server allows a session 10/s)",
              flush=True)
        for query in warmup:
            started = time.perf_counter()
            await web_find(page, query)
            await driver.find(query)
            await paced(started)
        web: list[Timing] = []
        answered: list[float] = []
        telegram: list[Timing] = []
        load = Load(server.pid)
        load.start()
        server.profile_begin()
        for index, query in enumerate([query for _ in range(passes) for query in queries]):
            started = time.perf_counter()
            if index % 2:
                telegram.append(await driver.find(query))
            shown, posted = await web_find(page, query)
            web.append(shown)
            answered.append(posted)
            if not index % 2:
                telegram.append(await driver.find(query))
            await paced(started)
        server.profile_end()
        load.stop()
    finally:
        await page.close()
    shown_ms, telegram_ms = [t.ms for t in web], [t.ms for t in telegram]
    print(f"\n   /find over {total:,} dossiers ({sum(t.found for t in web)}/{len(web)} with results):")
    print(header())
    print(row("web chat: POST /api/say → reply on the page's WebSocket", shown_ms))
    print(row("web chat: POST /api/say → its 200 response", answered))
    print(row("Telegram: feed_update → sendMessage (in-process, bench.find)", telegram_ms))
    print(f"   web (reply on the WebSocket) − Telegram: p50 {percentile(shown_ms, 50) - percentile(telegram_ms, 50):+.2f} ms, "
          f"p95 {percentile(shown_ms, 95) - percentile(telegram_ms, 95):+.2f} ms")
    print("   web chat by kind (request → reply on the WebSocket):")
    by_kind(web)
    print("   Telegram by kind:")
    by_kind(telegram)
    print(f"   machine during the measurement: {load.line()}")
    return FindFigures(shown_ms, telegram_ms)


# -- 2. the load ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LoadAccount:
    username: str
    role: str
    unit: str
    queries: tuple[str, ...]


async def load_accounts(runtime: Runtime, count: int, password: str, family: str) -> list[LoadAccount]:
    """`count` clerks and managers, alternately, over the province's units in turn, issued by the personnel
    office and activated (the web identity bound) through the services; each with queries from its scope."""
    rng = random.Random(SEED + 1)
    async with runtime.database.session(write=False) as session:
        units = (await session.execute(text("SELECT code, path FROM org_unit WHERE status = 'active' ORDER BY id"))).all()
    plan = [(f"bench.{'clerk' if n % 2 == 0 else 'manager'}.{n + 1:03d}", Role.CLERK if n % 2 == 0 else Role.MANAGER,
             units[n % len(units)]) for n in range(count)]
    drawn: dict[str, list[Any]] = {}
    async with runtime.database.session(write=False) as session:
        for code, path in {(unit.code, unit.path) for _, _, unit in plan}:
            wanted = sum(1 for _, _, unit in plan if unit.code == code) * LOAD_QUERIES
            drawn[code] = list((await session.execute(text(
                "SELECT d.id, d.full_name, d.folded_name, d.personal_id, d.birth_date FROM dossier d "
                "JOIN org_unit u ON u.id = d.custodian_unit_id WHERE u.path LIKE :prefix ORDER BY random() LIMIT :n"),
                {"prefix": path + "%", "n": wanted})).all())
    issuer = AccountService(runtime.uow, Actor.system(), runtime.clock)
    activation = PasswordSignIn(runtime.uow, Actor.anonymous(Channel.WEB, None), runtime.clock)
    kinds = list(KINDS)
    accounts = []
    for username, role, unit in plan:
        issued = await issuer.issue(username, unit.code, role.value, username.replace(".", " ").title(),
                                    "01/BENCH 01/01/2026")
        await activation.activate(issued.activation_code, password)
        rows = [drawn[unit.code].pop() for _ in range(min(LOAD_QUERIES, len(drawn[unit.code])))]
        if not rows:
            raise BenchError(f"unit {unit.code} keeps no dossier to search for")
        queries = tuple(make_query(kinds[n % len(kinds)], found, family, rng).text for n, found in enumerate(rows))
        accounts.append(LoadAccount(username, role.value, unit.code, queries))
    return accounts


def address_of(index: int) -> str:
    """Browser `index`'s own loopback address: 127.1.0.1, 127.1.0.2, … (the server is on 127.0.0.1)."""
    return f"127.1.{index // 250}.{index % 250 + 1}"


async def open_pages(base: str, accounts: list[LoadAccount], password: str, at_once: int) -> list[Page]:
    gate = asyncio.Semaphore(at_once)
    pages = [Page(base, address_of(index)) for index in range(len(accounts))]

    async def one(page: Page, account: LoadAccount) -> None:
        async with gate:
            await page.sign_in(account.username, password)
            await page.open()

    try:
        await asyncio.gather(*(one(page, account) for page, account in zip(pages, accounts, strict=True)))
    except BaseException:
        await asyncio.gather(*(page.close() for page in pages), return_exceptions=True)
        raise
    return pages


async def browse(page: Page, account: LoadAccount, start: float, end: float, think: float,
                 outcomes: list[Outcome], rng: random.Random) -> None:
    """One user: /find, open one of its results, /find the next… until `end`; after each reply a think time
    drawn from an exponential distribution of mean `think` (none if 0)."""
    index = rng.randrange(len(account.queries))
    picks: list[str] = []
    picked_from = 0

    def pause() -> float:
        return rng.expovariate(1 / think) if think > 0 else 0.0

    # The sessions do not all start at once: a clerk is already somewhere in its pause (memoryless).
    next_at = start + (pause() if think > 0 else rng.uniform(0, MIN_INTERVAL))
    while next_at < end:
        now = time.perf_counter()
        if next_at > now:
            await asyncio.sleep(next_at - now)
        if picks:
            outcome = await page.press(picked_from, rng.choice(picks))
            picks = []
        else:
            query = account.queries[index % len(account.queries)]
            index += 1
            outcome = await page.find(query)
            if outcome.error is None and outcome.reply is not None and results_of(outcome.reply):
                picks, picked_from = results_of(outcome.reply), int(outcome.reply["id"])
        outcomes.append(outcome)
        next_at = max(outcome.started + MIN_INTERVAL, time.perf_counter() + pause())


@dataclass(frozen=True, slots=True)
class LoadPlan:
    accounts: list[LoadAccount]
    password: str  # random, never printed
    seconds: float


async def plan_load(runtime: Runtime, sessions: int) -> LoadPlan:
    password = secrets.token_urlsafe(18)
    started = time.perf_counter()
    family = (await most_common_family(runtime))[0]
    accounts = await load_accounts(runtime, sessions, password, family)
    return LoadPlan(accounts, password, time.perf_counter() - started)


@dataclass(frozen=True, slots=True)
class Model:
    """How the sessions of a load behave: a name for the reports, and the mean think time (0: none)."""

    name: str
    think: float

    def describe(self) -> str:
        if self.think <= 0:
            return "capacity: no think time, each session asks again as soon as its reply came"
        return f"clerks: a think time after each reply, exponential of mean {self.think:g} s"


@dataclass(frozen=True, slots=True)
class LoadFigures:
    """What one load run measured, for the summary."""

    model: Model
    sessions: int
    requests: int
    throughput: float  # requests/s
    shown: list[float]  # request → reply on the WebSocket, ms, of the requests without error
    errors: int
    peak_rss: int  # kB, sampled during the run
    cpu_per_request: float  # ms of server CPU

    @property
    def met(self) -> bool:
        return self.errors == 0 and bool(self.shown) and percentile(self.shown, 95) < TARGET_MS


async def load_test(server: Server, plan: LoadPlan, seconds: float, models: list[Model],
                    sign_ins: int) -> list[LoadFigures]:
    accounts, password, sessions = plan.accounts, plan.password, len(plan.accounts)
    roles = Counter(account.role for account in accounts)
    units = len({account.unit for account in accounts})
    print(f"\n2. {sessions} concurrent web sessions, {seconds:.0f} s for each user model: "
          f"{'; then '.join(model.describe() for model in models)}")
    print(f"   {len(accounts)} accounts ({', '.join(f'{n} {role}s' for role, n in sorted(roles.items()))} over "
          f"{units} units), issued and activated through the services before the server started "
          f"({plan.seconds:.1f} s); one session (browser) each, from its own loopback address 127.1.x.y", flush=True)
    before_sign_in = server.memory()
    started = time.perf_counter()
    try:
        pages = await open_pages(server.base, accounts, password, sign_ins)
    except BenchError as error:
        raise BenchError(f"{error}; the server's log ends with:\n{server.log_tail(20)}") from None
    print(f"   {len(pages)} sign-ins (GET /login, POST /login, GET /, GET /api/events, WebSocket), "
          f"{sign_ins} at a time: {time.perf_counter() - started:.1f} s; server RSS "
          f"{megabytes(before_sign_in['VmRSS'])} before, {megabytes(server.memory()['VmRSS'])} after", flush=True)
    print(f"   each session in a loop: /find <one of its {LOAD_QUERIES} queries from its scope>, then open one of the "
          f"results (POST /api/press), then the next /find; at most {1 / MIN_INTERVAL:.0f} requests/s per session "
          "(the server allows 30 at once, then 10/s)", flush=True)
    results = []
    try:
        for number, model in enumerate(models):
            results.append(await load_run(server, pages, accounts, seconds, model, random.Random(SEED + 2 + number)))
    finally:
        await asyncio.gather(*(page.close() for page in pages), return_exceptions=True)
    return results


async def load_run(server: Server, pages: list[Page], accounts: list[LoadAccount], seconds: float, model: Model,
                   rng: random.Random) -> LoadFigures:
    print(f"\n   2{'ab'[model.think > 0]}. {model.describe()}, {seconds:.0f} s", flush=True)
    outcomes: list[Outcome] = []
    unsolicited = sum(page.unsolicited for page in pages)
    load = Load(server.pid)
    load.start()
    server.profile_begin()
    start = time.perf_counter()
    end = start + seconds
    await asyncio.gather(*(browse(page, account, start, end, model.think, outcomes, random.Random(rng.random()))
                           for page, account in zip(pages, accounts, strict=True)))
    elapsed = time.perf_counter() - start
    server.profile_end()
    load.stop()
    memory = server.memory()
    return report_load(model, outcomes, pages, unsolicited, start, elapsed, seconds, load, memory)


def report_load(model: Model, outcomes: list[Outcome], pages: list[Page], unsolicited: int, started: float,
                elapsed: float, seconds: float, load: Load, memory: dict[str, int]) -> LoadFigures:
    errors = Counter(outcome.error for outcome in outcomes if outcome.error is not None)
    ok = [outcome for outcome in outcomes if outcome.error is None]
    shown = [outcome.shown_ms for outcome in ok if outcome.shown_ms is not None]
    answered = [outcome.answered_ms for outcome in ok if outcome.answered_ms is not None]
    finds = [outcome for outcome in outcomes if outcome.kind == "find"]
    found = sum(1 for outcome in finds if outcome.error is None and outcome.reply and results_of(outcome.reply))
    print(f"   {len(outcomes):,} requests in {elapsed:.1f} s: {len(outcomes) / seconds:.1f} requests/s "
          f"({len(finds):,} /find, {len(outcomes) - len(finds):,} card openings; {found:,} of the /find listed "
          f"results)")
    print(header())
    print(row("all requests: request → reply on the page's WebSocket", shown))
    print(row("all requests: request → the POST's 200 response", answered))
    for kind, label in (("find", "/find (POST /api/say)"), ("open", "open a card (POST /api/press)")):
        print(row(f"{label} → reply on the WebSocket",
                  [o.shown_ms for o in ok if o.kind == kind and o.shown_ms is not None]))
    total_errors = sum(errors.values())
    detail = ", ".join(f"{name}: {count}" for name, count in errors.most_common()) or "none"
    print(f"   errors: {total_errors} ({detail}); bot messages that answered no request: "
          f"{sum(page.unsolicited for page in pages) - unsolicited}")
    for name in errors:
        example = next(outcome for outcome in outcomes if outcome.error == name)
        said = re.sub(r"<[^>]+>", "", (example.reply or {}).get("html", ""))[:160].replace("\n", " ")
        print(f"     e.g. {name}: {example.kind} at +{example.started - started:.1f} s{f' — {said!r}' if said else ''}")
    print(f"   server memory: peak RSS during the run {megabytes(load.peak_rss)} (VmRSS sampled every 0.5 s), "
          f"{megabytes(memory.get('VmRSS', 0))} at its end; VmHWM (the process's peak RSS since it started, "
          f"its first background pass included) {megabytes(memory.get('VmHWM', 0))}")
    print(f"   machine during the run: {load.line()}")
    per_request = load.result["server"] / 100 * load.result["wall"] / max(len(outcomes), 1) * 1000
    print(f"   server CPU per request: {per_request:.1f} ms (all its threads), so about "
          f"{1000 / per_request:.0f} requests/s if it had one core to itself", flush=True)
    return LoadFigures(model, len(pages), len(outcomes), len(outcomes) / seconds, shown, total_errors,
                       load.peak_rss, per_request)


@dataclass(frozen=True, slots=True)
class FindFigures:
    """Part 1's figures, for the summary: /find through the web chat and through Telegram, in ms."""

    web: list[float]
    telegram: list[float]


def summary(find: FindFigures | None, loads: list[LoadFigures]) -> bool:
    """Both user models side by side, and the /find of both transports; whether the target is met: the clerks'
    run within it, and no error in any run."""
    width = 40
    print("\nsummary")
    if find is not None:
        print(f"  /find, one session (part 1)      {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}")
        for label, values in (("web chat (reply on the WebSocket)", find.web), ("Telegram transport", find.telegram)):
            print(f"  {label:<33}{percentile(values, 50):9.2f} {percentile(values, 95):9.2f} "
                  f"{percentile(values, 99):9.2f}")
    if not loads:
        return True
    names = [f"{load.model.name} ({'no think' if load.model.think <= 0 else f'think {load.model.think:g} s'})"
             for load in loads]
    print(f"  {f'{loads[0].sessions} web sessions':<{width}}" + "".join(f"{name:>28}" for name in names))

    def line(label: str, cells: list[str]) -> None:
        print(f"  {label:<{width}}" + "".join(f"{cell:>28}" for cell in cells))

    line("throughput (requests/s)", [f"{load.throughput:.1f}" for load in loads])
    for p in (50, 95, 99):
        line(f"p{p} request → reply on the WebSocket (ms)",
             [f"{percentile(load.shown, p):.2f}" if load.shown else "-" for load in loads])
    line("errors", [f"{load.errors}" for load in loads])
    line("peak server RSS (MB)", [f"{load.peak_rss / 1024:.0f}" for load in loads])
    line("server CPU per request (ms)", [f"{load.cpu_per_request:.1f}" for load in loads])
    judged = [load for load in loads if load.model.think > 0] or loads
    met = all(load.met for load in judged) and all(load.errors == 0 for load in loads)
    p95 = ", ".join(f"{load.model.name} {percentile(load.shown, 95):.2f} ms" if load.shown else load.model.name
                    for load in judged)
    print(f"\ntarget: {TARGET} — {'met' if met else 'MISSED'} (judged on the {judged[0].model.name} run: "
          f"{judged[0].sessions} sessions, p95 {p95}; errors in all runs "
          f"{sum(load.errors for load in loads)})")
    return met


# -- the run ----------------------------------------------------------------------------------------
def copy_database(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's backup API (the cache may be in WAL mode)."""
    with contextlib.closing(sqlite3.connect(source)) as origin, contextlib.closing(sqlite3.connect(target)) as copy:
        origin.backup(copy)


def where(filename: str, function: str) -> str:
    """The package a profiled function belongs to: a library, a floor of HoSo, the standard library."""
    if filename == "~":
        return "idle (epoll)" if "epoll" in function else f"built-in {function.split(' of ')[0].strip('{<>')}"
    if "site-packages/" in filename:
        return filename.split("site-packages/")[1].split("/")[0].removesuffix(".py")
    root = str(Path(__file__).resolve().parent.parent) + "/"
    if filename.startswith(root):
        parts = filename[len(root):].split("/")
        return "/".join(parts[:2]) if parts[0] == "bot" and len(parts) > 2 else parts[0]
    return "python: " + Path(filename).stem


def print_profile(path: Path, lines: int = 25) -> None:
    if not path.exists():
        print(f"\nno server profile at {path}")
        return
    stats = pstats.Stats(str(path))
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())
    groups: dict[str, float] = {}
    for (filename, _line, function), entry in raw.items():
        name = where(filename, function)
        groups[name] = groups.get(name, 0.0) + entry[2]
    print(f"\nserver profile (cProfile, main thread, the measured windows only) in {path}: {total:.1f} s, own time "
          "by package:")
    for name, seconds in sorted(groups.items(), key=lambda item: -item[1])[:16]:
        print(f"  {seconds:7.2f} s {seconds / total:6.1%}  {name}")
    print(f"the top {lines} functions by own time:")
    stats.sort_stats("tottime").print_stats(lines)


@dataclass(frozen=True, slots=True)
class Options:
    size: int = DEFAULT_SIZE
    sessions: int = 200
    seconds: float = 60.0
    queries: int = 300
    think: float = THINK
    sign_ins: int = 8
    runs: int = 1
    part: str = "both"
    db: Path | None = None
    profile: Path | None = None
    models: str = "both"

    def load_models(self) -> list[Model]:
        wanted = {"both": ("capacity", "clerks"), "capacity": ("capacity",), "clerks": ("clerks",)}[self.models]
        return [model for model in (Model("capacity", 0.0), Model("clerks", self.think)) if model.name in wanted]


async def first_pass(runtime: Runtime, server: Server) -> float:
    """Wait until the server's first background pass (reminders planned into the outbox) has committed: it
    holds the write lock meanwhile, so no /find (audited) could be answered. Its seconds since readiness."""
    started = time.perf_counter()
    while time.perf_counter() - started < FIRST_PASS_TIMEOUT:
        async with runtime.database.session(write=False) as session:
            if await session.scalar(text("SELECT count(*) FROM app_setting WHERE key = :key"), {"key": PLANNED_KEY}):
                return time.perf_counter() - started
        if not server.alive():
            raise BenchError(f"hoso web died:\n{server.log_tail()}")
        await asyncio.sleep(0.1)  # polled: the pass writes its mark when it commits
    raise BenchError(f"the server's first background pass did not end within {FIRST_PASS_TIMEOUT:.0f}s")


async def measure(options: Options) -> bool:
    seeded = await ensure_seeded(options.size, options.db)
    print(describe(seeded), flush=True)
    with tempfile.TemporaryDirectory(prefix="hoso-bench-web-") as directory:
        workdir = Path(directory)  # also the server's cwd: no .env of the checkout is read
        db = workdir / "web.db"
        started = time.perf_counter()
        copy_database(seeded.path, db)
        print(f"working copy {db} ({db.stat().st_size / 2**20:.0f} MB) in {time.perf_counter() - started:.1f} s: "
              "the cache is left as it was", flush=True)
        settings = Settings(_env_file=None, database_url=sqlite_url(db))
        async with open_runtime(settings, SystemClock(settings.timezone)) as runtime:
            # Everything this process writes, before the server starts (afterwards it would queue for the lock).
            async with runtime.uow.write() as repos:  # the server's first pass then marks its end afresh
                await repos.session.execute(text("DELETE FROM app_setting WHERE key = :key"), {"key": PLANNED_KEY})
            find_plan = await plan_find(runtime, options.queries) if options.part in ("both", "find") else None
            load_plan = await plan_load(runtime, options.sessions) if options.part in ("both", "load") else None
            server = Server(workdir, db, options.profile)
            try:
                ready = await server.start()
                memory = server.memory()
                print(f"hoso web (pid {server.pid}{', profiled' if options.profile else ''}) ready on "
                      f"{server.base} in {ready:.1f} s, RSS {megabytes(memory['VmRSS'])}; this process (the client) "
                      f"is pid {os.getpid()}, on a machine of {os.cpu_count()} cores", flush=True)
                passed = await first_pass(runtime, server)
                memory = server.memory()
                print(f"its first background pass (reminders planned over the whole province, in one write "
                      f"transaction) ended {passed:.1f} s after the readiness line; server RSS "
                      f"{megabytes(memory['VmRSS'])}, peak so far (VmHWM) {megabytes(memory['VmHWM'])}; "
                      "measuring from then on", flush=True)
                find = await compare_find(runtime, server, find_plan, options.runs) if find_plan else None
                loads = (await load_test(server, load_plan, options.seconds, options.load_models(), options.sign_ins)
                         if load_plan is not None else [])
                met = summary(find, loads)
                if not server.alive():
                    raise BenchError(f"hoso web died during the run:\n{server.log_tail()}")
            finally:
                code = await server.stop()
            if code not in (0, None):
                print(f"hoso web exited with {code} on SIGINT:\n{server.log_tail()}", file=sys.stderr)
    if options.profile is not None:
        print_profile(options.profile)
    return met


def run(runs: int = 1, options: Options | None = None) -> int:
    """For `python -m bench`: 0 when the load target is met."""
    options = options or Options(runs=runs)
    try:
        return 0 if asyncio.run(measure(options)) else 1
    except (BenchError, SeedError) as error:
        print(f"web benchmark failed: {error}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench web", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help=f"dossiers (default: {DEFAULT_SIZE})")
    parser.add_argument("--sessions", type=int, default=200, help="concurrent web sessions (default: 200)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the load (default: 60)")
    parser.add_argument("--queries", type=int, default=300, help="timed /find queries, web vs Telegram (default: 300)")
    parser.add_argument("--think", type=float, default=THINK,
                        help="the clerks' mean think time after each reply, in seconds, exponentially distributed "
                             f"(default: {THINK:g})")
    parser.add_argument("--models", choices=("both", "capacity", "clerks"), default="both",
                        help="user models of the load, run one after the other (default: both)")
    parser.add_argument("--sign-ins", type=int, default=8, help="sign-ins at a time before the load (default: 8)")
    parser.add_argument("--runs", type=int, default=1, help="passes over the /find queries (default: 1)")
    parser.add_argument("--part", choices=("both", "find", "load"), default="both", help="what to run (default: both)")
    parser.add_argument("--db", type=Path, default=None, help="database file (default: the bench.seed cache)")
    parser.add_argument("--profile", type=Path, default=None, help="run the server under cProfile, written here")
    args = parser.parse_args(argv)
    if min(args.size, args.sessions, args.queries, args.runs, args.sign_ins) < 1 or args.seconds <= 0 or args.think <= 0:
        parser.error("--size, --sessions, --queries, --sign-ins, --runs, --seconds and --think must be positive")
    return run(options=Options(args.size, args.sessions, args.seconds, args.queries, args.think, args.sign_ins,
                               args.runs, args.part, args.db, args.profile, args.models))


if __name__ == "__main__":
    sys.exit(main())
