"""
Limits every netsuite service enforces: connection caps and token buckets.

These are plain objects with no Twisted import (time comes in as a number), so each
limit is tested at its boundary without a reactor: n admitted, n+1 refused.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field

from netsuite.limits._defaults import MAX_CONNECTIONS, MAX_PER_IP, MAX_SOURCES

__all__ = [
    "ConnectionGate",
    "FlowEntry",
    "FlowTable",
    "SourceBuckets",
    "SourceEntry",
    "TokenBucket",
]


class ConnectionGate:
    """
    Counts open connections, in total and per peer, and refuses those over a cap.

    Twisted's C{LimitConnectionsByPeer} never decrements its count (its C{connectionLost}
    hook is not wired to the factory), so it locks peers out for good; this one is told
    of every close by the door that admitted the connection.

    @ivar max_total: the most connections open at once (C{0}: no cap).
    @ivar max_per_peer: the most connections open at once from one peer address.
    @ivar refused_by: the limit that refused the last refused connection, by its option
        name and value (C{("max-per-ip", 8)}), for the refusal's log fields.
    """

    refused_by: tuple[str, int] | None = None

    def __init__(self, max_total: int = MAX_CONNECTIONS, max_per_peer: int = MAX_PER_IP) -> None:
        self.max_total = max_total
        self.max_per_peer = max_per_peer
        self.total = 0
        self.per_peer: dict[str, int] = {}

    def admit(self, peer: str) -> str | None:
        """
        Count a new connection from C{peer}, or say why it is refused.

        @return: L{None} when admitted (the caller must later call L{release}), else a
            reason for the log and the peer.
        """
        if self.max_total and self.total >= self.max_total:
            self.refused_by = ("max-connections", self.max_total)
            return f"too many connections ({self.max_total} open)"
        count = self.per_peer.get(peer, 0)
        if self.max_per_peer and count >= self.max_per_peer:
            self.refused_by = ("max-per-ip", self.max_per_peer)
            return f"too many connections from {peer} ({self.max_per_peer} open)"
        self.total += 1
        self.per_peer[peer] = count + 1
        return None

    def refusal_fields(self) -> dict[str, str | int]:
        """C{limit} and C{limit_value} of the last refusal, for its log event."""
        if self.refused_by is None:
            return {}
        return {"limit": self.refused_by[0], "limit_value": self.refused_by[1]}

    def release(self, peer: str) -> None:
        """Forget one connection from C{peer}; the map never keeps a zero entry."""
        count = self.per_peer.get(peer, 0)
        if count <= 0:
            return
        self.total -= 1
        if count == 1:
            del self.per_peer[peer]
        else:
            self.per_peer[peer] = count - 1


@dataclass(slots=True)  # one per chat member: no per-instance __dict__
class TokenBucket:
    """
    A token bucket: C{rate} tokens a second, at most C{burst} stored.

    C{take(cost, now)} spends C{cost} tokens if the bucket holds them. Time is passed in,
    so the bucket works with any clock (the reactor's, a test's L{task.Clock}).
    """

    rate: float
    burst: float
    tokens: float = -1.0
    stamp: float = 0.0

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.burst

    def take(self, cost: float, now: float) -> bool:
        """Spend C{cost} tokens if there are enough; refill first by the time elapsed."""
        tokens = self.tokens
        elapsed = now - self.stamp
        if elapsed > 0:  # per datagram and per line: no min() call, no attribute re-reads
            tokens += elapsed * self.rate
            if tokens > self.burst:
                tokens = self.burst
            self.stamp = now
        if tokens >= cost:
            self.tokens = tokens - cost
            return True
        self.tokens = tokens
        return False


@dataclass
class SourceEntry:
    """What is kept per source: its token bucket, in/out counts, other events by name."""

    bucket: TokenBucket
    counts: Counter[str] = field(default_factory=Counter)
    inn: int = 0
    out: int = 0


class SourceBuckets:
    """
    One L{TokenBucket} (and a L{Counter} of events) per source, for at most
    C{max_sources} sources, least recently seen forgotten first, so a flood from spoofed
    addresses cannot grow memory.
    """

    def __init__(self, rate: float, burst: float, max_sources: int = MAX_SOURCES) -> None:
        self.rate = rate
        self.burst = burst
        self.max_sources = max_sources
        self._entries: OrderedDict[str, SourceEntry] = OrderedDict()

    def entry(self, source: str, now: float) -> SourceEntry:
        """C{source}'s entry (created with a full bucket), marked as the most recent."""
        entries = self._entries
        entry = entries.get(source)
        if entry is None:
            entry = entries[source] = SourceEntry(TokenBucket(self.rate, self.burst, stamp=now))
            if len(entries) > self.max_sources:
                entries.popitem(last=False)
        else:
            entries.move_to_end(source)
        return entry

    def take(self, source: str, cost: float, now: float) -> bool:
        """Spend C{cost} from C{source}'s bucket; a new source starts with a full one."""
        return self.entry(source, now).bucket.take(cost, now)

    def snapshot(self, limit: int = 100) -> dict[str, dict[str, int]]:
        """Counts of the C{limit} most recently seen sources, newest first."""
        out: dict[str, dict[str, int]] = {}
        for source in reversed(self._entries):
            if len(out) >= limit:
                break
            entry = self._entries[source]
            counts = {"in": entry.inn, "out": entry.out} if entry.inn or entry.out else {}
            out[source] = {**{k: v for k, v in counts.items() if v}, **entry.counts}
        return out

    def __len__(self) -> int:
        return len(self._entries)


