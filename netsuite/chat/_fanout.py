"""
Room messages held while one input chunk runs, then fanned out once per member.

Why: one chunk a member sends may hold dozens of messages to one room. Telling each
member of each message costs a Python call chain per member per message (the hub's
loop, the session's C{deliver}, its outbox, its door), about 0.7 us each: at 50 members
and 30 messages a chunk, 1,500 of them. Held and told as one L{SaidBatch}, it is one
call per member per chunk, and a door that knows batches (the line door) sends the
batch's bytes, encoded once for everyone, in one piece.

Order is kept: the hub releases what it holds before anything else it tells anyone (a
join, a part, a private message, a mode) and before it changes a room's members, and
the door's cork (L{netsuite.stream._write.hold}) releases it before any door writes
anything of its own (a reply, an error) and when the chunk ends. So every member sees
exactly the sequence it would have seen had each message been told at once.

No I/O here: C{hold} is given by whoever runs the hub (the chat service gives the
door's cork); without one, nothing is held.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from netsuite.chat._events import ChatEvent, Said

#: C{hold(release)}: True if C{release} will be called before the next write and at the
#: end of the input chunk (so messages may be held until then), False to tell at once.
Hold = Callable[[Callable[[], None]], bool]


class SaidBatch:
    """
    Consecutive messages to one room, for one member's C{deliver_many}. Like a
    L{ChatEvent}, it is encoded once per format, however many members receive it.
    """

    __slots__ = ("_wire", "events")

    def __init__(self, events: list[Said]) -> None:
        self.events = events
        self._wire: dict[str, Any] = {}

    def encoded(self, fmt: str, render: Callable[[ChatEvent], bytes]) -> bytes:
        """Every message's C{render} (each cached on its event), joined, once per C{fmt}."""
        data = self._wire.get(fmt)
        if data is None:
            data = self._wire[fmt] = b"".join(e.encoded(fmt, render) for e in self.events)
        return data


class Fanout:
    """
    What the hub holds: the messages to one room since the last release, and who is to
    be told them (a room's members, looked up at release: any change to them releases
    first, so it is the same set as when each was said).
    """

    __slots__ = ("_events", "_told", "hold")

    def __init__(self, hold: Hold | None = None) -> None:
        self.hold = hold
        self._told: Mapping[int, Any] | None = None
        self._events: list[Said] = []

    def add(self, told: Mapping[int, Any], said: Said) -> bool:
        """Hold C{said} for C{told} (True), or False: the caller tells it now."""
        if self._told is told:
            self._events.append(said)
            return True
        self.release()
        if self.hold is None or not self.hold(self.release):
            return False
        self._told, self._events = told, [said]
        return True

    def release(self) -> None:
        """Tell everything held, now: one C{deliver_many} (or C{deliver}s) per member."""
        told = self._told
        if told is None:
            return
        events, self._told, self._events = self._events, None, []
        members = list(told.values())
        if len(events) == 1:
            [said] = events
            for m in members:
                m.deliver(said)
            return
        batch = SaidBatch(events)
        for m in members:
            many = getattr(m, "deliver_many", None)
            if many is not None:
                many(batch)
            else:
                for said in events:
                    m.deliver(said)
