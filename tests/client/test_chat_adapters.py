"""
The Twisted half of C{netsuite chat}: L{ChatController} between a stdio transport and the
real line door (L{netsuite.chat._line_door}) over L{iosim}, with a L{Clock} for the
reconnect and hang-up timers. No sockets.
"""

from __future__ import annotations

from typing import Any

from OpenSSL import SSL
from twisted.internet import error as net_error
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._hub import Hub
from netsuite.chat._line_door import LineChatFactory
from netsuite.client._chat import ChatController
from netsuite.client._chat_screen import PlainScreen, TerminalScreen
from netsuite.client._chat_session import QUIT_TIMEOUT, ChatClient
from netsuite.client._lineedit import ERASE_LINE


class StdioTransport(StringTransport):
    """StandardIO as the controller sees it: writes, and a close that reports back."""

    def __init__(self) -> None:
        super().__init__()
        self.protocol: Any = None

    def loseConnection(self) -> None:
        super().loseConnection()
        self.protocol.connectionLost(Failure(net_error.ConnectionDone()))


class Harness:
    """A chat server (hub and line door) and a controller wired to it through iosim."""

    def __init__(
        self,
        client: ChatClient,
        screen: Any = None,
        refuse: int = 0,
        connect_error: BaseException | None = None,
    ) -> None:
        self.clock = Clock()
        self.hub = Hub(clock=self.clock.seconds)
        self.factory = LineChatFactory("chat/line", self.hub, clock=self.clock)
        self.statuses: list[str] = []
        self.attempts = 0
        self.refuse = refuse
        self.connect_error = connect_error
        self.pumps: list[iosim.IOPump] = []
        self.servers: list[Any] = []
        self.controller = ChatController(
            client,
            self.clock,
            self.connect,
            screen or PlainScreen(self.statuses.append),
            "127.0.0.1",
            5000,
        )
        self.stdio = StdioTransport()
        self.stdio.protocol = self.controller.stdio_protocol()
        self.stdio.protocol.makeConnection(self.stdio)
        self.controller.start()
        self.flush()

    def connect(self, protocol: Protocol) -> Deferred[Any]:
        self.attempts += 1
        if self.connect_error is not None:
            return fail(self.connect_error)
        if self.refuse:
            self.refuse -= 1
            return fail(net_error.ConnectionRefusedError())
        addr = IPv4Address("TCP", "127.0.0.1", 40000 + self.attempts)
        server = self.factory.buildProtocol(addr)
        self.servers.append(server)
        pump = iosim.connect(
            server,
            iosim.makeFakeServer(server),
            protocol,
            iosim.makeFakeClient(protocol),
            greet=False,
        )
        self.pumps.append(pump)
        return succeed(protocol)

    def flush(self) -> None:
        for pump in self.pumps:
            pump.flush()

    def type(self, data: bytes) -> None:
        self.stdio.protocol.dataReceived(data)
        self.flush()

    def output(self) -> str:
        return self.stdio.value().decode()

    @property
    def finished(self) -> Deferred[int]:
        return self.controller.finished


class PlainTests(SynchronousTestCase):
    def test_talk_nick_rooms_quit(self) -> None:
        h = Harness(ChatClient(nick="alice"))
        h.type(b"hello\n/join #rust\nin rust\n")
        out = h.output()
        self.assertIn("-!- welcome to netsuite chat, guest1.", out)
        self.assertIn("-- guest1 is now known as alice\n", out)
        self.assertIn("[#lobby] <alice> hello\n", out)
        self.assertIn("[#rust] <alice> in rust\n", out)
        self.assertEqual(list(h.controller.client.rooms), ["#lobby", "#rust"])
        self.assertNoResult(h.finished)
        h.type(b"/quit bye\n")
        self.assertEqual(self.successResultOf(h.finished), 0)
        self.assertIn("-!- closing: bye", h.output())
        self.assertEqual((h.controller.messages, h.statuses), ([], []))
        h.factory.flush_logs()  # the server's log batch timer is not the client's
        self.assertEqual(h.clock.getDelayedCalls(), [])

    def test_end_of_input_with_a_last_line_without_newline(self) -> None:
        h = Harness(ChatClient())
        h.stdio.protocol.dataReceived(b"one\ntwo")
        h.stdio.protocol.readConnectionLost()
        h.flush()
        self.assertIn("<guest1> one\n", h.output())
        self.assertIn("<guest1> two\n", h.output())
        self.assertEqual(self.successResultOf(h.finished), 0)

    def test_lost_connection_exits_1(self) -> None:
        h = Harness(ChatClient())
        h.servers[0].transport.loseConnection()
        h.flush()
        self.assertEqual(self.successResultOf(h.finished), 1)
        self.assertEqual(h.controller.messages, ["connection closed by the server"])

    def test_refused(self) -> None:
        h = Harness(ChatClient(), refuse=1)
        self.assertEqual(self.successResultOf(h.finished), 1)
        self.assertEqual(
            h.controller.messages, ["cannot connect to 127.0.0.1:5000: connection refused"]
        )

    def test_tls_failure_is_final_even_with_reconnect(self) -> None:
        error = SSL.Error([("SSL routines", "", "certificate verify failed")])
        h = Harness(ChatClient(reconnect=True), connect_error=error)
        self.assertEqual(self.successResultOf(h.finished), 1)
        self.assertEqual(h.attempts, 1)
        self.assertIn("TLS verification failed for 127.0.0.1", h.controller.messages[0])

    def test_tls_failure_after_connecting(self) -> None:
        """
        Over TLS the connection is made first; a failed verification then loses it,
        before a byte came: reported as TLS, never retried.
        """
        clock = Clock()
        sides: list[Protocol] = []

        def connect(protocol: Protocol) -> Deferred[Any]:
            sides.append(protocol)
            protocol.makeConnection(StringTransport())
            return succeed(protocol)

        controller = ChatController(
            ChatClient(reconnect=True), clock, connect, PlainScreen(), "localhost", 7
        )
        stdio = StdioTransport()
        stdio.protocol = controller.stdio_protocol()
        stdio.protocol.makeConnection(stdio)
        controller.start()
        sides[0].connectionLost(
            Failure(SSL.Error([("SSL routines", "", "certificate verify failed")]))
        )
        self.assertEqual(self.successResultOf(controller.finished), 1)
        self.assertEqual(len(sides), 1)
        self.assertTrue(
            controller.messages[0].startswith("TLS verification failed for localhost: "),
            controller.messages,
        )

    def test_quit_timeout(self) -> None:
        """A server that does not close after /quit is hung up on."""
        h = Harness(ChatClient())
        h.servers[0].dataReceived = lambda data: None  # deaf from now on
        h.type(b"/quit\n")
        self.assertNoResult(h.finished)
        h.clock.advance(QUIT_TIMEOUT)
        h.flush()
        self.assertEqual(self.successResultOf(h.finished), 0)

    def test_stdout_gone(self) -> None:
        h = Harness(ChatClient())
        h.stdio.protocol.writeConnectionLost()
        h.flush()
        self.assertEqual(self.successResultOf(h.finished), 0)


