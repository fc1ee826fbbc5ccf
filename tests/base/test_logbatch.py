"""Log lines that leave together (netsuite.base._logbatch)."""

from twisted.internet.task import Clock
from twisted.logger import Logger, LogLevel, capturedLogs
from twisted.trial.unittest import SynchronousTestCase

from netsuite.base._logbatch import LogBatch


class LogBatchTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.batch = LogBatch(Logger(namespace="t"), self.clock, "text", delay=0.5, limit=3)

    def test_lines_wait_for_the_delay(self) -> None:
        with capturedLogs() as events:
            self.batch.add("one")
            self.clock.advance(0.2)
            self.batch.add("two")
            self.clock.advance(0.29)
            self.assertEqual(events, [])
            self.clock.advance(0.01)  # 0.5 s after the first line
        self.assertEqual([(e["text"], e["lines"]) for e in events], [("one\ntwo", 2)])
        self.assertEqual(events[0]["log_format"], "{text}")
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_a_full_batch_leaves_at_once(self) -> None:
        """A flood of lines costs one event per C{limit} lines, and no timer is left."""
        with capturedLogs() as events:
            for i in range(7):
                self.batch.add(str(i))
            self.assertEqual([e["text"] for e in events], ["0\n1\n2", "3\n4\n5"])
            self.clock.advance(0.5)
        self.assertEqual([e["text"] for e in events][-1], "6")
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_level(self) -> None:
        batch = LogBatch(Logger(), self.clock, "refusals", LogLevel.warn)
        with capturedLogs() as events:
            batch.add("x")
            batch.flush()
        self.assertEqual(events[0]["log_level"], LogLevel.warn)

    def test_flush_when_empty_says_nothing(self) -> None:
        with capturedLogs() as events:
            self.batch.flush()
        self.assertEqual(events, [])

    def test_closed_emits_each_line_until_opened(self) -> None:
        with capturedLogs() as events:
            self.batch.add("held")
            self.batch.close()
            self.batch.add("late")
            self.assertEqual([e["text"] for e in events], ["held", "late"])
            self.batch.open()
            self.batch.add("batched again")
            self.assertEqual(len(events), 2)
            self.clock.advance(0.5)
        self.assertEqual(events[-1]["text"], "batched again")
        self.assertEqual(len(self.batch), 0)
