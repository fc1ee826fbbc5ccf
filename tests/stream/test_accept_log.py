"""
Log floods: a listener's accept errors (an EMFILE burst: Twisted writes a line per
failed accept and per connection its recovery closes, some 80 lines) leave as the first
line of each kind, then one summary line per kind a second.
"""

from __future__ import annotations

import errno
from typing import Any, cast

from twisted.internet import tcp
from twisted.internet.protocol import Factory
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import ILogObserver, Logger, capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from netsuite.stream._accept_log import RepeatSummary, summarize_accept_errors

#: What Twisted's tcp._accept logs in an EMFILE burst, as it words it.
EMFILE_LINES = (
    "EMFILE encountered; releasing reserved file descriptor.",
    "EMFILE recovery: Closed socket from {address}",
    "Re-reserving EMFILE recovery file descriptor.",
)


class RepeatSummaryTests(SynchronousTestCase):
    def test_an_emfile_burst_of_80_lines_writes_6(self) -> None:
        clock = Clock()
        out: list[dict[str, Any]] = []
        log = Logger(
            namespace="twisted.internet.tcp.Port",
            observer=RepeatSummary(cast(ILogObserver, out.append), clock),
        )
        for i in range(27):  # 27 rounds of recovery: 81 lines from Twisted
            log.info(EMFILE_LINES[0])
            log.info(EMFILE_LINES[1], address=("127.0.0.1", 40000 + i))
            log.info(EMFILE_LINES[2])
        self.assertEqual(len(out), 3)  # the first of each kind, at once
        clock.advance(1)
        texts = [formatEvent(e) for e in out]
        self.assertEqual(len(texts), 6)
        self.assertEqual(
            texts[4],
            "EMFILE recovery: Closed socket from ('127.0.0.1', 40026) (and 26 more like it in 1s)",
        )
        clock.advance(5)
        self.assertEqual(len(out), 6)  # nothing more to say
        log.info(EMFILE_LINES[0])  # a later burst: its first line at once again
        self.assertEqual(len(out), 7)

    def test_a_single_line_is_not_summarized(self) -> None:
        clock = Clock()
        out: list[dict[str, Any]] = []
        summary = RepeatSummary(cast(ILogObserver, out.append), clock)
        Logger(observer=summary).info("Could not accept new connection ({acceptError})",
                                      acceptError="EMFILE")  # fmt: skip
        clock.advance(1)
        self.assertEqual(len(out), 1)


class FakeListener:
    """A listening socket whose every accept fails with EMFILE."""

    def accept(self) -> Any:
        raise OSError(errno.EMFILE, "Too many open files")


class PortTests(SynchronousTestCase):
    def test_tcp_port_accept_errors_summarized(self) -> None:
        """Twisted's own Port.doRead, EMFILE on every accept: 1 line, then 1 summary."""
        reactor = MemoryReactorClock()
        port = tcp.Port(0, Factory(), interface="127.0.0.1", reactor=reactor)
        self.assertTrue(summarize_accept_errors(port))
        port.socket = FakeListener()
        port.numberAccepts = 100  # as startListening sets it
        with capturedLogs() as events:
            for _ in range(80):
                port.doRead()
            reactor.advance(1)
        texts = [formatEvent(e) for e in events]
        # One line of each kind, then one summary of each. The kinds depend on Twisted's
        # process-wide spare descriptor (tcp._reservedFD): once another test has made a
        # real port reserve one, each EMFILE also logs its release and re-reservation.
        firsts = [t for t in texts if "more like it" not in t]
        summaries = [t for t in texts if "(and 79 more like it in 1s)" in t]
        self.assertIn("Could not accept new connection (EMFILE)", firsts, texts)
        self.assertEqual(len(firsts), len(summaries), texts)
        self.assertEqual(len(texts), 2 * len(firsts), texts)
        self.assertLessEqual(len(texts), 6, texts)

    def test_other_ports_unchanged(self) -> None:
        self.assertFalse(summarize_accept_errors(object()))
