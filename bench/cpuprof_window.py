"""
Run a Python script with cProfile (CPU-time clock) switched on and off by SIGUSR2, and save
the statistics at exit: the first SIGUSR2 starts profiling, the next stops it, and so on.

Why not bench/cpuprof.py: it profiles the whole life of the server, start-up included, so
calls per request come out inflated by imports and set-up. Profiling only the measured
window gives exact calls and CPU per request. CPU time (C{time.process_time}) rather than
the wall clock, so time spent waiting for a CPU on a busy machine is not charged.

    python bench/cpuprof_window.py STATS SCRIPT [ARGS...]; kill -USR2 PID (on), again (off)
"""

from __future__ import annotations

import cProfile
import runpy
import signal
import sys
import time


def main() -> None:
    """Run SCRIPT with ARGS as its command line; SIGUSR2 toggles the profiler."""
    stats, script, *rest = sys.argv[1:]
    sys.argv = [script, *rest]
    profiler = cProfile.Profile(time.process_time)
    on = False

    def toggle(signum: int, frame: object) -> None:
        nonlocal on
        # The handler runs in the main thread, the one the servers here run in.
        if on:
            profiler.disable()
        else:
            profiler.enable()
        on = not on

    signal.signal(signal.SIGUSR2, toggle)
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit:
        pass
    finally:
        profiler.disable()
        profiler.dump_stats(stats)


if __name__ == "__main__":
    main()
