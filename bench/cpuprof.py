"""
Run a Python script under cProfile with a CPU-time clock, and save its statistics at exit.

Why not C{python -m cProfile} or C{twistd --profile}: they time with the wall clock, so on
a busy machine every moment the server waits for a CPU (or is preempted inside a system
call) is charged to whatever function it was in. Charging CPU time (C{time.process_time})
keeps the per-function figures comparable between servers run at different moments.

    python bench/cpuprof.py STATS SCRIPT [ARGS...]   # e.g. SCRIPT = /tmp/venv/bin/twistd
"""

from __future__ import annotations

import cProfile
import runpy
import sys
import time


def main() -> None:
    """Profile SCRIPT with ARGS as its command line; dump to STATS however it ends."""
    stats, script, *rest = sys.argv[1:]
    sys.argv = [script, *rest]
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit:
        pass
    finally:
        profiler.disable()
        profiler.dump_stats(stats)


if __name__ == "__main__":
    main()
