"""
L{netsuite.client._check}, the sans-IO half of C{netsuite echo}'s check mode: payloads,
matching, statistics.

No reactor and no sockets: sessions are fed bytes and times by hand, which is the point
of keeping them sans-IO.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from netsuite.client._check import (
    INDEX_BYTES,
    CheckFailure,
    DatagramCheck,
    StreamCheck,
    percentile,
    summarize,
)


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


class PayloadTests(SynchronousTestCase):
    """Payloads are random, but the same for the same seed: failures replay."""

    def test_same_seed_same_payloads(self) -> None:
        a = StreamCheck(3, 64, window=3, seed=7).start(0.0)
        b = StreamCheck(3, 64, window=3, seed=7).start(0.0)
        self.assertEqual(a, b)
        self.assertEqual([len(p) for p in a], [64, 64, 64])
        self.assertEqual(len(set(a)), 3)

    def test_other_seed_other_payloads(self) -> None:
        a = StreamCheck(1, 64, seed=7).start(0.0)
        b = StreamCheck(1, 64, seed=8).start(0.0)
        self.assertNotEqual(a, b)

    def test_payloads_only_in_order(self) -> None:
        """Drawing out of order would make a seed mean different bytes: refused."""
        session = StreamCheck(3, 8)
        self.assertRaises(ValueError, session.payload, 1)

    def test_datagram_payload_carries_its_index(self) -> None:
        session = DatagramCheck(3, 16, window=3, seed=1)
        payloads = session.start(0.0)
        for index, payload in enumerate(payloads):
            self.assertEqual(len(payload), 16)
            self.assertEqual(int.from_bytes(payload[:INDEX_BYTES], "big"), index)
        # The rest is the same random stream as a stream check's.
        stream = StreamCheck(3, 16, window=3, seed=1).start(0.0)
        self.assertEqual([p[INDEX_BYTES:] for p in payloads], [p[INDEX_BYTES:] for p in stream])

    def test_bad_parameters(self) -> None:
        self.assertRaises(ValueError, StreamCheck, 0, 10)
        self.assertRaises(ValueError, StreamCheck, 1, 0)
        self.assertRaises(ValueError, StreamCheck, 1, 1, window=0)
        self.assertRaises(ValueError, StreamCheck, 1, 1, timeout=0)
        self.assertRaises(ValueError, DatagramCheck, 1, INDEX_BYTES - 1)
        self.assertRaises(ValueError, DatagramCheck, 1, 65508)


class StreamCheckTests(SynchronousTestCase):
    """Echoed bytes laid against the messages in flight, oldest first."""

    def test_window_limits_messages_in_flight(self) -> None:
        session = StreamCheck(5, 10, window=2)
        first = session.start(0.0)
        self.assertEqual(len(first), 2)
        self.assertEqual(session.in_flight, 2)
        # Half of message 0 back: nothing completes, nothing new to send.
        self.assertEqual(session.received(first[0][:5], 0.1), [])
        # The rest of message 0: one place frees, one message goes out.
        more = session.received(first[0][5:], 0.2)
        self.assertEqual(len(more), 1)
        self.assertEqual(session.in_flight, 2)
        self.assertEqual(session.sent, 3)

    def test_all_verified_whatever_the_cuts(self) -> None:
        session = StreamCheck(4, 7, window=4)
        payloads = session.start(0.0)
        echoed = b"".join(payloads)
        # Cuts straddling message boundaries, and a one-byte read.
        for piece in (echoed[:3], echoed[3:4], echoed[4:20], echoed[20:]):
            self.assertEqual(session.received(piece, 1.0), [])
        self.assertTrue(session.done)
        self.assertTrue(session.ok)
        self.assertEqual(session.verified, 4)
        self.assertEqual(session.problems(), [])

    def test_flipped_byte_names_message_and_offset(self) -> None:
        """
        A wrong byte fails its message, says where, and checking goes on: the next
        message is still verified.
        """
        session = StreamCheck(2, 10, window=2, seed=3)
        a, b = session.start(0.0)
        session.received(_flip(a, 6) + b, 1.0)
        self.assertTrue(session.done)
        self.assertFalse(session.ok)
        self.assertEqual(session.verified, 1)
        self.assertEqual(session.failed, 1)
        [failure] = session.failures
        self.assertEqual((failure.index, failure.offset), (0, 6))
        self.assertEqual(failure.reason, f"got byte 0x{a[6] ^ 1:02x}, expected 0x{a[6]:02x}")
        problems = session.problems()
        self.assertIn("message 0 offset 6: got byte", problems[0])
        self.assertIn("--seed 3", problems[-1])

    def test_one_failure_per_message(self) -> None:
        """Many wrong bytes in one message, across reads: reported once, at the first."""
        session = StreamCheck(1, 10)
        [a] = session.start(0.0)
        bad = bytes(x ^ 0xFF for x in a)
        session.received(bad[:4], 1.0)
        session.received(bad[4:], 1.0)
        self.assertEqual(session.failed, 1)
        self.assertEqual(session.failures[0].offset, 0)

    def test_short_echo_times_out(self) -> None:
        """
        Part of a message back, then nothing: at its deadline the check aborts, naming
        the message and the offset of the first byte missing; later messages fail too.
        """
        session = StreamCheck(3, 10, window=2, timeout=5.0)
        a, _ = session.start(0.0)
        session.received(a[:7], 1.0)
        self.assertEqual(session.next_deadline(), 5.0)
        self.assertEqual(session.expire(4.9), [])
        self.assertFalse(session.done)
        session.expire(5.0)
        self.assertTrue(session.done)
        self.assertFalse(session.ok)
        self.assertEqual(session.failed, 2)
        self.assertEqual(
            session.failures[0],
            CheckFailure(0, "timed out after 5s with 7 of 10 bytes echoed", offset=7),
        )
        self.assertEqual(session.failures[1], CheckFailure(1, "not echoed", offset=0))
        report = session.report("tcp h:1")
        self.assertIn("0 of 3 messages verified, 2 failed, 1 not sent", report[0])
        self.assertIn("check aborted: no echo for 5s", session.problems()[0])

    def test_short_echo_then_close(self) -> None:
        session = StreamCheck(1, 10)
        [a] = session.start(0.0)
        session.received(a[:4], 1.0)
        session.connection_lost(2.0, "connection closed by the server")
        self.assertTrue(session.done)
        self.assertEqual(
            session.failures,
            [
                CheckFailure(
                    0, "connection closed by the server with 4 of 10 bytes echoed", offset=4
                )
            ],
        )

    def test_close_after_done_changes_nothing(self) -> None:
        session = StreamCheck(1, 4)
        [a] = session.start(0.0)
        session.received(a, 1.0)
        session.connection_lost(2.0)
        self.assertTrue(session.ok)

    def test_extra_bytes_fail_the_check(self) -> None:
        session = StreamCheck(1, 4)
        [a] = session.start(0.0)
        session.received(a + b"xyz", 1.0)
        self.assertEqual(session.verified, 1)
        self.assertFalse(session.ok)
        self.assertIn("3 unexpected byte(s)", "\n".join(session.problems()))

    def test_failure_details_are_bounded(self) -> None:
        session = StreamCheck(50, 2, window=50)
        payloads = session.start(0.0)
        session.received(b"".join(bytes(x ^ 1 for x in p) for p in payloads), 1.0)
        self.assertEqual(session.failed, 50)
        self.assertEqual(len(session.failures), 20)
        self.assertIn("... and 30 more failed messages", session.problems())

    def test_round_trips(self) -> None:
        session = StreamCheck(3, 2, window=1)
        now = 10.0
        sent = session.start(now)
        for rtt in (0.004, 0.001, 0.002):
            now += rtt
            sent = session.received(sent[0], now)
        self.assertEqual([round(r, 6) for r in session.rtts], [0.004, 0.001, 0.002])
        stats = session.statistics()
        self.assertAlmostEqual(stats.elapsed, 0.007)
        self.assertEqual(stats.payload_bytes, 6)
        self.assertAlmostEqual(stats.rtt_min or 0, 0.001)
        self.assertAlmostEqual(stats.rtt_median or 0, 0.002)
        self.assertAlmostEqual(stats.rtt_p99 or 0, 0.004)

    @settings(max_examples=60, deadline=None)
    @given(
        count=st.integers(1, 6),
        size=st.integers(1, 40),
        window=st.integers(1, 6),
        cuts=st.lists(st.integers(1, 50), max_size=30),
        seed=st.integers(0, 2**32 - 1),
        flip=st.one_of(st.none(), st.integers(0, 10_000)),
    )
    def test_any_cutting_any_flip(
        self,
        count: int,
        size: int,
        window: int,
        cuts: list[int],
        seed: int,
        flip: int | None,
    ) -> None:
        """
        However the echo is cut into reads, an intact echo verifies every message, and
        one flipped byte fails exactly its message at exactly its offset.
        """
        session = StreamCheck(count, size, window=window, seed=seed)
        pending = bytearray(b"".join(session.start(0.0)))
        where = None if flip is None else flip % (count * size)
        echoed_so_far = 0
        reads = iter(cuts)
        while pending:
            n = min(next(reads, len(pending)), len(pending))
            chunk = bytes(pending[:n])
            del pending[:n]
            if where is not None and echoed_so_far <= where < echoed_so_far + n:
                chunk = _flip(chunk, where - echoed_so_far)
            echoed_so_far += n
            pending += b"".join(session.received(chunk, 1.0))
        self.assertTrue(session.done)
        if where is None:
            self.assertTrue(session.ok)
        else:
            self.assertEqual(session.verified, count - 1)
            self.assertEqual(
                [(f.index, f.offset) for f in session.failures],
                [(where // size, where % size)],
            )


class DatagramCheckTests(SynchronousTestCase):
    """Replies matched by the index they carry, in any order; late means lost."""

    def test_replies_in_any_order(self) -> None:
        session = DatagramCheck(3, 8, window=3)
        a, b, c = session.start(0.0)
        for reply in (c, a, b):
            session.received(reply, 1.0)
        self.assertTrue(session.done)
        self.assertTrue(session.ok)
        self.assertIn("3 of 3 messages verified, 0 lost", session.report("udp h:1")[0])

    def test_flipped_byte(self) -> None:
        session = DatagramCheck(2, 12, window=2)
        a, b = session.start(0.0)
        session.received(_flip(b, 9), 1.0)
        session.received(a, 1.0)
        self.assertTrue(session.done)
        self.assertEqual(session.verified, 1)
        self.assertEqual([(f.index, f.offset) for f in session.failures], [(1, 9)])

    def test_short_reply(self) -> None:
        session = DatagramCheck(1, 12)
        [a] = session.start(0.0)
        session.received(a[:10], 1.0)
        [failure] = session.failures
        self.assertEqual(failure, CheckFailure(0, "echoed 10 bytes, expected 12", offset=10))

    def test_lost_after_timeout_frees_the_window(self) -> None:
        """A lost datagram stops nothing else: its place goes to the next message."""
        session = DatagramCheck(3, 8, window=1, timeout=2.0)
        [a] = session.start(0.0)
        self.assertEqual(session.next_deadline(), 2.0)
        self.assertEqual(session.expire(1.0), [])
        [b] = session.expire(2.0)
        self.assertEqual(session.lost, 1)
        self.assertEqual(int.from_bytes(b[:INDEX_BYTES], "big"), 1)
        # Message 0 shows up after all: late, counted, not a second verdict.
        self.assertEqual(session.received(a, 2.5), [])
        self.assertEqual(session.late, 1)
        [c] = session.received(b, 3.0)
        session.received(c, 3.0)
        self.assertTrue(session.done)
        self.assertFalse(session.ok)
        self.assertEqual((session.verified, session.failed), (2, 1))
        self.assertEqual(session.failures, [CheckFailure(0, "lost: no echo within 2s")])
        self.assertIn("2 of 3 messages verified, 1 failed, 1 lost, 1 late", session.report("u")[0])

    def test_strays(self) -> None:
        """A reply that names no message sent, or is too short to name one."""
        session = DatagramCheck(1, 8)
        [a] = session.start(0.0)
        session.received(b"\x00", 1.0)
        session.received((7).to_bytes(INDEX_BYTES, "big") + b"1234", 1.0)
        session.received(a, 1.0)
        self.assertEqual(session.strays, 2)
        self.assertFalse(session.ok)
        self.assertIn("2 datagram(s) came back", "\n".join(session.problems()))

    def test_refused(self) -> None:
        session = DatagramCheck(3, 8)
        session.start(0.0)
        session.refused(0.5)
        self.assertTrue(session.done)
        self.assertTrue(session.was_refused)
        self.assertEqual(session.failed, 1)
        self.assertIn("connection refused", session.problems()[0])


class StatisticsTests(SynchronousTestCase):
    """Nearest-rank percentiles and throughput arithmetic."""

    def test_percentile_nearest_rank(self) -> None:
        ordered = [float(x) for x in range(1, 101)]  # 1..100
        self.assertEqual(percentile(ordered, 99), 99.0)
        self.assertEqual(percentile(ordered, 50), 50.0)
        self.assertEqual(percentile(ordered, 100), 100.0)
        self.assertEqual(percentile(ordered, 1), 1.0)
        self.assertEqual(percentile([5.0], 99), 5.0)
        # 10 samples: the 99th percentile is the largest (rank ceil(9.9) = 10).
        self.assertEqual(percentile([float(x) for x in range(10)], 99), 9.0)
        self.assertRaises(ValueError, percentile, [], 50)
        self.assertRaises(ValueError, percentile, [1.0], 0)

    def test_summarize(self) -> None:
        stats = summarize([0.003, 0.001, 0.002, 0.010], payload_bytes=4_000_000, elapsed=2.0)
        self.assertEqual(stats.verified, 4)
        self.assertEqual(stats.rtt_min, 0.001)
        self.assertEqual(stats.rtt_median, 0.0025)  # even count: mean of the middle two
        self.assertEqual(stats.rtt_p99, 0.010)
        self.assertEqual(stats.messages_per_second, 2.0)
        self.assertEqual(stats.megabytes_per_second, 2.0)
        self.assertEqual(
            stats.lines(),
            [
                "round trip ms: min 1.000 median 2.500 p99 10.000",
                "throughput: 2.0 msgs/s, 2.000 MB/s",
            ],
        )

    def test_nothing_measured(self) -> None:
        stats = summarize([], payload_bytes=0, elapsed=0.0)
        self.assertIsNone(stats.messages_per_second)
        self.assertEqual(
            stats.lines(),
            ["round trip ms: min n/a median n/a p99 n/a", "throughput: n/a"],
        )
