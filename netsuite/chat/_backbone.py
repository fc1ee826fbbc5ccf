"""
The chat hub's backbone: several netsuite processes, one hub, through a shared store.

Why Redis Streams (docs/scale.md says more): one stream per room gives the one order
every process delivers the room's messages in, the room's history (C{MAXLEN ~} caps
it) and catch-up after a reconnect from the last id read; pub/sub alone drops what is
published while a subscriber is away, and a list per reader costs a copy per process.

How the hub and the backbone share the work. The hub (L{netsuite.chat._hub}) stays
sans-IO and keeps its whole state per process; people on other processes are
L{RemoteMember} stubs in it, so C{/who}, NAMES, WHO, WHOIS and nick checks see them
without a round trip. The backbone (this module) turns what local members do into
stream entries and what comes back from the streams into hub calls:

    - a room message is delivered by every process, its own included, when it comes
      back from the room's stream: one order for everyone, whichever process they are on;
    - a join, part, quit, rename or topic of a local member is told to local members at
      once (a client waits for its own JOIN) and to other processes from the stream;
    - a private message to someone elsewhere goes to that process's inbox stream;
    - nicks are claimed in the store (atomically, with a lease the process renews, so a
      crashed process's nicks come free); claims are mirrored here from a presence stream
      and a periodic snapshot, so a nick held elsewhere is refused on every door; when two
      processes claim one nick at once, the store's answer decides and the loser's member
      is renamed to a guest nick and told why.

Faults (the store is unreachable, slow or restarted). Local delivery of room messages
stops with it: a message is held in a bounded queue (L{Backbone.queue_max}) and
delivered after the reconnect, in order; past the bound the sender is told it was not
delivered (C{ChatError("degraded")}). Members are told once when the hub degrades and
once when it is whole again. Reconnects back off from 0.1 s to 5 s. Every entry carries
a message id (C{m}); what was sent but not confirmed is sent again after a reconnect and
receivers drop ids they have seen, so nothing is duplicated. When the store restarted
(its run id changed) the process writes its lease, claims, memberships and topics again,
and sends again what it sent in the last L{REPLAY_SECONDS} (which another process may not
have read before the restart); history older than that is lost with a store that keeps
nothing on disk (docs/scale.md: use Redis with AOF for history that survives).

Entry fields: C{t} type (say, join, part, quit, nick, topic, mode, kick, pm, kill, wake),
C{m} id, C{p} process of the member concerned, C{n} nick, C{d} door, C{r} room as
written, C{x} text, reason, topic, new nick or mode changes (C{+o-k}), C{a} the mode
changes' arguments (a JSON list), C{k} kind, C{w} when, C{o} the target's nick (pm,
kick), C{g} set on the quits a reaper writes for a dead process (all its members go).

Modes and roles cross processes: a change is applied where it was made (checked
there, told to its members at once) and sent in the room's stream, which every other
process applies unchecked; the room's whole modes and roles (by nick) are written to
the store's room meta after each change, and a process that first joins a room held
elsewhere adopts them (its early joiners checked against them then). Two changes made
at one moment on two processes may be applied in different orders; the next change
writes one state for all. The presence stream's entries are the store's
own (L{netsuite.chat._redis_store.claim_fields}).

The module is above 400 lines because it is one adapter (what goes out, what comes
back, and how both survive a fault), whose ordering rules split over modules would be
harder to check against each other.
"""

from __future__ import annotations

import json
import os
import socket
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from netsuite.chat._events import ChatError, ChatEvent, Notice, Said
from netsuite.chat._hub import RoomInfo
from netsuite.chat._names import fold
from netsuite.chat._store import Entry, RoomListing, RoomSnapshot, Snapshot, Store
from netsuite.stream._write import corked

if TYPE_CHECKING:
    from netsuite.chat._hub import Hub, Member

__all__ = [
    "DEGRADED",
    "LEASE",
    "QUEUE",
    "RESTORED",
    "Backbone",
    "RemoteMember",
    "process_name",
]

#: Seconds a process's nicks outlive it when it dies without a word.
LEASE = 30.0
#: Entries (messages, joins, ...) that may wait for the store before messages are refused.
QUEUE = 1000
#: Seconds of sent entries sent again after the store restarted empty.
REPLAY_SECONDS = 10.0
#: Message ids remembered per stream to drop a second copy (a resend after a fault).
SEEN = 4096
#: Reconnect delays: the first, and the cap (doubling in between).
BACKOFF_FIRST = 0.1
BACKOFF_CAP = 5.0
#: Entries asked for in one read, and how long a read blocks, in seconds.
READ_COUNT = 1000
READ_BLOCK = 5.0

