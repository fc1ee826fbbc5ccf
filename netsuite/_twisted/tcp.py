"""
Writing to a Twisted TCP connection's socket directly, when nothing is queued before it.

Why no public API serves: Twisted's C{ITransport.write} always queues and sends on a
later reactor turn; there is no public way to ask whether a connection has bytes waiting
(C{_tempDataBuffer} is the list C{write} appends to before C{doWrite} joins it into
C{dataBuffer}). L{send_now} reads it, so it lives here, pinned by
C{tests/_twisted/test_pins.py}.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import tcp

__all__ = ["PRIVATE_NAMES", "direct_transport", "send_now"]

#: The private names this module relies on, as (object, attribute) pairs the pin test checks.
PRIVATE_NAMES = (("twisted.internet.tcp.Connection", "_tempDataBuffer"),)


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
