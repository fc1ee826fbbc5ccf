"""
The IRC chat door: the RFC 2812 subset that irssi, weechat, ii and Twisted's IRCClient need.

L{IRCSession} is the door's logic with no socket: it takes received bytes and calls
C{send} with bytes to write and C{close} with a reason, like
L{netsuite.chat._line.LineSession}. It is a L{twisted.words.protocols.irc.IRC} so that
Twisted parses commands (C{parsemsg}, C{irc_COMMAND(prefix, params)} dispatch) and
formats replies (C{sendCommand}, C{privmsg}, C{topic}, C{who} ...), but it never gets a
transport: its C{sendLine} goes to C{send}, which the adapter wires to the door's
L{netsuite.stream._outbox.Outbox} (so the fast write path and the slow-reader cut-off apply).
L{IRCChat} is the Twisted adapter: the outbox (from L{ChatDoor}) and the PING keepalive.

What differs from a plain C{IRC} server, and why:

  - Input is split by L{LineSplitter}, not by C{IRC.dataReceived}: a line over
    C{max_line} gets C{417} and is dropped (the connection stays), and bytes that are not
    UTF-8 are decoded with replacement (clients may send latin-1) instead of raising.
  - Every line sent is at most 512 bytes (RFC 2812), CRLF included: long messages from
    other doors (up to 4000 characters) are split over several PRIVMSGs on UTF-8
    boundaries, and anything else that could overflow is cut on a character boundary.
  - A room message is rendered once for every IRC member (L{ChatEvent.encoded}): the
    rendering does not depend on who receives it.
  - An HTTP request sent to the IRC port (a browser, or a cross-protocol form POST) is
    closed at once, without a reply.
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.words.protocols import irc

from netsuite import __version__
from netsuite.chat._door import ChatDoor, ChatDoorFactory
from netsuite.chat._events import (
    ChatError,
    ChatEvent,
    Joined,
    Notice,
    Parted,
    Quit,
    Renamed,
    Replayed,
    Said,
    TopicChanged,
)
from netsuite.chat._hub import TOPIC_MAX, Hub, Member
from netsuite.chat._names import NICK_MAX, ROOM_MAX, fold, valid_nick
from netsuite.stream._lines import Line, LineSplitter, Overlong

__all__ = [
    "CAPABILITIES",
    "IRC_NUMERICS",
    "LINE_MAX",
    "IRCChat",
    "IRCChatFactory",
    "IRCRenderer",
    "IRCSession",
    "scrub",
    "split_utf8",
]

log = Logger()

#: The longest line sent, in bytes, CRLF included (RFC 2812 section 2.3).
LINE_MAX = 512

#: The IRC numeric each L{ChatError} code is reported with (flood is a NOTICE instead).
IRC_NUMERICS: dict[str, str] = {
    "no_such_nick": irc.ERR_NOSUCHNICK,  # 401
    "no_such_room": irc.ERR_NOSUCHCHANNEL,  # 403
    "cannot_send": irc.ERR_CANNOTSENDTOCHAN,  # 404
    "no_text": irc.ERR_NOTEXTTOSEND,  # 412
    "too_long": "417",  # ERR_INPUTTOOLONG (not in RFC 2812, nor in Twisted's table)
    "erroneous_nick": irc.ERR_ERRONEUSNICKNAME,  # 432
    "nick_in_use": irc.ERR_NICKNAMEINUSE,  # 433
    "not_on_room": irc.ERR_NOTONCHANNEL,  # 442
    "not_registered": irc.ERR_NOTREGISTERED,  # 451
    "already_registered": irc.ERR_ALREADYREGISTRED,  # 462
    "nick_locked": "447",  # ERR_NONICKCHANGE (common, not in RFC 2812)
}
#: Numerics whose first parameter names what the error is about (a nick or a room).
_WITH_SUBJECT = {"401", "403", "404", "432", "433", "442"}
ERR_INPUTTOOLONG = "417"
ERR_INVALIDCAPCMD = "410"

#: IRCv3 capabilities offered to C{CAP LS}. Only server-time: history replayed on join
#: then shows when it was said, not when it was replayed.
CAPABILITIES = frozenset({"server-time"})

#: Commands a client may send before it is registered (anything else gets 451).
_BEFORE_REGISTRATION = frozenset({"CAP", "PASS", "NICK", "USER", "PING", "PONG", "QUIT"})

#: The request line of HTTP/1.x (or the HTTP/2 preface): a browser or a cross-protocol
#: form POST pointed at the IRC port. Such a connection is closed without a reply.
_HTTP = re.compile(rb"[A-Z]{3,10} \S+ HTTP/\d")

#: C0 and C1 controls and DEL, except IRC's formatting codes (bold \x02, colour \x03,
#: reset \x0f, reverse \x16, italic \x1d, underline \x1f) and CTCP's \x01: terminal escape
#: sequences and bells from one client do not reach other people's screens.
_CONTROL = re.compile(r"[\x00\x04-\x0e\x10-\x15\x17-\x1c\x1e\x7f-\x9f]")
#: What could break or smuggle a protocol line in text from other doors.
_UNSAFE = re.compile(r"[\r\n\x00\x10]")

_DEFAULT_MOTD = "Rooms here are shared with the plain-line door of {server}. /join #lobby"


def scrub(text: str) -> str:
    """C{text} without control characters, IRC formatting and CTCP kept; tabs as spaces."""
    return _CONTROL.sub("", text.replace("\t", " "))


def _wire(text: str) -> str:
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


def _fit(line: str) -> bytes:
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


def _server_time(when: float) -> str:
    """The IRCv3 C{time} tag value: ISO 8601 UTC with milliseconds."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when))
    return f"{stamp}.{int(when * 1000) % 1000:03d}Z"


