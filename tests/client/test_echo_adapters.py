"""
The Twisted half of C{netsuite echo}: the check protocols, the stdio terminals, and the
one-line failure messages, on L{StringTransport}, L{Clock} and L{iosim} (no sockets).
"""

from __future__ import annotations

import datetime
import ipaddress
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from OpenSSL import SSL
from service_identity import VerificationError
from service_identity.hazmat import IPAddress_ID, IPAddressMismatch
from twisted.internet import error as net_error
from twisted.internet.interfaces import ISSLTransport
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import directlyProvides

from netsuite.client._check import DatagramCheck, StreamCheck
from netsuite.client._common import TLSHandshakeError, connection_failure_message
from netsuite.client._echo_check import DatagramCheckProtocol, StreamCheckProtocol
from netsuite.client._echo_terminal import DatagramTerminal, StreamTerminal
from netsuite.echo import EchoFactory


class NoDelayTransport(StringTransport):
    """A StringTransport that remembers C{setTcpNoDelay}, as a TCP transport has it."""

    nodelay = False

    def setTcpNoDelay(self, enabled: bool) -> None:
        self.nodelay = enabled


class FakeDatagramTransport:
    """Just enough of a UDP port: connect, write, stopListening, recorded."""

    def __init__(self) -> None:
        self.connected_to: tuple[str, int] | None = None
        self.written: list[bytes] = []
        self.stopped = False

    def connect(self, host: str, port: int) -> None:
        self.connected_to = (host, port)

    def write(self, datagram: bytes, addr: Any = None) -> None:
        self.written.append(datagram)

    def stopListening(self) -> None:
        self.stopped = True


def _lost(proto: Any, reason: Failure | None = None) -> None:
    proto.connectionLost(reason or Failure(net_error.ConnectionDone()))


class StreamCheckProtocolTests(SynchronousTestCase):
    """L{StreamCheckProtocol} drives a L{StreamCheck} from transport events and a clock."""

    def setUp(self) -> None:
        self.clock = Clock()
        self.transport = NoDelayTransport()

    def connect(self, session: StreamCheck) -> StreamCheckProtocol:
        proto = StreamCheckProtocol(session, self.clock)
        proto.makeConnection(self.transport)
        return proto

    def test_nodelay_and_first_window(self) -> None:
        session = StreamCheck(5, 10, window=2)
        self.connect(session)
        self.assertTrue(self.transport.nodelay)
        self.assertEqual(len(self.transport.value()), 20)

    def test_echo_back_verifies_and_closes(self) -> None:
        session = StreamCheck(3, 10, window=1)
        proto = self.connect(session)
        results: list[StreamCheck] = []
        proto.finished.addCallback(results.append)
        for _ in range(3):
            sent = self.transport.value()
            self.transport.clear()
            self.clock.advance(0.25)
            proto.dataReceived(sent)
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(results, [])  # not before the connection is really closed
        _lost(proto)
        self.assertEqual(results, [session])
        self.assertTrue(session.ok)
        self.assertEqual(session.rtts, [0.25, 0.25, 0.25])

    def test_flipped_byte(self) -> None:
        session = StreamCheck(1, 10)
        proto = self.connect(session)
        sent = bytearray(self.transport.value())
        sent[3] ^= 0x80
        proto.dataReceived(bytes(sent))
        _lost(proto)
        self.assertEqual(self.successResultOf(proto.finished), session)
        self.assertEqual([(f.index, f.offset) for f in session.failures], [(0, 3)])

    def test_timeout(self) -> None:
        """No echo: at the deadline the check aborts and the connection is closed."""
        session = StreamCheck(2, 10, timeout=3.0)
        proto = self.connect(session)
        proto.dataReceived(self.transport.value()[:4])
        self.clock.advance(2.9)
        self.assertFalse(self.transport.disconnecting)
        self.clock.advance(0.1)
        self.assertTrue(self.transport.disconnecting)
        _lost(proto)
        self.successResultOf(proto.finished)
        self.assertEqual(session.failures[0].offset, 4)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_server_closes_early(self) -> None:
        session = StreamCheck(2, 10)
        proto = self.connect(session)
        _lost(proto, Failure(net_error.ConnectionLost("reset")))
        self.successResultOf(proto.finished)
        self.assertIn("connection lost", session.failures[0].reason)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_close_not_answered(self) -> None:
        """We closed and the peer never finished the close (TLS): aborted after timeout."""
        session = StreamCheck(1, 4, timeout=2.0)
        proto = self.connect(session)
        proto.dataReceived(self.transport.value())
        self.assertTrue(self.transport.disconnecting)
        self.clock.advance(2.0)
        self.assertTrue(self.transport.disconnected)  # StringTransport's abortConnection

    def test_tls_failure_before_any_byte(self) -> None:
        """A TLS error with nothing echoed fails C{finished}: the caller says why."""
        proto = self.connect(StreamCheck(1, 4))
        _lost(proto, Failure(SSL.Error([("SSL routines", "", "certificate verify failed")])))
        self.failureResultOf(proto.finished, SSL.Error)

    def test_tls_waits_for_handshake(self) -> None:
        """Over TLS nothing is sent (or timed) before the handshake completes."""
        directlyProvides(self.transport, ISSLTransport)
        session = StreamCheck(1, 4)
        proto = self.connect(session)
        self.assertEqual(self.transport.value(), b"")
        self.clock.advance(1.0)
        proto.handshakeCompleted()
        self.assertEqual(len(self.transport.value()), 4)
        self.assertEqual(session.started_at, 1.0)

    def test_tls_handshake_timeout(self) -> None:
        directlyProvides(self.transport, ISSLTransport)
        proto = self.connect(StreamCheck(1, 4, timeout=5.0))
        self.clock.advance(5.0)
        self.assertTrue(self.transport.disconnected)
        _lost(proto, Failure(net_error.ConnectionLost()))
        failure = self.failureResultOf(proto.finished, TLSHandshakeError)
        self.assertEqual(failure.getErrorMessage(), "no answer within 5s")

    def test_against_netsuite_echo_door(self) -> None:
        """In memory against the real echo door (iosim): a windowed check verifies."""
        clock = Clock()
        session = StreamCheck(40, 300, window=8, seed=11)
        factory = EchoFactory("echo", clock=clock)
        client, server, pump = iosim.connectedServerAndClient(
            lambda: factory.buildProtocol(None),  # type: ignore[arg-type]
            lambda: StreamCheckProtocol(session, clock),
            clock=clock,
        )
        pump.flush()
        self.assertTrue(session.ok)
        self.assertEqual(session.verified, 40)
        self.successResultOf(client.finished)


