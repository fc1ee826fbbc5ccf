"""
The IRC door's room commands, with no I/O: C{JOIN} (with keys, and C{JOIN 0}),
C{PART}, C{TOPIC}, C{NAMES} and C{LIST}, answered as the Modern IRC client protocol
document gives them, over the hub's rooms (the same rooms the line door and the web
page use).

L{RoomCommands} is a mixin of L{netsuite.chat._irc_session.IRCSession}, kept apart
because a room's membership and listings are one concern with numerics of their own;
the channel-operator commands (MODE, KICK, INVITE) are L{netsuite.chat._irc_modes}.
Where the document leaves a choice, the door does what Ergo does:

  - A name that is not a room's (no C{#}, a space, too long) gets 476 (Bad Channel
    Mask); C{JOIN 0} parts every room, each with its own C{PART}.
  - A topic comes with who set it and when (332 then 333), on JOIN and on C{TOPIC
    #room}; a room without one gets 331 only when asked, never on JOIN.
  - C{NAMES #a,#b} sends the 353 lines of each room one may see (not another's C{+s}
    room) and one 366 naming the rooms as asked, as RFC 1459 ends a listing.
  - C{LIST} takes ELIST's filters (ISUPPORT C{ELIST=MNU}): names and masks (C{*an1},
    C{#c*}), masks that must not match (C{!*an1}) and member counts (C{>1}, C{<10}),
    comma-separated; a room must pass every count, match a mask if any is given, and
    match none of the C{!} ones. C{+s} rooms are listed only to their members.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from netsuite.chat import _irc_numerics as num
from netsuite.chat._events import ChatError, ChatEvent, Replayed
from netsuite.chat._hub import Hub, Member
from netsuite.chat._irc_render import IRCRenderer, IRCWriter, wire
from netsuite.chat._modes import mask_matches
from netsuite.chat._names import valid_room

#: What LIST can filter on (ISUPPORT ELIST): masks, masks that must not match, users.
ELIST = "MNU"

__all__ = ["ELIST", "RoomCommands", "list_filter"]


class RoomCommands:
    """JOIN, PART, TOPIC, NAMES and LIST, mixed into the IRC session."""

    # What the session provides (see IRCSession).
    hub: Hub
    hostname: str
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

    def room_isupport(self) -> list[str]:
        """This mixin's ISUPPORT tokens: what LIST filters on."""
        return [f"ELIST={ELIST}"]

    def irc_JOIN(self, prefix: str, params: list[str]) -> None:
        """JOIN #a,#b [key,key]: the first key for the first room...; C{JOIN 0} leaves all."""
        self._need(params, 1)
        if params[0] == "0":
            for room in self.hub.rooms_of(self):  # type: ignore[arg-type]
                self.hub.part(self, room)  # type: ignore[arg-type]
            return
        keys = params[1].split(",") if len(params) > 1 else []
        for index, name in enumerate(params[0].split(",")):
            if self.closed:
                return
            if not name:
                continue
            if not valid_room(name):
                self.reply(num.ERR_BADCHANMASK, name, "Bad Channel Mask")
                continue
            try:
                self._join(name, keys[index] if index < len(keys) else "")
            except ChatError as e:
                self.chat_error(e, name)

    def _join(self, name: str, key: str = "") -> None:
        self._replays = []
        try:
            joined = self.hub.join(self, name, key)  # type: ignore[arg-type]  # JOIN echo, then the history
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
                self.hub.part(self, name, reason)  # type: ignore[arg-type]
            except ChatError as e:
                self._not_on(e, name)

    def irc_TOPIC(self, prefix: str, params: list[str]) -> None:
        self._need(params, 1)
        room = params[0]
        if len(params) > 1:
            try:
                self.hub.set_topic(self, room, params[1])  # type: ignore[arg-type]  # the hub echoes TOPIC
            except ChatError as e:
                self._not_on(e, room)
            return
        try:
            self._send_topic(self.hub.room_info(room).name)
        except ChatError as e:
            self.chat_error(e, room)

    def _send_topic(self, room: str) -> None:
        """332 and 333 (who set it, when), or 331 for a room without a topic."""
        topic, by = self.hub.topic(room)
        self.out.topic(self.nick, room, wire(topic) if topic else None)  # 332 or 331
        if topic:
            when = str(int(self.hub.topic_time(room)))
            self.out.sendCommand(
                num.RPL_TOPICWHOTIME, (self.nick, room, by or "*", when), self.hostname
            )

    def _prefixes(self, member: Member, room: str) -> str:
        """
        C{member}'s membership prefixes in C{room}, as NAMES, WHO and WHOIS show them:
        all of them for a multi-prefix client, else the highest.
        """
        return self.hub.prefixes(room, member, every="multi-prefix" in self.caps)

    def _send_names(self, room: str, *, end: bool = True) -> None:
        """353 lines (as many as the nicks need; C{@} for a secret room), then 366."""
        full = "userhost-in-names" in self.caps  # nick!user@host, not the nick alone
        mask = self.renderer.mask
        names = [
            self._prefixes(m, room) + (mask(m.nick) if full else m.nick)
            for m in self.hub.who(room)
        ]
        symbol = "@" if self.hub.room_info(room).secret else "="
        self._listing(num.RPL_NAMREPLY, (symbol, room), names)
        if end:
            self.reply(num.RPL_ENDOFNAMES, room, "End of /NAMES list")

    def _listing(self, numeric: str, middle: Sequence[str], words: Iterable[str]) -> None:
        """C{numeric} replies whose trailing lists C{words}, each line within the limit."""
        self.out.listing(self.nick, numeric, middle, words)

    def irc_NAMES(self, prefix: str, params: list[str]) -> None:
        if not params or not params[0]:
            self.reply(num.RPL_ENDOFNAMES, "*", "End of /NAMES list")
            return
        for name in params[0].split(","):
            if name and self._room_exists(name) and self.hub.visible(self, name):  # type: ignore[arg-type]
                self._send_names(self.hub.room_info(name).name, end=False)
        self.reply(num.RPL_ENDOFNAMES, params[0], "End of /NAMES list")

    def irc_LIST(self, prefix: str, params: list[str]) -> None:
        """321, a 322 per room that passes the filters (L{list_filter}), 323."""
        wanted = list_filter(params[0] if params else "")
        self.reply(num.RPL_LISTSTART, "Channel", "Users  Name")
        for info in self.hub.room_names():
            if info.secret and not self.hub.in_room(self, info.name):  # type: ignore[arg-type]
                continue  # +s: only its members see it
            if wanted(info.name, info.members):
                self.reply(num.RPL_LIST, info.name, str(info.members), wire(info.topic))
        self.reply(num.RPL_LISTEND, "End of /LIST")


def list_filter(text: str) -> Callable[[str, int], bool]:
    """
    What LIST's parameter lets through, as C{(room name, members) -> bool}: the
    comma-separated terms of ELIST (L{ELIST}). C{>n} and C{<n} bound the member count,
    C{!mask} must not match the name, any other term is a mask (or a plain name) of
    which one must match, if there are any. Terms of filters not offered (C{C<n},
    C{T>n}: creation and topic times) are ignored.
    """
    masks: list[str] = []
    never: list[str] = []
    above, below = -1, None
    for term in filter(None, text.split(",")):
        head, rest = term[0], term[1:]
        if head in "<>" and rest.isdigit():
            if head == ">":
                above = max(above, int(rest))
            else:
                below = int(rest) if below is None else min(below, int(rest))
        elif head == "!" and rest:
            never.append(rest)
        elif len(term) > 1 and term[1] in "<>" and head in "CT":
            continue
        else:
            masks.append(term)

    def wanted(name: str, members: int) -> bool:
        if members <= above or (below is not None and members >= below):
            return False
        if masks and not any(mask_matches(m, name) for m in masks):
            return False
        return not any(mask_matches(m, name) for m in never)

    return wanted
