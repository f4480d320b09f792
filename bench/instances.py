"""A load test of the multi-instance deployment: N `hoso run --webhook` instances behind nginx, on PostgreSQL
and Redis, with simulated Telegram users on the Bot API double (tests/botapi_stub.py).

    python -m bench.instances [--instances 3] [--users 300] [--burst 5] [--reminders 2] [--dossiers 3000]
                              [--set HOSO_NAME=VALUE ...] [--keep]

The deployment, all on 127.0.0.1:
- PostgreSQL: a database of its own (`hoso_instances`), dropped and created afresh, migrated, seeded with the
  demo province and one clerk account per simulated user, each bound to its Telegram user id;
- Redis: DB 10, flushed at the start (HOSO_REDIS_URL);
- N `hoso run --webhook` subprocesses, each on a port of its own, all registered at the same public URL;
- nginx from Debian's packages (installed with apt-get when missing) as the province's reverse proxy: a
  non-daemon child with its own configuration in a temporary folder, round-robin over the instances;
- the Bot API double, on a thread and event loop of its own in this process: it receives every call of the
  bots and times each message as it arrives, however busy the simulated users keep this process's loop.
`--set` passes further settings to every instance (those of the multi-instance work, as they come).

Each user, all of them at once (their starts spread over `--ramp` seconds), as a person would: `/find` by a
personal ID, opens the card with its button, logs a change through the guided form (a commendation: the kind's
button, six answers, Confirm), each step waiting for its answer. Then a burst of `--burst` numbered `/find`
messages sent back to back, without waiting, as an impatient user types. Last, `--reminders` reminders per
user are queued in the outbox (due now) and the instances' senders fan them out.

It reports, side by side with the targets:
- updates lost (no answer within `--timeout`, or refused by the proxy), duplicated (an update answered twice;
  a change recorded twice; a reminder delivered twice) and out of order (a reply of the burst that arrives
  after the reply to an update the user sent later: each burst message names its number and the bot's
  answer echoes it);
- the p95 of each action (from the POST of the update to the answer at the double; for a reminder, from
  queueing to delivery);
- the peak global send rate, the most messages the double received in any one second, against the
  configured rate of the outbox senders (and Telegram's limit of about 30 a second).
Every child process and the temporary folder are cleaned up, on errors and Ctrl-C too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import functools
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

HOSO = str(Path(sys.executable).with_name("hoso"))
TOKEN = "123456:bench-instances-token-not-a-secret"
PG_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"
DATABASE = "hoso_instances"
REDIS_URL = "redis://127.0.0.1:6379/10"
HOOK_PATH = "/tg/hook"
FIRST_USER = 810_000_001  # Telegram user ids of the simulated users
TELEGRAM_LIMIT = 30  # messages a second, all chats together, that Telegram accepts from one bot
START_TIMEOUT = 300.0  # launch → every instance registered its webhook (start-up takes seconds under load)
# The outbox senders' rate is a constant on main (bot.sender.DEFAULT_RATE); when it becomes a setting, its
# name here makes the report read the configured value from the instances' settings.
RATE_SETTING = "telegram_rate"
CHANGE_KIND = "commendation"
MESSAGE_METHODS = frozenset({"sendMessage", "editMessageText", "sendDocument", "sendPhoto", "copyMessage",
                             "forwardMessage"})
BURST_TAG = re.compile(r"xq(\d+)m(\d+)")
REMINDER_TAG = re.compile(r"#rem(\d+)k(\d+)#")


# -- the figures, from what the double received (pure functions; tests/test_bench_instances.py) --------------
@dataclass(frozen=True, slots=True)
class Delivery:
    """How the replies to one user's numbered updates came back."""

    lost: int  # numbers never answered
    duplicated: int  # answers beyond the first to the same number
    out_of_order: int  # answers that came after the answer to a number sent later


