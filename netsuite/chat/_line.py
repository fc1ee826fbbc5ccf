"""
The plain-line chat door: UTF-8 lines and slash commands, for nc, telnet, openssl s_client.

L{LineSession} is the door's logic with no I/O: it takes received bytes and calls C{send}
with bytes to write and C{close} with a reason. L{LineChat} is the Twisted adapter.

Wire format (one event per line, so scripts can parse it)::

    [#lobby] <alice> hello            a message
    [#lobby] * alice waves            /me
    [#lobby] [history 12:01] <bob> hi a message from before you joined
    [private] <alice> psst            a private message to you
    [private -> bob] psst             one you sent
    [#lobby] -> bob joined            joins, parts, quits, nick changes, topics
    -!- welcome ...                   from the server
    !! unknown command /frob          an error (your line was not sent)
"""

from __future__ import annotations

import time
from collections.abc import Callable

from netsuite.chat import _events as ev
from netsuite.chat._events import ChatError, ChatEvent
from netsuite.chat._fanout import SaidBatch
from netsuite.chat._flood import ErrorBudget, InputPacer, PacedInput, Verdict
from netsuite.chat._hub import Hub
from netsuite.chat._line_login import LineLogin
from netsuite.chat._line_modes import OPERATOR_HELP, RoomCommands, explain, render_mode_event
from netsuite.chat._names import room_name
from netsuite.chat._text import scrub
from netsuite.stream._lines import Line, LineSplitter, Overlong

__all__ = ["HELP", "LineSession", "render"]

FORMAT = "line"
HELP = (
    """\
-!- commands:
-!-   /nick NAME          change your nick
-!-   /join ROOM [KEY]    join a room (and talk there); /join lobby = /join #lobby
-!-   /part [ROOM]        leave a room (the current one by default)
-!-   /msg NICK TEXT      a private message
-!-   /me TEXT            an action in the current room
-!-   /who [ROOM]         who is in a room (@ operator, + voiced)
-!-   /rooms              the rooms, their topics and sizes
-!-   /topic [TEXT]       show or set the current room's topic (+t: operators only)
-!-   /history [N]        the last N messages of the current room
-!-   /login NAME PASS    log in to an account (its nick is then yours)
-!-   /quit [REASON]      leave
-!- anything else is a message to the current room
"""
    + OPERATOR_HELP
)


def _clock(when: float) -> str:
    return time.strftime("%H:%M", time.gmtime(when))


def render(event: ChatEvent) -> bytes:
    """
    The line a line-door member sees for C{event}. Text from other doors is scrubbed of
    control characters here too (IRC colour and bold codes would garble a terminal).
    """
    if isinstance(event, ev.Said):
        said = scrub(event.text)
        if event.room is None:
            text = f"[private] <{event.sender}> {said}"
        elif event.kind == "action":
            text = f"[{event.room}] * {event.sender} {said}"
        elif event.kind == "notice":
            text = f"[{event.room}] -{event.sender}- {said}"
        else:
            text = f"[{event.room}] <{event.sender}> {said}"
    elif isinstance(event, ev.Replayed):
        s = event.said
        said = scrub(s.text)
        body = f"* {s.sender} {said}" if s.kind == "action" else f"<{s.sender}> {said}"
        text = f"[{s.room}] [history {_clock(s.when)}] {body}"
    elif isinstance(event, ev.Joined):
        text = f"[{event.room}] -> {event.nick} joined"
    elif isinstance(event, ev.Parted):
        why = f" ({event.reason})" if event.reason else ""
        text = f"[{event.room}] <- {event.nick} left{why}"
    elif isinstance(event, ev.Quit):
        why = f" ({event.reason})" if event.reason else ""
        text = f"<- {event.nick} quit{why}"
    elif isinstance(event, ev.Renamed):
        text = f"-- {event.old} is now known as {event.new}"
    elif isinstance(event, ev.TopicChanged):
        text = f"[{event.room}] -- {event.nick} set the topic: {event.topic}"
    elif isinstance(event, ev.Notice):
        text = f"-!- {event.text}"
    else:  # kicks, invites, mode changes; nothing else is left
        text = render_mode_event(event) or f"-!- {event!r}"
    return text.encode("utf-8") + b"\r\n"


