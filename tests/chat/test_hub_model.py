"""
A model of the chat hub, checked step by step against the real one (hypothesis stateful).

Two kinds of people: I{direct} members call the hub themselves (a test door, as a bot
or a bridge would), and I{wire} members are real line-door connections
(L{netsuite.chat._line_door.LineChat} over a L{StringTransport}), whose input arrives in
pieces (a line may be held half-typed across other steps) and whose output is read back
in pieces and parsed, so the hub is seen through a real door, fake lag and send queue
included. Time is a L{Clock}: flood buckets and the door's fake lag refill as it moves.

The model keeps, for each person, the messages and notices it must have been told, in
the order the hub decided them. After every step:

  - every message a member got came from a member present (connected, and in the room
    for a room message) when it was sent: the model adds a message only to those
    present, and each member's messages must equal (or, while its bytes are still
    being read, be a prefix of) that list;
  - a room's messages reach every member in one order: each member's view of a room
    is a subsequence of that room's one log (identical for members present throughout);
  - nothing reaches a member after it left (its recorded events, its wire bytes, stop);
  - the hub's members, nicks, rooms and each member's rooms equal the model's;
  - a wire line runs exactly when the member's fake-lag bucket has its token, never
    early, never left waiting past its turn;
  - a stalled reader (its transport pauses the door's outbox, as a full socket buffer
    does) is cut off exactly when the bytes its door was handed while stalled pass the
    send queue's bound, and then gets none of them; below the bound it stays and, once
    resumed, gets them all.

Notices of comings and goings are compared as a multiset per member: a reader cut off in
the middle of a fan-out has its quit told to the rest before some of them get the very
event that cut it off, an order the hub does not promise. Messages are compared in order.

The model's fake lag follows L{netsuite.chat._flood.InputPacer}'s documented rule (a line
runs when none waits before it and a token is there) with exact fractions; the clock moves
in quarter seconds at 2 lines a second, so float rounding never reaches a decision.

150 runs of at most 40 steps take about 4 s, derandomized (the same runs every time, so a
failure in CI reproduces anywhere); for a long hunt, C{NETSUITE_MODEL_RANDOM=1
NETSUITE_MODEL_EXAMPLES=5000} runs more, and different ones each time.
"""

from __future__ import annotations

import contextlib
import os
import re
import string
from collections import Counter
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._events import (
    ChatError,
    ChatEvent,
    Joined,
    Parted,
    Quit,
    Renamed,
    Replayed,
    Said,
)
from netsuite.chat._flood import ERROR_LIMIT, ERROR_WINDOW
from netsuite.chat._hub import Hub
from netsuite.chat._line import LineSession
from netsuite.chat._line_door import LineChat, LineChatFactory
from netsuite.testing import RecordingMember

RATE, BURST = 2, 3  # flood: tokens a second, at most this many stored
KICK = 3  # direct members: refused messages in a row before the hub cuts them off
QUEUE = 3  # wire members: lines that may wait their turn (fake lag) before a flood close
HISTORY = 3
SEND_QUEUE = 240  # bytes a stalled wire member's door may hold for it
START = 1000.0
STEPS = 40
MAX_PEOPLE = 8
#: A wire member's lines run at most BURST + RATE * ERROR_WINDOW times in an error
#: window, each making at most one error: none reaches the error budget's disconnect
#: (which the model does not follow).
assert BURST + RATE * ERROR_WINDOW < ERROR_LIMIT

NICKS = ["ann", "Ann", "bob", "b[1]", "B{1}", "guest1", "guest2", "Guest3", "9bad"]
TARGETS = [*NICKS, "guest4", "nobody"]
ROOMS = ["#a", "#A", "#b", "#lobby"]
STEP_TIMES = [0.25, 0.5, 1.0, 2.0, 3.0]
QUIT_SENDQ = f"send queue exceeded ({SEND_QUEUE} bytes)"
QUIT_PACED = f"flooding ({QUEUE} lines queued)"

# RFC 1459 case mapping and RFC 2812 nicks, written out here as the model's own rules.
_FOLD = str.maketrans(string.ascii_uppercase + "[]\\~", string.ascii_lowercase + "{}|^")
_NICK = re.compile(r"[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]{0,29}")
SAYS = {"room", "replay", "priv_in", "priv_out"}


def fold(name: str) -> str:
    return name.translate(_FOLD)


