"""Each tool of netsuite.testing, used once the way docs/testing.md shows."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from treq.testing import RequestTraversalAgent, StubTreq
from twisted.internet.interfaces import IHandshakeListener
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.test.iosim import FakeTransport
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource
from twisted.web.static import Data
from zope.interface import implementer

from netsuite.chat import ChatError
from netsuite.chat._events import Joined, Said
from netsuite.echo import EchoFactory
from netsuite.testing import (
    RecordingMember,
    TLSFiles,
    connect_door,
    hub_on_clock,
    memory_site,
    web_client,
)
from netsuite.testing._web import _serve_from
from netsuite.tls import peer_identity
from netsuite.web import WebConfig


class Collector(Protocol):
    """A client that keeps what it receives."""

    def __init__(self) -> None:
        self.received = b""

    def dataReceived(self, data: bytes) -> None:
        self.received += data


@implementer(IHandshakeListener)
class Identity(Protocol):
    """A door that answers with the verified identity of its peer's certificate."""

    def handshakeCompleted(self) -> None:
        cert = self.transport.getPeerCertificate()  # type: ignore[union-attr]
        self.transport.write(f"{peer_identity(cert)}\n".encode())  # type: ignore[union-attr]


class DoorPairTests(SynchronousTestCase):
    def echo(self, clock: Clock, idle: float = 0) -> EchoFactory:
        return EchoFactory("echo", idle_timeout=idle, clock=clock)

    def test_plain_echo(self) -> None:
        clock = Clock()
        pair = connect_door(self.echo(clock, idle=30), Collector(), clock)
        self.assertIs(pair.clock, clock)
        self.assertIs(pair.server_wire, pair.server)
        pair.client.transport.write(b"hello")
        pair.pump.flush()
        self.assertEqual(pair.client.received, b"hello")
        self.assertEqual(pair.server.transport.getPeer().host, "127.0.0.1")
        clock.advance(30)
        pair.pump.flush()
        self.assertTrue(pair.server_io.disconnected)

    def test_tls_echo_sees_the_server_certificate(self) -> None:
        files = TLSFiles(Path(self.mktemp()))
        pair = connect_door(self.echo(Clock()), Collector(), tls=files)
        pair.client.transport.write(b"secret")
        pair.pump.flush()
        self.assertEqual(pair.client.received, b"secret")
        self.assertEqual(
            pair.client.transport.getPeerCertificate().to_cryptography().subject.rfc4514_string(),
            "CN=localhost",
        )
        self.assertIsNot(pair.server_wire, pair.server)
        self.assertTrue(pair.server_wire._handshakeDone)

    def test_tls_server_sees_the_client_certificate(self) -> None:
        files = TLSFiles(Path(self.mktemp()))
        client_cert = files.leaf("alice", ["alice"])
        pair = connect_door(
            Factory.forProtocol(Identity), Collector(), tls=files, client_cert=client_cert
        )
        self.assertEqual(pair.client.received, b"alice\n")

    def test_tls_handshake_deadline(self) -> None:
        """The server side keeps nstls:'s handshake deadline, on the pair's clock."""
        files = TLSFiles(Path(self.mktemp()))
        pair = connect_door(
            self.echo(Clock()), Collector(), tls=files, handshake_timeout=5, flush=False
        )
        pair.clock.advance(5)
        pair.pump.flush()
        self.assertTrue(pair.server_io.disconnected)

    def test_recording_transport(self) -> None:
        class Writes(FakeTransport):
            sizes: list[int]

            def write(self, data: bytes) -> None:
                self.__dict__.setdefault("sizes", []).append(len(data))
                super().write(data)

        pair = connect_door(self.echo(Clock()), Collector(), server_transport=Writes)
        pair.client.transport.write(b"abc")
        pair.pump.flush()
        self.assertEqual(pair.server_io.sizes, [3])  # type: ignore[attr-defined]

    def test_tls_needs_both_sides(self) -> None:
        with self.assertRaises(ValueError):
            connect_door(self.echo(Clock()), Collector(), client_tls=object())

    def test_refused(self) -> None:
        class Refuse(Factory):
            def buildProtocol(self, addr: Any) -> None:
                return None

        with self.assertRaises(ValueError):
            connect_door(Refuse(), Collector())


class HubTests(SynchronousTestCase):
    def test_recording_member_sees_a_room_message(self) -> None:
        hub, clock = hub_on_clock()
        alice, bot = RecordingMember(), RecordingMember()
        hub.connect(alice, "alice")
        hub.connect(bot, "bot")
        hub.join(bot, "#lobby")
        hub.join(alice, "#lobby")
        hub.say(alice, "#lobby", "hello bot")
        self.assertEqual([e.nick for e in bot.of(Joined)], ["bot", "alice"])
        [said] = bot.of(Said)
        self.assertEqual(
            (said.sender, said.room, said.text, said.when),
            ("alice", "#lobby", "hello bot", 1000.0),
        )
        clock.advance(60)
        self.assertEqual(hub.say(alice, "#lobby", "later").when, 1060.0)

    def test_dropped(self) -> None:
        hub, clock = hub_on_clock(0, flood_rate=1, flood_burst=1, flood_kick=2)
        self.assertEqual(clock.seconds(), 0)
        alice = RecordingMember()
        hub.connect(alice, "alice")
        hub.join(alice, "#r")
        self.assertIsNone(alice.dropped)
        for _ in range(4):
            with contextlib.suppress(ChatError):  # slow down, then cut off
                hub.say(alice, "#r", "x")
        self.assertIsNotNone(alice.dropped)


class WebTests(SynchronousTestCase):
    def test_health(self) -> None:
        client = web_client(memory_site())
        response = self.successResultOf(client.get("http://example/api/health"))
        self.assertEqual(response.code, 200)
        self.assertEqual(self.successResultOf(response.json())["status"], "ok")
        # The netsuite site answered, not a plain Site around its resources.
        self.assertEqual(response.headers.getRawHeaders("server"), ["netsuite"])

    def test_files_and_config(self) -> None:
        site = memory_site({"a/b.txt": b"bee"}, config=WebConfig(listings=False))
        self.assertFalse(site.config.listings)
        client = web_client(site)
        response = self.successResultOf(client.get("http://example/a/b.txt"))
        self.assertEqual(self.successResultOf(response.content()), b"bee")
        listing = self.successResultOf(client.get("http://example/a/"))
        self.assertEqual(listing.code, 404)

    def test_bare_resource(self) -> None:
        root = Resource()
        root.putChild(b"x", Data(b"why", "text/plain"))
        response = self.successResultOf(web_client(root).get("http://example/x"))
        self.assertEqual(self.successResultOf(response.content()), b"why")

    def test_treq_private_attribute(self) -> None:
        """The one private name of treq the kit sets (netsuite.testing._web's fence)."""
        self.assertIsInstance(StubTreq(Resource())._agent, RequestTraversalAgent)
        self.assertTrue(hasattr(RequestTraversalAgent(Resource()), "_serverFactory"))
        client = StubTreq(Resource())
        del client._agent._serverFactory
        with self.assertRaises(RuntimeError):
            _serve_from(client, memory_site())
