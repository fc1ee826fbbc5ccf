"""
Who watches which nick (IRCv3 MONITOR, ircv3.net/specs/extensions/monitor), with no I/O.

The hub owns one L{Monitors} and tells it when a nick comes online (a member connects,
or takes it by a rename) and goes offline (a quit, or a rename away from it), on every
door, so an IRC client monitoring C{alice} hears of her on the line door too. The index
is both ways: folded nick -> its watchers (what an event costs: one visit per watcher of
that nick, never a scan of every list) and watcher -> its nicks (what C{MONITOR L}, C{C}
and a watcher's own quit cost). Each watcher holds at most C{limit} nicks, so memory is
bounded by watchers times C{limit}.
"""

from __future__ import annotations

from typing import Protocol

from netsuite.chat._names import fold

__all__ = ["MONITOR_MAX", "Monitors", "Watcher"]

#: Nicks one client may monitor by default (C{--monitor-max}; Ergo's default is 100).
MONITOR_MAX = 100


class Watcher(Protocol):
    """A member that monitors nicks: told when one comes online or goes offline."""

    def presence(self, nick: str, online: bool) -> None: ...


class Monitors:
    """
    The watch lists of every watcher, both ways.

    @ivar limit: nicks one watcher may monitor (ISUPPORT C{MONITOR=<limit>}).
    """

    def __init__(self, limit: int = MONITOR_MAX) -> None:
        if limit < 0:
            raise ValueError(f"monitor limit must be 0 (off) or more nicks, not {limit}")
        self.limit = limit
        self._watchers: dict[str, dict[int, Watcher]] = {}  # folded nick -> watchers
        self._lists: dict[int, dict[str, str]] = {}  # id(watcher) -> folded -> as given

    def add(self, watcher: Watcher, nicks: list[str]) -> list[str]:
        """
        Watch C{nicks} (already checked as nicks) in order, until the list is full;
        return those that did not fit (MONITOR answers them with 734). Nicks already
        watched are no change and take no room.
        """
        mine = self._lists.setdefault(id(watcher), {})
        for index, nick in enumerate(nicks):
            key = fold(nick)
            if key in mine:
                continue
            if len(mine) >= self.limit:
                if not mine:
                    del self._lists[id(watcher)]
                return nicks[index:]
            mine[key] = nick
            self._watchers.setdefault(key, {})[id(watcher)] = watcher
        if not mine:
            del self._lists[id(watcher)]
        return []

    def remove(self, watcher: Watcher, nicks: list[str]) -> None:
        """Stop watching C{nicks} (those not watched are ignored)."""
        mine = self._lists.get(id(watcher))
        if mine is None:
            return
        for nick in nicks:
            key = fold(nick)
            if mine.pop(key, None) is not None:
                self._unwatch(key, watcher)
        if not mine:
            del self._lists[id(watcher)]

    def clear(self, watcher: object) -> None:
        """Forget C{watcher}'s whole list (MONITOR C, or the watcher leaving)."""
        mine = self._lists.pop(id(watcher), None)
        for key in mine or ():
            self._unwatch(key, watcher)

    def _unwatch(self, key: str, watcher: object) -> None:
        watchers = self._watchers.get(key)
        if watchers is not None:
            watchers.pop(id(watcher), None)
            if not watchers:
                del self._watchers[key]

    def targets(self, watcher: Watcher) -> list[str]:
        """The nicks C{watcher} monitors, as it gave them, in the order it added them."""
        return list(self._lists.get(id(watcher), {}).values())

    def changed(self, nick: str, online: bool) -> None:
        """C{nick} came online or went offline: tell its watchers (and only them)."""
        for watcher in list(self._watchers.get(fold(nick), {}).values()):
            watcher.presence(nick, online)

    def renamed(self, old: str, new: str) -> None:
        """A rename: C{old} goes offline, C{new} comes online (nothing for a case change)."""
        if fold(old) != fold(new):
            self.changed(old, False)
            self.changed(new, True)
