"""
Sans-IO verification of an echo: payloads, matching what comes back, round trips,
statistics.

Nothing here reads a clock, touches a socket or imports a reactor: a session is fed bytes
and times and returns what to send next, so every path (a flipped byte, a short echo, a
lost datagram, a timeout) is tested with plain calls, and the Twisted adapters in
L{netsuite.client._echo_check} stay thin. L{percentile}, L{summarize} and L{Statistics} are the
round-trip arithmetic any latency-measuring sub-command can reuse.

The module is above 400 lines because it is one concern, the check's state machine, with
its stream and datagram variants sharing L{CheckSession}; there is no I/O here to split off.
"""

from __future__ import annotations

import random
import statistics
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from netsuite.base._stats import percentile

__all__ = [
    "DEFAULT_TIMEOUT",
    "INDEX_BYTES",
    "KEPT_FAILURES",
    "MAX_DATAGRAM",
    "CheckFailure",
    "CheckSession",
    "DatagramCheck",
    "Statistics",
    "StreamCheck",
    "percentile",
    "summarize",
]

#: Bytes of the index that starts every check datagram.
INDEX_BYTES = 4
#: The largest UDP payload over IPv4, as the server (netsuite.twistd._endpoints) accepts it.
MAX_DATAGRAM = 65507
#: Seconds a message may take to come back.
DEFAULT_TIMEOUT = 10.0
#: Failures kept with their details; beyond this only their number is.
KEPT_FAILURES = 20


@dataclass(frozen=True)
class CheckFailure:
    """One message that did not come back intact: which, where (byte offset), and how."""

    index: int
    reason: str
    offset: int | None = None

    def __str__(self) -> str:
        where = f" offset {self.offset}" if self.offset is not None else ""
        return f"message {self.index}{where}: {self.reason}"


@dataclass(frozen=True)
class Statistics:
    """
    Round trips (seconds) and throughput of a check.

    C{elapsed} runs from the first send to the last message settled (verified or failed);
    throughput counts verified messages and their payload bytes, one way (MB = 10^6 bytes).
    """

    verified: int
    payload_bytes: int
    elapsed: float
    rtt_min: float | None
    rtt_median: float | None
    rtt_p99: float | None

    @property
    def messages_per_second(self) -> float | None:
        """Verified messages a second, or L{None} when no time was measured."""
        return self.verified / self.elapsed if self.elapsed > 0 else None

    @property
    def megabytes_per_second(self) -> float | None:
        """Verified payload MB (10^6 bytes) a second, or L{None} when no time was measured."""
        return self.payload_bytes / self.elapsed / 1e6 if self.elapsed > 0 else None

    def lines(self) -> list[str]:
        """The two summary lines: round trips in milliseconds, then throughput."""

        def ms(value: float | None) -> str:
            return "n/a" if value is None else f"{value * 1000:.3f}"

        rate, mbs = self.messages_per_second, self.megabytes_per_second
        return [
            f"round trip ms: min {ms(self.rtt_min)} median {ms(self.rtt_median)} "
            f"p99 {ms(self.rtt_p99)}",
            "throughput: "
            + ("n/a" if rate is None or mbs is None else f"{rate:.1f} msgs/s, {mbs:.3f} MB/s"),
        ]


def summarize(rtts: Sequence[float], payload_bytes: int, elapsed: float) -> Statistics:
    """L{Statistics} of the verified messages' round trips C{rtts} (seconds, any order)."""
    ordered = sorted(rtts)
    if not ordered:
        return Statistics(0, payload_bytes, elapsed, None, None, None)
    return Statistics(
        verified=len(ordered),
        payload_bytes=payload_bytes,
        elapsed=elapsed,
        rtt_min=ordered[0],
        rtt_median=statistics.median(ordered),
        rtt_p99=percentile(ordered, 99),
    )


@dataclass
class _InFlight:
    """A message sent and not yet settled."""

    index: int
    payload: memoryview
    sent_at: float
    got: int = 0
    bad: bool = False


def _first_difference(got: memoryview | bytes, expected: memoryview | bytes) -> int:
    """Offset of the first byte where C{got} and C{expected} differ (they do differ)."""
    for i, (a, b) in enumerate(zip(got, expected, strict=False)):
        if a != b:
            return i
    return min(len(got), len(expected))


