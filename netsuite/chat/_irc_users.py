"""
The IRC door's questions and news about people, with no I/O: C{WHO}, C{WHOIS},
C{WHOWAS}, C{ISON}, C{USERHOST}, C{AWAY} (with IRCv3 C{away-notify}) and C{SETNAME}
(IRCv3 C{setname}), as the Modern IRC client protocol document and the IRCv3
specifications give them.

L{UserQueries} is a mixin of L{netsuite.chat._irc_session.IRCSession}, kept apart
because these commands are about other members, not about the connection or a room.
Where the documents leave a choice, the door does what Ergo does:

  - C{WHO} takes a room, a nick, or a mask (C{*} and C{?}) matched against nicks and
    C{nick!user@host}; a mask skips invisible (C{+i}) people who share no room with the
    asker, a plain nick never does (Modern IRC). C{WHO <mask> o} lists operators only.
    The C{352} channel field is the room asked for, else C{*}; the flags are C{H} or
    C{G} (away), C{*} for an IRC operator, then the membership prefixes in that room.
  - The user name shown by C{WHO}, C{WHOIS} and C{WHOWAS} is the one given with USER
    (the nick, for other doors' members); the host is the server's name, the same host
    every member's mask has, on every door (bans match that mask).
  - C{WHOIS} sends 311, 319, 312, 313, 330, 671 (TLS), 317 (idle and signon, IRC
    members only), 301, then 318; C{WHOWAS} 314 and 312 per entry, newest first,
    C{406} for each nick with none, then one 369 naming the nicks as asked.
  - C{away-notify}: C{AWAY} goes to the IRC members sharing a room with the one who
    changed (not to that one), and to a room's members when someone already away joins.
  - C{setname}: a realname of 1 to L{REALNAME_MAX} bytes is taken and C{SETNAME} goes to
    the sender and its room-mates with the capability; anything else is
    C{FAIL SETNAME INVALID_REALNAME}.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, cast

from netsuite.chat import _irc_numerics as num
from netsuite.chat._events import Joined
from netsuite.chat._hub import TOPIC_MAX, Hub, Member
from netsuite.chat._irc_info import rfc1123
from netsuite.chat._irc_render import IRCRenderer, IRCWriter, wire
from netsuite.chat._modes import mask_matches
from netsuite.chat._names import fold

__all__ = ["REALNAME_MAX", "UserQueries", "realname_of", "username_of"]

#: The longest realname (USER, SETNAME), in bytes, as Ergo bounds it.
REALNAME_MAX = 100


def username_of(member: Member) -> str:
    """The user name WHO, WHOIS and WHOWAS show: USER's, or the nick for other doors."""
    return getattr(member, "username", "") or member.nick


def realname_of(member: Member) -> str:
    """USER's (or SETNAME's) realname, or C{via the <door> door} for other doors."""
    return getattr(member, "realname", "") or f"via the {member.door} door"


def is_oper(member: Member) -> bool:
    return "o" in getattr(member, "umodes", ())


