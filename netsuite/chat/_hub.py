"""
The chat hub: rooms, members and nicks, with no I/O.

Doors (plain lines, IRC, WebSocket) are views onto one hub. A door registers a
L{Member} (anything with a C{nick}, C{deliver(event)} and C{disconnect(reason)}) and
calls the hub on its behalf; the hub calls C{deliver} on the members an event concerns,
synchronously and in one order, so every member of a room sees that room's messages in
the same order. The hub never waits for a member: slow readers are the doors' business
(L{netsuite.stream._outbox.Outbox}).

Time comes from an injected C{clock} (a function returning seconds), so flood limits
and timestamps are tested without a reactor.

The module is above 400 lines because it is one state machine (members, nicks, rooms
and who is told what), whose invariants split over modules would be harder to see.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from netsuite.base._metrics import Counters
from netsuite.chat._accounts import AccountBook, account_of
from netsuite.chat._events import (
    ChatError,
    ChatEvent,
    Invited,
    Joined,
    Kicked,
    ModeChanged,
    Notice,
    Parted,
    Quit,
    Renamed,
    Replayed,
    Said,
    TopicChanged,
)
from netsuite.chat._fanout import Fanout, Hold
from netsuite.chat._flood import FLOOD_QUEUE
from netsuite.chat._history import CHATHISTORY_MAX, Selector, query
from netsuite.chat._modes import (
    MAX_LIST,
    MAX_MODES,
    ListEntry,
    ModeError,
    RoomModes,
    change_text,
    parse_changes,
)
from netsuite.chat._modes_wire import dump_modes, load_modes
from netsuite.chat._monitor import MONITOR_MAX, Monitors
from netsuite.chat._names import NICK_MAX, fold, valid_nick, valid_room
from netsuite.chat._whowas import WHOWAS_MAX, Whowas
from netsuite.limits._defaults import MAX_LINE
from netsuite.limits._policy import TokenBucket

if TYPE_CHECKING:
    from netsuite.chat._backbone import Backbone

__all__ = ["QUIET_ABOVE", "QUIET_RECENT", "Hub", "Member", "ModeResult", "RoomInfo"]

#: Longest message text the hub accepts by default, in characters (doors may split it
#: further). The chat service sets the hub's C{text_max} to C{--max-line}: a line the
#: door accepts (at most that many bytes, so at most that many characters) is never
#: refused by a second, smaller cap (it was 4000, under the 4096 of C{--max-line}).
TEXT_MAX = MAX_LINE
TOPIC_MAX = 300

#: A room with more members than this is I{quiet}: its joins, parts and quits are told
#: only to the member concerned and to the members who spoke there in the last
#: L{QUIET_RECENT} seconds. Told to everyone, 2,000 auto-joins to C{#lobby} made 2 million
#: notices (57 MiB); quiet above 500, they make 126,750 (the first 500 joins) plus one
#: per joiner. 0: never quiet.
QUIET_ABOVE = 500
#: Seconds since a member last spoke in a quiet room for it to be told of comings and
#: goings there (the people in the conversation keep seeing who leaves it).
QUIET_RECENT = 600.0


class Member(Protocol):
    """What a door gives the hub for each person connected through it."""

    nick: str
    door: str

    def deliver(self, event: ChatEvent) -> None:
        """Send C{event} to this person (never blocks; may queue, bounded)."""

    def disconnect(self, reason: str) -> None:
        """Drop this person's connection, telling them C{reason}; the door then calls quit."""


@dataclass
class _Room:
    name: str
    topic: str = ""
    topic_by: str = ""
    #: When the topic was last set, by the hub's clock (IRC's RPL_TOPICWHOTIME, 333).
    topic_at: float = 0.0
    members: dict[int, Member] = field(default_factory=dict)  # id(member) -> member, ordered
    history: deque[Said] = field(default_factory=deque)
    #: id(member) -> when it last spoke here, oldest first (for quiet rooms).
    spoke: OrderedDict[int, float] = field(default_factory=OrderedDict)
    #: When the room came to be (the hub's clock), for IRC's RPL_CREATIONTIME (329).
    created: float = 0.0
    #: Roles and modes (L{netsuite.chat._modes}), new each time the room fills again.
    modes: RoomModes = field(default_factory=RoomModes)
    #: With a backbone, the members connected here (no stubs), in joining order: what a
    #: message is delivered to (a stub's own process delivers it to its member).
    local: dict[int, Member] = field(default_factory=dict)


@dataclass(frozen=True)
class RoomInfo:
    name: str
    topic: str
    members: int
    #: When the room was created, by the hub's clock (IRC clients ask, MODE 329).
    created: float = 0.0
    #: C{+s}: hidden from those not in it (LIST, NAMES, WHO, WHOIS, C{/rooms}).
    secret: bool = False


