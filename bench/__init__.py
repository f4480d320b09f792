"""Benchmarks of HoSo: `python -m bench` (from the repository root) runs them all."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path


def runs_main(run: Callable[[int], int], prog: str, doc: str | None, default_runs: int,
              argv: list[str] | None = None) -> int:
    """The command line of a benchmark whose only option is how many times to measure."""
    parser = argparse.ArgumentParser(prog=prog, description=(doc or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=default_runs, help=f"measurements (default: {default_runs})")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return run(args.runs)


def province_main(run: Callable[[int, int, Path | None], int], prog: str, doc: str | None, default_size: int,
                  default_runs: int = 5, argv: list[str] | None = None) -> int:
    """The command line of a benchmark over a seeded province: its size, how many runs, which database."""
    parser = argparse.ArgumentParser(prog=prog, description=(doc or "").split("\n\n")[0])
    parser.add_argument("--size", type=int, default=default_size, help=f"dossiers (default: {default_size})")
    parser.add_argument("--runs", type=int, default=default_runs, help=f"timed runs (default: {default_runs})")
    parser.add_argument("--db", type=Path, default=None, help="database file (default: the bench.seed cache)")
    args = parser.parse_args(argv)
    if args.size < 1 or args.runs < 1:
        parser.error("--size and --runs must be at least 1")
    return run(args.runs, args.size, args.db)

