"""
HTTP/2 abuse against a real C{twistd netsuite-web} over TLS (ALPN C{h2}), with the
C{h2} library as the client, its own checks turned off so that it sends what a hostile
client would: pseudo-header abuse, a CONTINUATION flood, a Rapid Reset (RST_STREAM)
flood. Each must end the stream or the connection, bounded, and leave the server
serving the next client.

What bounds each (Twisted 26.10, h2 4.4.1): h2 validates inbound header blocks
(Twisted's C{H2Connection} answers a protocol error with GOAWAY) and refuses a header
block of more than 64 CONTINUATION frames; Twisted spends a token per peer reset
(burst 1,000, 33 a second) and sends GOAWAY C{ENHANCE_YOUR_CALM} when they run out.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Any

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.events import ConnectionTerminated, ResponseReceived, StreamEnded, StreamReset
from hpack import Encoder
from hyperframe.frame import ContinuationFrame, HeadersFrame
from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TLSFiles, TwistdProcess

GOOD = [(":method", "GET"), (":path", "/api/health"), (":scheme", "https"),
        (":authority", "localhost")]  # fmt: skip


class Client:
    """One h2 client connection over TLS to 127.0.0.1:C{port}."""

    def __init__(self, port: int, ca: str) -> None:
        context = ssl.create_default_context(cafile=ca)
        context.set_alpn_protocols(["h2"])
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock = context.wrap_socket(raw, server_hostname="localhost")
        assert self.sock.selected_alpn_protocol() == "h2"
        self.h2 = H2Connection(H2Configuration(
            client_side=True, header_encoding="utf-8", validate_outbound_headers=False,
            normalize_outbound_headers=False, validate_inbound_headers=False,
        ))  # fmt: skip
        self.h2.initiate_connection()
        self.closed = False
        self.flush()

    def flush(self) -> bool:
        """Send what h2 queued; False once the server has closed the connection."""
        return self.send(self.h2.data_to_send())

    def send(self, data: bytes) -> bool:
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.closed = True
        return not self.closed

    def events_until(self, done: Any, limit: int = 1 << 24) -> list[Any]:
        """Events until C{done(events)} or the connection closes (10 s at most per read:
        C{TimeoutError} beyond, which fails the test)."""
        events: list[Any] = []
        received = 0
        while not done(events) and received < limit:
            try:
                data = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                data = b""
            if not data:
                self.closed = True
                break
            received += len(data)
            events += self.h2.receive_data(data)
            self.flush()
        return events

    def close(self) -> None:
        self.sock.close()


def status_of(event: ResponseReceived) -> str:
    """The response's C{:status} (as text: the client decodes headers as UTF-8)."""
    return next((str(v) for n, v in event.headers or [] if n in (":status", b":status")), "")


def terminated(events: list[Any]) -> ConnectionTerminated | None:
    return next((e for e in events if isinstance(e, ConnectionTerminated)), None)


