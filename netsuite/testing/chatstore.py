"""
The chat backbone's store in memory: L{MemoryStore}, the twin of
L{netsuite.chat._redis_store.RedisStore} on a clock a test moves.

It answers like a Redis server would, with every Deferred already fired, so the
backbone's logic is tested without a server and without waiting:
C{tests/chat/test_store_contract.py} holds both to the same tests. What a test can do
to it that a server does to the backbone:

  - L{MemoryStore.down} and L{MemoryStore.up}: the server unreachable, then back (what
    it held is kept, and leases keep running out by the clock meanwhile);
  - L{MemoryStore.restart}: a server without persistence restarting: a new run id,
    everything forgotten.

Either drops the connection, as a real outage would: requests (and a blocked read)
fail with L{StoreError} until the backbone calls L{MemoryStore.connect} again, which
itself fails while the store is down. Before the first L{connect}, and after L{close},
requests fail the same way.

Two differences from Redis, both on the safe side of what Redis promises:
C{MAXLEN ~} trims exactly (Redis's approximate trim keeps at least C{maxlen}, often
more), and a blocked read is answered within the L{MemoryStore.append} that wakes it.

The module is above 400 lines because it is one server (streams, hashes, leases and the
connections to them) whose semantics must match Redis's in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime

from netsuite.chat._names import fold
from netsuite.chat._redis_store import PRESENCE_MAXLEN, claim_fields, release_fields
from netsuite.chat._store import Entry, RoomListing, RoomSnapshot, Snapshot, StoreError

__all__ = ["MemoryStore"]

_T = TypeVar("_T")
StreamId = tuple[int, int]


def parse_id(text: str) -> StreamId:
    """C{"1700000000000-3"} (or C{"1700000000000"}, sequence 0) as a pair of ints."""
    ms, _, seq = text.partition("-")
    try:
        return int(ms), int(seq or 0)
    except ValueError:
        raise StoreError(f"ERR Invalid stream ID: {text!r}") from None


@dataclass
class _Stream:
    entries: list[tuple[StreamId, dict[str, str]]] = field(default_factory=list)
    last: StreamId = (0, 0)

    def after(self, position: StreamId, count: int) -> list[Entry]:
        found = [e for e in self.entries if e[0] > position][:count]
        return [(f"{i[0]}-{i[1]}", dict(f)) for i, f in found]


@dataclass
class _Read:
    positions: dict[str, StreamId]
    count: int
    done: Deferred[list[tuple[str, Entry]]]
    timer: IDelayedCall | None = None


class MemoryStore:
    """
    A L{netsuite.chat._store.Store} in memory, on C{clock} (an C{IReactorTime}, such as
    L{twisted.internet.task.Clock}); stream ids are C{ms-seq} from the clock, strictly
    increasing per stream like Redis's.
    """

    def __init__(self, clock: IReactorTime, prefix: str = "ns:") -> None:
        self.clock = clock
        self.prefix = prefix
        self.run_id = ""
        self.is_down = False
        self.connected = False
        self._restarts = 0
        self._reads: list[_Read] = []
        self._epoch = 0  # one more each time connections drop
        self._forget()

    def client(self) -> MemoryClient:
        """
        Another connection to this one server, as a second process would have: it
        connects, reconnects and closes on its own, and shares everything stored.
        """
        return MemoryClient(self)

    # -- what a test does to the server ---------------------------------------------

    def down(self) -> None:
        """The server becomes unreachable: every request fails until L{up}."""
        self.is_down = True
        self._drop("the store is down")

    def up(self) -> None:
        """The server is reachable again (L{connect} then works)."""
        self.is_down = False

    def restart(self) -> None:
        """The server restarts without persistence: new run id, nothing kept."""
        self._drop("the store restarted")
        self._forget()

    def _forget(self) -> None:
        self._restarts += 1
        self.run_id = f"{self._restarts:040x}"
        self._streams: dict[str, _Stream] = {}
        self._leases: dict[str, float] = {}
        self._hashes: dict[str, dict[str, str]] = {}
        self._rooms: list[str] = []

    def _drop(self, reason: str) -> None:
        self.connected = False
        self._epoch += 1
        reads, self._reads = self._reads, []
        for read in reads:
            if read.timer is not None and read.timer.active():
                read.timer.cancel()
            read.done.errback(StoreError(reason))

    def _answer(self, compute: Callable[[], _T]) -> Deferred[_T]:
        if self.is_down:
            return fail(StoreError("the store is down"))
        if not self.connected:
            return fail(StoreError("not connected"))
        try:
            return succeed(compute())
        except StoreError as e:
            return fail(e)

    # -- the Store ------------------------------------------------------------------

    def connect(self) -> Deferred[str]:
        if self.is_down:
            return fail(StoreError("connection refused: the store is down"))
        self._drop("reconnected")
        self.connected = True
        return succeed(self.run_id)

    def close(self) -> Deferred[None]:
        self._drop("connection closed")
        return succeed(None)

    def append(self, stream: str, fields: Mapping[str, str], maxlen: int) -> Deferred[str]:
        return self._answer(lambda: self._append(stream, fields, maxlen))

    def _append(self, stream: str, fields: Mapping[str, str], maxlen: int) -> str:
        if not fields:
            raise StoreError("ERR wrong number of arguments for 'xadd' command")
        s = self._streams.setdefault(stream, _Stream())
        ms = int(self.clock.seconds() * 1000)
        new = (ms, 0) if ms > s.last[0] else (s.last[0], s.last[1] + 1)
        s.last = new
        s.entries.append((new, dict(fields)))
        del s.entries[: max(0, len(s.entries) - maxlen)]
        self._wake(stream)
        return f"{new[0]}-{new[1]}"

    def tail(self, stream: str, count: int) -> Deferred[list[Entry]]:
        def compute() -> list[Entry]:
            s = self._streams.get(stream)
            return [] if s is None or count <= 0 else s.after((-1, 0), len(s.entries))[-count:]

        return self._answer(compute)

    def read(
        self, positions: Mapping[str, str], block: float, count: int
    ) -> Deferred[list[tuple[str, Entry]]]:
        if self.is_down or not self.connected:
            return self._answer(list)

        def start() -> dict[str, StreamId]:
            return {
                name: (self._streams[name].last if name in self._streams else (0, 0))
                if at == "$"
                else parse_id(at)
                for name, at in positions.items()
            }

        try:
            at = start()
        except StoreError as e:
            return fail(e)
        found = self._found(at, count)
        if found or block <= 0:
            return succeed(found)
        read = _Read(at, count, Deferred())
        self._reads.append(read)
        read.timer = self.clock.callLater(block, self._finish, read, [])
        return read.done

    def _found(self, at: Mapping[str, StreamId], count: int) -> list[tuple[str, Entry]]:
        return [
            (name, entry)
            for name, position in at.items()
            if name in self._streams
            for entry in self._streams[name].after(position, count)
        ]

    def _wake(self, stream: str) -> None:
        for read in [r for r in self._reads if stream in r.positions]:
            found = self._found(read.positions, read.count)
            if found:
                if read.timer is not None and read.timer.active():
                    read.timer.cancel()
                self._finish(read, found)

    def _finish(self, read: _Read, found: list[tuple[str, Entry]]) -> None:
        if read in self._reads:
            self._reads.remove(read)
            read.done.callback(found)

    def _live(self, proc: str) -> bool:
        return self._leases.get(proc, float("-inf")) > self.clock.seconds()

    def lease(self, proc: str, seconds: float) -> Deferred[None]:
        def compute() -> None:
            # SET ... PX takes whole milliseconds, at least one
            self._leases[proc] = self.clock.seconds() + max(1, int(seconds * 1000)) / 1000

        return self._answer(compute)

    def _hash(self, name: str) -> dict[str, str]:
        return self._hashes.setdefault(self.prefix + name, {})

    def _presence(self, fields: dict[str, str]) -> None:
        self._append(self.prefix + "presence", fields, PRESENCE_MAXLEN)

    def claim(self, proc: str, folded: str, nick: str) -> Deferred[bool]:
        def compute() -> bool:
            nicks = self._hash("nicks")
            held = nicks.get(folded)
            if held is not None:
                holder = held.split(" ", 1)[0]
                if holder != proc and self._live(holder):
                    return False
            value = f"{proc} {nick}"
            if held != value:
                nicks[folded] = value
                self._presence(claim_fields(proc, folded, nick))
            return True

        return self._answer(compute)

    def release(self, proc: str, folded: str) -> Deferred[None]:
        def compute() -> None:
            nicks = self._hash("nicks")
            held = nicks.get(folded)
            if held is not None and held.split(" ", 1)[0] == proc:
                del nicks[folded]
                self._presence(release_fields(proc, folded))

        return self._answer(compute)

    def snapshot(self) -> Deferred[Snapshot]:
        def compute() -> Snapshot:
            nicks: dict[str, tuple[str, str]] = {}
            named: set[str] = set()
            for folded, value in self._hash("nicks").items():
                proc, nick = value.split(" ", 1)
                named.add(proc)
                if self._live(proc):
                    nicks[folded] = (proc, nick)
            listing = {}
            for room in self._rooms:
                procs = [v.split(" ", 1)[0] for v in self._members(room).values()]
                named.update(procs)
                meta = self._hash("meta:" + fold(room))
                listing[room] = RoomListing(
                    sum(1 for p in procs if self._live(p)),
                    meta.get("topic", ""),
                    float(meta.get("created", 0)),
                )
            dead = frozenset(p for p in named if not self._live(p))
            rooms = tuple(sorted(self._rooms))
            return Snapshot(nicks=nicks, dead=dead, rooms=rooms, listing=listing)

        return self._answer(compute)

    def _members(self, room: str) -> dict[str, str]:
        return self._hash("members:" + fold(room))

    def room(self, name: str) -> Deferred[RoomSnapshot]:
        def compute() -> RoomSnapshot:
            folded = fold(name)
            written = next((r for r in self._rooms if fold(r) == folded), name)
            meta = self._hash("meta:" + folded)
            members = {}
            for nick, value in self._members(folded).items():
                proc, door, written_nick = value.split(" ", 2)
                members[nick] = (proc, door, written_nick)
            return RoomSnapshot(
                name=written,
                topic=meta.get("topic", ""),
                topic_by=meta.get("topic_by", ""),
                created=float(meta.get("created", 0)),
                modes=meta.get("modes", ""),
                members=members,
            )

        return self._answer(compute)

    def add_member(self, room: str, proc: str, door: str, nick: str) -> Deferred[None]:
        def compute() -> None:
            self._members(room)[fold(nick)] = f"{proc} {door} {nick}"
            meta = self._hash("meta:" + fold(room))
            if "created" not in meta:
                meta["created"] = repr(self.clock.seconds())
                self._rooms.append(room)

        return self._answer(compute)

    def remove_member(self, room: str, folded: str) -> Deferred[None]:
        def compute() -> None:
            self._remove(room, [folded])

        return self._answer(compute)

    def _remove(self, room: str, folded: list[str]) -> list[str]:
        """Drop members C{folded} of C{room} (an empty room goes); their nicks."""
        members = self._members(room)
        gone = [members.pop(f).split(" ", 2)[2] for f in folded if f in members]
        if not members:
            self._hashes.pop(self.prefix + "meta:" + fold(room), None)
            self._rooms = [r for r in self._rooms if fold(r) != fold(room)]
        return gone

    def set_topic(self, room: str, topic: str, by: str) -> Deferred[None]:
        def compute() -> None:
            self._hash("meta:" + fold(room)).update(topic=topic, topic_by=by)

        return self._answer(compute)

    def set_modes(self, room: str, modes: str) -> Deferred[None]:
        def compute() -> None:
            self._hash("meta:" + fold(room))["modes"] = modes

        return self._answer(compute)

    def reap(self, proc: str) -> Deferred[list[tuple[str, str]]]:
        def compute() -> list[tuple[str, str]]:
            if self._live(proc):
                return []
            nicks = self._hash("nicks")
            for folded in [f for f, v in nicks.items() if v.split(" ", 1)[0] == proc]:
                del nicks[folded]
                self._presence(release_fields(proc, folded))
            removed = []
            for room in list(self._rooms):
                members = self._members(room)
                mine = [f for f, v in members.items() if v.split(" ", 1)[0] == proc]
                removed += [(room, nick) for nick in self._remove(room, mine)]
            return removed

        return self._answer(compute)


class MemoryClient:
    """
    One connection to a L{MemoryStore} (L{MemoryStore.client}): several backbones, each
    with its own, share one store as processes share one Redis. The store's outages
    (L{MemoryStore.down}, L{MemoryStore.restart}) drop every client; a client's own
    L{connect} or L{close} drops only its own blocked read.
    """

    def __init__(self, server: MemoryStore) -> None:
        self.server = server
        self.prefix = server.prefix
        self._epoch = -1
        self._reads: list[Deferred[list[tuple[str, Entry]]]] = []

    @property
    def connected(self) -> bool:
        return self._epoch == self.server._epoch and self.server.connected

    def connect(self) -> Deferred[str]:
        server = self.server
        self._drop("reconnected")
        if server.is_down:
            return fail(StoreError("connection refused: the store is down"))
        if not server.connected:
            server.connected = True
        self._epoch = server._epoch
        return succeed(server.run_id)

    def close(self) -> Deferred[None]:
        self._drop("connection closed")
        self._epoch = -1
        return succeed(None)

    def _drop(self, reason: str) -> None:
        mine, self._reads = self._reads, []
        server = self.server
        for read in [r for r in server._reads if r.done in mine]:
            server._reads.remove(read)
            if read.timer is not None and read.timer.active():
                read.timer.cancel()
            read.done.errback(StoreError(reason))

    def __getattr__(self, name: str) -> Callable[..., Deferred[object]]:
        method = getattr(self.server, name)

        def call(*args: object) -> Deferred[object]:
            if not self.connected:
                return fail(StoreError("not connected"))
            d: Deferred[object] = method(*args)
            if name == "read":
                self._reads.append(d)  # type: ignore[arg-type]
            return d

        return call
