"""
The IRC door's session: the RFC 2812 subset that irssi, weechat, ii and Twisted's
IRCClient need, with no socket and no Twisted protocol.

L{IRCSession} takes received bytes, or commands already parsed (L{IRCSession.handleCommand}
with C{command, prefix, params}), and calls C{send} with bytes to write and C{close} with a
reason, like L{netsuite.chat._line.LineSession}; the hub calls its C{deliver}. Lines are
parsed and formatted by L{netsuite.chat._irc_render} (Twisted's C{parsemsg} and formatting
helpers, kept there); the Twisted adapter (outbox, PING timer, abort) is
L{netsuite.chat._irc_door}. The only Twisted import is C{twisted.logger}, the log every
module writes to (a bug in a command is logged, not fatal).

The module is above 400 lines because it is one state machine: one C{irc_COMMAND} method
per command of the subset, which split over modules would scatter its dispatch. What is a
protocol of its own lives beside it, mixed in: capability negotiation
(L{netsuite.chat._irc_caps}), SASL (L{netsuite.chat._irc_sasl}), the server's own queries
(L{netsuite.chat._irc_info}) and its operators (L{netsuite.chat._irc_oper});
message tags and labeled responses are L{netsuite.chat._irc_tags}.

What differs from a plain C{IRC} server, and why:

  - Input is split by L{LineSplitter}, not by C{IRC.dataReceived}: a line over
    C{max_line} gets C{417} and is dropped (the connection stays), and bytes that are not
    UTF-8 are decoded with replacement (clients may send latin-1) instead of raising.
  - Control characters are scrubbed from input, IRC formatting and CTCP kept.
  - Input over the hub's flood rate waits its turn (fake lag, L{InputPacer}) instead of
    being dropped; only an overflowing queue closes the link ("Excess Flood").
  - Error numerics (4xx, 5xx) to one client are budgeted (L{ErrorBudget}): garbage input
    gets a few, then silence, then C{ERROR :Closing link: too many errors}.
  - An HTTP request sent to the IRC port (a browser, or a cross-protocol form POST) is
    closed at once, without a reply.
"""

from __future__ import annotations

import hmac
import itertools
import re
import time
from collections.abc import Callable, Sequence

from twisted.logger import Logger

from netsuite import __version__
from netsuite.chat import _irc_numerics as num
from netsuite.chat._events import (
    ChatError,
    ChatEvent,
    Invited,
    Joined,
    ModeChanged,
    Notice,
    Replayed,
    Said,
)
from netsuite.chat._fanout import SaidBatch
from netsuite.chat._flood import ErrorBudget, InputPacer, PacedInput, Verdict
from netsuite.chat._hub import TOPIC_MAX, Hub, Member
from netsuite.chat._irc_caps import CAPABILITIES, CapNegotiation, render_flags
from netsuite.chat._irc_history import CHATHISTORY_CAP, MSGREFTYPES, ChatHistory
from netsuite.chat._irc_info import ServerQueries, note_unregistered
from netsuite.chat._irc_modes import USER_MODES, ChannelCommands
from netsuite.chat._irc_monitor import MonitorCommand
from netsuite.chat._irc_oper import ServerOperators
from netsuite.chat._irc_render import (
    IRC_NUMERICS,
    WITH_SUBJECT,
    IRCRenderer,
    IRCWriter,
    parse,
    wire,
)
from netsuite.chat._irc_rooms import RoomCommands
from netsuite.chat._irc_sasl import SaslLogin
from netsuite.chat._irc_tags import (
    CLIENT_TAGS_MAX,
    NO_TAGS,
    ClientTags,
    TagMessage,
    labeled,
    read_tags,
    split_tags,
)
from netsuite.chat._irc_users import REALNAME_MAX, UserQueries
from netsuite.chat._modes import FLAGS, KEY_MAX, LIST_MODES, ROLES
from netsuite.chat._names import NICK_MAX, ROOM_MAX, fold, valid_nick
from netsuite.chat._text import scrub
from netsuite.stream._lines import Line, LineSplitter, Overlong

__all__ = ["CAPABILITIES", "IRCSession", "scrub_irc"]

log = Logger()

