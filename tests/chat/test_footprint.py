"""
What an idle line-door member costs the server, pinned (issue #13: 10,000 idle members
under 100 MiB, tests/e2e/test_scale.py, which only the heavy tier runs).

The bytes Python allocates for 1,000 members connected in memory (the door, its session,
outbox, pacer, error budget, idle timer, log fields, and the hub's record of it; not the
test's own transports) must stay under L{BOUND} each. Before issue #13's work they were
about 4,400 bytes (two empty deques, a DelayedCall and a log-field dict per member); now
about 2,000. A regression of some 800 bytes a member (8 MiB at 10,000) fails here, in
the default tier, instead of in the heavy one.
"""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import Logger
from twisted.trial.unittest import SynchronousTestCase

import netsuite.stream._idle
from netsuite.base._logbatch import LogBatch
from netsuite.chat._hub import Hub
from netsuite.chat._line_door import LineChatFactory
from netsuite.limits._policy import ConnectionGate

MEMBERS = 1000
#: Bytes per idle member, with room for the hub and the doors to grow a little.
BOUND = 2800


class MemberFootprintTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.clock.advance(1000)
        self.hub = Hub(clock=self.clock.seconds)
        self.factory = LineChatFactory(
            "chat/line", self.hub, clock=self.clock, gate=ConnectionGate(0, 0)
        )
        # The connection lines go nowhere: a test runner's log buffer would keep them.
        self.factory.connection_log = LogBatch(
            Logger(observer=lambda event: None), self.clock, "connections"
        )
        self.peers = [IPv4Address("TCP", "127.0.0.1", 1024 + i) for i in range(MEMBERS + 10)]
        self.transports = [StringTransport(peerAddress=p) for p in self.peers]
        self.doors: list[Any] = []

    def connect(self, i: int) -> None:
        door = self.factory.buildProtocol(self.peers[i])
        assert door is not None
        door.makeConnection(self.transports[i])
        self.doors.append(door)

    def test_idle_member_bytes(self) -> None:
        for i in range(MEMBERS, MEMBERS + 10):  # the first members fill caches once
            self.connect(i)
        self.factory.connection_log.flush()
        gc.collect()
        tracing = tracemalloc.is_tracing()
        if not tracing:
            tracemalloc.start()
            self.addCleanup(tracemalloc.stop)
        before = tracemalloc.take_snapshot()
        for i in range(MEMBERS):
            self.connect(i)
        self.factory.connection_log.flush()
        gc.collect()
        after = tracemalloc.take_snapshot()
        ours = [  # not the test's transports (their buffers hold the welcome lines)
            tracemalloc.Filter(False, "*/twisted/internet/testing.py"),
            tracemalloc.Filter(False, tracemalloc.__file__),
        ]
        stats = after.filter_traces(ours).compare_to(before.filter_traces(ours), "lineno")
        per_member = sum(s.size_diff for s in stats) / MEMBERS
        top = "\n".join(f"{s.size_diff / MEMBERS:6.0f} B  {s.traceback}" for s in stats[:10])
        self.assertEqual(len(self.hub.who("#lobby")), MEMBERS + 10)
        self.assertLess(per_member, BOUND, f"{per_member:.0f} bytes a member; the most:\n{top}")

    def test_one_idle_timer_for_all(self) -> None:
        """However many members, the reactor holds one idle timer for them."""
        for i in range(MEMBERS):
            self.connect(i)
        self.factory.connection_log.flush()
        calls = self.clock.getDelayedCalls()
        self.assertEqual(len(calls), 1)
        self.assertIs(calls[0].func.__self__, self.factory.idle)  # type: ignore[attr-defined]
        self.assertEqual(len(self.factory.idle), MEMBERS)
        self.assertIsInstance(self.factory.idle, netsuite.stream._idle.IdleTimers)
