"""End to end: a second `hoso run` on the same database without Redis is refused with one line saying why;
the first's clean stop, or its death, lets the next one start."""

from __future__ import annotations

import signal

import pytest

from tests.botapi_stub import BotAPIStub
from tests.test_e2e import (  # noqa: F401 - the fixtures are used by name
    START_TIMEOUT,
    Launcher,
    bot_env,
    launcher,
    one_line,
    stub,
    token,
)

pytestmark = pytest.mark.e2e


async def serving(launcher: Launcher, stub: BotAPIStub) -> None:
    """A `hoso run` that reached its getUpdates: it claimed the database before it."""
    since = len(stub.calls)
    hoso = await launcher.start("run")
    try:
        await stub.wait_for("getUpdates", since=since, timeout=START_TIMEOUT)
    except TimeoutError:
        pytest.fail(f"no getUpdates within {START_TIMEOUT:.0f}s\n{hoso.output()}")


async def test_a_second_instance_without_redis_is_refused(
    launcher: Launcher, stub: BotAPIStub, bot_env: dict[str, str]
) -> None:
    await launcher.init()
    await serving(launcher, stub)
    first = launcher.started[-1]

    second = await launcher.run("run", timeout=START_TIMEOUT)
    assert second.process.returncode == 2, second.output()
    line = one_line(second.stderr)
    assert line.startswith("hoso: HOSO_REDIS_URL: ") and "Redis" in line, line
    web = await launcher.run("web", timeout=START_TIMEOUT)  # the web chat's server is an instance too
    assert web.process.returncode == 2 and "HOSO_REDIS_URL" in one_line(web.stderr), web.output()

    # Killed, it left its beat behind: recognised as dead (its process is gone), the next one starts.
    first.kill()
    await first.process.wait()
    await serving(launcher, stub)
    third = launcher.started[-1]
    assert await third.stop(signal.SIGINT) == 0, third.output()
    # A clean stop gives the database back at once.
    await serving(launcher, stub)
    assert await launcher.started[-1].stop(signal.SIGINT) == 0


async def test_redis_that_does_not_answer_is_one_line(launcher: Launcher, bot_env: dict[str, str]) -> None:
    await launcher.init()
    hoso = await launcher.run("run", env={**bot_env, "HOSO_REDIS_URL": "redis://127.0.0.1:9/0"}, timeout=START_TIMEOUT)
    assert hoso.process.returncode == 2, hoso.output()
    assert one_line(hoso.stderr).startswith("hoso: HOSO_REDIS_URL: "), hoso.stderr