#: Channel modes by type (ISUPPORT CHANMODES: lists, always a parameter, a parameter
#: when set, flags), the hub's (L{netsuite.chat._modes}), the same on every door.
CHANMODES = f"{LIST_MODES},k,l,{FLAGS}"
#: Every channel mode letter, and those with a parameter (RPL_MYINFO, 004).
CHANNEL_MODES = "".join(sorted(LIST_MODES + "kl" + FLAGS + ROLES))
PARAMETER_MODES = "".join(sorted(LIST_MODES + "kl" + ROLES))

#: Membership prefixes (ISUPPORT C{PREFIX}): operators C{@}, voiced C{+}.
PREFIX = "(ov)@+"

#: Commands that take several targets, none with a limit (ISUPPORT TARGMAX).
TARGMAX = "JOIN:,KICK:,LIST:,NAMES:,NOTICE:,PART:,PRIVMSG:,TAGMSG:,WHOIS:,WHOWAS:"

#: Commands a client may send before it is registered (anything else gets 451).
_BEFORE_REGISTRATION = frozenset(
    {"CAP", "AUTHENTICATE", "PASS", "NICK", "USER", "PING", "PONG", "QUIT"}
)

#: The request line of HTTP/1.x (or the HTTP/2 preface): a browser or a cross-protocol
#: form POST pointed at the IRC port. Such a connection is closed without a reply.
_HTTP = re.compile(rb"[A-Z]{3,10} \S+ HTTP/\d")

_DEFAULT_MOTD = "Rooms here are shared with the plain-line door of {server}. /join #lobby"


def scrub_irc(text: str) -> str:
    """C{text} as the IRC door scrubs its input: IRC formatting and CTCP kept."""
    return scrub(text, keep_formatting=True)


class _NeedMoreParamsError(Exception):
    """A command came with too few parameters: answered with 461."""


