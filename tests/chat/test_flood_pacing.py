"""
Flood control that throttles before it drops (IRC servers' "fake lag"): lines over the
rate wait in a bounded queue and run at the rate, the member is told once, and only a
full queue disconnects. Pasting 40 lines at once is not a kick. Driven by a Clock.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._events import Said
from netsuite.chat._flood import FLOOD_QUEUE, InputPacer, Pace
from netsuite.chat._hub import Hub
from netsuite.chat._irc_door import IRCChatFactory
from netsuite.chat._line_door import LineChatFactory
from netsuite.testing import RecordingMember

PEER = IPv4Address("TCP", "127.0.0.1", 5000)


class PacerTests(SynchronousTestCase):
    def test_burst_then_queue_then_overflow(self) -> None:
        clock = Clock()
        pacer = InputPacer(rate=2, burst=3, queue_max=4, clock=clock.seconds)
        paces = [pacer.push(b"x%d" % i) for i in range(8)]
        run, started, queued, over = Pace.RUN, Pace.STARTED, Pace.QUEUED, Pace.OVERFLOW
        self.assertEqual(paces, [run] * 3 + [started] + [queued] * 3 + [over])
        self.assertEqual(list(pacer.due()), [])
        self.assertAlmostEqual(pacer.wait() or 0, 0.5, places=6)
        clock.advance(0.5)
        self.assertEqual(list(pacer.due()), [b"x3"])
        clock.advance(1.5)
        self.assertEqual(list(pacer.due()), [b"x4", b"x5", b"x6"])
        self.assertIsNone(pacer.wait())
        clock.advance(10)
        self.assertEqual(pacer.push(b"y"), Pace.RUN)  # caught up: no longer throttled


class Doors:
    def __init__(self, **hub: Any) -> None:
        self.clock = Clock()
        self.hub = Hub(clock=self.clock.seconds, **hub)
        self.watcher = RecordingMember()
        self.hub.connect(self.watcher, "watcher")
        self.hub.join(self.watcher, "#lobby")
        self.line = LineChatFactory("chat/line", self.hub, clock=self.clock)
        self.irc = IRCChatFactory("chat/irc", self.hub, clock=self.clock, ping_interval=0)

    def connect(self, factory: Any) -> tuple[Any, StringTransport]:
        proto = factory.buildProtocol(PEER)
        transport = StringTransport(peerAddress=PEER)
        proto.makeConnection(transport)
        return proto, transport

    def said(self) -> list[str]:
        return [s.text for s in self.watcher.of(Said)]


class PasteTests(SynchronousTestCase):
    def test_line_door_paste_of_40_lines(self) -> None:
        """Defaults (5/s, burst 20): 20 at once, the other 20 over 4 s; no kick, in order."""
        d = Doors()
        proto, t = d.connect(d.line)
        paste = [f"line {i}" for i in range(40)]
        proto.dataReceived("".join(p + "\n" for p in paste).encode())
        self.assertEqual(d.said(), paste[:20])
        self.assertEqual(t.value().count(b"slow down: your lines are queued"), 1)
        d.clock.advance(2)
        self.assertEqual(d.said(), paste[:30])
        d.clock.advance(2)
        self.assertEqual(d.said(), paste)
        self.assertFalse(t.disconnecting)
        timers = [c for c in d.clock.getDelayedCalls() if "_release" in repr(c)]
        self.assertEqual(timers, [])  # the pacing timer is done

    def test_irc_door_paste_of_40_lines(self) -> None:
        d = Doors()
        proto, t = d.connect(d.irc)
        proto.dataReceived(b"NICK alice\r\nUSER a 0 * :Alice\r\nJOIN #lobby\r\n")
        d.clock.advance(10)  # registration's tokens back
        t.clear()
        paste = [f"line {i}" for i in range(40)]
        proto.dataReceived("".join(f"PRIVMSG #lobby :{p}\r\n" for p in paste).encode())
        self.assertEqual(d.said(), paste[:20])
        self.assertIn(b"NOTICE alice :slow down: your lines are queued", t.value())
        d.clock.advance(4)
        self.assertEqual(d.said(), paste)
        self.assertFalse(t.disconnecting)
        self.assertNotIn(b"ERROR", t.value())

    def test_queue_full_at_n_plus_one(self) -> None:
        """burst + FLOOD_QUEUE lines at once are kept; one more closes (Excess Flood)."""
        for extra, closed in ((0, False), (1, True)):
            d = Doors()
            proto, t = d.connect(d.line)
            proto.dataReceived(b"x\n" * (20 + FLOOD_QUEUE + extra))
            self.assertEqual(t.disconnecting, closed, extra)
            if closed:
                self.assertIn(b"-!- closing: flooding (100 lines queued)", t.value())
                self.assertEqual(d.hub.counters["disconnected.flood"], 1)

    def test_queue_option(self) -> None:
        d = Doors(flood_queue=2)
        proto, t = d.connect(d.line)
        proto.dataReceived(b"x\n" * 23)
        self.assertTrue(t.disconnecting)
