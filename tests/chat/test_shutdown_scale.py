"""
Shutdown costs the same per member whatever the room's size: members leaving at a drain
are removed from the hub without a quit to the others (a quit to each of the others
costs the square of the room: 10,000 members, 50 million lines). The line and IRC doors
(L{ChatDoor.going_away}) and the WebSocket door (L{ChatSocketFactory.drain}) alike.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._events import Quit
from netsuite.chat._hub import Hub
from netsuite.chat._line_door import LineChatFactory
from netsuite.limits._policy import ConnectionGate
from netsuite.testing import RecordingMember
from netsuite.web._chatws import ChatSocketFactory
from netsuite.web._chatws_session import WebChatSession

PEER = IPv4Address("TCP", "127.0.0.1", 5000)
MEMBERS = 2000


class LineDoorShutdownTests(SynchronousTestCase):
    def test_drain_writes_constant_bytes_per_member(self) -> None:
        clock = Clock()
        hub = Hub(clock=clock.seconds, quiet_above=0)  # every quit would reach everyone
        factory = LineChatFactory("chat/line", hub, clock=clock, gate=ConnectionGate(0, 0))
        watcher = RecordingMember()
        hub.connect(watcher, "watcher")
        hub.join(watcher, "#lobby")
        doors = []
        for _ in range(MEMBERS):
            proto = factory.buildProtocol(PEER)
            transport = StringTransport(peerAddress=PEER)
            proto.makeConnection(transport)
            doors.append((proto, transport))
        sent_before = sum(len(t.value()) for _, t in doors)
        factory.drain(10)
        for proto, _ in doors:
            proto.connectionLost(Failure(ConnectionDone()))
        sent = sum(len(t.value()) for _, t in doors) - sent_before
        self.assertLess(sent, MEMBERS * 100)  # the shutdown notice and the close, each
        self.assertEqual(watcher.of(Quit), [])
        self.assertEqual(hub.members(), [watcher])  # the nicks are freed


class FakeSocket:
    def __init__(self, hub: Hub, sent: list[str]) -> None:
        self.closes: list[tuple[int, str]] = []
        self.session = WebChatSession(hub, sent.append, lambda c, r: self.closes.append((c, r)))
        self.session.start()

    def close(self, code: int, reason: str) -> None:
        self.closes.append((code, reason))


class WebDoorShutdownTests(SynchronousTestCase):
    def test_drain_sends_no_quits(self) -> None:
        clock = Clock()
        hub = Hub(clock=clock.seconds, quiet_above=0)
        factory = ChatSocketFactory(hub, clock=clock)
        sent: list[str] = []
        socks: list[Any] = [FakeSocket(hub, sent) for _ in range(MEMBERS // 4)]
        factory.open.update(socks)
        del sent[:]
        factory.drain(5)
        self.assertEqual([m for m in sent if '"quit"' in m], [])
        self.assertEqual(hub.members(), [])
        self.assertEqual(socks[0].closes[0], (1001, "server shutting down"))
