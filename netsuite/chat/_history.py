"""
Queries on a room's history, with no I/O: what IRCv3 C{draft/chathistory} asks for
(ircv3.net/specs/extensions/chathistory), over the hub's kept messages.

The hub keeps each room's last messages (L{netsuite.chat._hub.Hub.recent}); this module
answers LATEST, BEFORE, AFTER, AROUND and BETWEEN over them, with C{msgid=} and
C{timestamp=} selectors (and C{*} for LATEST). It knows nothing of IRC's wire: the IRC
door parses the command and renders the answer, and the line door or the web page can
ask the same questions of the same history (L{query}).

Choices the specification leaves open, made as Ergo makes them:

  - Bounds are exclusive: BEFORE/AFTER/BETWEEN never return the selected message.
  - AROUND returns the selected message (by msgid; by timestamp, the first message at
    or after it) with C{limit // 2} messages before it, the rest after.
  - BETWEEN with its first selector after its second counts from the first, backwards:
    the messages nearest the first selector, still oldest first.
  - An unknown msgid selects nothing (an empty answer, not an error).
  - Times compare at the millisecond, the resolution of the C{time} tag clients see,
    so a timestamp copied from a message selects exactly that message.
"""

from __future__ import annotations

import bisect
import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass

from netsuite.chat._events import Said

__all__ = [
    "CHATHISTORY_MAX",
    "SUBCOMMANDS",
    "Selector",
    "millis",
    "msgid_of",
    "parse_selector",
    "query",
]

#: Most messages one query returns by default (C{--chathistory-max}; ISUPPORT
#: C{CHATHISTORY=}). More than a room keeps (C{--history}) is never there to return.
CHATHISTORY_MAX = 100

#: The subcommands L{query} answers (TARGETS is the door's: it spans rooms).
SUBCOMMANDS = ("LATEST", "BEFORE", "AFTER", "AROUND", "BETWEEN")

_TIMESTAMP = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?Z?\Z")


@dataclass(frozen=True)
class Selector:
    """C{msgid=...}, C{timestamp=...} (as milliseconds), or C{*} (LATEST only)."""

    kind: str  # "msgid", "timestamp" or "*"
    msgid: str = ""
    when: int = 0  # milliseconds since the epoch, for "timestamp"


def millis(when: float) -> int:
    """C{when} (seconds) in whole milliseconds, as the C{time} tag shows it."""
    return int(when * 1000)


def msgid_of(said: Said) -> str:
    """The msgid clients were shown for C{said} (the IRC door's C{msgid} tag)."""
    return said.mid or str(said.seq)


def parse_timestamp(text: str) -> int | None:
    """C{YYYY-MM-DDThh:mm:ss.sssZ} as milliseconds, or None if it is not one."""
    match = _TIMESTAMP.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        return None
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    fraction = (match.group(7) or "0").ljust(3, "0")[:3]
    return seconds * 1000 + int(fraction)


def parse_selector(text: str, *, star: bool = False) -> Selector | None:
    """A selector parameter, or None if malformed (C{*} only where C{star})."""
    if text == "*":
        return Selector("*") if star else None
    kind, eq, value = text.partition("=")
    if not eq or not value:
        return None
    if kind == "msgid":
        return Selector("msgid", msgid=value)
    if kind == "timestamp":
        when = parse_timestamp(value)
        return None if when is None else Selector("timestamp", when=when)
    return None


def _bounds(items: Sequence[Said], keys: list[int], sel: Selector) -> tuple[int, int] | None:
    """
    Where C{sel} cuts C{items}: (end of what is before it, start of what is after it),
    so C{items[:before]} precede it and C{items[after:]} follow it. None: unknown msgid.
    """
    if sel.kind == "timestamp":
        return bisect.bisect_left(keys, sel.when), bisect.bisect_right(keys, sel.when)
    for index in range(len(items) - 1, -1, -1):  # recent messages are asked for most
        if msgid_of(items[index]) == sel.msgid:
            return index, index + 1
    return None


def query(
    items: Sequence[Said], sub: str, first: Selector, limit: int, second: Selector | None = None
) -> list[Said]:
    """
    The messages of C{items} (a room's history, oldest first) that subcommand C{sub}
    selects, oldest first, at most C{limit} of them (C{limit} at least 1).
    """
    if limit < 1:
        return []
    items = list(items)  # a deque (the hub's history) does not slice
    if sub == "LATEST" and first.kind == "*":
        return list(items[-limit:])
    keys = [millis(said.when) for said in items]
    cut = _bounds(items, keys, first)
    if cut is None:
        return []
    before, after = cut
    if sub == "LATEST":
        return list(items[after:][-limit:])
    if sub == "BEFORE":
        return list(items[max(0, before - limit) : before])
    if sub == "AFTER":
        return list(items[after : after + limit])
    if sub == "AROUND":
        start = max(0, before - limit // 2)
        return list(items[start : start + limit])
    if sub == "BETWEEN" and second is not None:
        other = _bounds(items, keys, second)
        if other is None:
            return []
        if before <= other[0]:  # forwards: counted from the first selector on
            return list(items[after : other[0]][:limit])
        return list(items[other[1] : before][-limit:])  # backwards: nearest the first
    raise ValueError(f"unknown history subcommand {sub!r}")
