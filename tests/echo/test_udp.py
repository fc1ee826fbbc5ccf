"""The UDP echo's guard (sans-IO) and its Twisted adapter."""

from twisted.internet.task import Clock
from twisted.logger import LogLevel, capturedLogs
from twisted.trial.unittest import SynchronousTestCase

from netsuite.echo._udp import (
    DEFAULT_DENIED_PORTS,
    DROP_LOG_INTERVAL,
    DatagramGuard,
    UDPEcho,
    fingerprint,
)
from netsuite.limits._defaults import (
    UDP_GLOBAL_BYTES,
    UDP_GLOBAL_PACKETS,
    UDP_LOOP_QUIET,
    UDP_LOOP_RATE,
    UDP_SOURCE_BYTES,
    UDP_SOURCE_PACKETS,
)
from netsuite.limits._policy import REPLY_MEMORY

#: Every budget out of the way but the one a test looks at.
HUGE = {
    "rate": 1e12, "burst": 1e12, "source_packets": 1e12, "source_bytes": 1e12,
    "global_packets": 1e12, "global_bytes": 1e12, "loop_rate": 1e12,
}  # fmt: skip
#: Header bytes charged with each datagram (IPv4 + UDP).
HEADER = 28


def guard(**limits: float) -> DatagramGuard:
    """A guard whose budgets are all huge but those given."""
    return DatagramGuard(**{**HUGE, **limits})  # type: ignore[arg-type]


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

    def test_refused_not_answered_and_logged_in_batches(self) -> None:
        """
        Drops are not answered, and not logged one by one: the first starts a one-second
        timer, then one event carries a line per reason (count, latest source).
        """
        with capturedLogs() as events:
            for _ in range(10):
                self.proto.datagramReceived(b"x", ("127.0.0.1", 19))
            self.proto.datagramReceived(b"x", ("127.0.0.1", 53))
            self.clock.advance(DROP_LOG_INTERVAL - 0.001)
            self.assertEqual([e for e in events if e["log_level"] == LogLevel.warn], [])
            self.clock.advance(0.001)
            self.proto.datagramReceived(b"x", ("127.0.0.1", 19))
            self.clock.advance(DROP_LOG_INTERVAL)
        self.assertEqual(self.transport.written, [])
        warnings = [e for e in events if e["log_level"] == LogLevel.warn]
        self.assertEqual([w["lines"] for w in warnings], [1, 1])
        self.assertEqual(
            warnings[0]["udp_drops"],
            "echo/udp dropped 11 datagram(s), latest from 127.0.0.1:53: denied port",
        )
        (record,) = warnings[0]["records"]
        self.assertEqual(
            (record["count"], record["port"], record["reason"]), (11, 53, "denied port")
        )
        self.assertEqual(record["limit"], "udp-deny-ports")
        self.assertEqual(warnings[1]["records"][0]["count"], 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_one_event_a_line_per_reason(self) -> None:
        self.proto.guard = DatagramGuard(source_packets=1)
        with capturedLogs() as events:
            self.proto.datagramReceived(b"a", ("127.0.0.1", 19))
            self.proto.datagramReceived(b"a", ("127.0.0.1", 4000))
            for _ in range(3):
                self.proto.datagramReceived(b"b", ("127.0.0.1", 4000))
            self.clock.advance(DROP_LOG_INTERVAL)
        (event,) = [e for e in events if e["log_level"] == LogLevel.warn]
        self.assertEqual(
            event["udp_drops"].splitlines(),
            [
                "echo/udp dropped 1 datagram(s), latest from 127.0.0.1:19: denied port",
                "echo/udp dropped 3 datagram(s), latest from 127.0.0.1:4000: source packets",
            ],
        )
        self.assertEqual(event["records"][1]["limit"], "udp-source-packets")

    def test_stop_flushes(self) -> None:
        """Closing the port logs what is pending at once and leaves no timer behind."""
        with capturedLogs() as events:
            self.proto.datagramReceived(b"x", ("127.0.0.1", 19))
            self.proto.doStop()
        self.assertEqual([e["lines"] for e in events if e["log_level"] == LogLevel.warn], [1])
        self.assertEqual(self.clock.getDelayedCalls(), [])

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


class BudgetTests(SynchronousTestCase):
    """Each budget at its edge: n datagrams (or bytes) admitted, the next refused."""

    def test_defaults(self) -> None:
        g = DatagramGuard()
        self.assertEqual((g.flows.packets, g.flows.octets), (UDP_SOURCE_PACKETS, UDP_SOURCE_BYTES))
        self.assertEqual(g.global_packets.rate, UDP_GLOBAL_PACKETS)
        self.assertEqual(g.global_bytes.rate, UDP_GLOBAL_BYTES)
        self.assertEqual((g.flows.repeats, g.loop_quiet), (UDP_LOOP_RATE, UDP_LOOP_QUIET))

    def test_source_packets(self) -> None:
        """
        n tiny datagrams a second from one address:port, the n+1st refused however small:
        another port of the same address has its own budget; time refills it.
        """
        n = 50
        g = guard(source_packets=n)
        for i in range(n):
            self.assertIsNone(g.check("192.0.2.1", 4000, 1, 0.0), i)
        self.assertEqual(g.check("192.0.2.1", 4000, 1, 0.0), "source_packets")
        self.assertIsNone(g.check("192.0.2.1", 4001, 1, 0.0))
        self.assertEqual(g.check("192.0.2.1", 4000, 1, 1 / n - 1e-9), "source_packets")
        self.assertIsNone(g.check("192.0.2.1", 4000, 1, 1 / n))
        self.assertEqual(g.counters["dropped.source_packets"], 2)
        self.assertEqual(g.sources()["192.0.2.1"]["dropped.source_packets"], 2)

    def test_source_packets_default_bounds_tiny_datagrams(self) -> None:
        """The case of issue 13: 1-byte datagrams never reached the 2 MB/s byte budget."""
        g = DatagramGuard()
        answered = [g.check("127.0.0.1", 4000, 1, 0.0) for _ in range(int(UDP_SOURCE_PACKETS) + 1)]
        self.assertEqual(answered.count(None), UDP_SOURCE_PACKETS)
        self.assertEqual(answered[-1], "source_packets")

    def test_source_bytes(self) -> None:
        """n bytes (with 28 header bytes each) to one address:port at once, not one more."""
        n = 100_000
        g = guard(source_bytes=n)
        size = n // 4 - HEADER
        for _ in range(4):
            self.assertIsNone(g.check("192.0.2.1", 4000, size, 0.0))
        self.assertEqual(g.check("192.0.2.1", 4000, 0, 0.0), "source_bytes")
        self.assertIsNone(g.check("192.0.2.1", 4001, size, 0.0))
        self.assertIsNone(g.check("192.0.2.1", 4000, 0, 2 * HEADER / n))  # refilled

    def test_source_bytes_fit_one_datagram(self) -> None:
        g = guard(source_bytes=1)
        self.assertIsNone(g.check("a", 4000, 65507, 0.0))
        self.assertEqual(g.check("a", 4000, 65507, 0.0), "source_bytes")

    def test_global_packets(self) -> None:
        """n datagrams a second over all sources (each within its own budgets), not n+1."""
        n = 30
        g = guard(global_packets=n, source_packets=1)
        for i in range(n):
            self.assertIsNone(g.check(f"192.0.2.{i}", 4000 + i, 1, 0.0), i)
        self.assertEqual(g.check("198.51.100.1", 5000, 1, 0.0), "global_packets")
        # (the refused one spent its own flow's budget: a new flow, once time refilled)
        self.assertIsNone(g.check("198.51.100.2", 5000, 1, 1 / n))
        self.assertEqual(g.counters["dropped.global_packets"], 1)

    def test_global_bytes(self) -> None:
        n = 200_000
        g = guard(global_bytes=n)
        size = n // 2 - HEADER
        self.assertIsNone(g.check("192.0.2.1", 4000, size, 0.0))
        self.assertIsNone(g.check("192.0.2.2", 4000, size, 0.0))
        self.assertEqual(g.check("192.0.2.3", 4000, 0, 0.0), "global_bytes")
        self.assertIsNone(g.check("192.0.2.3", 4000, 0, 2 * HEADER / n))

    def test_refused_by_its_own_budget_spends_not_the_global_one(self) -> None:
        """A flow over its budget cannot drain the budget every other source shares."""
        g = guard(source_packets=1, global_packets=2)
        for _ in range(100):
            g.check("192.0.2.1", 4000, 1, 0.0)
        self.assertIsNone(g.check("192.0.2.2", 4000, 1, 0.0))
        self.assertEqual(g.check("192.0.2.3", 4000, 1, 0.0), "global_packets")

    def test_flows_bounded(self) -> None:
        g = guard(max_sources=2)
        for port in range(4000, 4010):
            g.check("192.0.2.1", port, 1, 0.0)
        self.assertEqual(len(g.flows), 2)


class LoopDampingTests(SynchronousTestCase):
    """
    The rule: a repeat (a datagram equal to one of the last REPLY_MEMORY echoed to that
    address:port) draws on a budget of loop_rate a second, as many at once; the first
    repeat beyond it mutes the flow until it has been silent for loop_quiet seconds.
    """

    def test_repeats_answered_at_a_bounded_rate_then_muted(self) -> None:
        g = guard(loop_rate=3, loop_quiet=5.0)
        data = b"ping"
        self.assertIsNone(g.check("h", 4000, 4, 0.0, data))  # the first: not a repeat
        for i in range(3):
            self.assertIsNone(g.check("h", 4000, 4, 0.0, data), i)  # 3 repeats
        self.assertEqual(g.check("h", 4000, 4, 0.0, data), "loop")  # the 4th: muted
        # Muted: not even new data is answered, and anything sent keeps it muted.
        self.assertEqual(g.check("h", 4000, 5, 4.9, b"other"), "loop")
        self.assertEqual(g.check("h", 4000, 5, 9.8, b"other"), "loop")
        self.assertIsNone(g.check("h", 4001, 4, 9.8, data))  # another flow: unaffected
        # Quiet for loop_quiet: answered again.
        self.assertIsNone(g.check("h", 4000, 5, 14.8, b"other"))
        self.assertEqual(g.counters["dropped.loop"], 3)

    def test_distinct_datagrams_are_not_repeats(self) -> None:
        g = guard(loop_rate=1)
        for i in range(1000):
            self.assertIsNone(g.check("h", 4000, 8, 0.0, b"%08d" % i))
        self.assertEqual(g.counters["dropped.loop"], 0)

    def test_a_slow_repeater_is_answered(self) -> None:
        """The same keep-alive every second stays within a rate of one a second."""
        g = guard(loop_rate=1)
        for second in range(100):
            self.assertIsNone(g.check("h", 4000, 2, float(second), b"ka"))

    def test_memory_of_replies(self) -> None:
        """
        A repeat of any of the last REPLY_MEMORY echoes counts (several datagrams in
        flight around a loop); an older one is forgotten.
        """
        g = guard(loop_rate=1)
        first = [b"%d" % i for i in range(REPLY_MEMORY)]
        for data in first:
            g.check("h", 4000, len(data), 0.0, data)
        self.assertIsNone(g.check("h", 4000, 1, 0.0, first[0]))  # a repeat: the one token
        self.assertEqual(g.check("h", 4000, 1, 0.0, first[1]), "loop")
        g = guard(loop_rate=1)
        for data in [*first, b"new"]:
            g.check("h", 4000, len(data), 0.0, data)
        # first[0] was forgotten when the 9th reply was remembered: not a repeat.
        self.assertIsNone(g.check("h", 4000, 1, 0.0, first[0]))
        self.assertIsNone(g.check("h", 4000, 1, 0.0, first[0]))  # now it is: the token
        self.assertEqual(g.check("h", 4000, 1, 0.0, first[0]), "loop")

    def test_fingerprint(self) -> None:
        """Length and the first 64 bytes."""
        self.assertEqual(fingerprint(b"x" * 64 + b"a"), fingerprint(b"x" * 64 + b"b"))
        self.assertNotEqual(fingerprint(b"x" * 64), fingerprint(b"x" * 65))
        self.assertNotEqual(fingerprint(b"a" + b"x" * 63), fingerprint(b"b" + b"x" * 63))

    def test_cross_wired_pair_dies_out(self) -> None:
        """
        Two echoes, each the other's peer, one datagram injected: on loopback (50 us a
        hop) they stop after a handful of hops, long before a second; neither answers
        the other again.
        """
        clock = Clock()
        a_addr, b_addr = ("127.0.0.1", 7100), ("127.0.0.1", 7200)
        wire: list[tuple[bytes, tuple[str, int]]] = []  # (datagram, destination)

        class Wire:
            def __init__(self, me: tuple[str, int]) -> None:
                self.me = me

            def write(self, data: bytes, addr: tuple[str, int]) -> None:
                wire.append((data, addr))

        a, b = UDPEcho(DatagramGuard(), clock), UDPEcho(DatagramGuard(), clock)
        a.makeConnection(Wire(a_addr))  # type: ignore[arg-type]
        b.makeConnection(Wire(b_addr))  # type: ignore[arg-type]
        b.datagramReceived(b"cross-wired", a_addr)  # forged: "from" A, to B
        hops = 1
        while wire and clock.seconds() < 1.0:
            data, to = wire.pop(0)
            clock.advance(50e-6)
            (a if to == a_addr else b).datagramReceived(data, b_addr if to == a_addr else a_addr)
            hops += 1
        self.assertEqual(wire, [])
        self.assertEqual(hops, 2 * (int(UDP_LOOP_RATE) + 1) + 1)
        self.assertLess(clock.seconds(), 0.001)
        drops = a.guard.counters["dropped.loop"] + b.guard.counters["dropped.loop"]
        self.assertEqual(drops, 1)
        clock.advance(UDP_LOOP_QUIET)  # the drop batch leaves; nothing more to do
        self.assertEqual(clock.getDelayedCalls(), [])
