"""
C{netsuite ping}'s live progress line: L{Progress} keeps sent, received, lost and the
average round trip up to date on stderr (a terminal) during long runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from netsuite.client._ping_session import PingSession

__all__ = ["PROGRESS_AFTER", "PROGRESS_EVERY", "Progress"]

#: A run shows its progress line once it has lasted this long (seconds).
PROGRESS_AFTER = 3.0
#: Seconds between progress line updates.
PROGRESS_EVERY = 0.5


class Progress:
    """
    The live line on stderr (a terminal): sent, received, lost, average round trip.

    Shown once the run has lasted L{PROGRESS_AFTER} seconds, updated every
    L{PROGRESS_EVERY}; L{clear} wipes it before anything else is printed.
    """

    def __init__(self, session: PingSession, stream: TextIO, now: Callable[[], float]) -> None:
        self.session = session
        self.stream = stream
        self.now = now
        self.showing = False

    def line(self) -> str:
        stats = self.session.stats
        outstanding = stats.sent - stats.received
        rtt = sum(stats.rtts_ms) / len(stats.rtts_ms) if stats.rtts_ms else None
        avg = "n/a" if rtt is None else f"{rtt:.3f} ms"
        return (
            f"{self.session.elapsed:.0f}s: {stats.sent} sent, {stats.received} received, "
            f"{outstanding} not back, {stats.duplicates} dup, {stats.reordered} reordered, "
            f"rtt avg {avg}"
        )

    def tick(self) -> None:
        session = self.session
        if session.done or session.started_at is None:
            return
        if self.now() - session.started_at < PROGRESS_AFTER:
            return
        self.stream.write("\r\x1b[K" + self.line())
        self.stream.flush()
        self.showing = True

    def clear(self) -> None:
        if self.showing:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.showing = False
