"""
Input pacing and error budgets for one chat connection, with no I/O.

L{InputPacer} is what IRC servers call I{fake lag}: lines beyond the member's rate are
not dropped but wait in a bounded queue and run at the rate, so a pasted code snippet
(40 lines at once) arrives a few seconds late instead of getting its author kicked. Only
a queue overflow (a client that keeps sending faster than the rate for
C{queue_max / rate} seconds) ends the connection.

L{ErrorBudget} bounds what a peer's bad input costs the server's output: a few error
replies per window, then silence, then a disconnect. Without it, 1 MiB of random bytes
on the line door drew about 160 KB of error lines back (amplification) and the peer
stayed connected.

Both read time from an injected C{clock} (seconds); the door's adapter owns the timer
that calls L{InputPacer.due} (L{netsuite.chat._door.ChatDoor}).
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from netsuite.limits._policy import TokenBucket

if TYPE_CHECKING:
    from netsuite.chat._hub import Hub

__all__ = [
    "ERROR_LIMIT",
    "ERROR_REPLIES",
    "ERROR_WINDOW",
    "FLOOD_QUEUE",
    "ErrorBudget",
    "InputPacer",
    "Pace",
    "PacedInput",
    "Verdict",
]

#: Lines a member may have waiting for their turn before it is cut off for flooding. At
#: the default 5 lines a second, 100 lines are 20 s of lag: under the IRC door's ping
#: timeout, far over any paste.
FLOOD_QUEUE = 100

#: Error replies one peer gets per L{ERROR_WINDOW}; the others in the window are silent.
ERROR_REPLIES = 10
#: The error budget's window, in seconds.
ERROR_WINDOW = 10.0
#: Errors within one window that end the connection ("too many errors"): a client
#: that makes 50 mistakes in 10 seconds is not typing, it is sending garbage.
ERROR_LIMIT = 50

#: Rounding slack: a token refilled to 0.9999999999 by float arithmetic counts as one.
_SLACK = 1e-9


class Pace(enum.Enum):
    """What L{InputPacer.push} decided for one line."""

    RUN = "run"  #: within the rate: run it now
    QUEUED = "queued"  #: waiting its turn (the member was told when throttling began)
    STARTED = "started"  #: queued, the first one: tell the member it is being slowed
    OVERFLOW = "overflow"  #: the queue is full: the member floods; cut it off


class InputPacer:
    """
    One member's input at C{rate} lines a second (C{burst} at once), excess queued.

    @ivar queue_max: lines that may wait before L{push} answers L{Pace.OVERFLOW}.
    """

    #: One per connection: no per-instance __dict__.
    __slots__ = (
        "bucket",
        "burst",
        "clock",
        "queue",
        "queue_max",
        "rate",
        "throttled",
    )

    def __init__(
        self, rate: float, burst: float, queue_max: int, clock: Callable[[], float]
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.queue_max = queue_max
        self.clock = clock
        #: Made on the first line: a bucket starts full and a full one stays full, so
        #: one made later holds what one made at the connection would (an idle member
        #: costs no bucket).
        self.bucket: TokenBucket | None = None
        #: The lines waiting their turn; made when the first waits, dropped once empty
        #: (an empty deque is 760 bytes: 7 MiB for 10,000 idle members).
        self.queue: deque[bytes] | None = None
        self.throttled = False

    def push(self, line: bytes) -> Pace:
        """Take one received line: run it now, queue it, or say the queue overflowed."""
        queue = self.queue
        if not queue:
            bucket = self.bucket
            if bucket is None:
                bucket = self.bucket = TokenBucket(self.rate, self.burst, stamp=self.clock())
            if bucket.take(1 - _SLACK, self.clock()):
                self.throttled = False
                return Pace.RUN
            if queue is None:
                queue = self.queue = deque()
        if len(queue) >= self.queue_max:
            return Pace.OVERFLOW
        queue.append(line)
        if self.throttled:
            return Pace.QUEUED
        self.throttled = True
        return Pace.STARTED

    def due(self) -> Iterator[bytes]:
        """The queued lines whose turn has come, oldest first (each one popped as taken)."""
        queue = self.queue
        if not queue:
            return
        bucket = self.bucket
        assert bucket is not None  # a line waits only after the bucket said no
        while queue and bucket.take(1 - _SLACK, self.clock()):
            yield queue.popleft()
        if not queue and self.queue is queue:  # all run: give the deque back
            self.queue = None

    def wait(self) -> float | None:
        """Seconds until the next queued line's turn; L{None} with nothing queued."""
        bucket = self.bucket
        if not self.queue or bucket is None:
            return None
        tokens = min(bucket.burst, bucket.tokens + (self.clock() - bucket.stamp) * bucket.rate)
        return max(0.0, (1 - _SLACK - tokens) / bucket.rate)


