"""
C{--workers N}: each worker's counters in a file, so any worker can answer for all.

Why files: a connection to C{/metrics} or C{/api/stats} reaches one worker, chosen by
the kernel, and the answer must cover every worker and their total. The parent makes a
directory (C{NETSUITE_WORKER_STATS}, L{netsuite.twistd._workers.STATS_ENV}); each worker
writes its record there as C{worker-N.json} every L{INTERVAL} seconds and once more as
it stops, each write whole (a temporary file, then C{os.replace}, so a reader never
sees half a record). The worker answering reads its siblings' files (a few KiB each,
read when asked, in the reactor thread) and its own counters live. No socket between
the processes, no lock, nothing the parent must relay; the price is that a sibling's
figures are up to L{INTERVAL} seconds old (each record says its age), and that a
restarted worker starts its counters from zero again, as any restarted process does
(Prometheus's C{rate()} reads that as a reset).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from twisted.application import service
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from netsuite.twistd._workers import COUNT_ENV, STATS_ENV, worker_index
from netsuite.web._stats import StatsRegistry

__all__ = ["INTERVAL", "WorkerRecord", "WorkerStats", "worker_stats"]

#: Seconds between two writes of a worker's record.
INTERVAL = 1.0

#: One worker's record: C{pid}, C{written} (seconds), C{uptime_s}, and C{services}:
#: C{{name: {"counters": {...}, "gauges": {...}}}}.
WorkerRecord = dict[str, Any]


def record(stats: StatsRegistry) -> WorkerRecord:
    """This process's record: what a sibling needs to report it."""
    return {
        "pid": os.getpid(),
        "written": stats.clock(),
        "uptime_s": round(stats.uptime(), 3),
        "services": {
            s.name: {"counters": s.counters.snapshot(), "gauges": s.gauge_values()} for s in stats
        },
    }


class WorkerStats(service.Service):
    """
    Writes this worker's record to C{directory} every C{interval} seconds and as it
    stops; L{records} gives every worker's, this one's read live.

    @ivar index: this worker's number; @ivar count: how many workers there are.
    """

    log = Logger()

    def __init__(self, stats: StatsRegistry, directory: str, index: int, count: int,
                 clock: Any, interval: float = INTERVAL) -> None:  # fmt: skip
        self.stats = stats
        self.directory = Path(directory)
        self.index = index
        self.count = count
        self.clock = clock
        self.interval = interval
        self._loop: LoopingCall | None = None
        self._warned = False

    def path(self, index: int) -> Path:
        return self.directory / f"worker-{index}.json"

    def write(self) -> None:
        """Write this worker's record whole (a reader sees the old one or the new one)."""
        target = self.path(self.index)
        partial = target.with_suffix(".tmp")
        try:
            partial.write_text(json.dumps(record(self.stats)))
            os.replace(partial, target)
        except OSError as e:
            if not self._warned:  # once: the directory went away, the disk is full...
                self._warned = True
                self.log.warn("cannot write the worker's stats {path}: {e}", path=target, e=e)

    def startService(self) -> None:
        super().startService()
        loop = self._loop = LoopingCall(self.write)
        loop.clock = self.clock
        loop.start(self.interval, now=True)

    def stopService(self) -> Any:
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self.write()  # the last figures: the record outlives the worker until it restarts

    def records(self) -> dict[int, WorkerRecord]:
        """Every worker's record by number; a worker with no readable file is absent."""
        out: dict[int, WorkerRecord] = {}
        now = self.stats.clock()
        for index in range(self.count):
            if index == self.index:
                out[index] = record(self.stats)
                continue
            try:
                found = json.loads(self.path(index).read_text())
            except (OSError, ValueError):
                continue  # not written yet (starting), or gone
            if isinstance(found, dict) and isinstance(found.get("services"), dict):
                out[index] = found
        for entry in out.values():
            entry["age_s"] = round(max(0.0, now - float(entry.get("written", now))), 3)
        return out


def worker_stats(stats: StatsRegistry, clock: Any,
                 environ: Mapping[str, str] | None = None) -> WorkerStats | None:  # fmt: skip
    """
    In a C{--workers} worker, the L{WorkerStats} of C{stats}, attached to it
    (C{stats.workers}, which C{/api/stats} and C{/metrics} then read); else L{None}.
    """
    environ = os.environ if environ is None else environ
    index = worker_index(environ)
    directory = environ.get(STATS_ENV)
    if index is None or not directory:
        return None
    publisher = WorkerStats(stats, directory, index, int(environ.get(COUNT_ENV, "1")), clock)
    stats.workers = publisher
    return publisher
