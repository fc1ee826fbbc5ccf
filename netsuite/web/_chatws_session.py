"""
The WebSocket chat door's logic, with no I/O: JSON text messages in, JSON text out.

L{WebChatSession} is one browser's member of the hub. Its adapter
(L{netsuite.web._chatws}) feeds it each text message received and gives it two
callables: C{send(text)} to send one JSON text message and C{close(code, reason)} to
close the WebSocket with a status code (RFC 6455 7.4).

Client to server, one JSON object per message (C{"id"}, optional, any short string or
number, is copied into the direct answer or error)::

    {"type": "join", "room": "#x"[, "key": "..."]}  {"type": "part", "room": "#x", "reason": "..."}
    {"type": "say", "room": "#x", "text": "..."}    {"type": "me", "room": "#x", "text": "..."}
    {"type": "msg", "to": "nick", "text": "..."}    {"type": "nick", "nick": "..."}
    {"type": "history", "room": "#x", "count": N}   {"type": "who", "room": "#x"}
    {"type": "rooms"}                           {"type": "topic", "room": "#x"[, "topic": "..."]}
    {"type": "quit", "reason": "..."}

Server to client: C{welcome} first (your nick and the limits), then one object per hub
event (C{said}, C{joined}, C{parted}, C{quit}, C{renamed}, C{topic}, C{notice}, and
C{mode}, C{kicked}, C{invited} from the rooms' operators), the
answers C{history}, C{who}, C{rooms}, C{topic}, and C{error} with a C{code} (the hub's
L{ChatError} codes, or C{bad_json}, C{bad_request}, C{unknown_type}, C{flood}) and a
C{message} fit to show. A message said in a room reaches every member of it, the
sender included, as one C{said}; a private one has C{"room": null} and C{"to"}.

Each hub event is rendered to JSON once, however many browsers receive it
(L{ChatEvent.encoded} with the format C{"ws"}); a room's history is sent from the same
cached texts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from netsuite.chat import _events as ev
from netsuite.chat._events import ChatError, ChatEvent
from netsuite.chat._hub import Hub
from netsuite.chat._names import room_name
from netsuite.chat._text import scrub
from netsuite.limits._policy import TokenBucket

__all__ = ["FORMAT", "CloseCode", "WebChatSession", "dumps", "render"]

FORMAT = "ws"


class CloseCode:
    """The WebSocket close codes this door uses (RFC 6455 7.4.1)."""

    NORMAL = 1000
    GOING_AWAY = 1001  # the server is shutting down
    UNSUPPORTED = 1003  # a binary message: this door speaks text
    POLICY = 1008  # flooding, a slow reader, too many bad requests
    TOO_BIG = 1009  # a frame or message over the cap
    INTERNAL = 1011


def dumps(value: Any) -> str:
    """Compact JSON; non-ASCII text as it is (shorter than \\u escapes)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _said(said: ev.Said, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "said", "room": said.room, "from": said.sender, "text": said.text,
        "kind": said.kind, "when": said.when, "seq": said.seq,
    }  # fmt: skip
    if said.room is None:
        out["to"] = said.target
    out.update(extra)
    return out


def render(event: ChatEvent) -> str:
    """The JSON text a browser gets for C{event}."""
    if isinstance(event, ev.Said):
        value = _said(event)
    elif isinstance(event, ev.Replayed):
        return event.said.encoded("ws-replay", _render_replay)
    elif isinstance(event, ev.Joined):
        value = {"type": "joined", "room": event.room, "nick": event.nick}
    elif isinstance(event, ev.Parted):
        value = {"type": "parted", "room": event.room, "nick": event.nick,
                 "reason": event.reason}  # fmt: skip
    elif isinstance(event, ev.Quit):
        value = {"type": "quit", "nick": event.nick, "reason": event.reason}
    elif isinstance(event, ev.Renamed):
        value = {"type": "renamed", "old": event.old, "new": event.new}
    elif isinstance(event, ev.TopicChanged):
        value = {"type": "topic", "room": event.room, "topic": event.topic, "by": event.nick}
    elif isinstance(event, ev.Notice):
        value = {"type": "notice", "text": event.text}
    elif isinstance(event, ev.ModeChanged):
        value = {"type": "mode", "room": event.room, "by": event.nick,
                 "changes": event.changes, "args": list(event.args)}  # fmt: skip
    elif isinstance(event, ev.Kicked):
        value = {"type": "kicked", "room": event.room, "nick": event.target,
                 "by": event.nick, "reason": event.reason}  # fmt: skip
    elif isinstance(event, ev.Invited):
        value = {"type": "invited", "room": event.room, "nick": event.target, "by": event.nick}
    else:  # pragma: no cover - every event type is rendered above
        value = {"type": "notice", "text": repr(event)}
    return dumps(value)


def _render_replay(said: ChatEvent) -> str:
    assert isinstance(said, ev.Said)
    return dumps(_said(said, replay=True))