class UserQueries:
    """WHO, WHOIS, WHOWAS, ISON, USERHOST, AWAY and SETNAME, mixed into the session."""

    # What the session provides (see IRCSession).
    hub: Hub
    hostname: str
    nick: str
    caps: set[str]
    #: The connection is TLS (set by the door's adapter; WHOIS 671).
    secure: bool = False
    out: IRCWriter
    renderer: IRCRenderer
    realname: str
    signon: float
    last_active: float
    reply: Callable[..., None]
    _need: Callable[[list[str], int], None]
    _room_exists: Callable[[str], bool]
    _prefixes: Callable[[Member, str], str]
    _listing: Callable[..., None]
    whois_extra: Callable[[Member], None]

    # --- news to room-mates ---------------------------------------------------------------

    def _room_mates(self) -> Iterable[Any]:
        """Every member sharing a room with this one, once each, not this one."""
        seen = {id(self)}
        for room in self.hub.rooms_of(self):  # type: ignore[arg-type]
            for member in self.hub.who(room):
                if id(member) not in seen:
                    seen.add(id(member))
                    yield member

    def _tell_mates(self, cap: str, line: str) -> None:
        """C{line} to the IRC members of this one's rooms that enabled C{cap}."""
        for member in self._room_mates():
            if cap in getattr(member, "caps", ()) and not member.closed:
                member.out.sendLine(line)

    def joined_news(self, event: Joined) -> None:
        """
        After someone's JOIN: their away message, for an away-notify client ("when a
        user joins and has an away message set", away-notify).
        """
        if "away-notify" not in self.caps or event.nick == self.nick:
            return
        member = self.hub.find(event.nick)
        if member is None or not self.hub.is_connected(member):
            return
        away = self.hub.away(member)
        if away:
            self.out.sendLine(f":{self.renderer.mask(member.nick)} AWAY :{wire(away)}")

    # --- away -----------------------------------------------------------------------------

    def irc_AWAY(self, prefix: str, params: list[str]) -> None:
        message = params[0][:TOPIC_MAX] if params else ""
        self.hub.set_away(self, message)  # type: ignore[arg-type]
        if message:
            self.reply(num.RPL_NOWAWAY, "You have been marked as being away")
        else:
            self.reply(num.RPL_UNAWAY, "You are no longer marked as being away")
        mask = self.renderer.mask(self.nick)
        self._tell_mates("away-notify", f":{mask} AWAY :{wire(message)}" if message
                         else f":{mask} AWAY")  # fmt: skip

    # --- setname --------------------------------------------------------------------------

    def irc_SETNAME(self, prefix: str, params: list[str]) -> None:
        """SETNAME :realname (setname): the realname changes, the room-mates are told."""
        realname = params[0] if params else ""
        if not realname or len(realname.encode()) > REALNAME_MAX:
            self.out.sendLine(
                f":{self.hostname} FAIL SETNAME INVALID_REALNAME :Realname is not valid"
            )
            return
        self.realname = realname
        line = f":{self.renderer.mask(self.nick)} SETNAME :{wire(realname)}"
        if "setname" in self.caps:
            self.out.sendLine(line)
        self._tell_mates("setname", line)

    # --- who ------------------------------------------------------------------------------

    def _sees(self, member: Member, mine: set[str]) -> bool:
        """Whether a WHO mask shows C{member}: not invisible, or sharing a room."""
        if member is cast(Any, self) or "i" not in getattr(member, "umodes", ()):
            return True
        return any(fold(room) in mine for room in self.hub.rooms_of(member))

    def irc_WHO(self, prefix: str, params: list[str]) -> None:
        """WHO <room | nick | mask> [o]: 352 per person, then 315 with the mask as sent."""
        mask = params[0] if params and params[0] else "*"
        opers_only = len(params) > 1 and "o" in params[1]
        hub = self.hub
        members: list[Member] = []
        channel = "*"
        if mask.startswith("#"):
            if self._room_exists(mask) and hub.visible(self, mask):  # type: ignore[arg-type]
                channel = hub.room_info(mask).name
                members = hub.who(mask)
        elif mask == "0" or "*" in mask or "?" in mask:
            pattern = "*" if mask == "0" else mask
            mine = {fold(room) for room in hub.rooms_of(self)}  # type: ignore[arg-type]
            members = [
                m
                for m in hub.members()
                if (mask_matches(pattern, m.nick) or mask_matches(pattern, hub.mask(m)))
                and self._sees(m, mine)
            ]
        else:
            found = hub.find(mask)
            members = [found] if found is not None else []
        host = self.hostname
        for m in members:
            if opers_only and not is_oper(m):
                continue
            flag = ("G" if hub.away(m) else "H") + ("*" if is_oper(m) else "")
            if channel != "*":
                flag += self._prefixes(m, channel)
            self.reply(
                num.RPL_WHOREPLY, channel, username_of(m), host, host, m.nick, flag,
                f"0 {wire(realname_of(m))}",
            )  # fmt: skip
        self.reply(num.RPL_ENDOFWHO, mask, "End of /WHO list")

    # --- whois, whowas --------------------------------------------------------------------

    def irc_WHOIS(self, prefix: str, params: list[str]) -> None:
        """WHOIS [server] nick[,nick]: 311 ... 318 per nick, or 401 and 318."""
        if not params or not params[-1]:
            self.reply(num.ERR_NONICKNAMEGIVEN, "No nickname given")
            return
        hub = self.hub
        host = self.hostname
        for nick in params[-1].split(","):
            member = hub.find(nick)
            if member is None:
                self.reply(num.ERR_NOSUCHNICK, nick, "No such nick/channel")
                self.reply(num.RPL_ENDOFWHOIS, nick, "End of /WHOIS list")
                continue
            who = member.nick
            self.reply(
                num.RPL_WHOISUSER, who, username_of(member), host, "*",
                wire(realname_of(member)),
            )  # fmt: skip
            rooms = [
                self._prefixes(member, room) + room
                for room in hub.rooms_of(member)
                if hub.visible(self, room)  # type: ignore[arg-type]  # +s: members only
            ]
            if rooms:
                self._listing(num.RPL_WHOISCHANNELS, (who,), rooms)
            self.reply(num.RPL_WHOISSERVER, who, host, f"netsuite, {member.door} door")
            self.whois_extra(member)  # 313 operator, 330 account (_irc_oper)
            if getattr(member, "secure", False) is True:
                self.reply(num.RPL_WHOISSECURE, who, "is using a secure connection")
            signon = getattr(member, "signon", None)
            if isinstance(signon, float) and signon:
                idle = max(int(hub.clock() - getattr(member, "last_active", signon)), 0)
                self.reply(
                    num.RPL_WHOISIDLE, who, str(idle), str(int(signon)),
                    "seconds idle, signon time",
                )  # fmt: skip
            away = hub.away(member)
            if away:
                self.reply(num.RPL_AWAY, who, away)
            self.reply(num.RPL_ENDOFWHOIS, who, "End of /WHOIS list")

    def irc_WHOWAS(self, prefix: str, params: list[str]) -> None:
        """WHOWAS nick[,nick] [count]: 314 and 312 per entry, 406 per unknown nick, 369."""
        if not params or not params[0]:
            self.reply(num.ERR_NONICKNAMEGIVEN, "No nickname given")
            return
        asked = params[0]
        nicks = [n for n in asked.split(",") if n]
        count_text = params[1] if len(params) > 1 else ""
        count = int(count_text) if count_text.lstrip("-").isdigit() else 0
        host = self.hostname
        entries = self.hub.whowas.lookup(nicks, count)
        for entry in entries:
            self.reply(num.RPL_WHOWASUSER, entry.nick, entry.user, host, "*", wire(entry.realname))
            self.reply(num.RPL_WHOISSERVER, entry.nick, host, rfc1123(entry.when))
        found = {fold(entry.nick) for entry in entries}
        for nick in nicks:
            if fold(nick) not in found:
                self.reply(num.ERR_WASNOSUCHNICK, nick, "There was no such nickname")
        self.reply(num.RPL_ENDOFWHOWAS, asked, "End of WHOWAS")

    # --- presence -------------------------------------------------------------------------

    def irc_ISON(self, prefix: str, params: list[str]) -> None:
        """ISON nick...: which are here (irssi's and weechat's notify lists poll it)."""
        self._need(params, 1)
        found = [m.nick for n in " ".join(params).split() if (m := self.hub.find(n))]
        self.reply(num.RPL_ISON, " ".join(found))

    def irc_USERHOST(self, prefix: str, params: list[str]) -> None:
        """USERHOST nick...: C{nick[*]=+user@host} (C{-} when away) for up to five."""
        self._need(params, 1)
        found = []
        for nick in params[:5]:
            m = self.hub.find(nick)
            if m is not None:
                oper = "*" if is_oper(m) else ""
                flag = "-" if self.hub.away(m) else "+"
                found.append(f"{m.nick}{oper}={flag}{username_of(m)}@{self.hostname}")
        self.reply(num.RPL_USERHOST, " ".join(found))