#: Fingerprints of the last echoes kept per flow, to recognise what comes back.
REPLY_MEMORY = 8


@dataclass
class FlowEntry:
    """
    What is kept per flow (a source address and port): its datagram and byte budgets,
    and the loop-damping state.

    @ivar replies: fingerprints of the last L{REPLY_MEMORY} datagrams sent to the flow
        (a ring; C{slot} is where the next one goes).
    @ivar repeats: the budget of datagrams equal to one of C{replies} (what a peer that
        is itself an echo sends back).
    @ivar muted_until: the flow is not answered before this time; each datagram that
        arrives while it is muted moves it on (silence is what ends a mute).
    """

    packets: TokenBucket
    octets: TokenBucket
    repeats: TokenBucket
    # Ints only (-1 stands for none yet): `in` compares int to int, never int to None,
    # which is several times slower and runs for every datagram.
    replies: list[int] = field(default_factory=lambda: [-1] * REPLY_MEMORY)
    slot: int = 0
    muted_until: float = float("-inf")

    def replied(self, fingerprint: int) -> None:
        """Remember one datagram sent to the flow (the oldest remembered is forgotten)."""
        slot = self.slot
        self.replies[slot] = fingerprint
        self.slot = (slot + 1) % REPLY_MEMORY


class FlowTable:
    """
    One L{FlowEntry} per flow for at most C{max_flows} flows, least recently seen
    forgotten first (a flood from spoofed ports cannot grow memory; a live loop is
    always among the most recent, so it is not forgotten while it runs).

    Each budget's burst is one second's worth of its rate (the byte budget's raised to
    C{least_burst}, one whole datagram), so a new flow gets exactly C{rate} at once.
    """

    def __init__(
        self,
        packets: float,
        octets: float,
        repeats: float,
        max_flows: int = MAX_SOURCES,
        least_burst: float = 0.0,
    ) -> None:
        self.packets = packets
        self.octets = octets
        self.repeats = repeats
        self.max_flows = max_flows
        self.octet_burst = max(octets, least_burst)
        self._entries: OrderedDict[Hashable, FlowEntry] = OrderedDict()

    def entry(self, flow: Hashable, now: float) -> FlowEntry:
        """C{flow}'s entry (created with full budgets), marked as the most recent."""
        entries = self._entries
        entry = entries.get(flow)
        if entry is None:
            entry = entries[flow] = FlowEntry(
                TokenBucket(self.packets, max(self.packets, 1.0), stamp=now),
                TokenBucket(self.octets, self.octet_burst, stamp=now),
                TokenBucket(self.repeats, max(self.repeats, 1.0), stamp=now),
            )
            if len(entries) > self.max_flows:
                entries.popitem(last=False)
        else:
            entries.move_to_end(flow)
        return entry

    def __len__(self) -> int:
        return len(self._entries)
