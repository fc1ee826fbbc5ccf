"""The UDP echo's guard (sans-IO) and its Twisted adapter."""

from twisted.internet.task import Clock
from twisted.logger import LogLevel, capturedLogs
from twisted.trial.unittest import SynchronousTestCase

from netsuite.echo._udp import DEFAULT_DENIED_PORTS, DatagramGuard, UDPEcho


class FakeDatagramTransport:
    def __init__(self) -> None:
        self.written: list[tuple[bytes, tuple[str, int]]] = []
        self.fail: OSError | None = None

    def write(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.fail:
            raise self.fail
        self.written.append((data, addr))


class DatagramGuardTests(SynchronousTestCase):
    def test_denied_ports(self) -> None:
        """Every port of the deny-list is refused; a neighbour is answered."""
        guard = DatagramGuard()
        for port in sorted(DEFAULT_DENIED_PORTS):
            self.assertEqual(guard.check("192.0.2.1", port, 10, 0.0), "denied_port")
        self.assertIsNone(guard.check("192.0.2.1", 20, 10, 0.0))
        self.assertEqual(guard.counters["dropped.denied_port"], len(DEFAULT_DENIED_PORTS))

    def test_privileged_optional(self) -> None:
        self.assertIsNone(DatagramGuard().check("h", 1023, 1, 0.0))
        guard = DatagramGuard(deny_privileged=True)
        self.assertEqual(guard.check("h", 1023, 1, 0.0), "privileged_port")
        self.assertIsNone(guard.check("h", 1024, 1, 0.0))

    def test_rate_limit_per_source(self) -> None:
        """
        Once a source has spent its burst it is refused until time refills it; another
        source is not affected. A maximal datagram always fits in the burst.
        """
        guard = DatagramGuard(rate=1000, burst=1)
        self.assertIsNone(guard.check("a", 5000, 65507, 0.0))  # burst raised to fit one
        self.assertEqual(guard.check("a", 5000, 100, 0.0), "rate_limited")
        self.assertIsNone(guard.check("b", 5000, 100, 0.0))
        self.assertIsNone(guard.check("a", 5000, 100, 0.128))  # 128 tokens back
        self.assertEqual(guard.counters["dropped.rate_limited"], 1)

    def test_counters_balance(self) -> None:
        """received = echoed + every drop; bytes out never exceed bytes in."""
        guard = DatagramGuard(rate=100, burst=1)
        for i in range(50):
            guard.check(f"h{i % 3}", 7 if i % 5 == 0 else 4000, 40_000, i * 0.01)
        c = guard.counters
        drops = sum(v for k, v in c.items() if k.startswith("dropped."))
        self.assertEqual(c["received"], c["echoed"] + drops)
        self.assertLessEqual(c["bytes_out"], c["bytes_in"])


class UDPEchoTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.transport = FakeDatagramTransport()
        self.proto = UDPEcho(DatagramGuard(), self.clock)
        self.proto.makeConnection(self.transport)

    def test_echo_whole(self) -> None:
        """A 65,507-byte datagram comes back whole, to its sender."""
        data = bytes(range(256)) * 255 + b"x" * 227
        self.assertEqual(len(data), 65507)
        self.proto.datagramReceived(data, ("127.0.0.1", 40000))
        self.assertEqual(self.transport.written, [(data, ("127.0.0.1", 40000))])

    def test_refused_not_answered_and_logged_once_a_second(self) -> None:
        with capturedLogs() as events:
            for _ in range(10):
                self.proto.datagramReceived(b"x", ("127.0.0.1", 19))
            self.clock.advance(1.0)
            self.proto.datagramReceived(b"x", ("127.0.0.1", 19))
        self.assertEqual(self.transport.written, [])
        warnings = [e for e in events if e["log_level"] == LogLevel.warn]
        self.assertEqual([w["count"] for w in warnings], [1, 10])
        self.assertEqual(warnings[0]["reason"], "denied port")

    def test_send_failure_counted(self) -> None:
        """A full socket buffer (EAGAIN) drops the echo, counted, without an exception."""
        self.transport.fail = BlockingIOError(11, "EAGAIN")
        self.proto.datagramReceived(b"x", ("127.0.0.1", 40000))
        self.assertEqual(self.proto.guard.counters["dropped.send_failed"], 1)


class PerSourceCountersTests(SynchronousTestCase):
    def test_counts_per_source_bounded(self) -> None:
        guard = DatagramGuard(rate=1000, burst=1, max_sources=2)
        guard.check("a", 4000, 10, 0.0)
        guard.check("a", 19, 10, 0.0)
        guard.check("b", 4000, 10, 0.0)
        self.assertEqual(
            guard.sources(),
            {"b": {"in": 1, "out": 1}, "a": {"in": 2, "out": 1, "dropped.denied_port": 1}},
        )
        guard.check("c", 4000, 10, 0.0)
        self.assertEqual(list(guard.sources()), ["c", "b"])
