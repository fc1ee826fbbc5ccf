"""
In order, exactly once: a reusable sequencer for anything numbered that travels over
UDP (or any path that may lose, duplicate or reorder).

C{receive(seq, item, now)} returns what can now be delivered, in sequence order. Items
that arrive early wait in a bounded window; a hole is given up on (counted lost) when it
has held delivery back for C{gap_timeout} seconds, or when an arrival would not fit the
window. Anything at or behind the delivery point is never delivered again. Time is
passed in, so the same object works with a reactor, a test clock, or none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Sequencer", "SequencerStats"]


@dataclass
class SequencerStats:
    """
    @ivar delivered: items delivered (each sequence number once).
    @ivar lost: sequence numbers given up on (never delivered).
    @ivar duplicates: arrivals of a number already delivered or waiting.
    @ivar reordered: first arrivals that came after a higher number had arrived.
    @ivar late: arrivals of a number already given up on (still not delivered).
    """

    delivered: int = 0
    lost: int = 0
    duplicates: int = 0
    reordered: int = 0
    late: int = 0


class Sequencer:
    """
    @ivar window: the most sequence numbers held ahead of the delivery point.
    @ivar gap_timeout: seconds a hole may hold delivery back.
    @ivar next: the next sequence number to deliver.
    """

    def __init__(self, window: int = 1024, gap_timeout: float = 1.0, first: int = 0) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self.window = window
        self.gap_timeout = gap_timeout
        self.next = first
        self.stats = SequencerStats()
        self._pending: dict[int, Any] = {}
        self._gap_since: float | None = None
        self._highest = first - 1
        self._skipped: set[int] = set()  # given up on, kept while within reach (bounded)

    def receive(self, seq: int, item: Any, now: float) -> list[tuple[int, Any]]:
        """Take one arrival; return the items now deliverable, in order."""
        stats = self.stats
        if seq < self.next or seq in self._pending:
            if seq in self._skipped:
                stats.late += 1
            else:
                stats.duplicates += 1
            return self.tick(now)
        if seq < self._highest:
            stats.reordered += 1
        else:
            self._highest = seq
        out: list[tuple[int, Any]] = []
        if seq - self.next >= self.window:
            # No room ahead: give up on the oldest holes until this one fits.
            out += self._skip_to(seq - self.window + 1)
        self._pending[seq] = item
        if self._gap_since is None:
            self._gap_since = now
        out += self._drain(now)
        out += self.tick(now)
        return out

    def tick(self, now: float) -> list[tuple[int, Any]]:
        """Give up on a hole that has waited C{gap_timeout}; call it from a timer too."""
        out: list[tuple[int, Any]] = []
        while self._pending and self._gap_since is not None:
            if now - self._gap_since < self.gap_timeout:
                break
            out += self._skip_to(min(self._pending))
            out += self._drain(now)
        return out

    def flush(self, end: int | None = None) -> list[tuple[int, Any]]:
        """
        The stream is over: deliver everything waiting, counting holes as lost. With
        C{end} (one past the last number sent), trailing numbers never seen count too.
        """
        out: list[tuple[int, Any]] = []
        while self._pending:
            out += self._skip_to(min(self._pending))
            out += self._drain(None)
        if end is not None and end > self.next:
            out += self._skip_to(end)
        return out

    def _skip_to(self, seq: int) -> list[tuple[int, Any]]:
        """Give up on every hole below C{seq}, delivering what waits there."""
        out: list[tuple[int, Any]] = []
        while self.next < seq:
            if self.next in self._pending:
                out.append((self.next, self._pending.pop(self.next)))
                self.stats.delivered += 1
            else:
                self.stats.lost += 1
                self._skipped.add(self.next)
            self.next += 1
        self._forget_skipped()
        return out

    def _drain(self, now: float | None) -> list[tuple[int, Any]]:
        out: list[tuple[int, Any]] = []
        pending = self._pending
        while self.next in pending:
            out.append((self.next, pending.pop(self.next)))
            self.stats.delivered += 1
            self.next += 1
        if not pending:
            self._gap_since = None
        elif out and now is not None:
            self._gap_since = now  # progress: the hole now holding delivery back is new
        return out

    def _forget_skipped(self) -> None:
        if len(self._skipped) > 4 * self.window:
            horizon = self.next - 4 * self.window
            self._skipped = {s for s in self._skipped if s >= horizon}

    def pending(self) -> Iterable[int]:
        return sorted(self._pending)
