"""
The Twisted half of C{netsuite ping}.

L{PingProtocol} on a fake port and a L{Clock}; then for real, on 127.0.0.1: the probes go
through L{ChaosProxy}, a UDP proxy in the test that drops, duplicates and delays the
datagrams a seeded random generator chose, and the statistics must say exactly what it
did. Once with the adapter in this process, once with the installed C{netsuite ping
--json} in a child process.
"""

from __future__ import annotations

import io
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from twisted.internet import defer, reactor
from twisted.internet import error as net_error
from twisted.internet.protocol import DatagramProtocol
from twisted.internet.task import Clock
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import SynchronousTestCase, TestCase

from netsuite.client._ping import dtls_failure_message
from netsuite.client._ping_adapter import PingProtocol
from netsuite.client._ping_session import PingSession, Reply
from netsuite.client._ping_terminal import PROGRESS_AFTER, Progress
from netsuite.datagram._probe import decode
from netsuite.echo import DatagramGuard, UDPEcho


class FakePort:
    """Just enough of a connected UDP port: connect, write (recorded, or failing)."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.connected_to: tuple[str, int] | None = None
        self.written: list[bytes] = []
        self.fail = fail

    def connect(self, host: str, port: int) -> None:
        self.connected_to = (host, port)

    def write(self, datagram: bytes, addr: Any = None) -> None:
        if self.fail is not None:
            raise self.fail
        self.written.append(datagram)


class PingProtocolTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.port = FakePort()
        self.replies: list[Reply] = []

    def start(self, session: PingSession, **kwargs: Any) -> PingProtocol:
        proto = PingProtocol(
            session, ("127.0.0.1", 7), self.clock, on_reply=self.replies.append, **kwargs
        )
        proto.makeConnection(self.port)  # type: ignore[arg-type]
        return proto

    def test_paced_by_the_clock(self) -> None:
        session = PingSession(interval=0.5, count=3, timeout=1)
        proto = self.start(session)
        self.assertEqual(self.port.connected_to, ("127.0.0.1", 7))
        self.assertEqual(len(self.port.written), 1)
        self.clock.advance(0.49)
        self.assertEqual(len(self.port.written), 1)
        self.clock.advance(0.01)
        self.assertEqual(len(self.port.written), 2)
        self.clock.advance(0.25)
        proto.datagramReceived(self.port.written[0], ("127.0.0.1", 7))
        self.assertEqual([(r.seq, r.rtt_ms) for r in self.replies], [(0, 750.0)])
        self.clock.advance(0.25)
        self.assertEqual(len(self.port.written), 3)
        self.assertNoResult(proto.finished)
        self.clock.advance(1.0)  # the wait after the last probe
        self.assertIs(self.successResultOf(proto.finished), session)
        self.assertEqual(session.summary()["lost"], 2)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_done_when_all_back(self) -> None:
        session = PingSession(interval=0.1, count=2, timeout=5)
        proto = self.start(session)
        self.clock.advance(0.1)
        for datagram in self.port.written:
            proto.datagramReceived(datagram, ("127.0.0.1", 7))
        self.assertIs(self.successResultOf(proto.finished), session)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_refused(self) -> None:
        proto = self.start(PingSession(interval=0.1))
        proto.connectionRefused()
        session = self.successResultOf(proto.finished)
        self.assertTrue(proto.refused)
        self.assertEqual(session.error, "connection refused")

    def test_port_stopped_by_the_reactor_is_a_refusal(self) -> None:
        """epoll and poll stop a connected UDP port on ICMP unreachable (Twisted #5377)."""
        proto = self.start(PingSession(interval=0.1))
        proto.doStop()
        self.successResultOf(proto.finished)
        self.assertTrue(proto.refused)

    def test_dtls_session_closed(self) -> None:
        proto = self.start(PingSession(interval=0.1), over_dtls=True)
        proto.doStop()
        session = self.successResultOf(proto.finished)
        self.assertEqual(session.error, "the server closed the DTLS session")
        self.assertFalse(proto.refused)

    def test_full_socket_buffer_counts_lost(self) -> None:
        self.port.fail = OSError("ENOBUFS")
        session = PingSession(interval=0.1, count=2, timeout=0.5)
        proto = self.start(session)
        self.clock.advance(0.1)
        self.clock.advance(0.5)
        self.successResultOf(proto.finished)
        self.assertEqual((session.send_errors, session.summary()["lost"]), (2, 2))

    def test_probe_too_large_for_the_transport(self) -> None:
        self.port.fail = net_error.MessageLengthError("record too long")
        proto = self.start(PingSession(interval=0.1, size=60000))
        session = self.successResultOf(proto.finished)
        self.assertIn("a 60000-byte probe cannot be sent", session.error or "")

    def test_interrupt(self) -> None:
        session = PingSession(interval=0.1)
        proto = self.start(session)
        self.clock.advance(0.3)
        proto.stop(interrupted=True)
        self.assertTrue(self.successResultOf(proto.finished).interrupted)
        self.assertEqual(self.clock.getDelayedCalls(), [])


class ProgressTests(SynchronousTestCase):
    def test_only_after_a_few_seconds_and_cleared(self) -> None:
        now = [0.0]
        session = PingSession(interval=1)
        session.start(0.0)
        stream = io.StringIO()
        progress = Progress(session, stream, lambda: now[0])
        progress.tick()
        self.assertEqual(stream.getvalue(), "")
        now[0] = PROGRESS_AFTER
        for t in range(1, int(PROGRESS_AFTER) + 1):
            session.expire(t)
        progress.tick()
        self.assertTrue(stream.getvalue().startswith("\r\x1b[K"))
        self.assertIn(f"{int(PROGRESS_AFTER) + 1} sent, 0 received", stream.getvalue())
        progress.clear()
        self.assertTrue(stream.getvalue().endswith("\r\x1b[K"))
        self.assertFalse(progress.showing)


class DTLSMessageTests(SynchronousTestCase):
    def test_wording(self) -> None:
        self.assertEqual(
            dtls_failure_message(
                "VerificationError(errors='certificate does not match 127.0.0.1 (it names: x)')",
                "127.0.0.1",
                7,
                None,
            ),
            "DTLS verification failed for 127.0.0.1: certificate does not match 127.0.0.1 "
            "(it names: x)",
        )
        self.assertEqual(
            dtls_failure_message("handshake failed: certificate verify failed", "h", 7, None),
            "DTLS verification failed for h: the certificate does not chain to a "
            "system-trusted CA (--ca FILE trusts another)",
        )
        self.assertIn(
            "the CA in ca.pem",
            dtls_failure_message("handshake failed: certificate verify failed", "h", 7, "ca.pem"),
        )
        self.assertEqual(
            dtls_failure_message("handshake timed out after 10 s", "::1", 7, None),
            "DTLS handshake with [::1]:7 failed: handshake timed out after 10 s",
        )


# -- for real, through a proxy that misbehaves on purpose --------------------------------


class ChaosProxy(DatagramProtocol):
    """
    A UDP proxy on 127.0.0.1 between one client and an echo server. Requests go to the
    server untouched, except those in C{drop_out}; replies are matched by their probe's
    sequence number: C{drop_back} are dropped, C{duplicate} sent twice, C{delay} held back
    until the next reply has been passed on. C{delivered} lists what reached the client.
    """

    noisy = False

    def __init__(
        self,
        server: tuple[str, int],
        *,
        drop_out: set[int] = frozenset(),  # type: ignore[assignment]
        drop_back: set[int] = frozenset(),  # type: ignore[assignment]
        duplicate: set[int] = frozenset(),  # type: ignore[assignment]
        delay: set[int] = frozenset(),  # type: ignore[assignment]
    ) -> None:
        self.server = server
        self.drop_out, self.drop_back = drop_out, drop_back
        self.duplicate, self.delay = duplicate, delay
        self.client: tuple[str, int] | None = None
        self.held: list[bytes] = []
        self.delivered: list[int] = []

    @classmethod
    def seeded(cls, server: tuple[str, int], seed: int, count: int) -> ChaosProxy:
        """Disjoint random choices; the last probes are left alone (they release held ones)."""
        rng = random.Random(seed)
        chosen = rng.sample(range(count - 5), 4 + 4 + 5 + 5)
        return cls(
            server,
            drop_out=set(chosen[0:4]),
            drop_back=set(chosen[4:8]),
            duplicate=set(chosen[8:13]),
            delay=set(chosen[13:18]),
        )

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        addr = (addr[0], addr[1])
        if addr != self.server:
            self.client = addr
            if decode(datagram).seq not in self.drop_out:
                self.transport.write(datagram, self.server)
            return
        seq = decode(datagram).seq
        if seq in self.drop_back:
            return
        if seq in self.delay:
            self.held.append(datagram)
            return
        self._deliver(datagram)
        if seq in self.duplicate:
            self._deliver(datagram)
        held, self.held = self.held, []
        for datagram in held:
            self._deliver(datagram)

    def _deliver(self, datagram: bytes) -> None:
        assert self.client is not None
        self.delivered.append(decode(datagram).seq)
        self.transport.write(datagram, self.client)

    def expected(self) -> dict[str, int]:
        """The statistics a client must report: what reached it, by the definitions."""
        seen: set[int] = set()
        highest = -1
        reordered = 0
        for seq in self.delivered:
            if seq not in seen and seq < highest:
                reordered += 1
            seen.add(seq)
            highest = max(highest, seq)
        return {
            "received": len(seen),
            "duplicates": len(self.delivered) - len(seen),
            "reordered": reordered,
        }


class ThroughChaosTests(TestCase):
    """Real UDP on 127.0.0.1: echo server, chaos proxy and client, in this reactor."""

    timeout = 60
    count = 200

    def setUp(self) -> None:
        echo = UDPEcho(DatagramGuard(), reactor)
        self.server_port = reactor.listenUDP(0, echo, interface="127.0.0.1")
        self.addCleanup(self.server_port.stopListening)
        self.server = ("127.0.0.1", self.server_port.getHost().port)

    def proxy(self, seed: int) -> tuple[ChaosProxy, int]:
        proxy = ChaosProxy.seeded(self.server, seed, self.count)
        port = reactor.listenUDP(0, proxy, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        return proxy, port.getHost().port

    def check(self, proxy: ChaosProxy, summary: dict[str, Any]) -> None:
        lost = len(proxy.drop_out) + len(proxy.drop_back)
        # What the proxy chose, and what it did, and what the client says: all the same.
        self.assertEqual(
            {k: summary[k] for k in ("sent", "received", "lost", "duplicates", "reordered")},
            {
                "sent": self.count,
                "received": self.count - lost,
                "lost": lost,
                "duplicates": len(proxy.duplicate),
                "reordered": len(proxy.delay),
            },
        )
        self.assertEqual(
            proxy.expected(), {k: summary[k] for k in ("received", "duplicates", "reordered")}
        )
        self.assertGreater(summary["rtt_ms"]["min"], 0)
        self.assertLess(summary["rtt_ms"]["p99"], 1000)

    @defer.inlineCallbacks
    def test_adapter_counts_what_the_proxy_did(self) -> Any:
        for seed in (1, 2, 3):
            proxy, port = self.proxy(seed)
            session = PingSession(interval=0.002, count=self.count, timeout=0.5)
            replies: list[Reply] = []
            proto = PingProtocol(
                session, ("127.0.0.1", port), reactor, time.perf_counter, replies.append
            )
            client = reactor.listenUDP(0, proto, interface="127.0.0.1")
            try:
                yield proto.finished
            finally:
                yield client.stopListening()
            self.check(proxy, session.summary())
            self.assertEqual(sum(r.duplicate for r in replies), len(proxy.duplicate))
            self.assertEqual([r.seq for r in replies], proxy.delivered)

    @defer.inlineCallbacks
    def test_command_counts_what_the_proxy_did(self) -> Any:
        proxy, port = self.proxy(seed=7)
        script = Path(sys.executable).with_name("netsuite")
        executable, prefix = (
            (str(script), []) if script.exists() else (sys.executable, ["-m", "netsuite.client"])
        )
        out, err, code = yield getProcessOutputAndValue(
            executable,
            [
                *prefix,
                "ping",
                "127.0.0.1",
                str(port),
                "--count",
                str(self.count),
                "--interval",
                "0.002",
                "--timeout",
                "0.5",
                "--json",
            ],
            env=os.environ,
            reactor=reactor,
        )
        self.assertEqual((code, err), (0, b""), out)
        summary = json.loads(out)
        self.check(proxy, summary)
        self.assertEqual((summary["transport"], summary["address"]), ("udp", f"127.0.0.1:{port}"))
