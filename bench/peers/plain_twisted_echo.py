"""
The Twisted tutorial echo server, as the baseline netsuite's echo is compared with.

Deliberately the textbook version (no TCP_NODELAY, no limits, no backpressure): it is
the "what you get with five lines of Twisted" reference. Prints its port on stdout.
"""

from twisted.internet import protocol, reactor


class Echo(protocol.Protocol):
    """Writes every chunk it receives straight back."""

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


class EchoFactory(protocol.Factory):
    """Builds one Echo per connection."""

    def buildProtocol(self, addr: object) -> Echo:
        return Echo()


def main() -> None:
    """Listen on an ephemeral loopback port, announce it, and serve until SIGTERM."""
    port = reactor.listenTCP(0, EchoFactory(), interface="127.0.0.1")
    print(port.getHost().port, flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
