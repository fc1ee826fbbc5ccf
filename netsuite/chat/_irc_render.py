"""
The IRC door's wire format: parsing a line, formatting replies, and rendering hub events.

This is the one module of the IRC door that uses L{twisted.words.protocols.irc}: Twisted
parses a line (C{parsemsg}), formats commands and replies (C{sendCommand}, C{privmsg},
C{notice}, C{topic}), and names the numerics (re-exported here, so that the session in
L{netsuite.chat._irc_session} needs no Twisted import). What it adds to Twisted's
formatting, and why:

  - Every line sent is at most 512 bytes (RFC 2812), CRLF included (L{fit}). A relayed
    PRIVMSG or NOTICE whose text would pass that with its prefix is truncated, on a UTF-8
    character boundary (L{truncate_utf8}), as IRC servers do (Ergo, ngircd): split into
    several lines it would read as several messages, and a client could not tell one
    long message from two. Long server notices are split (L{split_utf8}): they are the
    server's own words, not someone's message. Anything else that could overflow is cut
    on a character boundary.
  - Text from other doors is made safe for one IRC parameter (L{wire}): a CR, LF or NUL
    would end or smuggle a line.
  - A room message is rendered once per tag set among its IRC members (L{IRCRenderer},
    cached by L{ev.ChatEvent.encoded}): the rendering depends on the recipient's
    capabilities (server-time, message-tags, extended-join, account-tag), never on who
    it is.

The module is above 400 lines because it is one wire format: the parser, the writer
and the rendering of every hub event share the 512-byte rule and the tag sets.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from twisted.words.protocols import irc

from netsuite.chat import _events as ev
from netsuite.chat import _irc_numerics as num
from netsuite.chat._accounts import account_of
from netsuite.chat._events import ChatEvent
from netsuite.chat._irc_tags import TagMessage, escape_value, with_tags

if TYPE_CHECKING:
    from netsuite.chat._hub import Hub

__all__ = [
    "CLIENT_TAGS_FMT",
    "IRC_NUMERICS",
    "LINE_MAX",
    "WITH_SUBJECT",
    "IRCRenderer",
    "IRCWriter",
    "fit",
    "parse",
    "server_time",
    "split_utf8",
    "truncate_utf8",
    "wire",
]

#: The name under which an event keeps the client-only tags it was sent with
#: (L{IRCRenderer.client_tags}), in its L{ChatEvent.encoded} cache.
CLIENT_TAGS_FMT = "irc:client-tags"

#: The longest line sent, in bytes, CRLF included (RFC 2812 section 2.3).
LINE_MAX = 512

#: The IRC numeric each L{ChatError} code is reported with (flood is a NOTICE instead).
IRC_NUMERICS: dict[str, str] = {
    "no_such_nick": num.ERR_NOSUCHNICK,  # 401
    "no_such_room": num.ERR_NOSUCHCHANNEL,  # 403
    "cannot_send": num.ERR_CANNOTSENDTOCHAN,  # 404
    "no_text": num.ERR_NOTEXTTOSEND,  # 412
    "too_long": num.ERR_INPUTTOOLONG,  # 417
    "erroneous_nick": num.ERR_ERRONEUSNICKNAME,  # 432
    "nick_in_use": num.ERR_NICKNAMEINUSE,  # 433
    "not_on_room": num.ERR_NOTONCHANNEL,  # 442
    "not_registered": num.ERR_NOTREGISTERED,  # 451
    "already_registered": num.ERR_ALREADYREGISTRED,  # 462
    "nick_locked": "447",  # ERR_NONICKCHANGE (common, not in RFC 2812 nor Twisted)
    "room_full": num.ERR_CHANNELISFULL,  # 471
    "invite_only": num.ERR_INVITEONLYCHAN,  # 473
    "banned": num.ERR_BANNEDFROMCHAN,  # 474
    "bad_key": num.ERR_BADCHANNELKEY,  # 475
    "account_needed": "477",  # ERR_NEEDREGGEDNICK (Ergo's, for +R)
    "chanop_needed": num.ERR_CHANOPRIVSNEEDED,  # 482
}
#: Numerics whose first parameter names what the error is about (a nick or a room).
WITH_SUBJECT = {"401", "403", "404", "432", "433", "442", "471", "473", "474", "475", "477", "482"}
#: What could break or smuggle a protocol line in text from other doors.
_UNSAFE = re.compile(r"[\r\n\x00\x10]")


def wire(text: str) -> str:
    """Text from the hub made safe for one IRC parameter (other doors may not scrub)."""
    return _UNSAFE.sub(" ", text) if _UNSAFE.search(text) else text


def split_utf8(data: bytes, budget: int) -> list[bytes]:
    """
    C{data} in pieces of at most C{budget} bytes, cut on UTF-8 character boundaries.

    A cut prefers the last space in the second half of a piece, so words stay whole
    when they can; the space stays at the end of the earlier piece, so joining the
    pieces gives C{data} back.
    """
    budget = max(budget, 4)  # room for the longest UTF-8 character
    pieces: list[bytes] = []
    start = 0
    end = len(data)
    while end - start > budget:
        cut = start + budget
        while cut > start and data[cut] & 0xC0 == 0x80:  # inside a character: back up
            cut -= 1
        space = data.rfind(b" ", start + budget // 2, cut)
        if space >= 0:
            cut = space + 1
        pieces.append(data[start:cut])
        start = cut
    pieces.append(data[start:])
    return pieces


def truncate_utf8(data: bytes, budget: int) -> bytes:
    """C{data} cut to at most C{budget} bytes, never inside a UTF-8 character."""
    if len(data) <= budget:
        return data
    cut = max(budget, 0)
    while cut > 0 and data[cut] & 0xC0 == 0x80:  # inside a character: back up
        cut -= 1
    return data[:cut]


def fit(line: str) -> bytes:
    """
    C{line} encoded with CRLF, in at most L{LINE_MAX} bytes (tags not counted, as
    IRCv3 says): the last resort that keeps the 512-byte promise for any reply.
    """
    if "\r" in line or "\n" in line or "\0" in line:
        line = _UNSAFE.sub(" ", line)
    data = line.encode("utf-8")
    tags = b""
    if data[:1] == b"@":
        space = data.find(b" ")
        if space > 0:
            tags, data = data[: space + 1], data[space + 1 :]
    if len(data) > LINE_MAX - 2:
        cut = LINE_MAX - 2
        while cut > 0 and data[cut] & 0xC0 == 0x80:  # inside a character: back up
            cut -= 1
        data = data[:cut]
    return tags + data + b"\r\n"


def server_time(when: float) -> str:
    """The IRCv3 C{time} tag value: ISO 8601 UTC with milliseconds."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when))
    return f"{stamp}.{int(when * 1000) % 1000:03d}Z"


