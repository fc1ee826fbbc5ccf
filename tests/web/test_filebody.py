"""
How a big body leaves: cached bodies above C{stream_above} stream through L{FileBody}
like files on disk, in chunks that start small and grow while the reader keeps up, and
a pause (the transport holding a chunk it could not send) stops the producer until the
transport asks again, then restarts it small. The connection's own bounds
(L{bound_connection}) are checked on a real TCP socket pair, without a reactor.
"""

from __future__ import annotations

import socket
from pathlib import Path

from twisted.internet import tcp
from twisted.internet.protocol import Protocol
from twisted.internet.testing import MemoryReactor, StringTransport
from twisted.trial.unittest import SynchronousTestCase

from netsuite.web import WebConfig
from netsuite.web._filebody import (
    SEND_LOWAT,
    SLOW_CHUNK,
    FileBody,
    bound_connection,
    write_bounded,
)
from netsuite.web._static import StaticFiles
from tests.web.helpers import Connection, WebClient, make_tree, parse_responses

REQUEST = b"GET /%s HTTP/1.1\r\nHost: x\r\n\r\n"


class CachedBodyTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.root = make_tree(Path(self.mktemp()).resolve() / "root")
        self.client = WebClient(WebConfig(static_root=str(self.root)))
        self.writes: list[int] = []
        self.pause_at = 0

    def connect(self, name: str, size: int) -> tuple[Connection, bytes]:
        """A connection that has asked for a cached C{size}-byte file, nothing pumped."""
        data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
        (self.root / name).write_bytes(data)
        conn = self.client.connect()
        write = conn.transport.write

        def recorded(chunk: bytes) -> None:
            self.writes.append(len(chunk))
            write(chunk)
            if len(self.writes) == self.pause_at:  # as a transport left holding it would
                conn.transport.producer.pauseProducing()

        conn.transport.write = recorded  # type: ignore[method-assign]
        conn.send(REQUEST % name.encode())
        return conn, data

    def test_body_of_stream_above_is_one_write(self) -> None:
        """n bytes (the bound): written at once with the head, no producer."""
        conn, data = self.connect("n.bin", StaticFiles.stream_above)
        self.assertEqual(len(self.writes), 1)
        (response,), _ = parse_responses(conn.transport.value())  # before any turn
        self.assertEqual(response.body, data)

    def test_body_above_stream_above_is_streamed(self) -> None:
        """n + 1 bytes: a producer sends it over later turns, all of it."""
        conn, data = self.connect("n1.bin", StaticFiles.stream_above + 1)
        self.assertEqual(self.writes, [])
        self.assertEqual(conn.responses()[0].body, data)
        self.assertEqual(conn.responses()[0].header("content-length"), str(len(data)))
        self.assertGreater(len(self.writes), 1)

    def test_chunks_start_small_and_grow(self) -> None:
        conn, data = self.connect("big.bin", 300_000)
        self.assertEqual(conn.responses()[0].body, data)
        head = self.writes[0] - SLOW_CHUNK
        self.assertTrue(0 < head < 1024, self.writes)
        top = FileBody.chunk_size
        self.assertEqual(self.writes[1:5], [2 * SLOW_CHUNK, 4 * SLOW_CHUNK, top, top])
        self.assertEqual(sum(self.writes) - head, len(data))

    def test_pause_stops_until_resumed_then_small_again(self) -> None:
        """
        The transport pauses its producer (the channel, which pauses the body) when a
        write leaves bytes queued: nothing more is written until it resumes, and the
        next chunk is the small one.
        """
        self.pause_at = 3
        conn, data = self.connect("big.bin", 300_000)
        self.client.pump()
        self.assertEqual(self.writes[1:], [2 * SLOW_CHUNK, 4 * SLOW_CHUNK])
        conn.transport.producer.resumeProducing()
        self.client.pump()
        self.assertEqual(self.writes[3:6], [SLOW_CHUNK, 2 * SLOW_CHUNK, 4 * SLOW_CHUNK])
        self.assertEqual(conn.responses()[0].body, data)

    def test_head_of_a_big_cached_file_has_its_length(self) -> None:
        (self.root / "big.bin").write_bytes(b"z" * 100_000)
        r = self.client.connect().request("HEAD", "/big.bin")
        self.assertEqual((r.status, r.header("content-length"), r.body), (200, "100000", b""))


class BoundConnectionTests(SynchronousTestCase):
    def tcp_connection(self) -> tuple[tcp.Connection, socket.socket]:
        listener = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(listener.close)
        client = socket.create_connection(listener.getsockname())
        self.addCleanup(client.close)
        server, _ = listener.accept()
        self.addCleanup(server.close)
        connection = tcp.Connection(server, Protocol(), MemoryReactor())  # type: ignore[arg-type]
        return connection, client

    def test_tcp_connection_gets_the_kernel_bound(self) -> None:
        connection, _ = self.tcp_connection()
        self.assertIs(bound_connection(connection), connection)
        lowat = connection.getHandle().getsockopt(socket.IPPROTO_TCP, socket.TCP_NOTSENT_LOWAT)
        self.assertEqual(lowat, SEND_LOWAT)
        self.assertEqual(connection.bufferSize, 65536)  # Twisted reads with it: untouched

    def test_write_bounded_bounds_only_its_write(self) -> None:
        """0 while it writes (what Twisted's pause rule reads), restored after."""
        connection, _ = self.tcp_connection()
        seen = []
        write_bounded(connection, lambda data: seen.append(connection.bufferSize), b"x")
        self.assertEqual((seen, connection.bufferSize), ([0], 65536))

    def test_other_transports_are_left_alone(self) -> None:
        transport = StringTransport()
        self.assertIsNone(bound_connection(transport))
        self.assertIsNone(bound_connection(None))
        seen: list[bytes] = []
        write_bounded(None, seen.append, b"x")
        self.assertEqual(seen, [b"x"])
