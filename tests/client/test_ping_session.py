"""
The sans-IO half of C{netsuite ping}: pacing, what each reply counts as, the end of a
run, the summary (plain calls with made-up times; no clock, no socket).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from netsuite.client._ping_session import (
    MAX_BURST,
    PingSession,
    Reply,
    format_reply,
    format_summary,
)
from netsuite.datagram._probe import decode, encode


def seqs(probes: list[bytes]) -> list[int]:
    return [decode(p).seq for p in probes]


class PacingTests(SynchronousTestCase):
    def test_first_probe_at_once_then_one_per_interval(self) -> None:
        session = PingSession(interval=0.5, count=4)
        self.assertEqual(seqs(session.start(10.0)), [0])
        self.assertEqual(session.next_deadline(), 10.5)
        self.assertEqual(session.due(10.4), [])
        self.assertEqual(seqs(session.due(10.5)), [1])
        self.assertEqual(seqs(session.due(11.0)), [2])
        self.assertEqual(seqs(session.due(11.5)), [3])
        self.assertFalse(session.sending)
        self.assertEqual(session.due(12.0), [])  # count reached
        self.assertEqual(session.stats.sent, 4)

    def test_probe_carries_its_send_time_and_size(self) -> None:
        session = PingSession(interval=1, size=100, count=1)
        (probe,) = session.start(2.5)
        self.assertEqual(len(probe), 100)
        self.assertEqual(decode(probe).sent_ns, 2_500_000_000)

    def test_late_timer_catches_up(self) -> None:
        """A timer that fires late sends every probe due by then, in order."""
        session = PingSession(interval=0.001, count=50)
        session.start(0.0)
        self.assertEqual(seqs(session.due(0.0105)), list(range(1, 11)))

    def test_stall_catches_up_at_most_max_burst_then_slips(self) -> None:
        session = PingSession(interval=0.001)
        session.start(0.0)
        burst = session.due(1.0)  # 1000 probes late
        self.assertEqual(len(burst), MAX_BURST)
        # The schedule slipped: the next probe is one interval after now, not a backlog.
        self.assertAlmostEqual(session.next_deadline() or 0, 1.001)
        self.assertEqual(len(session.due(1.001)), 1)

    def test_duration_limits_sending(self) -> None:
        session = PingSession(interval=0.25, duration=1.0)
        sent = session.start(0.0)
        for t in (0.25, 0.5, 0.75):
            self.assertEqual(session.next_deadline(), t)
            sent += session.expire(t)
        self.assertEqual(session.next_deadline(), 1.0)  # the end of sending
        sent += session.expire(1.0)
        self.assertEqual(seqs(sent), [0, 1, 2, 3])
        self.assertFalse(session.sending)
        self.assertEqual(session.next_deadline(), 0.75 + session.timeout)

    def test_count_and_duration_whichever_first(self) -> None:
        session = PingSession(interval=0.1, duration=10, count=2)
        session.start(0)
        session.expire(0.1)
        self.assertFalse(session.sending)
        self.assertEqual(session.stats.sent, 2)

    def test_no_limits_runs_until_stopped(self) -> None:
        session = PingSession(interval=1)
        session.start(0)
        for t in range(1, 100):
            session.expire(t)
        self.assertTrue(session.sending)
        session.stop(99.5, interrupted=True)
        self.assertTrue(session.done)
        self.assertEqual(session.summary()["interrupted"], True)
        self.assertEqual(session.due(200), [])

    def test_bad_settings(self) -> None:
        for kwargs in ({"interval": 0}, {"interval": float("inf")}, {"size": 23}, {"count": 0}):
            with self.assertRaises(ValueError):
                PingSession(**kwargs)  # type: ignore[arg-type]


class RepliesTests(SynchronousTestCase):
    def run_session(self, count: int = 5) -> tuple[PingSession, list[bytes]]:
        session = PingSession(interval=0.01, count=count, timeout=1.0)
        probes = session.start(0.0)
        t = 0.0
        while session.sending:
            t += 0.01
            probes += session.expire(t)
        return session, probes

    def test_in_order(self) -> None:
        session, probes = self.run_session()
        replies = [session.received(p, 0.05 + i * 0.01) for i, p in enumerate(probes)]
        self.assertEqual(
            [(r.seq, r.duplicate, r.reordered) for r in replies if r],
            [(i, False, False) for i in range(5)],
        )
        self.assertAlmostEqual(replies[0].rtt_ms if replies[0] else 0, 50.0)
        self.assertTrue(session.done)  # every probe back: no need to wait for the timeout
        summary = session.summary()
        self.assertEqual(
            (summary["sent"], summary["received"], summary["lost"]),
            (5, 5, 0),
        )

    def test_duplicates_and_reordering(self) -> None:
        session, p = self.run_session()
        order = [p[0], p[2], p[1], p[1], p[3], p[0], p[4]]
        replies = [session.received(d, 0.1) for d in order]
        self.assertEqual(
            [(r.seq, r.duplicate, r.reordered) for r in replies if r],
            [
                (0, False, False),
                (2, False, False),
                (1, False, True),
                (1, True, False),
                (3, False, False),
                (0, True, False),
                (4, False, False),
            ],
        )
        s = session.summary()
        self.assertEqual((s["received"], s["duplicates"], s["reordered"], s["lost"]), (5, 2, 1, 0))

    def test_loss_counted_when_the_wait_is_over(self) -> None:
        session, p = self.run_session()
        for d in (p[0], p[1], p[3]):
            session.received(d, 0.045)
        self.assertFalse(session.done)
        self.assertEqual(session.next_deadline(), 0.04 + 1.0)
        session.expire(1.04)
        self.assertTrue(session.done)
        s = session.summary()
        self.assertEqual((s["sent"], s["received"], s["lost"], s["loss_percent"]), (5, 3, 2, 40.0))
        self.assertEqual(s["reordered"], 0)

    def test_late_reply_after_the_sequencer_gave_up(self) -> None:
        """
        A reply later than the gap timeout is still received (and reordered): what the
        sequencer calls late; a second copy of it is a duplicate.
        """
        session = PingSession(interval=0.01, timeout=0.5)
        p = session.start(0.0) + session.due(0.01) + session.due(0.02)
        session.received(p[1], 0.03)
        session.received(p[2], 0.03)
        session.received(p[2], 0.6)  # the hole at 0 is given up on here
        late = session.received(p[0], 0.7)
        again = session.received(p[0], 0.7)
        self.assertEqual(late, Reply(0, 64, 700.0, duplicate=False, reordered=True))
        self.assertEqual((again.duplicate if again else None), True)
        s = session.summary()
        self.assertEqual((s["received"], s["duplicates"], s["reordered"]), (3, 2, 1))

    def test_not_our_probes_are_ignored(self) -> None:
        session, p = self.run_session()
        self.assertIsNone(session.received(b"hello", 0.1))
        self.assertIsNone(session.received(encode(99, 0), 0.1))  # never sent
        self.assertIsNone(session.received(encode(0, 5_000_000_000), 0.1))  # from the future
        self.assertEqual(session.ignored, 3)
        self.assertEqual(session.stats.received, 0)

    def test_stop_with_an_error(self) -> None:
        session, p = self.run_session(count=3)
        session.stop(0.5, "connection refused")
        self.assertTrue(session.done)
        self.assertIsNone(session.received(p[0], 0.6))
        s = session.summary()
        self.assertEqual(
            (s["error"], s["lost"], s["interrupted"]), ("connection refused", 3, False)
        )

    def test_send_errors_counted_and_lost(self) -> None:
        session = PingSession(count=1)
        session.start(0)
        session.send_failed()
        session.expire(10)
        self.assertEqual((session.summary()["send_errors"], session.summary()["lost"]), (1, 1))


class StatisticsTests(SynchronousTestCase):
    def test_rtt_and_jitter(self) -> None:
        session = PingSession(interval=1, count=3)
        p = session.start(0) + session.due(1) + session.due(2)
        session.received(p[0], 0.010)
        session.received(p[1], 1.030)
        session.received(p[2], 2.020)
        s = session.summary()
        self.assertEqual(
            (s["rtt_ms"]["min"], s["rtt_ms"]["avg"], s["rtt_ms"]["max"], s["rtt_ms"]["p99"]),
            (10.0, 20.0, 30.0, 30.0),
        )
        self.assertAlmostEqual(s["rtt_ms"]["mdev"], 8.164966, places=5)
        self.assertAlmostEqual(s["jitter_ms"], 20 / 16 + (10 - 20 / 16) / 16, places=5)
        self.assertEqual(s["elapsed_s"], 2.02)

    def test_report_lines(self) -> None:
        session = PingSession(interval=1, count=2)
        p = session.start(0) + session.due(1)
        session.received(p[0], 0.001)
        session.received(p[0], 0.002)
        session.expire(3)
        lines = format_summary(session.summary(), "127.0.0.1:7007", "udp")
        self.assertEqual(
            lines[:2],
            [
                "--- 127.0.0.1:7007 ping statistics (udp) ---",
                "2 sent, 1 received, 50% lost, 1 duplicates, 0 reordered, time 3000 ms",
            ],
        )
        self.assertRegex(
            lines[2],
            r"^rtt min/avg/max/mdev = 1\.000/1\.000/1\.000/0\.000 ms, p99 1\.000 ms, "
            r"jitter 0\.000 ms$",
        )
        self.assertEqual(
            format_reply(Reply(3, 64, 0.1234), "127.0.0.1:7007"),
            "64 bytes from 127.0.0.1:7007: seq=3 time=0.123 ms",
        )
        self.assertTrue(format_reply(Reply(3, 64, 1, duplicate=True), "h:1").endswith("(DUP!)"))

    def test_nothing_back(self) -> None:
        session = PingSession(count=1, timeout=1)
        session.start(0)
        session.expire(1)
        lines = format_summary(session.summary(), "h:1", "dtls")
        self.assertEqual(lines[-1], "rtt n/a: nothing came back")


class ArrivalOrderProperty(SynchronousTestCase):
    """
    Whatever the network does to the replies (lose, duplicate, reorder), the counts are
    exactly what it did.
    """

    @settings(max_examples=200, deadline=None, derandomize=True)
    @given(
        st.integers(min_value=1, max_value=40).flatmap(
            lambda n: st.tuples(
                st.just(n),
                st.lists(st.integers(min_value=0, max_value=n - 1), max_size=3 * n),
            )
        )
    )
    def test_counts(self, case: tuple[int, list[int]]) -> None:
        count, arrivals = case
        session = PingSession(interval=0.001, count=count, timeout=10)
        probes = session.start(0.0)
        while session.sending:
            probes += session.expire(session.next_deadline() or 0)
        for seq in arrivals:
            session.received(probes[seq], 0.5)
        session.stop(1.0)
        s = session.summary()
        # The run is over once every probe is back: later copies are not counted.
        if len(set(arrivals)) == count:
            arrivals = arrivals[: max(arrivals.index(seq) for seq in set(arrivals)) + 1]
        unique = set(arrivals)
        expected_reordered = 0
        highest = -1
        seen: set[int] = set()
        for seq in arrivals:
            if seq not in seen and seq < highest:
                expected_reordered += 1
            seen.add(seq)
            highest = max(highest, seq)
        self.assertEqual(s["received"], len(unique))
        self.assertEqual(s["lost"], count - len(unique))
        self.assertEqual(s["duplicates"], len(arrivals) - len(unique))
        self.assertEqual(s["reordered"], expected_reordered)