class CheckSession:
    """
    The transport-independent part of a check: what to send, what came back, how fast.

    Sans-IO: methods take the current time and return the payloads to send now; nothing
    here reads a clock or touches a socket, so every path (a flipped byte, a short echo, a
    timeout) is tested with plain calls. Subclasses match replies: L{StreamCheck} for a
    byte stream, L{DatagramCheck} for datagrams.

    @ivar sent: messages sent so far (they are sent in index order).
    @ivar verified: messages echoed back intact.
    @ivar failed: messages that were not; the first L{KEPT_FAILURES} are in C{failures}.
    @ivar rtts: round-trip seconds of the verified messages, in completion order.
    """

    transport_kind = "stream"

    def __init__(
        self,
        count: int,
        size: int,
        *,
        window: int = 1,
        timeout: float = DEFAULT_TIMEOUT,
        seed: int = 0,
    ) -> None:
        if count < 1 or size < 1 or window < 1 or timeout <= 0:
            raise ValueError(
                f"count={count}, size={size}, window={window} must be at least 1 "
                f"and timeout={timeout} more than 0"
            )
        self._check_arguments(count, size)
        self.count = count
        self.size = size
        self.window = window
        self.timeout = timeout
        self.seed = seed
        self._rng = random.Random(seed)
        self.sent = 0
        self.verified = 0
        self.failed = 0
        self.failures: list[CheckFailure] = []
        self.rtts: list[float] = []
        self.started_at: float | None = None
        self.settled_at: float | None = None
        self.aborted: str | None = None
        self._begin()

    # What subclasses provide.

    @staticmethod
    def _check_arguments(count: int, size: int) -> None:
        """Raise L{ValueError} for what this transport cannot check (after the shared tests)."""

    def _begin(self) -> None:
        """Set up this transport's own state (the base's is set)."""

    @property
    def in_flight(self) -> int:
        """Messages sent and not settled yet."""
        raise NotImplementedError

    def next_deadline(self) -> float | None:
        """When the oldest message in flight times out (L{None}: nothing in flight)."""
        raise NotImplementedError

    def _track(self, index: int, payload: bytes, now: float) -> None:
        raise NotImplementedError

    # Shared.

    def payload(self, index: int) -> bytes:
        """
        The payload of message C{index}, drawn from the seeded generator.

        Messages are drawn in index order only, so a seed always means the same bytes.
        """
        if index != self.sent:
            raise ValueError(f"payload {index} asked for, {self.sent} is next")
        return self._rng.randbytes(self.size)

    def start(self, now: float) -> list[bytes]:
        """Begin at C{now}: the first window of payloads to send."""
        if self.started_at is not None:
            raise RuntimeError("check already started")
        self.started_at = now
        return self._refill(now)

    @property
    def done(self) -> bool:
        """Nothing more will happen: every message settled, or the check was aborted."""
        return self.aborted is not None or (self.sent == self.count and self.in_flight == 0)

    @property
    def ok(self) -> bool:
        """Every message was echoed back intact (and nothing else came back)."""
        return self.verified == self.count and not self.unexpected

    @property
    def unexpected(self) -> int:
        """Units (bytes or datagrams) that came back and matched nothing sent."""
        return 0

    def _refill(self, now: float) -> list[bytes]:
        out = []
        while self.aborted is None and self.sent < self.count and self.in_flight < self.window:
            index = self.sent
            payload = self.payload(index)
            self._track(index, payload, now)
            self.sent += 1
            out.append(payload)
        return out

    def _verify(self, message: _InFlight, now: float) -> None:
        self.verified += 1
        self.rtts.append(now - message.sent_at)
        self.settled_at = now

    def _fail(self, index: int, reason: str, now: float, offset: int | None = None) -> None:
        self.failed += 1
        if len(self.failures) < KEPT_FAILURES:
            self.failures.append(CheckFailure(index, reason, offset))
        self.settled_at = now

    def statistics(self) -> Statistics:
        """Round trips of the verified messages and the throughput so far."""
        elapsed = 0.0
        if self.started_at is not None and self.settled_at is not None:
            elapsed = self.settled_at - self.started_at
        return summarize(self.rtts, self.verified * self.size, elapsed)

    def report(self, label: str) -> list[str]:
        """The summary for stdout: counts, then round trips and throughput."""
        head = f"echo {label}: {self.verified} of {self.count} messages verified"
        extra = []
        if self.failed:
            extra.append(f"{self.failed} failed")
        if self.sent < self.count:
            extra.append(f"{self.count - self.sent} not sent")
        extra += self._extra_counts()
        if extra:
            head += ", " + ", ".join(extra)
        head += f" (size {self.size}, window {self.window}, seed {self.seed})"
        return [head, *self.statistics().lines()]

    def _extra_counts(self) -> list[str]:
        return []

    def problems(self) -> list[str]:
        """One line per problem, for stderr; empty when L{ok}."""
        lines = []
        if self.aborted is not None:
            lines.append(f"check aborted: {self.aborted}")
        lines += [str(f) for f in self.failures]
        if self.failed > len(self.failures):
            lines.append(f"... and {self.failed - len(self.failures)} more failed messages")
        if self.unexpected:
            lines.append(self._unexpected_text())
        if not self.ok:
            lines.append(
                f"check failed: {self.count - self.verified} of {self.count} messages not "
                f"verified (--seed {self.seed} sends the same payloads again)"
            )
        return lines

    def _unexpected_text(self) -> str:
        return f"{self.unexpected} unexpected units"