def check_order(sent: Sequence[int], answered: Iterable[int]) -> Delivery:
    """`sent`: the numbers of one user's updates in the order sent; `answered`: the numbers the replies named,
    in the order they arrived. A first reply is out of order when a later-sent update was answered before it."""
    rank = {number: index for index, number in enumerate(sent)}
    seen: Counter[int] = Counter()
    highest = -1
    out_of_order = 0
    for number in answered:
        seen[number] += 1
        if seen[number] > 1 or number not in rank:
            continue
        if rank[number] < highest:
            out_of_order += 1
        highest = max(highest, rank[number])
    lost = sum(1 for number in sent if not seen[number])
    duplicated = sum(count - 1 for number, count in seen.items() if number in rank)
    return Delivery(lost, duplicated, out_of_order)


def peak_per_second(times: Sequence[float]) -> int:
    """The most events within any window of one second (`times` in seconds, any order)."""
    ordered = sorted(times)
    peak, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= 1.0:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


def p95(values: Sequence[float]) -> float | None:
    """The 95th percentile by the nearest-rank method; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


# -- the Bot API double --------------------------------------------------------------------------------------
@dataclass(slots=True)
class Received:
    at: float
    method: str
    chat: int
    text: str
    message: dict[str, Any] | None  # as the bot got it back (with its inline keyboard)


class Inbox:
    """One chat's messages from the bots, in arrival order; a reader waits for the next."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Received] = asyncio.Queue()
        self.all: list[Received] = []
        self.unexpected: list[Received] = []  # skipped by a step waiting for something else

    async def next(self, timeout: float) -> Received:
        return await asyncio.wait_for(self.queue.get(), timeout)

    async def expect(self, matches: Callable[[Received], bool], timeout: float) -> Received:
        deadline = time.monotonic() + timeout
        while True:
            received = await self.next(max(0.0, deadline - time.monotonic()))
            if matches(received):
                return received
            self.unexpected.append(received)


def make_double(token: str) -> Any:
    """The double's class. Served on a thread of its own (`Double.run_in_thread(users_loop)`), it times each
    message on arrival: a loop shared with 300 simulated users would time them when it got round to them, in
    bunches, and the peak send rate would be the loop's, not the instances'."""
    from tests.botapi_stub import BotAPIStub, Call

    class Double(BotAPIStub):
        """The stub, with every message the bots send timed and handed to its chat's inbox."""

        def __init__(self, users_loop: asyncio.AbstractEventLoop) -> None:
            super().__init__(token=token)
            self.users_loop = users_loop
            self.sent: list[Received] = []
            self.inboxes: defaultdict[int, Inbox] = defaultdict(Inbox)  # read and written on the users' loop

        async def _answer(self, call: Call) -> Any:
            result = await super()._answer(call)
            if call.method in MESSAGE_METHODS:
                chat = call.get("chat_id")
                message = result if isinstance(result, dict) else None
                received = Received(time.monotonic(), call.method, int(chat) if isinstance(chat, int) else 0,
                                    str(call.params.get("text") or call.params.get("caption") or ""), message)
                self.sent.append(received)
                self.users_loop.call_soon_threadsafe(self._deliver, received)
            return result

        def _deliver(self, received: Received) -> None:
            inbox = self.inboxes[received.chat]
            inbox.all.append(received)
            inbox.queue.put_nowait(received)

    return Double


# -- the deployment ------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ensure_nginx() -> str:
    """The nginx binary, installed from Debian's packages when missing (the service is not started)."""
    found = shutil.which("nginx") or (Path("/usr/sbin/nginx").exists() and "/usr/sbin/nginx") or None
    if found:
        return str(found)
    print("nginx is missing: apt-get install -y nginx", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "nginx"], check=True, env=env, stdout=subprocess.DEVNULL)
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(found).exists():
        raise RuntimeError("nginx could not be installed")
    return found


def nginx_config(folder: Path, listen: int, upstreams: Sequence[int]) -> str:
    """The province's reverse proxy, reduced to the webhook: round robin over the instances. A POST that reached
    one instance is not resent to another (nginx's default for non-idempotent requests): it would be answered twice."""
    servers = "\n".join(f"        server 127.0.0.1:{port};" for port in upstreams)
    return f"""daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream hoso {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{listen};
        location {HOOK_PATH} {{
            proxy_pass http://hoso;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"""


