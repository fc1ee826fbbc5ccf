"""
DTLS: the sans-IO pieces (framing, cookies, the session table, one session) and the
server and client adapters, in memory: no sockets, a L{Clock} for time.

The in-memory tests run real pyOpenSSL handshakes (client and server connections over
memory BIOs); only the network between them is a list.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.address import IPv4Address
from twisted.internet.protocol import DatagramProtocol
from twisted.internet.task import Clock
from twisted.logger import capturedLogs
from twisted.trial.unittest import SynchronousTestCase

from netsuite.base._addresses import peer_key_of
from netsuite.echo._udp import DatagramGuard, UDPEcho
from netsuite.limits._session_table import SessionTable
from netsuite.testing import TLSFiles
from netsuite.tls._contexts import TLSServerSettings
from netsuite.tls._dtls_client import DTLSClientProtocol, DTLSHandshakeError
from netsuite.tls._dtls_context import client_options, server_context
from netsuite.tls._dtls_server import DTLSServerProtocol
from netsuite.tls._dtls_session import (
    MAX_COOKIE_REPLY,
    RECORD_HEADER,
    CookieJar,
    DatagramReceived,
    DTLSError,
    HandshakeComplete,
    SessionClosed,
    client_random,
    is_client_hello,
    is_hello_verify_request,
    pack_datagrams,
    split_records,
    stateless_hello,
)

SERVER = ("127.0.0.1", 7443)
CLIENT = ("127.0.0.1", 50000)


def record(content: int, body: bytes, epoch: int = 0) -> bytes:
    """A DTLS 1.2 record with C{body}."""
    return (
        bytes([content, 0xFE, 0xFD])
        + epoch.to_bytes(2, "big")
        + b"\0" * 6
        + len(body).to_bytes(2, "big")
        + body
    )


# The in-memory network.


class FakeUDP:
    """A UDP port on a L{Network}: what a protocol writes is queued for delivery."""

    def __init__(self, network: Network, addr: tuple[str, int]) -> None:
        self.network = network
        self.addr = addr
        self.connected: tuple[str, int] | None = None
        self.stopped = False

    def write(self, data: bytes, addr: tuple[str, int] | None = None) -> None:
        to = addr or self.connected
        assert to is not None
        self.network.send(self.addr, to, data)

    def connect(self, host: str, port: int) -> None:
        self.connected = (host, port)

    def getHost(self) -> IPv4Address:
        return IPv4Address("UDP", *self.addr)

    def stopListening(self) -> None:
        self.stopped = True


class Network:
    """Datagrams between in-memory ports, delivered in order by L{pump}; all recorded."""

    def __init__(self) -> None:
        self.nodes: dict[tuple[str, int], Any] = {}
        self.queue: deque[tuple[tuple[str, int], tuple[str, int], bytes]] = deque()
        self.history: list[tuple[tuple[str, int], tuple[str, int], bytes]] = []
        self.drop: Any = None  # a predicate (src, dst, data) -> bool

    def attach(self, protocol: DatagramProtocol, addr: tuple[str, int]) -> FakeUDP:
        port = FakeUDP(self, addr)
        self.nodes[addr] = protocol
        protocol.makeConnection(port)  # type: ignore[arg-type]
        return port

    def send(self, src: tuple[str, int], dst: tuple[str, int], data: bytes) -> None:
        self.history.append((src, dst, data))
        if self.drop is None or not self.drop(src, dst, data):
            self.queue.append((src, dst, data))

    def pump(self, limit: int = 200) -> int:
        """Deliver until nothing is in flight (at most C{limit} datagrams)."""
        delivered = 0
        while self.queue and delivered < limit:
            src, dst, data = self.queue.popleft()
            node = self.nodes.get(dst)
            if node is not None:
                node.datagramReceived(data, src)
            delivered += 1
        return delivered

    def sent_to(self, addr: tuple[str, int]) -> list[bytes]:
        return [data for _, dst, data in self.history if dst == addr]


class SessionNode:
    """A bare client L{DTLSSession} on the network, collecting its events."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.events: list[Any] = []
        self.transport: Any = None

    def makeConnection(self, transport: Any) -> None:
        self.transport = transport

    def start(self) -> None:
        self.events += self.session.start()
        self.flush()

    def send(self, data: bytes) -> None:
        self.session.send(data)
        self.flush()

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        self.events += self.session.receive_datagram(data)
        self.flush()

    def flush(self) -> None:
        for d in self.session.datagrams_to_send():
            self.transport.write(d, SERVER)

    def received(self) -> list[bytes]:
        return [e.data for e in self.events if isinstance(e, DatagramReceived)]


