"""
IRCv3 capability negotiation for the IRC door (ircv3.net, Client Capability
Negotiation), with no I/O: the capabilities offered, the C{CAP} command, and the
C{CAP LS}/C{CAP LIST} replies, split over several lines when they would not fit one.

L{CapNegotiation} is a mixin of L{netsuite.chat._irc_session.IRCSession}: C{irc_CAP}
is one more command of its dispatch, kept here because capability negotiation is a
protocol of its own (versions, values, multi-line replies, all-or-nothing requests).

Choices the specification leaves open, made as Ergo makes them:

  - C{CAP LS 302} (or any version from 302 on) enables C{cap-notify} for the rest of
    the connection (the specification says so); C{CAP REQ -cap-notify} from such a
    client is refused (NAK), since it cannot be turned off.
  - Capabilities are listed in alphabetical order, with C{=value} only for a 302
    client and only for those that have a value.
  - C{CAP REQ} with an empty list is refused (NAK), as the door did before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from netsuite.chat import _irc_numerics as num
from netsuite.chat._irc_render import LINE_MAX, IRCWriter

__all__ = ["CAPABILITIES", "CapNegotiation", "cap_lines", "render_flags"]

#: The capabilities offered to C{CAP LS}, each with its C{CAP LS 302} value ("" for
#: none; only sasl defines one). What each one changes is on docs/doors/irc.md.
CAPABILITIES: Mapping[str, str] = {
    "account-notify": "",
    "account-tag": "",
    "away-notify": "",  # netsuite.chat._irc_users
    "batch": "",
    "cap-notify": "",
    "draft/chathistory": "",  # netsuite.chat._irc_history
    "echo-message": "",
    "extended-join": "",
    "invite-notify": "",  # INVITE shown to a room's operators who ask for it
    "labeled-response": "",
    "message-tags": "",
    "multi-prefix": "",
    "sasl": "PLAIN,EXTERNAL",  # netsuite.chat._irc_sasl.MECHANISMS
    "server-time": "",
    "setname": "",  # netsuite.chat._irc_users
    "standard-replies": "",
    "userhost-in-names": "",
}

#: The CAP LS version from which values, multi-line replies and cap-notify are on.
CAP_302 = 302


def render_flags(caps: Iterable[str]) -> tuple[str, str]:
    """
    The tag sets a client's capabilities ask for, as short flag strings: one for
    messages (C{t}: server-time, C{m}: message-tags, C{a}: account-tag) and one for joins (C{x}:
    extended-join). Clients with the same flags get the same bytes for an event, so it
    is rendered once per distinct flag string, not once per member.
    """
    enabled = set(caps)
    message = ("t" if "server-time" in enabled else "") + (
        "m" if "message-tags" in enabled else ""
    )
    if "account-tag" in enabled:  # C{a}: the sender's account= tag
        message += "a"
    join = "x" if "extended-join" in enabled else ""
    return message, join


def cap_lines(
    server: str,
    target: str,
    sub: str,
    words: list[str],
    *,
    multiline: bool,
    budget: int = LINE_MAX - 2,
) -> list[str]:
    """
    The C{CAP <target> <sub>} lines listing C{words}: one line, or for a 302 client
    as many as the list needs within C{budget} bytes each, all but the last with a
    C{*} parameter before the list (CAP LS version 302, multiline replies). An empty
    list is one line with an empty last parameter.
    """
    head = f":{server} CAP {target} {sub} "
    if not multiline:
        return [head + ":" + " ".join(words)]
    room = budget - len((head + "* :").encode())
    lines: list[list[str]] = [[]]
    used = 0
    for word in words:
        size = len(word.encode()) + (1 if lines[-1] else 0)
        if lines[-1] and used + size > room:
            lines.append([])
            used, size = 0, size - 1
        lines[-1].append(word)
        used += size
    out = [head + "* :" + " ".join(line) for line in lines[:-1]]
    return [*out, head + ":" + " ".join(lines[-1])]


class CapNegotiation:
    """
    The C{CAP} command, mixed into the IRC session. Registration waits from the
    first C{CAP LS} or C{CAP REQ} until C{CAP END} (C{_cap_hold}).

    @ivar caps: the capabilities this client enabled.
    @ivar cap_version: the highest C{CAP LS} version the client sent (0: none).
    """

    # What the session provides (see IRCSession).
    hostname: str
    nick: str
    registered: bool
    out: IRCWriter
    caps: set[str]
    cap_version: int
    _cap_hold: bool
    _need: Callable[[list[str], int], None]
    reply: Callable[..., None]
    _try_register: Callable[[], None]
    caps_changed: Callable[[], None]

    #: The capabilities this door offers (a class attribute, so a test can offer more).
    offered: Mapping[str, str] = CAPABILITIES

    def irc_CAP(self, prefix: str, params: list[str]) -> None:
        """CAP LS [version], LIST, REQ :caps, END; anything else gets 410."""
        self._need(params, 1)
        sub = params[0].upper()
        if sub == "LS":
            self._cap_hold = not self.registered
            version = params[1] if len(params) > 1 else ""
            asked = int(version) if version.isdigit() else 0
            if asked >= CAP_302:
                self.caps.add("cap-notify")  # implicit with 302, for good
                self.caps_changed()
            self.cap_version = max(self.cap_version, asked)
            values = asked >= CAP_302  # this request's version decides the format
            words = [
                f"{name}={value}" if values and value else name
                for name, value in sorted(self.offered.items())
            ]
            self._send_caps("LS", words, multiline=values)
        elif sub == "LIST":
            self._send_caps("LIST", sorted(self.caps), multiline=self.cap_version >= CAP_302)
        elif sub == "REQ":
            self._cap_hold = not self.registered
            self._request(params[1].split() if len(params) > 1 else [])
        elif sub == "END":
            if not self.registered:  # after registration, END is ignored
                self._cap_hold = False
                self._try_register()
        else:
            self.reply(num.ERR_INVALIDCAPCMD, params[0], "Invalid CAP command")

    def _send_caps(self, sub: str, words: list[str], *, multiline: bool) -> None:
        for line in cap_lines(self.hostname, self.nick or "*", sub, words, multiline=multiline):
            self.out.sendLine(line)

    def _request(self, wanted: list[str]) -> None:
        """All of C{wanted} (C{-name} to disable) is applied, or none of it (NAK)."""
        ok = bool(wanted) and all(w.removeprefix("-") in self.offered for w in wanted)
        if "-cap-notify" in wanted and self.cap_version >= CAP_302:
            ok = False  # implicit with 302: it cannot be turned off
        answer = "ACK" if ok else "NAK"
        self.out.sendLine(f":{self.hostname} CAP {self.nick or '*'} {answer} :{' '.join(wanted)}")
        if not ok:
            return
        for w in wanted:
            if w.startswith("-"):
                self.caps.discard(w[1:])
            else:
                self.caps.add(w)
        self.caps_changed()
