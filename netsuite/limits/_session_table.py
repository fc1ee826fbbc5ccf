"""
A bounded table of per-peer sessions for datagram servers; sans-IO (time is passed in).

A datagram server that keeps state per source address (DTLS does) must bound it: a peer
can always come back from a new port. The table holds at most C{max_sessions} entries,
drops the least recently active when a new one needs room, and gives up on an entry that
has been quiet longer than its own timeout (a short one while a handshake runs, a long
one after). It knows nothing of DTLS.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from netsuite.limits._defaults import MAX_SESSIONS

__all__ = ["SessionTable"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass
class _Entry(Generic[V]):
    value: V
    last_seen: float
    timeout: float


class SessionTable(Generic[K, V]):
    """
    Sessions by peer, least recently active first.

    @ivar max_sessions: the most entries kept; adding one more evicts the oldest.
    """

    def __init__(self, max_sessions: int = MAX_SESSIONS) -> None:
        if max_sessions < 1:
            raise ValueError(f"max_sessions must be at least 1, not {max_sessions}")
        self.max_sessions = max_sessions
        self._entries: OrderedDict[K, _Entry[V]] = OrderedDict()
        # No entry with a timeout shorter than this exists, so an expiry scan stops at
        # the first entry younger than it: everything after it is younger still.
        self._shortest = float("inf")

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, peer: object) -> bool:
        return peer in self._entries

    def get(self, peer: K) -> V | None:
        """The session of C{peer}, without counting this as activity."""
        entry = self._entries.get(peer)
        return None if entry is None else entry.value

    def touch(self, peer: K, now: float, timeout: float | None = None) -> None:
        """Record activity from C{peer} now (and, if given, its new idle C{timeout})."""
        entry = self._entries[peer]
        entry.last_seen = now
        if timeout is not None:
            entry.timeout = timeout
            self._shortest = min(self._shortest, timeout)
        self._entries.move_to_end(peer)

    def add(self, peer: K, value: V, now: float, timeout: float) -> list[tuple[K, V]]:
        """
        Keep C{value} for C{peer} (replacing any); return the entries evicted to make room,
        least recently active first, for the caller to close.
        """
        evicted = []
        old = self._entries.pop(peer, None)
        if old is not None:
            evicted.append((peer, old.value))
        while len(self._entries) >= self.max_sessions:
            gone, entry = self._entries.popitem(last=False)
            evicted.append((gone, entry.value))
        self._entries[peer] = _Entry(value, now, timeout)
        self._shortest = min(self._shortest, timeout)
        return evicted

    def remove(self, peer: K) -> V | None:
        """Forget C{peer}; return its session if there was one."""
        entry = self._entries.pop(peer, None)
        return None if entry is None else entry.value

    def expire(self, now: float) -> list[tuple[K, V]]:
        """Remove and return every entry quiet for at least its timeout."""
        gone = []
        for peer, entry in self._entries.items():
            quiet = now - entry.last_seen
            if quiet < self._shortest:
                break
            if quiet >= entry.timeout:
                gone.append((peer, entry.value))
        for peer, _ in gone:
            del self._entries[peer]
        return gone

    def items(self) -> list[tuple[K, V]]:
        """Every (peer, session), least recently active first."""
        return [(peer, entry.value) for peer, entry in self._entries.items()]
