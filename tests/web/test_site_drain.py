"""
The web site's drain, in memory: idle connections close at once, a response in flight
(a large static file) finishes and so does a request pipelined behind it, /api/health
answers 503 {"status": "draining"} meanwhile, and what is left is aborted at
drain_timeout (not a moment before) or at once by abort().
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import memory_site
from tests.web.helpers import Connection, WebClient, parse_responses

BIG = bytes(range(256)) * 4096 * 3  # 3 MiB: above the cache's file size, so streamed
WINDOW = 1 << 16


class SlowReader(StringTransport):
    """A peer that reads WINDOW bytes, then makes the server wait (pauses its producer)."""

    unread = 0

    def write(self, data: bytes) -> None:
        super().write(data)
        self.unread += len(data)
        if self.unread >= WINDOW and self.producer is not None and not self.paused:
            self.paused = True
            self.producer.pauseProducing()

    def read_more(self) -> None:
        self.unread = 0
        if self.paused and self.producer is not None:
            self.paused = False
            self.producer.resumeProducing()

    paused = False


class SiteDrainTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = MemoryReactorClock()
        site = memory_site({"big.bin": BIG}, clock=self.clock)
        self.client = WebClient(site=site, clock=self.clock)
        self.site = self.client.site

    def start_download(self) -> Connection:
        peer = IPv4Address("TCP", "127.0.0.1", 40001)
        protocol = self.site.buildProtocol(peer)
        assert protocol is not None  # admitted: the gate is open
        transport = SlowReader(hostAddress=IPv4Address("TCP", "127.0.0.1", 8080), peerAddress=peer)
        protocol.makeConnection(transport)
        conn = Connection(self.client, protocol, transport)
        conn.heads += [False, False]
        conn.send(
            b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /api/health HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        self.client.pump()
        self.assertTrue(self.site.busy(conn.protocol))
        return conn

    def finish_download(self, conn: Connection) -> None:
        transport = conn.transport
        assert isinstance(transport, SlowReader)
        for _ in range(1000):
            if not transport.paused:
                return
            transport.read_more()
            self.client.pump()
        self.fail("the download never finished")

    def test_health_ok_then_503_while_draining(self) -> None:
        self.assertEqual(self.client.get("/api/health").status, 200)
        self.site.draining = True
        r = self.client.get("/api/health")
        self.assertEqual(r.status, 503)
        self.assertEqual(r.json()["status"], "draining")

    def test_idle_closed_busy_finishes_then_closes(self) -> None:
        idle = self.client.connect()
        idle.request("GET", "/api/health")  # kept alive, idle now
        busy = self.start_download()
        done = self.site.drain(10)
        self.assertTrue(idle.closing)
        self.assertFalse(busy.closing)  # a response is in flight
        self.finish_download(busy)
        self.client.pump()  # the pipelined health request runs, then the idle check
        responses, _ = parse_responses(busy.transport.value(), [False, False])
        self.assertEqual([r.status for r in responses], [200, 503])
        self.assertEqual(responses[0].body, BIG)
        self.assertEqual(responses[1].json()["status"], "draining")
        self.assertTrue(busy.closing)
        idle.lose()
        self.assertNoResult(done)
        busy.lose()
        self.successResultOf(done)

    def test_abort_at_drain_timeout_not_before(self) -> None:
        busy = self.start_download()
        done = self.site.drain(10)
        self.clock.advance(9.99)
        self.assertFalse(busy.transport.disconnecting)
        self.clock.advance(0.01)
        self.assertTrue(busy.transport.disconnecting)  # StringTransport's abort
        busy.lose()
        self.successResultOf(done)

    def test_abort_now(self) -> None:
        busy = self.start_download()
        done = self.site.drain(10)
        self.site.abort()
        self.assertTrue(busy.transport.disconnecting)
        busy.lose()
        self.successResultOf(done)
        self.assertFalse([c for c in self.clock.getDelayedCalls() if c.getTime() >= 10])
