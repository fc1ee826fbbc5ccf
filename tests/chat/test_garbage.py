"""
Error amplification: a peer sending garbage gets a few error replies, then silence, then
a disconnect with a reason (and the door's closed log line with it), not one error line
per bad line (1 MiB of random bytes drew about 160 KB back, and the peer stayed).
"""

from __future__ import annotations

import random
from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._flood import ERROR_LIMIT, ERROR_REPLIES, ERROR_WINDOW, ErrorBudget, Verdict
from netsuite.chat._hub import Hub
from netsuite.chat._irc_door import IRCChatFactory
from netsuite.chat._line_door import LineChatFactory

PEER = IPv4Address("TCP", "127.0.0.1", 5000)


def garbage(size: int = 1 << 20, seed: int = 13) -> bytes:
    return random.Random(seed).randbytes(size)


def door(kind: str, **hub: Any) -> tuple[Any, StringTransport, Hub, Clock]:
    clock = Clock()
    h = Hub(clock=clock.seconds, **hub)
    if kind == "line":
        factory: Any = LineChatFactory("chat/line", h, clock=clock)
    else:
        factory = IRCChatFactory("chat/irc", h, clock=clock, ping_interval=0)
    proto = factory.buildProtocol(PEER)
    transport = StringTransport(peerAddress=PEER)
    proto.makeConnection(transport)
    return proto, transport, h, clock


class BudgetTests(SynchronousTestCase):
    def test_replies_then_silence_then_disconnect(self) -> None:
        clock = Clock()
        budget = ErrorBudget(clock.seconds)
        verdicts = [budget.error() for _ in range(ERROR_LIMIT)]
        self.assertEqual(verdicts[:ERROR_REPLIES], [Verdict.REPLY] * ERROR_REPLIES)
        self.assertEqual(set(verdicts[ERROR_REPLIES:-1]), {Verdict.SILENT})
        self.assertEqual(verdicts[-1], Verdict.DISCONNECT)  # the ERROR_LIMIT-th

    def test_window_renews(self) -> None:
        clock = Clock()
        budget = ErrorBudget(clock.seconds)
        for _ in range(ERROR_LIMIT - 1):
            budget.error()
        clock.advance(ERROR_WINDOW)
        self.assertEqual(budget.error(), Verdict.REPLY)


class RandomBytesTests(SynchronousTestCase):
    def feed(self, kind: str, **hub: Any) -> tuple[StringTransport, Hub]:
        proto, t, h, _ = door(kind, **hub)
        t.clear()
        data = garbage()
        for i in range(0, len(data), 65536):  # as reads arrive
            if t.disconnecting:
                break
            proto.dataReceived(data[i : i + 65536])
        return t, h

    def test_line_door(self) -> None:
        t, _ = self.feed("line")
        self.assertLess(len(t.value()), 4096)
        self.assertTrue(t.disconnecting)

    def test_irc_door(self) -> None:
        t, _ = self.feed("irc")
        self.assertLess(len(t.value()), 4096)
        self.assertTrue(t.disconnecting)

    def test_errors_alone_disconnect(self) -> None:
        """With no flood limit in the way, the error budget alone closes, with a reason."""
        logged: list[str] = []
        for kind, line in (("line", b"\xff\xfe\n"), ("irc", b"FROB\r\n")):
            proto, t, h, _ = door(kind, flood_rate=1e6, flood_burst=1e6)
            t.clear()
            proto.dataReceived(line * (ERROR_LIMIT - 1))
            self.assertFalse(t.disconnecting, kind)
            proto.dataReceived(line)
            self.assertTrue(t.disconnecting, kind)
            out = t.value()
            self.assertIn(b"too many errors (50 in 10s)", out)
            self.assertLess(len(out), (ERROR_REPLIES + 2) * 120, kind)
            self.assertEqual(h.counters["disconnected.errors"], 1)
            with capturedLogs() as events:
                proto.connectionLost(Failure(ConnectionDone()))
                proto.factory.flush_logs()
            logged += [repr(e) for e in events if "too many errors" in repr(e)]
        self.assertEqual(len(logged), 2, logged)  # each door's closed line, with the reason
