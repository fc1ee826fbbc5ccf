"""
A TCP listener's accept-error lines, summarized.

Twisted's C{tcp.Port} logs each accept error itself (C{EMFILE} recovery: a line when it
releases its reserved descriptor, one per connection it then closes, one when it
re-reserves; "Could not accept new connection" otherwise), so a burst of connects at
the descriptor limit wrote hundreds of info lines. L{summarize_accept_errors} (called by
the listener service for every port) sends them through a L{RepeatSummary}: the first
line of each kind at once, then one line a second for its repeats.
"""

from __future__ import annotations

from typing import Any, cast

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import ILogObserver
from zope.interface import implementer

from netsuite._twisted.tcp import accept_logger, set_accept_observer

__all__ = ["RepeatSummary", "summarize_accept_errors"]


@implementer(ILogObserver)
class RepeatSummary:
    """
    A log observer that lets the first event of a kind (its C{log_format}) through and
    counts the repeats for C{window} seconds, then writes one line for them: "... (and 78
    more like it in 1s)", with the last one's fields. An C{EMFILE} burst on a listener
    (Twisted logs a line per accept error and per connection its recovery closes) then
    writes a few lines a second, not one per failed accept.
    """

    def __init__(
        self, observer: ILogObserver, clock: IReactorTime | None = None, window: float = 1.0
    ) -> None:
        if clock is None:
            from twisted.internet import reactor

            clock = cast(IReactorTime, reactor)
        self.observer = observer
        self.clock = clock
        self.window = window
        #: log_format -> [repeats, the last repeat]; present while its window is open.
        self._open: dict[str, list[Any]] = {}
        self._due: IDelayedCall | None = None

    def __call__(self, event: dict[str, Any]) -> None:
        kind = str(event.get("log_format"))
        pending = self._open.get(kind)
        if pending is not None:
            pending[0] += 1
            pending[1] = event
            return
        self._open[kind] = [0, None]
        self.observer(event)
        if self._due is None:
            self._due = self.clock.callLater(self.window, self.flush)

    def flush(self) -> None:
        """Write the summary line of each kind that repeated; close every window."""
        if self._due is not None and self._due.active():
            self._due.cancel()
        self._due = None
        opened, self._open = self._open, {}
        for kind, (repeats, last) in opened.items():
            if repeats:
                self.observer(
                    {
                        **last,
                        "log_format": f"{kind} (and {{log_repeats}} more like it in "
                        f"{self.window:g}s)",
                        "log_repeats": repeats,
                        "log_time": self.clock.seconds(),
                    }
                )


def summarize_accept_errors(port: object, clock: IReactorTime | None = None) -> bool:
    """
    Put C{port}'s accept-error lines through a L{RepeatSummary} on the global log
    publisher; False when C{port} is not a TCP port (its lines unchanged).
    """
    from twisted.logger import globalLogPublisher

    if accept_logger(port) is None:  # a memory reactor's port, a UNIX one, a datagram one
        return False
    if clock is None:
        clock = cast(IReactorTime, getattr(port, "reactor", None))  # the port's own reactor
    return set_accept_observer(port, RepeatSummary(globalLogPublisher, clock))
