"""
A bounded send queue for doors that fan out: chat members, WebSocket clients.

The transport's own buffer absorbs short stalls (Twisted pauses us, as a push producer,
once it holds more than its buffer size); past that, bytes wait here, counted. A peer
whose queue passes C{limit} bytes is a slow reader: it is cut off with a reason, and the
sender (a chat room) never waits for it nor grows memory for it.

The queue exists only while the consumer is behind: an idle member holds no deque (an
empty one is 760 bytes, which for 10,000 chat members was 7 MiB of nothing).

What is queued need not be bytes: a door that sends text messages passes C{size} (how many
bytes a message counts for, e.g. its UTF-8 length) and its own C{write}.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

__all__ = ["DoorOutbox", "Outbox", "OutboxDoor"]

T = TypeVar("T")


@implementer(IPushProducer)
class _Bounded(Generic[T]):
    """
    The queue, its bound and the producer's side; subclasses say where items go
    (C{write}), what they weigh (C{size}) and whom to tell of an overflow (C{overflow}).
    """

    __slots__ = ("_queue", "closed", "limit", "paused", "queued")

    write: Callable[[T], None]
    overflow: Callable[[str], None]
    size: Callable[[Any], int]

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.paused = False
        self.queued = 0
        self.closed = False
        #: What waits for the consumer; made on the first stall, dropped once drained.
        self._queue: deque[tuple[T, int]] | None = None

    def send(self, data: T) -> None:
        """Write now if the consumer is keeping up, else queue; overflow past the limit."""
        if self.closed:
            return
        if not self.paused:
            self.write(data)
            return
        size = self.size(data)
        queue = self._queue
        if queue is None:
            queue = self._queue = deque()
        queue.append((data, size))
        self.queued += size
        if self.queued > self.limit:
            self.closed = True
            self._queue = None
            self.queued = 0
            self.overflow(f"send queue exceeded ({self.limit} bytes)")

    def flush(self) -> None:
        """
        Closing: hand everything still queued to the transport (at most C{limit} bytes,
        which it sends before it closes), and take no more.
        """
        queue = self._queue
        while queue and not self.closed:
            self.write(queue.popleft()[0])
        self._queue = None
        self.queued = 0
        self.closed = True

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        """Drain the queue while the consumer accepts; it may pause us again midway."""
        self.paused = False
        queue = self._queue
        while queue and not self.paused and not self.closed:
            data, size = queue.popleft()
            self.queued -= size
            self.write(data)
        if not queue and self._queue is queue:  # caught up: give the deque back
            self._queue = None

    def stopProducing(self) -> None:
        self.closed = True
        self._queue = None
        self.queued = 0

    #: An outbox is its own C{send}: handed to a session as its way to send, it costs
    #: no bound method (64 bytes a member).
    __call__ = send


class Outbox(_Bounded[T]):
    """
    Write through C{write} while the consumer keeps up; queue (bounded) while it does not.

    Register it on the transport with C{transport.registerProducer(outbox, True)}.
    C{overflow(reason)} is called once when the queue passes C{limit} bytes, each item
    counting for C{size(item)} bytes (default: its C{len}).
    """

    #: One per connection: no per-instance __dict__.
    __slots__ = ("overflow", "size", "write")

    def __init__(
        self,
        write: Callable[[T], None],
        limit: int,
        overflow: Callable[[str], None],
        size: Callable[[Any], int] = len,
    ) -> None:
        super().__init__(limit)
        self.write = write
        self.overflow = overflow
        self.size = size


class OutboxDoor(Protocol):
    """What a L{DoorOutbox} needs of its door."""

    def write(self, data: bytes) -> None: ...

    def overflow(self, reason: str) -> None: ...


class DoorOutbox(_Bounded[bytes]):
    """
    An L{Outbox} of bytes for a door that writes them and is told of an overflow itself:
    it holds the door instead of two of the door's bound methods (128 bytes a member:
    1.2 MiB for 10,000 chat members).
    """

    __slots__ = ("door",)

    size = staticmethod(len)

    def __init__(self, door: OutboxDoor, limit: int) -> None:
        super().__init__(limit)
        self.door = door

    def write(self, data: bytes) -> None:
        self.door.write(data)

    def overflow(self, reason: str) -> None:
        self.door.overflow(reason)
