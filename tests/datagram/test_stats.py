"""PingStats' summary: what `netsuite ping` prints, with no replies and with some."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netsuite.datagram._stats import PingStats


class SummaryTests(SynchronousTestCase):
    def test_no_replies_reports_zeros(self) -> None:
        stats = PingStats(sent=3)
        rtt = stats.summary()["rtt_ms"]
        self.assertEqual(rtt, {"min": 0.0, "avg": 0.0, "max": 0.0, "mdev": 0.0, "p99": 0.0})
        self.assertEqual(stats.summary()["loss_percent"], 100.0)

    def test_p99_is_a_measured_rtt(self) -> None:
        stats = PingStats(sent=3)
        for sent, received in ((0.0, 0.010), (1.0, 1.030), (2.0, 2.020)):
            stats.reply(sent, received)
        self.assertAlmostEqual(stats.summary()["rtt_ms"]["p99"], 30.0)
        one = PingStats(sent=1)
        one.reply(0.0, 0.005)
        self.assertAlmostEqual(one.summary()["rtt_ms"]["p99"], 5.0)
