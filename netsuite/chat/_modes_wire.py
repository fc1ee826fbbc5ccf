"""
A room's modes and roles as one line of JSON, for the backbone's store.

A process that first joins a room another process holds reads the room's modes from
the store (C{meta:{room}} field C{modes}) instead of making its first member the
operator: rooms keep their modes and operators across processes. Roles are written by
folded nick, since member ids are per process; a nick that is not in the room when
the text is read gets nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable

from netsuite.chat._modes import LIST_MODES, MAX_LIST, ListEntry, RoomModes
from netsuite.chat._names import fold

__all__ = ["dump_modes", "load_modes"]


def dump_modes(modes: RoomModes, nick_of: Callable[[Hashable], str | None]) -> str:
    """C{modes} as JSON; C{nick_of} names a role holder (None: not a member, left out)."""

    def nicks(held: set[Hashable]) -> list[str]:
        return sorted(fold(n) for n in map(nick_of, held) if n)

    return json.dumps(
        {
            "f": "".join(sorted(modes.flags)),
            "k": modes.key,
            "l": modes.limit,
            "o": nicks(modes.ops),
            "v": nicks(modes.voices),
            **{c: [[e.mask, e.by, e.when] for e in modes.entries(c)] for c in LIST_MODES},
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def load_modes(
    text: str, id_of: Callable[[str], Hashable | None], *, max_list: int = MAX_LIST
) -> RoomModes:
    """The modes C{text} holds; C{id_of} finds a member by folded nick (None: not here)."""
    data = json.loads(text)
    modes = RoomModes(max_list=max_list)
    modes.flags = set(str(data.get("f", "")))
    modes.key = str(data.get("k", ""))
    modes.limit = int(data.get("l", 0))
    for char, held in (("o", modes.ops), ("v", modes.voices)):
        for nick in data.get(char, []):
            who = id_of(str(nick))
            if who is not None:
                held.add(who)
    for char in LIST_MODES:
        for mask, by, when in data.get(char, [])[:max_list]:
            modes.lists[char][fold(mask)] = ListEntry(str(mask), str(by), float(when))
    return modes
