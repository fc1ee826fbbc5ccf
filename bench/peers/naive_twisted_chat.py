"""
A naive Twisted broadcast chat, the "what you get with a few lines of Twisted" baseline
for chat.py: a LineReceiver per client, the factory keeps the set of clients, and each
line is written to every client (the sender included) with C{sendLine}.

Deliberately textbook: no limits, no backpressure, no framing beyond LineReceiver's.
Changes for the benchmark: an ephemeral loopback port, printed on stdout; a backlog of
512 (500 members connect at once; setup only); C{--nodelay} sets TCP_NODELAY on each
connection, as netsuite does (see bench/README.md for why chat.py uses it).
"""

import sys

from twisted.internet import protocol, reactor
from twisted.protocols.basic import LineReceiver


class ChatClient(LineReceiver):
    """One member: joins the factory's set on connect, leaves it on disconnect."""

    def connectionMade(self) -> None:
        if self.factory.nodelay:
            self.transport.setTcpNoDelay(True)
        self.factory.clients.add(self)

    def connectionLost(self, reason: object = None) -> None:
        self.factory.clients.discard(self)

    def lineReceived(self, line: bytes) -> None:
        for c in self.factory.clients:
            c.sendLine(line)


class ChatFactory(protocol.Factory):
    """Holds every connected client."""

    protocol = ChatClient

    def __init__(self, nodelay: bool = False) -> None:
        self.clients: set[ChatClient] = set()
        self.nodelay = nodelay


def main() -> None:
    """Listen on an ephemeral loopback port, announce it, and serve until SIGTERM."""
    factory = ChatFactory(nodelay="--nodelay" in sys.argv[1:])
    port = reactor.listenTCP(0, factory, interface="127.0.0.1", backlog=512)
    print(port.getHost().port, flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
