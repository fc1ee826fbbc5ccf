"""The TCP echo door and the stream base it shares with every door."""

import socket

from twisted.internet import tcp
from twisted.internet.address import IPv4Address, UNIXAddress
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import LogLevel, capturedLogs
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from netsuite.base._addresses import describe_address, peer_key
from netsuite.echo import EchoFactory
from netsuite.limits._policy import ConnectionGate


def address(host: str = "127.0.0.1", port: int = 40000) -> IPv4Address:
    return IPv4Address("TCP", host, port)


class EchoDoorTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.factory = EchoFactory(
            "echo", gate=ConnectionGate(2, 1), idle_timeout=30, clock=self.clock
        )

    def connect(self, host: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
        proto = self.factory.buildProtocol(address(host))
        if proto is None:
            return None, None
        transport = StringTransport(peerAddress=address(host))
        proto.makeConnection(transport)
        return proto, transport

    def test_echo_in_order(self) -> None:
        proto, transport = self.connect()
        for chunk in (b"hello ", b"", b"world\r\n", bytes(range(256))):
            proto.dataReceived(chunk)
        self.assertEqual(transport.value(), b"hello world\r\n" + bytes(range(256)))
        self.assertEqual((proto.bytes_in, proto.bytes_out), (269, 269))

    def test_backpressure_registered(self) -> None:
        """The connection is its own streaming producer: a full buffer pauses reading."""
        _proto, transport = self.connect()
        self.assertIs(transport.producer, transport)
        self.assertTrue(transport.streaming)

    def test_half_close_flushes_then_closes(self) -> None:
        proto, transport = self.connect()
        proto.dataReceived(b"last words")
        proto.readConnectionLost()
        self.assertEqual(transport.value(), b"last words")
        self.assertTrue(transport.disconnecting)
        self.assertIsNone(transport.producer)

    def test_per_peer_limit_refuses_then_frees(self) -> None:
        """
        The second connection from one IP is refused (closed, logged with the reason);
        another IP is admitted; closing the first frees its slot.
        """
        first, _ = self.connect("10.0.0.1")
        with capturedLogs() as events:
            refused, _ = self.connect("10.0.0.1")
            self.assertEqual(events, [])  # refusals leave in batches
            self.clock.advance(0.1)
        self.assertIsNone(refused)
        self.assertEqual(events[-1]["log_level"], LogLevel.warn)
        said = "echo refused tcp 10.0.0.1:40000: too many connections from 10.0.0.1 (1 open)"
        self.assertEqual(events[-1]["refusals"], said)
        self.assertEqual(self.factory.counters["refused"], 1)
        other, _ = self.connect("10.0.0.2")
        self.assertIsNotNone(other)
        first.connectionLost(Failure(Exception("bye")))
        again, _ = self.connect("10.0.0.1")
        self.assertIsNotNone(again)

    def test_connection_lines_leave_together(self) -> None:
        """
        Opened and closed lines of many connections leave as one info event within 0.1 s
        (one observer call for the lot), in order, with peer, reason and byte counts.
        """
        with capturedLogs() as events:
            proto, _ = self.connect("10.0.0.1")
            proto.dataReceived(b"abc")
            proto.connectionLost(Failure(Exception("gone")))
            self.assertEqual(events, [])
            self.clock.advance(0.1)
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0]["log_level"], LogLevel.info)
        self.assertEqual(
            events[0]["connections"].splitlines(),
            [
                "echo tcp 10.0.0.1:40000: connected",
                "echo tcp 10.0.0.1:40000: closed (gone); 3 bytes in, 3 out",
            ],
        )
        self.assertEqual(events[0]["lines"], 2)

    def test_stopped_factory_logs_at_once(self) -> None:
        """After the last port stops, lines are not held back (no timer outlives it)."""
        proto, _ = self.connect()
        self.factory.doStart()
        with capturedLogs() as events:
            self.factory.doStop()
            self.assertEqual(len(events), 1)  # the connected line, flushed
            proto.connectionLost(Failure(Exception("shutdown")))
        self.assertIn("closed (shutdown)", events[-1]["connections"])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_total_limit(self) -> None:
        self.connect("10.0.0.1")
        self.connect("10.0.0.2")
        refused, _ = self.connect("10.0.0.3")
        self.assertIsNone(refused)
        self.assertEqual(len(self.factory.open), 2)

    def test_idle_timeout_aborts(self) -> None:
        """No input for idle_timeout seconds: the connection is aborted; input rearms."""
        proto, transport = self.connect()
        self.clock.advance(29)
        proto.dataReceived(b"x")
        self.clock.advance(29)
        self.assertFalse(transport.disconnecting)
        self.clock.advance(1)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(self.factory.counters["closed.idle_timeout"], 1)

    def test_idle_timeout_zero_never(self) -> None:
        self.factory.idle_timeout = 0
        _proto, transport = self.connect()
        self.clock.advance(10**6)
        self.assertFalse(transport.disconnecting)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_close_accounting(self) -> None:
        proto, _transport = self.connect()
        proto.dataReceived(b"abc")
        proto.connectionLost(Failure(Exception("gone")))
        proto.connectionLost(Failure(Exception("twice")))  # counted once
        self.assertEqual(self.factory.counters["bytes_in"], 3)
        self.assertEqual(self.factory.gate.total, 0)
        self.factory.flush_logs()  # the connection lines' batch timer is not the connection's
        self.assertEqual(self.clock.getDelayedCalls(), [])


