"""
netsuite's reactor: Twisted's epoll reactor with a cheaper dispatch per event
(C{twistd --reactor netsuite}, docs/reactors.md).

Why: the epoll reactor runs every readiness event through
C{twisted.python.log.callWithLogger}, which builds a legacy logging context (a dict
copied per call, the selectable's C{logPrefix()} looked up) around C{doRead}: measured
here at 2.4 us per event against 0.1 us for the call itself, in a UDP echo that spends
10 us per datagram in all. asyncio's selector loop calls the transport directly. This
reactor does too; the one thing the context gave is the C{system} of I{legacy}
C{log.msg}/C{log.err} calls made inside a dispatch (their text log line shows C{[-]}
instead of the protocol's log prefix). netsuite logs through C{twisted.logger}, whose
events carry their namespace either way, so no netsuite line changes.

Why a private part: no public hook reaches the poll loop; C{doPoll} reads the poller
and the fd map (C{_poller}, C{_selectables}) and hands each event to C{_doReadOrWrite}
as Twisted does; a read-only event (the common case) takes a shorter path with the same
steps (the C{fileno() == -1} check, C{doRead}, the error logged and the selectable
disconnected). C{tests/_twisted/test_pins.py} pins every name and
C{tests/_twisted/test_reactor.py} checks the behaviour against the epoll reactor's.
"""

from __future__ import annotations

import errno
import sys
from typing import Any

from twisted.internet import epollreactor, posixbase
from twisted.internet.main import installReactor
from twisted.python import log

__all__ = ["PRIVATE_NAMES", "NetsuiteReactor", "install"]

#: The private names this module relies on, as (object, attribute) pairs the pin test checks.
PRIVATE_NAMES = (
    ("twisted.internet.epollreactor.EPollReactor", "_poller"),
    ("twisted.internet.epollreactor.EPollReactor", "_selectables"),
    ("twisted.internet.epollreactor.EPollReactor", "_doReadOrWrite"),
    ("twisted.internet.epollreactor.EPollReactor", "_disconnectSelectable"),
    ("twisted.internet.posixbase", "_NO_FILEDESC"),
)

_IN = epollreactor.EPOLLIN


class NetsuiteReactor(epollreactor.EPollReactor):
    """The epoll reactor, each event dispatched without a legacy log context."""

    def doPoll(self, timeout: float | None) -> None:
        if timeout is None:
            timeout = -1  # wait until something happens
        try:
            events = self._poller.poll(timeout, len(self._selectables))
        except OSError as err:
            if err.errno == errno.EINTR:
                return
            raise
        selectables = self._selectables
        for fd, event in events:
            selectable = selectables.get(fd)
            if selectable is None:
                continue  # removed by an earlier event of this batch
            if event != _IN:
                self._doReadOrWrite(selectable, fd, event)
                continue
            try:
                if selectable.fileno() == -1:
                    why: Any = posixbase._NO_FILEDESC
                else:
                    why = selectable.doRead()
            except BaseException:
                why = sys.exc_info()[1]
                log.err()
            if why:
                self._disconnectSelectable(selectable, why, True)

    doIteration = doPoll


def install() -> NetsuiteReactor:
    """Install L{NetsuiteReactor} as the global reactor (what C{--reactor netsuite} runs)."""
    reactor = NetsuiteReactor()
    installReactor(reactor)
    return reactor
