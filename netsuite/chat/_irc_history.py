"""
The IRC door's C{CHATHISTORY} command (IRCv3 C{draft/chathistory},
ircv3.net/specs/extensions/chathistory), with no I/O, answered from the hub's history
(L{netsuite.chat._hub.Hub.history_query}: the same messages the line door and the web
page replay).

L{ChatHistory} is a mixin of L{netsuite.chat._irc_session.IRCSession}. What it does,
and the choices made where the specification leaves one (as Ergo makes them):

  - LATEST, BEFORE, AFTER, AROUND, BETWEEN over a room the client is in, with
    C{msgid=} and C{timestamp=} selectors (C{*} for LATEST), and TARGETS; the answer is a
    C{chathistory} batch (C{draft/chathistory-targets} for TARGETS) for a client with
    C{batch}, the bare lines otherwise (the specification lets clients without the
    related capabilities use the command). An empty answer is an empty batch.
  - A limit above C{CHATHISTORY=<max>} (ISUPPORT, C{--chathistory-max}) is lowered to
    it, and so is 0; a limit that is not a number is C{INVALID_PARAMS}.
  - A client that enabled C{draft/chathistory} is not sent a room's history when it
    joins (the specification's SHOULD NOT, and Ergo's C{HasHistoryCaps}); it asks.
  - Private messages are not kept by the hub (only rooms' messages are), so a nick
    that is online has an empty history and TARGETS lists rooms only; a nick that is
    not online, a room that does not exist or one the client is not in are
    C{INVALID_TARGET}, as Ergo answers rooms one is not in.
  - Errors are standard replies, whatever C{standard-replies} says (the specification
    names them): C{FAIL CHATHISTORY NEED_MORE_PARAMS|UNKNOWN_COMMAND|INVALID_PARAMS
    <subcommand> :...} and C{FAIL CHATHISTORY INVALID_TARGET <subcommand> <target> :...}.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from netsuite.chat._events import ChatError, ChatEvent, Said
from netsuite.chat._history import millis, parse_selector
from netsuite.chat._hub import Hub
from netsuite.chat._irc_render import IRCWriter, server_time, wire
from netsuite.chat._irc_tags import with_tags

__all__ = ["CHATHISTORY_CAP", "MSGREFTYPES", "ChatHistory"]

#: The capability's draft name (the specification says to use it until ratified).
CHATHISTORY_CAP = "draft/chathistory"
#: The selectors the door understands (ISUPPORT C{MSGREFTYPES}), most preferred first.
MSGREFTYPES = "msgid,timestamp"

_UNRETRIEVED = "Messages could not be retrieved"

#: Parameters each subcommand needs after its name (the limit last).
_ARITY = {"LATEST": 3, "BEFORE": 3, "AFTER": 3, "AROUND": 3, "BETWEEN": 4, "TARGETS": 3}


class _RefusedError(Exception):
    """A CHATHISTORY refused: its FAIL code and parameters."""

    def __init__(self, code: str, *params: str) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


class ChatHistory:
    """C{CHATHISTORY}, mixed into L{netsuite.chat._irc_session.IRCSession}."""

    hub: Hub
    hostname: str
    nick: str
    caps: set[str]
    out: IRCWriter
    emit: Callable[[bytes], None]
    _batches: Iterator[int]
    _message_fmt: str
    _message_render: Callable[[ChatEvent], bytes]

    def chathistory_isupport(self) -> str:
        """The ISUPPORT token C{CHATHISTORY=<max>} (and C{MSGREFTYPES=}L{MSGREFTYPES})."""
        return f"CHATHISTORY={self.hub.chathistory_max}"

    def irc_CHATHISTORY(self, prefix: str, params: list[str]) -> None:
        sub = params[0].upper() if params and params[0] else "*"
        try:
            if sub not in _ARITY:
                if sub == "*":
                    raise _RefusedError("NEED_MORE_PARAMS", sub, "Missing parameters")
                raise _RefusedError("UNKNOWN_COMMAND", sub, "Unknown command")
            args = params[1:]
            if len(args) < _ARITY[sub] or not all(args[: _ARITY[sub]]):
                raise _RefusedError("NEED_MORE_PARAMS", sub, "Missing parameters")
            limit = self._history_limit(sub, args[_ARITY[sub] - 1])
            if sub == "TARGETS":
                self._history_targets(args[0], args[1], limit)
            else:
                self._history_messages(sub, args, limit)
        except _RefusedError as refused:
            *middle, text = refused.params
            head = " ".join(["FAIL", "CHATHISTORY", refused.code, *middle])
            self.out.sendLine(f":{self.hostname} {head} :{wire(text)}")

    def _history_limit(self, sub: str, text: str) -> int:
        if not text.isdigit():
            raise _RefusedError("INVALID_PARAMS", sub, "Invalid limit")
        most = self.hub.chathistory_max
        limit = int(text)
        return most if most and (limit == 0 or limit > most) else limit

    def _history_messages(self, sub: str, args: list[str], limit: int) -> None:
        target = args[0]
        first = parse_selector(args[1], star=sub == "LATEST")
        second = parse_selector(args[2]) if sub == "BETWEEN" else None
        if first is None or (sub == "BETWEEN" and (second is None or first.kind == "*")):
            raise _RefusedError("INVALID_PARAMS", sub, "Invalid message reference")
        found: list[Said]
        if target.startswith("#"):
            try:
                member = self.hub.in_room(self, target)  # type: ignore[arg-type]
                found = self.hub.history_query(target, sub, first, limit, second) if member else []
            except ChatError:
                member = False
            if not member:
                raise _RefusedError("INVALID_TARGET", sub, target, _UNRETRIEVED)
            target = self.hub.room_info(target).name
        elif self.hub.find(target) is not None:
            found = []  # the hub keeps no private messages
        else:
            raise _RefusedError("INVALID_TARGET", sub, target, _UNRETRIEVED)
        lines = [said.encoded(self._message_fmt, self._message_render) for said in found]
        self._batch(f"chathistory {target}", lines)

    def _history_targets(self, low: str, high: str, limit: int) -> None:
        first, second = parse_selector(low), parse_selector(high)
        if first is None or second is None or {first.kind, second.kind} != {"timestamp"}:
            raise _RefusedError("INVALID_PARAMS", "TARGETS", "Invalid timestamps")
        lo, hi = sorted((first.when, second.when))
        latest: list[tuple[float, str]] = []
        for room in self.hub.rooms_of(self):  # type: ignore[arg-type]
            times = [said.when for said in self.hub.recent(room) if lo < millis(said.when) < hi]
            if times:
                latest.append((times[-1], room))
        latest.sort()
        chosen = latest[:limit] if first.when <= second.when else latest[-limit:]
        lines = [
            f":{self.hostname} CHATHISTORY TARGETS {room} {server_time(when)}\r\n".encode()
            for when, room in chosen
        ]
        self._batch("draft/chathistory-targets", lines)

    def _batch(self, kind: str, lines: list[bytes]) -> None:
        """C{lines} (each CRLF-terminated) in a batch of C{kind}, if the client has batch."""
        if "batch" not in self.caps:
            for line in lines:
                self.emit(line)
            return
        name = f"{next(self._batches):x}"
        self.emit(f":{self.hostname} BATCH +{name} {kind}\r\n".encode())
        tag = f"batch={name}"
        for data in lines:
            for line in data.split(b"\r\n")[:-1]:
                self.emit(with_tags(line, tag) + b"\r\n")
        self.emit(f":{self.hostname} BATCH -{name}\r\n".encode())