class DatagramCheckProtocolTests(SynchronousTestCase):
    """L{DatagramCheckProtocol} on a fake connected UDP port."""

    def setUp(self) -> None:
        self.clock = Clock()
        self.port = FakeDatagramTransport()

    def start(self, session: DatagramCheck) -> DatagramCheckProtocol:
        proto = DatagramCheckProtocol(session, ("127.0.0.1", 7), self.clock)
        proto.makeConnection(self.port)  # type: ignore[arg-type]
        return proto

    def test_connects_sends_and_verifies(self) -> None:
        session = DatagramCheck(3, 8, window=2)
        proto = self.start(session)
        self.assertEqual(self.port.connected_to, ("127.0.0.1", 7))
        self.assertEqual(len(self.port.written), 2)
        for datagram in reversed(self.port.written[:2]):
            proto.datagramReceived(datagram, ("127.0.0.1", 7))
        proto.datagramReceived(self.port.written[2], ("127.0.0.1", 7))
        self.assertEqual(self.successResultOf(proto.finished), session)
        self.assertTrue(session.ok)

    def test_loss(self) -> None:
        session = DatagramCheck(2, 8, timeout=1.0)
        proto = self.start(session)
        self.clock.advance(1.0)  # message 0 lost, message 1 sent
        self.assertEqual(len(self.port.written), 2)
        proto.datagramReceived(self.port.written[1], ("127.0.0.1", 7))
        self.successResultOf(proto.finished)
        self.assertEqual((session.verified, session.lost), (1, 1))

    def test_refused(self) -> None:
        session = DatagramCheck(2, 8)
        proto = self.start(session)
        proto.connectionRefused()
        self.successResultOf(proto.finished)
        self.assertTrue(session.was_refused)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_port_dropped_by_reactor_is_a_refusal(self) -> None:
        """epoll/poll drop a connected UDP port on ICMP errors (Twisted #5377)."""
        session = DatagramCheck(2, 8)
        proto = self.start(session)
        proto.doStop()
        self.successResultOf(proto.finished)
        self.assertTrue(session.was_refused)


class _StdioTransport(StringTransport):
    """StandardIO's transport as far as a terminal sees it."""


