"""
The IRC door's server queries, with no I/O: C{LUSERS}, C{TIME}, C{VERSION}, C{ADMIN}
and C{INFO}, answered as the Modern IRC client protocol document gives them, from what
the hub shows anyone (its members, its rooms, its counters; nothing is changed).

L{ServerQueries} is a mixin of L{netsuite.chat._irc_session.IRCSession}, kept apart
because these commands describe the server, not the person asking. Where the document
leaves a choice, the door does what Ergo does:

  - C{LUSERS} always sends all seven replies (251, 252, 253, 254, 255, 265, 266), zeros
    included; there is one server (C{on 1 servers}, C{and 0 servers} connected to it).
    Nobody is counted invisible; 252 counts the IRC operators (OPER) here; the
    unregistered connections (253) are not seen by the hub, so that count is 0. The
    maximum (265, 266) is the most members the door has seen at once, looked at when
    someone registers or asks.
  - C{TIME} is C{391 <nick> <server> :<RFC 1123 time, UTC>} (no Unix timestamp).
  - C{VERSION}, C{TIME}, C{ADMIN} and C{MOTD} with a target answer for this server
    when the target names it (wildcards allowed) or a nick on it, else 402.
"""

from __future__ import annotations

import fnmatch
import platform
import time
import weakref
from collections.abc import Callable
from typing import Any

import twisted

from netsuite import __version__
from netsuite.chat import _irc_numerics as num
from netsuite.chat._hub import Hub
from netsuite.chat._irc_oper import opers_online
from netsuite.chat._names import fold

__all__ = ["HELP", "ServerQueries", "note_unregistered", "rfc1123", "unregistered"]

#: The most members each hub has been seen with at once (265/266's maximum), by every
#: IRC door on it. The hub does not keep that figure; it is kept here, beside it,
#: without a reference that would keep a hub alive.
_PEAKS: weakref.WeakKeyDictionary[Hub, int] = weakref.WeakKeyDictionary()


#: The IRC sessions of each hub not registered yet (LUSERS 253), weakly held; those that
#: registered or closed since are dropped when next counted, so a count costs each
#: session once, not once per LUSERS.
_UNREGISTERED: weakref.WeakKeyDictionary[Hub, weakref.WeakSet[Any]] = weakref.WeakKeyDictionary()

#: HELP's topics: each command of the door, its syntax and what it does (705 lines).
HELP: dict[str, tuple[str, ...]] = {
    "AWAY": ("AWAY [:message]", "Marks you away with a message, or back without one."),
    "INVITE": ("INVITE <nick> <#room>", "Invites someone to a room (+i rooms: operators)."),
    "JOIN": ("JOIN <#room>[,<#room>] [<key>[,<key>]]", "Joins rooms; JOIN 0 leaves all."),
    "KICK": ("KICK <#room> <nick> [:reason]", "Removes someone from a room (operators)."),
    "LIST": ("LIST [<#room>[,<#room>]]", "Lists rooms, their sizes and topics."),
    "MODE": ("MODE <#room|nick> [<modes> [<params>]]", "Shows or changes modes."),
    "NAMES": ("NAMES <#room>", "Lists a room's members, operators with @, voiced +."),
    "NICK": ("NICK <nick>", "Changes your nick (unique on every door)."),
    "NOTICE": ("NOTICE <target> :<text>", "Like PRIVMSG, never answered automatically."),
    "PART": ("PART <#room>[,<#room>] [:reason]", "Leaves rooms."),
    "PRIVMSG": ("PRIVMSG <#room|nick>[,...] :<text>", "Sends a message to rooms or people."),
    "QUIT": ("QUIT [:reason]", "Leaves the server."),
    "SETNAME": ("SETNAME :<realname>", "Changes your realname (IRCv3 setname)."),
    "TOPIC": ("TOPIC <#room> [:topic]", "Shows or sets a room's topic (+t: operators)."),
    "WHO": ("WHO <#room|nick|mask> [o]", "Lists people: a room's, or those a mask matches."),
    "WHOIS": ("WHOIS [<server>] <nick>[,<nick>]", "Tells who someone is."),
    "WHOWAS": ("WHOWAS <nick>[,<nick>] [<count>]", "Tells who had a nick that is gone."),
}


def note_unregistered(hub: Hub, session: Any) -> None:
    """C{session} has connected and is not registered yet (LUSERS 253)."""
    _UNREGISTERED.setdefault(hub, weakref.WeakSet()).add(session)


def unregistered(hub: Hub) -> int:
    """How many IRC connections to C{hub} are open and not registered (LUSERS 253)."""
    waiting = _UNREGISTERED.get(hub)
    if not waiting:
        return 0
    for session in [s for s in waiting if s.registered or s.closed]:
        waiting.discard(session)
    return len(waiting)


def rfc1123(when: float) -> str:
    """C{when} as RFC 1123 says a date, in UTC (C{Mon, 02 Jan 2006 15:04:05 UTC})."""
    return time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime(when))


