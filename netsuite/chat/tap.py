"""
C{twistd netsuite-chat}: one hub behind a plain-line door and an IRC door.

Defaults: the line door on 127.0.0.1:7777, the IRC door on 127.0.0.1:6667. TLS is one
more description per door, e.g. C{--listen nstls:7778:cert=...} and
C{--irc-listen nstls:6697:cert=...} (the conventional TLS ports).

With C{--backbone redis://host:port/db} the hub is one of several processes' hubs,
joined through Redis (L{netsuite.chat._backbone}, docs/scale.md); C{--workers N} then
runs N such processes on this host's sockets.
"""

from __future__ import annotations

from typing import Any

from twisted.application.service import Service
from twisted.python import usage

from netsuite.base._metrics import Counters
from netsuite.chat._accounts import AccountBook, parse_entries
from netsuite.chat._accounts_thread import threaded
from netsuite.chat._backbone import LEASE, QUEUE, Backbone
from netsuite.chat._flood import FLOOD_QUEUE
from netsuite.chat._history import CHATHISTORY_MAX
from netsuite.chat._hub import QUIET_ABOVE, Hub
from netsuite.chat._line_door import LineChatFactory
from netsuite.chat._modes import MAX_LIST, MAX_MODES
from netsuite.chat._monitor import MONITOR_MAX
from netsuite.chat._whowas import WHOWAS_MAX
from netsuite.limits import _defaults as limits
from netsuite.limits._policy import ConnectionGate
from netsuite.stream._door import SHUTDOWN_REASON
from netsuite.stream._write import hold
from netsuite.twistd._endpoints import is_tls
from netsuite.twistd._options import (
    BACKLOG,
    DRAIN_TIMEOUT,
    IDLE_TIMEOUT,
    GlobalReactor,
    Parameter,
    ServiceOptions,
    check,
    rows,
)
from netsuite.twistd._service import Drainable, ListenerService, ServiceRoot
from netsuite.twistd._workers_service import supervised

__all__ = ["ChatService", "Options", "makeService"]

#: The hub's and the doors' bounds, in the order they are checked.
CHAT_LIMITS = (
    Parameter("history", limits.HISTORY,
              "Messages kept per room and replayed on join (0: none kept).", int, least=0),
    Parameter("flood-kick", limits.FLOOD_KICK,
              "WebSocket members: messages dropped in a row for flooding before a kick.", int,
              least=1),
    Parameter("flood-queue", FLOOD_QUEUE,
              "Line and IRC doors: lines over the flood rate that wait their turn before "
              "the member is cut off.", int, least=1),
    Parameter("send-queue", limits.SEND_QUEUE,
              "Bytes queued for a slow reader before it is cut off.", int, least=1),
    Parameter("max-line", limits.MAX_LINE,
              "Longest line accepted on the line and IRC doors, in bytes (the one message "
              "limit).", int, least=1),
    Parameter("flood-rate", limits.FLOOD_RATE,
              "Messages a second each member may send, sustained.", float, least=0, strict=True),
    Parameter("flood-burst", limits.FLOOD_BURST, "Messages each member may send at once.", float,
              least=0, strict=True),
    Parameter("quiet-above", QUIET_ABOVE,
              "Rooms with more members tell joins/parts/quits to recent speakers only "
              "(0: to all).", int, least=0),
    Parameter("max-modes", MAX_MODES,
              "Mode changes with a parameter one mode command applies (IRC's MODES); more "
              "are dropped.", int, least=1),
    Parameter("max-list", MAX_LIST,
              "Masks each ban, exception and invite-exception list of a room holds (IRC's "
              "MAXLIST).", int, least=1),
    Parameter("whowas", WHOWAS_MAX,
              "IRC: departed or renamed nicks WHOWAS remembers (0: none).", int, least=0),
    Parameter("chathistory-max", CHATHISTORY_MAX,
              "IRC: most messages one CHATHISTORY query returns (ISUPPORT CHATHISTORY; "
              "0: no bound but --history).", int, least=0),
    Parameter("monitor-max", MONITOR_MAX,
              "IRC: nicks one client may MONITOR (ISUPPORT MONITOR).", int, least=0),
    Parameter("ping-interval", limits.IRC_PING_INTERVAL,
              "IRC: seconds of silence before the server PINGs.", float, least=0, strict=True),
    Parameter("ping-timeout", limits.IRC_PING_TIMEOUT,
              "IRC: seconds to answer a PING before being dropped.", float, least=0, strict=True),
    Parameter("backbone-lease", LEASE,
              "Backbone: seconds a process's nicks and memberships outlive it if it dies "
              "without a word.", float, least=1),
    Parameter("backbone-queue", QUEUE,
              "Backbone: room messages (and joins, parts...) that may wait for Redis "
              "before a message is refused as not delivered.", int, least=1),
)  # fmt: skip


