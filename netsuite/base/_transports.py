"""
The transports netsuite's protocols are given, as the type checker should see them.

Twisted types C{Protocol.transport} as C{ITransport | None} and
C{DatagramProtocol.transport} as C{IUDPTransport | None}: true before C{makeConnection},
too wide after it. A protocol that only runs connected declares the transport it gets,
C{transport: ITCPTransport} or C{transport: IConnectedUDPTransport}, once, at class level.
"""

from __future__ import annotations

from twisted.internet.interfaces import IUDPTransport

__all__ = ["IConnectedUDPTransport"]


class IConnectedUDPTransport(IUDPTransport):
    """
    A UDP port connected to one peer (C{connect} called): C{write} needs no address.

    Twisted's own C{IUDPTransport.write} declares C{addr} without a default although
    a connected port refuses one; this says what its implementation does.
    """

    def write(packet: bytes, addr: object = None) -> None:
        """
        Send C{packet} to the connected peer.

        The override only adds the default Twisted's C{udp.Port.write} has.
        """