class Recorder(DatagramProtocol):
    """A wrapped protocol that records what it gets (and can echo)."""

    def __init__(self, echo: bool = False) -> None:
        self.datagrams: list[tuple[bytes, Any]] = []
        self.echo = echo
        self.started = 0
        self.stopped = 0

    def startProtocol(self) -> None:
        self.started += 1

    def stopProtocol(self) -> None:
        self.stopped += 1

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        self.datagrams.append((datagram, addr))
        if self.echo:
            self.transport.write(datagram, addr)


class DTLSTestCase(SynchronousTestCase):
    """Certificates, a server context, and a network with an echo server on it."""

    def setUp(self) -> None:
        self.files = TLSFiles(Path(self.mktemp()))
        self.clock = Clock()
        self.network = Network()

    def settings(self, **kw: Any) -> TLSServerSettings:
        return TLSServerSettings(cert=self.files.cert_path, key=self.files.key_path, **kw)

    def server(
        self, wrapped: DatagramProtocol | None = None, settings: Any = None, **kw: Any
    ) -> DTLSServerProtocol:
        jar = CookieJar()
        context, _ = server_context(settings or self.settings(), jar)
        wrapped = wrapped or UDPEcho(DatagramGuard(), self.clock, name="echo/dtls")
        server = DTLSServerProtocol(wrapped, context, jar, self.clock, **kw)
        self.network.attach(server, SERVER)
        return server

    def client(
        self, addr: tuple[str, int] = CLIENT, hostname: str = "localhost", **kw: Any
    ) -> SessionNode:
        options = client_options(hostname, ca=self.files.ca_path, **kw)
        node = SessionNode(options.session())
        self.network.attach(node, addr)  # type: ignore[arg-type]
        return node

    def connect(self, addr: tuple[str, int] = CLIENT, **kw: Any) -> SessionNode:
        node = self.client(addr, **kw)
        node.start()
        self.network.pump()
        return node


# The sans-IO pieces.


class FramingTests(SynchronousTestCase):
    def test_split_records(self) -> None:
        a, b = record(22, b"x" * 5), record(23, b"y" * 300)
        self.assertEqual(split_records(a + b), [a, b])
        self.assertEqual(split_records(a + b[:-1]), [a])  # a truncated tail is dropped
        self.assertEqual(split_records(b"\x16\xfe"), [])

    def test_pack_respects_mtu(self) -> None:
        small = [record(22, b"a" * 100) for _ in range(5)]  # 113 bytes each
        self.assertEqual([len(d) for d in pack_datagrams(small, 250)], [226, 226, 113])
        big = record(23, b"b" * 2000)
        self.assertEqual(
            pack_datagrams([small[0], big, small[1]], 1200), [small[0], big, small[1]]
        )

    @settings(max_examples=200, deadline=None, derandomize=True)
    @given(
        st.lists(st.binary(max_size=1500), max_size=12),
        st.integers(min_value=RECORD_HEADER, max_value=1500),
    )
    def test_pack_split_round_trip(self, bodies: list[bytes], mtu: int) -> None:
        """Packing keeps every record whole and in order; only a lone record exceeds the MTU."""
        records = [record(22, b) for b in bodies]
        datagrams = pack_datagrams(records, mtu)
        self.assertEqual([r for d in datagrams for r in split_records(d)], records)
        for d in datagrams:
            self.assertTrue(len(d) <= mtu or len(split_records(d)) == 1)

    def test_recognizers(self) -> None:
        hello = record(22, b"\x01" + b"\0" * 60)
        self.assertTrue(is_client_hello(hello))
        self.assertFalse(is_client_hello(record(22, b"\x01" + b"\0" * 60, epoch=1)))
        self.assertFalse(is_client_hello(record(23, b"\x01")))
        self.assertFalse(is_client_hello(b"\x16\x03\x01\x00\x05\x01"))  # TLS, not DTLS
        self.assertFalse(is_client_hello(b""))
        hvr = record(22, b"\x03" + b"\0" * 30)
        self.assertTrue(is_hello_verify_request(hvr))
        self.assertFalse(is_hello_verify_request(hvr + hvr))  # one record only
        self.assertFalse(is_hello_verify_request(record(22, b"\x03" + b"\0" * MAX_COOKIE_REPLY)))

    def test_client_random(self) -> None:
        body = b"\x01" + b"\0" * 11 + b"\xfe\xfd" + bytes(range(32)) + b"\0" * 10
        self.assertEqual(client_random(record(22, body)), bytes(range(32)))
        self.assertIsNone(client_random(record(22, body[:40])))
        self.assertIsNone(client_random(record(23, body)))

    def test_peer_key(self) -> None:
        self.assertEqual(peer_key_of(("192.0.2.1", 5)), "192.0.2.1:5")
        self.assertEqual(peer_key_of(("::1", 5, 0, 0)), "[::1]:5")


