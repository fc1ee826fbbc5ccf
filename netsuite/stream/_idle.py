"""
One idle timer for all the connections of a door, instead of one per connection.

Why: Twisted's L{TimeoutMixin} keeps a L{DelayedCall} per connection (the call, its
bound methods, its keyword dict, its place in the reactor's heap: some 450 bytes), and
moves it on every read. 10,000 idle chat members paid 4.5 MiB for timers that all say
the same thing. Here a door's connections share one timeout, so their deadlines fall in
the order of their last input: an insertion-ordered dict (connection -> time of its last
input) whose first entry is always the next to expire, and one timer, set for that entry.
Input moves a connection to the end (a dict delete and insert, cheaper than moving a
timer in the heap); the timer, when it fires, expires what is due and sets itself for the
new first entry. A connection costs a dict entry and a float.

Expiry is exact, as with a timer per connection: a connection is dropped when its
timeout has passed since its last input, not at the next tick of some sweep.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from twisted.internet.interfaces import IDelayedCall, IReactorTime

__all__ = ["IdleTimers"]

K = TypeVar("K", bound=Hashable)

#: Deadlines this close to now count as come: the timer is set for C{deadline - now} and
#: float arithmetic may bring it back a hair early.
_EARLY = 1e-6


class IdleTimers(Generic[K]):
    """
    Calls C{expire(key)} for each key not L{touch}ed for C{timeout()} seconds.

    @param timeout: the current timeout, read each time it is needed (a door factory's
        C{idle_timeout}: a test or an operator may change it). 0 or less: nothing expires
        (and nothing is tracked).
    """

    __slots__ = ("_call", "_clock", "_expire", "_firing", "_last", "_timeout")

    def __init__(
        self,
        clock: IReactorTime,
        timeout: Callable[[], float],
        expire: Callable[[K], object],
    ) -> None:
        self._clock = clock
        self._timeout = timeout
        self._expire = expire
        #: key -> time of its last input, oldest first.
        self._last: dict[K, float] = {}
        self._call: IDelayedCall | None = None
        #: Set while L{_fire} runs: it sets the next timer itself, once.
        self._firing = False

    def __len__(self) -> int:
        return len(self._last)

    def __contains__(self, key: object) -> bool:
        return key in self._last

    def touch(self, key: K) -> None:
        """C{key} had input now: its timeout starts again."""
        timeout = self._timeout()
        if not timeout or timeout <= 0:
            return
        last = self._last
        last.pop(key, None)
        last[key] = self._clock.seconds()
        if self._call is None and not self._firing:
            self._call = self._clock.callLater(timeout, self._fire)

    def forget(self, key: K) -> None:
        """C{key} is gone: it will not expire; with none left, the timer is cancelled."""
        last = self._last
        if last.pop(key, None) is not None and not last and not self._firing:
            self._cancel()

    def _cancel(self) -> None:
        call, self._call = self._call, None
        if call is not None and call.active():
            call.cancel()

    def _fire(self) -> None:
        self._call = None
        last = self._last
        timeout = self._timeout()
        if not timeout or timeout <= 0:
            last.clear()
            return
        clock = self._clock
        self._firing = True
        try:
            while last:
                key = next(iter(last))
                if last[key] + timeout - clock.seconds() > _EARLY:
                    break
                del last[key]
                self._expire(key)  # may forget or touch others: the loop reads them anew
        finally:
            self._firing = False
            if last:  # even if an expiry raised: the others still expire
                wait = next(iter(last.values())) + timeout - clock.seconds()
                self._call = clock.callLater(max(0.0, wait), self._fire)