class StreamCheck(CheckSession):
    """
    A check over a byte stream (TCP, TLS): echoes come back in order, cut anywhere.

    Received bytes are laid against the messages in flight, oldest first, so a message is
    verified when its last byte has come back and matched. A wrong byte fails its message
    (first bad offset reported) and checking goes on, since positions still line up. A
    message not back within C{timeout} aborts the check: over a stream, nothing after a
    missing byte can be matched.
    """

    def _begin(self) -> None:
        self._queue: deque[_InFlight] = deque()
        self.extra_bytes = 0

    @property
    def in_flight(self) -> int:
        return len(self._queue)

    @property
    def unexpected(self) -> int:
        return self.extra_bytes

    def next_deadline(self) -> float | None:
        return self._queue[0].sent_at + self.timeout if self._queue else None

    def _track(self, index: int, payload: bytes, now: float) -> None:
        self._queue.append(_InFlight(index, memoryview(payload), now))

    def received(self, data: bytes, now: float) -> list[bytes]:
        """Bytes came back at C{now}: match them; returns the payloads to send next."""
        view = memoryview(data)
        pos = 0
        while pos < len(view):
            if not self._queue:
                # More came back than was sent (or than is in flight): nothing to match.
                self.extra_bytes += len(view) - pos
                self.settled_at = now
                break
            message = self._queue[0]
            take = min(len(message.payload) - message.got, len(view) - pos)
            chunk = view[pos : pos + take]
            expected = message.payload[message.got : message.got + take]
            if not message.bad and chunk != expected:
                at = _first_difference(chunk, expected)
                message.bad = True
                self._fail(
                    message.index,
                    f"got byte 0x{chunk[at]:02x}, expected 0x{expected[at]:02x}",
                    now,
                    offset=message.got + at,
                )
            message.got += take
            pos += take
            if message.got == len(message.payload):
                self._queue.popleft()
                if not message.bad:
                    self._verify(message, now)
        return self._refill(now)

    def expire(self, now: float) -> list[bytes]:
        """Time passed: if the oldest message is overdue, abort (see the class docstring)."""
        if self._queue and now >= self._queue[0].sent_at + self.timeout:
            head = self._queue[0]
            self._abort(
                f"no echo for {self.timeout:g}s",
                f"timed out after {self.timeout:g}s with {head.got} of {self.size} bytes echoed",
                now,
            )
        return []

    def connection_lost(self, now: float, why: str = "connection closed") -> None:
        """The stream ended at C{now}; whatever was still in flight failed."""
        if self.done:
            return
        head = self._queue[0] if self._queue else None
        got = f" with {head.got} of {self.size} bytes echoed" if head else ""
        self._abort(why, f"{why}{got}", now)

    def _abort(self, why: str, head_reason: str, now: float) -> None:
        self.aborted = why
        if self._queue:
            head = self._queue.popleft()
            if not head.bad:
                self._fail(head.index, head_reason, now, offset=head.got)
            for message in self._queue:
                if not message.bad:
                    self._fail(message.index, "not echoed", now, offset=message.got)
            self._queue.clear()
        self.settled_at = now

    def _unexpected_text(self) -> str:
        return f"{self.extra_bytes} unexpected byte(s) echoed beyond what was sent"