DEGRADED = (
    "the hub is degraded: its backbone (Redis) is unreachable; room messages are held "
    "and delivered when it is back"
)
RESTORED = "the hub is whole again: held messages follow"

_log = Logger(namespace="netsuite.chat.backbone")


def process_name() -> str:
    """A name no other live process shares: host, pid and a random part (pids recycle)."""
    return f"{socket.gethostname()}.{os.getpid()}.{os.urandom(3).hex()}"


#: Comings and goings applied again when a room is first read (see L{Backbone._synced}).
_MEMBERSHIP = frozenset({"join", "part", "quit", "nick", "kick"})
RESETTLE_MS = 5000


def _args(text: str) -> list[str]:
    """A mode entry's arguments (a JSON list of strings); nothing if it is not one."""
    try:
        args = json.loads(text) if text else []
    except ValueError:
        return []
    return [str(a) for a in args] if isinstance(args, list) else []


def _ms(entry_id: str) -> int:
    """The milliseconds part of a stream entry id (Redis's clock when it was added)."""
    head = entry_id.partition("-")[0]
    return int(head) if head.isdigit() else 0


class RemoteMember:
    """
    Someone connected to another process, as this process's hub holds them. Events the
    hub gives it are for its own process to tell, except a private message, which goes
    to that process's inbox.
    """

    __slots__ = ("backbone", "door", "nick", "proc")

    remote = True
    paced = True  # never flood-checked here: it never speaks through this hub

    def __init__(self, backbone: Backbone, proc: str, nick: str, door: str = "remote") -> None:
        self.backbone = backbone
        self.proc = proc
        self.nick = nick
        self.door = door

    def deliver(self, event: ChatEvent) -> None:
        if isinstance(event, Said) and event.room is None and event.target is not None:
            self.backbone.private(self, event)

    def disconnect(self, reason: str) -> None:
        """Only its own process can drop it (an operator's KILL asks it: L{kill})."""

    def kill(self, reason: str) -> None:
        """Ask its process to drop it, with C{reason} (IRC's C{KILL} by an operator)."""
        self.backbone.kill(self, reason)

    def __repr__(self) -> str:
        return f"<RemoteMember {self.nick} on {self.proc}>"


@dataclass
class _RoomLink:
    """A room this process reads: its stream, and who waits for its history."""

    name: str
    stream: str
    #: The number of this process's first entry once it read the room: what the
    #: stream holds from there on is live, what comes before it is history.
    floor: int = 0
    synced: bool = False
    syncing: bool = False
    waiting: list[Any] = field(default_factory=list)
    #: The key each waiting member joined with (checked once the room's modes are read).
    keys: dict[int, str] = field(default_factory=dict)


class _Seen:
    """The last L{SEEN} message ids of one stream, to drop a second copy."""

    __slots__ = ("ids",)

    def __init__(self) -> None:
        self.ids: OrderedDict[str, None] = OrderedDict()

    def first(self, mid: str) -> bool:
        ids = self.ids
        if mid in ids:
            return False
        ids[mid] = None
        if len(ids) > SEEN:
            ids.popitem(last=False)
        return True


