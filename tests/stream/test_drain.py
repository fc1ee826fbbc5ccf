"""
DoorFactory.drain on a Clock: every door is told it is going away and finishes (queued
output first), what is still open at drain_timeout is aborted (not a moment before), and
abort() ends it at once. The echo door is the door under test.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from netsuite.echo._protocol import EchoFactory
from netsuite.stream._door import SHUTDOWN_REASON, StreamDoor


class AbortableTransport(StringTransport):
    aborted = False

    def abortConnection(self) -> None:
        self.aborted = True
        super().loseConnection()


class DrainTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.factory = EchoFactory("echo", clock=self.clock)
        self.factory.startFactory()

    def connect(self, port: int = 5000) -> tuple[StreamDoor, AbortableTransport]:
        addr = IPv4Address("TCP", "127.0.0.1", port)
        door = self.factory.buildProtocol(addr)
        assert door is not None
        transport = AbortableTransport(peerAddress=addr)
        door.makeConnection(transport)
        return door, transport

    def lose(self, door: StreamDoor) -> None:
        door.connectionLost(Failure(ConnectionDone()))

    def test_nothing_open_fires_at_once(self) -> None:
        self.successResultOf(self.factory.drain(10))
        self.assertTrue(self.factory.draining)

    def test_finish_then_fire_when_closed(self) -> None:
        a, at = self.connect()
        b, bt = self.connect(5001)
        a.dataReceived(b"owed")
        done = self.factory.drain(10)
        self.assertEqual(at.value(), b"owed")  # the echo owed went first
        self.assertTrue(at.disconnecting and bt.disconnecting)
        self.assertEqual(a.close_reason, SHUTDOWN_REASON)
        self.lose(a)
        self.assertNoResult(done)
        self.lose(b)
        self.successResultOf(done)
        self.assertFalse(self.clock.getDelayedCalls())  # the abort timer is disarmed

    def test_abort_at_drain_timeout_not_before(self) -> None:
        a, at = self.connect()
        done = self.factory.drain(10)
        self.clock.advance(9.999)
        self.assertFalse(at.aborted)
        self.assertNoResult(done)
        self.clock.advance(0.001)  # drain_timeout reached: what is left is aborted
        self.assertTrue(at.aborted)
        self.assertEqual(self.factory.counters["closed.drain_abort"], 1)
        self.lose(a)
        self.successResultOf(done)

    def test_abort_now(self) -> None:
        a, at = self.connect()
        done = self.factory.drain(10)
        self.factory.abort()  # SIGINT during the drain
        self.assertTrue(at.aborted)
        self.assertEqual([c for c in self.clock.getDelayedCalls() if c.getTime() == 10], [])
        self.lose(a)
        self.successResultOf(done)

    def test_second_drain_fires_with_the_first(self) -> None:
        a, _ = self.connect()
        first = self.factory.drain(10)
        second = self.factory.drain(10)
        self.assertNoResult(second)
        self.lose(a)
        self.successResultOf(first)
        self.successResultOf(second)
        self.successResultOf(self.factory.drain(10))  # drained already: at once