class Refusal(Exception):  # noqa: N818 - a prediction, not an error of ours
    """The model's prediction that the hub refuses, with the hub's error code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class Person:
    """The model's view of one member, and the real thing it stands for."""

    def __init__(self, kind: str, label: int) -> None:
        self.kind = kind  # "direct" or "wire"
        self.label = label
        self.nick = ""
        self.connected = False
        self.rooms: list[str] = []  # folded room names, in join order
        self.said: list[tuple[Any, ...]] = []  # messages it must get, in order
        self.notices: list[tuple[Any, ...]] = []  # joins, parts, quits, renames
        self.tokens = Fraction(BURST)  # the hub's bucket (direct) or fake lag's (wire)
        self.stamp = Fraction(0)
        self.strikes = 0
        # wire members only
        self.current: str | None = None  # the line door's current room
        self.pending: list[tuple[bytes, tuple[Any, ...]]] = []  # written, not yet a line
        self.waiting: list[tuple[bytes, tuple[Any, ...]]] = []  # lines waiting their turn
        self.held = b""  # the tail of a half-typed line
        self.overflowing = False
        self.quit_reason: str | None = None  # why the hub is to quit it now (wire)
        self.stalled = False
        self.stall_bytes = 0
        self.stall_marks = (0, 0, 0)  # said, notices, wire bytes when the stall began
        self.cut = False
        self.lost = False
        self.final_len = 0
        self.offset = 0  # wire bytes read so far
        self.buffer = b""
        self.seen_said: list[tuple[Any, ...]] = []
        self.seen_notices: list[tuple[Any, ...]] = []
        self.real: Any = None
        self.proto: Any = None
        self.transport: StringTransport | None = None

    def __repr__(self) -> str:
        return f"<{self.kind} {self.label} {self.nick!r}>"


def _event(event: ChatEvent, nick: str) -> tuple[Any, ...]:
    """A delivered event as the model writes it down (C{nick}: the receiver's, then)."""
    if isinstance(event, Said):
        if event.room is not None:
            return ("room", event.room, event.sender, event.text, event.kind)
        if event.sender == nick:
            return ("priv_out", event.target, event.text)
        return ("priv_in", event.sender, event.text)
    if isinstance(event, Replayed):
        s = event.said
        return ("replay", s.room, s.sender, s.text, s.kind)
    if isinstance(event, Joined):
        return ("joined", event.room, event.nick)
    if isinstance(event, Parted):
        return ("parted", event.room, event.nick, event.reason)
    if isinstance(event, Quit):
        return ("quit", event.nick, event.reason)
    if isinstance(event, Renamed):
        return ("renamed", event.old, event.new)
    return ("other", type(event).__name__)


_H = r"\[(#\S+)\] \[history \d\d:\d\d\] "
LINES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], tuple[Any, ...]]]] = [
    (re.compile(_H + r"\* (\S+) (.*)"), lambda m: ("replay", m[1], m[2], m[3], "action")),
    (re.compile(_H + r"<(\S+)> (.*)"), lambda m: ("replay", m[1], m[2], m[3], "say")),
    (re.compile(r"\[private\] <(\S+)> (.*)"), lambda m: ("priv_in", m[1], m[2])),
    (re.compile(r"\[private -> (\S+)\] (.*)"), lambda m: ("priv_out", m[1], m[2])),
    (re.compile(r"\[(#\S+)\] -> (\S+) joined"), lambda m: ("joined", m[1], m[2])),
    (
        re.compile(r"\[(#\S+)\] <- (\S+) left(?: \((.*)\))?"),
        lambda m: ("parted", m[1], m[2], m[3] or ""),
    ),
    (re.compile(r"<- (\S+) quit(?: \((.*)\))?"), lambda m: ("quit", m[1], m[2] or "")),
    (re.compile(r"-- (\S+) is now known as (\S+)"), lambda m: ("renamed", m[1], m[2])),
    (re.compile(r"\[(#\S+)\] <(\S+)> (.*)"), lambda m: ("room", m[1], m[2], m[3], "say")),
    (re.compile(r"\[(#\S+)\] \* (\S+) (.*)"), lambda m: ("room", m[1], m[2], m[3], "action")),
    (re.compile(r"\[(#\S+)\] -(\S+)- (.*)"), lambda m: ("room", m[1], m[2], m[3], "notice")),
]


def parse_line(line: str) -> tuple[Any, ...]:
    """One line of the line door's output, as the model writes events down."""
    if line.startswith(("-!- ", "!! ")):
        return ("other", line)
    for pattern, make in LINES:
        match = pattern.fullmatch(line)
        if match:
            return make(match)
    raise AssertionError(f"the line door wrote a line of no known form: {line!r}")


class DirectMember(RecordingMember):
    """A member that calls the hub itself, as a test door would; cut off, it quits."""

    door = "model"

    def __init__(self, machine: HubModel, person: Person) -> None:
        super().__init__()
        self.machine = machine
        self.person = person
        self.seqs: dict[str, list[int]] = {}
        self.nicks: list[str] = []  # its nick when each event came

    def deliver(self, event: ChatEvent) -> None:
        if not self.person.connected:
            self.machine.violations.append(f"{self.person} told {event!r} after it left")
        super().deliver(event)
        self.nicks.append(self.nick)
        if isinstance(event, Said) and event.room is not None:
            self.seqs.setdefault(fold(event.room), []).append(event.seq)

    def disconnect(self, reason: str) -> None:
        super().disconnect(reason)
        self.machine.hub.quit(self, reason)


class ModelSession(LineSession):
    """The line door's session, telling the model when a line arrives and when it runs."""

    __slots__ = ("machine", "person")
    machine: HubModel
    person: Person

    def paced_line(self, raw: bytes) -> None:
        self.machine.on_push(self.person, raw)
        super().paced_line(raw)
        self.machine.after_push(self.person)

    def line_received(self, raw: bytes) -> None:
        cmd = self.machine.on_run(self.person, raw)
        super().line_received(raw)
        self.machine.after_run(self.person, cmd)


