"""
One idle timer for all of a door's connections (L{netsuite.stream._idle.IdleTimers}):
each expires exactly its timeout after its last input, as with a timer per connection,
while the reactor holds one delayed call however many connections there are.
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from netsuite.stream._idle import IdleTimers


class IdleTimersTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.clock.advance(1000)
        self.timeout = 30.0
        self.expired: list[str] = []
        self.timers: IdleTimers[str] = IdleTimers(
            self.clock, lambda: self.timeout, self.expired.append
        )

    def test_expires_at_its_timeout_not_before(self) -> None:
        self.timers.touch("a")
        self.clock.advance(29.999)
        self.assertEqual(self.expired, [])
        self.clock.advance(0.001)
        self.assertEqual(self.expired, ["a"])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_input_rearms(self) -> None:
        self.timers.touch("a")
        self.timers.touch("b")
        self.clock.advance(29)
        self.timers.touch("a")
        self.clock.advance(1)
        self.assertEqual(self.expired, ["b"])
        self.clock.advance(28)
        self.assertEqual(self.expired, ["b"])
        self.clock.advance(1)
        self.assertEqual(self.expired, ["b", "a"])

    def test_one_delayed_call_for_many(self) -> None:
        for i in range(1000):
            self.timers.touch(f"c{i}")
            self.clock.advance(0.01)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.clock.advance(25 - 0.005)  # now 1034.995: c0..c499 are past their deadline
        self.assertEqual(self.expired, [f"c{i}" for i in range(500)])
        self.assertEqual(len(self.timers), 500)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)

    def test_each_at_its_own_time(self) -> None:
        """Staggered connections each go at last input + timeout, in that order."""
        for name, gap in (("a", 1), ("b", 5), ("c", 0.5)):
            self.timers.touch(name)
            self.clock.advance(gap)
        # a at 1000 + 30, b at 1001 + 30, c at 1006 + 30; now 1006.5
        self.clock.advance(1030 - 1006.5)
        self.assertEqual(self.expired, ["a"])
        self.clock.advance(1)
        self.assertEqual(self.expired, ["a", "b"])
        self.clock.advance(4.999)
        self.assertEqual(self.expired, ["a", "b"])
        self.clock.advance(0.001)
        self.assertEqual(self.expired, ["a", "b", "c"])

    def test_forget_the_last_cancels_the_timer(self) -> None:
        self.timers.touch("a")
        self.timers.touch("b")
        self.timers.forget("a")
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.timers.forget("b")
        self.timers.forget("b")  # twice is harmless
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(100)
        self.assertEqual(self.expired, [])

    def test_zero_tracks_nothing(self) -> None:
        self.timeout = 0
        self.timers.touch("a")
        self.assertEqual((len(self.timers), self.clock.getDelayedCalls()), (0, []))
        self.clock.advance(10**6)
        self.assertEqual(self.expired, [])

    def test_timeout_turned_off_while_waiting(self) -> None:
        self.timers.touch("a")
        self.timeout = 0
        self.clock.advance(31)
        self.assertEqual((self.expired, len(self.timers)), ([], 0))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_timeout_raised_while_waiting(self) -> None:
        """The timeout is read when it matters: raised, the connection waits longer."""
        self.timers.touch("a")
        self.timeout = 60
        self.clock.advance(59)
        self.assertEqual(self.expired, [])
        self.clock.advance(1)
        self.assertEqual(self.expired, ["a"])

    def test_expiry_may_forget_and_touch_others(self) -> None:
        """What an expiry does to other connections (a hub kick, a reply) is honoured."""

        def expire(key: str) -> None:
            self.expired.append(key)
            if key == "a":
                timers.forget("b")  # due too, but gone now
                timers.touch("c")  # spoke: rearmed

        timers: IdleTimers[str] = IdleTimers(self.clock, lambda: self.timeout, expire)
        for key in "abcd":
            timers.touch(key)
        self.clock.advance(30)
        self.assertEqual(self.expired, ["a", "d"])
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.clock.advance(30)
        self.assertEqual(self.expired, ["a", "d", "c"])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_an_expiry_that_raises_leaves_the_others_armed(self) -> None:
        def expire(key: str) -> None:
            self.expired.append(key)
            if key == "a":
                raise RuntimeError("boom")

        timers: IdleTimers[str] = IdleTimers(self.clock, lambda: self.timeout, expire)
        timers.touch("a")
        self.clock.advance(1)
        timers.touch("b")
        self.assertRaises(RuntimeError, self.clock.advance, 29)
        self.clock.advance(1)
        self.assertEqual(self.expired, ["a", "b"])
