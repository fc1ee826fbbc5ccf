"""
The web site: the connection factory (L{WebSite}), the resource tree (L{WebRoot}) and
L{build_site}, which puts them together for C{twistd netsuite-web}, the suite, and the
pages and doors added later.

The tree, by default::

    /api/...      the JSON API (L{netsuite.web._api})
    /metrics      Prometheus text format (L{netsuite.web._prometheus})
    /<children>   whatever the caller adds: build_site(children={"chat": ...})
    /...          the static files, when a directory is served
    /             the index resource (build_site(index=...)), else index.html of the
                  static files, else a small placeholder page

Hooks for pages and doors added later (the chat page at C{/chat/}, its WebSocket at
C{/chat/ws}, a dashboard at C{/}): pass them as C{children} and C{index}, or call
C{site.root.putChild(b"chat", resource)} on a built site. Named children win over
static files of the same name.

The module is above 400 lines because it is the site: the resource tree, the site-wide
headers and error pages, the gate and the drain, all of which a request passes through;
the pieces with their own logic (channel, static files, API, conditions) are modules of
their own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IAddress, IDelayedCall, IReactorTime
from twisted.logger import Logger, LogLevel
from twisted.python.failure import Failure
from twisted.web import server
from twisted.web.http import datetimeToLogString, datetimeToString
from twisted.web.http_headers import Headers
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource

from netsuite._twisted.http import escape_log_field, log_timestamp, raw_headers
from netsuite.base._addresses import describe_address, peer_key
from netsuite.base._logbatch import LogBatch
from netsuite.base._logfields import close_reason, door_fields, next_conn_id
from netsuite.base._metrics import Counters
from netsuite.chat._hub import Hub
from netsuite.limits._policy import ConnectionGate
from netsuite.web._api import ApiRoot, ChatAPI
from netsuite.web._channel import WebChannel, WebConnection, WebRequest
from netsuite.web._config import WebConfig
from netsuite.web._prometheus import MetricsPage, metrics_registry
from netsuite.web._responses import error_body, finish_response, html_page
from netsuite.web._static import StaticFiles
from netsuite.web._stats import StatsRegistry

__all__ = ["CorsPolicy", "Placeholder", "WebRoot", "WebSite", "access_line", "build_site"]

#: Request headers a cross-origin page may send (answered in preflights).
CORS_REQUEST_HEADERS = frozenset({
    b"authorization", b"content-type", b"range", b"if-none-match", b"if-modified-since",
    b"if-range", b"if-match", b"if-unmodified-since", b"cache-control",
})  # fmt: skip


@dataclass(frozen=True)
class CorsPolicy:
    """
    Which origins may read our responses from their pages (C{--cors ORIGIN}).

    An allowed origin gets C{Access-Control-Allow-Origin} on every response, and its
    preflights (C{OPTIONS} with C{Access-Control-Request-Method}) are answered 204 with
    the methods and the request headers we accept. Credentials (cookies) are never
    allowed: the write API takes a bearer token, which a page must hold itself.
    """

    origins: frozenset[bytes]
    any_origin: bool = False
    max_age: int = 600

    @classmethod
    def from_origins(cls, origins: Sequence[str]) -> CorsPolicy:
        return cls(
            frozenset(o.rstrip("/").lower().encode() for o in origins if o != "*"),
            "*" in origins,
        )

    def allows(self, origin: bytes) -> bool:
        return self.any_origin or origin.lower() in self.origins

    def apply(self, request: IRequest, origin: bytes) -> bool:
        """Add the CORS headers for C{origin}; answer and return True for a preflight."""
        headers = request.responseHeaders
        if not self.any_origin:
            headers.addRawHeader(b"Vary", b"Origin")
        if not self.allows(origin):
            return False
        headers.setRawHeaders(
            b"Access-Control-Allow-Origin", [b"*" if self.any_origin else origin]
        )
        wanted = request.getHeader(b"access-control-request-method")
        if request.method != b"OPTIONS" or wanted is None:
            headers.setRawHeaders(
                b"Access-Control-Expose-Headers",
                [b"Content-Length, Content-Range, ETag, Last-Modified"],
            )
            return False
        asked = request.getHeader(b"access-control-request-headers") or b""
        allowed = [h.strip().lower() for h in asked.split(b",")]
        allowed = [h for h in allowed if h in CORS_REQUEST_HEADERS]
        headers.setRawHeaders(b"Access-Control-Allow-Methods", [b"GET, HEAD, POST, OPTIONS"])
        if allowed:
            headers.setRawHeaders(b"Access-Control-Allow-Headers", [b", ".join(allowed)])
        headers.setRawHeaders(b"Access-Control-Max-Age", [b"%d" % self.max_age])
        request.setResponseCode(204)
        request.finish()
        return True


class _NotFound(Resource):
    isLeaf = True

    def render(self, request: IRequest) -> int:
        return finish_response(request, error_body(request, 404, "no such page"))


class Placeholder(Resource):
    """
    What C{/} shows when nothing else is configured for it: where the API is. The
    dashboard replaces it (C{build_site(index=...)}).
    """

    isLeaf = True
    allowed_methods = (b"GET", b"HEAD", b"OPTIONS")

    def render(self, request: IRequest) -> int:
        if request.postpath not in ([], [b""]):
            return finish_response(request, error_body(request, 404, "no such page"))
        if request.method not in (b"GET", b"HEAD"):
            request.setHeader(b"Allow", b"GET, HEAD, OPTIONS")
            return finish_response(request, error_body(request, 405, "use GET"))
        links = "".join(
            f'<li><a href="{p}"><code>{p}</code></a> {what}</li>'
            for p, what in (
                ("/api/health", "is it up"),
                ("/api/stats", "every service's counters"),
                ("/api/chat/rooms", "chat rooms"),
                ("/metrics", "Prometheus metrics"),
            )
        )
        body = html_page(request, "netsuite", f"<h1>netsuite</h1><ul>{links}</ul>")
        return finish_response(request, body)


class WebRoot(Resource):
    """
    The root: named children first, then the static files (when served), then the
    index page for C{/}, then a 404.
    """

    def __init__(self, static: StaticFiles | None, index: IResource | None) -> None:
        super().__init__()
        self.static = static
        self.index = index

    def getChildWithDefault(self, path: bytes, request: IRequest) -> IResource:
        child = self.children.get(path)
        if child is not None:
            return child
        if path == b"" and not request.postpath and self.index is not None:
            return self.index
        if self.static is not None:
            request.postpath.insert(0, request.prepath.pop())  # the leaf reads it all
            return self.static
        return _NotFound()


class WebSite(server.Site):
    """
    Twisted's L{server.Site} with netsuite's connection gate, counters, logs, headers and
    drain, making L{WebConnection}s over L{WebChannel}s and L{WebRequest}s.

    @ivar config: the site's L{WebConfig}.
    @ivar open: the connections open now (HTTP/1.1 and HTTP/2).
    @ivar fixed_headers: C{(name, value)} set on every response.
    """

    requestFactory = WebRequest
    noisy = False
    displayTracebacks = False
    root: WebRoot | None = None
    stats: StatsRegistry | None = None
    static: StaticFiles | None = None
    hub: Hub | None = None
    logger = Logger()

    def __init__(
        self,
        root: IResource,
        config: WebConfig,
        *,
        reactor: IReactorTime,
        counters: Counters | None = None,
        gate: ConnectionGate | None = None,
        name: str = "web",
    ) -> None:
        super().__init__(
            root,
            reactor=reactor,
            timeout=config.limits.idle_timeout or None,
            parsePOSTFormSubmission=False,
        )
        self.config = config
        self.name = name
        self.counters = counters if counters is not None else Counters(name)
        self.gate = gate if gate is not None else ConnectionGate()
        self.open: set[WebConnection] = set()
        self._drained: Deferred[None] | None = None
        fixed = Headers()  # canonical names, sanitized values, later ones replacing
        for key, value in (
            ("Server", "netsuite"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            *config.extra_headers,
        ):
            fixed.setRawHeaders(key, [value.encode("latin-1")])
        self.fixed_headers: list[tuple[bytes, bytes]] = [
            (name, values[-1]) for name, values in fixed.getAllRawHeaders()
        ]
        self.access_logger = Logger(namespace="netsuite.web.access", source=self)
        self.access_batch = LogBatch(self.access_logger, self.reactor, "access")
        # Like a stream door's: one log event per batch of lines, so a connection flood
        # (or a refused one) is not a flood of log events.
        self.connection_log = LogBatch(self.logger, self.reactor, "connections")
        self.refusal_log = LogBatch(self.logger, self.reactor, "refusals", LogLevel.warn)
        self.request_log = LogBatch(self.logger, self.reactor, "requests")
        self.hsts = b"max-age=%d" % config.hsts_max_age if config.hsts_max_age > 0 else None
        self.cors = CorsPolicy.from_origins(config.cors_origins) if config.cors_origins else None
        self._date_second = -1
        self._date = b""

    def protocol(self) -> WebConnection:
        """A connection that starts as HTTP/1.1 and becomes HTTP/2 if ALPN says h2."""
        return WebConnection(WebChannel())

    # Twisted declares Site.buildProtocol to return its HTTPChannel; ours is the ALPN switch.
    def buildProtocol(self, addr: IAddress) -> WebConnection | None:  # type: ignore[override]
        """Admit the connection through the gate, or refuse it (closed at once, logged)."""
        peer = peer_key(addr)
        reason = self.gate.admit(peer)
        if reason is not None:
            self.counters["refused"] += 1
            fields = door_fields(self.name, "http", next_conn_id(), describe_address(addr))
            fields.update(self.gate.refusal_fields(), reason=reason)
            self.refusal_log.add(f"{self.name} refused {fields['peer']}: {reason}", fields)
            return None
        conn: WebConnection = super().buildProtocol(addr)
        conn._web_site = self
        conn.peer = describe_address(addr)
        conn.gate_key = peer
        conn.conn = next_conn_id()
        return conn

    # --- connections --------------------------------------------------------------

    def opened(self, conn: WebConnection) -> None:
        self.open.add(conn)
        self.counters["accepted"] += 1
        self.connection_log.add(f"{self.name} {conn.peer}: connected", conn.log_fields)

    def closed(self, conn: WebConnection, reason: Failure) -> None:
        if conn not in self.open:
            return
        self.open.discard(conn)
        self.gate.release(conn.gate_key)
        self.counters["bytes_in"] += conn.bytes_in
        why, fields = close_reason(reason, conn.tls_seen)
        fields.update(conn.log_fields, why=why, bytes_in=conn.bytes_in,
                      protocol=conn.protocol_name)  # fmt: skip
        self.connection_log.add(
            f"{self.name} {conn.peer}: closed ({why}); {conn.bytes_in} bytes in,"
            f" {conn.protocol_name}",
            fields,
        )
        if not self.open and self._drained is not None:
            drained, self._drained = self._drained, None
            drained.callback(None)

    def refused(self, channel: Any, status: int, message: str, counter: str | None) -> None:
        """A request refused by a limit: count it and log it with the peer."""
        if counter:
            self.counters[counter] += 1
        fields = door_fields(self.name, "http", getattr(channel, "conn_id", 0),
                             self.peer_of(channel))  # fmt: skip
        limit = _REQUEST_LIMITS.get(counter or "")
        if limit is not None:
            fields.update(limit=limit[0], limit_value=getattr(self.config.limits, limit[1]))
        fields.update(status=status, message=message)
        self.request_log.add(f"{self.name} {fields['peer']}: {status} {message}", fields)

    @staticmethod
    def peer_of(channel: Any) -> str:
        try:
            return describe_address(channel.getPeer())
        except Exception:
            return "?"

    #: Set as the drain begins (L{drain}; the web service sets it as soon as the ports
    #: close): C{/api/health} answers 503 from then on, on the connections still open.
    draining = False
    _close_idle_call: IDelayedCall | None = None
    _abort_call: IDelayedCall | None = None

    def drain(self, timeout: float) -> Deferred[None]:
        """
        Shutting down: close every idle connection now and each busy one once its work is
        done (HTTP/1.1: after the response in flight and any request pipelined behind
        it; HTTP/2: once no stream is open), then abort what is left after C{timeout}
        seconds. Fires once all are closed (for C{stopService}).

        Busy connections are not told to stop reading: a load balancer's probe on a
        kept-alive connection still gets its answer, C{503 draining}.
        """
        self.draining = True
        done: Deferred[None] = Deferred()
        if not self.open:
            done.callback(None)
            return done
        self._drained = done
        self._close_idle()
        self._abort_call = self.reactor.callLater(timeout, self.abort)

        def cancel_timers(result: None) -> None:
            for call in (self._abort_call, self._close_idle_call):
                if call is not None and call.active():
                    call.cancel()
            self._abort_call = self._close_idle_call = None
            return result

        done.addBoth(cancel_timers)
        return done

    def abort(self) -> None:
        """Drop every connection now: the drain timed out, or the operator said stop."""
        for conn in list(self.open):
            conn.current_channel.transport.abortConnection()

    @staticmethod
    def busy(conn: WebConnection) -> bool:
        """Whether C{conn} has a request in flight (HTTP/1.1) or a stream open (HTTP/2)."""
        channel = conn.current_channel
        if isinstance(channel, WebChannel):
            return channel.handling_request
        return bool(getattr(channel, "streams", None))  # Twisted's H2Connection

    def _close_idle(self) -> None:
        self._close_idle_call = None
        for conn in list(self.open):
            if not self.busy(conn):
                conn.current_channel.transport.loseConnection()

    def _request_done_while_draining(self) -> None:
        """
        A response finished during the drain: on the reactor's next turn (once Twisted
        has started any request pipelined behind it), close what is idle.
        """
        if self._drained is not None and self._close_idle_call is None:
            self._close_idle_call = self.reactor.callLater(0, self._close_idle)

    # --- per request --------------------------------------------------------------

    def date(self) -> bytes:
        """The C{Date} header value, formatted once a second rather than per request."""
        now = int(self.reactor.seconds())
        if now != self._date_second:
            self._date_second = now
            self._date = datetimeToString(now)
        return self._date

    def log(self, request: Any) -> None:
        """
        Count the response, and queue its access log line (combined log format).

        Lines leave in batches (L{netsuite.base._logbatch}), one line each, in order, each
        with its own timestamp: a log event costs as much as serving a small cached
        file, so a busy server pays it once per batch.
        """
        if self.draining:
            self._request_done_while_draining()
        counters = self.counters
        counters["requests"] += 1
        counters[f"responses.{request.code // 100}xx"] += 1
        counters["bytes_out"] += request.sentLength
        if self.config.access_log:
            stamp = log_timestamp(self) or datetimeToLogString(self.reactor.seconds())
            self.access_batch.add(access_line(stamp, request), access_fields(self, request))

    def startFactory(self) -> None:
        for batch in self._batches():
            batch.open()
        super().startFactory()

    def stopFactory(self) -> None:
        """The last port stopped: flush, and log what still closes after it at once."""
        for batch in self._batches():
            batch.close()
        super().stopFactory()

    def _batches(self) -> tuple[LogBatch, ...]:
        return (self.access_batch, self.connection_log, self.refusal_log, self.request_log)

    def flush_logs(self) -> None:
        """Emit every batched line now (tests, and a drain that must not lose one)."""
        for batch in self._batches():
            batch.flush()


#: The limit each per-request refusal enforces: its option name and C{WebLimits} field.
_REQUEST_LIMITS = {
    "refused.uri_too_long": ("max-request-line", "max_request_line"),
    "refused.header_too_large": ("max-header-bytes", "max_header_bytes"),
    "refused.too_many_headers": ("max-headers", "max_headers"),
    "refused.body_too_large": ("max-body", "max_body"),
}


def access_fields(site: WebSite, request: Any) -> dict[str, Any]:
    """An access line's structured fields: the connection's, and the request's own."""
    channel = getattr(request, "channel", None)
    fields = door_fields(site.name, "http", getattr(channel, "conn_id", 0),
                         describe_address(request.getClientAddress()))  # fmt: skip
    fields.update(
        method=request.method, uri=request.uri, status=request.code,
        bytes_out=request.sentLength, protocol=request.clientproto,
    )  # fmt: skip
    return fields


