"""
An HTTP/2 connection that ended itself (GOAWAY on a protocol error or a reset flood)
closes: Twisted's HTTP/2 stays its transport's producer, which keeps a TLS transport
from ever closing, so the peer could go on sending until the idle timeout. In memory,
with a L{MemoryReactorClock}; the real TLS case is L{tests.e2e.test_h2_abuse}.
"""

from __future__ import annotations

from typing import Any

import h2.config
import h2.connection
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from netsuite.web import WebConfig, WebLimits
from tests.web.helpers import WebClient


class TLSLikeTransport(StringTransport):
    """Negotiated h2, and knows whether it is still connected and was aborted."""

    negotiatedProtocol = b"h2"
    connected = True
    aborted = False

    def abortConnection(self) -> None:
        self.aborted = True
        self.connected = False


def open_h2(**limits: Any) -> tuple[WebClient, Any, TLSLikeTransport]:
    web = WebClient(WebConfig(limits=WebLimits(**limits)))
    peer = IPv4Address("TCP", "127.0.0.1", 50000)
    server = web.site.buildProtocol(peer)
    assert server is not None
    transport = TLSLikeTransport(peerAddress=peer,
                                 hostAddress=IPv4Address("TCP", "127.0.0.1", 443))  # fmt: skip
    server.makeConnection(transport)
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    client.initiate_connection()
    server.dataReceived(client.data_to_send())
    return web, server, transport


#: A CONTINUATION frame on stream 1 with no HEADERS before it: a protocol error.
STRAY_CONTINUATION = b"\x00\x00\x01\x09\x04\x00\x00\x00\x01\x00"


class EndedH2Tests(SynchronousTestCase):
    def test_protocol_error_lets_the_transport_close(self) -> None:
        web, server, transport = open_h2()
        self.assertIsNotNone(transport.producer)
        server.dataReceived(STRAY_CONTINUATION)
        self.assertTrue(transport.disconnecting)
        self.assertIsNone(transport.producer)  # a TLS transport may now close
        sent = transport.value()
        server.dataReceived(STRAY_CONTINUATION * 100)  # not parsed any more
        self.assertEqual(transport.value(), sent)

    def test_aborted_when_the_peer_does_not_let_it_close(self) -> None:
        web, server, transport = open_h2(abort_timeout=5.0)
        server.dataReceived(STRAY_CONTINUATION)
        web.clock.advance(4.9)
        self.assertFalse(transport.aborted)
        web.clock.advance(0.1)
        self.assertTrue(transport.aborted)
