"""`python -m bench [NAME...] [--runs N]`: run every benchmark, or the ones named."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from bench import startup

BENCHMARKS: dict[str, Callable[[int], int]] = {
    "startup": startup.run,
    "find": lambda runs: __import__("bench.find", fromlist=["run"]).run(runs),  # imported lazily: aiogram is slow
    "import_export": lambda runs: __import__("bench.import_export", fromlist=["run"]).run(runs),
    "fanout": lambda runs: __import__("bench.fanout", fromlist=["run"]).run(runs),
    "reports": lambda runs: __import__("bench.reports", fromlist=["run"]).run(runs),
    "inspect": lambda runs: __import__("bench.inspect", fromlist=["run"]).run(runs),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})")
    parser.add_argument("--runs", type=int, default=5, help="measurements per benchmark (default: 5)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    failures = 0
    for name in args.names or BENCHMARKS:
        failures += BENCHMARKS[name](args.runs) != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