class DatagramCheck(CheckSession):
    """
    A check over datagrams (UDP): each message is one datagram, replies in any order.

    Each payload starts with its index (L{INDEX_BYTES}, big endian) so a reply is matched
    to its message; a reply must be the whole payload, byte for byte. A message without a
    reply within C{timeout} is lost: it fails and frees its place in the window, since
    over UDP a lost datagram stops nothing else. Replies that come after that, or twice,
    are counted as late and otherwise ignored.
    """

    transport_kind = "datagram"

    @staticmethod
    def _check_arguments(count: int, size: int) -> None:
        if not INDEX_BYTES <= size <= MAX_DATAGRAM:
            raise ValueError(
                f"size={size}: a check datagram holds {INDEX_BYTES} to {MAX_DATAGRAM} bytes"
            )
        if count > 2 ** (8 * INDEX_BYTES):
            raise ValueError(f"count={count}: at most {2 ** (8 * INDEX_BYTES)} datagrams")

    def _begin(self) -> None:
        self._flying: dict[int, _InFlight] = {}  # in send order, so the first is oldest
        self.lost = 0
        self.late = 0
        self.strays = 0
        self.was_refused = False

    @property
    def in_flight(self) -> int:
        return len(self._flying)

    @property
    def unexpected(self) -> int:
        return self.strays

    def next_deadline(self) -> float | None:
        for message in self._flying.values():
            return message.sent_at + self.timeout
        return None

    def payload(self, index: int) -> bytes:
        """The random payload of L{CheckSession.payload} with C{index} over its start."""
        body = super().payload(index)
        return index.to_bytes(INDEX_BYTES, "big") + body[INDEX_BYTES:]

    def _track(self, index: int, payload: bytes, now: float) -> None:
        self._flying[index] = _InFlight(index, memoryview(payload), now)

    def received(self, datagram: bytes, now: float) -> list[bytes]:
        """A reply came at C{now}: match it by its index; returns the payloads to send next."""
        if len(datagram) < INDEX_BYTES:
            self.strays += 1
            return []
        index = int.from_bytes(datagram[:INDEX_BYTES], "big")
        message = self._flying.pop(index, None)
        if message is None:
            if index < self.sent:
                self.late += 1
            else:
                self.strays += 1
            return []
        expected = message.payload
        if len(datagram) != len(expected) or datagram != expected:
            at = _first_difference(datagram, expected)
            if at < min(len(datagram), len(expected)):
                reason = f"got byte 0x{datagram[at]:02x}, expected 0x{expected[at]:02x}"
            else:
                reason = f"echoed {len(datagram)} bytes, expected {len(expected)}"
            self._fail(index, reason, now, offset=at)
        else:
            self._verify(message, now)
        return self._refill(now)

    def expire(self, now: float) -> list[bytes]:
        """Declare lost every message older than C{timeout}; returns what to send instead."""
        while self._flying:
            index, message = next(iter(self._flying.items()))
            if now < message.sent_at + self.timeout:
                break
            del self._flying[index]
            self.lost += 1
            self._fail(index, f"lost: no echo within {self.timeout:g}s", now)
        return self._refill(now)

    def refused(self, now: float) -> None:
        """The server's host said nothing listens there (ICMP port unreachable)."""
        self.was_refused = True
        self.aborted = "connection refused (nothing listening on that UDP port?)"
        for index in list(self._flying):
            self._fail(index, "not echoed (connection refused)", now)
        self._flying.clear()
        self.settled_at = now

    def _extra_counts(self) -> list[str]:
        extra = [f"{self.lost} lost"]
        if self.late:
            extra.append(f"{self.late} late")
        return extra

    def _unexpected_text(self) -> str:
        return f"{self.strays} datagram(s) came back that match no message sent"
