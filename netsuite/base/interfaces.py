"""
The interfaces netsuite adds to Twisted's endpoint system, for datagram listeners.

Twisted's string descriptions cover stream servers only. Datagram listeners get the same
treatment here: a description such as C{udp:7007:interface=127.0.0.1} is parsed by a
plugin that provides L{IDatagramServerEndpointStringParser}, found in C{twisted.plugins}
like Twisted's own parsers, so anyone can add a datagram transport (netsuite's DTLS does).
This module imports only zope.interface at run time, so plugin modules can import it
cheaply; the Twisted names in its annotations are imported for the type checker only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zope.interface import Attribute, Interface

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import IListeningPort
    from twisted.internet.protocol import DatagramProtocol

__all__ = ["IDatagramServerEndpoint", "IDatagramServerEndpointStringParser"]


class IDatagramServerEndpoint(Interface):
    """A place a datagram protocol can listen: the datagram twin of a stream endpoint."""

    def listen(protocol: DatagramProtocol) -> Deferred[IListeningPort]:
        """
        Start listening with C{protocol} (an L{IProtocol} for datagrams).

        @return: a L{Deferred} firing with the L{IListeningPort}.
        """


class IDatagramServerEndpointStringParser(Interface):
    """A plugin that turns the arguments of one description prefix into an endpoint."""

    prefix = Attribute("The description prefix this parser handles, such as C{'udp'}.")

    def parseDatagramServer(
        reactor: object, *args: object, **kwargs: object
    ) -> IDatagramServerEndpoint:
        """
        Parse the colon-separated arguments after the prefix.

        @return: an L{IDatagramServerEndpoint}.
        """
