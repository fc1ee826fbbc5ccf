"""The chat doors' log events carry the connection's fields (netsuite.base._logfields)."""

from __future__ import annotations

from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import capturedLogs
from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat import Hub
from netsuite.chat._irc_door import IRCChatFactory
from netsuite.chat._line_door import LineChatFactory


class ChatFieldTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = MemoryReactorClock()
        self.hub = Hub(clock=self.clock.seconds)

    def connect(self, factory: Any, port: int) -> tuple[Any, StringTransport]:
        addr = IPv4Address("TCP", "127.0.0.1", port)
        proto = factory.buildProtocol(addr)
        transport = StringTransport(peerAddress=addr)
        proto.makeConnection(transport)
        return proto, transport

    def test_line_and_irc_doors_are_named(self) -> None:
        line = LineChatFactory("chat/line", self.hub, clock=self.clock)
        irc = IRCChatFactory("chat/irc", self.hub, clock=self.clock, ping_interval=0)
        with capturedLogs() as events:
            a, _ = self.connect(line, 5000)
            b, _ = self.connect(irc, 5001)
            line.flush_logs()
            irc.flush_logs()
        found = {(r["service"], r["door"], r["conn"]) for e in events for r in e["records"]}
        self.assertEqual(found, {("chat", "line", a.conn), ("chat", "irc", b.conn)})

    def test_slow_reader_names_the_send_queue(self) -> None:
        line = LineChatFactory("chat/line", self.hub, clock=self.clock, send_queue=100)
        slow, _ = self.connect(line, 5000)
        fast, _ = self.connect(line, 5001)
        slow.outbox.pauseProducing()
        with capturedLogs() as events:
            for i in range(20):
                fast.dataReceived(f"message {i}\n".encode())
        [cut] = [e for e in events if "disconnecting" in e.get("log_format", "")]
        self.assertEqual((cut["limit"], cut["limit_value"]), ("send-queue", 100))
        self.assertEqual((cut["service"], cut["door"], cut["conn"]), ("chat", "line", slow.conn))
        self.assertEqual(cut["peer"], "tcp 127.0.0.1:5000")
