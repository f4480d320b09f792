"""`python -m bench [NAME...] [--runs N]`: run every benchmark, or the ones named.
`python -m bench NAME --option …`: one benchmark with its own options (`python -m bench NAME --help`)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from bench import startup

BENCHMARKS: dict[str, Callable[[int], int]] = {
    "startup": startup.run,
    "find": lambda runs: __import__("bench.find", fromlist=["run"]).run(runs),  # imported lazily: aiogram is slow
    "import_export": lambda runs: __import__("bench.import_export", fromlist=["run"]).run(runs),
    "fanout": lambda runs: __import__("bench.fanout", fromlist=["run"]).run(runs),
    "channels": lambda runs: __import__("bench.channels", fromlist=["run"]).run(runs),
    "reports": lambda runs: __import__("bench.reports", fromlist=["run"]).run(runs),
    "inspect": lambda runs: __import__("bench.inspect", fromlist=["run"]).run(runs),
    "web": lambda runs: __import__("bench.web", fromlist=["run"]).run(runs),
    "backup": lambda runs: __import__("bench.backup", fromlist=["run"]).run(runs),
}
# Run only when named: it needs nginx, PostgreSQL and Redis, and minutes (`python -m bench instances`).
NAMED_ONLY: dict[str, Callable[[int], int]] = {
    "instances": lambda runs: __import__("bench.instances", fromlist=["run"]).run(runs),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})")
    parser.add_argument("--runs", type=int, default=None, help="measurements per benchmark (default: 5)")
    args, options = parser.parse_known_args(argv)
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    known = {**BENCHMARKS, **NAMED_ONLY}
    unknown = [name for name in args.names if name not in known]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(known)}")
    if options:  # a benchmark's own options: its own command line (`python -m bench.NAME …`)
        if len(args.names) != 1:
            parser.error(f"options {' '.join(options)} need exactly one NAME")
        runs = [] if args.runs is None else ["--runs", str(args.runs)]
        return int(importlib.import_module(f"bench.{args.names[0]}").main(options + runs))
    failures = 0
    for name in args.names or BENCHMARKS:
        failures += known[name](5 if args.runs is None else args.runs) != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