class H2AbuseTests(SynchronousTestCase):
    tls: TLSFiles
    server: TwistdProcess
    port: int

    def setUp(self) -> None:
        # One server a test (trial has no setUpClass): each flood meets a fresh server.
        base = Path(self.mktemp()).resolve()
        self.tls = TLSFiles(base / "pki")
        self.server = TwistdProcess("netsuite-web", ["--listen", self.tls.nstls(0)]).start()
        self.port = self.server.address("web/https")[1]
        self.addCleanup(self.stop_server)

    def stop_server(self) -> None:
        code = self.server.stop()
        self.assertEqual(code, 0, self.server.log())

    def client(self) -> Client:
        client = Client(self.port, self.tls.ca_path)
        self.addCleanup(client.close)
        return client

    def assert_still_serving(self) -> None:
        client = self.client()
        client.h2.send_headers(1, GOOD, end_stream=True)
        client.flush()
        events = client.events_until(lambda ev: any(isinstance(e, StreamEnded) for e in ev))
        statuses = [status_of(e) for e in events
                    if isinstance(e, ResponseReceived)]  # fmt: skip
        self.assertEqual(statuses, ["200"], events)
        log = self.server.log()
        self.assertNotIn("Traceback", log)
        self.assertNotIn("Unhandled Error", log)

    def test_pseudo_header_abuse(self) -> None:
        cases = {
            "duplicate :path": [*GOOD, (":path", "/other")],
            "missing :path": [h for h in GOOD if h[0] != ":path"],
            "pseudo after regular": [GOOD[0], ("x-a", "1"), *GOOD[1:]],
            "unknown pseudo": [*GOOD, (":foo", "bar")],
            "response pseudo": [*GOOD, (":status", "200")],
            "uppercase name": [*GOOD, ("X-Upper", "1")],
            "connection-specific": [*GOOD, ("connection", "keep-alive")],
            "empty :path": [(n, "" if n == ":path" else v) for n, v in GOOD],
        }
        for name, headers in cases.items():
            client = self.client()
            client.h2.send_headers(1, headers, end_stream=True)
            client.flush()
            events = client.events_until(lambda ev: any(
                isinstance(e, StreamReset | ConnectionTerminated | ResponseReceived) for e in ev
            ))  # fmt: skip
            answered = [e for e in events if isinstance(e, ResponseReceived)]
            refused = [e for e in events if isinstance(e, StreamReset | ConnectionTerminated)]
            ok = refused or client.closed or (answered and status_of(answered[0]).startswith("4"))
            self.assertTrue(ok, f"{name}: {events}")
        self.assert_still_serving()

    def test_continuation_flood(self) -> None:
        """An endless header block: GOAWAY and the connection closed (it stayed open,
        reading, until the idle timeout), the server's memory not growing with it."""
        before = self.server.rss_bytes()
        client = self.client()
        frame = HeadersFrame(1)
        frame.data = Encoder().encode(GOOD)
        frame.flags.add("END_STREAM")  # but not END_HEADERS: CONTINUATION must follow
        client.send(frame.serialize())
        junk = ContinuationFrame(1)
        junk.data = b"\x00\x01a\x01b" * 3000  # literal fields, 15 KB a frame
        chunk = junk.serialize() * 16
        sent = 0
        while sent < 2000 and client.send(chunk):  # up to 30 MB
            sent += 16
        events = client.events_until(lambda ev: False)  # until the server closes
        self.assertTrue(client.closed)
        end = terminated(events)
        if end is not None:  # the GOAWAY may be lost in the reset of a closed socket
            self.assertEqual(end.error_code, ErrorCodes.PROTOCOL_ERROR)
        self.assertLess(self.server.rss_bytes() - before, 16 << 20)
        self.assert_still_serving()

    def test_rapid_reset_flood(self) -> None:
        """10,000 streams opened and reset at once: GOAWAY ENHANCE_YOUR_CALM after the
        burst, then the connection closed (it stayed open until the idle timeout)."""
        client = self.client()
        for opened, stream_id in enumerate(range(1, 2 * 10_000, 2), 1):
            if client.closed:
                break
            # No END_STREAM: the request stays open until the reset aborts it.
            client.h2.send_headers(stream_id, GOOD)
            client.h2.reset_stream(stream_id, ErrorCodes.CANCEL)
            if opened % 50 == 0:
                client.flush()
        client.flush()
        events = client.events_until(lambda ev: terminated(ev) is not None)
        end = terminated(events)
        self.assertIsNotNone(end, events[-5:])
        assert end is not None
        self.assertEqual(end.error_code, ErrorCodes.ENHANCE_YOUR_CALM)
        # The burst (1,000), what the bucket refilled meanwhile (33 a second), and the
        # rest of the read in which the bucket ran dry (h2 parses a whole read first).
        self.assertLess(end.last_stream_id or 0, 2 * 3000, "the flood was read past the burst")
        client.events_until(lambda ev: False)  # and then closed
        self.assertTrue(client.closed)
        self.assert_still_serving()
