"""A fast start, held without timing anything: what a command imports. `--help` loads no database library; the
administrative commands load neither aiogram, nor the renderers' libraries, nor alembic; `hoso run` loads the bot but not the renderers, Redis's
client or the web chat's server unless it serves them. (`python -m bench.startup` measures the seconds.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import sqlite_url

# Slow to import, and needed only by the commands or the updates that use them.
RENDERERS = ("openpyxl", "docx", "matplotlib", "numpy", "PIL")
# alembic only migrates: the schema check before a command reads the version table and the migrations' names.
ADMINISTRATIVE_NEVER = ("aiogram", *RENDERERS, "holidays", "jinja2", "redis", "alembic", "cryptography")
# The help reads no database and seals nothing.
HELP_NEVER = (*ADMINISTRATIVE_NEVER, "sqlalchemy", "aiosqlite", "asyncpg", "argon2")
RUN_NEVER = (*RENDERERS, "holidays", "jinja2", "redis")

# Runs the command line in this interpreter as `hoso` would, then writes down the modules it imported.
CLI_PROBE = """
import json, sys
argv, out = sys.argv[1:-1], sys.argv[-1]
sys.argv = ["hoso", *argv]
try:
    from bot.cli import main
    main()
except SystemExit as done:
    code = done.code
with open(out, "w") as modules:
    json.dump({"code": code, "modules": sorted(sys.modules)}, modules)
"""

# What `hoso run` imports before it polls: the command, the runners, and the Dispatcher with every router.
RUN_PROBE = """
import json, sys
from bot.cli import serving
from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError
from bot.runners import ListenError, run_polling, run_webhook
from bot.runtime import open_runtime
from bot.web.errors import WebListenError
from bot.zalo.run import ZaloStartError
from bot.factory import create_dispatcher
import handlers
handlers.routers()
with open(sys.argv[1], "w") as modules:
    json.dump({"code": 0, "modules": sorted(sys.modules)}, modules)
"""


def probe(program: str, *args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, set[str]]:
    """Run `program` in a fresh interpreter; its exit code and the top-level packages it imported."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("HOSO_")}
    environment.update(env or {})
    out = cwd / "modules.json"
    result = subprocess.run([sys.executable, "-c", program, *args, str(out)], cwd=cwd, env=environment,
                            capture_output=True, text=True, timeout=120)
    assert out.exists(), result.stderr
    found = json.loads(out.read_text())
    return found["code"], {name.partition(".")[0] for name in found["modules"]}


@pytest.mark.parametrize("command", [["--help"], ["unit", "--help"], ["import", "--help"], ["run", "--help"]])
def test_the_help_loads_no_bot_and_no_renderer(tmp_path: Path, command: list[str]) -> None:
    code, modules = probe(CLI_PROBE, *command, cwd=tmp_path)
    assert code == 0
    assert "typer" in modules and "bot" in modules  # the probe ran the command line
    assert modules.isdisjoint(HELP_NEVER), sorted(modules & set(HELP_NEVER))


def test_an_administrative_command_loads_no_bot_and_no_renderer(tmp_path: Path) -> None:
    env = {"HOSO_DATABASE_URL": sqlite_url(tmp_path)}
    init = subprocess.run([str(Path(sys.executable).with_name("hoso")), "init"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env})
    assert init.returncode == 0, init.stderr
    for command in (["unit", "list"], ["account", "list"]):
        code, modules = probe(CLI_PROBE, *command, "--json", cwd=tmp_path, env=env)
        assert code in (0, None)
        assert "sqlalchemy" in modules  # the probe read the database
        assert modules.isdisjoint(ADMINISTRATIVE_NEVER), (command, sorted(modules & set(ADMINISTRATIVE_NEVER)))


def test_the_bot_starts_without_the_renderers_redis_or_the_web_server(tmp_path: Path) -> None:
    code, modules = probe(RUN_PROBE, cwd=tmp_path)
    assert code == 0 and "aiogram" in modules and "handlers" in modules
    assert modules.isdisjoint(RUN_NEVER), sorted(modules & set(RUN_NEVER))