class Backbone:
    """
    Joins one process's L{Hub} to the others through a L{Store}.

    @ivar proc: this process's name in the store.
    @ivar lease: seconds this process's claims outlive it (L{LEASE}).
    @ivar queue_max: entries that may wait for the store (L{QUEUE}).
    @ivar up: whether the store answers (the hub is whole).
    """

    def __init__(
        self,
        store: Store,
        hub: Hub,
        reactor: Any,
        *,
        proc: str | None = None,
        lease: float = LEASE,
        queue_max: int = QUEUE,
    ) -> None:
        self.store = store
        self.hub = hub
        self.reactor = reactor
        self.proc = proc or process_name()
        self.lease = lease
        self.queue_max = queue_max
        self.up = False
        self.closing = False
        self.run_id: str | None = None
        self._number = 0  # of this process's last entry id
        #: Entries not yet confirmed by the store, in the order they were made.
        self._pending: OrderedDict[str, tuple[str, dict[str, str]]] = OrderedDict()
        self._sent: set[str] = set()  # pending ids with a request in flight
        #: Confirmed entries of the last REPLAY_SECONDS: (when, stream, fields).
        self._recent: deque[tuple[float, str, dict[str, str]]] = deque()
        self._rooms: dict[str, _RoomLink] = {}  # folded room -> link
        self._listing: Mapping[str, RoomListing] = {}  # the last snapshot's rooms
        self._positions: dict[str, str] = {}
        self._seen: dict[str, _Seen] = {}
        #: folded nick -> the stub of someone on another process.
        self.stubs: dict[str, RemoteMember] = {}
        self._reading = False
        self._failures = 0
        self._timers: list[Any] = []
        self._reconnect: Any = None
        self._told_degraded = False
        #: Store requests (memberships, claims, topics) made while it was away, in order.
        self._later: deque[Callable[[], object]] = deque()
        self.prefix: str = getattr(store, "prefix", "ns:")
        self.inbox = self._key("inbox", self.proc)
        self.presence = self.prefix + "presence"
        self.counters = hub.counters

    # --- naming ------------------------------------------------------------------------

    def _key(self, kind: str, name: str) -> str:
        return f"{self.prefix}{kind}:{name}"

    def room_stream(self, name: str) -> str:
        return self._key("room", fold(name))

    @property
    def maxlen(self) -> int:
        """Entries kept per room stream: the history, and room for joins and parts."""
        return self.hub.history * 4 + 100

    def mid(self) -> str:
        """A fresh id for an entry this process makes."""
        self._number += 1
        return f"{self.proc}:{self._number}"

    # --- life --------------------------------------------------------------------------

    def start(self) -> Deferred[Any]:
        """Connect; the hub works (degraded) until the store answers."""
        self.hub.backbone = self
        # Guest nicks from a point of their own, so two processes rarely hand out one
        # guest nick at once (when they do, the claim decides: see _claimed).
        self.hub.guest_numbers_from(int.from_bytes(os.urandom(3), "big") % 900_000 + 100)
        self._timers = [
            self._every(self.lease / 3, self._renew),
            self._every(max(self.lease / 10, 0.05), self._refresh),
        ]
        return self._connect()

    def _every(self, interval: float, call: Callable[[], object]) -> Any:
        loop = LoopingCall(call)
        loop.clock = self.reactor
        loop.start(interval, now=False).addErrback(lambda f: _log.failure("backbone timer", f))
        return loop

    def stop(self) -> Deferred[None]:
        """
        Leave: the lease goes at once, so the other processes reap this one's members
        (and tell their rooms) on their next refresh instead of after the lease.
        """
        self.closing = True
        for loop in self._timers:
            if loop.running:
                loop.stop()
        if self._reconnect is not None and self._reconnect.active():
            self._reconnect.cancel()
        d: Deferred[None] = succeed(None)
        if self.up:
            d = self.store.lease(self.proc, 0.001)
            d.addErrback(lambda f: None)
        d.addCallback(lambda _: self.store.close())
        d.addErrback(lambda f: None)
        return d

    def _connect(self) -> Deferred[Any]:
        d: Deferred[Any] = self.store.connect()
        d.addCallbacks(self._connected, self._connect_failed)
        return d

    def _connect_failed(self, failure: Failure) -> None:
        self._fault(failure)

    def _connected(self, run_id: str) -> Deferred[Any] | None:
        if self.closing:
            return None
        restarted = self.run_id is not None and run_id != self.run_id
        first = self.run_id is None
        self.run_id = run_id
        d: Deferred[Any] = self.store.lease(self.proc, self.lease)
        d.addCallback(lambda _: self._reassert(restarted))
        if self.presence not in self._positions:  # the mirror reads claims from here on
            d.addCallback(lambda _: self.store.tail(self.presence, 1))
            d.addCallback(self._presence_from)
        d.addCallback(lambda _: self._whole(first))
        d.addErrback(self._fault)
        return d

    def _presence_from(self, entries: list[Entry]) -> None:
        self._positions[self.presence] = entries[-1][0] if entries else "0-0"

    def _whole(self, first: bool) -> None:
        self.up = True
        self._failures = 0
        later, self._later = self._later, deque()
        for call in later:
            call()
        if self._told_degraded:
            self._told_degraded = False
            _log.info("backbone {proc}: the store answers again", proc=self.proc)
            self.hub.announce(RESTORED)
        elif first:
            _log.info("backbone {proc}: joined the shared hub", proc=self.proc)
        self._send_pending()
        for link in self._rooms.values():
            if not link.synced:
                self._sync(link)
        self._refresh()
        self._read()

    def _reassert(self, restarted: bool) -> Deferred[Any]:
        """
        Write again what this process holds (the store may have lost it, or never had
        it): every local member's claim and memberships; after a restart, the topics
        and modes it knows, and again what it sent in the last L{REPLAY_SECONDS}.
        Requests made while the store was away (L{_later}) follow, in their order.
        """
        store = self.store
        calls: list[Deferred[Any]] = []
        for member in self.hub.local_members():
            d = store.claim(self.proc, fold(member.nick), member.nick)
            d.addCallback(self._claimed, member, member.nick)
            calls.append(d)
            if restarted:
                for room in self.hub.rooms_of(member):
                    calls.append(store.add_member(room, self.proc, member.door, member.nick))
        if restarted:
            _log.warn("backbone {proc}: the store restarted; writing back what it lost",
                      proc=self.proc)  # fmt: skip
            for info in self.hub.room_names():
                if fold(info.name) not in self._rooms:
                    continue
                if info.topic:
                    topic, by = self.hub.topic(info.name)
                    calls.append(store.set_topic(info.name, topic, by))
                calls.append(store.set_modes(info.name, self.hub.modes_text(info.name)))
            cutoff = self.reactor.seconds() - REPLAY_SECONDS
            for when, stream, fields in self._recent:
                if when >= cutoff:
                    calls.append(store.append(stream, fields, self.maxlen))
        return gatherResults(calls, consumeErrors=True)

    def _fault(self, failure: Failure | None = None) -> None:
        """The store failed: hold what comes, tell members once, reconnect after a while."""
        if self.closing:
            return
        was_up = self.up
        self.up = False
        self._sent.clear()  # whatever was in flight is sent again
        if was_up or self._failures == 0:
            reason = failure.getErrorMessage() if failure is not None else "?"
            _log.warn("backbone {proc}: the store is away ({reason}); holding messages",
                      proc=self.proc, reason=reason)  # fmt: skip
            if not self._told_degraded:
                self._told_degraded = True
                self.hub.announce(DEGRADED)
        if self._reconnect is not None and self._reconnect.active():
            return
        delay = min(BACKOFF_CAP, BACKOFF_FIRST * 2**self._failures)
        self._failures += 1
        self._reconnect = self.reactor.callLater(delay, self._connect)

    # --- going out ---------------------------------------------------------------------

    def admit(self) -> None:
        """Refuse a message now, before the hub changes anything, if it could not wait."""
        if len(self._pending) >= self.queue_max:
            self.counters["backbone.refused"] += 1
            raise ChatError(
                "degraded",
                f"not delivered: the hub's backbone is away and {len(self._pending)} "
                "messages already wait for it",
            )

    def _send(self, stream: str, fields: dict[str, str]) -> None:
        mid = fields["m"]
        if len(self._pending) >= self.queue_max * 2:  # control entries past the bound
            self.counters["backbone.dropped"] += 1
            _log.warn("backbone {proc}: queue full, {type} of {nick} not sent to the others",
                      proc=self.proc, type=fields.get("t"), nick=fields.get("n"))  # fmt: skip
            return
        self._pending[mid] = (stream, fields)
        if self.up:
            self._send_one(mid, stream, fields)

    def _send_pending(self) -> None:
        for mid, (stream, fields) in list(self._pending.items()):
            if mid not in self._sent:
                self._send_one(mid, stream, fields)

    def _send_one(self, mid: str, stream: str, fields: dict[str, str]) -> None:
        self._sent.add(mid)
        maxlen = self.maxlen if stream.startswith("room:") else READ_COUNT * 10
        d = self.store.append(stream, fields, maxlen)
        d.addCallbacks(self._confirmed, self._fault, callbackArgs=(mid,))

    def _confirmed(self, _id: str, mid: str) -> None:
        entry = self._pending.pop(mid, None)
        self._sent.discard(mid)
        if entry is None:
            return
        now = self.reactor.seconds()
        recent = self._recent
        recent.append((now, *entry))
        while recent and recent[0][0] < now - REPLAY_SECONDS:
            recent.popleft()

    def _entry(self, kind: str, member: Any, **extra: str) -> dict[str, str]:
        fields = {"t": kind, "m": self.mid(), "p": self.proc, "n": member.nick,
                  "d": getattr(member, "door", "")}  # fmt: skip
        fields.update(extra)
        return fields

    def _call(self, request: Callable[[], Deferred[Any]]) -> None:
        """A store request now, or, while the store is away, once it is back."""
        if self.up:
            request().addErrback(self._fault)
        elif len(self._later) < self.queue_max * 2:
            self._later.append(lambda: request().addErrback(self._fault))
        else:
            self.counters["backbone.dropped"] += 1

    # what the hub calls for its local members

    def connected(self, member: Member) -> None:
        self._claim(member, member.nick)

    def _claim(self, member: Member, nick: str) -> None:
        if not self.up:
            return  # written on the reconnect (_reassert), with every other claim
        d = self.store.claim(self.proc, fold(nick), nick)
        d.addCallbacks(self._claimed, self._fault, callbackArgs=(member, nick))

    def _claimed(self, held: bool, member: Member, nick: str) -> None:
        if held or not self.hub.is_connected(member) or fold(member.nick) != fold(nick):
            return
        self.counters["backbone.nick_races"] += 1
        guest = self.hub.guest_nick()
        _log.info("backbone: {nick} is held on another process; {guest} instead",
                  nick=nick, guest=guest)  # fmt: skip
        self.hub.rename(member, guest)
        member.deliver(Notice(text=f"{nick} is in use on another server of this hub; you "
                                   f"are {guest} for now"))  # fmt: skip

    def renamed(self, member: Member, old: str, rooms: Iterable[str]) -> None:
        mid = self.mid()
        for room in rooms:
            self._send(
                self.room_stream(room),
                self._entry("nick", member, n=old, x=member.nick, m=mid, r=room),
            )
        folded = fold(old)
        door, nick = member.door, member.nick
        for room in rooms:  # the new name first: a reader never finds neither
            self._join_store(room, door, nick)
            self._leave(room, old)
            if self.hub.roles(room, member):  # the store keeps roles by nick
                self._share_modes(room)
        self._call(lambda: self.store.release(self.proc, folded))
        self._claim(member, member.nick)

    def quitted(self, member: Member, rooms: Iterable[str], reason: str) -> None:
        mid = self.mid()
        for room in rooms:
            self._send(
                self.room_stream(room), self._entry("quit", member, x=reason, m=mid, r=room)
            )
            self._leave(room, member.nick)
        folded = fold(member.nick)
        self._call(lambda: self.store.release(self.proc, folded))

    def _join_store(self, room: str, door: str, nick: str) -> None:
        self._call(lambda: self.store.add_member(room, self.proc, door, nick))

    def _leave(self, room: str, nick: str) -> None:
        folded = fold(nick)
        self._call(lambda: self.store.remove_member(room, folded))

    def joined(self, member: Member, room: str, key: str = "") -> None:
        link = self._rooms.get(fold(room))
        new = link is None
        if link is None:  # from this process's next entry on, the room is read live
            link = self._rooms[fold(room)] = _RoomLink(
                room, self.room_stream(room), floor=self._number + 1
            )
        self._send(self.room_stream(room), self._entry("join", member, r=room))
        door, nick = member.door, member.nick
        self._call(lambda: self.store.add_member(room, self.proc, door, nick))
        if not link.synced:
            link.waiting.append(member)
            if key:
                link.keys[id(member)] = key
        if new and self.up:
            self._sync(link)

    def synced(self, room: str) -> bool:
        link = self._rooms.get(fold(room))
        return link is not None and link.synced

    def parted(self, member: Member, room: str, reason: str) -> None:
        self._send(self.room_stream(room), self._entry("part", member, x=reason, r=room))
        self._leave(room, member.nick)

    def topic(self, member: Member, room: str, topic: str) -> None:
        self._send(self.room_stream(room), self._entry("topic", member, x=topic, r=room))
        nick = member.nick
        self._call(lambda: self.store.set_topic(room, topic, nick))

    def modes(self, member: Member, room: str, changes: str, args: list[str]) -> None:
        """A local member changed C{room}'s modes (told here already): tell the others."""
        self._send(self.room_stream(room), self._entry(
            "mode", member, x=changes, a=json.dumps(args, ensure_ascii=False), r=room
        ))  # fmt: skip
        self._share_modes(room)

    def _share_modes(self, room: str) -> None:
        """Write C{room}'s modes and roles to the store, for a process that joins it next."""
        text = self.hub.modes_text(room)
        self._call(lambda: self.store.set_modes(room, text))

    def kicked(self, kicker: Member, room: str, target: Member, reason: str) -> None:
        """A local member kicked C{target} (told here already): tell the others."""
        self._send(self.room_stream(room),
                   self._entry("kick", kicker, o=target.nick, x=reason, r=room))  # fmt: skip
        if not getattr(target, "remote", False):
            self._leave(room, target.nick)
        if self.hub.roles(room, kicker) and room in self.hub.rooms_of(kicker):
            self._share_modes(room)  # the kicked's roles went with it

    def said(self, said: Said) -> None:
        assert said.room is not None
        self._send(self.room_stream(said.room), {
            "t": "say", "m": said.mid, "p": self.proc, "n": said.sender, "r": said.room,
            "x": said.text, "k": said.kind, "w": repr(said.when),
        })  # fmt: skip

    def private(self, target: RemoteMember, said: Said) -> None:
        self._send(self._key("inbox", target.proc), {
            "t": "pm", "m": said.mid or self.mid(), "p": self.proc, "n": said.sender,
            "o": target.nick, "x": said.text, "k": said.kind, "w": repr(said.when),
        })  # fmt: skip

    def kill(self, target: RemoteMember, reason: str) -> None:
        """An operator here KILLs C{target}: its process drops it (its inbox stream)."""
        self._send(self._key("inbox", target.proc), {
            "t": "kill", "m": self.mid(), "p": self.proc, "o": target.nick, "x": reason,
        })  # fmt: skip

    # --- coming back -------------------------------------------------------------------

    def _sync(self, link: _RoomLink) -> None:
        """Read a room's history and members, then its stream from where the tail ended."""
        if link.syncing:
            return
        link.syncing = True
        tail = self.store.tail(link.stream, self.maxlen)
        room = self.store.room(link.name)

        def both(tail_entries: list[Entry]) -> Deferred[None]:
            return room.addCallback(lambda snap: self._synced(link, tail_entries, snap))

        def failed(failure: Failure) -> None:
            link.syncing = False
            room.addErrback(lambda f: None)
            self._fault(failure)

        tail.addCallback(both).addErrback(failed)

    def _synced(self, link: _RoomLink, entries: list[Entry], snap: RoomSnapshot) -> None:
        link.syncing = False
        link.synced = True
        seen = self._seen.setdefault(link.stream, _Seen())
        split = next((i for i, (_id, f) in enumerate(entries) if self._live(f, link.floor)),
                     len(entries))  # fmt: skip
        history = [self._said(f) for _id, f in entries[:split] if f.get("t") == "say"]
        for _id, fields in entries[:split]:
            seen.first(fields.get("m", _id))
        self._positions[link.stream] = entries[-1][0] if entries else "0-0"
        members = [self.stub(proc, nick, door) for proc, door, nick in snap.members.values()
                   if proc != self.proc]  # fmt: skip
        waiting, link.waiting = link.waiting, []
        keys, link.keys = link.keys, {}
        self.hub.sync_room(link.name, history[-self.hub.history:] if self.hub.history else [],
                           snap.topic, snap.topic_by, snap.created,
                           [m for m in members if m is not None])  # fmt: skip
        # The members hash was read after the tail, but a join, a rename or a part may
        # have been halfway written: the last seconds' comings and goings are applied
        # again (each is idempotent: a join of someone there, a part of someone gone
        # change nothing), before the modes, so their roles find every member.
        last = _ms(entries[-1][0]) if entries else 0
        for entry_id, fields in entries[:split]:
            if fields.get("t") in _MEMBERSHIP and _ms(entry_id) >= last - RESETTLE_MS:
                self._dispatch(link.stream, fields)
        self.hub.settle_room(link.name, waiting, modes=snap.modes, keys=keys)
        if not snap.modes and any(self.hub.in_room(m, link.name) for m in waiting):
            self._share_modes(link.name)  # a room new to the store: its modes start here
        for entry_id, fields in entries[split:]:  # after this process's join: live
            if seen.first(fields.get("m", entry_id)):
                self._dispatch(link.stream, fields)
        self._wake()

    def _live(self, fields: Mapping[str, str], floor: int) -> bool:
        """Whether an entry is this process's, made once it began reading the room."""
        proc, _, number = fields.get("m", "").rpartition(":")
        return proc == self.proc and number.isdigit() and int(number) >= floor

    def _wake(self) -> None:
        """A blocked read returns (so the next one reads the new stream too)."""
        if self.up and self._reading:
            d = self.store.append(self.inbox, {"t": "wake", "m": self.mid()}, READ_COUNT * 10)
            d.addErrback(self._fault)

    def stub(self, proc: str, nick: str, door: str = "remote") -> RemoteMember | None:
        """The stub for C{nick} on C{proc}, made (and given to the hub) if new."""
        key = fold(nick)
        stub = self.stubs.get(key)
        if stub is not None and stub.proc == proc:
            if door != "remote":
                stub.door = door
            return stub
        if stub is not None:  # the nick moved: the old holder is gone
            self._forget(stub)
        stub = RemoteMember(self, proc, nick, door)
        if not self.hub.adopt(stub):
            return None  # held here: the store's claim decides, and renames the loser
        self.stubs[key] = stub
        return stub

    def _forget(self, stub: RemoteMember, reason: str = "") -> None:
        if self.stubs.get(fold(stub.nick)) is stub:
            del self.stubs[fold(stub.nick)]
        self.hub.quit(stub, reason)

    def _read(self) -> None:
        if self._reading or not self.up or self.closing:
            return
        self._reading = True
        positions = {self.inbox: self._positions.get(self.inbox, "0-0"),
                     self.presence: self._positions.get(self.presence, "0-0")}  # fmt: skip
        for link in self._rooms.values():
            if link.synced:
                positions[link.stream] = self._positions[link.stream]
        d = self.store.read(positions, READ_BLOCK, READ_COUNT)
        d.addCallbacks(self._got, self._read_failed, callbackArgs=(positions,))

    def _read_failed(self, failure: Failure) -> None:
        self._reading = False
        self._fault(failure)

    def _got(self, batch: list[tuple[str, Entry]], asked: Mapping[str, str]) -> None:
        self._reading = False
        # One write per member for the whole batch, as a door does for one input chunk:
        # uncorked, each message of a batch was its own send() to each member (11 us a
        # delivery in bench/scale.py against 1 us in memory).
        with corked():
            self._got_batch(batch)
        self._read()

    def _got_batch(self, batch: list[tuple[str, Entry]]) -> None:
        presence = []
        for stream, (entry_id, fields) in batch:
            self._positions[stream] = entry_id
            if stream == self.presence:
                presence.append(fields)  # after the rooms': a quit before its release
                continue
            if not self._seen.setdefault(stream, _Seen()).first(fields.get("m", entry_id)):
                continue
            try:
                self._dispatch(stream, fields)
            except Exception:
                _log.failure("backbone: entry {fields!r} of {stream}", fields=fields,
                             stream=stream)  # fmt: skip
        for fields in presence:
            self._presence(fields)

    def _said(self, fields: Mapping[str, str]) -> Said:
        """The message of a C{say} entry (a room's) or a C{pm} entry (C{o}, its target)."""
        return Said(
            sender=fields.get("n", ""), text=fields.get("x", ""), room=fields.get("r"),
            target=fields.get("o"), kind=fields.get("k", "say"),
            when=float(fields.get("w", "0") or 0), mid=fields.get("m", ""),
        )  # fmt: skip

    def _dispatch(self, stream: str, fields: Mapping[str, str]) -> None:
        kind = fields.get("t")
        hub = self.hub
        if kind == "say":
            hub.arrive(self._said(fields))
            return
        if kind == "pm":
            hub.arrive_private(self._said(fields))
            return
        if kind == "kill":  # an operator elsewhere: in this process's inbox, one of ours
            victim = hub.find(fields.get("o", ""))
            if victim is not None and not getattr(victim, "remote", False):
                _log.info("backbone {proc}: {nick} killed from {by}: {reason}",
                          proc=self.proc, nick=victim.nick, by=fields.get("p", ""),
                          reason=fields.get("x", ""))  # fmt: skip
                victim.disconnect(fields.get("x", ""))
            return
        proc = fields.get("p", "")
        if kind == "wake" or proc == self.proc:
            return  # this process told its own members already
        nick, room = fields.get("n", ""), fields.get("r", "")
        if kind == "join":
            stub = self.stub(proc, nick, fields.get("d", "remote"))
            if stub is not None:
                hub.join(stub, room)
        elif kind == "part":
            stub = self._held(proc, nick)
            if stub is not None and room in hub.rooms_of(stub):
                hub.part(stub, room, fields.get("x", ""))
        elif kind == "quit" and fields.get("g"):
            # A reaped process (C{g}): all its members went with it. The store's nick for
            # one may lag a rename it made just before it died, so not one by nick.
            for stub in [s for s in self.stubs.values() if s.proc == proc]:
                self._forget(stub, fields.get("x", ""))
        elif kind == "quit":
            stub = self._held(proc, nick)
            if stub is not None:  # the first of its rooms' entries: the rest find none
                self._forget(stub, fields.get("x", ""))
        elif kind == "nick":
            stub = self._held(proc, nick)
            new = fields.get("x", "")
            if stub is not None and new:
                del self.stubs[fold(nick)]
                already = self.stubs.get(fold(new))
                if already is not None and already.proc == proc:
                    if hub.rooms_of(already):  # read in a room under its new name already
                        hub.remove(stub)
                        return
                    del self.stubs[fold(new)]  # only mirrored: the rename carries the rooms
                    hub.remove(already)
                try:
                    hub.rename(stub, new)
                except ChatError:  # held here now: the claim decides
                    self._forget(stub)
                    return
                self.stubs[fold(new)] = stub
        elif kind == "topic":
            stub = self._held(proc, nick)
            if stub is not None and room in hub.rooms_of(stub):
                hub.set_topic(stub, room, fields.get("x", ""))
        elif kind == "mode":
            stub = self._held(proc, nick)
            if stub is not None:
                hub.arrive_modes(stub, room, fields.get("x", ""), _args(fields.get("a", "")))
        elif kind == "kick":
            stub = self._held(proc, nick)
            if stub is not None:
                kicked = hub.arrive_kick(stub, room, fields.get("o", ""), fields.get("x", ""))
                if kicked is not None:  # one of ours: its membership goes from the store
                    self._leave(room, kicked.nick)

    def _held(self, proc: str, nick: str) -> RemoteMember | None:
        stub = self.stubs.get(fold(nick))
        return stub if stub is not None and stub.proc == proc else None

    def _presence(self, fields: Mapping[str, str]) -> None:
        """A claim or release the store announced (L{claim_fields}, L{release_fields})."""
        proc = fields.get("proc", "")
        if proc == self.proc:
            return
        if fields.get("op") == "claim" and fields.get("nick"):
            self.stub(proc, fields["nick"])
        elif fields.get("op") == "release":
            stub = self.stubs.get(fields.get("folded", ""))
            if stub is not None and stub.proc == proc and not self.hub.rooms_of(stub):
                self._forget(stub)

    # --- leases --------------------------------------------------------------------------

    def _renew(self) -> None:
        if self.up:
            self.store.lease(self.proc, self.lease).addErrback(self._fault)

    def _refresh(self) -> None:
        """Mirror every live claim; reap dead processes and tell their rooms."""
        if not self.up:
            return
        d = self.store.snapshot()
        d.addCallbacks(self._mirror, self._fault)

    def rooms_elsewhere(self, here: Iterable[str]) -> list[RoomInfo]:
        """
        Rooms of the last snapshot (every lease/10) whose folded name is not in C{here}:
        those only other processes' members are in, for the hub's listings. Their
        counts and topics are as fresh as that snapshot; a room read here is the hub's.
        """
        held = set(here)
        return [
            RoomInfo(name, info.topic, info.members, info.created)
            for name, info in self._listing.items()
            if info.members and fold(name) not in held
        ]

    def _mirror(self, snap: Snapshot) -> None:
        self._listing = snap.listing
        for folded, (proc, nick) in snap.nicks.items():
            if proc != self.proc:
                stub = self.stubs.get(folded)
                if stub is None or stub.proc != proc:
                    self.stub(proc, nick)
        for folded, stub in list(self.stubs.items()):
            if folded not in snap.nicks and not self.hub.rooms_of(stub):
                self._forget(stub)
        for proc in snap.dead:
            if proc != self.proc:
                self.store.reap(proc).addCallbacks(self._reaped, self._fault,
                                                   callbackArgs=(proc,))  # fmt: skip

    def _reaped(self, gone: list[tuple[str, str]], proc: str) -> None:
        """Tell each room of a dead process's members that they left (once: see reap)."""
        if gone:
            _log.info("backbone: process {dead} stopped renewing its lease; {n} memberships "
                      "freed", dead=proc, n=len(gone))  # fmt: skip
        mid = self.mid()
        for room, nick in gone:
            self._send(self.room_stream(room), {"t": "quit", "m": f"{mid}:{fold(nick)}",
                                                "p": proc, "n": nick, "r": room, "g": "1",
                                                "x": "lost its server"})  # fmt: skip
        for stub in [s for s in self.stubs.values() if s.proc == proc]:
            if not self.hub.rooms_of(stub):
                self._forget(stub)