class IRCSession(
    CapNegotiation,
    SaslLogin,
    ServerQueries,
    UserQueries,
    ServerOperators,
    ChannelCommands,
    RoomCommands,
    ChatHistory,
    MonitorCommand,
    PacedInput,
):
    """
    One person on the IRC door, and their member of the hub once registered.

    Feed it bytes with L{data_received} (or parsed commands with L{handleCommand}); it
    calls C{send(bytes)} with output and C{close(reason)} when the connection must end.
    Its lines are formatted by C{out}, an L{IRCWriter} over C{send}.

    @ivar nick: the registered nick (empty until registration succeeds).
    @ivar registered: NICK and USER (and PASS, if a password is set) were accepted.
    @ivar caps: the IRCv3 capabilities this client enabled.
    """

    door = "irc"
    #: The hub does not drop this member's messages for flooding: C{pacer} paces them.
    paced = True

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
        self.renderer = renderer if renderer is not None else IRCRenderer(server_name, hub)
        self.splitter = LineSplitter(max_line)
        self.out = IRCWriter(server_name, self.emit)
        self.nick = ""
        self.username = ""
        self.realname = ""
        self.registered = False
        self.closed = False
        self.identity: str | None = None  # a verified client certificate's name (mutual TLS)
        self.caps: set[str] = set()
        self.cap_version = 0
        #: The client-only tags of the message being handed to the hub (only during
        #: that call): recipients' renderers read them (L{IRCRenderer.client_tags}).
        self.sending_tags = ""
        self.tags: ClientTags = NO_TAGS  # the tags of the line being handled
        self.command = ""  # the command being handled (standard replies name it)
        self._capture: list[bytes] | None = None  # a labeled command's output
        self._sink: Callable[[bytes], None] = send  # send, or the capture's append
        self._batches = itertools.count(1)
        self._message_fmt, self._message_render = self.renderer.variant("")
        self._join_fmt, self._join_render = self.renderer.variant("")
        self._wanted_nick = ""
        self._given_password: str | None = None
        self._cap_hold = False  # CAP LS/REQ seen: registration waits for CAP END
        self._replays: list[Replayed] | None = None  # history held back during our JOIN
        self._held_modes: list[ChatEvent] | None = None  # our MODE echo, during our MODE
        self.umodes: set[str] = {"i"}
        self.pacer = InputPacer(hub.flood_rate, hub.flood_burst, hub.flood_queue, hub.clock)
        self.errors = ErrorBudget(hub.clock)
        self.signon = 0.0  # when registration succeeded (WHOIS 317)
        self.last_active = 0.0  # when this client last sent a message (WHOIS 317's idle)
        note_unregistered(hub, self)  # LUSERS 253 counts it until it registers

    # --- output ---------------------------------------------------------------------------

    def emit(self, data: bytes) -> None:
        """Every byte for this client goes here: held while a labeled command runs."""
        self._sink(data)

    def _labeled(self, label: str, run: Callable[[], None]) -> None:
        """
        C{run()} with its output held, then sent as one labeled response (an ACK, one
        labeled line, or a labeled-response batch), as labeled-response says.
        """
        held: list[bytes] = []
        self._capture = held
        self._sink = held.append
        try:
            run()
        finally:
            if self._capture is held:  # else end() has sent it already
                self._capture, self._sink = None, self.send
                batch = f"{next(self._batches):x}"
                self.send(labeled(label, b"".join(held), self.hostname, batch))

    def caps_changed(self) -> None:
        """Pick the renderings this client's capabilities ask for (one per tag set)."""
        message, join = render_flags(self.caps)
        self._message_fmt, self._message_render = self.renderer.variant(message)
        self._join_fmt, self._join_render = self.renderer.variant(join)

    def reply(self, numeric: str, *params: str) -> None:
        """
        C{:server NUMERIC <nick> params...}; the last parameter goes as trailing. An
        error numeric (4xx, 5xx) is sent within the client's L{ErrorBudget}.
        """
        if numeric[:1] in ("4", "5"):
            if self.closed:
                return
            verdict = self.errors.error()
            if verdict is Verdict.SILENT:
                self.hub.counters["errors.silenced"] += 1
                return
            if verdict is Verdict.DISCONNECT:
                self.hub.counters["disconnected.errors"] += 1
                self.end(f"too many errors ({self.errors.limit} in {self.errors.window:g}s)")
                return
        self.out.reply(self.nick, numeric, *params)

    def server_notice(self, text: str) -> None:
        """A NOTICE from the server to this person, split to fit the line limit."""
        self.out.server_notice(self.nick, text)

    def ping(self) -> None:
        """The keepalive's question; any line in return proves the client alive."""
        if not self.closed:
            self.out.sendCommand("PING", (":" + self.hostname,))

    def end(self, reason: str) -> None:
        """Say why (C{ERROR}), leave the hub (others see the quit) and close."""
        if self.closed:
            return
        self.out.sendCommand("ERROR", (f":Closing link: {wire(reason)}",))
        self.closed = True
        self.hub.quit(self, reason)
        if self._capture is not None:  # a labeled QUIT: its ERROR goes before the close
            held, self._capture, self._sink = self._capture, None, self.send
            self.send(labeled(self.tags.label, b"".join(held), self.hostname, "q"))
        self.close(reason)

    # --- the hub's side (Member) ----------------------------------------------------------

    def deliver(self, event: ChatEvent) -> None:
        """
        Render C{event} for this client: once per tag set across IRC members (the
        encoding is cached on the event under the variant's name).
        """
        if self.closed:
            return
        if isinstance(event, Said):
            if event.sender == self.nick:
                # Our own message, delivered while we send it: its client-only tags
                # are kept on it now, for whoever renders it later (a replay).
                self.renderer.client_tags(event)
                if "echo-message" not in self.caps:
                    if event.target != self.nick:
                        return  # our own line: the client shows what it sends itself
                elif event.target == self.nick:
                    self._sink(event.encoded(self._message_fmt, self._message_render))
            self._sink(event.encoded(self._message_fmt, self._message_render))
        elif isinstance(event, Replayed):
            if CHATHISTORY_CAP in self.caps:  # it asks with CHATHISTORY (the spec, Ergo)
                return
            if self._replays is not None:
                self._replays.append(event)  # after the JOIN's topic and names
                return
            # The same bytes as the message had live, cached on the message itself.
            self._sink(event.said.encoded(self._message_fmt, self._message_render))
        elif isinstance(event, TagMessage):
            if "message-tags" in self.caps:  # never to a client without message-tags
                self._sink(event.encoded(self._message_fmt, self._message_render))
        elif isinstance(event, Joined):
            self._sink(event.encoded(self._join_fmt, self._join_render))
            if "away-notify" in self.caps:
                self.joined_news(event)
        elif isinstance(event, Notice):
            self.server_notice(event.text)
        else:
            if isinstance(event, Invited) and event.target != self.nick:
                if "invite-notify" not in self.caps:  # an operator's notice: on request
                    return
            elif self._held_modes is not None and isinstance(event, ModeChanged):
                self._held_modes.append(event)  # after this MODE's own replies
                return
            renderer = self.renderer
            self._sink(event.encoded(renderer.fmt, renderer))

    def deliver_many(self, batch: SaidBatch) -> None:
        """
        Messages to one of our rooms, in a row (L{netsuite.chat._fanout}): the same bytes
        L{deliver} would send for each, joined once per tag set, in one write. One of
        ours among them (its echo and client-only tags are this member's own): each.
        """
        if self.closed:
            return
        nick = self.nick
        if any(said.sender == nick for said in batch.events):
            for said in batch.events:
                self.deliver(said)
            return
        self._sink(batch.encoded(self._message_fmt, self._message_render))

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
                self.reply(num.ERR_INPUTTOOLONG, "Input line was too long")
                continue
            assert isinstance(item, Line)
            self.paced_line(item.data)

    link = "link"

    def slowed(self, text: str) -> None:
        if "standard-replies" in self.caps:
            self.out.sendLine(f":{self.hostname} WARN * RATE_LIMITED :{wire(text)}")
        else:
            self.server_notice(text)

    def flood_close(self, queued: int) -> str:
        return f"Excess Flood ({queued} lines queued)"

    def line_received(self, raw: bytes) -> None:
        """Decode, scrub, parse and dispatch one line; never raise."""
        if self.hold_line(raw):  # a password is being checked: the line waits its turn
            return
        if not self.registered and _HTTP.match(raw):
            self.closed = True  # not a member yet: nobody to tell
            self.close("HTTP request on the IRC port")
            return
        line = scrub_irc(raw.decode("utf-8", "replace"))
        data, line = split_tags(line)
        if len(data.encode()) > CLIENT_TAGS_MAX:  # message-tags: refused, never cut
            self.reply(num.ERR_INPUTTOOLONG, "Input line was too long")
            return
        line = line.lstrip(" ")
        if not line:
            return
        parsed = parse(line)
        if parsed is None:
            return
        prefix, command, params = parsed
        self.tags = read_tags(data) if data else NO_TAGS
        try:
            label = self.tags.label
            if label and {"labeled-response", "batch"} <= self.caps:
                self._labeled(label, lambda: self.handleCommand(command.upper(), prefix, params))
            else:
                self.handleCommand(command.upper(), prefix, params)
        finally:
            self.tags = NO_TAGS

    def handleCommand(self, command: str, prefix: str, params: list[str]) -> None:
        """
        Dispatch a parsed command to C{irc_COMMAND}, like Twisted's C{IRC}, but the hub's
        refusals become numerics, and registration is enforced first.
        """
        if not self.registered and command not in _BEFORE_REGISTRATION:
            self.reply(num.ERR_NOTREGISTERED, "You have not registered")
            return
        method = getattr(self, "irc_" + command, None)
        if method is None:
            self.reply(num.ERR_UNKNOWNCOMMAND, command, "Unknown command")
            return
        self.command = command
        try:
            method(prefix, params)
        except _NeedMoreParamsError:
            self.reply(num.ERR_NEEDMOREPARAMS, command, "Not enough parameters")
        except ChatError as e:
            self.chat_error(e)
        except Exception:
            log.failure("IRC {command} from {nick} failed", command=command, nick=self.nick)

    def irc_unknown(self, prefix: str, command: str, params: list[str]) -> None:
        self.reply(num.ERR_UNKNOWNCOMMAND, command, "Unknown command")

    def chat_error(self, error: ChatError, subject: str = "") -> None:
        """Tell the client why the hub refused: a numeric, or a NOTICE for flooding."""
        if self.closed:
            return
        numeric = IRC_NUMERICS.get(error.code)
        if numeric is None and "standard-replies" in self.caps:  # IRCv3 standard replies
            code = "RATE_LIMITED" if error.code == "flood" else error.code.upper()
            self.out.sendLine(
                f":{self.hostname} FAIL {self.command or '*'} {code} :{wire(error.message)}"
            )
        elif numeric is None:  # flood, and anything new: say it in words
            self.server_notice(error.message)
        elif numeric in WITH_SUBJECT:
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

    def irc_PASS(self, prefix: str, params: list[str]) -> None:
        if self.registered:
            self.reply(num.ERR_ALREADYREGISTRED, "You may not reregister")
            return
        self._need(params, 1)
        self._given_password = params[0]

    def irc_NICK(self, prefix: str, params: list[str]) -> None:
        if not params or not params[0]:
            self.reply(num.ERR_NONICKNAMEGIVEN, "No nickname given")
            return
        nick = params[0]
        if self.registered:
            try:
                self.hub.rename(self, nick)  # the hub echoes NICK to us and our rooms
            except ChatError as e:
                self.chat_error(e, nick)
            return
        if not valid_nick(nick):
            self.reply(num.ERR_ERRONEUSNICKNAME, nick, "Erroneous nickname")
            return
        if self.hub.find(nick) is not None:
            self.reply(num.ERR_NICKNAMEINUSE, nick, "Nickname is already in use")
            return
        self._wanted_nick = nick
        self._try_register()

    def irc_USER(self, prefix: str, params: list[str]) -> None:
        if self.registered:
            self.reply(num.ERR_ALREADYREGISTRED, "You may not reregister")
            return
        if len(params) < 4 or not params[0] or not params[3]:
            raise _NeedMoreParamsError()  # an empty realname too (Modern IRC, USER)
        self.username = params[0][:NICK_MAX]
        self.realname = params[3].encode()[:REALNAME_MAX].decode("utf-8", "ignore")
        self._try_register()

    def _try_register(self) -> None:
        """Once NICK, USER (and CAP END) are in: check PASS, join the hub, greet."""
        if self.registered or self._cap_hold or not self._wanted_nick or not self.username:
            return
        if self._checking:  # a SASL password being checked: registration waits for it
            return
        self.sasl_abort()  # an exchange left half-way: 906, no account (sasl-3.1)
        if self.password is not None and not hmac.compare_digest(
            (self._given_password or "").encode(), self.password.encode()
        ):
            self.reply(num.ERR_PASSWDMISMATCH, "Password incorrect")
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
        self.signon = self.last_active = self.hub.clock()
        self.welcome()

    def welcome(self) -> None:
        """
        001-005, the LUSERS replies and the MOTD, in the order the Modern document
        gives: what clients wait for before they consider themselves in.
        """
        host = self.hostname
        version = f"netsuite-{__version__}"
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.created))
        self.reply(
            num.RPL_WELCOME, f"Welcome to the {host} IRC network {self.renderer.mask(self.nick)}"
        )
        self.reply(num.RPL_YOURHOST, f"Your host is {host}, running version {version}")
        self.reply(num.RPL_CREATED, f"This server was created {when}")
        self.out.sendCommand(
            num.RPL_MYINFO,
            (self.nick, host, version, USER_MODES, CHANNEL_MODES, PARAMETER_MODES),
            host,
        )
        for tokens in self.isupport_lines():
            self.reply(num.RPL_ISUPPORT, *tokens, "are supported by this server")
        self.send_lusers()
        self.send_motd()

    def isupport_lines(self) -> list[list[str]]:
        """The ISUPPORT tokens in lines of at most thirteen (Modern IRC, 005)."""
        tokens = self.isupport()
        return [tokens[i : i + 13] for i in range(0, len(tokens), 13)]

    def isupport(self) -> list[str]:
        """
        The ISUPPORT (005) tokens, each telling the truth about the door today: the hub
        folds nicks and rooms with RFC 1459 case mapping (C{[]\\~} are C{{}|^}), checks
        the lengths below, has the roles and modes of L{netsuite.chat._modes} and no
        limit on rooms per member (C{CHANLIMIT=#:}) or on targets (C{TARGMAX}); each
        list mode holds C{max_list} masks, a command sets C{max_modes} parameter modes.
        Thirteen tokens at most go in one 005 line (L{isupport_lines}).
        """
        most = self.hub.max_list
        return [
            "CASEMAPPING=rfc1459",
            "CHANLIMIT=#:",
            f"CHANMODES={CHANMODES}",
            f"CHANNELLEN={ROOM_MAX}",
            "CHANTYPES=#",
            self.chathistory_isupport(),  # CHATHISTORY=<max> (draft/chathistory)
            *self.room_isupport(),
            "EXCEPTS=e",
            "INVEX=I",
            f"KEYLEN={KEY_MAX}",
            f"MAXLIST=b:{most},e:{most},I:{most}",
            f"MODES={self.hub.max_modes}",
            self.monitor_isupport(),  # MONITOR=<limit>
            f"MSGREFTYPES={MSGREFTYPES}",
            f"NETWORK={self.hostname}",
            f"NICKLEN={NICK_MAX}",
            f"PREFIX={PREFIX}",
            f"TARGMAX={TARGMAX}",
            f"TOPICLEN={TOPIC_MAX}",
            f"USERLEN={NICK_MAX}",
        ]

    def send_motd(self) -> None:
        if not self.motd:
            self.reply(num.ERR_NOMOTD, "MOTD File is missing")
            return
        self.reply(num.RPL_MOTDSTART, f"- {self.hostname} Message of the day -")
        for line in self.motd.splitlines():
            self.reply(num.RPL_MOTD, f"- {line}")
        self.reply(num.RPL_ENDOFMOTD, "End of /MOTD command.")

    # --- connection -----------------------------------------------------------------------

    def irc_PING(self, prefix: str, params: list[str]) -> None:
        if not params:
            self.reply(num.ERR_NOORIGIN, "No origin specified")
            return
        self.out.sendCommand("PONG", (self.hostname, ":" + params[-1]), self.hostname)

    def irc_PONG(self, prefix: str, params: list[str]) -> None:
        """Nothing to do: the adapter counts any input as a sign of life."""

    def irc_QUIT(self, prefix: str, params: list[str]) -> None:
        self.end(params[0] if params and params[0] else "quit")

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
                self.reply(num.ERR_NORECIPIENT, f"No recipient given ({command})")
            return
        if len(params) < 2 or not params[1]:
            if not notice:
                self.reply(num.ERR_NOTEXTTOSEND, "No text to send")
            return
        text = params[1]
        self.last_active = self.hub.clock()
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
        """
        One target of a PRIVMSG or NOTICE. Its client-only tags are this session's
        C{sending_tags} while the hub delivers it (recipients' renderers read them).
        """
        hub = self.hub
        if target.startswith("#"):
            if not ctcp:
                self.sending_tags = self.tags.client
                try:
                    hub.say(self, target, text, kind)
                finally:
                    self.sending_tags = ""
            return
        member: Member | None = hub.find(target)
        if member is None:
            raise ChatError("no_such_nick", "No such nick/channel")
        if ctcp and member.door != self.door:
            return
        self.sending_tags = self.tags.client
        try:
            hub.private(self, target, text, kind)
        finally:
            self.sending_tags = ""
        if kind != "notice" and not ctcp:
            away = hub.away(member)
            if away:
                self.reply(num.RPL_AWAY, member.nick, away)

    def irc_TAGMSG(self, prefix: str, params: list[str]) -> None:
        """
        TAGMSG target[,target] (message-tags): the line's client-only tags, to rooms
        and nicks as a PRIVMSG would go, but only to IRC members with message-tags
        (no other door could show it). Without client-only tags there is nothing to
        relay and nothing is sent, as Ergo does; the refusals are PRIVMSG's.
        """
        self._need(params, 1)
        for target in params[0].split(","):
            if self.closed:
                return
            try:
                self._tag_to(target, self.tags.client)
            except ChatError as e:
                self.chat_error(e, target)

    def _tag_to(self, target: str, tags: str) -> None:
        hub = self.hub
        audience: list[Member]
        if target.startswith("#"):
            info = hub.room_info(target)  # 403 for no such room
            if fold(info.name) not in {fold(r) for r in hub.rooms_of(self)}:
                raise ChatError("cannot_send", f"you are not in {info.name}")
            name, audience = info.name, hub.who(info.name)
        else:
            found = hub.find(target)
            if found is None:
                raise ChatError("no_such_nick", "No such nick/channel")
            name, audience = found.nick, [found] if found is self else [found, self]
        if not tags:
            return
        when = hub.clock()
        event = TagMessage(
            sender=self.nick, target=name, tags=tags, when=when,
            mid=self.renderer.next_tagmsg_id(when),
        )  # fmt: skip
        for member in audience:
            if member is self and "echo-message" not in self.caps:
                continue
            if isinstance(member, IRCSession):
                member.deliver(event)
