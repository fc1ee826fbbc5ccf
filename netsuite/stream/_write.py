"""
The one write path of every netsuite door, and the cork that gathers a fan-out.

Why a write path of our own: Twisted's C{transport.write} only queues the bytes and
sends them on the next reactor turn (C{startWriting}, an epoll registration, C{doWrite}),
while asyncio sends at once and waits for writability only on C{EAGAIN}. L{send_now}
does what asyncio does when the transport's buffer is empty and hands everything else to
Twisted, so ordering, buffering and producer backpressure stay Twisted's. Measured on the
echo door it is worth about 1.4x (see C{bench/}). Doors that fan out (chat) wrap the
handling of each input chunk in L{corked}, so each member gets one write per chunk.

The cork is the doors' concern: the TLS layer below does not import it, it is handed
L{cork} and L{pop_cork} as plain callables (see L{netsuite.tls._listener}).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Protocol

from netsuite._twisted.tcp import direct_transport, send_now
from netsuite.limits._defaults import CORK_LIMIT

__all__ = [
    "CORK_LIMIT",
    "Uncorkable",
    "cork",
    "corked",
    "direct_transport",
    "hold",
    "pop_cork",
    "release_held",
    "send_now",
]


class Uncorkable(Protocol):
    """What the cork needs of a door: a way to send what it gathered."""

    def uncork(self) -> None: ...


class _Cork:
    """
    Process-wide cork state: how deep, which doors hold gathered bytes, and the
    release of what a fan-out holds back (L{hold}), if anything.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.doors: list[Uncorkable] = []
        self.held: Callable[[], None] | None = None


def release_held() -> None:
    """Run what L{hold} was given, once: a door is about to write, or the chunk ends."""
    release = _cork.held
    if release is not None:
        _cork.held = None
        release()


_cork = _Cork()


@contextlib.contextmanager
def corked() -> Iterator[None]:
    """
    Gather every door's writes until the outermost cork pops, then send each door's in
    one piece.

    Why: a chat message fans out to every member of a room, and one input chunk may hold
    dozens of messages. Sending each delivery at once costs a system call (and a wake-up
    of the reader) per member per message; gathering them costs one per member per chunk,
    as Twisted's own buffering would, without giving up sending in the same turn. What a
    door gathers is bounded by L{CORK_LIMIT}.
    """
    cork()
    try:
        yield
    finally:
        pop_cork()


def cork() -> None:
    """L{corked} without the context manager, for hot paths: pair with L{pop_cork}."""
    _cork.depth += 1


def hold(release: Callable[[], None]) -> bool:
    """
    While corked, have C{release} run before any door's next write and before the
    outermost cork pops (its writes gathered with the rest); True. Not corked: False,
    and nothing is held. The chat hub holds a room's messages this way
    (L{netsuite.chat._fanout}).
    """
    if not _cork.depth:
        return False
    if _cork.held is not release:
        release_held()
        _cork.held = release
    return True


def pop_cork() -> None:
    """End one L{cork}; the outermost sends what every door gathered."""
    if _cork.depth == 1 and _cork.held is not None:
        try:
            release_held()  # still corked: what it tells is gathered, then sent below
        finally:
            _cork.depth -= 1
    else:
        _cork.depth -= 1
    if not _cork.depth and _cork.doors:
        doors, _cork.doors = _cork.doors, []
        # Every door sends, whatever one of them raises: a door left with gathered bytes
        # would never be listed again (it lists itself when it starts gathering), and so
        # would never send what it gathered, nor anything it gathers after.
        raised: Exception | None = None
        for door in doors:
            try:
                door.uncork()
            except Exception as e:
                raised = raised or e
        if raised is not None:
            raise raised