class CookieJarTests(SynchronousTestCase):
    def test_bound_to_the_address(self) -> None:
        jar = CookieJar()
        cookie = jar.cookie("192.0.2.1:4000")
        self.assertEqual(len(cookie), 16)
        self.assertTrue(jar.verify("192.0.2.1:4000", cookie))
        self.assertFalse(jar.verify("192.0.2.1:4001", cookie))
        self.assertFalse(jar.verify("192.0.2.2:4000", cookie))
        self.assertFalse(jar.verify("192.0.2.1:4000", b""))

    def test_secret_is_random_per_jar(self) -> None:
        self.assertNotEqual(CookieJar().cookie("a:1"), CookieJar().cookie("a:1"))

    def test_rotation_boundary(self) -> None:
        """Rotated exactly at C{lifetime}, not before; a cookie survives one rotation only."""
        jar = CookieJar(lifetime=30.0, now=100.0)
        cookie = jar.cookie("a:1")
        self.assertFalse(jar.rotate_if_due(129.999))
        self.assertTrue(jar.rotate_if_due(130.0))
        self.assertTrue(jar.verify("a:1", cookie))  # the previous secret still counts
        self.assertNotEqual(jar.cookie("a:1"), cookie)
        self.assertTrue(jar.rotate_if_due(160.0))
        self.assertFalse(jar.verify("a:1", cookie))

    def test_long_silence_forgets_both_secrets(self) -> None:
        jar = CookieJar(lifetime=30.0)
        cookie = jar.cookie("a:1")
        self.assertTrue(jar.rotate_if_due(60.0))
        self.assertFalse(jar.verify("a:1", cookie))


class SessionTableTests(SynchronousTestCase):
    def test_bound_evicts_least_recent(self) -> None:
        """n sessions fit; the n+1st evicts the least recently active."""
        table: SessionTable[str, int] = SessionTable(max_sessions=3)
        for i, peer in enumerate("abc"):
            self.assertEqual(table.add(peer, i, float(i), 10.0), [])
        table.touch("a", 3.0)
        self.assertEqual(table.add("d", 3, 4.0, 10.0), [("b", 1)])
        self.assertEqual([p for p, _ in table.items()], ["c", "a", "d"])
        self.assertEqual(len(table), 3)

    def test_replacing_returns_the_old(self) -> None:
        table: SessionTable[str, int] = SessionTable(max_sessions=1)
        table.add("a", 1, 0.0, 10.0)
        self.assertEqual(table.add("a", 2, 1.0, 10.0), [("a", 1)])
        self.assertEqual(table.get("a"), 2)

    def test_expiry_at_each_timeout(self) -> None:
        """Each entry expires at its own timeout, exactly, and not a moment before."""
        table: SessionTable[str, str] = SessionTable()
        table.add("handshake", "h", 0.0, 5.0)
        table.add("idle", "i", 0.0, 5.0)
        table.touch("idle", 1.0, timeout=60.0)
        self.assertEqual(table.expire(4.999), [])
        self.assertEqual(table.expire(5.0), [("handshake", "h")])
        self.assertEqual(table.expire(60.999), [])
        self.assertEqual(table.expire(61.0), [("idle", "i")])
        self.assertEqual(len(table), 0)

    def test_get_does_not_refresh(self) -> None:
        table: SessionTable[str, str] = SessionTable()
        table.add("a", "x", 0.0, 5.0)
        table.get("a")
        self.assertEqual(table.expire(5.0), [("a", "x")])

    def test_needs_room_for_one(self) -> None:
        self.assertRaises(ValueError, SessionTable, 0)


