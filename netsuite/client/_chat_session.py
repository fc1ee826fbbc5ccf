"""
Sans-IO C{netsuite chat}: the client's side of the plain-line chat door.

L{ChatClient} is fed what happens (bytes from the server, lines the user typed, the
connection made, lost or refused) and returns L{Action}s for its adapter to carry out
(L{netsuite.client._chat}): show a line, send bytes, tell the user something, reconnect
after a delay, exit. It keeps what a reconnect needs to restore: the nick the user chose
and the rooms they were in, read from the door's own lines (L{netsuite.chat._line}, whose
format marks server lines unambiguously: a message always starts C{[room] <nick>}).

Lines the user types go to the server as they are: slash commands included, which the
server interprets. Until the server has greeted us (and, after a reconnect, until the nick
and rooms have been asked back) they wait, at most L{MAX_WAITING} of them, so that
C{--nick} is in place before the first message.

The greeting is the C{-!- welcome ...} line and the automatic join of the server's
default room right after it. With C{--nick NAME}, C{/nick NAME} follows the greeting.
After a reconnect (C{reconnect=True}), the greeting is followed by C{/nick} with the last
nick the user had chosen, a C{/join} for every room the user was in (the room they were
talking in last, so it is current again), and a C{/part} of the default room if they had
left it. Reconnect delays come from a L{Backoff}: 1 s, 2 s, 4 s ... at most 30 s, back to
1 s once a server greets us again.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

from netsuite.chat._names import fold
from netsuite.chat._text import scrub
from netsuite.stream._lines import Line, LineSplitter

__all__ = [
    "MAX_WAITING",
    "QUIT_TIMEOUT",
    "Action",
    "Backoff",
    "ChatClient",
    "Exit",
    "Hangup",
    "Prompt",
    "Reconnect",
    "Show",
    "Status",
    "Transmit",
]

#: Lines typed before the greeting that are kept to send after it.
MAX_WAITING = 1000
#: Seconds the server has to close the connection after C{/quit}.
QUIT_TIMEOUT = 5.0
#: The longest line taken from the server (longer ones are dropped, and said so).
MAX_SERVER_LINE = 65536


@dataclass(frozen=True)
class Show:
    """A line from the server, for the screen (control characters removed)."""

    line: str


@dataclass(frozen=True)
class Transmit:
    """Bytes for the server."""

    data: bytes


@dataclass(frozen=True)
class Status:
    """The client's own word to the user (a lost connection, a line not sent)."""

    text: str


@dataclass(frozen=True)
class Prompt:
    """The current room changed: the prompt shows it (C{"#lobby> "}, or C{"> "})."""

    text: str


@dataclass(frozen=True)
class Reconnect:
    """Connect again after C{delay} seconds."""

    delay: float


@dataclass(frozen=True)
class Hangup:
    """Close the connection if the server has not closed it within C{after} seconds."""

    after: float


@dataclass(frozen=True)
class Exit:
    """Done: close everything and exit with C{code}."""

    code: int


Action = Show | Transmit | Status | Prompt | Reconnect | Hangup | Exit


class Backoff:
    """
    Reconnect delays: C{first}, then each C{factor} times the last, at most C{maximum};
    L{reset} starts again from C{first}.
    """

    def __init__(self, first: float = 1.0, factor: float = 2.0, maximum: float = 30.0) -> None:
        self.first = first
        self.factor = factor
        self.maximum = maximum
        self._next = first

    def next(self) -> float:
        delay = self._next
        self._next = min(self.maximum, delay * self.factor)
        return delay

    def reset(self) -> None:
        self._next = self.first


_WELCOME = re.compile(r"^-!- welcome to .* chat, (?P<nick>[^\s.]+)\.(?: |$)")
_RENAMED = re.compile(r"^-- (?P<old>\S+) is now known as (?P<new>\S+)$")
_JOINED = re.compile(r"^\[(?P<room>#\S*?)\] -> (?P<nick>\S+) joined$")
_PARTED = re.compile(r"^\[(?P<room>#\S*?)\] <- (?P<nick>\S+) left(?: \(.*\))?$")
_TALKING = re.compile(
    r"^-!- (?:talking in (?P<room>\S+) now|you are already in (?P<again>\S+); talking there now)$"
)
_CLOSING = re.compile(r"^-!- closing: (?P<reason>.*)$")
_QUIT = re.compile(r"^/quit(?:\s|$)", re.IGNORECASE)


