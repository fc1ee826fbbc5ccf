"""
The TCP (and TLS) echo door.

Backpressure: the connection is registered as its own streaming producer, so when the
echoes it owes a peer pass the transport's buffer size (64 KiB) Twisted pauses it, it
stops reading from that peer, and the kernel's window pushes back on the sender. A client
that writes fast and reads slowly costs the server its socket buffers and 64 KiB, not
whatever it sent.
"""

from __future__ import annotations

from twisted.internet.interfaces import IHalfCloseableProtocol
from zope.interface import implementer

from netsuite.stream._door import DoorFactory, StreamDoor

__all__ = ["Echo", "EchoFactory"]


@implementer(IHalfCloseableProtocol)
class Echo(StreamDoor):
    """Sends back every byte it receives, in order."""

    def connectionMade(self) -> None:
        super().connectionMade()
        self.transport.registerProducer(self.transport, True)

    def data_received(self, data: bytes) -> None:
        self.write(data)

    def readConnectionLost(self) -> None:
        """The peer is done sending: finish echoing what it sent, then close."""
        self.finish()

    def writeConnectionLost(self) -> None:
        """The peer no longer reads: nothing left to do for it."""
        self.transport.loseConnection()


class EchoFactory(DoorFactory):
    """Builds L{Echo} doors under one set of limits and counters."""

    protocol = Echo
