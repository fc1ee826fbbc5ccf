"""The structured fields of a stream door's log events (netsuite.base._logfields)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from OpenSSL import SSL
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import LogEvent, LogLevel, capturedLogs
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from netsuite.base._logfields import close_reason, split_name, tls_fields
from netsuite.echo._protocol import EchoFactory
from netsuite.limits._policy import ConnectionGate
from netsuite.testing import TLSFiles, connect_door

PEER = IPv4Address("TCP", "127.0.0.1", 40000)


def records(events: Sequence[LogEvent]) -> list[dict[str, Any]]:
    """Every line of every batch, with its fields (what the JSON observer writes)."""
    return [r for e in events for r in e.get("records", [])]


class DoorFieldTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.factory = EchoFactory(
            "echo", gate=ConnectionGate(0, 1), idle_timeout=0, clock=self.clock
        )

    def connect(self) -> Any:
        door = self.factory.buildProtocol(PEER)
        assert door is not None
        door.makeConnection(StringTransport(peerAddress=PEER))
        return door

    def test_opened_and_closed_carry_the_fields(self) -> None:
        with capturedLogs() as events:
            door = self.connect()
            door.dataReceived(b"hi")
            door.connectionLost(Failure(ConnectionDone()))
            self.factory.flush_logs()
        opened, closed = records(events)
        self.assertEqual(opened["text"], "echo tcp 127.0.0.1:40000: connected")
        for record in (opened, closed):
            self.assertEqual(record["service"], "echo")
            self.assertEqual(record["door"], "tcp")
            self.assertEqual(record["peer"], "tcp 127.0.0.1:40000")
            self.assertEqual(record["conn"], door.conn)
        self.assertEqual(closed["bytes_in"], 2)
        self.assertEqual(closed["bytes_out"], 2)
        self.assertEqual(closed["reason"], "Connection was closed cleanly.")
        self.assertNotIn("tls_version", closed)

    def test_connection_ids_differ(self) -> None:
        first, second = self.connect(), EchoFactory("echo", clock=self.clock).buildProtocol(PEER)
        assert second is not None
        self.assertGreater(first.conn, 0)
        self.assertNotEqual(first.conn, second.conn)

    def test_refusal_names_the_limit(self) -> None:
        with capturedLogs() as events:
            self.connect()
            self.assertIsNone(self.factory.buildProtocol(PEER))
            self.factory.flush_logs()
        [refused] = [e for e in events if e.get("batch") == "refusals"]
        self.assertEqual(refused["log_level"], LogLevel.warn)
        [record] = refused["records"]
        self.assertEqual(
            record["text"], "echo refused tcp 127.0.0.1:40000: too many connections from "
            "127.0.0.1 (1 open)",
        )  # fmt: skip
        self.assertEqual((record["limit"], record["limit_value"]), ("max-per-ip", 1))
        self.assertEqual((record["service"], record["door"]), ("echo", "tcp"))
        self.assertIsInstance(record["conn"], int)

    def test_total_cap_is_named_too(self) -> None:
        gate = ConnectionGate(1, 0)
        gate.admit("a")
        self.assertIsNotNone(gate.admit("b"))
        self.assertEqual(gate.refusal_fields(), {"limit": "max-connections", "limit_value": 1})

    def test_door_names(self) -> None:
        self.assertEqual(split_name("chat/irc", "tcp"), ("chat", "irc"))
        self.assertEqual(split_name("echo", "tcp"), ("echo", "tcp"))


class TLSFieldTests(SynchronousTestCase):
    def test_handshake_fills_the_tls_fields(self) -> None:
        files = TLSFiles(Path(self.mktemp()))
        factory = EchoFactory("echo", gate=ConnectionGate(), idle_timeout=0, clock=Clock())
        with capturedLogs() as events:
            pair = connect_door(factory, Protocol(), tls=files)
            client_wire: Any = pair.client_wire
            client_wire.transport.loseConnection()
            pair.pump.flush()
            factory.flush_logs()
        closed = [r for r in records(events) if "closed" in r["text"]][-1]
        self.assertIn(closed["tls_version"], ("TLSv1.2", "TLSv1.3"))
        self.assertTrue(closed["cipher"])
        self.assertIn("alpn", closed)
        self.assertIsNone(closed["client_identity"])

    def test_verified_client_identity(self) -> None:
        files = TLSFiles(Path(self.mktemp()))
        factory = EchoFactory("echo", gate=ConnectionGate(), idle_timeout=0, clock=Clock())
        pair = connect_door(factory, Protocol(), tls=files, client_cert=files.leaf("c", ["alice"]))
        self.assertEqual(pair.server.log_fields["client_identity"], "alice")

    def test_plain_transport_has_none(self) -> None:
        self.assertEqual(tls_fields(StringTransport()), {})

    def test_handshake_failure_is_readable(self) -> None:
        error = SSL.Error([("SSL routines", "", "unsupported protocol")])
        text, fields = close_reason(Failure(error))
        self.assertEqual(text, "TLS handshake failed: unsupported protocol")
        self.assertEqual(fields, {"tls_error": "unsupported protocol"})
        text, _ = close_reason(Failure(error), handshake_done=True)
        self.assertEqual(text, "TLS error: unsupported protocol")

    def test_refused_handshake_is_logged_so(self) -> None:
        """A client that offers only what the server refuses: the closed line says why."""
        files = TLSFiles(Path(self.mktemp()))
        factory = EchoFactory("echo", gate=ConnectionGate(), idle_timeout=0, clock=Clock())
        client = SSL.Context(SSL.TLS_METHOD)
        client.set_max_proto_version(SSL.TLS1_1_VERSION)
        client.set_min_proto_version(SSL.TLS1_VERSION)
        client.set_cipher_list(b"DEFAULT:@SECLEVEL=0")

        class Creator:
            def clientConnectionForTLS(self, tls: Any) -> SSL.Connection:
                conn = SSL.Connection(client, None)
                conn.set_app_data(tls)
                return conn

        from twisted.internet.interfaces import IOpenSSLClientConnectionCreator
        from zope.interface import directlyProvides

        creator: Any = Creator()
        directlyProvides(creator, IOpenSSLClientConnectionCreator)
        with capturedLogs() as events:
            pair = connect_door(factory, Protocol(), tls=files, client_tls=creator)
            pair.pump.flush()
            factory.flush_logs()
        closed = [r for r in records(events) if "closed" in r["text"]]
        self.assertEqual(len(closed), 1, records(events))
        self.assertIn("TLS handshake failed: ", closed[0]["text"])
        self.assertNotIn("SSL routines", closed[0]["text"])
        self.assertTrue(closed[0]["tls_error"])