def parse(line: str) -> tuple[str, str, list[str]] | None:
    """
    C{(prefix, command, params)} of one decoded line (tags already removed), by Twisted's
    C{parsemsg}; L{None} for a line it cannot parse (such lines are ignored).
    """
    try:
        return irc.parsemsg(line)
    except (irc.IRCBadMessage, ValueError, IndexError):
        return None


class IRCWriter(irc.IRC):
    """
    Twisted's IRC formatting helpers (C{sendCommand}, C{privmsg}, C{notice}, C{topic} ...)
    writing each line, L{fit} to L{LINE_MAX}, to C{sink} instead of a transport; plus the
    server's own replies. It never has a transport.
    """

    def __init__(self, hostname: str, sink: Callable[[bytes], None]) -> None:
        self.hostname = hostname
        self.sink = sink

    def sendLine(self, line: str) -> None:
        """Twisted's helpers end here: to C{sink}, never to a transport."""
        self.sink(fit(line))

    def reply(self, nick: str, numeric: str, *params: str) -> None:
        """C{:server NUMERIC <nick> params...}; the last parameter goes as trailing."""
        *middle, last = params
        self.sendCommand(numeric, (nick or "*", *middle, ":" + last), self.hostname)

    def server_notice(self, nick: str, text: str) -> None:
        """A NOTICE from the server to C{nick}, split to fit the line limit."""
        target = nick or "*"
        head = len(f":{self.hostname} NOTICE {target} :".encode())
        for piece in split_utf8(wire(text).encode("utf-8"), LINE_MAX - 2 - head):
            self.notice(self.hostname, target, piece.decode("utf-8"))

    def listing(
        self, nick: str, numeric: str, middle: Sequence[str], words: Iterable[str]
    ) -> None:
        """C{numeric} replies whose trailing lists C{words}, each line within the limit."""
        head = f":{self.hostname} {numeric} {nick} {' '.join(middle)} :"
        budget = LINE_MAX - 2 - len(head.encode())
        line: list[str] = []
        used = 0
        for word in words:
            size = len(word.encode()) + (1 if line else 0)
            if line and used + size > budget:
                self.reply(nick, numeric, *middle, " ".join(line))
                line, used, size = [], 0, size - 1
            line.append(word)
            used += size
        if line:
            self.reply(nick, numeric, *middle, " ".join(line))


