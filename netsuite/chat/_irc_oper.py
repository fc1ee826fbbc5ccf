"""
The IRC door's server operators, with no I/O: C{OPER} against the operators of the
config (Scrypt hashes, L{netsuite.chat._accounts}), C{KILL} and C{WALLOPS}, and how an
operator shows (user mode C{+o}, WHOIS 313, WHO's C{*}, LUSERS 252), as the Modern IRC
client protocol document gives them.

L{ServerOperators} is a mixin of L{netsuite.chat._irc_session.IRCSession}. Where the
document leaves a choice:

  - C{OPER name password}: 381, then C{MODE nick :+o}. A wrong password and a name
    that is no operator's get the same 464, after the same cost (a decoy hash), so a
    guess tells nothing; 491 only when the door has no operators at all. The check
    runs off the reactor thread, the connection's later lines waiting for its answer
    (L{netsuite.chat._irc_sasl}). The connection stays open.
  - C{MODE nick -o} gives it up; C{+o} by MODE is ignored (only OPER makes one).
  - C{KILL nick [reason]} (one argument accepted, as Ergo does): 481 from a
    non-operator, 401 for no such nick. The victim, on any door, is cut off with
    C{Killed (<oper> (<reason>))}: its C{ERROR} and everyone's C{QUIT} say so. A
    member of another backbone process cannot be killed from here (a notice says so).
  - C{WALLOPS text}: operators only (481 otherwise, as Ergo does); it goes to every
    IRC member of this hub with C{+w} or C{+o}, the sender included.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

from netsuite.chat import _irc_numerics as num
from netsuite.chat._accounts import account_of
from netsuite.chat._hub import Hub, Member
from netsuite.chat._irc_render import IRCRenderer, IRCWriter, wire

__all__ = ["ServerOperators", "opers_online"]

#: The operators of each hub's IRC doors (weakly: a closed session goes by itself).
_OPERS: weakref.WeakKeyDictionary[Hub, weakref.WeakSet[ServerOperators]] = (
    weakref.WeakKeyDictionary()
)


def opers_online(hub: Hub) -> int:
    """How many IRC operators are connected to C{hub} here (LUSERS 252)."""
    return sum(1 for s in _OPERS.get(hub, ()) if not s.closed and "o" in s.umodes)


class ServerOperators:
    """C{OPER}, C{KILL}, C{WALLOPS} and the operator's replies, mixed into the session."""

    # What the session provides (see IRCSession).
    hub: Hub
    hostname: str
    nick: str
    closed: bool
    umodes: set[str]
    out: IRCWriter
    renderer: IRCRenderer
    _checking: bool
    check_done: Callable[[], None]
    reply: Callable[..., None]
    server_notice: Callable[[str], None]
    _need: Callable[[list[str], int], None]

    def irc_OPER(self, prefix: str, params: list[str]) -> None:
        self._need(params, 2)
        if not self.hub.accounts.opers:
            self.reply(num.ERR_NOOPERHOST, "No O-lines for your host")
            return
        if self._checking:
            self.reply(num.ERR_PASSWDMISMATCH, "Password incorrect")
            return
        self._checking = True
        self.hub.accounts.check("opers", params[0], params[1], self._opered)

    def _opered(self, name: str | None) -> None:
        if self.closed:
            return
        if name is None:
            self.reply(num.ERR_PASSWDMISMATCH, "Password incorrect")
        else:
            _OPERS.setdefault(self.hub, weakref.WeakSet()).add(self)
            self.reply(num.RPL_YOUREOPER, "You are now an IRC operator")
            if "o" not in self.umodes:
                self.umodes.add("o")
                self.out.sendLine(f":{self.nick} MODE {self.nick} :+o")
        self.check_done()  # the lines that came meanwhile run now

    def _privileged(self) -> bool:
        if "o" in self.umodes:
            return True
        self.reply(num.ERR_NOPRIVILEGES, "Permission Denied- You're not an IRC operator")
        return False

    def irc_KILL(self, prefix: str, params: list[str]) -> None:
        self._need(params, 1)
        if not self._privileged():
            return
        victim = self.hub.find(params[0])
        if victim is None:
            self.reply(num.ERR_NOSUCHNICK, params[0], "No such nick/channel")
            return
        reason = params[1] if len(params) > 1 and params[1] else "<no reason supplied>"
        text = f"Killed ({self.nick} ({reason}))"
        if getattr(victim, "remote", False):  # its own process drops it (the backbone)
            victim.kill(text)  # type: ignore[attr-defined]
            return
        victim.disconnect(text)

    def irc_WALLOPS(self, prefix: str, params: list[str]) -> None:
        self._need(params, 1)
        if not self._privileged():
            return
        line = f":{self.renderer.mask(self.nick)} WALLOPS :{wire(params[0])}"
        for member in self.hub.members():
            modes = getattr(member, "umodes", ())
            if ("w" in modes or "o" in modes) and not getattr(member, "closed", True):
                member.out.sendLine(line)  # type: ignore[attr-defined]

    def whois_extra(self, member: Member) -> None:
        """WHOIS's 313 for an operator and 330 for a logged-in member."""
        who = member.nick
        if "o" in getattr(member, "umodes", ()):
            self.reply(num.RPL_WHOISOPERATOR, who, "is an IRC operator")
        account = account_of(member)
        if account:
            self.reply(num.RPL_WHOISACCOUNT, who, account, "is logged in as")