def clean_environment() -> dict[str, str]:
    """This process's environment without HOSO_* and proxies: the instances read only what is set here."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("HOSO_") and key.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def instance_settings(database_url: str, api_base: str, public_url: str, secret: str, port: int, files: Path,
                      extra: dict[str, str]) -> dict[str, str]:
    """The settings of one instance: what they share, its own port, then `--set`."""
    return {
        "HOSO_DATABASE_URL": database_url,
        "HOSO_REDIS_URL": REDIS_URL,
        "HOSO_BOT_TOKEN": TOKEN,
        "HOSO_TELEGRAM_API_BASE": api_base,
        "HOSO_WEBHOOK_URL": public_url,
        "HOSO_WEBHOOK_SECRET": secret,
        "HOSO_WEBHOOK_HOST": "127.0.0.1",
        "HOSO_WEBHOOK_PORT": str(port),
        "HOSO_FILES_DIR": str(files),
        "HOSO_LOG_LEVEL": "WARNING",
        **extra,
    }


def configured_rate(settings_env: dict[str, str]) -> float:
    """The outbox senders' configured rate: the setting when it exists, else the sender's constant."""
    from bot.sender import DEFAULT_RATE
    from bot.settings import load_settings

    saved = {key: os.environ.pop(key) for key in list(os.environ) if key.startswith("HOSO_")}
    try:
        os.environ.update(settings_env)
        value = getattr(load_settings(), RATE_SETTING, None)
    finally:
        for key in settings_env:
            os.environ.pop(key, None)
        os.environ.update(saved)
    return float(value) if value else float(DEFAULT_RATE)


class Children:
    """Every child process started, stopped on the way out whatever happens: SIGTERM, then SIGKILL."""

    def __init__(self) -> None:
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, args: Sequence[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as output:
            process = subprocess.Popen(list(args), env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=output,
                                       stderr=subprocess.STDOUT)
        self.started.append((name, process))
        return process

    def exited(self) -> list[str]:
        return [f"{name} (exit {process.returncode})" for name, process in self.started if process.poll() is not None]

    async def stop(self, timeout: float = 20.0) -> None:
        for _name, process in self.started:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for _name, process in self.started:
            while process.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                process.wait()


async def fresh_database(name: str) -> str:
    import asyncpg

    server = await asyncpg.connect(PG_SERVER.replace("+asyncpg", "") + "/postgres")
    try:
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await server.execute(f'CREATE DATABASE "{name}"')
    finally:
        await server.close()
    return f"{PG_SERVER}/{name}"


async def drop_database(name: str) -> None:
    import asyncpg

    server = await asyncpg.connect(PG_SERVER.replace("+asyncpg", "") + "/postgres")
    try:
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await server.close()


async def flush_redis() -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


@dataclass(frozen=True, slots=True)
class User:
    chat: int
    personal_id: str
    dossier_id: int


async def seed(url: str, dossiers: int, users: int) -> list[User]:
    """Schema, profile, demo province, then one clerk of the province per user, bound to its Telegram id,
    each with an active dossier of its own to work on."""
    from sqlalchemy import select

    from bot.cli.serving import prepare_database
    from services.accounts.service import hash_password
    from services.core.actor import Channel, Role
    from services.core.clock import SystemClock
    from services.demo import DEMO_PASSWORD, seed_demo
    from storage import Database, UnitOfWork
    from storage.models import Account, Dossier

    clock = SystemClock()
    database = Database(url)
    try:
        await prepare_database(database, clock, None)  # as `hoso init`
        uow = UnitOfWork(database)
        await seed_demo(uow, clock, dossiers)
        now, secret = clock.now(), hash_password(DEMO_PASSWORD)
        async with uow.write() as repos:
            root = await repos.units.by_code("CT")
            people = (await repos.session.execute(
                select(Dossier.id, Dossier.personal_id).where(Dossier.employment_status == "active")
                .order_by(Dossier.id).limit(users))).all()
            if len(people) < users:
                raise RuntimeError(f"only {len(people)} active dossiers for {users} users: raise --dossiers")
            for number in range(users):
                account = await repos.accounts.add(Account(
                    username=f"bench.u{number:04d}", full_name=f"Người thử {number}", unit_id=root.id,
                    role=Role.CLERK.value, status="active", request_ref="bench", secret_hash=secret,
                    created_at=now, activated_at=now, last_active_at=now))
                await repos.identities.bind(account.id, Channel.TELEGRAM, str(FIRST_USER + number), now)
        return [User(FIRST_USER + number, str(pid), int(dossier_id))
                for number, (dossier_id, pid) in enumerate(people)]
    finally:
        await database.dispose()


async def queue_reminders(url: str, users: Sequence[User], each: int) -> float:
    """`each` reminders per user, due now, straight into the outbox as `hoso`'s planner leaves them; the
    moment they are committed."""
    from sqlalchemy import insert

    from storage import Database, UnitOfWork
    from storage.models import Outbox

    database = Database(url)
    try:
        now = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        rows = [{"key": f"bench:{user.chat}:{k}", "kind": "incident", "channel": "telegram",
                 "address": str(user.chat), "payload": {"text": f"#rem{user.chat}k{k}#"}, "due_at": now,
                 "status": "pending", "attempts": 0, "created_at": now}
                for k in range(each) for user in users]
        async with UnitOfWork(database).write() as repos:
            await repos.session.execute(insert(Outbox), rows)
        return time.monotonic()
    finally:
        await database.dispose()


async def changes_per_dossier(url: str, users: Sequence[User]) -> Counter[int]:
    from sqlalchemy import func, select

    from storage import Database, UnitOfWork
    from storage.models import ChangeEvent

    database = Database(url)
    try:
        async with UnitOfWork(database).read() as repos:
            found = (await repos.session.execute(
                select(ChangeEvent.dossier_id, func.count()).where(ChangeEvent.kind == CHANGE_KIND)
                .group_by(ChangeEvent.dossier_id))).all()
        mine = {user.dossier_id for user in users}
        return Counter({int(dossier): int(count) for dossier, count in found if dossier in mine})
    finally:
        await database.dispose()


# -- the users -----------------------------------------------------------------------------------------------
@dataclass
class Waiting:
    """A step whose answer did not come within the timeout: the user stopped there. It is late if the answer
    comes before the end, lost if it never does."""

    chat: int
    action: str
    matches: Callable[[Received], bool]


@dataclass
class Tally:
    latencies: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    waiting: list[Waiting] = field(default_factory=list)
    refused: int = 0  # updates the proxy did not answer 200
    bursts: dict[int, tuple[list[int], list[int]]] = field(default_factory=dict)  # chat: (sent, answered in order)
    failures: list[str] = field(default_factory=list)


class Client:
    """Posts updates to the proxy as Telegram posts them to a webhook."""

    def __init__(self, http: Any, url: str, secret: str, double: Any) -> None:
        self.http, self.url, self.secret, self.double = http, url, secret, double

    async def post(self, update: dict[str, Any], tally: Tally) -> float:
        update["update_id"] = self.double.next_update_id()
        started = time.monotonic()
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.secret}
        async with self.http.post(self.url, json=update, headers=headers) as response:
            await response.read()
            if response.status != 200:
                tally.refused += 1
        return started


def buttons(received: Received) -> list[str]:
    rows = (received.message or {}).get("reply_markup", {}).get("inline_keyboard", [])
    return [str(button.get("callback_data")) for row in rows for button in row]


def has_button(data: str) -> Callable[[Received], bool]:
    return lambda received: data in buttons(received)


def change_answers(today: dt.date) -> list[str]:
    """The commendation's questions in order: form, reason, the paper's number, date and issuer, effective date."""
    day = today.strftime("%d/%m/%Y")
    return ["Giấy khen của Giám đốc Sở", "-", "15/QĐ-BENCH", day, "Sở Nội vụ", day]


async def one_user(index: int, user: User, client: Client, tally: Tally, options: argparse.Namespace) -> None:
    from handlers.changes import ChangeKindPick
    from handlers.dossiers import OpenDossier, UpdatePick
    from handlers.forms import FormConfirm
    from services.core.clock import DEFAULT_TIMEZONE

    double, timeout = client.double, options.timeout
    inbox: Inbox = double.inboxes[user.chat]
    await asyncio.sleep(options.ramp * index / max(1, options.users))  # arrivals spread over the ramp

    async def step(action: str, update: dict[str, Any], matches: Callable[[Received], bool]) -> Received | None:
        started = await client.post(update, tally)
        try:
            received = await inbox.expect(matches, timeout)
        except TimeoutError:
            tally.waiting.append(Waiting(user.chat, action, matches))
            return None
        tally.latencies[action].append(received.at - started)
        return received

    def say(text: str) -> dict[str, Any]:
        return double.private_message_update(text, user_id=user.chat)

    def press(received: Received, data: str) -> dict[str, Any]:
        return double.callback_query_update(received.message, data, user_id=user.chat)

    found = await step("find", say(f"/find {user.personal_id}"), has_button(OpenDossier(id=user.dossier_id).pack()))
    if found is None:
        return
    card = await step("card", press(found, OpenDossier(id=user.dossier_id).pack()),
                      has_button(UpdatePick(id=user.dossier_id).pack()))
    if card is None:
        return
    change_started = time.monotonic()
    kind = ChangeKindPick(id=user.dossier_id, kind=CHANGE_KIND).pack()
    menu = await step("change step", press(card, UpdatePick(id=user.dossier_id).pack()), has_button(kind))
    if menu is None:
        return
    # The kind's button: what the form is about, then its first question; each answer: the next question
    # ("(2/6)"…), the last one the summary with Confirm.
    answers = change_answers(dt.datetime.now(ZoneInfo(DEFAULT_TIMEZONE)).date())
    confirm = FormConfirm(action="confirm").pack()

    def asks(number: int) -> Callable[[Received], bool]:
        return lambda received: f"({number}/{len(answers)})" in received.text

    intro = await step("change step", press(menu, kind), lambda received: "/cancel" in received.text)
    try:
        question: Received | None = intro and await inbox.expect(asks(1), timeout)
    except TimeoutError:
        tally.waiting.append(Waiting(user.chat, "change step", asks(1)))
        return
    for number, answer in enumerate(answers, start=2):
        if question is None:
            return
        question = await step("change step", say(answer),
                              has_button(confirm) if number > len(answers) else asks(number))
    if question is None:
        return
    done = await step("change step", press(question, confirm), lambda received: "#" in received.text)
    if done is None:
        return
    tally.latencies["change (whole)"].append(done.at - change_started)

    # The burst: numbered messages back to back; each answer echoes its number.
    numbers = list(range(1, options.burst + 1))
    posted: dict[int, float] = {}
    for number in numbers:
        posted[number] = await client.post(say(f"/find xq{user.chat}m{number}"), tally)
    answered: list[int] = []
    tally.bursts[user.chat] = (numbers, answered)
    deadline = time.monotonic() + timeout
    while len(set(answered)) < len(numbers) and time.monotonic() < deadline:
        try:
            received = await inbox.next(deadline - time.monotonic())
        except TimeoutError:
            break
        tag = BURST_TAG.search(received.text)
        if tag is None or int(tag[1]) != user.chat:
            inbox.unexpected.append(received)
            continue
        number = int(tag[2])
        if number not in answered:
            tally.latencies["burst /find"].append(received.at - posted[number])
        answered.append(number)


async def settle(double: Any, quiet: float, limit: float) -> None:
    """Until the double has received nothing for `quiet` seconds (at most `limit`): late answers come in."""
    ends = time.monotonic() + limit
    count, since = len(double.sent), time.monotonic()
    while time.monotonic() < ends and time.monotonic() - since < quiet:
        await asyncio.sleep(0.5)
        if len(double.sent) != count:
            count, since = len(double.sent), time.monotonic()


def collect_late(double: Any, tally: Tally) -> int:
    """What came after each user stopped reading: a waited-for answer (late, not lost), and burst answers, late
    or repeated, added to the burst's answers in their order. Returns the late answers to steps."""
    late = 0
    waiting = {item.chat: item for item in tally.waiting}
    for chat, inbox in double.inboxes.items():
        item = waiting.get(chat)
        while not inbox.queue.empty():
            received = inbox.queue.get_nowait()
            tag = BURST_TAG.search(received.text)
            if tag is not None and chat in tally.bursts and int(tag[1]) == chat:
                tally.bursts[chat][1].append(int(tag[2]))
            elif item is not None and item.matches(received):
                late += 1
                tally.waiting.remove(item)
                item = None
            else:
                inbox.unexpected.append(received)
    return late


