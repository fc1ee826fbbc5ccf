"""
One message-size limit, the one C{--max-line} says: a line of exactly that many bytes
is said on the line door and on the IRC door, one byte more is refused as overlong
(by the splitter, with the limit in the reply), never by a second, hidden cap.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat import tap
from netsuite.chat._events import Said
from netsuite.testing import RecordingMember

PEER = IPv4Address("TCP", "127.0.0.1", 5000)


def service(max_line: int | None = None) -> Any:
    options = tap.Options()
    options.reactor = MemoryReactorClock()
    options.parseOptions([] if max_line is None else ["--max-line", str(max_line)])
    return tap.makeService(options)


def connect(factory: Any) -> tuple[Any, StringTransport]:
    proto = factory.buildProtocol(PEER)
    transport = StringTransport(peerAddress=PEER)
    proto.makeConnection(transport)
    return proto, transport


class OneLimitTests(SynchronousTestCase):
    def watch(self, top: Any) -> RecordingMember:
        watcher = RecordingMember()
        top.hub.connect(watcher, "watcher")
        top.hub.join(watcher, "#lobby")
        return watcher

    def check_line_door(self, max_line: int) -> None:
        top = service(None if max_line == 4096 else max_line)
        watcher = self.watch(top)
        proto, t = connect(top.factories[0])
        t.clear()
        proto.dataReceived(b"a" * max_line + b"\r\n")  # exactly the limit: said
        self.assertEqual([s.text for s in watcher.of(Said)], ["a" * max_line])
        self.assertNotIn(b"longer than", t.value())
        t.clear()
        proto.dataReceived(b"b" * (max_line + 1) + b"\n")  # one more: overlong
        self.assertEqual(len(watcher.of(Said)), 1)
        limit = f"({max_line + 1} bytes, limit {max_line})".encode()
        self.assertIn(limit, t.value())

    def test_line_door_default_4096(self) -> None:
        self.check_line_door(4096)

    def test_line_door_option(self) -> None:
        self.check_line_door(9000)

    def check_irc_door(self, max_line: int) -> None:
        top = service(None if max_line == 4096 else max_line)
        watcher = self.watch(top)
        proto, t = connect(top.factories[1])
        proto.dataReceived(b"NICK alice\r\nUSER a 0 * :Alice\r\nJOIN #lobby\r\n")
        t.clear()
        head = b"PRIVMSG #lobby :"
        body = max_line - len(head)
        proto.dataReceived(head + b"a" * body + b"\r\n")  # exactly the limit: said
        self.assertEqual([s.text for s in watcher.of(Said)], ["a" * body])
        self.assertEqual(t.value(), b"")
        proto.dataReceived(head + b"b" * (body + 1) + b"\r\n")  # one more: 417
        self.assertEqual(len(watcher.of(Said)), 1)
        self.assertIn(b" 417 alice :Input line was too long", t.value())

    def test_irc_door_default_4096(self) -> None:
        self.check_irc_door(4096)

    def test_irc_door_follows_max_line(self) -> None:
        """--max-line is the IRC door's too (it was fixed at 4096)."""
        self.check_irc_door(600)
        self.check_irc_door(9000)

    def test_hub_text_max_is_max_line(self) -> None:
        self.assertEqual(service(9000).hub.text_max, 9000)
        self.assertEqual(service().hub.text_max, 4096)