class _Capture(irc.IRC):
    """Twisted's IRC formatting helpers, writing lines into a list instead of a socket."""

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname
        self.lines: list[bytes] = []

    def sendLine(self, line: str) -> None:
        self.lines.append(_fit(line))

    def take(self) -> bytes:
        data = b"".join(self.lines)
        self.lines.clear()
        return data


class IRCRenderer:
    """
    Hub events as IRC lines, the same bytes for every IRC member who receives them.

    The rendering depends only on the event and the server name, never on the
    recipient, which is what lets L{ChatEvent.encoded} cache it: a message to a room of
    500 IRC members is formatted and encoded once. C{fmt} names that cache entry (it
    carries the server name, in case two IRC doors with different names share a hub);
    C{fmt_time} is the variant with IRCv3 C{time} tags, for clients that asked for them.
    """

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname
        self.fmt = f"irc:{hostname}"
        self.fmt_time = f"irc+time:{hostname}"
        self._out = _Capture(hostname)

    def mask(self, nick: str) -> str:
        """The prefix a person's lines carry: C{nick!nick@server}, the same for all doors."""
        return f"{nick}!{nick}@{self.hostname}"

    def __call__(self, event: ChatEvent) -> bytes:
        """The IRC lines of C{event} (not L{Notice}: that one names its recipient)."""
        return self.render(event, timed=False)

    def timed(self, event: ChatEvent) -> bytes:
        """Like calling the renderer, with C{@time=} on messages (server-time clients)."""
        return self.render(event, timed=True)

    def render(self, event: ChatEvent, *, timed: bool) -> bytes:
        out = self._out
        if isinstance(event, Said):
            self.message(event, timed=timed)
        elif isinstance(event, Replayed):
            self.message(event.said, timed=timed)
        elif isinstance(event, Joined):
            out.join(self.mask(event.nick), event.room)
        elif isinstance(event, Parted):
            out.part(self.mask(event.nick), event.room, _wire(event.reason) or None)
        elif isinstance(event, Quit):
            out.sendCommand("QUIT", (":" + _wire(event.reason),), self.mask(event.nick))
        elif isinstance(event, Renamed):
            out.sendCommand("NICK", (":" + event.new,), self.mask(event.old))
        elif isinstance(event, TopicChanged):
            out.topic(None, event.room, _wire(event.topic), author=self.mask(event.nick))
        else:  # pragma: no cover - Notice is rendered per recipient by the session
            raise TypeError(f"no IRC rendering for {event!r}")
        return out.take()

    def message(self, said: Said, *, timed: bool = False) -> None:
        """
        A PRIVMSG (or NOTICE, or CTCP ACTION) from C{said.sender}, in as many lines as
        its text needs to keep each line within L{LINE_MAX} bytes.
        """
        out = self._out
        mask = self.mask(said.sender)
        target = said.room if said.room is not None else said.target or "*"
        command = "NOTICE" if said.kind == "notice" else "PRIVMSG"
        action = said.kind == "action"
        head = len(f":{mask} {command} {target} :".encode())
        budget = LINE_MAX - 2 - head - (len("\x01ACTION \x01") if action else 0)
        tags = {"time": _server_time(said.when)} if timed else None
        for piece in split_utf8(_wire(said.text).encode("utf-8"), budget):
            text = piece.decode("utf-8")
            if action:
                text = f"\x01ACTION {text}\x01"
            if tags is not None:
                out.sendCommand(command, (target, ":" + text), mask, tags)
            elif command == "NOTICE":
                out.notice(mask, target, text)
            else:
                out.privmsg(mask, target, text)


