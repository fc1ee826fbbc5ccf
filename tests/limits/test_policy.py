"""Connection caps and token buckets, each at its boundary."""

from twisted.trial.unittest import SynchronousTestCase

from netsuite.limits._policy import (
    REPLY_MEMORY,
    ConnectionGate,
    FlowTable,
    SourceBuckets,
    TokenBucket,
)


class ConnectionGateTests(SynchronousTestCase):
    def test_total_cap(self) -> None:
        """n connections are admitted, the n+1th is refused, a release makes room."""
        gate = ConnectionGate(max_total=3, max_per_peer=0)
        for i in range(3):
            self.assertIsNone(gate.admit(f"10.0.0.{i}"))
        reason = gate.admit("10.0.0.9")
        self.assertIn("too many connections (3 open)", reason)
        gate.release("10.0.0.1")
        self.assertIsNone(gate.admit("10.0.0.9"))

    def test_per_peer_cap(self) -> None:
        """The per-peer cap binds one address and leaves the others alone."""
        gate = ConnectionGate(max_total=0, max_per_peer=2)
        self.assertIsNone(gate.admit("a"))
        self.assertIsNone(gate.admit("a"))
        self.assertIn("from a (2 open)", gate.admit("a"))
        self.assertIsNone(gate.admit("b"))
        gate.release("a")
        self.assertIsNone(gate.admit("a"))

    def test_release_forgets(self) -> None:
        """
        Unlike Twisted's LimitConnectionsByPeer, closing really frees the slot, and the
        per-peer map keeps no entry for a peer with nothing open (bounded memory).
        """
        gate = ConnectionGate(max_total=1, max_per_peer=1)
        for _ in range(100):
            self.assertIsNone(gate.admit("a"))
            gate.release("a")
        self.assertEqual((gate.total, gate.per_peer), (0, {}))

    def test_release_unknown_is_harmless(self) -> None:
        gate = ConnectionGate()
        gate.release("nobody")
        self.assertEqual(gate.total, 0)


class TokenBucketTests(SynchronousTestCase):
    def test_burst_then_rate(self) -> None:
        bucket = TokenBucket(rate=10, burst=5)
        self.assertEqual([bucket.take(1, 0.0) for _ in range(6)], [True] * 5 + [False])
        self.assertFalse(bucket.take(1, 0.05))  # half a token came back
        self.assertTrue(bucket.take(1, 0.1))
        self.assertFalse(bucket.take(1, 0.1))

    def test_refill_capped_at_burst(self) -> None:
        bucket = TokenBucket(rate=10, burst=5)
        bucket.take(5, 0.0)
        self.assertTrue(bucket.take(5, 1000.0))
        self.assertFalse(bucket.take(1, 1000.0))

    def test_cost_larger_than_burst_never_passes(self) -> None:
        self.assertFalse(TokenBucket(rate=1, burst=2).take(3, 0.0))


class SourceBucketsTests(SynchronousTestCase):
    def test_sources_are_independent(self) -> None:
        buckets = SourceBuckets(rate=1, burst=1)
        self.assertTrue(buckets.take("a", 1, 0.0))
        self.assertFalse(buckets.take("a", 1, 0.0))
        self.assertTrue(buckets.take("b", 1, 0.0))

    def test_bounded(self) -> None:
        """Past max_sources the least recently seen source is forgotten."""
        buckets = SourceBuckets(rate=1, burst=1, max_sources=3)
        for source in "abcd":
            buckets.take(source, 1, 0.0)
        self.assertEqual(len(buckets), 3)
        # "a" was forgotten, so it starts again with a full bucket.
        self.assertTrue(buckets.take("a", 1, 0.0))
        # "c" was seen recently and stays empty.
        self.assertFalse(buckets.take("c", 1, 0.0))


class FlowTableTests(SynchronousTestCase):
    def test_bursts_are_one_seconds_worth(self) -> None:
        """A new flow gets exactly its rate at once: n taken, the n+1st refused."""
        flows = FlowTable(packets=3, octets=10, repeats=0.5, least_burst=100)
        entry = flows.entry(("h", 1), 0.0)
        self.assertEqual([entry.packets.take(1, 0.0) for _ in range(4)], [True] * 3 + [False])
        self.assertEqual(entry.octets.burst, 100)  # raised to one whole datagram
        self.assertEqual(entry.repeats.burst, 1)  # at least one

    def test_least_recent_forgotten(self) -> None:
        flows = FlowTable(1, 1, 1, max_flows=2)
        first = flows.entry(("h", 1), 0.0)
        second = flows.entry(("h", 2), 0.0)
        self.assertIs(flows.entry(("h", 1), 0.0), first)  # now the most recent
        flows.entry(("h", 3), 0.0)
        self.assertEqual(len(flows), 2)
        self.assertIs(flows.entry(("h", 1), 0.0), first)
        self.assertIsNot(flows.entry(("h", 2), 0.0), second)  # 2 was forgotten

    def test_replies_ring(self) -> None:
        entry = FlowTable(1, 1, 1).entry(("h", 1), 0.0)
        for i in range(REPLY_MEMORY + 1):
            entry.replied(i)
        self.assertNotIn(0, entry.replies)
        self.assertEqual(sorted(entry.replies), list(range(1, REPLY_MEMORY + 1)))
