"""
The Twisted tutorial echo behind Twisted's own C{ssl:} server endpoint: the baseline the
netsuite C{nstls:} echo is compared with in bench/tls.py.

Deliberately what five lines of Twisted give (C{ssl:} defaults: no session tickets, no
session cache, no handshake deadline). Usage: twisted_ssl_echo.py CERT KEY; prints its
port on stdout and serves until SIGTERM.
"""

import sys

from twisted.internet import protocol, reactor
from twisted.internet.endpoints import serverFromString


class Echo(protocol.Protocol):
    """Writes every chunk it receives straight back."""

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


class EchoFactory(protocol.Factory):
    """Builds one Echo per connection."""

    def buildProtocol(self, addr: object) -> Echo:
        return Echo()


def main() -> None:
    """Listen with C{ssl:} on an ephemeral loopback port and announce the port."""
    cert, key = sys.argv[1], sys.argv[2]
    for path in (cert, key):  # colons and backslashes are endpoint-string syntax
        if ":" in path or "\\" in path:
            raise SystemExit(f"path unusable in an endpoint description: {path!r}")
    endpoint = serverFromString(
        reactor, f"ssl:0:interface=127.0.0.1:certKey={cert}:privateKey={key}"
    )

    def listening(port: object) -> None:
        print(port.getHost().port, flush=True)  # type: ignore[attr-defined]

    def failed(failure: object) -> None:
        print(f"listen failed: {failure}", flush=True)
        reactor.stop()

    endpoint.listen(EchoFactory()).addCallbacks(listening, failed)
    reactor.run()


if __name__ == "__main__":
    main()
