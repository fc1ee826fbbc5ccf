"""
The chat doors' drain: the hub's notice to every member, the IRC door's ERROR, output
flushed, the close; no quit storm (members leaving at shutdown are not told of each
other); ChatService begins its drain only once its ports are closed.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat import tap
from netsuite.chat._hub import Hub
from netsuite.chat._irc_door import IRCChatFactory
from netsuite.chat._line_door import LineChatFactory

PEER = IPv4Address("TCP", "127.0.0.1", 5000)


def connect(factory: object) -> tuple[object, StringTransport]:
    proto = factory.buildProtocol(PEER)  # type: ignore[attr-defined]
    transport = StringTransport(peerAddress=PEER)
    proto.makeConnection(transport)
    return proto, transport


class ChatDrainTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.hub = Hub(clock=self.clock.seconds)
        self.line = LineChatFactory("chat/line", self.hub, clock=self.clock)
        self.irc = IRCChatFactory("chat/irc", self.hub, clock=self.clock, ping_interval=0)

    def test_irc_error_then_close(self) -> None:
        proto, t = connect(self.irc)
        proto.dataReceived(b"NICK alice\r\nUSER a 0 * :Alice\r\n")  # type: ignore[attr-defined]
        self.hub.announce("server shutting down")
        done = self.irc.drain(10)
        out = t.value()
        self.assertIn(b"NOTICE alice :server shutting down", out)
        self.assertTrue(out.endswith(b"ERROR :Closing Link: alice (server shutting down)\r\n"))
        self.assertTrue(t.disconnecting)
        proto.connectionLost(Failure(ConnectionDone()))  # type: ignore[attr-defined]
        self.successResultOf(done)

    def test_no_quit_storm(self) -> None:
        doors = [connect(self.line) for _ in range(5)]
        self.hub.announce("server shutting down")
        before = [len(t.value()) for _, t in doors]
        self.line.drain(10)
        after = [len(t.value()) for _, t in doors]
        self.assertEqual(before, after)  # nobody was told of the others leaving
        for _, t in doors:
            self.assertIn(b"-!- server shutting down", t.value())
            self.assertNotIn(b"quit", t.value())

    def test_aborted_at_drain_timeout(self) -> None:
        _, t = connect(self.line)
        done = self.line.drain(4)
        self.clock.advance(3.9)
        self.assertFalse(t.disconnected)
        self.assertNoResult(done)
        self.clock.advance(0.1)
        self.assertTrue(t.disconnected)  # StringTransport's abortConnection


class ChatServiceTests(SynchronousTestCase):
    def test_notice_after_ports_close(self) -> None:
        options = tap.Options()
        options.reactor = MemoryReactorClock()
        options.parseOptions(["--drain-timeout", "2"])
        service = tap.makeService(options)
        service.install_signal = lambda *a: None
        service.privilegedStartService()
        service.startService()
        proto, t = connect(service.factories[0])
        stopped = service.stopService()  # the memory reactor's ports close at once
        self.assertIn(b"-!- server shutting down", t.value())
        self.assertTrue(t.disconnecting)
        self.assertEqual(service.drain_timeout, 2.0)
        proto.connectionLost(Failure(ConnectionDone()))  # type: ignore[attr-defined]
        self.successResultOf(stopped)