class StreamTerminalTests(SynchronousTestCase):
    """Interactive TCP/TLS: stdin to the server, echoes to stdout, exit when drained."""

    def setUp(self) -> None:
        self.clock = Clock()
        self.terminal = StreamTerminal(self.clock, 5.0, "127.0.0.1", 7)
        self.net = NoDelayTransport()
        self.net_proto = self.terminal.network_protocol()
        self.net_proto.makeConnection(self.net)
        self.stdio = _StdioTransport()
        self.stdio_proto = self.terminal.stdio_protocol()
        self.stdio_proto.makeConnection(self.stdio)

    def close_both(self) -> None:
        _lost(self.net_proto)
        _lost(self.stdio_proto)

    def test_flow_control_both_ways(self) -> None:
        self.assertTrue(self.net.nodelay)
        self.assertIs(self.net.producer, self.stdio)
        self.assertIs(self.stdio.producer, self.net)

    def test_round_trip_then_eof(self) -> None:
        self.stdio_proto.dataReceived(b"hello ")
        self.stdio_proto.dataReceived(b"world\n")
        self.assertEqual(self.net.value(), b"hello world\n")
        self.net_proto.dataReceived(b"hello world\n")
        self.assertEqual(self.stdio.value(), b"hello world\n")
        self.stdio_proto.readConnectionLost()  # type: ignore[attr-defined]
        self.assertTrue(self.net.disconnecting)
        self.assertTrue(self.stdio.disconnecting)
        self.assertNoResult(self.terminal.finished)  # stdout not flushed yet
        self.close_both()
        self.assertEqual(self.successResultOf(self.terminal.finished), 0)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_eof_waits_for_the_echo(self) -> None:
        self.stdio_proto.dataReceived(b"abcdef")
        self.stdio_proto.readConnectionLost()  # type: ignore[attr-defined]
        self.assertFalse(self.net.disconnecting)
        self.net_proto.dataReceived(b"abc")
        self.assertFalse(self.net.disconnecting)
        self.net_proto.dataReceived(b"def")
        self.assertTrue(self.net.disconnecting)
        self.close_both()
        self.assertEqual(self.successResultOf(self.terminal.finished), 0)

    def test_eof_timeout(self) -> None:
        self.stdio_proto.dataReceived(b"abcdef")
        self.stdio_proto.readConnectionLost()  # type: ignore[attr-defined]
        self.net_proto.dataReceived(b"ab")
        self.clock.advance(5.0)
        self.assertTrue(self.net.disconnecting)
        self.close_both()
        self.assertEqual(self.successResultOf(self.terminal.finished), 1)
        self.assertEqual(self.terminal.messages, ["4 of 6 bytes not echoed within 5s"])

    def test_server_closes_first(self) -> None:
        self.stdio_proto.dataReceived(b"abc")
        self.net_proto.dataReceived(b"a")
        _lost(self.net_proto)
        self.assertTrue(self.stdio.disconnecting)
        _lost(self.stdio_proto)
        self.assertEqual(self.successResultOf(self.terminal.finished), 1)
        self.assertEqual(
            self.terminal.messages, ["connection closed by the server with 1 of 3 bytes echoed"]
        )

    def test_tls_failure(self) -> None:
        _lost(self.net_proto, Failure(SSL.Error([("SSL routines", "", "wrong version number")])))
        _lost(self.stdio_proto)
        self.assertEqual(self.successResultOf(self.terminal.finished), 1)
        self.assertEqual(
            self.terminal.messages,
            ["TLS handshake with 127.0.0.1:7 failed: wrong version number"],
        )

    def test_stdout_gone(self) -> None:
        """Nobody reads stdout (C{| head}): stop, successfully."""
        self.stdio_proto.dataReceived(b"abc")
        self.stdio_proto.writeConnectionLost()  # type: ignore[attr-defined]
        _lost(self.net_proto)
        self.assertEqual(self.successResultOf(self.terminal.finished), 0)


