"""
HTTP/2 in memory: the site behind a transport that says ALPN chose h2, talked to by
the h2 library's client, every timer on a L{MemoryReactorClock}.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from netsuite.web import WebConfig, WebLimits
from tests.web.helpers import WebClient, make_tree


class H2Transport(StringTransport):
    negotiatedProtocol = b"h2"


class H2Client:
    """One HTTP/2 connection to the site; L{exchange} moves bytes both ways until quiet."""

    def __init__(self, web: WebClient) -> None:
        self.web = web
        peer = IPv4Address("TCP", "127.0.0.1", 50000)
        self.server = web.site.buildProtocol(peer)
        self.transport = H2Transport(peerAddress=peer,
                                     hostAddress=IPv4Address("TCP", "127.0.0.1", 443))  # fmt: skip
        self.server.makeConnection(self.transport)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        self.events: list[Any] = []

    def exchange(self) -> None:
        for _ in range(200):
            out = self.conn.data_to_send()
            if out:
                self.server.dataReceived(out)
            self.web.pump()
            back = self.transport.value()
            self.transport.clear()
            if back:
                for event in self.conn.receive_data(back):
                    self.events.append(event)
                    if isinstance(event, h2.events.DataReceived):
                        self.conn.acknowledge_received_data(event.flow_controlled_length,
                                                            event.stream_id)  # fmt: skip
            if not out and not back:
                return

    def request(
        self, stream_id: int, method: str, path: str, headers: Any = None, body: bytes = b""
    ) -> None:
        self.conn.send_headers(stream_id, [(":method", method), (":path", path),
                                           (":authority", "test"), (":scheme", "https"),
                                           *(headers or [])], end_stream=not body)  # fmt: skip
        if body:
            self.conn.send_data(stream_id, body, end_stream=True)
        self.exchange()

    def response(self, stream_id: int) -> tuple[int, dict[bytes, bytes], bytes, list[type]]:
        status, headers, body, kinds = 0, {}, b"", []
        for e in self.events:
            if getattr(e, "stream_id", None) != stream_id:
                continue
            kinds.append(type(e))
            if isinstance(e, h2.events.ResponseReceived):
                headers = dict(e.headers)
                status = int(headers[b":status"])
            elif isinstance(e, h2.events.DataReceived):
                body += e.data
        return status, headers, body, kinds


class HTTP2Tests(SynchronousTestCase):
    def setUp(self) -> None:
        root = make_tree(Path(self.mktemp()).resolve() / "root")
        self.web = WebClient(WebConfig(static_root=str(root), limits=WebLimits(max_body=1000)))
        self.client = H2Client(self.web)
        self.client.exchange()

    def test_get_a_file(self) -> None:
        self.client.request(1, "GET", "/hello.txt")
        status, headers, body, _ = self.client.response(1)
        self.assertEqual((status, body), (200, b"hello, world\n"))
        self.assertEqual(headers[b"x-content-type-options"], b"nosniff")
        self.assertEqual(self.web.site.open.pop().protocol_name, "h2")

    def test_streams_share_the_connection(self) -> None:
        self.client.request(1, "GET", "/hello.txt")
        self.client.request(3, "GET", "/api/health")
        self.assertEqual(self.client.response(1)[0], 200)
        self.assertEqual(self.client.response(3)[0], 200)

    def test_body_over_the_cap_is_answered_then_reset(self) -> None:
        """413 at once, then RST_STREAM(NO_ERROR): stop sending (RFC 9113 8.1)."""
        c = self.client
        c.conn.send_headers(1, [(":method", "POST"), (":path", "/api/health"),
                                (":authority", "test"), (":scheme", "https")])  # fmt: skip
        c.conn.send_data(1, b"x" * 800)
        c.exchange()
        self.assertEqual(c.response(1)[0], 0)  # within the cap: nothing yet
        c.conn.send_data(1, b"x" * 800)
        c.exchange()
        status, _, body, kinds = c.response(1)
        self.assertEqual(status, 413)
        self.assertIn(b"over the 1000-byte limit", body)
        self.assertIn(h2.events.StreamReset, kinds)
        reset = next(e for e in c.events if isinstance(e, h2.events.StreamReset))
        self.assertEqual(reset.error_code, 0)
        self.assertEqual(self.web.site.counters["refused.body_too_large"], 1)
        c.request(3, "GET", "/hello.txt")  # the connection still serves
        self.assertEqual(c.response(3)[0], 200)

    def test_declared_length_over_the_cap(self) -> None:
        c = self.client
        c.conn.send_headers(1, [(":method", "POST"), (":path", "/api/health"),
                                (":authority", "test"), (":scheme", "https"),
                                ("content-length", "5000")])  # fmt: skip
        c.exchange()
        self.assertEqual(c.response(1)[0], 413)
        c.request(3, "GET", "/hello.txt")
        self.assertEqual(c.response(3)[0], 200)

    def test_connection_accounting(self) -> None:
        self.client.request(1, "GET", "/hello.txt")
        self.assertEqual(len(self.web.site.open), 1)
        self.client.server.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.web.site.open, set())
