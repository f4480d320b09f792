"""`hoso web` under cProfile, for `python -m bench web --profile FILE`: profiling runs only between SIGUSR1
(the measured window begins) and SIGUSR2 (it ends: the statistics so far are written to FILE), so that the
start-up and the sign-ins (argon2) stay out of it. cProfile sees the main thread only: the time SQLite spends
in aiosqlite's threads shows as waiting.

    python -m bench.profiled FILE      (the environment configures the server, as for `hoso web`)
"""

from __future__ import annotations

import cProfile
import signal
import sys
from pathlib import Path
from types import FrameType


def main() -> None:
    target = Path(sys.argv[1])
    profile = cProfile.Profile()

    def begin(_signal: int, _frame: FrameType | None) -> None:
        profile.enable()

    def end(_signal: int, _frame: FrameType | None) -> None:
        profile.disable()
        profile.dump_stats(target)

    signal.signal(signal.SIGUSR1, begin)
    signal.signal(signal.SIGUSR2, end)
    from bot.cli import main as hoso

    sys.argv = ["hoso", "web"]
    hoso()


if __name__ == "__main__":
    main()
