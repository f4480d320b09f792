"""Start-up times of `hoso`, side by side with their targets: `hoso --help` and `hoso unit list` from launch to
exit, and `hoso run` from launch until the Bot API receives its first getUpdates (the bot is then serving),
against a fake Bot API on 127.0.0.1 and a freshly initialised SQLite database in a temporary directory.

    python -m bench.startup [--runs N]      (or `python -m bench`, which runs every benchmark)

The runs are interleaved, so that a change of load weighs on every figure alike; on a loaded machine the
figures are indicative (the load average is printed beside them).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import statistics
import string
import sys
import tempfile
import time
from pathlib import Path

from bench import runs_main
from tests.botapi_stub import BotAPIStub

LAUNCH_TIMEOUT = 60.0  # launch → first getUpdates
STOP_TIMEOUT = 20.0
# The figures, in the order printed, with their targets in seconds (issue 19, "Fast start").
HELP, UNIT_LIST, RUN = "hoso --help", "hoso unit list", "hoso run → first getUpdates"
TARGETS = {HELP: 1.0, UNIT_LIST: 1.0, RUN: 2.0}


class BenchError(Exception):
    pass


def hoso_executable() -> str:
    beside = Path(sys.executable).with_name("hoso")
    found = str(beside) if beside.exists() else shutil.which("hoso")
    if found is None:
        raise BenchError("the `hoso` command is not installed (run `make install`)")
    return found


def fake_token() -> str:
    return "123456:" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(35))


def clean_env(workdir: Path, token: str) -> dict[str, str]:
    """This environment without HOSO_* settings or proxies: only 127.0.0.1 is ever contacted."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("HOSO_") and key.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["HOSO_BOT_TOKEN"] = token
    env["HOSO_DATABASE_URL"] = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    return env


async def run_command(args: list[str], env: dict[str, str], cwd: Path, timeout: float) -> float:
    """Run a command to its end; its wall time in seconds."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *args, env=env, cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise BenchError(f"{' '.join(args)} did not finish within {timeout:.0f}s") from None
    elapsed = time.monotonic() - started
    if process.returncode != 0:
        raise BenchError(f"{' '.join(args)} failed ({process.returncode}):\n{output.decode(errors='replace')}")
    return elapsed


async def one_startup(hoso: str, env: dict[str, str], workdir: Path, token: str, log: Path) -> float:
    """Launch `hoso run`, time it up to the first getUpdates, then stop it with SIGINT."""
    async with BotAPIStub(token=token) as stub:
        env = {**env, "HOSO_TELEGRAM_API_BASE": stub.base_url}
        with log.open("wb") as output:
            launched = time.monotonic()
            process = await asyncio.create_subprocess_exec(
                hoso, "run", env=env, cwd=workdir, stdin=asyncio.subprocess.DEVNULL, stdout=output, stderr=output,
            )
        try:
            waiting = asyncio.create_task(stub.first_get_updates.wait())
            exited = asyncio.create_task(process.wait())
            await asyncio.wait({waiting, exited}, timeout=LAUNCH_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            exited.cancel()
            if stub.first_get_updates_at is None:
                state = f"exited with {process.returncode}" if process.returncode is not None else "timed out"
                raise BenchError(f"hoso run {state} before its first getUpdates:\n{log.read_text(errors='replace')}")
            startup = stub.first_get_updates_at - launched
            process.send_signal(signal.SIGINT)
            try:
                code = await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                raise BenchError(f"hoso run did not stop within {STOP_TIMEOUT:.0f}s of SIGINT") from None
            if code != 0:
                raise BenchError(f"hoso run exited with {code} on SIGINT:\n{log.read_text(errors='replace')}")
            return startup
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


def load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def table(figures: dict[str, list[float]]) -> list[str]:
    """One line per figure: median and max against its target."""
    lines = [f"{'figure':<30} {'median':>8} {'max':>8} {'target':>8}"]
    for name, values in figures.items():
        median, target = statistics.median(values), TARGETS[name]
        verdict = "met" if median < target else "MISSED"
        lines.append(f"{name:<30} {median:>7.2f}s {max(values):>7.2f}s {'< ' + format(target, 'g') + ' s':>8}  "
                     f"{verdict} (median)")
    return lines


async def measure(runs: int) -> None:
    hoso = hoso_executable()
    token = fake_token()
    with tempfile.TemporaryDirectory(prefix="hoso-bench-") as directory:
        workdir = Path(directory)  # also the cwd: no .env of the checkout is read
        env = clean_env(workdir, token)
        await run_command([hoso, "init"], env, workdir, LAUNCH_TIMEOUT)

        print(f"{runs} run{'s' if runs != 1 else ''} of each, interleaved; {load()} at the start:", flush=True)
        figures: dict[str, list[float]] = {HELP: [], UNIT_LIST: [], RUN: []}
        for index in range(1, runs + 1):
            figures[HELP].append(await run_command([hoso, "--help"], env, workdir, LAUNCH_TIMEOUT))
            figures[UNIT_LIST].append(await run_command([hoso, "unit", "list"], env, workdir, LAUNCH_TIMEOUT))
            figures[RUN].append(await one_startup(hoso, env, workdir, token, workdir / f"run-{index}.log"))
            print(f"  run {index}: " + ", ".join(f"{name} {values[-1]:.2f} s" for name, values in figures.items()),
                  flush=True)

    print("\n".join(table(figures)))
    print(f"({load()} at the end)")


def run(runs: int = 5) -> int:
    """The benchmark, for `python -m bench`: 0 when it ran, 1 when hoso failed."""
    try:
        asyncio.run(measure(runs))
    except BenchError as error:
        print(f"startup benchmark failed: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    return runs_main(run, "python -m bench.startup", __doc__, default_runs=5, argv=argv)

if __name__ == "__main__":
    sys.exit(main())