class Verdict(enum.Enum):
    """What L{ErrorBudget.error} decided for one error reply."""

    REPLY = "reply"  #: send it
    SILENT = "silent"  #: over the window's reply budget: send nothing
    DISCONNECT = "disconnect"  #: too many errors: close the connection


class ErrorBudget:
    """
    Error replies to one peer: C{replies} per C{window} seconds, then silence; the
    C{limit}th error within one window disconnects.
    """

    #: One per connection: no per-instance __dict__.
    __slots__ = (
        "clock",
        "count",
        "limit",
        "replies",
        "silenced",
        "start",
        "window",
    )

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        replies: int = ERROR_REPLIES,
        window: float = ERROR_WINDOW,
        limit: int = ERROR_LIMIT,
    ) -> None:
        self.clock = clock
        self.replies = replies
        self.window = window
        self.limit = limit
        self.start = clock()
        self.count = 0
        #: Error replies not sent (silenced) since the connection began.
        self.silenced = 0

    def error(self) -> Verdict:
        """One more error: whether to reply, stay silent, or disconnect."""
        now = self.clock()
        if now - self.start >= self.window:
            self.start, self.count = now, 0
        self.count += 1
        if self.count >= self.limit:
            return Verdict.DISCONNECT
        if self.count <= self.replies:
            return Verdict.REPLY
        self.silenced += 1
        return Verdict.SILENT


class PacedInput:
    """
    Fake lag, as both text doors' sessions run it: a line within the rate runs now, the
    rest wait in the member's L{InputPacer} and run at the rate (L{release}, from the
    door's timer); one notice when the queue starts, the member cut off when it
    overflows.

    A session provides C{pacer}, C{hub}, C{closed}, C{line_received(raw)}, C{end(reason)},
    C{slowed(text)} (its notice to the member), and its words for its link and its
    flood close (L{link}, L{flood_close}).
    """

    __slots__ = ()

    pacer: InputPacer
    hub: Hub
    closed: bool
    #: What the notice calls the member's connection.
    link = "connection"

    def line_received(self, raw: bytes) -> None:
        raise NotImplementedError

    def end(self, reason: str) -> None:
        raise NotImplementedError

    def slowed(self, text: str) -> None:
        raise NotImplementedError

    def flood_close(self, queued: int) -> str:
        """The reason the member is cut off with, C{queued} lines waiting."""
        return f"flooding ({queued} lines queued)"

    def paced_line(self, raw: bytes) -> None:
        """Run C{raw} now if within the rate, else queue it (L{InputPacer}; fake lag)."""
        pace = self.pacer.push(raw)
        if pace is Pace.RUN:
            self.line_received(raw)
        elif pace is Pace.STARTED:
            self.hub.counters["throttled"] += 1
            self.slowed(
                f"slow down: your lines are queued and run at {self.pacer.rate:g}/s "
                f"(more than {self.pacer.queue_max} waiting closes the {self.link})"
            )
        elif pace is Pace.OVERFLOW:
            self.hub.counters["disconnected.flood"] += 1
            self.end(self.flood_close(self.pacer.queue_max))

    def release(self) -> float | None:
        """
        Run the queued lines whose turn has come (the door's timer calls this); return
        the seconds until the next one's turn (L{None}: nothing waits).
        """
        for raw in self.pacer.due():
            if self.closed:
                return None
            self.line_received(raw)
        return None if self.closed else self.pacer.wait()
