"""
C{twistd netsuite-web}: static files, the JSON API and C{/metrics} over HTTP/1.1, and
HTTP/2 over TLS.

Defaults: HTTP on 127.0.0.1:8080, no directory served (the API and pages only). Add
C{--path DIR} to serve files, and C{--tls-cert chain.pem} (or an C{nstls:} listen
description) for HTTPS on 127.0.0.1:8443. TLS listeners offer HTTP/2 by ALPN
(C{h2}, then C{http/1.1}) unless their description names its own C{alpn=}.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from twisted.python import usage
from twisted.web.http import H2_ENABLED

from netsuite._twisted.endpoints import split_description
from netsuite.base._metrics import Counters
from netsuite.chat._hub import Hub
from netsuite.chat._names import valid_nick
from netsuite.limits import WEB_IDLE_TIMEOUT
from netsuite.limits._policy import ConnectionGate
from netsuite.twistd import _options
from netsuite.twistd._endpoints import is_tls
from netsuite.twistd._service import Drainable, ListenerService, ServiceRoot
from netsuite.twistd._workers_service import supervised
from netsuite.web._chatws import ChatSocketConfig, ChatSocketFactory
from netsuite.web._config import HeaderError, WebConfig, WebLimits, parse_header_line
from netsuite.web._http_limits import MAX_REQUEST_LINE as _MAX_REQUEST_LINE
from netsuite.web._ircws_settings import DEFAULT_PATH as IRC_PATH
from netsuite.web._ircws_settings import IRCWebSettings, check_path
from netsuite.web._site import WebSite, build_site
from netsuite.web._stats import StatsRegistry
from netsuite.web._ui import WebUI
from netsuite.web._worker_stats import worker_stats
from netsuite.web._wsguard import OriginPolicy

if TYPE_CHECKING:
    from netsuite.web._ircws import IRCSocketFactory

__all__ = ["DEFAULT_ALPN", "Options", "WebService", "makeService", "with_default_alpn"]

#: What TLS listeners offer when their description does not say.
DEFAULT_ALPN = "h2,http/1.1" if H2_ENABLED else "http/1.1"
DEFAULT_TLS_PORT = 8443
_ORIGIN = re.compile(r"^https?://[^/\s]+$", re.IGNORECASE)
MIN_TOKEN = 16

#: The request line's cap: nginx's 8 KiB by default; 64 bytes at the least (a request
#: line of a short path is some 20).
MAX_REQUEST_LINE = _options.Parameter(
    "max-request-line",
    _MAX_REQUEST_LINE,
    "Longest request line, in bytes (414 beyond).",
    int,
    least=64,
)


def with_default_alpn(description: str) -> str:
    """An C{nstls:} description with C{alpn=h2,http/1.1} added when it names none."""
    try:
        args, kwargs = split_description(description)
    except (ValueError, IndexError):
        return description  # the parser proper reports it, quoting the description
    if args and args[0] == "nstls" and "alpn" not in kwargs:
        return f"{description}:alpn={DEFAULT_ALPN}"
    return description


def _escape(path: str) -> str:
    """A file name as a value in a listen description (colons and backslashes escaped)."""
    return path.replace("\\", "\\\\").replace(":", "\\:")


class Options(_options.ServiceOptions):
    """Options of C{twistd netsuite-web}."""

    synopsis = "[options]"
    config_section = "web"
    datagram_allowed = False
    default_listen = ("tcp:8080:interface=127.0.0.1",)
    longdesc = (
        "HTTP/1.1 and HTTP/2 (over TLS): static files (--path), the JSON API under /api/\n"
        "(health, stats, chat rooms), and /metrics for Prometheus. Default: http on\n"
        "127.0.0.1:8080; --tls-cert adds https on 127.0.0.1:8443."
    )
    optParameters = [
        *_options.rows(
            _options.IDLE_TIMEOUT.but(
                default=WEB_IDLE_TIMEOUT,
                help="Seconds a kept-alive connection may wait for its next request (0: never).",
            ),
            _options.DRAIN_TIMEOUT.but(help="Seconds responses in flight get on shutdown."),
            MAX_REQUEST_LINE,
        ),
        ["path", None, None, "Directory to serve (default: none; only the API and pages)."],
        ["header-timeout", None, 10.0,
         "Seconds a client gets to send a request's whole header (0: no limit).", float],
        ["body-timeout", None, 60.0,
         "Seconds a client gets to send a request's whole body (0: no limit).", float],
        ["max-body", None, 1 << 20, "Largest request body, in bytes (413 beyond).", int],
        ["max-headers", None, 100, "Most header fields in one request (431 beyond).", int],
        ["max-header-bytes", None, 16384,
         "Most bytes of request line and header fields (431 beyond).", int],
        ["cache-size", None, 64 << 20, "Bytes of small files kept in memory.", int],
        ["cache-file-max", None, 1 << 20, "Largest file kept in memory, in bytes.", int],
        ["gzip-min", None, 1024,
         "Compressible files larger than this are gzipped on the fly (0: never).", int],
        ["charset", None, "utf-8", "Charset named in text types ('' for none)."],
        ["hsts-max-age", None, 31_536_000,
         "Strict-Transport-Security max-age on HTTPS responses (0: no header).", int],
        ["api-token", None, None,
         "Bearer token for POST /api/chat/rooms/ROOM/messages (default: posting is off)."],
        ["api-token-file", None, None, "Read the API token from this file instead."],
        ["api-nick", None, "api", "Nick that messages posted through the API are said as."],
        ["tls-cert", None, None,
         f"Also serve HTTPS on 127.0.0.1:{DEFAULT_TLS_PORT} with this PEM chain."],
        ["tls-key", None, None, "Private key of --tls-cert (default: in the same file)."],
        ["ws-max-message", None, 1 << 16,
         "Largest chat WebSocket message/frame a browser may send, in bytes (1009 beyond).", int],
        ["ws-send-queue", None, 1 << 20,
         "Bytes queued for a slow chat WebSocket reader before it is cut off (1008).", int],
        ["ws-ping-interval", None, 30.0,
         "Seconds of WebSocket silence before the server pings (0: never).", float],
        ["irc-ws", None, IRC_PATH,
         "Where IRC over WebSocket is (IRCv3 binary.ircv3.net, text.ircv3.net); "
         "'none': nowhere.", str],
    ]  # fmt: skip
    optFlags = [
        ["no-listing", None, "Do not list directories that have no index.html (404)."],
        ["no-access-log", None, "Do not log each request (combined log format)."],
        ["no-require-host", None,
         "Serve HTTP/1.1 requests that have no Host field (default: 400, as RFC 9112 says)."],
        ["reject-bare-lf", None,
         "Answer 400 to a request line or header ending in LF alone (default: take it "
         "as the line end, as nginx does)."],
    ]  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self["cors"] = []
        self["add-header"] = []
        self["api-client"] = []
        self["ws-origin"] = []

    def opt_ws_origin(self, origin: str) -> None:
        """Let pages from ORIGIN (https://host[:port], or *) open /chat/ws (repeatable);
        the site's own origin always may."""
        if origin != "*" and not _ORIGIN.match(origin.rstrip("/")):
            raise usage.UsageError(f"--ws-origin {origin!r}: expected https://host[:port] or *")
        self["ws-origin"].append(origin.rstrip("/"))

    def opt_cors(self, origin: str) -> None:
        """Let pages from ORIGIN (https://host[:port], or *) read responses (repeatable)."""
        if origin != "*" and not _ORIGIN.match(origin.rstrip("/")):
            raise usage.UsageError(f"--cors {origin!r}: expected https://host[:port] or *")
        self["cors"].append(origin)

    def opt_add_header(self, line: str) -> None:
        """Add 'Name: value' to every response (repeatable)."""
        try:
            self["add-header"].append(parse_header_line(line))
        except HeaderError as e:
            raise usage.UsageError(f"--add-header {e}") from None

    def postOptions(self) -> None:
        if self["tls-cert"]:
            if not self["listen"]:
                self["listen"] = list(self.default_listen)
            tls = f"nstls:{DEFAULT_TLS_PORT}:interface=127.0.0.1:cert={_escape(self['tls-cert'])}"
            if self["tls-key"]:
                tls += f":key={_escape(self['tls-key'])}"
            self["listen"].append(tls)
        elif self["tls-key"]:
            raise usage.UsageError("--tls-key needs --tls-cert")
        self["listen"] = [with_default_alpn(d) for d in self["listen"]]
        super().postOptions()
        for name in ("max-body", "cache-size", "cache-file-max", "gzip-min", "hsts-max-age"):
            if self[name] < 0:
                raise usage.UsageError(f"--{name} must be 0 or more, not {self[name]}")
        for name in ("header-timeout", "body-timeout"):
            if self[name] < 0:
                raise usage.UsageError(f"--{name} must be 0 or more seconds")
        _options.check(self, _options.DRAIN_TIMEOUT, MAX_REQUEST_LINE)
        if self["max-headers"] < 1:
            raise usage.UsageError("--max-headers must be 1 or more")
        if self["max-header-bytes"] < 256:
            raise usage.UsageError("--max-header-bytes must be 256 or more")
        if self["ws-max-message"] < 1024:
            raise usage.UsageError("--ws-max-message must be 1024 or more")
        if self["ws-send-queue"] < 1:
            raise usage.UsageError("--ws-send-queue must be 1 or more")
        if self["ws-ping-interval"] < 0:
            raise usage.UsageError("--ws-ping-interval must be 0 (never) or more seconds")
        self["ws-config"] = ChatSocketConfig(
            origins=OriginPolicy(allowed=tuple(self["ws-origin"])),
            max_frame=self["ws-max-message"],
            max_message=self["ws-max-message"],
            send_queue=self["ws-send-queue"],
            ping_interval=self["ws-ping-interval"],
        )
        if self["irc-ws"] != "none":
            why = check_path(self["irc-ws"])
            if why is not None:
                raise usage.UsageError(f"--irc-ws {why}")
        path = self["path"]
        if path is not None and not os.path.isdir(path):
            raise usage.UsageError(f"--path {path!r}: not a directory")
        if not valid_nick(self["api-nick"]):
            raise usage.UsageError(f"--api-nick {self['api-nick']!r}: not a valid nick")
        self["config"] = WebConfig(
            static_root=path,
            listings=not self["no-listing"],
            limits=WebLimits(
                max_body=self["max-body"],
                max_headers=self["max-headers"],
                max_header_bytes=self["max-header-bytes"],
                header_timeout=self["header-timeout"],
                body_timeout=self["body-timeout"],
                idle_timeout=self["idle-timeout"],
                max_request_line=self["max-request-line"],
                require_host=not self["no-require-host"],
                reject_bare_lf=bool(self["reject-bare-lf"]),
            ),
            cache_bytes=self["cache-size"],
            cache_file_max=self["cache-file-max"],
            gzip_min=self["gzip-min"],
            charset=self["charset"],
            cors_origins=tuple(self["cors"]),
            extra_headers=tuple(self["add-header"]),
            hsts_max_age=self["hsts-max-age"],
            api_token=self._token(),
            api_nick=self["api-nick"],
            api_clients=tuple(self["api-client"]),
            access_log=not self["no-access-log"],
        )

    def opt_api_client(self, identity: str) -> None:
        """A client certificate identity that may post without the token (repeatable;
        the TLS listener needs clientCA=...:verifyClient=optional|required)."""
        self["api-client"].append(identity)

    def _token(self) -> str | None:
        token, path = self["api-token"], self["api-token-file"]
        if token and path:
            raise usage.UsageError("give --api-token or --api-token-file, not both")
        if path:
            try:
                with open(path, encoding="utf-8") as f:
                    token = f.read().strip()
            except (OSError, UnicodeDecodeError) as e:
                raise usage.UsageError(f"--api-token-file {path!r}: {e}") from None
        if token is None:
            return None
        if len(token) < MIN_TOKEN or any(c.isspace() for c in token):
            raise usage.UsageError(
                f"the API token must be at least {MIN_TOKEN} characters with no spaces"
            )
        return token


class WebService(ServiceRoot):
    """
    The web root: on shutdown, once its ports are closed (L{ServiceRoot.shutdown}),
    C{/api/health} answers 503, WebSockets close with 1001, idle connections close and
    responses in flight get C{drain_timeout} seconds to finish.
    """

    def __init__(
        self,
        reactor: Any,
        site: WebSite,
        drain_timeout: float,
        sockets: ChatSocketFactory | None = None,
        irc_sockets: IRCSocketFactory | None = None,
    ) -> None:
        super().__init__("netsuite-web", reactor)
        self.site = site
        self.drain_timeout = drain_timeout
        self.sockets = sockets
        self.irc_sockets = irc_sockets

    def begin_drain(self) -> None:
        self.site.draining = True  # before any drain: a health probe may be in the queue

    def drain_targets(self) -> list[Drainable]:
        # The sockets first: their 1001 close frames go out before the site closes them.
        sockets = [s for s in (self.sockets, self.irc_sockets) if s is not None]
        return [*sockets, self.site]


@supervised("netsuite-web")
def makeService(
    options: Options,
    hub: Hub | None = None,
    stats: StatsRegistry | None = None,
    irc: IRCWebSettings | None = None,
) -> WebService:
    """
    One listener per description, all serving one site. Pass C{hub} to serve its rooms
    under C{/api/chat} and C{stats} to report into a registry shared with other services
    (the site registers itself in it as C{"web"}); C{irc}, what IRC over WebSocket says
    and asks (the suite passes the IRC door's server name, PASS and MOTD; its path is
    always C{--irc-ws}).
    """
    reactor = _options.GlobalReactor.of(options.reactor)  # every request asks it the time
    if hub is None:  # on its own, the web service still has a chat (the page's own hub)
        hub = Hub(clock=reactor.seconds, counters=Counters("chat"))
    site = build_site(
        options["config"],
        reactor=reactor,
        hub=hub,
        stats=stats,
        gate=ConnectionGate(options["max-connections"], options["max-per-ip"]),
    )
    ui = WebUI.build(hub, clock=reactor, config=options["ws-config"])
    ui.install(site)  # /chat/, /chat/ws, /ui/, the dashboard at / (unless --path has one)
    path = None if options["irc-ws"] == "none" else options["irc-ws"]
    irc = replace(irc or IRCWebSettings(), path=path)
    # Here, not at the top: it imports the IRC door, and twisted.words the reactor.
    from netsuite.web._ircws import install_irc_socket

    irc_sockets = install_irc_socket(
        site, hub, clock=reactor, config=options["ws-config"], settings=irc
    )  # /irc: IRC over WebSocket
    top = WebService(reactor, site, options["drain-timeout"], ui.sockets, irc_sockets)
    stats = site.stats
    publisher = worker_stats(stats, reactor) if stats is not None else None
    if publisher is not None:  # under --workers: any worker reports every worker's figures
        publisher.setServiceParent(top)
    for description, endpoint, _ in options["endpoints"]:
        label = "web/https" if is_tls(description, endpoint) else "web/http"
        ListenerService(label, description, endpoint, site).setServiceParent(top)
    return top