# -- the run -------------------------------------------------------------------------------------------------
async def run_bench(options: argparse.Namespace) -> int:
    import aiohttp

    nginx = ensure_nginx()
    extra = dict(pair.split("=", 1) for pair in options.set)
    children = Children()
    serving = contextlib.ExitStack()
    double = serving.enter_context(make_double(TOKEN).run_in_thread(asyncio.get_running_loop()))
    folder = Path(tempfile.mkdtemp(prefix="hoso-instances-"))
    database_name = options.database
    ok = False
    # SIGTERM ends the run as Ctrl-C does: through the clean-up below.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        print(f"PostgreSQL {database_name}: created afresh; Redis {REDIS_URL} flushed", flush=True)
        url = await fresh_database(database_name)
        await flush_redis()
        started = time.monotonic()
        users = await seed(url, options.dossiers, options.users)
        print(f"seeded the demo province ({options.dossiers:,} dossiers) and {len(users)} clerks bound to Telegram "
              f"in {time.monotonic() - started:.1f} s", flush=True)

        proxy_port = free_port()
        public_url = f"http://127.0.0.1:{proxy_port}{HOOK_PATH}"
        secret = secrets.token_urlsafe(24)
        ports = [free_port() for _ in range(options.instances)]
        env_base = clean_environment()
        settings = [instance_settings(url, double.base_url, public_url, secret, port, folder / "files", extra)
                    for port in ports]
        rate = configured_rate(settings[0])
        for number, instance_env in enumerate(settings):
            children.start(f"hoso #{number + 1}", [HOSO, "run", "--webhook"], {**env_base, **instance_env}, folder,
                           folder / f"hoso-{number + 1}.log")
        proxy_folder = folder / "nginx"
        proxy_folder.mkdir()
        proxy_folder.chmod(0o755)  # its workers drop to an unprivileged user when started as root
        (proxy_folder / "nginx.conf").write_text(nginx_config(proxy_folder, proxy_port, ports), encoding="utf-8")
        children.start("nginx", [nginx, "-p", str(proxy_folder), "-c", str(proxy_folder / "nginx.conf"),
                                 "-e", str(proxy_folder / "error.log")], env_base, proxy_folder, folder / "nginx.log")
        launched = time.monotonic()
        await wait_until_ready(double, options.instances, children, proxy_port, launched)
        print(f"{options.instances} instances registered their webhook and nginx listens on 127.0.0.1:{proxy_port}"
              f" ({time.monotonic() - launched:.1f} s)", flush=True)

        tally = Tally()
        connector = aiohttp.TCPConnector(limit=200)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:
            client = Client(http, public_url, secret, double)
            interactive_start = len(double.sent)
            began = time.monotonic()
            await asyncio.gather(*(one_user(i, user, client, tally, options) for i, user in enumerate(users)))
            conversation_seconds = time.monotonic() - began
        conversation_times = [received.at for received in double.sent[interactive_start:]]
        print(f"conversations: {conversation_seconds:.1f} s", flush=True)

        # The fan-out: every user's reminders at once, sent by the instances' outbox senders.
        queued_at = await queue_reminders(url, users, options.reminders)
        expected = {(user.chat, k) for user in users for k in range(options.reminders)}
        delivered: Counter[tuple[int, int]] = Counter()
        reminder_times: list[float] = []
        deadline = queued_at + options.timeout + len(expected) / max(rate, 1.0) * 2
        fanout_start = len(double.sent)
        while len(delivered) < len(expected) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            for received in double.sent[fanout_start:]:
                tag = REMINDER_TAG.search(received.text)
                if tag is not None:
                    delivered[(int(tag[1]), int(tag[2]))] += 1
                    reminder_times.append(received.at)
            fanout_start = len(double.sent)
        latencies = [moment - queued_at for moment in reminder_times]
        tally.latencies["reminder"] = latencies
        # A last look once all is quiet: answers that came late, or twice.
        await settle(double, quiet=5.0, limit=options.timeout)
        for received in double.sent[fanout_start:]:
            tag = REMINDER_TAG.search(received.text)
            if tag is not None:
                delivered[(int(tag[1]), int(tag[2]))] += 1
        late = collect_late(double, tally)
        changes = await changes_per_dossier(url, users)

        ok = report(options, tally, users, delivered, expected, reminder_times, conversation_times, late, changes,
                    rate, double)
        errors = tracebacks(path.read_text(errors="replace") for path in sorted(folder.glob("hoso-*.log")))
        for line, count in errors.most_common(5):
            print(f"traceback in the instances' logs, {count}×: {line[:300]}")
        if children.exited():
            print(f"exited during the run: {', '.join(children.exited())}")
    except RuntimeError:
        for path in sorted(folder.glob("*.log")) + sorted(folder.glob("nginx/error.log")):
            tail = path.read_text(errors="replace").strip().splitlines()[-5:]
            if tail:
                print(f"--- the end of {path.name}:\n" + "\n".join(tail), file=sys.stderr)
        raise
    finally:
        asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)
        await children.stop()
        serving.close()
        if options.keep:
            print(f"kept {folder} and the database {database_name}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
            with contextlib.suppress(Exception):
                await drop_database(database_name)
    return 0 if ok else 1


async def wait_until_ready(double: Any, instances: int, children: Children, proxy_port: int, launched: float) -> None:
    """Every instance has called setWebhook (it does so once its port is bound), and nginx accepts."""
    while len(double.calls_of("setWebhook")) < instances:
        if children.exited():
            raise RuntimeError(f"exited at start: {', '.join(children.exited())}")
        if time.monotonic() - launched > START_TIMEOUT:
            raise RuntimeError(f"only {len(double.calls_of('setWebhook'))} of {instances} instances started "
                               f"within {START_TIMEOUT:.0f} s")
        await asyncio.sleep(0.2)  # the double serves on its own thread: its events are not this loop's
    while True:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
        except OSError:
            if children.exited() or time.monotonic() - launched > START_TIMEOUT:
                raise RuntimeError("nginx did not start") from None
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return


@functools.cache
def apology_openings() -> tuple[str, ...]:
    from bot.errors import APOLOGY
    from bot.i18n import create_i18n

    translate = create_i18n().translator
    return tuple(translate(locale)(APOLOGY)[:40] for locale in ("vi", "en"))


def is_apology(text: str) -> bool:
    """The bot's answer to an update that failed (bot/errors.py), in either language."""
    return text.startswith(apology_openings())


def tracebacks(logs: Iterable[str]) -> Counter[str]:
    """Each traceback of the logs by its exception line (the first unindented line after it)."""
    found: Counter[str] = Counter()
    for log in logs:
        lines = log.splitlines()
        for index, line in enumerate(lines):
            if line.startswith("Traceback"):
                ending = next((later for later in lines[index + 1:] if later and not later[0].isspace()), "?")
                found[ending] += 1
    return found


def report(options: argparse.Namespace, tally: Tally, users: Sequence[User], delivered: Counter[tuple[int, int]],
           expected: set[tuple[int, int]], reminder_times: Sequence[float], conversation_times: Sequence[float],
           late: int, changes: Counter[int], rate: float, double: Any) -> bool:
    bursts = [check_order(sent, answered) for sent, answered in tally.bursts.values()]
    burst_lost = sum(d.lost for d in bursts)
    steps_lost = Counter(item.action for item in tally.waiting)
    lost = sum(steps_lost.values()) + tally.refused + burst_lost + len(expected - set(delivered))
    burst_duplicated = sum(d.duplicated for d in bursts)
    changes_twice = sum(count - 1 for count in changes.values() if count > 1)
    reminders_twice = sum(count - 1 for count in delivered.values() if count > 1)
    duplicated = burst_duplicated + changes_twice + reminders_twice
    out_of_order = sum(d.out_of_order for d in bursts)
    users_out_of_order = sum(1 for d in bursts if d.out_of_order)
    finished = len(tally.bursts)
    unexpected = sum(len(double.inboxes[user.chat].unexpected) for user in users)
    apologies = sum(1 for user in users for received in double.inboxes[user.chat].all if is_apology(received.text))
    all_times = [received.at for received in double.sent]
    peak_all = peak_per_second(all_times)
    peak_fanout = peak_per_second(reminder_times)
    peak_conversations = peak_per_second(conversation_times)

    print(f"\n{options.instances} instances behind nginx, {len(users)} users, PostgreSQL + Redis "
          f"(measured on a loaded machine: indicative)")
    rows: list[tuple[str, str, str, bool | None]] = [
        ("updates lost", str(lost), "0", lost == 0),
        ("updates duplicated", str(duplicated), "0", duplicated == 0),
        ("updates out of order", f"{out_of_order} ({users_out_of_order} users)", "0", out_of_order == 0),
    ]
    for action in ("find", "card", "change step", "change (whole)", "burst /find", "reminder"):
        value = p95(tally.latencies.get(action, []))
        count = len(tally.latencies.get(action, []))
        rows.append((f"p95 {action} ({count})", "—" if value is None else f"{value * 1000:,.0f} ms", "", None))
    rows += [
        ("peak send rate, reminders", f"{peak_fanout}/s", f"≤ {rate:g}/s configured", peak_fanout <= rate),
        ("peak send rate, all messages", f"{peak_all}/s", f"≤ {TELEGRAM_LIMIT}/s Telegram", peak_all <= TELEGRAM_LIMIT),
        ("peak send rate, conversations", f"{peak_conversations}/s", "", None),
    ]
    width = max(len(name) for name, *_rest in rows)
    print(f"{'figure':<{width}}  {'measured':>22}  {'target':<22}")
    for name, value, target, met in rows:
        mark = "" if met is None else ("met" if met else "MISSED")
        print(f"{name:<{width}}  {value:>22}  {target:<22} {mark}")
    print(f"\nusers who went through every step: {finished} of {len(users)}; answered only after the "
          f"{options.timeout:.0f} s timeout (late, not lost; left out of the p95): {late}")
    print(f"lost: steps never answered {dict(steps_lost) or 0}, refused by the proxy {tally.refused}, burst answers "
          f"{burst_lost}, reminders {len(expected - set(delivered))} of {len(expected)}")
    print(f"duplicated: burst answers {burst_duplicated}, changes recorded twice {changes_twice}, reminders twice "
          f"{reminders_twice}; other replies: {unexpected} (a form's opening lines, and {apologies} apologies for an error)")
    for failure in tally.failures[:5]:
        print(f"  {failure}")
    return lost == 0 and duplicated == 0 and out_of_order == 0 and peak_fanout <= rate and peak_all <= TELEGRAM_LIMIT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instances", description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=3, help="hoso run --webhook instances (default: 3)")
    parser.add_argument("--users", type=int, default=300, help="simulated users (default: 300)")
    parser.add_argument("--burst", type=int, default=5, help="numbered messages each user sends back to back")
    parser.add_argument("--reminders", type=int, default=2, help="reminders queued per user (default: 2)")
    parser.add_argument("--dossiers", type=int, default=3000, help="dossiers of the demo province (default: 3000)")
    parser.add_argument("--ramp", type=float, default=30.0, help="seconds over which the users arrive (default: 30)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds an answer may take (default: 120)")
    parser.add_argument("--database", default=DATABASE, help=f"PostgreSQL database, recreated (default: {DATABASE})")
    parser.add_argument("--set", action="append", default=[], metavar="HOSO_NAME=VALUE",
                        help="a further setting for every instance (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and the database")
    parser.add_argument("--runs", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.instances, args.users, args.burst, args.dossiers) < 1 or args.reminders < 0:
        parser.error("--instances, --users, --burst and --dossiers must be at least 1; --reminders at least 0")
    if any("=" not in pair or not pair.startswith("HOSO_") for pair in args.set):
        parser.error("--set takes HOSO_NAME=VALUE")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", args.database):
        parser.error("--database: lower-case letters, digits and _")
    try:
        return asyncio.run(run_bench(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; every child process was stopped", file=sys.stderr)
        return 130
    except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
        print(f"bench.instances: {error}", file=sys.stderr)
        return 1


def run(runs: int = 1) -> int:
    return main([])


if __name__ == "__main__":
    sys.exit(main())
