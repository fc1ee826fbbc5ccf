"""The sequencer: in order, exactly once, and counts that match what was done to it."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from netsuite.datagram import HEADER_SIZE, ProbeError, Sequencer, decode, encode


def feed(seq: Sequencer, arrivals: list[int], step: float = 0.0) -> list[int]:
    out = []
    now = 0.0
    for s in arrivals:
        out += [n for n, _ in seq.receive(s, f"item{s}", now)]
        now += step
    return out


class SequencerTests(SynchronousTestCase):
    def test_in_order_passes_straight_through(self) -> None:
        seq = Sequencer()
        self.assertEqual(feed(seq, [0, 1, 2]), [0, 1, 2])
        self.assertEqual(seq.stats.delivered, 3)

    def test_reordered_held_then_released(self) -> None:
        seq = Sequencer()
        self.assertEqual(feed(seq, [1, 2]), [])
        self.assertEqual(seq.receive(0, "x", 0.1), [(0, "x"), (1, "item1"), (2, "item2")])
        self.assertEqual((seq.stats.reordered, seq.stats.lost), (1, 0))

    def test_duplicates_never_delivered_twice(self) -> None:
        seq = Sequencer()
        self.assertEqual(feed(seq, [0, 0, 2, 2, 1, 1]), [0, 1, 2])
        self.assertEqual(seq.stats.duplicates, 3)

    def test_gap_timeout_gives_up(self) -> None:
        seq = Sequencer(gap_timeout=1.0)
        self.assertEqual(seq.receive(1, "a", 0.0), [])
        self.assertEqual(seq.tick(0.99), [])
        self.assertEqual(seq.tick(1.0), [(1, "a")])
        self.assertEqual(seq.stats.lost, 1)
        # It comes after all: too late, not delivered, counted as late.
        self.assertEqual(seq.receive(0, "z", 1.1), [])
        self.assertEqual(seq.stats.late, 1)

    def test_gap_clock_restarts_on_progress(self) -> None:
        seq = Sequencer(gap_timeout=1.0)
        seq.receive(1, "a", 0.0)
        seq.receive(3, "c", 0.5)
        self.assertEqual(seq.receive(0, "z", 0.9), [(0, "z"), (1, "a")])
        self.assertEqual(seq.tick(1.5), [])  # the hole at 2 only opened at 0.9
        self.assertEqual(seq.tick(2.0), [(3, "c")])

    def test_window_bound(self) -> None:
        """Nothing waits further than the window ahead: the oldest hole is given up."""
        seq = Sequencer(window=4)
        self.assertEqual(feed(seq, [1, 2, 3]), [])
        self.assertEqual([n for n, _ in seq.receive(5, "x", 0)], [1, 2, 3])
        self.assertEqual(seq.stats.lost, 1)
        self.assertLessEqual(len(list(seq.pending())), 4)

    def test_flush_counts_trailing_losses(self) -> None:
        seq = Sequencer()
        feed(seq, [0, 2])
        self.assertEqual([n for n, _ in seq.flush(end=5)], [2])
        self.assertEqual((seq.stats.delivered, seq.stats.lost), (2, 3))


@st.composite
def impairments(draw):  # type: ignore[no-untyped-def]
    """n numbered datagrams, some dropped, some duplicated, reordered within a bound."""
    n = draw(st.integers(0, 200))
    rng = random.Random(draw(st.integers(0, 2**32)))
    drop = {i for i in range(n) if rng.random() < draw(st.floats(0, 0.3))}
    dup_rate = draw(st.floats(0, 0.3))
    arrivals = []
    for i in range(n):
        if i in drop:
            continue
        arrivals.append(i)
        if rng.random() < dup_rate:
            arrivals.append(i)
    displacement = draw(st.integers(0, 16))
    keyed = sorted(((i + rng.uniform(0, displacement), s) for i, s in enumerate(arrivals)))
    return n, drop, [s for _, s in keyed]


class SequencerPropertyTests(SynchronousTestCase):
    @settings(max_examples=300, derandomize=True, deadline=None)
    @given(impairments())
    def test_random_loss_duplication_reordering(self, case) -> None:  # type: ignore[no-untyped-def]
        """
        Never a duplicate, never out of order, and the counts are exactly what was
        injected (the reorder displacement stays inside the window and the gap timeout).
        """
        n, drop, arrivals = case
        seq = Sequencer(window=64, gap_timeout=1000.0)
        delivered = feed(seq, arrivals, step=0.001)
        delivered += [s for s, _ in seq.flush(end=n)]
        self.assertEqual(delivered, sorted(set(range(n)) - drop))
        self.assertEqual(seq.stats.lost, len(drop))
        self.assertEqual(seq.stats.duplicates, len(arrivals) - len(set(arrivals)))
        seen, highest, reordered = set(), -1, 0
        for s in arrivals:
            if s in seen:
                continue
            seen.add(s)
            if s < highest:
                reordered += 1
            highest = max(highest, s)
        self.assertEqual(seq.stats.reordered, reordered)

    @settings(max_examples=200, derandomize=True, deadline=None)
    @given(st.lists(st.integers(0, 300), max_size=300), st.integers(1, 32))
    def test_any_arrivals_in_order_once(self, arrivals: list[int], window: int) -> None:
        """Whatever arrives, delivery is strictly increasing and memory stays bounded."""
        seq = Sequencer(window=window, gap_timeout=0.5)
        delivered = feed(seq, arrivals, step=0.1) + [s for s, _ in seq.flush()]
        self.assertEqual(delivered, sorted(set(delivered)))
        self.assertLessEqual(len(seq._skipped), 4 * window + window)


class ProbeTests(SynchronousTestCase):
    def test_round_trip(self) -> None:
        data = encode(7, 123456789, 100)
        self.assertEqual(len(data), 100)
        probe = decode(data)
        self.assertEqual((probe.seq, probe.sent_ns, probe.size), (7, 123456789, 100))

    def test_refusals(self) -> None:
        for data, message in (
            (b"short", "shorter than a probe header"),
            (b"XXXX" + bytes(HEADER_SIZE), "bad magic"),
            (b"NSPR\x09" + bytes(HEADER_SIZE), "version 9"),
        ):
            with self.assertRaises(ProbeError) as e:
                decode(data)
            self.assertIn(message, str(e.exception))
        with self.assertRaises(ProbeError):
            encode(0, 0, 10)
        with self.assertRaises(ProbeError):
            encode(0, 0, 70000)
