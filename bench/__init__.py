"""Benchmarks of HoSo: `python -m bench` (from the repository root) runs them all."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def runs_main(run: Callable[[int], int], prog: str, doc: str | None, default_runs: int,
              argv: list[str] | None = None) -> int:
    """The command line of a benchmark whose only option is how many times to measure."""
    parser = argparse.ArgumentParser(prog=prog, description=(doc or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=default_runs, help=f"measurements (default: {default_runs})")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return run(args.runs)
