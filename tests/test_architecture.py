"""The house's rules, read from the code's own imports (ARCHITECTURE.md, "Floors").

- `bot/` wires everything together; nothing else imports it.
- `handlers/` reach data only through `services/`: no sqlalchemy, no storage.
- `services/` and `storage/` know no channel: no aiogram, no handlers, no bot.
- `storage/` imports no service.
- Inside `services/`, an import only points down the order of the capability packages.

A failing rule names the importing file, its line, the import and the rule it breaks."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("bot", "handlers", "services", "storage")

# The service packages, lowest first. A module may import its own package and those listed before it.
SERVICE_ORDER = ("core", "regime", "platform", "dossiers", "changes", "custody", "accounts", "oversight", "reminders",
                 "documents", "demo", "facade")


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    module: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line} imports {self.module}"


def imports_of(path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "services":  # `from services import x`: each name is a package
                for alias in node.names:
                    yield Import(path, node.lineno, f"services.{alias.name}")
            else:
                yield Import(path, node.lineno, node.module)


def files(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


def top(module: str) -> str:
    return module.split(".")[0]


def service_package(module_or_path: str) -> str | None:
    """The capability package of `services.x.y` (or of a file under services/)."""
    parts = module_or_path.split(".")
    if parts[0] != "services" or len(parts) < 2:
        return None
    return parts[1]


def module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


FORBIDDEN = {
    "handlers": ({"bot", "storage", "sqlalchemy"}, "handlers reach data only through services"),
    "services": ({"aiogram", "handlers", "bot"}, "services know no channel: no aiogram, handlers or bot"),
    "storage": ({"aiogram", "handlers", "bot", "services"}, "storage knows no channel and no service"),
}


def violations() -> list[str]:
    found = []
    for layer in LAYERS:
        banned, rule = FORBIDDEN.get(layer, (set(), ""))
        for path in files(layer):
            own = service_package(module_of(path))
            for item in imports_of(path):
                if top(item.module) in banned:
                    found.append(f"{item}: {rule}")
                    continue
                if layer != "services" or own is None:
                    continue
                target = service_package(item.module)
                if target is None:
                    continue
                if own not in SERVICE_ORDER or target not in SERVICE_ORDER:
                    found.append(f"{item}: every service module belongs to a package of the order {SERVICE_ORDER}")
                elif SERVICE_ORDER.index(target) > SERVICE_ORDER.index(own):
                    found.append(f"{item}: services.{own} may not import services.{target}, which stands above it "
                                 f"(the order is {' < '.join(SERVICE_ORDER)})")
    return found


def test_imports_point_down_the_layers_and_the_service_packages() -> None:
    found = violations()
    assert not found, "imports that break the house's rules:\n" + "\n".join(found)


def test_nothing_outside_bot_imports_bot() -> None:
    found = [str(item) for layer in ("handlers", "services", "storage") for path in files(layer)
             for item in imports_of(path) if top(item.module) == "bot"]
    assert not found, "bot/ is the composition root; nothing imports it:\n" + "\n".join(found)


def test_every_service_module_is_in_a_package_of_the_order() -> None:
    stray = [str(path.relative_to(ROOT)) for path in files("services")
             if path.name != "__init__.py" and service_package(module_of(path)) not in SERVICE_ORDER]
    assert not stray, f"service modules outside the packages {SERVICE_ORDER}: {stray}"


@pytest.mark.parametrize(("source", "expected"), [
    ("from services.oversight.reports import ReportService\n", "may not import services.oversight"),
    ("from handlers.views import esc\n", "services know no channel"),
    ("import aiogram\n", "services know no channel"),
])
def test_a_broken_rule_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, expected: str) -> None:
    """The check itself: a module of services.regime that imports upward, or a channel, is reported by name."""
    fake_root = tmp_path
    (fake_root / "services" / "regime").mkdir(parents=True)
    (fake_root / "services" / "regime" / "bad.py").write_text(source, encoding="utf-8")
    for layer in ("bot", "handlers", "storage"):
        (fake_root / layer).mkdir()
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", fake_root)
    found = violations()
    assert len(found) == 1 and "services/regime/bad.py:1" in found[0] and expected in found[0], found
