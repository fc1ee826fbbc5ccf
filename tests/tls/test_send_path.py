"""
How the nstls: listener moves bytes (netsuite.tls._listener.DeadlineTLSProtocol): one send
per read, whole reads delivered to the door, large writes intact and bounded, closes in
order; over Twisted's in-memory transport (iosim), with real TLS on both ends.
"""

from __future__ import annotations

import tempfile
from typing import Any

from OpenSSL import SSL
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IHalfCloseableProtocol, ISSLTransport, ITCPTransport
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransportWithDisconnection
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure
from twisted.test.iosim import FakeTransport, IOPump
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import alsoProvides, providedBy

from netsuite._twisted.tls import DECLARATIONS as _DECLARATIONS
from netsuite._twisted.tls import TLS_CHUNK
from netsuite.echo import EchoFactory
from netsuite.limits._policy import ConnectionGate
from netsuite.testing import TLSFiles, connect_door
from netsuite.tls._contexts import TLSServerSettings
from netsuite.tls._listener import (
    DeadlineTLSFactory,
    ReloadableServerTLS,
)

_FILES: TLSFiles | None = None


def files() -> TLSFiles:
    """One throw-away CA and server certificate for the whole module (keys are slow)."""
    global _FILES
    if _FILES is None:
        _FILES = TLSFiles(tempfile.mkdtemp(prefix="netsuite-tls-send-"))
    return _FILES


class RecordingTransport(FakeTransport):
    """iosim's transport, remembering the size of every write (one write = one send)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.writes: list[int] = []

    def write(self, data: bytes) -> None:
        self.writes.append(len(data))
        super().write(data)


class Collector(Protocol):
    """The client side: keeps what it receives, and how it ended."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.lost: Any = None

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def connectionLost(self, reason: Any) -> None:
        self.lost = reason


class Sizes(Protocol):
    """A server-side door that records the size of each delivery and writes nothing."""

    deliveries: list[int]

    def connectionMade(self) -> None:
        self.deliveries = []

    def dataReceived(self, data: bytes) -> None:
        self.deliveries.append(len(data))


class SendPathTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        tls = ReloadableServerTLS(
            TLSServerSettings(cert=files().cert_path, key=files().key_path), label="t"
        )
        self.tls = tls

    def serve(
        self, wrapped: Any, early: bytes = b""
    ) -> tuple[Any, Collector, RecordingTransport, IOPump]:
        """
        A server connection of C{wrapped} behind nstls:, and a TLS client, handshaken;
        C{early} is written by the client before the handshake, so it travels with the
        client's Finished.
        """
        pair = connect_door(
            wrapped,
            Collector(),
            self.clock,
            files(),
            server_tls=self.tls,
            server_transport=RecordingTransport,
            flush=False,
        )
        if early:
            pair.client_wire.write(early)
        pair.pump.flush()
        self.assertTrue(pair.server_wire._handshakeDone)
        return pair.server_wire, pair.client, pair.server_io, pair.pump

    def echo(self) -> EchoFactory:
        return EchoFactory("echo", gate=ConnectionGate(), idle_timeout=0, clock=self.clock)

    def test_one_send_per_read(self) -> None:
        """The echo of a request leaves in the read's one write, not one per record."""
        server, client, server_io, pump = self.serve(self.echo())
        for size in (100, 40_000):  # one record; three records
            del server_io.writes[:]
            client.transport.write(b"q" * size)
            pump.flush()
            self.assertEqual(len(server_io.writes), 1, server_io.writes)
        self.assertEqual(bytes(client.received), b"q" * 40_100)

    def test_handshake_end_tickets_and_reply_in_one_send(self) -> None:
        """
        The read that completes the handshake also carries a request: the session
        tickets and the echo leave in one send.
        """
        server, client, server_io, pump = self.serve(self.echo(), early=b"early")
        self.assertEqual(bytes(client.received), b"early")
        # ServerHello..Finished answer the ClientHello; tickets + echo answer the rest.
        self.assertEqual(len(server_io.writes), 2, server_io.writes)

    def test_records_of_one_read_are_one_delivery(self) -> None:
        """A 64 KiB write (four records) reaches the door in one dataReceived."""
        door = Sizes()
        server, client, _io, pump = self.serve(Factory.forProtocol(lambda: door))
        client.transport.write(b"x" * 65536)
        pump.flush()
        self.assertEqual(door.deliveries, [65536])

    def test_large_write_intact_and_bounded(self) -> None:
        """
        A 3 MiB write from the door arrives byte for byte, and the memory BIO is drained
        every TLS_CHUNK bytes: no single send is much larger than that.
        """
        door = Sizes()
        server, client, server_io, pump = self.serve(Factory.forProtocol(lambda: door))
        payload = bytes(range(256)) * (3 * 4096) + b"tail"
        del server_io.writes[:]
        door.transport.write(payload)
        pump.flush()
        self.assertEqual(bytes(client.received), payload)
        self.assertLess(max(server_io.writes), TLS_CHUNK + 4096)
        self.assertGreater(len(server_io.writes), len(payload) // TLS_CHUNK)

    def test_data_then_close_notify_in_one_read(self) -> None:
        """
        A request and the client's close_notify in one read: the door gets the bytes
        first, its echo and the server's close_notify go out before TCP closes.
        """
        server, client, _io, pump = self.serve(self.echo())
        client.transport.write(b"last words")
        client.transport.loseConnection()
        pump.flush()
        self.assertEqual(bytes(client.received), b"last words")
        self.assertIsNotNone(client.lost)
        self.assertTrue(server.transport.disconnecting)

    def test_other_protocols_keep_twisteds_aggregation(self) -> None:
        """
        Without C{tls_write_now} (twisted.web, say), small writes still wait one reactor
        turn in Twisted's aggregator and leave together.
        """
        door = Sizes()
        server, client, server_io, pump = self.serve(Factory.forProtocol(lambda: door))
        del server_io.writes[:]
        door.transport.write(b"a")
        door.transport.write(b"b")
        self.assertEqual(server_io.writes, [])
        self.clock.advance(0)
        self.assertEqual(len(server_io.writes), 1)
        pump.flush()
        self.assertEqual(bytes(client.received), b"ab")

    def test_door_writes_at_once(self) -> None:
        """With it (every netsuite door), a write outside any read is sent at once."""
        server, client, server_io, pump = self.serve(self.echo())
        del server_io.writes[:]
        door = server.wrappedProtocol
        door.write(b"now")
        self.assertEqual(len(server_io.writes), 1)
        pump.flush()
        self.assertEqual(bytes(client.received), b"now")

    def test_corrupt_record_closes_that_connection_only(self) -> None:
        """
        A record that does not decrypt ends that connection with the error (and an alert
        to the peer); what the door got before it stays delivered; another connection of
        the same listener keeps echoing.
        """
        lost: list[Any] = []

        class Door(Sizes):
            def connectionLost(self, reason: Any) -> None:
                lost.append(reason)

        door = Door()
        server, client, server_io, pump = self.serve(Factory.forProtocol(lambda: door))
        other_server, other_client, _io, other_pump = self.serve(self.echo())
        client.transport.write(b"fine")
        pump.flush()
        self.assertEqual(door.deliveries, [4])
        del server_io.writes[:]
        server.dataReceived(b"\x17\x03\x03\x00\x20" + b"\x00" * 32)  # not from the peer's keys
        self.assertTrue(server.transport.disconnecting)
        self.assertEqual(len(server_io.writes), 1)  # the alert, before the close
        server.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(len(lost), 1)
        self.assertIsInstance(lost[0].value, SSL.Error)
        self.assertEqual(door.deliveries, [4])
        other_client.transport.write(b"still here")
        other_pump.flush()
        self.assertEqual(bytes(other_client.received), b"still here")


class DeclarationTests(SynchronousTestCase):
    """The wrapper declares what its transport provides, as Twisted's does, from a cache."""

    def wrap(self, transport: Any) -> Any:
        tls = ReloadableServerTLS(
            TLSServerSettings(cert=files().cert_path, key=files().key_path), label="t"
        )
        factory = DeadlineTLSFactory(tls, Factory.forProtocol(Protocol), Clock(), 0, "t")
        proto = factory.buildProtocol(None)
        proto.makeConnection(transport)
        return proto

    def test_same_interfaces_as_twisted(self) -> None:
        server_io = StringTransportWithDisconnection()
        twisted_factory = TLSMemoryBIOFactory(
            ReloadableServerTLS(
                TLSServerSettings(cert=files().cert_path, key=files().key_path), label="u"
            ),
            False,
            Factory.forProtocol(Protocol),
            Clock(),
        )
        theirs = twisted_factory.buildProtocol(None)
        theirs.makeConnection(StringTransportWithDisconnection())
        ours = self.wrap(server_io)
        self.assertEqual(set(providedBy(ours)), set(providedBy(theirs)))
        self.assertTrue(ITCPTransport.providedBy(ours))
        self.assertTrue(ISSLTransport.providedBy(ours))

    def test_instance_declarations_are_not_cached(self) -> None:
        """A transport with its own declaration is honoured, and leaves no cache entry."""
        before = len(_DECLARATIONS)
        transport = StringTransportWithDisconnection()
        alsoProvides(transport, IHalfCloseableProtocol)
        ours = self.wrap(transport)
        self.assertTrue(IHalfCloseableProtocol.providedBy(ours))
        self.assertEqual(len(_DECLARATIONS), before)
