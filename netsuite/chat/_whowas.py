"""
The hub's memory of nicks that were: who left (QUIT, a lost connection, KILL) or took
another nick, for IRC's C{WHOWAS} (RFC 2812 3.6.3, Modern IRC "WHOWAS message").

L{Whowas} is sans-IO and bounded: it keeps the last C{limit} departures, oldest dropped
first, each entry a few short strings (a nick, a user name and a real name, each already
cut by the doors to their own limits), so that its memory is at most C{limit} small
entries whatever people do. A lookup walks the entries newest first, as the RFC asks
("the history is searched backward, returning the most recent entry first"); at the
default bound that is a few hundred comparisons, done only when someone asks.

The hub records every member of this process on every door (L{Hub.quit},
L{Hub.rename}); a member of another process is recorded by its own process, so with a
backbone each process remembers its own members' departures.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from netsuite.chat._names import fold

__all__ = ["WHOWAS_MAX", "Departed", "Whowas"]

#: Departures kept by default (C{--whowas}; Ergo keeps 100 too).
WHOWAS_MAX = 100


@dataclass(frozen=True)
class Departed:
    """
    One nick that was: as WHOWAS shows it (314 and 312).

    @ivar nick: the nick as it was spelled.
    @ivar user: the user name it had (IRC's USER; another door's members: the nick).
    @ivar realname: its real name (another door's members: C{via the <door> door}).
    @ivar door: the door it came through.
    @ivar when: when it left or was renamed (the hub's clock).
    """

    nick: str
    user: str
    realname: str
    door: str
    when: float


class Whowas:
    """The last C{limit} departed or renamed nicks, newest last (0: none kept)."""

    def __init__(self, limit: int = WHOWAS_MAX) -> None:
        if limit < 0:
            raise ValueError(f"whowas must be 0 (off) or more entries, not {limit}")
        self.limit = limit
        self._entries: deque[Departed] = deque(maxlen=limit or 1)

    def __len__(self) -> int:
        return len(self._entries) if self.limit else 0

    def record(self, member: Any, nick: str, when: float) -> None:
        """C{member} no longer goes by C{nick} (it left, or it took another nick)."""
        if not self.limit:
            return
        user = getattr(member, "username", "") or nick
        realname = getattr(member, "realname", "") or f"via the {member.door} door"
        self._entries.append(Departed(nick, user, realname, member.door, when))

    def lookup(self, nicks: Iterable[str], count: int = 0) -> list[Departed]:
        """
        The entries for any of C{nicks} (case-folded), newest first, at most C{count}
        for each nick (0 or less: all of them, as the RFC says of a non-positive count).
        """
        wanted = {fold(n): 0 for n in nicks}
        found = []
        for entry in reversed(self._entries):
            key = fold(entry.nick)
            seen = wanted.get(key)
            if seen is None or (count > 0 and seen >= count):
                continue
            wanted[key] = seen + 1
            found.append(entry)
        return found