class DirectWriteTests(SynchronousTestCase):
    """
    The shared write path sends at once on a real TCP transport whose buffer is empty,
    and leaves whatever the kernel did not take to Twisted's buffer (so producers see it).
    """

    def setUp(self) -> None:
        self.ours, self.theirs = socket.socketpair()
        self.ours.setblocking(False)
        self.addCleanup(self.ours.close)
        self.addCleanup(self.theirs.close)
        transport = tcp.Connection.__new__(tcp.Server)
        transport.socket = self.ours
        transport.connected = True
        transport.disconnecting = False
        transport._writeDisconnected = False
        transport.dataBuffer = b""
        transport._tempDataBuffer = []
        transport._tempDataLen = 0
        transport.producer = None
        transport.started_writing = 0

        def startWriting() -> None:
            transport.started_writing += 1

        transport.startWriting = startWriting
        self.transport = transport
        factory = EchoFactory("echo", clock=Clock())
        self.proto = factory.buildProtocol(address())
        self.proto.transport = transport
        self.proto._direct = transport

    def test_sent_now(self) -> None:
        self.proto.write(b"now")
        self.assertEqual(self.theirs.recv(10), b"now")
        self.assertEqual(self.transport.started_writing, 0)

    def test_queued_behind_pending_bytes(self) -> None:
        """Bytes already queued go first: a new write joins the queue, order kept."""
        self.transport._tempDataBuffer = [b"first"]
        self.transport._tempDataLen = 5
        self.proto.write(b"second")
        self.assertEqual(self.transport._tempDataBuffer, [b"first", b"second"])

    def test_remainder_queued(self) -> None:
        """What the kernel does not take is queued, nothing more, nothing less."""
        big = b"z" * (8 * 1024 * 1024)
        self.proto.write(big)
        queued = b"".join(self.transport._tempDataBuffer)
        self.assertTrue(0 < len(queued) < len(big))
        self.assertTrue(big.endswith(queued))
        self.assertEqual(self.transport.started_writing, 1)


class AddressTests(SynchronousTestCase):
    def test_describe(self) -> None:
        self.assertEqual(describe_address(address()), "tcp 127.0.0.1:40000")
        self.assertEqual(describe_address(IPv4Address("UDP", "::1", 7)), "udp [::1]:7")
        self.assertEqual(describe_address(UNIXAddress(b"/tmp/s")), "unix /tmp/s")

    def test_peer_key(self) -> None:
        self.assertEqual(peer_key(address("10.1.2.3")), "10.1.2.3")
        self.assertEqual(peer_key(UNIXAddress(None)), "local")


class CorkTests(SynchronousTestCase):
    """Inside corked(), a door's writes are gathered and sent as one when it pops."""

    def setUp(self) -> None:
        factory = EchoFactory("echo", clock=Clock())
        self.proto = factory.buildProtocol(address())
        self.transport = StringTransport()
        self.proto.makeConnection(self.transport)
        self.writes: list[bytes] = []
        self.proto._send = self.writes.append  # type: ignore[method-assign]

    def test_gathered_then_one_write(self) -> None:
        from netsuite.stream._write import corked

        with corked():
            self.proto.write(b"a")
            with corked():  # nested: only the outermost pops
                self.proto.write(b"b")
            self.assertEqual(self.writes, [])
        self.assertEqual(self.writes, [b"ab"])

    def test_limit_sends_early(self) -> None:
        from netsuite.stream._write import CORK_LIMIT, corked

        with corked():
            self.proto.write(b"x" * (CORK_LIMIT - 1))
            self.assertEqual(self.writes, [])
            self.proto.write(b"y")
            self.assertEqual(len(self.writes), 1)
            self.proto.write(b"z")
        self.assertEqual(self.writes[1:], [b"z"])

    def test_one_door_raising_leaves_the_others_sending(self) -> None:
        """A door whose send raises at the pop does not keep the others' bytes (nor make
        them gather for ever): every door sends, then the error goes on to the caller."""
        from netsuite.stream._write import corked

        bad = EchoFactory("echo", clock=Clock()).buildProtocol(address())
        bad.makeConnection(StringTransport())

        def broken(data: bytes) -> None:
            raise OSError("gone")

        bad._send = broken  # type: ignore[method-assign]
        with self.assertRaises(OSError), corked():
            bad.write(b"first")
            self.proto.write(b"second")
        self.assertEqual(self.writes, [b"second"])
        with corked():
            self.proto.write(b"later")
        self.assertEqual(self.writes, [b"second", b"later"])

    def test_not_corked_sends_at_once(self) -> None:
        self.proto.write(b"now")
        self.assertEqual(self.writes, [b"now"])

    def test_finish_sends_gathered_bytes_before_closing(self) -> None:
        """A door closed while corked sends what it gathered first (TLS drops later writes)."""
        from netsuite.stream._write import corked

        events: list[str] = []
        self.proto._send = lambda data: events.append(f"send {data!r}")  # type: ignore[method-assign]
        self.transport.loseConnection = lambda: events.append("close")  # type: ignore[method-assign]
        with corked():
            self.proto.write(b"bye")
            self.proto.finish()
        self.assertEqual(events, ["send b'bye'", "close"])
        self.assertIsNone(self.transport.producer)