_NEEDS_ESCAPE = re.compile(rb"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def _field(value: bytes) -> str:
    """Printable ASCII as it is; anything else through Twisted's own escaping."""
    if _NEEDS_ESCAPE.search(value) is None:
        return value.decode("ascii")
    return escape_log_field(value)


def access_line(timestamp: str, request: Any) -> str:
    """
    Exactly L{combinedLogFormatter}'s line, several times faster for the usual request
    whose fields are plain printable ASCII (which need no escaping); anything else is
    escaped by Twisted's own escaping, so a client cannot forge log lines.
    """
    address = request.getClientAddress()
    host = getattr(address, "host", None)
    ip = _field(host.encode("ascii", "replace")) if isinstance(host, str) else "-"
    headers = raw_headers(request.requestHeaders)
    referrer = headers.get(b"Referer")
    agent = headers.get(b"User-Agent")
    return (
        f'"{ip}" - - {timestamp} "{_field(request.method)} {_field(request.uri)} '
        f'{_field(request.clientproto)}" {request.code} {request.sentLength or "-"} '
        f'"{_field(referrer[-1]) if referrer else "-"}" "{_field(agent[-1]) if agent else "-"}"'
    )


def build_site(
    config: WebConfig | None = None,
    *,
    reactor: Any = None,
    hub: Hub | None = None,
    stats: StatsRegistry | None = None,
    children: Mapping[str, IResource] | None = None,
    index: IResource | None = None,
    counters: Counters | None = None,
    gate: ConnectionGate | None = None,
    name: str = "web",
) -> WebSite:
    """
    The whole web site, ready to listen with.

    @param config: limits and policies (default: L{WebConfig}'s safe defaults).
    @param reactor: the reactor, or a test's L{MemoryReactorClock}.
    @param hub: the chat hub C{/api/chat} reads and posts to (L{None}: those are 404).
    @param stats: the registry C{/api/stats} and C{/metrics} report; the site registers
        its own counters in it under C{name}. L{None}: a registry of its own.
    @param children: more resources at the top level, by name (C{{"chat": ...}}).
    @param index: what C{/} shows (default: the static C{index.html} or a placeholder).
    @return: the site; C{site.root} is the L{WebRoot}, C{site.stats} the registry,
        C{site.static} the L{StaticFiles} (or L{None}).
    """
    if reactor is None:
        from twisted.internet import reactor as global_reactor

        reactor = global_reactor
    config = config or WebConfig()
    counters = counters if counters is not None else Counters(name)
    if stats is None:
        stats = StatsRegistry(reactor.seconds)
    static = None
    if config.static_root is not None:
        static = StaticFiles(
            config.static_root,
            clock=reactor,
            counters=counters,
            cache_bytes=config.cache_bytes,
            cache_file_max=config.cache_file_max,
            gzip_min=config.gzip_min,
            charset=config.charset,
            listings=config.listings,
        )
    if index is None and static is None:
        index = Placeholder()
    root = WebRoot(static, index)
    root.putChild(
        b"api",
        ApiRoot(stats, ChatAPI(hub, config.api_token, config.api_nick, config.api_clients)),
    )
    root.putChild(b"metrics", MetricsPage(metrics_registry(stats)))
    for child_name, child in (children or {}).items():
        root.putChild(child_name.encode(), child)
    site = WebSite(root, config, reactor=reactor, counters=counters, gate=gate, name=name)
    stats.register_factory(site, name)
    site.root, site.stats, site.static, site.hub = root, stats, static, hub
    return site