class DatagramTerminalTests(SynchronousTestCase):
    """Interactive UDP: one datagram per line, one line per reply."""

    def setUp(self) -> None:
        self.clock = Clock()
        self.terminal = DatagramTerminal(self.clock, 2.0, "127.0.0.1", 7)
        self.port = FakeDatagramTransport()
        self.side = self.terminal.network_protocol(("127.0.0.1", 7))
        self.side.makeConnection(self.port)  # type: ignore[arg-type]
        self.stdio = StringTransport()
        self.stdio_proto = self.terminal.stdio_protocol()
        self.stdio_proto.makeConnection(self.stdio)

    def test_lines_and_replies(self) -> None:
        self.assertEqual(self.port.connected_to, ("127.0.0.1", 7))
        self.stdio_proto.dataReceived(b"one\ntw")
        self.stdio_proto.dataReceived(b"o\nthree")
        self.assertEqual(self.port.written, [b"one", b"two"])
        self.stdio_proto.readConnectionLost()  # type: ignore[attr-defined]
        self.assertEqual(self.port.written, [b"one", b"two", b"three"])
        for datagram in self.port.written:
            self.side.datagramReceived(datagram, ("127.0.0.1", 7))
        self.assertEqual(self.stdio.value(), b"one\ntwo\nthree\n")
        self.assertTrue(self.port.stopped)
        _lost(self.stdio_proto)
        self.assertEqual(self.successResultOf(self.terminal.finished), 0)

    def test_lost_reply(self) -> None:
        self.stdio_proto.dataReceived(b"one\ntwo\n")
        self.side.datagramReceived(b"one", ("127.0.0.1", 7))
        self.stdio_proto.readConnectionLost()  # type: ignore[attr-defined]
        self.clock.advance(2.0)
        _lost(self.stdio_proto)
        self.assertEqual(self.successResultOf(self.terminal.finished), 1)
        self.assertEqual(self.terminal.messages, ["1 of 2 datagrams not echoed within 2s"])

    def test_refused(self) -> None:
        self.stdio_proto.dataReceived(b"one\n")
        self.side.connectionRefused()
        _lost(self.stdio_proto)
        self.assertEqual(self.successResultOf(self.terminal.finished), 1)
        self.assertEqual(
            self.terminal.messages, ["cannot connect to 127.0.0.1:7: connection refused"]
        )


def _certificate(
    names: list[x509.GeneralName], issuer: str, self_signed: bool = False
) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leaf")])
    issuer_name = (
        subject if self_signed else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)])
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=2))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )


class FailureMessageTests(SynchronousTestCase):
    """Every way to fail has a one-line message that says what to do about it."""

    def setUp(self) -> None:
        self.leaf = _certificate(
            [x509.DNSName("other.invalid"), x509.IPAddress(ipaddress.ip_address("10.0.0.1"))],
            "Test CA",
        )

    def test_name_mismatch(self) -> None:
        error = VerificationError(
            errors=[IPAddressMismatch(mismatched_id=IPAddress_ID("127.0.0.1"))]
        )
        self.assertEqual(
            connection_failure_message(Failure(error), "127.0.0.1", 7443, [self.leaf]),
            "TLS verification failed for 127.0.0.1: the certificate is for "
            "DNS:other.invalid, IP:10.0.0.1, not 127.0.0.1",
        )

    def test_untrusted(self) -> None:
        error = SSL.Error([("SSL routines", "", "certificate verify failed")])
        self.assertEqual(
            connection_failure_message(Failure(error), "h", 1, [self.leaf]),
            "TLS verification failed for h: certificate verify failed: certificate issued "
            "by CN=Test CA does not chain to a system-trusted CA (--ca FILE trusts another)",
        )
        self.assertEqual(
            connection_failure_message(Failure(error), "h", 1, [self.leaf], ca="ca.pem"),
            "TLS verification failed for h: certificate verify failed: certificate issued "
            "by CN=Test CA does not chain to the CA in ca.pem",
        )
        selfie = _certificate([x509.DNSName("h")], "", self_signed=True)
        self.assertIn(
            "self-signed certificate (CN=leaf)",
            connection_failure_message(Failure(error), "h", 1, [selfie]),
        )

    def test_expired(self) -> None:
        error = SSL.Error([("SSL routines", "", "certificate verify failed")])
        later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3)
        message = connection_failure_message(Failure(error), "h", 1, [self.leaf], now=later)
        self.assertRegex(message, r"^TLS verification failed for h: the certificate expired at ")

    def test_client_certificate_refused(self) -> None:
        error = SSL.Error([("SSL routines", "", "tlsv13 alert certificate required")])
        self.assertEqual(
            connection_failure_message(Failure(error), "h", 1),
            "TLS handshake with h:1 failed: tlsv13 alert certificate required (the server "
            "wants a client certificate: --cert FILE --key FILE)",
        )

    def test_other_errors(self) -> None:
        cases = [
            (net_error.ConnectionRefusedError(), "cannot connect to h:1: connection refused"),
            (net_error.TimeoutError(), "cannot connect to h:1: timed out"),
            (
                TLSHandshakeError("no answer within 2s"),
                "TLS handshake with h:1 failed: no answer within 2s",
            ),
        ]
        for error, expected in cases:
            self.assertEqual(connection_failure_message(Failure(error), "h", 1), expected)
        self.assertEqual(
            connection_failure_message(Failure(net_error.ConnectionRefusedError()), "::1", 1),
            "cannot connect to [::1]:1: connection refused",
        )
        self.assertTrue(
            connection_failure_message(Failure(net_error.DNSLookupError("x")), "nx", 1).startswith(
                "cannot resolve nx:"
            )
        )