class StatelessHelloTests(DTLSTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.jar = CookieJar()
        self.context, _ = server_context(self.settings(), self.jar)
        self.hello = self.client_hello()

    def client_hello(self) -> bytes:
        session = client_options("localhost", ca=self.files.ca_path).session()
        session.start()
        (hello,) = session.datagrams_to_send()
        return hello

    def test_first_hello_gets_only_a_cookie(self) -> None:
        outcome = stateless_hello(self.context, self.hello, "192.0.2.9:999")
        self.assertEqual(outcome.verdict, "cookie_sent")
        self.assertIsNone(outcome.connection)
        self.assertTrue(is_hello_verify_request(outcome.reply))
        self.assertLess(len(outcome.reply), len(self.hello))
        self.assertIn(self.jar.cookie("192.0.2.9:999"), outcome.reply)

    def test_not_a_hello_is_ignored_without_a_connection(self) -> None:
        for junk in (b"", b"x" * 100, record(23, b"y" * 50), record(22, b"\x02" + b"\0" * 50)):
            self.assertEqual(stateless_hello(self.context, junk, "a:1").verdict, "ignored")

    def test_garbled_hello_is_ignored(self) -> None:
        garbled = self.hello[: RECORD_HEADER + 1] + b"\xff" * (len(self.hello) - 14)
        outcome = stateless_hello(self.context, garbled, "a:1")
        self.assertEqual((outcome.verdict, outcome.reply), ("ignored", b""))

    def test_cookie_from_elsewhere_is_not_accepted(self) -> None:
        """A cookie issued to one address does not open a session for another."""
        session = client_options("localhost", ca=self.files.ca_path).session()
        session.start()
        hello = session.datagrams_to_send()[0]
        reply = stateless_hello(self.context, hello, "192.0.2.1:1").reply
        session.receive_datagram(reply)
        (hello2,) = session.datagrams_to_send()
        self.assertEqual(
            stateless_hello(self.context, hello2, "192.0.2.2:1").verdict, "cookie_sent"
        )
        verified = stateless_hello(self.context, hello2, "192.0.2.1:1")
        self.assertEqual(verified.verdict, "verified")
        self.assertIsNotNone(verified.connection)


# The server adapter.


class ServerTests(DTLSTestCase):
    def test_handshake_and_echo(self) -> None:
        """A verified client handshakes, and UDPEcho answers it over DTLS unchanged."""
        server = self.server()
        with capturedLogs() as events:
            client = self.connect()
            (done,) = [e for e in client.events if isinstance(e, HandshakeComplete)]
            self.assertEqual(done.version, "DTLSv1.2")
            for payload in (b"hello", b"x" * 1400, b"y" * 16000):
                client.send(payload)
                self.network.pump()
        self.assertEqual(client.received(), [b"hello", b"x" * 1400, b"y" * 16000])
        self.assertEqual(len(server.sessions), 1)
        self.assertEqual(server.counters["handshakes"], 1)
        self.assertEqual(server.wrapped.guard.counters["echoed"], 3)
        said = [e.get("log_format", "") for e in events]
        self.assertIn("{label} session from {peer}: {version} {cipher}", said)
        self.assertEqual([e["label"] for e in events if "label" in e], ["echo/dtls"])

    def test_handshake_flights_fit_the_mtu(self) -> None:
        server = self.server(mtu=600)
        self.connect()
        sizes = [len(d) for d in self.network.sent_to(CLIENT)]
        self.assertLessEqual(max(sizes), 600)
        self.assertEqual(len(server.sessions), 1)

    def test_spoofed_first_datagram_gets_only_a_cookie(self) -> None:
        """
        A ClientHello "from" an address that never answers: all that address receives is
        one HelloVerifyRequest, smaller than the hello, and the server keeps nothing (no
        session, no timer).
        """
        server = self.server()
        victim = ("198.51.100.7", 4433)
        hello = self.client(("127.0.0.1", 1)).session
        hello.start()
        (datagram,) = hello.datagrams_to_send()
        server.datagramReceived(datagram, victim)
        sent = self.network.sent_to(victim)
        self.assertEqual(len(sent), 1)
        self.assertLessEqual(len(sent[0]), MAX_COOKIE_REPLY)
        self.assertLess(len(sent[0]), len(datagram))
        self.assertTrue(is_hello_verify_request(sent[0]))
        self.assertEqual((len(server.sessions), self.clock.getDelayedCalls()), (0, []))

    def test_spoofed_flood_keeps_nothing(self) -> None:
        """Thousands of spoofed hellos: no session, and fewer bytes out than in."""
        server = self.server(max_sessions=4)
        session = self.client(("127.0.0.1", 1)).session
        session.start()
        (hello,) = session.datagrams_to_send()
        for i in range(2000):
            server.datagramReceived(hello, (f"10.0.{i // 250}.{i % 250}", 1024 + i))
        self.assertEqual(len(server.sessions), 0)
        self.assertEqual(server.counters["cookies_sent"], 2000)
        self.assertLess(server.counters["bytes_sent_unverified"], 2000 * len(hello))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_junk_is_ignored_and_logged_once_a_second(self) -> None:
        server = self.server()
        with capturedLogs() as events:
            for i in range(10):
                server.datagramReceived(b"junk %d" % i, ("192.0.2.1", 1000 + i))
            self.clock.advance(1.0)
            server.datagramReceived(b"more junk", ("192.0.2.1", 999))
        self.assertEqual(self.network.history, [])
        self.assertEqual(server.counters["ignored"], 11)
        self.assertEqual([e["count"] for e in events if "count" in e], [1, 10])

    def test_table_full_evicts_least_recent_with_close_notify(self) -> None:
        """max_sessions n: the n+1st verified peer evicts the least recently active."""
        server = self.server(max_sessions=2)
        first = self.connect(("127.0.0.1", 50001))
        self.clock.advance(1)
        second = self.connect(("127.0.0.1", 50002))
        self.clock.advance(1)
        third = self.connect(("127.0.0.1", 50003))
        self.assertEqual(
            [p for p, _ in server.sessions.items()], [("127.0.0.1", 50002), ("127.0.0.1", 50003)]
        )
        self.assertIn(SessionClosed("close_notify", clean=True), first.events)
        self.assertEqual(server.counters["closed.evicted"], 1)
        for node in (second, third):
            node.send(b"still here")
        self.network.pump()
        self.assertEqual((second.received(), third.received()), ([b"still here"], [b"still here"]))

    def test_idle_session_expires(self) -> None:
        server = self.server(idle_timeout=60.0, handshake_timeout=5.0)
        client = self.connect()
        self.clock.advance(30)
        client.send(b"keepalive")
        self.network.pump()
        self.clock.pump([1.0] * 59)  # 59 s after the keepalive
        self.assertEqual(len(server.sessions), 1)
        self.clock.pump([0.25] * 9)  # the sweep runs every 1.25 s (a quarter of 5 s)
        self.network.pump()
        self.assertEqual(len(server.sessions), 0)
        self.assertIn(SessionClosed("close_notify", clean=True), client.events)
        self.assertEqual(server.counters["closed.idle_timeout"], 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_stalled_handshake_expires(self) -> None:
        """A peer that returns the cookie and then goes quiet is dropped after its timeout."""
        server = self.server(handshake_timeout=5.0)
        self.network.drop = lambda src, dst, data: src == SERVER and len(data) > MAX_COOKIE_REPLY
        self.connect()
        self.assertEqual(len(server.sessions), 1)
        (peer,) = [p for _, p in server.sessions.items()]
        self.assertIsNotNone(peer.timer)  # OpenSSL's retransmission is scheduled
        self.assertLessEqual(peer.timer.getTime() - self.clock.seconds(), 1.0)
        self.clock.pump([1.25] * 4)
        self.assertEqual(len(server.sessions), 0)
        self.assertEqual(server.counters["closed.handshake_timeout"], 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_close_notify_from_the_client(self) -> None:
        server = self.server()
        client = self.connect()
        with capturedLogs() as events:
            client.events += client.session.close()
            client.flush()
            self.network.pump()
        self.assertEqual(len(server.sessions), 0)
        self.assertEqual(server.counters["closed.close_notify"], 1)
        (line,) = [e for e in events if e.get("reason")]
        self.assertEqual((line["reason"], line["peer"]), ("close_notify", "127.0.0.1:50000"))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_new_handshake_from_the_same_address(self) -> None:
        """A client that restarts on the same port gets a new session after the cookie."""
        server = self.server()
        self.connect()
        old = server.sessions.get(CLIENT)
        del self.network.nodes[CLIENT]
        again = self.connect()
        again.send(b"second life")
        self.network.pump()
        self.assertEqual(again.received(), [b"second life"])
        self.assertIsNot(server.sessions.get(CLIENT), old)
        self.assertEqual(server.counters["closed.replaced_by_a_new_handshake"], 1)

    def test_late_duplicate_hello_keeps_the_session(self) -> None:
        """
        The cookie-bearing ClientHello, duplicated by the network and arriving after the
        handshake, is the same handshake (same random): it replaces nothing.
        """
        server = self.server()
        hellos: list[bytes] = []
        self.network.drop = lambda src, dst, data: (
            src == CLIENT and bool(is_client_hello(data) and hellos.append(data))
        )
        client = self.client()
        client.start()
        for hello in hellos[:2]:  # the first, then the one with the cookie
            server.datagramReceived(hello, CLIENT)
            self.network.pump()
        self.assertTrue(client.session.established)
        session = server.sessions.get(CLIENT)
        server.datagramReceived(hellos[1], CLIENT)  # the late duplicate
        self.network.pump()
        self.assertIs(server.sessions.get(CLIENT), session)
        client.send(b"same session")
        self.network.pump()
        self.assertEqual(client.received(), [b"same session"])
        self.assertEqual(server.counters["cookies_verified"], 1)

    def test_stop_says_goodbye(self) -> None:
        wrapped = Recorder()
        server = self.server(wrapped)
        clients = [self.connect(("127.0.0.1", 50001 + i)) for i in range(3)]
        server.doStop()
        self.network.pump()
        for c in clients:
            self.assertIn(SessionClosed("close_notify", clean=True), c.events)
        self.assertEqual((wrapped.started, wrapped.stopped), (1, 1))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_writes_only_to_established_peers(self) -> None:
        wrapped = Recorder()
        server = self.server(wrapped)
        wrapped.transport.write(b"to nobody", ("192.0.2.1", 1))
        self.assertEqual((self.network.history, server.counters["dropped.no_session"]), ([], 1))
        client = self.connect()
        wrapped.transport.write(b"pushed", CLIENT)
        self.network.pump()
        self.assertEqual(client.received(), [b"pushed"])

    def test_wrapped_failure_is_contained(self) -> None:
        class Broken(Recorder):
            def datagramReceived(self, datagram: bytes, addr: Any) -> None:
                raise RuntimeError("boom")

        server = self.server(Broken())
        client = self.connect()
        client.send(b"x")
        self.network.pump()
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertEqual(len(server.sessions), 1)


class ClientCertificateTests(DTLSTestCase):
    def required(self) -> TLSServerSettings:
        return self.settings(client_ca=self.files.ca_path, verify_client="required")

    def test_required_refuses_certless(self) -> None:
        server = self.server(settings=self.required())
        client = self.connect()
        self.assertFalse(client.session.established)
        self.assertEqual(len(server.sessions), 0)
        self.assertEqual(server.counters["closed.handshake_failed"], 1)

    def test_required_accepts_trusted(self) -> None:
        wrapped = Recorder(echo=True)
        self.server(wrapped, settings=self.required())
        cert, key = self.files.leaf("alice", ["alice.example"])
        client = self.connect(cert=cert, key=key)
        self.assertTrue(client.session.established)
        peer_cert = wrapped.transport.get_peer_certificate(CLIENT)
        self.assertIn("alice.example", str(peer_cert.subject))


# The client adapter.


class ClientProtocolTests(DTLSTestCase):
    def client_protocol(
        self, wrapped: DatagramProtocol, hostname: str = "localhost", **kw: Any
    ) -> DTLSClientProtocol:
        options = client_options(hostname, ca=self.files.ca_path)
        proto = DTLSClientProtocol(wrapped, SERVER, options, self.clock, **kw)
        self.network.attach(proto, CLIENT)
        self.network.pump()
        return proto

    def test_wrapped_starts_after_the_handshake(self) -> None:
        self.server()
        inner = Recorder()
        proto = self.client_protocol(inner)
        done = self.successResultOf(proto.handshake)
        self.assertEqual(done.version, "DTLSv1.2")
        self.assertEqual(inner.started, 1)
        inner.transport.connect(*SERVER)  # connecting to the server again is fine
        inner.transport.write(b"ping 1")
        inner.transport.write(b"ping 2", SERVER)
        self.network.pump()
        self.assertEqual(inner.datagrams, [(b"ping 1", SERVER), (b"ping 2", SERVER)])
        self.assertIn("localhost", str(inner.transport.get_peer_certificate().subject))
        self.assertRaises(ValueError, inner.transport.write, b"x", ("192.0.2.1", 1))

    def test_close_tells_the_server(self) -> None:
        server = self.server()
        inner = Recorder()
        proto = self.client_protocol(inner)
        proto.close()
        self.network.pump()
        self.assertEqual(self.successResultOf(proto.closed).reason, "closed by the client")
        self.assertEqual((len(server.sessions), inner.stopped), (0, 1))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_server_close_reaches_the_client(self) -> None:
        server = self.server()
        proto = self.client_protocol(Recorder())
        server.doStop()
        self.network.pump()
        self.assertEqual(self.successResultOf(proto.closed), SessionClosed("close_notify", True))

    def test_wrong_name_fails(self) -> None:
        """The chain is trusted but names localhost: reaching it as another name fails."""
        server = self.server()
        inner = Recorder()
        proto = self.client_protocol(inner, hostname="example.org")
        failure = self.failureResultOf(proto.handshake, DTLSHandshakeError)
        self.assertIn("certificate does not match example.org", str(failure.value))
        self.assertIn("localhost", str(failure.value))
        self.assertEqual(inner.started, 0)
        self.network.pump()
        self.assertEqual(len(server.sessions), 0)  # told with close_notify

    def test_ip_name_verified(self) -> None:
        self.server()
        proto = self.client_protocol(Recorder(), hostname="127.0.0.1")
        self.successResultOf(proto.handshake)

    def test_untrusted_server_fails(self) -> None:
        other = TLSFiles(Path(self.mktemp()))
        self.server(settings=TLSServerSettings(cert=other.cert_path, key=other.key_path))
        proto = self.client_protocol(Recorder())
        failure = self.failureResultOf(proto.handshake, DTLSHandshakeError)
        self.assertIn("certificate verify failed", str(failure.value))

    def test_no_answer_times_out(self) -> None:
        proto = self.client_protocol(Recorder(), handshake_timeout=3.0)
        self.assertNoResult(proto.handshake)
        self.clock.pump([1.0] * 3)
        failure = self.failureResultOf(proto.handshake, DTLSHandshakeError)
        self.assertIn("timed out after 3 s", str(failure.value))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_refused(self) -> None:
        proto = self.client_protocol(Recorder())
        proto.connectionRefused()
        failure = self.failureResultOf(proto.handshake, DTLSHandshakeError)
        self.assertIn("connection refused", str(failure.value))

    def test_send_before_handshake_raises(self) -> None:
        session = client_options("localhost").session()
        self.assertRaises(DTLSError, session.send, b"x")
