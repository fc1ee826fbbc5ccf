"""
A drain's connection lines leave in batches, even after the ports stopped.

At shutdown the ports stop first (the factory's C{stopFactory} makes later lines leave
at once, so that none waits on a timer the reactor will not run), then the drain closes
every connection. One log event per closed line there made 10,000 chat members'
shutdown 10,000 events, half of its 1.4 s (the heavy tier's bound is 2 s); now the
drain batches them and flushes when it ends.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from netsuite.base._logbatch import LIMIT, LogBatch
from netsuite.chat._hub import Hub
from netsuite.chat._line_door import LineChatFactory
from netsuite.limits._policy import ConnectionGate

PEER = IPv4Address("TCP", "127.0.0.1", 5000)
MEMBERS = 1000


class DrainLogTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.events: list[dict[str, Any]] = []
        self.factory = LineChatFactory(
            "chat/line", Hub(clock=self.clock.seconds), clock=self.clock,
            gate=ConnectionGate(0, 0),
        )  # fmt: skip
        self.factory.connection_log = LogBatch(
            Logger(observer=self.events.append), self.clock, "connections"
        )
        self.factory.doStart()  # as a listening port does
        self.doors = []
        for _ in range(MEMBERS):
            door = self.factory.buildProtocol(PEER)
            assert door is not None
            door.makeConnection(StringTransport(peerAddress=PEER))
            self.doors.append(door)
        self.factory.connection_log.flush()
        del self.events[:]

    def closed_lines(self) -> list[str]:
        lines = [line for e in self.events for line in e["connections"].split("\n")]
        return [line for line in lines if ": closed (" in line]

    def test_closes_after_the_ports_stopped_are_batched(self) -> None:
        self.factory.doStop()  # the last port stopped: lines would leave one by one
        done = self.factory.drain(10)
        for door in self.doors:
            door.connectionLost(Failure(ConnectionDone()))
        self.assertIsNone(self.successResultOf(done))
        self.assertEqual(len(self.closed_lines()), MEMBERS)
        self.assertLessEqual(len(self.events), MEMBERS // LIMIT + 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])  # no batch timer left behind

    def test_after_the_drain_lines_leave_at_once_again(self) -> None:
        self.factory.doStop()
        for door in self.doors[1:]:
            door.connectionLost(Failure(ConnectionDone()))
        del self.events[:]
        last = self.doors[0]
        done = self.factory.drain(10)
        last.connectionLost(Failure(ConnectionDone()))
        self.successResultOf(done)
        self.assertEqual(len(self.events), 1)
        self.assertTrue(self.factory.connection_log.closed)

    def test_a_drain_while_listening_keeps_batching(self) -> None:
        done = self.factory.drain(10)
        for door in self.doors:
            door.connectionLost(Failure(ConnectionDone()))
        self.successResultOf(done)
        self.assertEqual(len(self.closed_lines()), MEMBERS)
        self.assertFalse(self.factory.connection_log.closed)