class ModelDoor(LineChat):
    """The real line door; what its session hands the outbox is counted for the model."""

    person: Person

    def make_session(self) -> ModelSession:
        factory = self.factory
        machine: HubModel = factory.machine  # type: ignore[attr-defined]
        person = self.person = machine.arriving

        def send(data: bytes) -> None:
            machine.on_send(person, data)
            self.outbox.send(data)

        session = ModelSession(factory.hub, send, self.close, max_line=factory.max_line)
        session.machine, session.person = machine, person
        return session


class HubModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.clock.advance(START)
        self.hub = Hub(
            clock=self.clock.seconds, history=HISTORY, flood_rate=RATE, flood_burst=BURST,
            flood_kick=KICK, flood_queue=QUEUE,
        )  # fmt: skip
        self.factory = LineChatFactory(
            "chat/line", self.hub, clock=self.clock, idle_timeout=0, send_queue=SEND_QUEUE
        )
        self.factory.protocol = ModelDoor
        self.hub_quit = self.hub.quit
        self.hub.quit = self.quitting  # type: ignore[method-assign]
        self.factory.machine = self  # type: ignore[attr-defined]
        self.people: list[Person] = []
        self.nicks: dict[str, Person] = {}  # folded nick -> person
        self.rooms: dict[str, dict[str, Any]] = {}  # folded -> name, members, history
        self.logs: dict[str, list[str]] = {}  # folded room -> its messages' texts, in order
        self.guests = 0
        self.texts = 0
        self.violations: list[str] = []
        self.arriving: Person = Person("wire", -1)
        #: The model's effects that the hub applies only once its fan-out is done.
        self.later: list[Callable[[], None]] = []

    # --- the model ---------------------------------------------------------------------

    def now(self) -> Fraction:
        return Fraction(self.clock.seconds())

    def tokens_at(self, p: Person) -> Fraction:
        return min(Fraction(BURST), p.tokens + max(Fraction(0), self.now() - p.stamp) * RATE)

    def take(self, p: Person) -> bool:
        p.tokens, p.stamp = self.tokens_at(p), max(p.stamp, self.now())
        if p.tokens >= 1:
            p.tokens -= 1
            return True
        return False

    def text(self) -> str:
        self.texts += 1
        return f"t{self.texts}"

    def present(self, p: Person) -> None:
        if not p.connected:
            raise Refusal("not_registered")

    def check_nick(self, p: Person, nick: str) -> None:
        if not _NICK.fullmatch(nick):
            raise Refusal("erroneous_nick")
        holder = self.nicks.get(fold(nick))
        if holder is not None and holder is not p:
            raise Refusal("nick_in_use")

    def m_connect(self, p: Person, nick: str | None) -> str:
        if nick is None:
            while True:
                self.guests += 1
                nick = f"guest{self.guests}"
                if fold(nick) not in self.nicks:
                    break
        self.check_nick(p, nick)
        p.nick, p.connected = nick, True
        p.tokens, p.stamp = Fraction(BURST), self.now()
        self.nicks[fold(nick)] = p
        return nick

    def m_join(self, p: Person, name: str) -> bool:
        self.present(p)
        key = fold(name)
        if key in p.rooms:
            return False
        room = self.rooms.setdefault(key, {"name": name, "members": [], "history": []})
        room["members"].append(p)
        p.rooms.append(key)
        for m in room["members"]:
            m.notices.append(("joined", room["name"], p.nick))
        for entry in room["history"][-HISTORY:]:
            p.said.append(("replay", *entry[1:]))
        return True

    def forget(self, key: str) -> None:
        room = self.rooms[key]
        if not room["members"] and not room["history"]:
            del self.rooms[key]

    def m_part(self, p: Person, name: str, reason: str) -> None:
        self.present(p)
        key = fold(name)
        if key not in p.rooms:
            raise Refusal("not_on_room")
        room = self.rooms[key]
        for m in room["members"]:
            m.notices.append(("parted", room["name"], p.nick, reason))
        p.rooms.remove(key)

        def left() -> None:
            # The hub tells the room first and drops the member from it after: a quit
            # that the fan-out itself causes (a stalled reader cut off) reaches it too.
            if p in room["members"]:
                room["members"].remove(p)
                self.forget(key)

        self.later.append(left)

    def m_flood(self, p: Person) -> None:
        if p.kind == "wire":  # its door paces it (fake lag); the hub does not drop
            return
        if self.take(p):
            p.strikes = 0
            return
        p.strikes += 1
        if p.strikes >= KICK:
            self.m_quit(p, "flooding")
        raise Refusal("flood")

    def m_say(self, p: Person, name: str, text: str, kind: str) -> None:
        self.present(p)
        key = fold(name)
        if key not in p.rooms:
            raise Refusal("cannot_send" if key in self.rooms else "no_such_room")
        self.m_flood(p)
        room = self.rooms[key]
        entry = ("room", room["name"], p.nick, text, kind)
        if kind != "notice":
            room["history"].append(entry)
        for m in room["members"]:
            m.said.append(entry)
        self.logs.setdefault(key, []).append(text)

    def m_private(self, p: Person, nick: str, text: str) -> None:
        self.present(p)
        target = self.nicks.get(fold(nick))
        if target is None:
            raise Refusal("no_such_nick")
        self.m_flood(p)
        if target is not p:
            target.said.append(("priv_in", p.nick, text))
        p.said.append(("priv_out", target.nick, text))

    def neighbours(self, p: Person) -> list[Person]:
        out: list[Person] = []
        for key in p.rooms:
            out += [m for m in self.rooms[key]["members"] if m is not p and m not in out]
        return out

    def m_rename(self, p: Person, nick: str) -> None:
        self.present(p)
        old = p.nick
        if nick == old:
            return
        self.check_nick(p, nick)
        del self.nicks[fold(old)]
        self.nicks[fold(nick)] = p
        p.nick = nick
        for m in [p, *self.neighbours(p)]:
            m.notices.append(("renamed", old, nick))

    def m_quit(self, p: Person, reason: str) -> None:
        if not p.connected:
            return
        told = self.neighbours(p)
        p.connected = False
        del self.nicks[fold(p.nick)]
        for key in p.rooms:
            self.rooms[key]["members"].remove(p)
            self.forget(key)
        p.rooms, p.current, p.waiting, p.pending = [], None, [], []
        for m in told:
            m.notices.append(("quit", p.nick, reason))

    # --- what the wire members' doors tell the model -----------------------------------

    def on_send(self, p: Person, data: bytes) -> None:
        """The door hands its outbox C{data}: while stalled, count it against the bound."""
        if not p.stalled or p.cut:
            return
        p.stall_bytes += len(data)
        if p.stall_bytes > SEND_QUEUE:  # the outbox cuts it off now: none of it arrives
            p.cut = True
            said, notices, _ = p.stall_marks
            del p.said[said:]
            del p.notices[notices:]
            self.m_quit(p, QUIT_SENDQ)

    def quitting(self, member: Any, reason: str = "") -> None:
        """
        The hub is told a wire member quits: the model follows at that very moment (the
        hub forgets the member before telling the rest, and a reader cut off by that
        news must not be told of the quitter), for the reason the model expects.
        """
        p = member.person if isinstance(member, ModelSession) else None
        if p is not None and p.connected:
            assert reason == p.quit_reason, (p, reason, p.quit_reason)
            self.m_quit(p, reason)
        self.hub_quit(member, reason)

    def on_push(self, p: Person, raw: bytes) -> None:
        """A complete line reached the door: it runs now, waits its turn, or overflows."""
        line, cmd = p.pending.pop(0)
        assert line == raw, (line, raw)
        runs_now = not p.waiting and self.tokens_at(p) >= 1
        if not runs_now and len(p.waiting) >= QUEUE:
            p.overflowing, p.quit_reason = True, QUIT_PACED
        else:
            p.waiting.append((raw, cmd))

    def after_push(self, p: Person) -> None:
        if p.overflowing:
            p.overflowing = False
            assert p.real.closed, f"{p}: fake lag's queue overflowed but the door stays"
            assert not p.connected, f"{p}: closed for flooding, still in the hub"

    def on_run(self, p: Person, raw: bytes) -> tuple[Any, ...]:
        """The door runs a line: it must be the next one, and its turn must have come."""
        assert p.waiting and p.waiting[0][0] == raw, (p, raw, p.waiting)
        assert self.take(p), f"{p}: {raw!r} ran before its turn"
        cmd = p.waiting.pop(0)[1]
        if cmd[0] == "quit":
            p.quit_reason = "quit"
        with contextlib.suppress(Refusal):  # the door replies with an error line
            self.wire_apply(p, cmd)
        return cmd

    def run_later(self) -> None:
        later, self.later = self.later, []
        for effect in later:
            effect()

    def after_run(self, p: Person, cmd: tuple[Any, ...]) -> None:
        self.run_later()
        if cmd[0] == "quit":
            assert not p.connected, f"{p}: /quit, still in the hub"

    def wire_apply(self, p: Person, cmd: tuple[Any, ...]) -> None:
        """What the line door does with a line, on the model."""
        op = cmd[0]
        if op in ("say", "me"):
            if p.current is None:
                raise Refusal("no_room")
            self.m_say(p, p.current, cmd[1], "say" if op == "say" else "action")
        elif op == "msg":
            self.m_private(p, cmd[1], cmd[2])
        elif op == "nick":
            self.m_rename(p, cmd[1])
        elif op == "join":
            self.m_join(p, cmd[1])
            p.current = self.rooms[fold(cmd[1])]["name"]
        elif op == "part":
            room = cmd[1] or p.current
            if room is None:
                raise Refusal("no_room")
            self.m_part(p, room, cmd[2])
            if p.current is not None and p.current.lower() == room.lower():
                p.current = self.rooms[p.rooms[-1]]["name"] if p.rooms else None

    # --- steps ---------------------------------------------------------------------------

    def direct(self, i: int) -> Person:
        people = [p for p in self.people if p.kind == "direct"]
        return people[i % len(people)]

    def wire(self, i: int) -> Person:
        people = [p for p in self.people if p.kind == "wire" and p.connected]
        return people[i % len(people)]

    def has_direct(self) -> bool:
        return any(p.kind == "direct" for p in self.people)

    def has_wire(self) -> bool:
        return any(p.kind == "wire" and p.connected for p in self.people)

    def room_open(self) -> bool:
        return sum(p.connected for p in self.people) < MAX_PEOPLE

    def both(self, predict: Callable[[], Any], act: Callable[[], Any]) -> None:
        """Run the model's C{predict}, then the hub's C{act}: same result, same refusal."""
        try:
            expected, code = predict(), None
        except Refusal as e:
            expected, code = None, e.code
        try:
            got, real = act(), None
        except ChatError as e:
            got, real = None, e.code
        self.run_later()
        assert (real, got) == (code, expected), (real, got, code, expected)

    @precondition(room_open)
    @rule(nick=st.sampled_from([None, None, *NICKS]))
    def connect_direct(self, nick: str | None) -> None:
        p = Person("direct", len(self.people))
        p.real = DirectMember(self, p)
        self.people.append(p)
        self.both(lambda: self.m_connect(p, nick), lambda: self.hub.connect(p.real, nick))

    @precondition(room_open)
    @rule()
    def connect_wire(self) -> None:
        p = self.arriving = Person("wire", len(self.people))
        self.people.append(p)
        self.m_connect(p, None)
        self.m_join(p, self.hub.default_room)
        p.current = self.rooms[fold(self.hub.default_room)]["name"]
        peer = IPv4Address("TCP", f"127.0.0.{p.label + 1}", 5000)
        p.proto = self.factory.buildProtocol(peer)
        p.transport = StringTransport(peerAddress=peer)
        p.proto.makeConnection(p.transport)
        p.real = p.proto.session
        self.settle()

    @precondition(has_direct)
    @rule(
        i=st.integers(0, 63),
        room=st.sampled_from(ROOMS),
        kind=st.sampled_from(["say", "say", "action", "notice"]),
        count=st.integers(1, 7),
    )
    def direct_say(self, i: int, room: str, kind: str, count: int) -> None:
        """C{count} messages in a row (past the burst, the hub drops, then kicks)."""
        p = self.direct(i)
        for _ in range(count):
            text = self.text()
            self.both(
                lambda text=text: self.m_say(p, room, text, kind),
                lambda text=text: self.hub.say(p.real, room, text, kind) and None,
            )
        self.settle()

    @precondition(has_direct)
    @rule(i=st.integers(0, 63), nick=st.sampled_from(TARGETS))
    def direct_private(self, i: int, nick: str) -> None:
        p, text = self.direct(i), self.text()
        self.both(
            lambda: self.m_private(p, nick, text),
            lambda: self.hub.private(p.real, nick, text) and None,
        )
        self.settle()

    @precondition(has_direct)
    @rule(i=st.integers(0, 63), room=st.sampled_from(ROOMS))
    def direct_join(self, i: int, room: str) -> None:
        p = self.direct(i)
        self.both(lambda: self.m_join(p, room), lambda: self.hub.join(p.real, room))
        self.settle()

    @precondition(has_direct)
    @rule(i=st.integers(0, 63), room=st.sampled_from(ROOMS), reason=st.sampled_from(["", "x"]))
    def direct_part(self, i: int, room: str, reason: str) -> None:
        p = self.direct(i)
        self.both(
            lambda: self.m_part(p, room, reason), lambda: self.hub.part(p.real, room, reason)
        )
        self.settle()

    @precondition(has_direct)
    @rule(i=st.integers(0, 63), nick=st.sampled_from(NICKS))
    def direct_rename(self, i: int, nick: str) -> None:
        p = self.direct(i)
        self.both(lambda: self.m_rename(p, nick), lambda: self.hub.rename(p.real, nick))
        self.settle()

    @precondition(has_direct)
    @rule(i=st.integers(0, 63))
    def direct_quit(self, i: int) -> None:
        p = self.direct(i)
        self.both(lambda: self.m_quit(p, "bye"), lambda: self.hub.quit(p.real, "bye"))
        self.settle()

    def line(self, template: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        """A line the person types, and what it means to the model."""
        op = template[0]
        if op in ("say", "me"):
            text = self.text()
            return (text if op == "say" else f"/me {text}"), (op, text)
        if op == "msg":
            text = self.text()
            return f"/msg {template[1]} {text}", ("msg", template[1], text)
        if op == "nick":
            return f"/nick {template[1]}", template
        if op == "join":
            return f"/join {template[1]}", template
        if op == "part":
            room, reason = template[1], template[2] if template[1] else ""
            return (f"/part {room} {reason}".rstrip() if room else "/part"), (op, room, reason)
        return "/quit", ("quit",)

    @precondition(has_wire)
    @rule(
        i=st.integers(0, 63),
        templates=st.lists(
            st.one_of(
                st.just(("say",)),
                st.just(("say",)),
                st.just(("me",)),
                st.tuples(st.just("msg"), st.sampled_from(TARGETS)),
                st.tuples(st.just("nick"), st.sampled_from(NICKS)),
                st.tuples(st.just("join"), st.sampled_from(ROOMS)),
                st.tuples(
                    st.just("part"), st.sampled_from([*ROOMS, None]), st.sampled_from(["", "x"])
                ),
                st.just(("quit",)),
            ),
            min_size=1,
            max_size=3,
        ),
        cuts=st.lists(st.integers(1, 60), max_size=4),
        crlf=st.booleans(),
        hold=st.booleans(),
    )
    def wire_send(
        self, i: int, templates: list[tuple[Any, ...]], cuts: list[int], crlf: bool, hold: bool
    ) -> None:
        """Lines typed by a wire member, arriving in pieces; the last piece may wait."""
        p = self.wire(i)
        data = p.held
        for template in templates:
            text, cmd = self.line(template)
            raw = text.encode()
            p.pending.append((raw, cmd))
            data += raw + (b"\r\n" if crlf else b"\n")
        points = sorted({c for c in cuts if c < len(data)})
        pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
        p.held = pieces.pop() if hold and len(pieces) > 1 else b""
        for piece in pieces:
            if p.connected:
                p.proto.dataReceived(piece)
        self.settle()

    @precondition(has_wire)
    @rule(i=st.integers(0, 63))
    def wire_drop(self, i: int) -> None:
        """The connection is lost (the peer vanished), whatever it was typing."""
        p = self.wire(i)
        if p.stalled:  # what its door held for it is gone with the connection
            said, notices, _ = p.stall_marks
            del p.said[said:]
            del p.notices[notices:]
        p.quit_reason = "connection lost"
        p.proto.connectionLost(Failure(ConnectionLost()))
        p.lost, p.final_len = True, len(p.transport.value())
        assert not p.connected, f"{p}: connection lost, still in the hub"
        self.settle()

    @precondition(lambda self: any(p.connected and not p.stalled for p in self.wires()))
    @rule(i=st.integers(0, 63))
    def stall(self, i: int) -> None:
        """The reader stops reading: its transport pauses the door (as a full buffer does)."""
        people = [p for p in self.wires() if p.connected and not p.stalled]
        p = people[i % len(people)]
        p.stalled, p.stall_bytes = True, 0
        p.stall_marks = (len(p.said), len(p.notices), len(p.transport.value()))
        p.transport.producer.pauseProducing()

    @precondition(lambda self: any(p.connected and p.stalled for p in self.wires()))
    @rule(i=st.integers(0, 63))
    def resume(self, i: int) -> None:
        people = [p for p in self.wires() if p.connected and p.stalled]
        p = people[i % len(people)]
        p.stalled = False
        p.transport.producer.resumeProducing()

    @precondition(lambda self: any(p.transport is not None for p in self.people))
    @rule(i=st.integers(0, 63), size=st.integers(1, 80))
    def read(self, i: int, size: int) -> None:
        """Read some of what a wire member was sent (any split: mid-line, mid-CRLF)."""
        people = self.wires()
        self.read_bytes(people[i % len(people)], size)

    @rule(seconds=st.sampled_from(STEP_TIMES))
    def advance(self, seconds: float) -> None:
        """Time passes: buckets refill, lines waiting their turn run."""
        self.clock.advance(seconds)
        self.settle()

    def wires(self) -> list[Person]:
        return [p for p in self.people if p.kind == "wire"]

    def read_bytes(self, p: Person, size: int | None = None) -> None:
        assert p.transport is not None
        value = p.transport.value()
        end = len(value) if size is None else min(len(value), p.offset + size)
        p.buffer += value[p.offset : end]
        p.offset = end
        *lines, p.buffer = p.buffer.split(b"\r\n")
        for line in lines:
            event = parse_line(line.decode("utf-8"))
            if event[0] in SAYS:
                p.seen_said.append(event)
            elif event[0] != "other":
                p.seen_notices.append(event)

    def settle(self) -> None:
        """What the reactor would do next: a door that closed its transport is lost."""
        for p in self.wires():
            if p.lost or not p.transport.disconnecting:
                continue
            p.proto.connectionLost(Failure(ConnectionDone()))
            p.lost, p.final_len = True, len(p.transport.value())
            if p.cut:
                assert p.final_len == p.stall_marks[2], f"{p}: sent some of its queue"
            assert not p.connected, f"{p}: the door closed, the model expected it to stay"

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def check(self) -> None:
        hub = self.hub
        assert not self.violations, self.violations
        present = [p for p in self.people if p.connected]
        assert {id(m) for m in hub.members()} == {id(p.real) for p in present}, (
            [m.nick for m in hub.members()],
            present,
        )
        for p in present:
            assert p.real.nick == p.nick, (p, p.real.nick)
            assert hub.find(p.nick) is p.real, p
            assert hub.rooms_of(p.real) == [self.rooms[k]["name"] for k in p.rooms], p
        assert sorted(fold(n) for n in self.nicks) == sorted(fold(m.nick) for m in hub.members())
        names = [(r.name, r.members) for r in hub.room_names()]
        model = sorted(self.rooms.values(), key=lambda r: fold(r["name"]))
        assert names == [(r["name"], len(r["members"])) for r in model], names
        for room in model:
            assert [m.nick for m in hub.who(room["name"])] == [p.nick for p in room["members"]]
        for p in self.people:
            self.check_person(p)
            if p.kind == "wire" and p.connected and p.waiting:
                assert self.tokens_at(p) < 1, f"{p}: {p.waiting[0][0]!r} waits past its turn"

    def check_person(self, p: Person, complete: bool = False) -> None:
        if p.kind == "direct":
            events = [_event(e, n) for e, n in zip(p.real.events, p.real.nicks, strict=True)]
            said = [e for e in events if e[0] in SAYS]
            notices = [e for e in events if e[0] not in SAYS and e[0] != "other"]
            assert said == p.said, (p, said, p.said)
            assert Counter(notices) == Counter(p.notices), (p, notices, p.notices)
            for key, seqs in p.real.seqs.items():
                assert seqs == sorted(set(seqs)), (p, key, seqs)
        else:
            said, notices = p.seen_said, p.seen_notices
            if complete:
                assert said == p.said, (p, said, p.said)
                assert Counter(notices) == Counter(p.notices), (p, notices, p.notices)
            else:
                assert said == p.said[: len(said)], (p, said, p.said)
                assert not Counter(notices) - Counter(p.notices), (p, notices, p.notices)
            if p.lost:
                assert len(p.transport.value()) == p.final_len, f"{p}: sent to after it left"
        for key, log in self.logs.items():  # one order per room, every receiver a view of it
            texts = [e[3] for e in said if e[0] == "room" and fold(e[1]) == key]
            it = iter(log)
            assert all(t in it for t in texts), (p, key, texts, log)

    def teardown(self) -> None:
        """Resume every stalled reader and read everything: each got exactly its due."""
        for p in self.wires():
            if p.connected and p.stalled:
                p.stalled = False
                p.transport.producer.resumeProducing()
            self.read_bytes(p)
        self.check()
        for p in self.people:
            self.check_person(p, complete=True)


MODEL = settings(
    max_examples=int(os.environ.get("NETSUITE_MODEL_EXAMPLES", "150")),
    stateful_step_count=STEPS,
    deadline=None,
    # .ci/run sets no CI variable: derandomized unless a hunt asks otherwise.
    derandomize=not os.environ.get("NETSUITE_MODEL_RANDOM"),
    suppress_health_check=[HealthCheck.too_slow],
)


class HubModelTests(SynchronousTestCase):
    """
    The model, run by hypothesis (C{HubModel.TestCase} has only C{runTest}, which trial
    does not collect: a C{test_} method runs it under both runners).
    """

    def test_model(self) -> None:
        run_state_machine_as_test(HubModel, settings=MODEL)


def say(n: int = 1) -> list[tuple[str, ...]]:
    return [("say",)] * n


def send(i: int, templates: list[tuple[Any, ...]], **kw: Any) -> tuple[str, dict[str, Any]]:
    return "wire_send", {"i": i, "templates": templates, "cuts": [], "crlf": True,
                         "hold": False, **kw}  # fmt: skip


CONNECT_WIRE: tuple[str, dict[str, Any]] = ("connect_wire", {})


def tick(seconds: float = 0.25) -> tuple[str, dict[str, Any]]:
    return "advance", {"seconds": seconds}


class RegressionTests(SynchronousTestCase):
    """Fixed step sequences: cases hypothesis found, and the edges worth keeping."""

    def play(self, steps: list[tuple[str, dict[str, Any]]]) -> HubModel:
        """Run C{steps} as hypothesis would: the invariants after each, teardown last."""
        machine = HubModel()
        machine.check()
        for name, kwargs in steps:
            getattr(machine, name)(**kwargs)
            machine.check()
        machine.teardown()
        return machine

    def test_stalled_reader_cut_off_at_its_bound(self) -> None:
        """Past the send queue's bound the reader is cut off and gets none of the queue."""
        steps = [CONNECT_WIRE, ("connect_direct", {"nick": "ann"}),
                 ("direct_join", {"i": 0, "room": "#lobby"}), ("stall", {"i": 0})]  # fmt: skip
        for _ in range(16):
            steps += [("direct_say", {"i": 0, "room": "#lobby", "kind": "say", "count": 1}),
                      tick(0.5)]  # fmt: skip
        m = self.play(steps)
        reader, ann = m.people
        self.assertTrue(reader.cut)
        self.assertGreater(reader.stall_bytes, SEND_QUEUE)
        self.assertEqual(len(reader.transport.value()), reader.stall_marks[2])
        self.assertIn(("quit", reader.nick, QUIT_SENDQ), ann.notices)
        self.assertEqual(m.hub.members(), [ann.real])

    def test_stalled_reader_below_bound_gets_everything(self) -> None:
        m = self.play([CONNECT_WIRE, CONNECT_WIRE, ("stall", {"i": 0}), send(1, say(2)),
                       ("read", {"i": 0, "size": 7}), ("resume", {"i": 0})])  # fmt: skip
        reader = m.people[0]
        self.assertFalse(reader.cut)
        self.assertEqual([e[3] for e in reader.seen_said], ["t1", "t2"])

    def test_fake_lag_runs_lines_in_turn_then_floods(self) -> None:
        """Burst 3 at once, then one line per half second, in order; a 4th waiting: closed."""
        m = self.play([
            CONNECT_WIRE, CONNECT_WIRE, send(0, say(3)),
            send(0, [("say",), ("part", "#lobby", ""), ("say",)], cuts=[1, 5, 9]),
            tick(), tick(), tick(0.5), tick(0.5), send(0, say(3)),
            send(0, say(1), hold=True, cuts=[1]), send(0, say(1)),
        ])  # fmt: skip
        talker, listener = m.people
        self.assertEqual([e[3] for e in listener.seen_said], ["t1", "t2", "t3", "t4"])
        self.assertFalse(talker.connected)
        self.assertIn(b"-!- closing: " + QUIT_PACED.encode(), talker.transport.value())

    def test_guest_nicks_and_collisions(self) -> None:
        m = self.play([
            ("connect_direct", {"nick": "guest2"}), CONNECT_WIRE, CONNECT_WIRE,
            ("connect_direct", {"nick": None}), ("direct_rename", {"i": 0, "nick": "Guest3"}),
            ("connect_direct", {"nick": "Ann"}), ("connect_direct", {"nick": "ann"}),
            ("direct_rename", {"i": 1, "nick": "b[1]"}), ("connect_direct", {"nick": "B{1}"}),
            send(0, [("nick", "B{1}"), ("nick", "bob"), ("msg", "B{1}")]),
        ])  # fmt: skip
        self.assertEqual([p.nick for p in m.people if p.connected],
                         ["guest2", "bob", "guest3", "b[1]", "Ann"])  # fmt: skip

    def test_flood_dropped_refilled_then_kicked(self) -> None:
        m = self.play([
            ("connect_direct", {"nick": "ann"}), ("direct_join", {"i": 0, "room": "#a"}),
            ("direct_say", {"i": 0, "room": "#a", "kind": "say", "count": 4}), tick(0.5),
            ("direct_say", {"i": 0, "room": "#a", "kind": "say", "count": 1}),
            ("direct_say", {"i": 0, "room": "#a", "kind": "action", "count": 3}),
        ])  # fmt: skip
        self.assertFalse(m.people[0].connected)
        self.assertEqual(m.people[0].real.dropped, "flooding")
        self.assertEqual(m.logs["#a"], ["t1", "t2", "t3", "t5"])

    def test_half_typed_line_dies_with_its_connection(self) -> None:
        m = self.play([CONNECT_WIRE, CONNECT_WIRE, send(0, say(1), hold=True, cuts=[2]),
                       ("wire_drop", {"i": 0})])  # fmt: skip
        self.assertEqual(m.people[1].seen_said, [])

    def test_cut_during_a_part_is_told_to_the_one_parting(self) -> None:
        """
        Found by hypothesis: a stalled reader cut off by the fan-out of someone's part
        quits while the one parting is still in the room's list, so it is told of that
        quit too (the hub drops a parting member from the room after telling the room).
        """
        m = self.play([
            *[CONNECT_WIRE] * 7, ("stall", {"i": 16}), send(0, say(3), crlf=False),
            send(0, say(3), crlf=False), CONNECT_WIRE, *[tick()] * 6, ("wire_drop", {"i": 0}),
            CONNECT_WIRE, *[tick()] * 5, send(0, [("part", "#lobby", "")], crlf=False),
            CONNECT_WIRE, tick(),
        ])  # fmt: skip
        parting, stalled = m.people[1], m.people[2]
        self.assertTrue(stalled.cut)
        self.assertIn(("quit", stalled.nick, QUIT_SENDQ), parting.notices)

    def test_quit_whose_news_cuts_a_reader_off(self) -> None:
        """
        Found by hypothesis: a member's /quit, told to a stalled reader, pushes it past
        its bound; the reader's own quit is then not told to the one who just left.
        """
        m = self.play([
            *[CONNECT_WIRE] * 4, send(0, say(1), crlf=False), ("stall", {"i": 0}),
            *[CONNECT_WIRE] * 4, ("stall", {"i": 0}), ("wire_drop", {"i": 1}), CONNECT_WIRE,
            ("stall", {"i": 0}), ("wire_drop", {"i": 1}), CONNECT_WIRE,
            send(1, [("quit",)], crlf=False),
        ])  # fmt: skip
        reader = m.people[0]
        [quitter] = [p for p in m.people if p.quit_reason == "quit"]
        self.assertTrue(reader.cut)
        self.assertNotIn(("quit", reader.nick, QUIT_SENDQ), quitter.notices)
        self.assertIn(("quit", reader.nick, QUIT_SENDQ), m.people[-1].notices)