class ChatClient:
    """
    One user's chat session, across reconnects.

    @ivar state: C{"connecting"}, C{"greeting"} (connected, no welcome yet),
        C{"settling"} (welcomed; the next line may be the automatic join), C{"ready"},
        C{"waiting"} (to reconnect) or C{"done"}.
    @ivar nick: our nick on the server now (L{None} before the welcome).
    @ivar chosen_nick: the nick to ask for after a greeting (C{--nick}, then the last
        nick the server confirmed for us).
    @ivar rooms: the rooms we are in, in the order we joined them (folded name: name).
    @ivar current: the room plain lines go to (the server's choice, as it told us).
    @ivar quitting: the user asked to leave (C{/quit}, the end of input).
    """

    def __init__(
        self,
        *,
        nick: str | None = None,
        reconnect: bool = False,
        backoff: Backoff | None = None,
    ) -> None:
        self.chosen_nick = nick
        self.reconnect = reconnect
        self.backoff = backoff or Backoff()
        self.state = "connecting"
        self.nick: str | None = None
        self.rooms: dict[str, str] = {}
        self.current: str | None = None
        self.quitting = False
        self.connected_once = False
        self._splitter = LineSplitter(MAX_SERVER_LINE)
        self._waiting: deque[str] = deque()
        self._restore: list[str] = []  # rooms to join again after a reconnect, current last
        self._closing_reason: str | None = None
        self._prompt = self.prompt()

    # -- the connection ----------------------------------------------------------------

    def connecting(self) -> None:
        """The adapter is connecting (again)."""
        if self.state != "done":
            self.state = "connecting"

    def connected(self) -> list[Action]:
        """The connection is up (TLS: the handshake may still be going on)."""
        if self.state == "done":
            return []
        self.state = "greeting"
        self.connected_once = True
        self._splitter = LineSplitter(MAX_SERVER_LINE)
        self._closing_reason = None
        return []

    def connect_failed(self, message: str, retry: bool = True) -> list[Action]:
        """
        Connecting failed (C{message} says why, for the user). With C{reconnect}, a
        failure worth retrying (refused, timed out; not a rejected certificate) is.
        """
        if self.state == "done":
            return []
        if self.quitting:
            return self._exit(0 if self.connected_once else 1, message)
        if self.reconnect and retry:
            delay = self.backoff.next()
            self.state = "waiting"
            return [
                *self._drop_waiting(),
                Status(f"{message}; retrying in {delay:g}s"),
                Reconnect(delay),
            ]
        return self._exit(1, message)

    def connection_lost(self, why: str) -> list[Action]:
        """The connection ended (C{why}: "closed by the server", "lost: ...")."""
        if self.state == "done":
            return []
        if self.quitting:
            return self._exit(0)
        if self._closing_reason:
            why = f"{why} ({self._closing_reason})"
        message = f"connection {why}"
        if not self.reconnect:
            return self._exit(1, message)
        if self.state == "ready":
            self._remember_rooms()
        # (Lost before the rooms were asked back: still the same rooms to ask for.)
        self.state = "waiting"
        self.nick = None
        self.rooms = {}
        self.current = None
        delay = self.backoff.next()
        return [
            *self._prompt_actions(),
            *self._drop_waiting(),
            Status(f"{message}; reconnecting in {delay:g}s"),
            Reconnect(delay),
        ]

    def _drop_waiting(self) -> list[Action]:
        """Lines typed for a connection that did not come: not kept for the next one."""
        if not self._waiting:
            return []
        count = len(self._waiting)
        self._waiting.clear()
        return [Status(f"{count} line{'s' if count > 1 else ''} not sent")]

    def _remember_rooms(self) -> None:
        rooms = list(self.rooms.values())
        if self.current is not None and fold(self.current) in self.rooms:
            rooms.remove(self.rooms[fold(self.current)])
            rooms.append(self.rooms[fold(self.current)])
        self._restore = rooms

    def _exit(self, code: int, message: str | None = None) -> list[Action]:
        self.state = "done"
        actions: list[Action] = [Status(message)] if message else []
        return [*actions, Exit(code)]

    # -- the server's lines ------------------------------------------------------------

    def data_received(self, data: bytes) -> list[Action]:
        """Bytes from the server; the actions the lines they complete call for."""
        actions: list[Action] = []
        for item in self._splitter.feed(data):
            if self.state == "done":
                break
            if isinstance(item, Line):
                actions += self._line(item.data.decode("utf-8", "replace"))
            else:
                actions.append(
                    Status(f"a line of {item.length} bytes from the server was dropped (too long)")
                )
        return actions + self._prompt_actions()

    def line_received(self, line: str) -> list[Action]:
        """One line from the server (without its line ending)."""
        return self._line(line) + self._prompt_actions()

    def _line(self, line: str) -> list[Action]:
        line = scrub(line)
        actions: list[Action] = [Show(line)]
        if self.state == "greeting":
            m = _WELCOME.match(line)
            if m:
                self.nick = m["nick"]
                self.state = "settling"
                self.backoff.reset()
                if self.chosen_nick and fold(self.chosen_nick) != fold(self.nick):
                    actions.append(self._transmit(f"/nick {self.chosen_nick}"))
                return actions
            # Not a netsuite greeting: nothing to wait for.
            self.state = "settling"
        self._track(line)
        if self.state == "settling":
            actions += self._settle()
        return actions

    def _track(self, line: str) -> None:
        """Follow our nick, rooms and current room in the server's lines."""
        mine = self.nick is not None
        if m := _JOINED.match(line):
            if mine and fold(m["nick"]) == fold(self.nick or ""):
                self.rooms[fold(m["room"])] = m["room"]
                self.current = m["room"]
        elif m := _PARTED.match(line):
            if mine and fold(m["nick"]) == fold(self.nick or ""):
                self.rooms.pop(fold(m["room"]), None)
                if self.current is not None and fold(self.current) == fold(m["room"]):
                    self.current = None
        elif m := _RENAMED.match(line):
            if mine and fold(m["old"]) == fold(self.nick or ""):
                self.nick = self.chosen_nick = m["new"]
        elif m := _TALKING.match(line):
            self.current = m["room"] or m["again"]
        elif m := _CLOSING.match(line):
            self._closing_reason = m["reason"]

    def _settle(self) -> list[Action]:
        """
        The line after the welcome has been seen (the automatic join, if the server made
        one): ask for the rooms back, then send what the user typed meanwhile.
        """
        self.state = "ready"
        actions: list[Action] = []
        wanted = self._restore
        self._restore = []
        if wanted:
            keep = {fold(room) for room in wanted}
            automatic = [name for key, name in self.rooms.items() if key not in keep]
            joined = False
            for room in wanted:
                if fold(room) not in self.rooms:
                    actions.append(self._transmit(f"/join {room}"))
                    joined = True
            for room in automatic:
                actions.append(self._transmit(f"/part {room}"))
            last = wanted[-1]
            if joined and fold(last) in self.rooms:
                # Joined before the others: join again to talk there.
                actions.append(self._transmit(f"/join {last}"))
        while self._waiting:
            actions.append(self._transmit(self._waiting.popleft()))
        return actions + self._hangup()

    # -- the user's lines --------------------------------------------------------------

    def user_line(self, text: str) -> list[Action]:
        """A line the user typed (or piped in), without its line ending."""
        if self.state == "done":
            return []
        if _QUIT.match(text):
            self.quitting = True
        if self.state == "ready":
            return [self._transmit(text), *self._hangup()]
        if self.state == "waiting":
            if self.quitting:
                return self._exit(0)
            return [Status("not connected: line not sent")]
        if len(self._waiting) >= MAX_WAITING:
            return [Status(f"{MAX_WAITING} lines already wait for the server: line not sent")]
        self._waiting.append(text)
        return []

    def user_eof(self) -> list[Action]:
        """The input ended (Ctrl-D, the end of a pipe): leave as C{/quit} does."""
        if self.state == "done" or self.quitting:
            return []
        if self.state == "waiting":
            return self._exit(0)
        return self.user_line("/quit")

    def _hangup(self) -> list[Action]:
        return [Hangup(QUIT_TIMEOUT)] if self.quitting else []

    def _transmit(self, text: str) -> Transmit:
        return Transmit(text.encode("utf-8") + b"\r\n")

    # -- the prompt --------------------------------------------------------------------

    def prompt(self) -> str:
        """What the prompt shows: the current room (where plain lines go)."""
        return f"{self.current}> " if self.current else "> "

    def _prompt_actions(self) -> list[Action]:
        prompt = self.prompt()
        if prompt == self._prompt:
            return []
        self._prompt = prompt
        return [Prompt(prompt)]