class ServerQueries:
    """The server's own queries, mixed into the IRC session."""

    # What the session provides (see IRCSession).
    hub: Hub
    hostname: str
    nick: str
    reply: Callable[..., None]
    isupport_lines: Callable[[], list[list[str]]]
    send_motd: Callable[[], None]

    def _ours(self, params: list[str]) -> bool:
        """
        True if the optional target in C{params} is this server (its name, a mask that
        matches it, or a nick on it); else 402 has been sent.
        """
        if not params or not params[0]:
            return True
        target = params[0]
        name = self.hostname
        if fold(target) == fold(name) or fnmatch.fnmatchcase(fold(name), fold(target)):
            return True
        if self.hub.find(target) is not None:
            return True
        self.reply(num.ERR_NOSUCHSERVER, target, "No such server")
        return False

    def irc_LUSERS(self, prefix: str, params: list[str]) -> None:
        self.send_lusers()

    def send_lusers(self) -> None:
        """251-255, 265, 266: the counts the hub shows (O(1) but for the rooms)."""
        hub = self.hub
        users = max(hub.counters["members.joined"] - hub.counters["members.quit"], 0)
        peak = _PEAKS[hub] = max(_PEAKS.get(hub, 0), users)
        rooms = len(hub.room_names())
        self.reply(num.RPL_LUSERCLIENT, f"There are {users} users and 0 invisible on 1 servers")
        self.reply(num.RPL_LUSEROP, str(opers_online(hub)), "operator(s) online")
        self.reply(num.RPL_LUSERUNKNOWN, str(unregistered(hub)), "unknown connection(s)")
        self.reply(num.RPL_LUSERCHANNELS, str(rooms), "channels formed")
        self.reply(num.RPL_LUSERME, f"I have {users} clients and 0 servers")
        self.reply(
            num.RPL_LOCALUSERS, str(users), str(peak), f"Current local users {users}, max {peak}"
        )
        self.reply(
            num.RPL_GLOBALUSERS,
            str(users),
            str(peak),
            f"Current global users {users}, max {peak}",
        )

    def irc_TIME(self, prefix: str, params: list[str]) -> None:
        if self._ours(params):
            self.reply(num.RPL_TIME, self.hostname, rfc1123(self.hub.clock()))

    def irc_VERSION(self, prefix: str, params: list[str]) -> None:
        """351, then the ISUPPORT (005) lines again (Modern IRC, VERSION)."""
        if not self._ours(params):
            return
        self.reply(num.RPL_VERSION, f"netsuite-{__version__}.", self.hostname, "")
        for tokens in self.isupport_lines():
            self.reply(num.RPL_ISUPPORT, *tokens, "are supported by this server")

    def irc_ADMIN(self, prefix: str, params: list[str]) -> None:
        """256-259. There is no administrator's address to give: 259 says so."""
        if not self._ours(params):
            return
        name = self.hostname
        self.reply(num.RPL_ADMINME, name, "Administrative info")
        self.reply(num.RPL_ADMINLOC1, f"{name}: a netsuite chat hub")
        self.reply(num.RPL_ADMINLOC2, "Its IRC door; rooms are shared with its other doors")
        self.reply(num.RPL_ADMINEMAIL, f"No administrator e-mail address is set on {name}")

    def irc_INFO(self, prefix: str, params: list[str]) -> None:
        """371 lines describing the software, then 374."""
        for line in (
            f"netsuite {__version__}: echo, datagram, chat and web services on Twisted",
            f"Twisted {twisted.__version__}, Python {platform.python_version()}",
            "The chat hub is shared by its line, IRC and WebSocket doors",
        ):
            self.reply(num.RPL_INFO, line)
        self.reply(num.RPL_ENDOFINFO, "End of INFO list")

    def irc_LINKS(self, prefix: str, params: list[str]) -> None:
        """
        365 alone: this server links to no other (a backbone's processes are one
        server to clients), which is how servers that show no links answer.
        """
        self.reply(num.RPL_ENDOFLINKS, "*", "End of /LINKS list")

    def irc_HELP(self, prefix: str, params: list[str]) -> None:
        """HELP [subject]: 704, 705..., 706 (Modern IRC), or 524 for an unknown subject."""
        subject = params[0] if params and params[0] else "*"
        text = self._commands() if subject == "*" else HELP.get(subject.upper())
        if text is None:
            self.reply(num.ERR_HELPNOTFOUND, subject, "No help available on this topic")
            return
        first, *rest = text
        self.reply(num.RPL_HELPSTART, subject, first)
        for line in rest:
            self.reply(num.RPL_HELPTXT, subject, line)
        self.reply(num.RPL_ENDOFHELP, subject, "End of /HELP")

    irc_HELPOP = irc_HELP

    def _commands(self) -> tuple[str, ...]:
        """HELP's index: every command this session answers, ten a line."""
        names = sorted(n[4:] for n in dir(type(self)) if n.startswith("irc_") and n[4:].isupper())
        rows = [" ".join(names[i : i + 10]) for i in range(0, len(names), 10)]
        return ("netsuite's IRC door; HELP <command> tells more of one.", *rows)

    def irc_MOTD(self, prefix: str, params: list[str]) -> None:
        if self._ours(params):
            self.send_motd()