@dataclass(frozen=True)
class ModeResult:
    """
    What a mode command did: the change told to the room (L{None} if nothing changed),
    the refusals (each a L{ModeError} or L{ChatError}), and the list modes asked for
    (C{"b"}, C{"e"}, C{"I"}, in the order asked).
    """

    changed: ModeChanged | None
    errors: tuple[ChatError, ...]
    queries: tuple[str, ...]


@dataclass(slots=True)  # one per member: no per-instance __dict__
class _State:
    """The hub's bookkeeping for one member."""

    member: Member
    bucket: TokenBucket
    rooms: dict[str, _Room] = field(default_factory=dict)  # folded name -> room
    strikes: int = 0
    away: str = ""
    #: Folded names of the rooms this member was invited to (gone with it, or on joining).
    invited: set[str] = field(default_factory=set)


class Hub:
    """
    @ivar history: messages kept per room and replayed on join; 0 turns history off
        (nothing kept, nothing replayed), for rooms whose talk must not outlive it.
    @ivar flood_rate, flood_burst: each member's token bucket (messages per second).
    @ivar flood_kick: messages dropped in a row for flooding before the member is cut off.
    @ivar quiet_above: rooms with more members than this announce joins, parts and quits
        only to recent speakers (L{QUIET_ABOVE}; 0: to everyone, however big the room).
    @ivar quiet_recent: how recent "recent" is, in seconds (L{QUIET_RECENT}).
    @ivar text_max: the longest message text accepted, in characters (L{TEXT_MAX}).
    @ivar flood_queue: lines a paced member (the line and IRC doors) may have waiting
        for their turn before it is cut off (L{FLOOD_QUEUE}). Such a member (C{paced}
        true) is not dropped here: its door runs its input at C{flood_rate}.
    @ivar max_modes: mode changes with a parameter applied per command (L{MAX_MODES}).
    @ivar max_list: masks each list mode (C{+b}, C{+e}, C{+I}) of a room holds (L{MAX_LIST}).
    @ivar server_name: the host of every member's mask, C{nick!nick@server_name}, which
        bans are matched against (the IRC door shows the same mask).
    @ivar whowas: the last departed or renamed nicks (L{Whowas}, IRC's WHOWAS), at most
        the C{whowas} given (L{WHOWAS_MAX}; 0: none kept).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        history: int = 100,
        flood_rate: float = 5.0,
        flood_burst: float = 20.0,
        flood_kick: int = 20,
        default_room: str = "#lobby",
        counters: Counters | None = None,
        quiet_above: int = QUIET_ABOVE,
        quiet_recent: float = QUIET_RECENT,
        text_max: int = TEXT_MAX,
        flood_queue: int = FLOOD_QUEUE,
        max_modes: int = MAX_MODES,
        max_list: int = MAX_LIST,
        server_name: str = "netsuite",
        whowas: int = WHOWAS_MAX,
        monitor_max: int = MONITOR_MAX,
        chathistory_max: int = CHATHISTORY_MAX,
        hold: Hold | None = None,
    ) -> None:
        if history < 0:
            raise ValueError(f"history must be 0 (off) or more messages, not {history}")
        self.clock = clock
        self.history = history
        self.flood_rate = flood_rate
        self.flood_burst = flood_burst
        self.flood_kick = flood_kick
        self.default_room = default_room
        self.quiet_above = quiet_above
        self.quiet_recent = quiet_recent
        self.text_max = text_max
        self.flood_queue = flood_queue
        self.max_modes = max_modes
        self.max_list = max_list
        self.server_name = server_name
        #: Nicks that were, for WHOWAS (L{netsuite.chat._whowas}): C{whowas} kept.
        self.whowas = Whowas(whowas)
        #: Who watches which nick (IRC's MONITOR, L{netsuite.chat._monitor}).
        self.monitors = Monitors(monitor_max)
        #: Most messages one history query returns (IRC's CHATHISTORY=, L{history_query}).
        self.chathistory_max = chathistory_max
        self.counters = counters if counters is not None else Counters("chat")
        self._rooms: dict[str, _Room] = {}
        self._nicks: dict[str, _State] = {}  # folded nick -> state
        self._states: dict[int, _State] = {}  # id(member) -> state
        self._seq = itertools.count(1)
        self._guests = itertools.count(1)
        #: Nicks held for certificate identities and accounts: folded nick -> name. Only
        #: a member logged in as that name (L{account_of}) may take one.
        self.reserved: dict[str, str] = {}
        #: The accounts and operators from the config (L{AccountBook.install}).
        self.accounts = AccountBook()
        #: The link to the hub's other processes (L{netsuite.chat._backbone}), if any:
        #: it learns what local members do, and calls the hub back with the rest.
        self.backbone: Backbone | None = None
        #: Room messages held while an input chunk runs (L{netsuite.chat._fanout}), told
        #: before anything else is: C{hold} is the doors' cork, if any.
        self.fanout = Fanout(hold)

    def _link(self, member: Any) -> Backbone | None:
        """The backbone, for a member of this process (a stub's process tells its own)."""
        backbone = self.backbone
        if backbone is None or getattr(member, "remote", False):
            return None
        return backbone

    # --- members -------------------------------------------------------------------

    def guest_nick(self) -> str:
        """A free nick of the form C{guestN}."""
        while True:
            nick = f"guest{next(self._guests)}"
            if fold(nick) not in self._nicks and fold(nick) not in self.reserved:
                return nick

    def guest_numbers_from(self, start: int) -> None:
        """Guest nicks count from C{start} on (each process of a backbone its own)."""
        self._guests = itertools.count(start)

    def connect(self, member: Member, nick: str | None = None) -> str:
        """Register C{member} under C{nick} (or a guest nick); return the nick it got."""
        if id(member) in self._states:
            raise ChatError("already_registered", "already connected")
        nick = nick or self.guest_nick()
        self._check_nick(nick, member)
        state = _State(member, TokenBucket(self.flood_rate, self.flood_burst, stamp=self.clock()))
        member.nick = nick
        self._nicks[fold(nick)] = state
        self._states[id(member)] = state
        self.counters["members.joined"] += 1
        link = self._link(member)
        if link is not None:
            link.connected(member)
        self.monitors.changed(nick, True)
        return nick

    def is_connected(self, member: Member) -> bool:
        return id(member) in self._states

    def _state(self, member: Member) -> _State:
        try:
            return self._states[id(member)]
        except KeyError:
            raise ChatError("not_registered", "not connected to the hub") from None

    def _check_nick(self, nick: str, member: Member) -> None:
        if not valid_nick(nick):
            raise ChatError(
                "erroneous_nick",
                f"{nick!r} is not a valid nick: 1-{NICK_MAX} characters, a letter or one of "
                "[]\\`_^{|} first, then letters, digits, - or those",
            )
        key = fold(nick)
        holder = self._nicks.get(key)
        if holder is not None and holder.member is not member:
            raise ChatError("nick_in_use", f"nick {nick} is taken")
        owner = self.reserved.get(key)
        if owner is not None and fold(account_of(member) or "") != key:
            # Ergo's wording: an account's (or certificate's) nick is its owner's alone.
            raise ChatError("nick_in_use", f"nick {nick} is reserved by a different account")

    def reserve(self, identity: str) -> bool:
        """
        Hold C{identity} (a verified certificate name) as a nick no one else may take.
        False when it is not a valid nick (the member then keeps a guest nick).
        """
        if not valid_nick(identity):
            return False
        self.reserved[fold(identity)] = identity
        return True

    def rename(self, member: Member, nick: str) -> None:
        """Change C{member}'s nick; everyone sharing a room with them is told."""
        state = self._state(member)
        old = member.nick
        if nick == old:
            return
        if getattr(member, "identity", None):
            raise ChatError("nick_locked", f"your nick is your certificate's name, {old}")
        self._check_nick(nick, member)
        del self._nicks[fold(old)]
        self._nicks[fold(nick)] = state
        self.whowas.record(member, old, self.clock())
        member.nick = nick
        event = Renamed(old=old, new=nick)
        self._tell({id(member): member, **self._neighbours(state)}.values(), event)
        link = self._link(member)
        if link is not None:
            link.renamed(member, old, [room.name for room in state.rooms.values()])
        self.monitors.renamed(old, nick)

    def find(self, nick: str) -> Member | None:
        state = self._nicks.get(fold(nick))
        return state.member if state else None

    def members(self) -> list[Member]:
        return [s.member for s in self._states.values()]

    def quit(self, member: Member, reason: str = "") -> None:
        """C{member} is gone: tell everyone who shared a room with it, once each."""
        state = self._states.pop(id(member), None)
        if state is None:
            return
        self._nicks.pop(fold(member.nick), None)
        self.whowas.record(member, member.nick, self.clock())
        link = self._link(member)
        if link is not None:
            link.quitted(member, [room.name for room in state.rooms.values()], reason)
        told: dict[int, Member] = {}
        for room in state.rooms.values():  # the room's size counts the one leaving
            told.update(self._audience(room))
            self._left(room, member)
        told.pop(id(member), None)
        self._tell(told.values(), Quit(nick=member.nick, reason=reason))
        self.monitors.clear(member)  # its own watch list, if any
        self.monitors.changed(member.nick, False)
        if link is not None or self.backbone is None:
            self.counters["members.quit"] += 1

    def remove(self, member: Member) -> None:
        """
        C{member} leaves without news: its nick is freed and its rooms forget it, and no
        one is told. For shutdown, where every member leaves at once: quits told to the
        rest would cost the square of the room (10,000 members: 50 million lines to
        sockets that are closing), and the hub's shutdown notice has said it all.
        """
        state = self._states.pop(id(member), None)
        if state is None:
            return
        self._nicks.pop(fold(member.nick), None)
        link = self._link(member)
        if link is not None and not link.closing:  # on shutdown the lease goes instead
            link.quitted(member, [room.name for room in state.rooms.values()], "")
        for room in state.rooms.values():
            self._left(room, member)
        self.monitors.clear(member)  # no news: no one is told
        self.counters["members.quit"] += 1

    def _audience(self, room: _Room) -> dict[int, Member]:
        """
        Who hears of a join, part or quit in C{room}: every member, or, in a quiet room
        (more than L{quiet_above} members), those who spoke there in the last
        L{quiet_recent} seconds. The member concerned is added by the caller.
        """
        if not self.quiet_above or len(room.members) <= self.quiet_above:
            return dict(room.members)
        cutoff = self.clock() - self.quiet_recent
        spoke = room.spoke
        while spoke:  # oldest first: forget who has been silent too long
            first = next(iter(spoke))
            if spoke[first] >= cutoff:
                break
            del spoke[first]
        self.counters["announcements.quieted"] += 1
        return {key: room.members[key] for key in spoke if key in room.members}

    def _neighbours(self, state: _State) -> dict[int, Member]:
        out: dict[int, Member] = {}
        for room in state.rooms.values():
            out.update(room.members)
        out.pop(id(state.member), None)
        return out

    def set_away(self, member: Member, message: str) -> None:
        self._state(member).away = message

    def away(self, member: Member) -> str:
        return self._state(member).away

    def rooms_of(self, member: Member) -> list[str]:
        return [room.name for room in self._state(member).rooms.values()]

    # --- rooms ---------------------------------------------------------------------

    def _room(self, name: str) -> _Room:
        room = self._rooms.get(fold(name))
        if room is None:
            raise ChatError("no_such_room", f"no room {name}")
        return room

    def _forget_if_empty(self, room: _Room) -> None:
        if not room.members and not room.history and not room.topic:
            self._rooms.pop(fold(room.name), None)

    def _left(self, room: _Room, member: Member) -> None:
        """
        C{member} is out of C{room}: its roles go, and the room's modes with the last
        member (a room that fills again starts afresh: its first member the operator).
        """
        self.fanout.release()  # what it holds was said to the room as it was
        room.members.pop(id(member), None)
        room.local.pop(id(member), None)
        room.spoke.pop(id(member), None)
        room.modes.forget(id(member))
        if not room.members:
            room.modes = RoomModes(max_list=self.max_list)
        self._forget_if_empty(room)

    def mask(self, member: Member) -> str:
        """C{nick!nick@server}: what bans match, the same mask the IRC door shows."""
        return f"{member.nick}!{member.nick}@{self.server_name}"

    def join(self, member: Member, name: str, key: str = "") -> bool:
        """
        Join room C{name} (created on first join, its first member the operator) with
        C{key} if it has one. Everyone in it, the joiner included, is told; the joiner
        then gets the room's history. False if already a member. Refusals by the
        room's modes are L{ModeError}s: C{room_full}, C{bad_key}, C{invite_only},
        C{banned}. Members of other processes (stubs) are never refused here: their
        own process checked.
        """
        state = self._state(member)
        if not valid_room(name):
            raise ChatError(
                "no_such_room", f"{name!r} is not a valid room name: # then no spaces or commas"
            )
        folded = fold(name)
        if folded in state.rooms:
            return False
        room = self._rooms.get(folded)
        if room is None:
            room = self._rooms[folded] = _Room(
                name, history=deque(maxlen=self.history), created=self.clock(),
                modes=RoomModes(max_list=self.max_list),
            )  # fmt: skip
        remote = getattr(member, "remote", False)
        if room.members and not remote:
            room.modes.check_join(
                self.mask(member), key, len(room.members), invited=folded in state.invited,
                account=account_of(member),
            )  # fmt: skip
        elif not room.members and not remote:
            room.modes.ops.add(id(member))
        state.invited.discard(folded)
        self.fanout.release()  # what it holds was said before this joiner came
        room.members[id(member)] = member
        if self.backbone is not None and not remote:
            room.local[id(member)] = member
        state.rooms[folded] = room
        told = self._audience(room)
        told[id(member)] = member  # the joiner's own JOIN echo, always
        self._tell(told.values(), Joined(room=room.name, nick=member.nick))
        if getattr(member, "remote", False):
            return True
        link = self._link(member)
        if link is None or link.synced(folded):  # else the backbone replays it once read
            for said in room.history:
                member.deliver(Replayed(said=said))
        if link is not None:
            link.joined(member, room.name, key)
        return True

    def part(self, member: Member, name: str, reason: str = "") -> None:
        state = self._state(member)
        room = state.rooms.pop(fold(name), None)
        if room is None:
            raise ChatError("not_on_room", f"you are not in {name}")
        event = Parted(room=room.name, nick=member.nick, reason=reason)
        told = self._audience(room)
        told[id(member)] = member
        self._tell(told.values(), event)
        self._left(room, member)
        link = self._link(member)
        if link is not None:
            link.parted(member, room.name, reason)

    def room_names(self) -> list[RoomInfo]:
        """Every room, with a backbone those only other processes' members are in too."""
        rooms = [self._info(r) for r in self._rooms.values()]
        if self.backbone is not None:
            rooms += self.backbone.rooms_elsewhere(self._rooms)
        return sorted(rooms, key=lambda r: fold(r.name))

    def room_info(self, name: str) -> RoomInfo:
        return self._info(self._room(name))

    @staticmethod
    def _info(room: _Room) -> RoomInfo:
        secret = "s" in room.modes.flags
        return RoomInfo(room.name, room.topic, len(room.members), room.created, secret)

    def in_room(self, member: Member, name: str) -> bool:
        state = self._states.get(id(member))
        return state is not None and fold(name) in state.rooms

    def visible(self, member: Member, name: str) -> bool:
        """Whether C{member} may see room C{name} listed (not C{+s}, or a member of it)."""
        room = self._rooms.get(fold(name))
        if room is None:
            return False
        return "s" not in room.modes.flags or id(member) in room.members

    def who(self, name: str) -> list[Member]:
        """Members of room C{name}, in the order they joined."""
        return list(self._room(name).members.values())

    def topic(self, name: str) -> tuple[str, str]:
        room = self._room(name)
        return room.topic, room.topic_by

    def topic_time(self, name: str) -> float:
        """When room C{name}'s topic was last set (the hub's clock; 0 if never)."""
        return self._room(name).topic_at

    def set_topic(self, member: Member, name: str, topic: str) -> None:
        """Set the topic (C{+t}: operators only, else C{chanop_needed})."""
        state = self._state(member)
        room = state.rooms.get(fold(name))
        if room is None:
            raise ChatError("not_on_room", f"you are not in {name}")
        if not getattr(member, "remote", False):
            room.modes.check_topic(id(member))
        room.topic = topic[:TOPIC_MAX]
        room.topic_by = member.nick
        room.topic_at = self.clock()
        self._tell(
            room.members.values(), TopicChanged(room=room.name, nick=member.nick, topic=room.topic)
        )
        link = self._link(member)
        if link is not None:
            link.topic(member, room.name, room.topic)

    def recent(self, name: str, count: int | None = None) -> list[Said]:
        """The last C{count} messages of room C{name} (all that are kept by default)."""
        history = self._room(name).history
        items = list(history)
        return items if count is None else items[-count:] if count > 0 else []

    def history_query(
        self, name: str, sub: str, first: Selector, limit: int, second: Selector | None = None
    ) -> list[Said]:
        """
        Room C{name}'s kept messages that a history query selects (LATEST, BEFORE, AFTER,
        AROUND, BETWEEN: L{netsuite.chat._history.query}), at most L{chathistory_max}.
        """
        most = self.chathistory_max
        return query(self._room(name).history, sub, first, min(limit, most) if most else limit,
                     second)  # fmt: skip

    # --- roles and modes (L{netsuite.chat._modes}) -----------------------------------

    def roles(self, name: str, member: Member) -> str:
        """C{member}'s roles in room C{name}, most powerful first (C{"ov"}, C{"v"}, C{""})."""
        room = self._rooms.get(fold(name))
        return room.modes.roles(id(member)) if room is not None else ""

    def prefixes(self, name: str, member: Member, *, every: bool = False) -> str:
        """C{@}, C{+} (C{@+} with C{every}: IRC's multi-prefix) as NAMES and WHO show them."""
        room = self._rooms.get(fold(name))
        return room.modes.prefixes(id(member), every=every) if room is not None else ""

    def channel_modes(self, name: str, member: Member) -> tuple[str, list[str]]:
        """C{("+klnt", ["key", "5"])}; the key is shown only to the room's members."""
        room = self._room(name)
        return room.modes.mode_string(show_key=id(member) in room.members)

    def mode_list(self, name: str, char: str) -> list[ListEntry]:
        """The masks of list mode C{char} (C{b}, C{e}, C{I}) of room C{name}, oldest first."""
        return self._room(name).modes.entries(char)

    def change_modes(
        self, member: Member, name: str, modestring: str, args: Iterable[str] = ()
    ) -> ModeResult:
        """
        Apply C{modestring} (C{+ok-v}) with C{args} to room C{name} for C{member}.
        List queries (C{b} with no mask) need no role; any change needs the operator
        (else one C{chanop_needed} and nothing changes). What changed is told to every
        member of the room as one L{ModeChanged}.
        """
        self._state(member)
        room = self._room(name)
        changes, parsed_errors = parse_changes(modestring, args, max_modes=self.max_modes)
        errors: list[ChatError] = list(parsed_errors)
        queries = tuple(dict.fromkeys(c.char for c in changes if c.query))
        wanted = [c for c in changes if not c.query]
        if not wanted:
            return ModeResult(None, tuple(errors), queries)
        try:
            room.modes.check_op(id(member))
        except ModeError as e:
            return ModeResult(None, (*errors, e), queries)

        def resolve(nick: str) -> tuple[int, str]:
            state = self._nicks.get(fold(nick))
            if state is None:
                raise ModeError("no_such_nick", "No such nick/channel", param=nick)
            if id(state.member) not in room.members:
                raise ModeError("user_not_in_room", "They aren't on that channel", param=nick)
            return id(state.member), state.member.nick

        applied, refused = room.modes.apply(
            wanted, by=self.mask(member), when=self.clock(), resolve=resolve
        )
        errors += refused
        if not applied:
            return ModeResult(None, tuple(errors), queries)
        text, params = change_text(applied)
        event = ModeChanged(room=room.name, nick=member.nick, changes=text, args=tuple(params))
        self._tell(room.members.values(), event)
        link = self._link(member)
        if link is not None:
            link.modes(member, room.name, text, params)
        return ModeResult(event, tuple(errors), queries)

    def _target(self, room: _Room, nick: str) -> _State:
        state = self._nicks.get(fold(nick))
        if state is None:
            raise ModeError("no_such_nick", f"no one is called {nick}", param=nick)
        if id(state.member) not in room.members:
            raise ModeError("user_not_in_room", f"{nick} is not in {room.name}", param=nick)
        return state

    def _joined_room(self, member: Member, name: str) -> _Room:
        room = self._state(member).rooms.get(fold(name))
        if room is None:
            self._room(name)  # no_such_room first
            raise ChatError("not_on_room", f"you are not in {name}")
        return room

    def invitations(self, member: Member) -> list[str]:
        """The rooms C{member} is invited to and has not joined since (IRC's C{INVITE})."""
        return sorted(self._rooms[k].name for k in self._state(member).invited if k in self._rooms)

    def kick(self, member: Member, name: str, nick: str, reason: str = "") -> None:
        """
        An operator of room C{name} puts C{nick} out of it, with C{reason} (the
        kicker's nick if none, as Ergo does). Told as one L{Kicked} to those a part
        would be told, the kicker and the kicked always.
        """
        room = self._joined_room(member, name)
        room.modes.check_op(id(member))
        target = self._target(room, nick)
        event = Kicked(
            room=room.name, nick=member.nick, target=target.member.nick,
            reason=reason or member.nick,
        )  # fmt: skip
        self._put_out(room, target, event, member)
        link = self._link(member)
        if link is not None:  # the other processes see it, the kicked's own included
            link.kicked(member, room.name, target.member, event.reason)

    def _put_out(self, room: _Room, target: _State, event: Kicked, kicker: Member) -> None:
        """Kick C{target} out of C{room}: told to those a part would be, both always."""
        told = self._audience(room)
        told[id(kicker)] = kicker
        told[id(target.member)] = target.member
        target.rooms.pop(fold(room.name), None)  # out before told: its door sees it gone
        self._left(room, target.member)
        self._tell(told.values(), event)

    def invite(self, member: Member, nick: str, name: str) -> str:
        """
        Invite C{nick} to room C{name}: past its C{+i} and bans, once. The invitee is
        told (L{Invited}), and so are the room's other operators (IRC's invite-notify).
        Refusals, in the Modern document's order: C{no_such_nick}, C{no_such_room},
        C{not_on_room}, C{chanop_needed} (C{+i} rooms), C{user_on_room}.
        """
        self._state(member)
        target = self._nicks.get(fold(nick))
        if target is None:
            raise ModeError("no_such_nick", f"no one is called {nick}", param=nick)
        room = self._joined_room(member, name)
        room.modes.check_invite(id(member))
        if id(target.member) in room.members:
            raise ModeError(
                "user_on_room", f"{target.member.nick} is already in {room.name}",
                param=target.member.nick,
            )  # fmt: skip
        if getattr(target.member, "remote", False):
            raise ChatError(
                "remote_member", f"{target.member.nick} is on another process of this hub"
            )
        target.invited.add(fold(room.name))
        event = Invited(room=room.name, nick=member.nick, target=target.member.nick)
        told = {key: m for key, m in room.members.items() if key in room.modes.ops}
        told.pop(id(member), None)
        told[id(target.member)] = target.member
        self._tell(told.values(), event)
        return target.member.nick

    # --- messages ------------------------------------------------------------------

    def _flood_check(self, state: _State) -> None:
        if getattr(state.member, "paced", False):  # its door queues what is over the rate
            return
        if state.bucket.take(1, self.clock()):
            state.strikes = 0
            return
        state.strikes += 1
        self.counters["dropped.flood"] += 1
        if state.strikes >= self.flood_kick:
            self.counters["disconnected.flood"] += 1
            state.member.disconnect("flooding")
        raise ChatError(
            "flood",
            f"slow down: message dropped (limit {self.flood_rate:g}/s, burst "
            f"{self.flood_burst:g})",
        )

    def _text(self, text: str) -> str:
        if not text:
            raise ChatError("no_text", "no text to send")
        if len(text) > self.text_max:
            raise ChatError("too_long", f"message longer than {self.text_max} characters")
        return text

    def say(self, member: Member, name: str, text: str, kind: str = "say") -> Said:
        """Send C{text} to room C{name}: every member, the sender included, gets it."""
        state = self._state(member)
        text = self._text(text)
        room = state.rooms.get(fold(name))
        if room is None:
            room = self._rooms.get(fold(name))
            if room is None:
                raise ChatError("no_such_room", f"no room {name}")
            if not room.members or "n" in room.modes.flags:
                raise ChatError("cannot_send", f"you are not in {room.name}")
        room.modes.check_speak(id(member), self.mask(member), member=id(member) in room.members)
        link = self._link(member)
        if link is not None:
            link.admit()
        self._flood_check(state)
        said = Said(
            sender=member.nick, text=text, room=room.name, kind=kind, when=self.clock(),
            seq=next(self._seq), mid=link.mid() if link is not None else "",
        )  # fmt: skip
        if id(member) in room.members:
            room.spoke.pop(id(member), None)
            room.spoke[id(member)] = said.when  # newest last
        self.counters["messages"] += 1
        if link is not None:  # every process, this one too, delivers it from the stream
            link.said(said)
            return said
        self._deliver(room, said)
        return said

    def _deliver(self, room: _Room, said: Said) -> None:
        if said.kind != "notice":
            room.history.append(said)
        told = room.members if self.backbone is None else room.local
        self.counters["deliveries"] += len(told)
        if not self.fanout.add(told, said):
            self._tell(told.values(), said)

    def private(self, member: Member, nick: str, text: str, kind: str = "say") -> Said:
        """Send C{text} to one person; the sender gets it too (its door shows it as sent)."""
        state = self._state(member)
        text = self._text(text)
        target = self._nicks.get(fold(nick))
        if target is None:
            raise ChatError("no_such_nick", f"no one is called {nick}")
        link = self._link(member)
        if link is not None and getattr(target.member, "remote", False):
            link.admit()
        self._flood_check(state)
        said = Said(
            sender=member.nick, text=text, target=target.member.nick, kind=kind,
            when=self.clock(), seq=next(self._seq),
            mid=link.mid() if link is not None else "",
        )  # fmt: skip
        self.counters["messages.private"] += 1
        self.fanout.release()
        target.member.deliver(said)
        if target.member is not member:
            member.deliver(said)
        return said

    def announce(self, text: str) -> None:
        """A notice from the server to every member (shutdown, maintenance)."""
        self._tell(self.members(), Notice(text=text))

    # --- the other processes (called by the backbone) --------------------------------

    def local_members(self) -> list[Member]:
        """The members connected to this process (not the stubs of other processes')."""
        return [s.member for s in self._states.values() if not getattr(s.member, "remote", 0)]

    def adopt(self, stub: Member) -> bool:
        """Hold C{stub} (someone on another process) under its nick; False if taken here."""
        key = fold(stub.nick)
        if key in self._nicks or id(stub) in self._states:
            return False
        state = _State(stub, TokenBucket(self.flood_rate, self.flood_burst, stamp=self.clock()))
        self._nicks[key] = state
        self._states[id(stub)] = state
        self.monitors.changed(stub.nick, True)
        return True

    def arrive(self, said: Said) -> None:
        """A room message, in the room stream's order: told to the room's members here."""
        room = self._rooms.get(fold(said.room or ""))
        if room is None:
            return
        said = dataclasses.replace(said, seq=next(self._seq))
        sender = self._nicks.get(fold(said.sender))
        if sender is not None and getattr(sender.member, "remote", False):
            key = id(sender.member)
            if key in room.members:
                room.spoke.pop(key, None)
                room.spoke[key] = said.when
        self._deliver(room, said)

    def arrive_private(self, said: Said) -> None:
        """A private message from another process, for one of this process's members."""
        target = self._nicks.get(fold(said.target or ""))
        if target is not None and not getattr(target.member, "remote", False):
            self.counters["messages.private"] += 1
            self.fanout.release()
            target.member.deliver(dataclasses.replace(said, seq=next(self._seq)))

    def sync_room(
        self,
        name: str,
        history: list[Said],
        topic: str,
        topic_by: str,
        created: float,
        others: list[Member],
    ) -> None:
        """
        Room C{name} as the store holds it, read once when this process first joins it:
        its history, its topic and the members on other processes (their joins told
        here). The backbone then applies the last seconds' comings and goings again and
        calls L{settle_room}.
        """
        room = self._rooms.get(fold(name))
        if room is None:
            return
        room.history.clear()
        room.history.extend(dataclasses.replace(s, seq=next(self._seq)) for s in history)
        if topic:
            room.topic, room.topic_by = topic[:TOPIC_MAX], topic_by
            room.topic_at = self.clock()
        if created and created < room.created:
            room.created = created
        for stub in others:
            if id(stub) not in room.members:
                self.join(stub, room.name)

    def settle_room(
        self,
        name: str,
        waiting: list[Member],
        modes: str = "",
        keys: Mapping[int, str] | None = None,
    ) -> None:
        """
        Room C{name}'s members are known (L{sync_room}): if other processes hold it
        (C{modes}, L{netsuite.chat._modes_wire}), its modes and roles replace what this
        process gave the room (its first member the operator), and a member who joined
        before they were known (with C{keys}[id]) and whom they refuse is put out of the
        room, told why. C{waiting}, the members who joined before the room was read, then
        get its history. Run after every member is in, so a put-out never empties a
        room others still hold (it would start afresh here, its key forgotten).
        """
        room = self._rooms.get(fold(name))
        if room is None:
            return
        self.fanout.release()
        if modes:
            self._adopt_modes(room, modes, waiting, keys or {})
        for member in waiting:
            if id(member) in room.members:
                for said in room.history:
                    member.deliver(Replayed(said=said))

    def modes_text(self, name: str) -> str:
        """Room C{name}'s modes and roles as the backbone's store keeps them."""
        room = self._room(name)
        members = room.members
        return dump_modes(room.modes, lambda k: members[k].nick if k in members else None)

    def _adopt_modes(
        self, room: _Room, text: str, waiting: list[Member], keys: Mapping[int, str]
    ) -> None:
        by_nick = {fold(m.nick): k for k, m in room.members.items()}
        old, room.modes = room.modes, load_modes(text, by_nick.get, max_list=self.max_list)
        lost = [m for m in waiting if id(m) in old.ops and id(m) not in room.modes.ops]
        if lost:
            self._tell(room.local.values(), ModeChanged(
                room=room.name, nick=self.server_name, changes="-" + "o" * len(lost),
                args=tuple(m.nick for m in lost),
            ))  # fmt: skip
        admitted = len(room.members) - len(waiting)
        for member in waiting:
            state = self._nicks.get(fold(member.nick))
            if state is None or id(member) not in room.members or id(member) in room.modes.ops:
                continue
            try:
                room.modes.check_join(self.mask(member), keys.get(id(member), ""), admitted,
                                      invited=False, account=account_of(member))  # fmt: skip
            except ModeError as e:
                event = Kicked(room=room.name, nick=self.server_name, target=member.nick,
                               reason=e.message)  # fmt: skip
                self._put_out(room, state, event, member)
                link = self._link(member)
                if link is not None:
                    link.parted(member, room.name, e.message)
                continue
            admitted += 1

    def arrive_modes(self, setter: Member, name: str, text: str, args: Sequence[str]) -> None:
        """Another process's member changed room C{name}'s modes: its process checked."""
        room = self._rooms.get(fold(name))
        if room is None or id(setter) not in room.members:
            return
        changes, _errors = parse_changes(text, args, max_modes=len(text))
        by_nick = {fold(m.nick): (k, m.nick) for k, m in room.members.items()}

        def resolve(nick: str) -> tuple[int, str]:
            found = by_nick.get(fold(nick))
            if found is None:
                raise ModeError("user_not_in_room", "They aren't on that channel", param=nick)
            return found

        applied, _refused = room.modes.apply(
            changes, by=self.mask(setter), when=self.clock(), resolve=resolve
        )
        if applied:
            text, params = change_text(applied)
            self._tell(room.local.values(), ModeChanged(
                room=room.name, nick=setter.nick, changes=text, args=tuple(params)
            ))  # fmt: skip

    def arrive_kick(self, kicker: Member, name: str, nick: str, reason: str) -> Member | None:
        """
        Another process's member kicked C{nick} out of room C{name}: its process checked.
        The kicked member if it was one of this process's (its store membership goes).
        """
        room = self._rooms.get(fold(name))
        target = self._nicks.get(fold(nick))
        if room is None or target is None or id(target.member) not in room.members:
            return None
        event = Kicked(room=room.name, nick=kicker.nick, target=target.member.nick,
                       reason=reason or kicker.nick)  # fmt: skip
        self._put_out(room, target, event, kicker)
        return None if getattr(target.member, "remote", False) else target.member

    def _tell(self, members: Iterable[Member], event: ChatEvent) -> None:
        self.fanout.release()  # held messages came first
        for m in list(members):
            m.deliver(event)