class _NeedMoreParamsError(Exception):
    """A command came with too few parameters: answered with 461."""


class IRCSession(irc.IRC):
    """
    One person on the IRC door, and their member of the hub once registered.

    A L{twisted.words.protocols.irc.IRC} used for its parser, dispatch and formatting
    helpers only: it never has a transport. Feed it bytes with L{data_received}; it
    calls C{send(bytes)} with output and C{close(reason)} when the connection must end.

    @ivar nick: the registered nick (empty until registration succeeds).
    @ivar registered: NICK and USER (and PASS, if a password is set) were accepted.
    @ivar caps: the IRCv3 capabilities this client enabled.
    """

    door = "irc"

    def __init__(
        self,
        hub: Hub,
        send: Callable[[bytes], None],
        close: Callable[[str], None],
        *,
        server_name: str = "netsuite",
        password: str | None = None,
        motd: str | None = None,
        max_line: int = 4096,
        created: float = 0.0,
        renderer: IRCRenderer | None = None,
    ) -> None:
        self.hub = hub
        self.send = send
        self.close = close
        self.hostname = server_name
        self.password = password
        self.motd = _DEFAULT_MOTD.format(server=server_name) if motd is None else motd
        self.max_line = max_line
        self.created = created
        self.renderer = renderer if renderer is not None else IRCRenderer(server_name)
        self.splitter = LineSplitter(max_line)
        self.nick = ""
        self.username = ""
        self.realname = ""
        self.registered = False
        self.closed = False
        self.identity: str | None = None  # a verified client certificate's name (mutual TLS)
        self.caps: set[str] = set()
        self._wanted_nick = ""
        self._given_password: str | None = None
        self._cap_hold = False  # CAP LS/REQ seen: registration waits for CAP END
        self._replays: list[Replayed] | None = None  # history held back during our JOIN

    # --- output ---------------------------------------------------------------------------

    def sendLine(self, line: str) -> None:
        """Twisted's helpers end here: to C{send}, never to a transport."""
        self.send(_fit(line))

    def reply(self, numeric: str, *params: str) -> None:
        """C{:server NUMERIC <nick> params...}; the last parameter goes as trailing."""
        *middle, last = params
        self.sendCommand(numeric, (self.nick or "*", *middle, ":" + last), self.hostname)

    def server_notice(self, text: str) -> None:
        """A NOTICE from the server to this person, split to fit the line limit."""
        target = self.nick or "*"
        head = len(f":{self.hostname} NOTICE {target} :".encode())
        for piece in split_utf8(_wire(text).encode("utf-8"), LINE_MAX - 2 - head):
            self.notice(self.hostname, target, piece.decode("utf-8"))

    def ping(self) -> None:
        """The keepalive's question; any line in return proves the client alive."""
        if not self.closed:
            self.sendCommand("PING", (":" + self.hostname,))

    def end(self, reason: str) -> None:
        """Say why (C{ERROR}), leave the hub (others see the quit) and close."""
        if self.closed:
            return
        self.sendCommand("ERROR", (f":Closing link: {_wire(reason)}",))
        self.closed = True
        self.hub.quit(self, reason)
        self.close(reason)

    # --- the hub's side (Member) ----------------------------------------------------------

    def deliver(self, event: ChatEvent) -> None:
        """Render C{event} for this client (cached across IRC members where possible)."""
        if self.closed:
            return
        renderer = self.renderer
        if isinstance(event, Said):
            if event.sender == self.nick and event.target != self.nick:
                return  # our own line: IRC clients show what they send themselves
            self.send(event.encoded(renderer.fmt, renderer))
        elif isinstance(event, Replayed):
            if self._replays is not None:
                self._replays.append(event)  # after the JOIN's topic and names
                return
            if "server-time" in self.caps:
                self.send(event.encoded(renderer.fmt_time, renderer.timed))
            else:
                self.send(event.encoded(renderer.fmt, renderer))
        elif isinstance(event, Notice):
            self.server_notice(event.text)
        else:
            self.send(event.encoded(renderer.fmt, renderer))

    def disconnect(self, reason: str) -> None:
        """The hub cuts us off (flooding): C{ERROR :Closing link: reason}, then close."""
        self.end(reason)

    # --- input ----------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        """Split C{data} into lines (C{max_line} each, longer ones get 417) and run them."""
        for item in self.splitter.feed(data):
            if self.closed:
                return
            if isinstance(item, Overlong):
                self.reply(ERR_INPUTTOOLONG, "Input line was too long")
                continue
            assert isinstance(item, Line)
            self.line_received(item.data)

    dataReceived = data_received  # IRC's own would decode strictly and drop long lines

    def line_received(self, raw: bytes) -> None:
        """Decode, scrub, parse and dispatch one line; never raise."""
        if not self.registered and _HTTP.match(raw):
            self.closed = True  # not a member yet: nobody to tell
            self.close("HTTP request on the IRC port")
            return
        line = scrub(raw.decode("utf-8", "replace"))
        if line.startswith("@"):  # IRCv3 message tags: none are used from clients
            line = line.partition(" ")[2]
        line = line.lstrip(" ")
        if not line:
            return
        try:
            prefix, command, params = irc.parsemsg(line)
        except (irc.IRCBadMessage, ValueError, IndexError):
            return
        self.handleCommand(command.upper(), prefix, params)

    def handleCommand(self, command: str, prefix: str, params: list[str]) -> None:
        """
        Dispatch to C{irc_COMMAND}, like Twisted's, but the hub's refusals become
        numerics, and registration is enforced first.
        """
        if not self.registered and command not in _BEFORE_REGISTRATION:
            self.reply(irc.ERR_NOTREGISTERED, "You have not registered")
            return
        method = getattr(self, "irc_" + command, None)
        if method is None:
            self.reply(irc.ERR_UNKNOWNCOMMAND, command, "Unknown command")
            return
        try:
            method(prefix, params)
        except _NeedMoreParamsError:
            self.reply(irc.ERR_NEEDMOREPARAMS, command, "Not enough parameters")
        except ChatError as e:
            self.chat_error(e)
        except Exception:
            log.failure("IRC {command} from {nick} failed", command=command, nick=self.nick)

    def irc_unknown(self, prefix: str, command: str, params: list[str]) -> None:
        self.reply(irc.ERR_UNKNOWNCOMMAND, command, "Unknown command")

    def chat_error(self, error: ChatError, subject: str = "") -> None:
        """Tell the client why the hub refused: a numeric, or a NOTICE for flooding."""
        if self.closed:
            return
        numeric = IRC_NUMERICS.get(error.code)
        if numeric is None:  # flood, and anything new: say it in words
            self.server_notice(error.message)
        elif numeric in _WITH_SUBJECT:
            self.reply(numeric, subject or "*", error.message)
        else:
            self.reply(numeric, error.message)

    @staticmethod
    def _need(params: Sequence[str], count: int) -> None:
        if len(params) < count or not params[count - 1]:
            raise _NeedMoreParamsError()

    def _room_exists(self, name: str) -> bool:
        try:
            self.hub.room_info(name)
        except ChatError:
            return False
        return True

    def _not_on(self, error: ChatError, room: str) -> None:
        """442 for a room that exists, 403 for one that does not."""
        if error.code == "not_on_room" and not self._room_exists(room):
            error = ChatError("no_such_room", f"no room {room}")
        self.chat_error(error, room)

    # --- registration ---------------------------------------------------------------------

    def irc_CAP(self, prefix: str, params: list[str]) -> None:
        """IRCv3 capability negotiation: server-time only; registration waits for END."""
        self._need(params, 1)
        sub = params[0].upper()
        target = self.nick or "*"
        if sub == "LS":
            self._cap_hold = not self.registered
            self.sendCommand(
                "CAP", (target, "LS", ":" + " ".join(sorted(CAPABILITIES))), self.hostname
            )
        elif sub == "LIST":
            self.sendCommand(
                "CAP", (target, "LIST", ":" + " ".join(sorted(self.caps))), self.hostname
            )
        elif sub == "REQ":
            self._cap_hold = not self.registered
            wanted = params[1].split() if len(params) > 1 else []
            if wanted and all(w.lstrip("-") in CAPABILITIES for w in wanted):
                for w in wanted:
                    if w.startswith("-"):
                        self.caps.discard(w[1:])
                    else:
                        self.caps.add(w)
                answer = "ACK"
            else:
                answer = "NAK"
            self.sendCommand("CAP", (target, answer, ":" + " ".join(wanted)), self.hostname)
        elif sub == "END":
            self._cap_hold = False
            self._try_register()
        else:
            self.reply(ERR_INVALIDCAPCMD, params[0], "Invalid CAP command")

    def irc_PASS(self, prefix: str, params: list[str]) -> None:
        if self.registered:
            self.reply(irc.ERR_ALREADYREGISTRED, "You may not reregister")
            return
        self._need(params, 1)
        self._given_password = params[0]

    def irc_NICK(self, prefix: str, params: list[str]) -> None:
        if not params or not params[0]:
            self.reply(irc.ERR_NONICKNAMEGIVEN, "No nickname given")
            return
        nick = params[0]
        if self.registered:
            try:
                self.hub.rename(self, nick)  # the hub echoes NICK to us and our rooms
            except ChatError as e:
                self.chat_error(e, nick)
            return
        if not valid_nick(nick):
            self.reply(irc.ERR_ERRONEUSNICKNAME, nick, "Erroneous nickname")
            return
        if self.hub.find(nick) is not None:
            self.reply(irc.ERR_NICKNAMEINUSE, nick, "Nickname is already in use")
            return
        self._wanted_nick = nick
        self._try_register()

    def irc_USER(self, prefix: str, params: list[str]) -> None:
        if self.registered:
            self.reply(irc.ERR_ALREADYREGISTRED, "You may not reregister")
            return
        if len(params) < 4 or not params[0]:  # an empty real name is fine
            raise _NeedMoreParamsError()
        self.username = params[0][:NICK_MAX]
        self.realname = params[3][:100]
        self._try_register()

    def _try_register(self) -> None:
        """Once NICK, USER (and CAP END) are in: check PASS, join the hub, greet."""
        if self.registered or self._cap_hold or not self._wanted_nick or not self.username:
            return
        if self.password is not None and not hmac.compare_digest(
            (self._given_password or "").encode(), self.password.encode()
        ):
            self.reply(irc.ERR_PASSWDMISMATCH, "Password incorrect")
            self.end("Bad password")
            return
        nick, self._wanted_nick = self._wanted_nick, ""
        nick = self.identity or nick  # a certificate holder is its certificate's name
        try:
            self.hub.connect(self, nick)
        except ChatError as e:  # taken since NICK, or reserved: the client picks another
            self.chat_error(e, nick)
            return
        self.registered = True
        self.welcome()

    def welcome(self) -> None:
        """001-005 and the MOTD: what clients wait for before they consider themselves in."""
        host = self.hostname
        version = f"netsuite-{__version__}"
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.created))
        self.reply(
            irc.RPL_WELCOME, f"Welcome to the {host} IRC network {self.renderer.mask(self.nick)}"
        )
        self.reply(irc.RPL_YOURHOST, f"Your host is {host}, running version {version}")
        self.reply(irc.RPL_CREATED, f"This server was created {when}")
        self.sendCommand(irc.RPL_MYINFO, (self.nick, host, version, "iw", "nt"), host)
        self.reply(
            irc.RPL_ISUPPORT, "CHANTYPES=#", f"NICKLEN={NICK_MAX}", "CASEMAPPING=rfc1459",
            f"NETWORK={host}", f"CHANNELLEN={ROOM_MAX}", f"TOPICLEN={TOPIC_MAX}",
            "CHANMODES=,,,nt", "are supported by this server",
        )  # fmt: skip
        self.send_motd()

    def send_motd(self) -> None:
        if not self.motd:
            self.reply(irc.ERR_NOMOTD, "MOTD File is missing")
            return
        self.reply(irc.RPL_MOTDSTART, f"- {self.hostname} Message of the day -")
        for line in self.motd.splitlines():
            self.reply(irc.RPL_MOTD, f"- {line}")
        self.reply(irc.RPL_ENDOFMOTD, "End of /MOTD command.")

    # --- connection -----------------------------------------------------------------------

    def irc_PING(self, prefix: str, params: list[str]) -> None:
        if not params:
            self.reply(irc.ERR_NOORIGIN, "No origin specified")
            return
        self.sendCommand("PONG", (self.hostname, ":" + params[-1]), self.hostname)

    def irc_PONG(self, prefix: str, params: list[str]) -> None:
        """Nothing to do: the adapter counts any input as a sign of life."""

    def irc_QUIT(self, prefix: str, params: list[str]) -> None:
        self.end(params[0] if params and params[0] else "quit")

    def irc_MOTD(self, prefix: str, params: list[str]) -> None:
        self.send_motd()

    def irc_VERSION(self, prefix: str, params: list[str]) -> None:
        self.reply(irc.RPL_VERSION, f"netsuite-{__version__}.", self.hostname, "")

    # --- rooms ----------------------------------------------------------------------------

    def irc_JOIN(self, prefix: str, params: list[str]) -> None:
        """JOIN #a,#b (keys ignored); C{JOIN 0} leaves every room."""
        self._need(params, 1)
        if params[0] == "0":
            for room in self.hub.rooms_of(self):
                self.hub.part(self, room)
            return
        for name in params[0].split(","):
            if self.closed:
                return
            if not name:
                continue
            try:
                self._join(name)
            except ChatError as e:
                self.chat_error(e, name)

    def _join(self, name: str) -> None:
        self._replays = []
        try:
            joined = self.hub.join(self, name)  # JOIN echo, then the history (held)
        finally:
            replays, self._replays = self._replays, None
        if not joined:
            return  # already there: IRC servers say nothing
        room = self.hub.room_info(name).name
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
        self.topic(self.nick, room, _wire(topic) if topic else None)  # 332 or 331

    def _send_names(self, room: str) -> None:
        """353 lines (as many as the nicks need) and 366."""
        names = [m.nick for m in self.hub.who(room)]
        self._listing(irc.RPL_NAMREPLY, ("=", room), names)
        self.reply(irc.RPL_ENDOFNAMES, room, "End of /NAMES list")

    def _listing(self, numeric: str, middle: Sequence[str], words: Iterable[str]) -> None:
        """C{numeric} replies whose trailing lists C{words}, each line within the limit."""
        head = f":{self.hostname} {numeric} {self.nick} {' '.join(middle)} :"
        budget = LINE_MAX - 2 - len(head.encode())
        line: list[str] = []
        used = 0
        for word in words:
            size = len(word.encode()) + (1 if line else 0)
            if line and used + size > budget:
                self.reply(numeric, *middle, " ".join(line))
                line, used, size = [], 0, size - 1
            line.append(word)
            used += size
        if line:
            self.reply(numeric, *middle, " ".join(line))

    def irc_NAMES(self, prefix: str, params: list[str]) -> None:
        if not params or not params[0]:
            self.reply(irc.RPL_ENDOFNAMES, "*", "End of /NAMES list")
            return
        for name in params[0].split(","):
            if self._room_exists(name):
                self._send_names(self.hub.room_info(name).name)
            else:
                self.reply(irc.RPL_ENDOFNAMES, name, "End of /NAMES list")

    def irc_LIST(self, prefix: str, params: list[str]) -> None:
        wanted = {fold(n) for n in params[0].split(",")} if params and params[0] else None
        self.reply(irc.RPL_LISTSTART, "Channel", "Users  Name")
        for info in self.hub.room_names():
            if wanted is None or fold(info.name) in wanted:
                self.reply(irc.RPL_LIST, info.name, str(info.members), _wire(info.topic))
        self.reply(irc.RPL_LISTEND, "End of /LIST")

    # --- messages -------------------------------------------------------------------------

    def irc_PRIVMSG(self, prefix: str, params: list[str]) -> None:
        self._message("PRIVMSG", params)

    def irc_NOTICE(self, prefix: str, params: list[str]) -> None:
        self._message("NOTICE", params)

    def _message(self, command: str, params: list[str]) -> None:
        """
        PRIVMSG/NOTICE to rooms and nicks. CTCP ACTION becomes an action for every door;
        other CTCP (VERSION, PING and their replies) only travels between IRC clients,
        since no other door would understand or answer it. NOTICE never gets error
        replies (RFC 2812 3.3.2), so that bots cannot loop on each other.
        """
        notice = command == "NOTICE"
        if not params or not params[0]:
            if not notice:
                self.reply(irc.ERR_NORECIPIENT, f"No recipient given ({command})")
            return
        if len(params) < 2 or not params[1]:
            if not notice:
                self.reply(irc.ERR_NOTEXTTOSEND, "No text to send")
            return
        text = params[1]
        kind = "notice" if notice else "say"
        ctcp = False
        if text.startswith("\x01"):
            verb, _, rest = text.strip("\x01").partition(" ")
            if verb.upper() == "ACTION" and not notice:
                kind, text = "action", rest
            else:
                ctcp = True
        for target in params[0].split(","):
            if self.closed:
                return
            try:
                self._send_to(target, text, kind, ctcp=ctcp)
            except ChatError as e:
                if not notice or e.code == "flood":
                    self.chat_error(e, target)

    def _send_to(self, target: str, text: str, kind: str, *, ctcp: bool) -> None:
        hub = self.hub
        if target.startswith("#"):
            if not ctcp:
                hub.say(self, target, text, kind)
            return
        member: Member | None = hub.find(target)
        if member is None:
            raise ChatError("no_such_nick", "No such nick/channel")
        if ctcp and member.door != self.door:
            return
        hub.private(self, target, text, kind)
        if kind != "notice" and not ctcp:
            away = hub.away(member)
            if away:
                self.reply(irc.RPL_AWAY, member.nick, away)

    def irc_AWAY(self, prefix: str, params: list[str]) -> None:
        message = params[0] if params else ""
        self.hub.set_away(self, message[:TOPIC_MAX])
        if message:
            self.reply(irc.RPL_NOWAWAY, "You have been marked as being away")
        else:
            self.reply(irc.RPL_UNAWAY, "You are no longer marked as being away")

    # --- who is who -----------------------------------------------------------------------

    def _realname(self, member: Member) -> str:
        return getattr(member, "realname", "") or f"via the {member.door} door"

    def irc_WHO(self, prefix: str, params: list[str]) -> None:
        """WHO #room or WHO nick (no wildcard masks): 352 per person, then 315."""
        mask = params[0] if params and params[0] else "*"
        members: list[Member] = []
        channel = "*"
        if mask.startswith("#"):
            if self._room_exists(mask):
                channel = self.hub.room_info(mask).name
                members = self.hub.who(mask)
        else:
            found = self.hub.find(mask)
            members = [found] if found is not None else []
        host = self.hostname
        for m in members:
            flag = "G" if self.hub.away(m) else "H"
            self.reply(
                irc.RPL_WHOREPLY,
                channel,
                m.nick,
                host,
                host,
                m.nick,
                flag,
                f"0 {_wire(self._realname(m))}",
            )
        self.reply(irc.RPL_ENDOFWHO, mask, "End of /WHO list")

    def irc_WHOIS(self, prefix: str, params: list[str]) -> None:
        """WHOIS [server] nick[,nick]: 311, 319, 312, 301 per nick, or 401; then 318."""
        if not params or not params[-1]:
            self.reply(irc.ERR_NONICKNAMEGIVEN, "No nickname given")
            return
        host = self.hostname
        for nick in params[-1].split(","):
            member = self.hub.find(nick)
            if member is None:
                self.reply(irc.ERR_NOSUCHNICK, nick, "No such nick/channel")
                self.reply(irc.RPL_ENDOFWHOIS, nick, "End of /WHOIS list")
                continue
            who = member.nick
            self.reply(irc.RPL_WHOISUSER, who, who, host, "*", _wire(self._realname(member)))
            self._listing(irc.RPL_WHOISCHANNELS, (who,), self.hub.rooms_of(member))
            self.reply(irc.RPL_WHOISSERVER, who, host, f"netsuite, {member.door} door")
            identity = getattr(member, "identity", None)
            if identity:
                self.reply("330", who, identity, "is logged in as (verified TLS certificate)")
            away = self.hub.away(member)
            if away:
                self.reply(irc.RPL_AWAY, who, away)
            self.reply(irc.RPL_ENDOFWHOIS, who, "End of /WHOIS list")

    def irc_ISON(self, prefix: str, params: list[str]) -> None:
        """ISON nick...: which are here (irssi's and weechat's notify lists poll it)."""
        self._need(params, 1)
        found = [m.nick for n in " ".join(params).split() if (m := self.hub.find(n))]
        self.reply(irc.RPL_ISON, " ".join(found))

    def irc_USERHOST(self, prefix: str, params: list[str]) -> None:
        self._need(params, 1)
        found = []
        for nick in params[:5]:
            m = self.hub.find(nick)
            if m is not None:
                flag = "-" if self.hub.away(m) else "+"
                found.append(f"{m.nick}={flag}{m.nick}@{self.hostname}")
        self.reply(irc.RPL_USERHOST, " ".join(found))

    def irc_MODE(self, prefix: str, params: list[str]) -> None:
        """
        Modes are not kept: rooms are always C{+nt}, people C{+i}. Queries are answered
        (clients ask on join and connect); changes to known modes are accepted and do
        nothing, unknown ones get 472/501.
        """
        self._need(params, 1)
        target = params[0]
        changes = params[1] if len(params) > 1 else ""
        if target.startswith("#"):
            if not self._room_exists(target):
                self.reply(irc.ERR_NOSUCHCHANNEL, target, "No such channel")
                return
            room = self.hub.room_info(target).name
            if not changes:
                self.sendCommand(irc.RPL_CHANNELMODEIS, (self.nick, room, "+nt"), self.hostname)
            elif changes.lstrip("+") == "b" and len(params) == 2:
                self.reply(irc.RPL_ENDOFBANLIST, room, "End of channel ban list")
            else:
                for char in changes:
                    if char not in "+-nt":
                        self.reply(irc.ERR_UNKNOWNMODE, char, "is unknown mode char to me")
                        return
            return
        if fold(target) != fold(self.nick):
            if self.hub.find(target) is None:
                self.reply(irc.ERR_NOSUCHNICK, target, "No such nick/channel")
            else:
                self.reply(irc.ERR_USERSDONTMATCH, "Cannot change mode for other users")
            return
        if not changes:
            self.sendCommand(irc.RPL_UMODEIS, (self.nick, "+i"), self.hostname)
        elif any(char not in "+-iw" for char in changes):
            self.reply(irc.ERR_UMODEUNKNOWNFLAG, "Unknown MODE flag")


