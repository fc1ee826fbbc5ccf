"""
Fake lag's timer, shared by the door adapters that carry a chat session's input (the
line and IRC doors over TCP, IRC over WebSocket).

The session's L{netsuite.chat._flood.InputPacer} decides which lines wait and for how
long; an adapter only keeps time: it wakes when the next queued line's turn comes, runs
what is due under one cork, and sets itself again.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.interfaces import IDelayedCall

from netsuite.stream._write import corked

__all__ = ["PacedInput"]


class PacedInput:
    """
    Mixed into an adapter whose C{session} has C{closed} and C{release()} (which runs
    the lines now due and says how long until the next, or L{None}) and whose
    C{factory} has a C{clock}.
    """

    session: Any
    factory: Any
    _release_call: IDelayedCall | None = None

    def _pace(self, wait: float | None) -> None:
        """Wake in C{wait} seconds (L{None}: nothing waits), unless a wake is set."""
        if wait is None or self.session.closed or self._release_call is not None:
            return
        self._release_call = self.factory.clock.callLater(wait, self._release)

    def _release(self) -> None:
        self._release_call = None
        with corked():
            wait = self.session.release()
        self._pace(wait)

    def _stop_pacing(self) -> None:
        """The connection is gone: no wake outlives it."""
        call, self._release_call = self._release_call, None
        if call is not None and call.active():
            call.cancel()