class LineSession(RoomCommands, LineLogin, PacedInput):
    """
    One person on the line door.

    @ivar room: the current room, where plain lines go (the last joined).
    @ivar overlong_limit: overlong lines in a row before the connection is closed.
    @ivar pacer: the member's input at the hub's flood rate, excess queued (fake lag).
    @ivar errors: the error replies' budget (a garbage sender is silenced, then closed).
    """

    #: One per member: no per-instance __dict__.
    __slots__ = (
        "_logging_in",
        "account",
        "close",
        "closed",
        "errors",
        "hub",
        "identity",
        "max_line",
        "nick",
        "overlong",
        "overlong_limit",
        "pacer",
        "room",
        "send",
        "server_name",
        "splitter",
        "started",
    )

    door = "line"
    #: The hub does not drop this member's messages for flooding: L{pacer} paces them.
    paced = True

    def __init__(
        self,
        hub: Hub,
        send: Callable[[bytes], None],
        close: Callable[[str], None],
        *,
        max_line: int = 4096,
        overlong_limit: int = 5,
        server_name: str = "netsuite",
    ) -> None:
        self.hub = hub
        self.send = send
        self.close = close
        self.nick = ""
        self.room: str | None = None
        self.splitter = LineSplitter(max_line)
        self.max_line = max_line
        self.overlong_limit = overlong_limit
        self.overlong = 0
        self.server_name = server_name
        self.closed = False
        self.identity: str | None = None
        self.account: str | None = None  # /login (netsuite.chat._line_login)
        self._logging_in = False
        self.started = False
        self.pacer = InputPacer(hub.flood_rate, hub.flood_burst, hub.flood_queue, hub.clock)
        self.errors = ErrorBudget(hub.clock)

    # --- the hub's side (Member) --------------------------------------------------------

    def deliver(self, event: ChatEvent) -> None:
        """Called once per member per event: kept to a dict lookup and one send."""
        if self.closed:
            return
        if event.__class__ is ev.Said and event.room is None and event.sender == self.nick:
            # A private message we sent: show it as sent (not cached: seen by one).
            self.send(f"[private -> {event.target}] {event.text}\r\n".encode())
            return
        wire = event._wire.get(FORMAT)
        self.send(wire if wire is not None else event.encoded(FORMAT, render))
        if event.__class__ is ev.Kicked and event.target == self.nick:
            self._gone_from(event.room)

    def deliver_many(self, batch: SaidBatch) -> None:
        """
        Messages to one of our rooms, in a row (L{netsuite.chat._fanout}): their bytes,
        joined once for every line member, in one send. None is a private message or a
        kick, so nothing L{deliver} treats apart.
        """
        if not self.closed:
            self.send(batch.encoded(FORMAT, render))

    def disconnect(self, reason: str) -> None:
        """The hub cuts us off (flooding): say why, then close."""
        self.end(reason)

    # --- the person's side ------------------------------------------------------------

    def info(self, text: str) -> None:
        self.send(f"-!- {text}\r\n".encode())

    def error(self, text: str) -> None:
        """An error reply, within the peer's budget (L{ErrorBudget}): else none, or the end."""
        if self.closed:
            return
        verdict = self.errors.error()
        if verdict is Verdict.REPLY:
            self.send(f"!! {text}\r\n".encode())
        elif verdict is Verdict.DISCONNECT:
            self.hub.counters["disconnected.errors"] += 1
            self.end(f"too many errors ({self.errors.limit} in {self.errors.window:g}s)")
        else:
            self.hub.counters["errors.silenced"] += 1

    def start(self, nick: str | None = None, room: str | None = None) -> None:
        """Greet, register with the hub (a guest nick by default), join the default room."""
        self.hub.connect(self, nick)
        self.started = True
        self.info(f"welcome to {self.server_name} chat, {self.nick}. /help lists commands.")
        self.join(room or self.hub.default_room)

    def end(self, reason: str) -> None:
        """Leave the hub (others see the quit) and close, telling this person why."""
        if self.closed:
            return
        self.info(f"closing: {reason}")
        self.closed = True
        self.hub.quit(self, reason)
        self.close(reason)

    def data_received(self, data: bytes) -> None:
        if not self.started:  # TLS not yet up: nothing to act on yet
            return
        for item in self.splitter.feed(data):
            if self.closed:
                return
            if isinstance(item, Overlong):
                self.overlong += 1
                self.error(f"line too long ({item.length} bytes, limit {self.max_line}): dropped")
                if self.overlong >= self.overlong_limit:
                    self.end("too many overlong lines")
                continue
            self.overlong = 0
            assert isinstance(item, Line)
            self.paced_line(item.data)

    def slowed(self, text: str) -> None:
        self.info(text)

    def line_received(self, raw: bytes) -> None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            self.error(f"not UTF-8 (byte {e.start}): line not sent")
            return
        text = scrub(text).strip()
        if not text:
            return
        try:
            if text.startswith("/") and not text.startswith("//"):
                self.command(text[1:])
            else:
                self.say(text[1:] if text.startswith("//") else text)
        except ChatError as e:
            self.error(e.message)

    def say(self, text: str, kind: str = "say") -> None:
        if self.room is None:
            raise ChatError("no_room", "you are in no room: /join one first")
        try:
            self.hub.say(self, self.room, text, kind)
        except ChatError as e:
            if e.code != "cannot_send":
                raise
            self.error(explain(e, self.room))

    def join(self, name: str, key: str = "") -> None:
        room = room_name(name)
        try:
            joined = self.hub.join(self, room, key)
        except ChatError as e:
            self.error(explain(e, room))
            return
        if not joined:
            self.info(f"you are already in {room}; talking there now")
        self.room = next(r for r in self.hub.rooms_of(self) if r.lower() == room.lower())

    def _gone_from(self, room: str) -> None:
        """Out of C{room} (a part or a kick): talk in the last room left, if any."""
        if self.room is not None and self.room.lower() == room.lower():
            rooms = self.hub.rooms_of(self)
            self.room = rooms[-1] if rooms else None
            if self.room:
                self.info(f"talking in {self.room} now")

    # --- commands -----------------------------------------------------------------------

    def command(self, line: str) -> None:
        name, _, rest = line.partition(" ")
        rest = rest.strip()
        handler = getattr(self, "cmd_" + name.lower(), None)
        if handler is None:
            raise ChatError("unknown_command", f"unknown command /{name}; /help lists them")
        handler(rest)

    def _needs(self, rest: str, usage: str) -> str:
        if not rest:
            raise ChatError("needs_more", f"usage: {usage}")
        return rest

    def cmd_help(self, rest: str) -> None:
        self.send(HELP.replace("\n", "\r\n").encode())

    def cmd_nick(self, rest: str) -> None:
        self.hub.rename(self, self._needs(rest, "/nick NAME"))

    def cmd_join(self, rest: str) -> None:
        name, _, key = self._needs(rest, "/join ROOM [KEY]").partition(" ")
        self.join(name, key.strip())

    def cmd_part(self, rest: str) -> None:
        name, _, reason = rest.partition(" ")
        room = room_name(name) if name else self.room
        if room is None:
            raise ChatError("no_room", "you are in no room")
        self.hub.part(self, room, reason.strip())
        self._gone_from(room)

    def cmd_msg(self, rest: str) -> None:
        nick, _, text = self._needs(rest, "/msg NICK TEXT").partition(" ")
        self.hub.private(self, nick, self._needs(text.strip(), "/msg NICK TEXT"))

    def cmd_me(self, rest: str) -> None:
        self.say(self._needs(rest, "/me TEXT"), "action")

    def cmd_who(self, rest: str) -> None:
        room = room_name(rest) if rest else self.room
        if room is None:
            raise ChatError("no_room", "usage: /who ROOM")
        if not self.hub.visible(self, room):
            raise ChatError("no_such_room", f"no room {room}")
        nicks = [self.hub.prefixes(room, m) + m.nick for m in self.hub.who(room)]
        self.info(f"{room}: {len(nicks)} here: {' '.join(nicks)}")

    def cmd_rooms(self, rest: str) -> None:
        rooms = [
            r for r in self.hub.room_names() if not r.secret or self.hub.in_room(self, r.name)
        ]
        self.info(f"{len(rooms)} room(s)")
        for r in rooms:
            topic = f" - {r.topic}" if r.topic else ""
            self.info(f"  {r.name} ({r.members}){topic}")

    def cmd_topic(self, rest: str) -> None:
        if self.room is None:
            raise ChatError("no_room", "you are in no room")
        if rest:
            try:
                self.hub.set_topic(self, self.room, rest)
            except ChatError as e:
                self.error(explain(e, self.room))
            return
        topic, by = self.hub.topic(self.room)
        self.info(
            f"{self.room} topic: {topic} (set by {by})" if topic else f"{self.room}: no topic"
        )

    def cmd_history(self, rest: str) -> None:
        if self.room is None:
            raise ChatError("no_room", "you are in no room")
        try:
            count = int(rest) if rest else self.hub.history
        except ValueError:
            raise ChatError("needs_more", "usage: /history [N]") from None
        for said in self.hub.recent(self.room, max(0, count)):
            self.send(ev.Replayed(said=said).encoded(FORMAT, render))

    def cmd_quit(self, rest: str) -> None:
        self.end(rest or "quit")