class Options(ServiceOptions):
    """Options of C{twistd netsuite-chat}."""

    synopsis = "[options]"
    config_section = "chat"
    datagram_allowed = False
    default_listen = ("tcp:7777:interface=127.0.0.1",)
    extra_listens = {"irc-listen": ("tcp:6667:interface=127.0.0.1",)}
    longdesc = (
        "A chat hub: rooms, nicks unique across doors, history, flood and slow-reader\n"
        "limits. --listen is the plain-line door (nc, telnet; default 127.0.0.1:7777),\n"
        "--irc-listen the IRC door (default 127.0.0.1:6667); 'none' turns a door off."
    )
    optParameters = [
        *rows(
            IDLE_TIMEOUT.but(
                default=limits.LINE_IDLE_TIMEOUT,
                help="Seconds without input before a line-door peer is dropped (0: never).",
            ),
            # Unchecked here, as before (the web service checks it): kept so, no change.
            DRAIN_TIMEOUT.but(help="Seconds members' output gets to flush on shutdown."),
            BACKLOG,
            *CHAT_LIMITS,
        ),
        ["password", None, None, "IRC: the PASS clients must give (default: none)."],
        ["motd", None, None, "IRC: the message of the day (default: a short greeting)."],
        ["server-name", None, "netsuite", "The server's name in greetings and IRC prefixes."],
        ["backbone", None, None,
         "redis://[:password@]host[:port][/db] (rediss:// for TLS): share the hub with "
         "every netsuite process on that Redis (default: this process only)."],
        ["backbone-password", None, None, "Backbone: Redis's password (instead of the URL's)."],
        ["backbone-ca", None, None,
         "Backbone, rediss://: PEM file of the CAs Redis's certificate is checked against "
         "(default: the system's)."],
        ["backbone-cert", None, None,
         "Backbone, rediss://: client certificate (PEM, key included or --backbone-key)."],
        ["backbone-key", None, None, "Backbone, rediss://: the client certificate's key."],
    ]  # fmt: skip
    #: More than one worker shares one hub only through the backbone.
    workers_require = "backbone"

    def __init__(self) -> None:
        super().__init__()
        self["account"] = []
        self["irc-oper"] = []

    def opt_irc_listen(self, description: str) -> None:
        """The IRC door listens here (repeatable); same grammar as --listen."""
        self["irc-listen"].append(description)

    def opt_account(self, entry: str) -> None:
        """NAME:HASH, an account (repeatable; python -m netsuite.chat.hashpw NAME)."""
        self["account"].append(entry)

    def opt_irc_oper(self, entry: str) -> None:
        """NAME:HASH, an IRC operator (repeatable; python -m netsuite.chat.hashpw NAME)."""
        self["irc-oper"].append(entry)

    def postOptions(self) -> None:
        super().postOptions()
        check(self, *CHAT_LIMITS)
        try:
            self["accounts"] = parse_entries(self["account"], "--account")
            self["opers"] = parse_entries(self["irc-oper"], "--irc-oper")
        except ValueError as e:
            raise usage.UsageError(str(e)) from None
        url = self.get("backbone")
        if url:
            from netsuite.chat._redis_store import parse_url

            try:
                parse_url(url)
            except ValueError as e:
                raise usage.UsageError(f"--backbone {e}") from None


class ChatService(ServiceRoot):
    """
    The chat root: on shutdown, once its ports are closed (L{ServiceRoot.shutdown}),
    every member is told the server is shutting down, each door says goodbye its own way
    (the IRC door's C{ERROR}), and output is flushed for up to C{drain_timeout} seconds.
    """

    def __init__(self, reactor: Any, hub: Hub, drain_timeout: float) -> None:
        super().__init__("netsuite-chat", reactor)
        self.hub = hub
        self.drain_timeout = drain_timeout
        self.factories: list[Any] = []
        self.link: Backbone | None = None

    def begin_drain(self) -> None:
        """
        One notice to every member of the hub, whatever its door (WebSockets too). The
        backbone stops telling the others of each departure: its lease goes when the
        drain ends (L{BackboneService}), and they reap this process's members at once.
        """
        if self.link is not None:
            self.link.closing = True
        self.hub.announce(SHUTDOWN_REASON)

    def drain_targets(self) -> list[Drainable]:
        return list(self.factories)