class IRCRenderer:
    """
    Hub events as IRC lines, the same bytes for every IRC member who receives them with
    the same tag set.

    The rendering depends only on the event, the server name and the recipient's tag
    flags (L{netsuite.chat._irc_caps.render_flags}: C{t} server-time, C{m}
    message-tags, C{x} extended-join), never on who the recipient is, which is what
    lets L{ChatEvent.encoded} cache it: a message to a room of 500 IRC members is
    formatted and encoded once per distinct flag string among them (four at most), not
    500 times. C{fmt} names the plain cache entry (it carries the server name, in case
    two IRC doors with different names share a hub); L{variant} gives the others.

    @ivar hub: where the joiner of an extended-join is looked up (realname, account)
        and the sender of a message with client-only tags (L{client_tags}).
    """

    def __init__(self, hostname: str, hub: Hub | None = None) -> None:
        self.hostname = hostname
        self.hub = hub
        self.fmt = f"irc:{hostname}"
        self.fmt_time = f"irc+t:{hostname}"
        self._lines: list[bytes] = []
        self._out = IRCWriter(hostname, self._lines.append)
        self._variants: dict[str, tuple[str, Callable[[ChatEvent], bytes]]] = {
            "": (self.fmt, self)
        }
        self._tagmsg_ids = itertools.count(1)

    def mask(self, nick: str) -> str:
        """The prefix a person's lines carry: C{nick!nick@server}, the same for all doors."""
        return f"{nick}!{nick}@{self.hostname}"

    def __call__(self, event: ChatEvent) -> bytes:
        """The IRC lines of C{event} (not L{Notice}: that one names its recipient)."""
        return self.render(event, timed=False)

    def timed(self, event: ChatEvent) -> bytes:
        """Like calling the renderer, with C{@time=} on messages (server-time clients)."""
        return self.render(event, timed=True)

    def variant(self, flags: str) -> tuple[str, Callable[[ChatEvent], bytes]]:
        """The cache name and the rendering for clients with tag C{flags}."""
        found = self._variants.get(flags)
        if found is None:
            on = {"timed": "t", "tagged": "m", "extended": "x", "tag_account": "a"}
            kw = {name: flag in flags for name, flag in on.items()}

            def render(event: ChatEvent) -> bytes:
                return self.render(event, **kw)

            found = self._variants[flags] = (f"irc+{flags}:{self.hostname}", render)
        return found

    def next_tagmsg_id(self, when: float) -> str:
        """A msgid for a C{TAGMSG} (it has no hub sequence number): unique in this door."""
        return f"t{int(when * 1000):x}-{next(self._tagmsg_ids)}"

    def client_tags(self, said: ev.Said) -> str:
        """
        The client-only tags C{said} was sent with (as sent, C{;}-separated), or "".

        The hub's events carry no tags, so they are read from the sender while the hub
        delivers its message (the sending session's C{sending_tags}, set only for that
        call) and kept on the event itself, once, for every later rendering.
        """
        return said.encoded(CLIENT_TAGS_FMT, self._sender_tags)

    def _sender_tags(self, event: ChatEvent) -> str:
        assert isinstance(event, ev.Said)
        member = self.hub.find(event.sender) if self.hub is not None else None
        tags = getattr(member, "sending_tags", "")
        return tags if isinstance(tags, str) else ""

    def render(
        self, event: ChatEvent, *, timed: bool, tagged: bool = False, extended: bool = False,
        tag_account: bool = False,
    ) -> bytes:  # fmt: skip
        """
        The lines of C{event}: with IRCv3 C{time} tags on messages if C{timed},
        C{msgid} and client-only tags if C{tagged}, joins with account and realname if
        C{extended}.
        """
        out = self._out
        if isinstance(event, ev.Said):
            self.message(event, timed=timed, tagged=tagged, tag_account=tag_account)
        elif isinstance(event, ev.Replayed):
            self.message(event.said, timed=timed, tagged=tagged, tag_account=tag_account)
        elif isinstance(event, TagMessage):
            self.tag_message(event, timed=timed, tag_account=tag_account)
        elif isinstance(event, ev.Joined):
            if extended:
                account, realname = self.identity(event.nick)
                out.sendCommand(
                    "JOIN", (event.room, account, ":" + wire(realname)), self.mask(event.nick)
                )
            else:
                out.join(self.mask(event.nick), event.room)
        elif isinstance(event, ev.Parted):
            out.part(self.mask(event.nick), event.room, wire(event.reason) or None)
        elif isinstance(event, ev.Quit):
            out.sendCommand("QUIT", (":" + wire(event.reason),), self.mask(event.nick))
        elif isinstance(event, ev.Renamed):
            out.sendCommand("NICK", (":" + event.new,), self.mask(event.old))
        elif isinstance(event, ev.TopicChanged):
            out.topic(None, event.room, wire(event.topic), author=self.mask(event.nick))
        elif isinstance(event, ev.ModeChanged):
            out.sendLine(
                " ".join(
                    (f":{self.mask(event.nick)} MODE {event.room}", event.changes, *event.args)
                )
            )
        elif isinstance(event, ev.Kicked):
            head = f":{self.mask(event.nick)} KICK {event.room} {event.target} :"
            budget = LINE_MAX - 2 - len(head.encode())
            reason = truncate_utf8(wire(event.reason).encode("utf-8"), budget).decode("utf-8")
            out.sendLine(head + reason)
        elif isinstance(event, ev.Invited):
            out.sendCommand("INVITE", (event.target, event.room), self.mask(event.nick))
        else:  # pragma: no cover - Notice is rendered per recipient by the session
            raise TypeError(f"no IRC rendering for {event!r}")
        data = b"".join(self._lines)
        self._lines.clear()
        return data

    def identity(self, nick: str) -> tuple[str, str]:
        """
        C{(account, realname)} of C{nick} as extended-join and WHOIS show them: the
        account (SASL's, or the verified certificate's name) or C{*}, and the USER
        realname (another door's members: C{via the <door> door}).
        """
        member = self.hub.find(nick) if self.hub is not None else None
        if member is None:
            return "*", ""
        account = account_of(member) or "*"
        realname = getattr(member, "realname", "") or f"via the {member.door} door"
        return account, realname

    def _tags(self, *, when: float, mid: str, timed: bool, tagged: bool, client: str,
              account: str | None = None) -> str:  # fmt: skip
        """The tag data of a relayed message: server tags first, then the client's."""
        tags = [f"account={escape_value(account)}"] if account else []
        if timed:
            tags.append(f"time={server_time(when)}")
        if tagged:
            tags.append(f"msgid={escape_value(mid)}")
            if client:
                tags.append(client)
        return ";".join(tags)

    def message(self, said: ev.Said, *, timed: bool = False, tagged: bool = False,
                tag_account: bool = False) -> None:  # fmt: skip
        """
        A PRIVMSG (or NOTICE, or CTCP ACTION) from C{said.sender}, in one line of at
        most L{LINE_MAX} bytes with its prefix and CRLF (tags not counted, as IRCv3
        says): a longer text is truncated on a character boundary, never split.
        """
        out = self._out
        mask = self.mask(said.sender)
        target = said.room if said.room is not None else said.target or "*"
        command = "NOTICE" if said.kind == "notice" else "PRIVMSG"
        action = said.kind == "action"
        head = len(f":{mask} {command} {target} :".encode())
        budget = LINE_MAX - 2 - head - (len("\x01ACTION \x01") if action else 0)
        text = truncate_utf8(wire(said.text).encode("utf-8"), budget).decode("utf-8")
        if action:
            text = f"\x01ACTION {text}\x01"
        if command == "NOTICE":
            out.notice(mask, target, text)
        else:
            out.privmsg(mask, target, text)
        name = account_of(self.hub.find(said.sender)) if tag_account and self.hub else None
        if timed or tagged or name:
            client = self.client_tags(said) if tagged else ""
            tags = self._tags(
                when=said.when, mid=said.mid or str(said.seq), timed=timed, tagged=tagged,
                client=client, account=name,
            )  # fmt: skip
            self._lines[-1] = with_tags(self._lines[-1], tags)

    def tag_message(self, event: TagMessage, *, timed: bool, tag_account: bool = False) -> None:
        """C{@msgid=...;+tags :sender TAGMSG target} (only message-tags clients get it)."""
        self._out.sendCommand("TAGMSG", (event.target,), self.mask(event.sender))
        tags = self._tags(
            when=event.when, mid=event.mid, timed=timed, tagged=True, client=event.tags,
            account=account_of(self.hub.find(event.sender)) if tag_account and self.hub else None,
        )  # fmt: skip
        self._lines[-1] = with_tags(self._lines[-1], tags)