class ReconnectTests(SynchronousTestCase):
    def test_backoff_nick_and_rooms(self) -> None:
        h = Harness(ChatClient(nick="alice", reconnect=True))
        h.type(b"/join #rust\n/part #lobby\n")
        self.assertEqual(list(h.controller.client.rooms), ["#rust"])
        h.refuse = 2
        h.servers[0].transport.loseConnection()
        h.flush()
        self.assertEqual(h.statuses, ["connection closed by the server; reconnecting in 1s"])
        h.type(b"lost words\n")
        self.assertEqual(h.statuses[-1], "not connected: line not sent")
        h.clock.advance(1)
        h.clock.advance(2)
        self.assertEqual(
            h.statuses[-2:],
            [
                "cannot connect to 127.0.0.1:5000: connection refused; retrying in 2s",
                "cannot connect to 127.0.0.1:5000: connection refused; retrying in 4s",
            ],
        )
        h.clock.advance(3.9)
        self.assertEqual(h.attempts, 3)
        h.clock.advance(0.1)
        self.assertEqual(h.attempts, 4)
        h.flush()
        second = h.servers[-1].session
        self.assertEqual(second.nick, "alice")
        self.assertEqual(h.hub.rooms_of(second), ["#rust"])
        self.assertEqual(second.room, "#rust")
        h.type(b"back\n")
        self.assertIn("[#rust] <alice> back\n", h.output())
        h.type(b"/quit\n")
        self.assertEqual(self.successResultOf(h.finished), 0)
        h.factory.flush_logs()  # the server's log batch timer is not the client's
        self.assertEqual(h.clock.getDelayedCalls(), [])

    def test_quit_while_waiting(self) -> None:
        h = Harness(ChatClient(reconnect=True))
        h.servers[0].transport.loseConnection()
        h.flush()
        h.type(b"/quit\n")
        self.assertEqual(self.successResultOf(h.finished), 0)
        h.factory.flush_logs()  # the server's log batch timer is not the client's
        self.assertEqual(h.clock.getDelayedCalls(), [])


class TerminalTests(SynchronousTestCase):
    def test_incoming_lines_keep_the_typed_line(self) -> None:
        h = Harness(ChatClient(nick="alice"), screen=TerminalScreen())
        self.assertTrue(h.output().endswith("is now known as alice\n#lobby> "), h.output())
        h.type(b"half")
        self.assertTrue(h.output().endswith("#lobby> half"))
        bob = h.factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
        bob.makeConnection(StringTransport())
        bob.dataReceived(b"hi alice\n")
        h.flush()
        self.assertTrue(
            h.output().endswith(ERASE_LINE + "[#lobby] <guest2> hi alice\n#lobby> half"),
            h.output()[-200:],
        )
        h.type(b" done\r")
        self.assertIn("[#lobby] <alice> half done\n", h.output())
        h.type(b"/join #rust\n")
        self.assertTrue(h.output().endswith(ERASE_LINE + "#rust> "), h.output()[-100:])
        h.servers[0].transport.loseConnection()
        h.flush()
        self.assertEqual(self.successResultOf(h.finished), 1)
        self.assertTrue(h.output().endswith(ERASE_LINE))  # the prompt is gone at the end
        self.assertEqual(h.controller.messages, ["connection closed by the server"])

    def test_status_above_the_prompt(self) -> None:
        h = Harness(ChatClient(reconnect=True), screen=TerminalScreen())
        h.servers[0].transport.loseConnection()
        h.flush()
        self.assertIn(
            ERASE_LINE + "netsuite chat: connection closed by the server; reconnecting in 1s\n> ",
            h.output(),
        )

    def test_ctrl_d(self) -> None:
        h = Harness(ChatClient(), screen=TerminalScreen())
        h.type(b"\x04")
        self.assertEqual(self.successResultOf(h.finished), 0)
