"""
What the chat hub's backbone needs from a shared store, and nothing more.

The backbone (L{netsuite.chat._backbone}) makes several netsuite processes one hub. It
keeps its logic (ordering, dedupe, leases, what to resend after a fault) to itself and
asks a L{Store} for a handful of primitives, each one Redis command or one Lua script:
L{netsuite.chat._redis_store.RedisStore} is the real one (txredisapi), and
L{netsuite.testing.chatstore.MemoryStore} an in-memory twin with the same semantics,
so the backbone is tested without a server and the two are held to one contract
(C{tests/chat/test_store_contract.py} runs the same tests on both).

Every method returns a L{Deferred}; a failure means the store is unreachable or
misbehaving (the backbone then degrades and reconnects). Names are Redis key names
under one prefix (default C{"ns:"}), so one Redis can carry several suites:

    - C{{prefix}room:{name}} -- a room's stream: every room event, in the one order
      every process delivers them in; C{MAXLEN ~} caps it (it is also the history);
    - C{{prefix}inbox:{proc}} -- a process's stream: private messages to its members,
      and its own wake-ups (an entry it adds so that a blocked L{Store.read} returns);
    - C{{prefix}presence} -- a stream of nick claims and releases, for fast mirrors;
    - C{{prefix}proc:{proc}} -- a process's lease: present while the process lives;
    - C{{prefix}nicks} -- a hash, folded nick -> C{proc SP nick};
    - C{{prefix}members:{room}} -- a hash, folded nick -> C{proc SP door SP nick};
    - C{{prefix}meta:{room}} -- a hash: C{topic}, C{topic_by}, C{created}, C{modes}
      (the room's modes and roles, L{netsuite.chat._modes_wire});
    - C{{prefix}rooms} -- a set of room names (as first written).

Room names are the folded names (L{netsuite.chat._names.fold}) in keys; stream entry
fields are the backbone's business (short ASCII keys, UTF-8 values).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from twisted.internet.defer import Deferred

__all__ = ["Entry", "RoomListing", "RoomSnapshot", "Snapshot", "Store", "StoreError"]

#: One stream entry: its id (C{"1700000000000-0"}) and its fields.
Entry = tuple[str, dict[str, str]]


class StoreError(Exception):
    """The store refused or failed a request (the connection is usually gone)."""


@dataclass(frozen=True)
class RoomSnapshot:
    """A room as the store holds it: topic, creation time and every process's members."""

    name: str
    topic: str = ""
    topic_by: str = ""
    created: float = 0.0
    #: the room's modes and roles as JSON (L{netsuite.chat._modes_wire}); "" if unset
    modes: str = ""
    #: folded nick -> (proc, door, nick as written)
    members: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class RoomListing:
    """A room as a listing shows it (IRC LIST, C{/rooms}, C{/api/chat/rooms})."""

    #: members on processes whose lease holds
    members: int
    topic: str = ""
    created: float = 0.0


@dataclass(frozen=True)
class Snapshot:
    """The shared state at one moment: who holds which nick, and which processes live."""

    #: folded nick -> (proc, nick as written), for every claim whose process is alive
    nicks: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    #: processes named by a claim or a membership whose lease has run out
    dead: frozenset[str] = frozenset()
    #: room name as first written, for every room in C{rooms}
    rooms: tuple[str, ...] = ()
    #: room name as first written -> its listing, for every room in C{rooms}; what
    #: shows the rooms no member of this process is in
    listing: Mapping[str, RoomListing] = field(default_factory=dict)


class Store(Protocol):
    """The primitives the backbone uses (see the module docstring for the key layout)."""

    def connect(self) -> Deferred[str]:
        """
        (Re)connect; fire with the server's run id (Redis C{INFO server} C{run_id}),
        which changes when the server restarted and lost what it held in memory.
        """

    def close(self) -> Deferred[None]:
        """Disconnect (a blocked L{read} fails with L{StoreError})."""

    def append(self, stream: str, fields: Mapping[str, str], maxlen: int) -> Deferred[str]:
        """C{XADD stream MAXLEN ~ maxlen * fields}: fire with the new entry's id."""

    def tail(self, stream: str, count: int) -> Deferred[list[Entry]]:
        """The last C{count} entries of C{stream}, oldest first (C{XREVRANGE}, reversed)."""

    def read(
        self, positions: Mapping[str, str], block: float, count: int
    ) -> Deferred[list[tuple[str, Entry]]]:
        """
        Entries after each stream's position, as (stream, entry), each stream's in order
        (C{XREAD COUNT count BLOCK ms STREAMS ...}), on a connection of its own so it
        may block; C{block} 0 returns at once. Fire with C{[]} when nothing came.
        A position C{"0-0"} reads a stream from its start.
        """

    def lease(self, proc: str, seconds: float) -> Deferred[None]:
        """Hold (or renew) process C{proc}'s lease for C{seconds} (C{SET ... PX})."""

    def claim(self, proc: str, folded: str, nick: str) -> Deferred[bool]:
        """
        Atomically: C{folded} becomes C{proc}'s (nick as written C{nick}) if no one holds
        it, if C{proc} does, or if its holder's lease has run out; True if C{proc} holds
        it afterwards. Announced on the presence stream.
        """

    def release(self, proc: str, folded: str) -> Deferred[None]:
        """Atomically: drop the claim on C{folded} if C{proc} holds it."""

    def snapshot(self) -> Deferred[Snapshot]:
        """Every live claim, the dead processes, the rooms (one script, one round trip)."""

    def room(self, name: str) -> Deferred[RoomSnapshot]:
        """Room C{name}'s topic, creation time and members (C{name} folded or not)."""

    def add_member(self, room: str, proc: str, door: str, nick: str) -> Deferred[None]:
        """C{room} gains C{nick} on C{proc}; the room is created (C{rooms}, C{created})."""

    def remove_member(self, room: str, folded: str) -> Deferred[None]:
        """C{room} loses the member C{folded}; an empty room's meta goes with it."""

    def set_topic(self, room: str, topic: str, by: str) -> Deferred[None]:
        """Room C{room}'s topic."""

    def set_modes(self, room: str, modes: str) -> Deferred[None]:
        """Room C{room}'s modes and roles (the JSON of L{netsuite.chat._modes_wire})."""

    def reap(self, proc: str) -> Deferred[list[tuple[str, str]]]:
        """
        Atomically, if C{proc}'s lease has run out: remove all its claims and room
        memberships; fire with the (room, nick as written) memberships removed. A second
        caller (another process reaping the same one) gets C{[]}, so each departure is
        announced once. A live C{proc} is left alone (C{[]}).
        """