class IRCChat(ChatDoor):
    """
    The IRC door's connection: bytes in and out of an L{IRCSession}, and the keepalive.

    Keepalive: after C{ping_interval} seconds without input the server sends PING; if
    nothing comes back within C{ping_timeout}, the peer is gone (a laptop closed, a NAT
    forgot us) and is dropped with "Ping timeout", so that its nick is freed and the
    rooms see it leave. The timer is not reset on every read (a heap operation per
    packet); it wakes up, looks at when input last came, and sleeps again.
    """

    factory: IRCChatFactory
    _timer: Any = None
    _pinged = False
    _last_input = 0.0

    def make_session(self) -> IRCSession:
        factory = self.factory
        return IRCSession(
            factory.hub, self.outbox.send, self.close, server_name=factory.server_name,
            password=factory.password, motd=factory.motd, max_line=factory.max_line,
            created=factory.created, renderer=factory.renderer,
        )  # fmt: skip

    def begin(self, identity: str | None) -> None:
        """Nothing to send first: IRC clients speak first (CAP, NICK, USER)."""

    def connectionMade(self) -> None:
        super().connectionMade()
        factory = self.factory
        self._last_input = factory.clock.seconds()
        if factory.ping_interval > 0:
            self._timer = factory.clock.callLater(factory.ping_interval, self._tick)

    def data_received(self, data: bytes) -> None:
        self._last_input = self.factory.clock.seconds()
        self._pinged = False
        super().data_received(data)

    def _tick(self) -> None:
        self._timer = None
        session = self.session
        if session.closed:
            return
        factory = self.factory
        clock = factory.clock
        if self._pinged:
            factory.counters["closed.ping_timeout"] += 1
            session.end("Ping timeout")
            self.transport.abortConnection()  # it is not reading: do not wait to flush
            return
        wait = factory.ping_interval - (clock.seconds() - self._last_input)
        if wait > 0:
            self._timer = clock.callLater(wait, self._tick)
            return
        self._pinged = True
        session.ping()
        self._timer = clock.callLater(factory.ping_timeout, self._tick)

    def connectionLost(self, reason: Failure) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        super().connectionLost(reason)


class IRCChatFactory(ChatDoorFactory):
    """
    @ivar server_name: the server's name in prefixes and greetings, and the NETWORK.
    @ivar password: the PASS every client must give before registering (L{None}: none).
    @ivar ping_interval: seconds without input before the server sends PING (0: never).
    @ivar ping_timeout: seconds to answer that PING before being dropped.
    @ivar motd: the message of the day (L{None}: a default one; empty: 422, no MOTD).
    """

    protocol = IRCChat

    def __init__(
        self,
        name: str,
        hub: Hub,
        *,
        server_name: str = "netsuite",
        password: str | None = None,
        ping_interval: float = 90.0,
        ping_timeout: float = 60.0,
        motd: str | None = None,
        idle_timeout: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, hub, idle_timeout=idle_timeout, **kwargs)
        self.server_name = server_name
        self.password = password
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.motd = motd
        self.renderer = IRCRenderer(server_name)
        self.created = self.clock.seconds()