class BackboneService(Service):
    """Starts the backbone with the process and leaves the shared hub as it stops."""

    def __init__(self, backbone: Backbone) -> None:
        super().__init__()
        self.backbone = backbone

    def startService(self) -> None:
        super().startService()
        self.backbone.start()

    def stopService(self) -> Any:
        super().stopService()
        return self.backbone.stop()


def make_backbone(options: Options, reactor: Any, hub: Hub) -> Backbone:
    """The backbone of C{--backbone}: a L{RedisStore} with the TLS and password given."""
    from netsuite.chat._redis_store import RedisStore, parse_url

    url = options["backbone"]
    tls = None
    if parse_url(url).tls and (options["backbone-ca"] or options["backbone-cert"]):
        from netsuite.tls import client_tls_options

        tls = client_tls_options(
            parse_url(url).host,
            ca=options["backbone-ca"],
            cert=options["backbone-cert"],
            key=options["backbone-key"],
        )
    store = RedisStore.from_url(url, reactor, tls, password=options["backbone-password"])
    return Backbone(store, hub, reactor, lease=options["backbone-lease"],
                    queue_max=options["backbone-queue"])  # fmt: skip


def make_hub(options: Options, reactor: Any) -> Hub:
    return Hub(
        clock=reactor.seconds,
        history=options["history"],
        flood_rate=options["flood-rate"],
        flood_burst=options["flood-burst"],
        flood_kick=options["flood-kick"],
        quiet_above=options["quiet-above"],
        flood_queue=options["flood-queue"],
        text_max=options["max-line"],  # one limit: a line the doors take, the hub takes
        max_modes=options["max-modes"],
        max_list=options["max-list"],
        whowas=options["whowas"],
        chathistory_max=options["chathistory-max"],
        monitor_max=options["monitor-max"],
        server_name=options["server-name"],  # bans match nick!nick@<server name>
        counters=Counters("chat"),
        hold=hold,  # a room's messages from one input chunk go out once per member
    )


@supervised("netsuite-chat")
def makeService(options: Options, hub: Hub | None = None) -> ChatService:
    """The line and IRC doors over one hub (pass C{hub} to share one with other services)."""
    reactor = GlobalReactor.of(options.reactor)
    hub = hub or make_hub(options, reactor)
    accounts, opers = options.get("accounts", {}), options.get("opers", {})
    if accounts or opers:  # each account's name becomes a nick only its owner may take
        AccountBook(accounts, opers, threaded(reactor)).install(hub)
    top = ChatService(reactor, hub, options["drain-timeout"])
    gate = ConnectionGate(options["max-connections"], options["max-per-ip"])
    common = {
        "gate": gate, "clock": reactor, "send_queue": options["send-queue"],
        "counters": hub.counters, "max_line": options["max-line"],
    }  # fmt: skip
    line = LineChatFactory(
        "chat/line", hub, idle_timeout=options["idle-timeout"], **common,
    )  # fmt: skip
    top.factories.append(line)
    doors: list[tuple[str, Any, list[tuple[str, Any, bool]]]] = [
        ("chat/line", line, options["endpoints"])
    ]
    irc_endpoints = options["endpoints:irc-listen"]
    if irc_endpoints:
        from netsuite.chat._irc_door import IRCChatFactory

        irc = IRCChatFactory(
            "chat/irc", hub, server_name=options["server-name"], password=options["password"],
            ping_interval=options["ping-interval"], ping_timeout=options["ping-timeout"],
            motd=options["motd"], idle_timeout=0, **common,
        )  # fmt: skip
        top.factories.append(irc)
        doors.append(("chat/irc", irc, irc_endpoints))
    for label, factory, endpoints in doors:
        for description, endpoint, _ in endpoints:
            suffix = "-tls" if is_tls(description, endpoint) else ""
            ListenerService(label + suffix, description, endpoint, factory).setServiceParent(top)
    if options.get("backbone"):
        top.link = make_backbone(options, reactor, hub)
        BackboneService(top.link).setServiceParent(top)
    top.hub = hub
    return top
