"""
Writing to a Twisted TCP connection's socket directly, when nothing is queued before it.

Why no public API serves: Twisted's C{ITransport.write} always queues and sends on a
later reactor turn; there is no public way to ask whether a connection has bytes waiting
(C{_tempDataBuffer} is the list C{write} appends to before C{doWrite} joins it into
C{dataBuffer}). L{send_now} reads it, so it lives here, pinned by
C{tests/_twisted/test_pins.py}.

A listening port logs its accept errors (C{EMFILE} recovery, "Could not accept new
connection") through its class's C{_logger}, one info line per event and no public way to
direct them: an C{EMFILE} burst wrote some 80 lines. L{set_accept_observer} gives one
port a logger of its own, so those lines go through a summary
(L{netsuite.stream._accept_log.RepeatSummary}).
"""

from __future__ import annotations

from typing import Any

from twisted.internet import tcp
from twisted.logger import ILogObserver, Logger

__all__ = ["PRIVATE_NAMES", "accept_logger", "direct_transport", "send_now", "set_accept_observer"]

#: The private names this module relies on, as (object, attribute) pairs the pin test checks.
PRIVATE_NAMES = (
    ("twisted.internet.tcp.Connection", "_tempDataBuffer"),
    ("twisted.internet.tcp.Port", "_logger"),
)


def accept_logger(port: object) -> Logger | None:
    """The logger a TCP listening port writes its accept errors to (L{None}: not one)."""
    if not isinstance(port, tcp.Port):
        return None
    logger: Logger = port._logger
    return logger


def set_accept_observer(port: object, observer: ILogObserver) -> bool:
    """
    Send C{port}'s accept-error events to C{observer} (their namespace kept); False
    when C{port} is not a Twisted TCP port (nothing changed).
    """
    logger = accept_logger(port)
    if logger is None:
        return False
    assert isinstance(port, tcp.Port)
    port._logger = Logger(namespace=logger.namespace, source=port, observer=observer)
    return True


def send_now(direct: tcp.Connection | None, transport: Any, data: bytes) -> None:
    """
    The one write path of every netsuite door: C{data} goes straight to the socket of
    C{direct} (the transport, when it is a plain TCP/UNIX connection) if nothing is
    queued before it, and whatever the kernel does not take goes through C{transport}'s
    own buffer, so ordering and producer backpressure stay Twisted's.
    """
    if (
        direct is not None
        and not direct._tempDataBuffer
        and not direct.dataBuffer
        and direct.connected
        and not direct.disconnecting
    ):
        try:
            sent = direct.socket.send(data)
        except OSError:
            # EAGAIN, or an error that Twisted's own write path will meet and report.
            sent = 0
        if sent == len(data):
            return
        if sent:
            data = data[sent:]
    transport.write(data)


def direct_transport(transport: Any) -> tcp.Connection | None:
    """C{transport} if L{send_now} may write to its socket directly, else L{None}."""
    return transport if isinstance(transport, tcp.Connection) else None
