"""
The IRC door's room commands, with no I/O: C{JOIN} (with keys, and C{JOIN 0}),
C{PART}, C{TOPIC}, C{NAMES} and C{LIST}, answered as the Modern IRC client protocol
document gives them, over the hub's rooms (the same rooms the line door and the web
page use).

L{RoomCommands} is a mixin of L{netsuite.chat._irc_session.IRCSession}, kept apart
because a room's membership and listings are one concern with numerics of their own;
the channel-operator commands (MODE, KICK, INVITE) are L{netsuite.chat._irc_modes}.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from netsuite.chat import _irc_numerics as num
from netsuite.chat._events import ChatError, ChatEvent, Replayed
from netsuite.chat._hub import Hub, Member
from netsuite.chat._irc_render import IRCRenderer, IRCWriter, wire
from netsuite.chat._names import fold

__all__ = ["RoomCommands"]


class RoomCommands:
    """JOIN, PART, TOPIC, NAMES and LIST, mixed into the IRC session."""

    # What the session provides (see IRCSession).
    hub: Hub
    nick: str
    caps: set[str]
    closed: bool
    out: IRCWriter
    renderer: IRCRenderer
    reply: Callable[..., None]
    chat_error: Callable[..., None]
    deliver: Callable[[ChatEvent], None]
    _replays: list[Replayed] | None
    _need: Callable[[Sequence[str], int], None]
    _room_exists: Callable[[str], bool]
    _not_on: Callable[[ChatError, str], None]

    def irc_JOIN(self, prefix: str, params: list[str]) -> None:
        """JOIN #a,#b [key,key]: the first key for the first room...; C{JOIN 0} leaves all."""
        self._need(params, 1)
        if params[0] == "0":
            for room in self.hub.rooms_of(self):
                self.hub.part(self, room)
            return
        keys = params[1].split(",") if len(params) > 1 else []
        for index, name in enumerate(params[0].split(",")):
            if self.closed:
                return
            if not name:
                continue
            try:
                self._join(name, keys[index] if index < len(keys) else "")
            except ChatError as e:
                self.chat_error(e, name)

    def _join(self, name: str, key: str = "") -> None:
        self._replays = []
        try:
            joined = self.hub.join(self, name, key)  # JOIN echo, then the history (held)
        finally:
            replays, self._replays = self._replays, None
        if not joined:
            return  # already there: IRC servers say nothing
        room = self.hub.room_info(name).name
        if self.hub.topic(room)[0]:  # no 331 on JOIN: "no message" without a topic
            self._send_topic(room)
        self._send_names(room)
        for event in replays:
            self.deliver(event)

    def irc_PART(self, prefix: str, params: list[str]) -> None:
        self._need(params, 1)
        reason = params[1] if len(params) > 1 else ""
        for name in params[0].split(","):
            try:
                self.hub.part(self, name, reason)
            except ChatError as e:
                self._not_on(e, name)

    def irc_TOPIC(self, prefix: str, params: list[str]) -> None:
        self._need(params, 1)
        room = params[0]
        if len(params) > 1:
            try:
                self.hub.set_topic(self, room, params[1])  # the hub echoes TOPIC
            except ChatError as e:
                self._not_on(e, room)
            return
        try:
            self._send_topic(self.hub.room_info(room).name)
        except ChatError as e:
            self.chat_error(e, room)

    def _send_topic(self, room: str) -> None:
        topic, _ = self.hub.topic(room)
        self.out.topic(self.nick, room, wire(topic) if topic else None)  # 332 or 331

    def _prefixes(self, member: Member, room: str) -> str:
        """
        C{member}'s membership prefixes in C{room}, as NAMES, WHO and WHOIS show them:
        all of them for a multi-prefix client, else the highest.
        """
        return self.hub.prefixes(room, member, every="multi-prefix" in self.caps)

    def _send_names(self, room: str) -> None:
        """353 lines (as many as the nicks need; C{@} for a secret room) and 366."""
        full = "userhost-in-names" in self.caps  # nick!user@host, not the nick alone
        mask = self.renderer.mask
        names = [
            self._prefixes(m, room) + (mask(m.nick) if full else m.nick)
            for m in self.hub.who(room)
        ]
        symbol = "@" if self.hub.room_info(room).secret else "="
        self._listing(num.RPL_NAMREPLY, (symbol, room), names)
        self.reply(num.RPL_ENDOFNAMES, room, "End of /NAMES list")

    def _listing(self, numeric: str, middle: Sequence[str], words: Iterable[str]) -> None:
        """C{numeric} replies whose trailing lists C{words}, each line within the limit."""
        self.out.listing(self.nick, numeric, middle, words)

    def irc_NAMES(self, prefix: str, params: list[str]) -> None:
        if not params or not params[0]:
            self.reply(num.RPL_ENDOFNAMES, "*", "End of /NAMES list")
            return
        for name in params[0].split(","):
            if self._room_exists(name) and self.hub.visible(self, name):
                self._send_names(self.hub.room_info(name).name)
            else:
                self.reply(num.RPL_ENDOFNAMES, name, "End of /NAMES list")

    def irc_LIST(self, prefix: str, params: list[str]) -> None:
        wanted = {fold(n) for n in params[0].split(",")} if params and params[0] else None
        self.reply(num.RPL_LISTSTART, "Channel", "Users  Name")
        for info in self.hub.room_names():
            if info.secret and not self.hub.in_room(self, info.name):
                continue  # +s: only its members see it
            if wanted is None or fold(info.name) in wanted:
                self.reply(num.RPL_LIST, info.name, str(info.members), wire(info.topic))
        self.reply(num.RPL_LISTEND, "End of /LIST")
