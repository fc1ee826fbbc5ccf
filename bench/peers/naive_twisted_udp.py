"""
The naive Twisted UDP echo: a C{DatagramProtocol} that writes every datagram back.

The baseline netsuite's guarded UDP echo is compared with: no deny-list, no rate limit,
no per-source state, Twisted's defaults (C{listenUDP}, maxPacketSize 8192).
C{--max-packet-size 65535} gives it netsuite's receive size, for an A/B of that cost
alone. Prints its port on stdout; SIGTERM ends it.
"""

import argparse

from twisted.internet import reactor
from twisted.internet.protocol import DatagramProtocol


class Echo(DatagramProtocol):
    """Writes every datagram straight back to its sender."""

    noisy = False

    def datagramReceived(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.write(data, addr)


def main() -> None:
    """Listen on an ephemeral loopback port, announce it, and serve until SIGTERM."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--max-packet-size", type=int, default=8192)
    args = p.parse_args()
    port = reactor.listenUDP(0, Echo(), interface="127.0.0.1", maxPacketSize=args.max_packet_size)
    print(port.getHost().port, flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