#: Request types and the method of L{WebChatSession} that answers each.
_HANDLERS = {
    "join": "do_join", "part": "do_part", "say": "do_say", "me": "do_me", "msg": "do_msg",
    "nick": "do_nick", "history": "do_history", "who": "do_who", "rooms": "do_rooms",
    "topic": "do_topic", "quit": "do_quit",
}  # fmt: skip


class BadRequestError(Exception):
    """A request that is not one we understand; C{code} is C{bad_request} or more precise."""

    def __init__(self, message: str, code: str = "bad_request") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class WebChatSession:
    """
    One browser on the WebSocket door: a member of the hub.

    @ivar request_rate, request_burst: a token bucket over every request (the hub's own
        flood limit covers only what is said; this covers C{history}, C{who} and the
        rest too, each of which costs the server output).
    @ivar request_kick: requests dropped in a row by that bucket before the connection
        is closed (1008).
    @ivar bad_limit: malformed requests in a row before the connection is closed (1008).
    """

    door = "web"

    def __init__(
        self,
        hub: Hub,
        send: Callable[[str], None],
        close: Callable[[int, str], None],
        *,
        server_name: str = "netsuite",
        request_rate: float = 20.0,
        request_burst: float = 50.0,
        request_kick: int = 50,
        bad_limit: int = 10,
        max_message: int = 1 << 16,
    ) -> None:
        self.hub = hub
        self.send = send
        self.close = close
        self.server_name = server_name
        self.nick = ""
        self.identity: str | None = None
        self.closed = False
        self.started = False
        self.bucket = TokenBucket(request_rate, request_burst, stamp=hub.clock())
        self.request_kick = request_kick
        self.bad_limit = bad_limit
        self.max_message = max_message
        self.strikes = 0
        self.bad = 0

    # --- the hub's side (Member) --------------------------------------------------------

    def deliver(self, event: ChatEvent) -> None:
        if not self.closed:
            self.send(event.encoded(FORMAT, render))

    def disconnect(self, reason: str) -> None:
        """The hub cuts us off (flooding)."""
        self.end(CloseCode.POLICY, reason)

    # --- the connection's side ----------------------------------------------------------

    def start(self, nick: str | None = None, room: str | None = None) -> None:
        """Register with the hub (a guest nick by default), greet, join the default room."""
        self.hub.connect(self, nick)
        self.started = True
        self.send(dumps({
            "type": "welcome", "nick": self.nick, "server": self.server_name,
            "limits": {"text": self.hub.text_max, "message": self.max_message,
                       "history": self.hub.history},
        }))  # fmt: skip
        self.hub.join(self, room or self.hub.default_room)

    def end(self, code: int, reason: str) -> None:
        """Leave the hub (others see the quit) and close the WebSocket with C{code}."""
        if self.closed:
            return
        self.lost(reason)
        self.close(code, reason)

    def going_away(self, code: int, reason: str) -> None:
        """
        The server shuts down: leave the hub without a quit (L{Hub.remove}: every
        member leaves at once, and telling each of the others would cost the square of
        the room), then close the WebSocket with C{code}.
        """
        if self.closed:
            return
        self.closed = True
        if self.started:
            self.hub.remove(self)
        self.close(code, reason)

    def lost(self, reason: str) -> None:
        """The connection is gone or being cut (no close to send): leave the hub."""
        if self.closed:
            return
        self.closed = True
        if self.started:
            self.hub.quit(self, reason)

    def binary_received(self) -> None:
        self.end(CloseCode.UNSUPPORTED, "this door speaks JSON text messages only")

    def text_received(self, text: str) -> None:
        """Handle one JSON request; answer it, or send one C{error} for it."""
        if self.closed or not self.started:
            return
        kind: str | None = None
        ident: Any = None
        try:
            request = self._parse(text)
            kind, ident = request["type"], request.get("id")
            if kind not in _HANDLERS:
                raise BadRequestError(f"unknown request type {kind[:40]!r}", "unknown_type")
            if not self.bucket.take(1, self.hub.clock()):
                self._flooding()
            else:
                self.strikes = 0
                getattr(self, _HANDLERS[kind])(request, ident)
            self.bad = 0
        except BadRequestError as e:
            self.bad += 1
            self.error(e.code, e.message, kind, ident)
            if self.bad >= self.bad_limit:
                self.end(CloseCode.POLICY, "too many bad requests")
        except ChatError as e:
            self.error(e.code, e.message, kind, ident)

    def _parse(self, text: str) -> dict[str, Any]:
        try:
            request = json.loads(text)
        except (ValueError, RecursionError):
            raise BadRequestError("not valid JSON", "bad_json") from None
        if not isinstance(request, dict):
            raise BadRequestError('expected a JSON object like {"type": "say", ...}')
        kind = request.get("type")
        if not isinstance(kind, str):
            raise BadRequestError('expected a "type"')
        ident = request.get("id")
        if ident is not None and not (
            (isinstance(ident, str) and len(ident) <= 64)
            or (isinstance(ident, int) and not isinstance(ident, bool))
        ):
            raise BadRequestError('"id" must be a string of up to 64 characters or a number')
        return request

    def _flooding(self) -> None:
        self.strikes += 1
        if self.strikes >= self.request_kick:
            self.end(CloseCode.POLICY, "flooding")
            return
        raise ChatError("flood", "slow down: request dropped")

    def error(
        self, code: str, message: str, request: str | None = None, ident: Any = None
    ) -> None:
        if self.closed:
            return
        value: dict[str, Any] = {"type": "error", "code": code, "message": message,
                                 "request": request[:40] if request else None}  # fmt: skip
        if ident is not None:
            value["id"] = ident
        self.send(dumps(value))

    def reply(self, value: dict[str, Any], ident: Any) -> None:
        if ident is not None:
            value["id"] = ident
        self.send(dumps(value))

    # --- requests -----------------------------------------------------------------------

    @staticmethod
    def _string(request: dict[str, Any], key: str, *, empty: bool = False) -> str:
        value = request.get(key)
        if not isinstance(value, str) or (not empty and not value.strip()):
            raise BadRequestError(f'"{key}" must be a non-empty string' if not empty
                             else f'"{key}" must be a string')  # fmt: skip
        return value

    def _room(self, request: dict[str, Any]) -> str:
        return room_name(self._string(request, "room").strip())

    def _text(self, request: dict[str, Any]) -> str:
        return scrub(self._string(request, "text")).strip()

    def do_join(self, request: dict[str, Any], ident: Any) -> None:
        room = self._room(request)
        key = request.get("key", "")
        if not isinstance(key, str):
            raise BadRequestError('"key" must be a string')
        if not self.hub.join(self, room, key):
            self.reply({"type": "joined", "room": self._joined_name(room), "nick": self.nick,
                        "already": True}, ident)  # fmt: skip

    def _joined_name(self, room: str) -> str:
        return next((r for r in self.hub.rooms_of(self) if r.lower() == room.lower()), room)

    def do_part(self, request: dict[str, Any], ident: Any) -> None:
        reason = request.get("reason", "")
        if not isinstance(reason, str):
            raise BadRequestError('"reason" must be a string')
        self.hub.part(self, self._room(request), scrub(reason).strip()[:300])

    def do_say(self, request: dict[str, Any], ident: Any) -> None:
        self.hub.say(self, self._room(request), self._text(request))

    def do_me(self, request: dict[str, Any], ident: Any) -> None:
        self.hub.say(self, self._room(request), self._text(request), "action")

    def do_msg(self, request: dict[str, Any], ident: Any) -> None:
        self.hub.private(self, self._string(request, "to").strip(), self._text(request))

    def do_nick(self, request: dict[str, Any], ident: Any) -> None:
        self.hub.rename(self, self._string(request, "nick").strip())

    def do_history(self, request: dict[str, Any], ident: Any) -> None:
        room = self._room(request)
        count = request.get("count", self.hub.history)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise BadRequestError('"count" must be a whole number, 0 or more')
        messages = self.hub.recent(room, min(count, self.hub.history))
        name = self.hub.room_info(room).name
        texts = ",".join(said.encoded(FORMAT, render) for said in messages)
        tail = f',"id":{dumps(ident)}' if ident is not None else ""
        self.send(f'{{"type":"history","room":{dumps(name)},"messages":[{texts}]{tail}}}')

    def do_who(self, request: dict[str, Any], ident: Any) -> None:
        room = self._room(request)
        nicks = [m.nick for m in self.hub.who(room)]
        self.reply({"type": "who", "room": self.hub.room_info(room).name, "nicks": nicks}, ident)

    def do_rooms(self, request: dict[str, Any], ident: Any) -> None:
        rooms = [{"name": r.name, "topic": r.topic, "members": r.members}
                 for r in self.hub.room_names()]  # fmt: skip
        self.reply({"type": "rooms", "rooms": rooms}, ident)

    def do_topic(self, request: dict[str, Any], ident: Any) -> None:
        room = self._room(request)
        if "topic" in request:
            topic = scrub(self._string(request, "topic", empty=True)).strip()
            self.hub.set_topic(self, room, topic)
            return
        topic, by = self.hub.topic(room)
        self.reply({"type": "topic", "room": self.hub.room_info(room).name, "topic": topic,
                    "by": by}, ident)  # fmt: skip

    def do_quit(self, request: dict[str, Any], ident: Any) -> None:
        reason = request.get("reason", "")
        if not isinstance(reason, str):
            raise BadRequestError('"reason" must be a string')
        self.end(CloseCode.NORMAL, scrub(reason).strip()[:100] or "quit")
