"""
The HTTP connection and request classes of netsuite's web site: Twisted's, with limits.

L{WebChannel} is Twisted's HTTP/1.1 L{HTTPChannel} plus what a server facing the
internet needs and Twisted leaves out or leaves at generous defaults:

  - a deadline for a request's header and one for its body, however slowly the bytes
    trickle in (Twisted's timeout is an idle timeout that every byte resets, so a client
    sending one byte a second holds a connection forever); 408 and close;
  - header caps answered with 431 (414 for a request line over C{max_request_line})
    instead of a bare close;
  - what Twisted's parser lets through and RFC 9112 refuses, refused (400) before
    Twisted acts on it: a missing or doubled C{Host}, C{Transfer-Encoding} other than
    C{chunked}, obs-fold, bare CR, chunked framing in bare LF
    (L{netsuite.web._http_limits}); a bare LF ending a head line is taken as CRLF, as
    RFC 9112 2.2 allows (or refused, with C{reject_bare_lf});
  - a body cap (L{WebRequest}), answered with 413 before the body is read;
  - one write per response: the header block is held back and sent with the first body
    bytes, straight to the socket when nothing is queued (like
    L{netsuite.stream._door.StreamDoor.write}): Twisted would send them as two writes on the
    next reactor turn.

L{WebConnection} is Twisted's ALPN switch (HTTP/1.1 or HTTP/2 by TLS negotiation) with
the site told when a connection opens and closes, so connection caps, open counts and
drain on shutdown cover both protocols.

The module is above 400 lines because the HTTP/1.1 channel, the protocol switch, the
HTTP/2 early answer and the request share the site's limits, its refusal format and one
write path; the parsing checks with logic of their own are L{netsuite.web._http_limits}.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from twisted.internet import tcp
from twisted.internet.interfaces import IDelayedCall, IReactorTime, ITCPTransport
from twisted.internet.protocol import connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import http, server
from twisted.web.http import H2_ENABLED
from twisted.web.http_headers import Headers
from twisted.web.resource import IResource
from twisted.web.server import unquote

from netsuite._twisted.http import (
    LimitedHTTPChannel,
    SwitchingHTTPProtocol,
    allowed_methods,
    answer_h2_stream,
    raw_headers,
    request_disconnected,
    request_log,
    use_encoder,
)
from netsuite.base._logfields import door_fields, next_conn_id, tls_fields
from netsuite.base._metrics import Counters
from netsuite.stream._write import direct_transport, send_now
from netsuite.tls._contexts import peer_identity
from netsuite.web._config import WebConfig
from netsuite.web._http_limits import ChunkedFraming, RequestError, RequestHead
from netsuite.web._responses import error_body

__all__ = ["ChannelSite", "WebChannel", "WebConnection", "WebRequest"]


class ChannelSite(Protocol):
    """
    What the connections and requests here need of their site (L{netsuite.web._site.WebSite}
    is one): described here so that this module does not import the site's.
    """

    config: WebConfig
    name: str
    reactor: IReactorTime
    counters: Counters
    logger: Logger
    resource: IResource
    fixed_headers: list[tuple[bytes, bytes]]
    hsts: bytes | None
    cors: Any

    def opened(self, conn: WebConnection) -> None: ...

    def closed(self, conn: WebConnection, reason: Failure) -> None: ...

    def refused(self, channel: Any, status: int, message: str, counter: str | None) -> None: ...

    def peer_of(self, channel: Any) -> str: ...

    def date(self) -> bytes: ...


_STATUS_TEXT = {
    400: b"Bad Request", 408: b"Request Timeout", 413: b"Content Too Large",
    414: b"URI Too Long", 431: b"Request Header Fields Too Large",
}  # fmt: skip


def _ignore(*args: Any) -> None:
    return None


class WebChannel(LimitedHTTPChannel):
    """
    One HTTP/1.1 connection, with deadlines, caps that answer, and one-write responses.

    Its limits come from C{site.config.limits} when the connection starts.
    """

    site: ChannelSite
    #: Lines end in LF; L{RequestHead} takes the CR off (and says whether one must be).
    delimiter = b"\n"
    #: A TCP connection or the TLS layer over one (Twisted: any transport, or None).
    transport: ITCPTransport
    secure = False
    _deadline_at: float | None = None
    _deadline_call: IDelayedCall | None = None
    _deadline_kind = ""
    _deadline_seconds = 0.0
    _pending: bytes | None = None
    _started = False  # a byte of the next request has come
    _refused = False
    _direct: tcp.Connection | None = None
    _host: Any = None
    _peer: Any = None
    _head: RequestHead | None = None
    _framing: ChunkedFraming | None = None
    #: The id of the connection this channel serves, for log fields (set by it).
    conn_id = 0

    def connectionMade(self) -> None:
        limits = self.site.config.limits
        self._head = RequestHead(limits.head)
        # Each line's cap, CR included (the head checker counts without it).
        self.MAX_LENGTH = limits.max_request_line + 1
        self.totalHeadersSize = limits.max_header_bytes
        self.maxHeaders = limits.max_headers
        # Twisted types abortTimeout as int; a float of seconds is what callLater takes.
        self.abortTimeout = limits.abort_timeout  # type: ignore[assignment]
        super().connectionMade()
        self._direct = direct_transport(self.transport)
        self.secure = self.isSecure()
        self._arm("header", limits.header_timeout)

    def getHost(self) -> Any:
        """The local address, asked of the socket once (Twisted asks per request)."""
        if self._host is None:
            self._host = self.transport.getHost()
        return self._host

    def getPeer(self) -> Any:
        if self._peer is None:
            self._peer = self.transport.getPeer()
        return self._peer

    # --- deadlines ----------------------------------------------------------------
    #
    # One timer per connection, armed when a phase (header, body) starts if none is
    # pending (or brought forward if it is due later) and never cancelled when a phase
    # ends: when it fires it checks C{_deadline_at} and re-arms itself for a phase still
    # running. A request costs a few attribute stores, not a callLater and a cancel.

    def _arm(self, kind: str, seconds: float) -> None:
        if seconds <= 0:
            self._deadline_at = None
            return
        self._deadline_kind = kind
        self._deadline_seconds = seconds
        self._deadline_at = at = self.site.reactor.seconds() + seconds
        call = self._deadline_call
        if call is None:
            self._deadline_call = self.callLater(seconds, self._deadline_check)
        elif call.getTime() > at:  # armed for a later phase's deadline: bring it forward
            call.reset(seconds)

    def _disarm(self) -> None:
        self._deadline_at = None

    def _deadline_check(self) -> None:
        self._deadline_call = None
        at = self._deadline_at
        if at is None:
            return
        left = at - self.site.reactor.seconds()
        if left > 0:
            self._deadline_call = self.callLater(left, self._deadline_check)
            return
        self._deadline_at = None
        kind, seconds = self._deadline_kind, self._deadline_seconds
        if kind == "header" and not self._started:
            # Nothing of a request came (a pre-connected or abandoned connection): close
            # without an answer, which the client could take for its next request's.
            self.site.counters["closed.header_timeout"] += 1
            self._refused = True
            self._close_then_abort()
            return
        self.refuse(408, f"the request {kind} took longer than {seconds:g}s",
                    f"closed.{kind}_timeout")  # fmt: skip

    def dataReceived(self, data: bytes) -> None:
        # The first byte of a request starts its header deadline; between requests
        # only the idle timeout runs.
        if self._deadline_at is None and self.line_mode and not self.handling_request:
            self._arm("header", self.site.config.limits.header_timeout)
        self._started = True
        super().dataReceived(data)

    def allHeadersReceived(self) -> None:
        self._disarm()
        self._started = False
        if self._head is not None:
            try:
                self._head.end()
            except RequestError as refused:
                self.refuse(refused.status, refused.message, refused.counter)
                return
        super().allHeadersReceived()
        if self.length is None:  # chunked: Twisted's decoder reads it; this checks it
            self._framing = ChunkedFraming()
        if not self._refused and self.length != 0:
            self._arm("body", self.site.config.limits.body_timeout)

    def rawDataReceived(self, data: bytes) -> None:
        framing = self._framing
        if framing is not None and not self.handling_request:
            try:
                framing.receive(data)
            except RequestError as refused:
                self._framing = None
                self.refuse(refused.status, refused.message, refused.counter)
                return
            if framing.done:
                self._framing = None
        super().rawDataReceived(data)

    def allContentReceived(self) -> None:
        if self._refused:  # answered already (Twisted's line parser goes on to here)
            return
        self._disarm()
        super().allContentReceived()

    def timeoutConnection(self) -> None:
        """The idle timeout (no bytes at all): count it, close, abort if still open later."""
        self.site.counters["closed.idle_timeout"] += 1
        self.site.logger.info("web {peer}: idle for {timeout}s, closing",
                              peer=self.site.peer_of(self), timeout=self.timeOut)  # fmt: skip
        self._close_then_abort()

    def _close_then_abort(self) -> None:
        self.loseConnection()
        self.schedule_abort()

    # --- caps ---------------------------------------------------------------------

    def lineReceived(self, line: bytes) -> None:
        head = self._head
        if head is not None:
            try:
                line = head.line(line)
            except RequestError as refused:
                self.refuse(refused.status, refused.message, refused.counter)
                return
            limits = self.site.config.limits
            self.MAX_LENGTH = 1 + (
                limits.max_request_line if head.expecting_request_line
                else limits.max_header_bytes
            )  # fmt: skip
        if self.header_bytes_received + len(line) > self.totalHeadersSize:
            self.refuse(431, f"request header larger than {self.totalHeadersSize} bytes",
                        "refused.header_too_large")  # fmt: skip
            return
        super().lineReceived(line)

    def lineLengthExceeded(self, line: bytes) -> None:
        limit = self.MAX_LENGTH - 1  # the CR is not counted
        if self._head is None or self._head.expecting_request_line:
            self.refuse(414, f"request line longer than {limit} bytes",
                        "refused.uri_too_long")  # fmt: skip
        else:
            self.refuse(431, f"a header line longer than {limit} bytes",
                        "refused.header_too_large")  # fmt: skip

    def headerReceived(self, line: bytes) -> bool:
        if self.header_fields_received >= self.maxHeaders:
            self.refuse(431, f"more than {self.maxHeaders} header fields",
                        "refused.too_many_headers")  # fmt: skip
            return False
        return bool(super().headerReceived(line))

    def bad_request(self) -> None:
        self.refuse(400, "malformed request", "refused.bad_request")

    def may_continue(self) -> bool:
        return not self._refused

    def refuse(self, status: int, message: str, counter: str | None) -> None:
        """
        Answer C{status} now, whatever state the request is in, and close the connection
        (aborting it if the client does not read the answer within C{abortTimeout}).
        """
        if self._refused:
            return
        self._refused = True
        self._disarm()
        self.site.refused(self, status, message, counter)
        body = f"{status} {_STATUS_TEXT.get(status, b'').decode()}: {message}\n".encode()
        content_type = b"text/plain; charset=utf-8"
        path = self.request_path
        if path.startswith(b"/api"):
            body = json.dumps({"status": status, "error": message}).encode() + b"\n"
            content_type = b"application/json; charset=utf-8"
        head = (
            b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
            b"X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n"
            % (status, _STATUS_TEXT.get(status, b"Error"), content_type, len(body))
        )
        self._pending = None
        self._send(head + body)
        self.persistent = False
        # Nothing more is read: what the client sends after this is not parsed.
        self.dataReceived = self.lineReceived = self.rawDataReceived = _ignore  # type: ignore[method-assign,assignment]
        self._close_then_abort()

    # --- one write per response ---------------------------------------------------

    def writeHeaders(self, version: bytes, code: bytes, reason: bytes, headers: Any) -> None:
        """Hold the header block back: it leaves with the first body bytes."""
        if not isinstance(headers, Headers):
            sanitized = Headers()
            for name, value in headers:
                sanitized.addRawHeader(name, value)
            headers = sanitized
        parts = [version, b" ", code, b" ", reason, b"\r\n"]
        for name, values in headers.getAllRawHeaders():
            for value in values:
                parts += (name, b": ", value, b"\r\n")
        parts.append(b"\r\n")
        self._pending = b"".join(parts)

    def write(self, data: bytes) -> None:
        pending = self._pending
        if pending is not None:
            self._pending = None
            data = pending + data
        self._send(data)

    def writeSequence(self, iovec: Any) -> None:
        self.write(b"".join(iovec))

    def _flush(self) -> None:
        if self._pending is not None:
            data, self._pending = self._pending, None
            self._send(data)

    def _send(self, data: bytes) -> None:
        """To the socket at once when nothing is queued before it; else through Twisted."""
        send_now(self._direct, self.transport, data)

    def requestDone(self, request: http.Request) -> None:
        self._flush()
        super().requestDone(request)

    def loseConnection(self) -> None:
        self._flush()
        super().loseConnection()

    def detach(self) -> None:
        """Stop every timer of this channel: the connection now speaks HTTP/2."""
        self._stop_deadline()
        self.setTimeout(None)

    def _stop_deadline(self) -> None:
        self._deadline_at = None
        if self._deadline_call is not None:
            if self._deadline_call.active():
                self._deadline_call.cancel()
            self._deadline_call = None

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._stop_deadline()
        super().connectionLost(reason)


class WebConnection(SwitchingHTTPProtocol):
    """
    Twisted's HTTP/1.1-or-HTTP/2 switch with the site told of each connection's start
    and end, and its bytes in counted.

    When ALPN picked C{h2}, the HTTP/2 connection is built here rather than by Twisted,
    so that it gets the site's reactor (Twisted's switch builds it on the global one,
    which tests cannot drive) and the HTTP/1.1 channel's deadlines are stopped.
    """

    peer = ""
    gate_key = ""
    bytes_in = 0
    #: This connection's id in logs (set by the site; L{netsuite.base._logfields}).
    conn = 0
    #: Set once the TLS details (if any) joined the log fields: at the first bytes in,
    #: which over TLS come after the handshake.
    tls_seen = False
    _log_fields: dict[str, Any] | None = None
    _web_site: ChannelSite | None = None
    _transport: Any = None
    _h2_ended = False

    @property
    def log_fields(self) -> dict[str, Any]:
        """Service, door, conn, peer (and the TLS details once known) of this connection."""
        fields = self._log_fields
        if fields is None:
            if not self.conn:
                self.conn = next_conn_id()
            name = self._web_site.name if self._web_site is not None else "web"
            fields = self._log_fields = door_fields(name, "http", self.conn, self.peer)
        return fields

    def makeConnection(self, transport: Any) -> None:
        self._transport = transport
        self.current_channel.conn_id = self.conn  # the access lines' and refusals' conn
        self.current_channel.makeConnection(transport)
        if self._web_site is not None:
            self._web_site.opened(self)

    def dataReceived(self, data: bytes) -> None:
        self.bytes_in += len(data)
        if not self.tls_seen:
            self.tls_seen = True
            self.log_fields.update(tls_fields(self.current_channel.transport, peer_identity))
        if self.negotiated is None:
            transport = self.current_channel.transport
            if getattr(transport, "negotiatedProtocol", None) == b"h2" and H2_ENABLED:
                site = self._web_site
                self.switch_to_h2(transport, site.reactor if site is not None else None)
        if self._h2_ended:
            return  # GOAWAY sent: nothing more is parsed while the connection closes
        super().dataReceived(data)
        if self.negotiated == b"h2" and getattr(self._transport, "disconnecting", False):
            self._end_h2()

    def _end_h2(self) -> None:
        """
        The HTTP/2 connection ended itself (a protocol error, a reset flood: GOAWAY is
        out) and asked its transport to close; make it close. Twisted's HTTP/2 stays
        registered as the transport's producer, and a TLS transport with a producer
        never sends its close_notify nor closes the socket: the peer could go on
        sending (each read parsed and refused again) until the idle timeout. Abort if
        the peer has not let it close within C{abort_timeout}.
        """
        self._h2_ended = True
        transport = self._transport
        transport.unregisterProducer()
        site = self._web_site
        if site is not None and site.config.limits.abort_timeout > 0:
            call = site.reactor.callLater(site.config.limits.abort_timeout, self._abort_if_open)
            self._abort_call = call

    def _abort_if_open(self) -> None:
        transport = self._transport
        if transport is not None and getattr(transport, "connected", False):
            transport.abortConnection()

    def left_http1(self, channel: Any) -> None:
        channel.detach()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        call = getattr(self, "_abort_call", None)
        if call is not None and call.active():
            call.cancel()
        try:
            self.current_channel.connectionLost(reason)
        finally:
            if self._web_site is not None:
                self._web_site.closed(self, reason)

    @property
    def protocol_name(self) -> str:
        """C{"h2"} or C{"http/1.1"}: what this connection speaks (once it has spoken)."""
        return (self.negotiated or b"http/1.1").decode()


def refuse_stream(stream: Any, status: int, message: str) -> None:
    """
    Answer an HTTP/2 stream C{status} before its request is complete, then reset it
    with C{NO_ERROR}: "stop sending, the answer is in" (RFC 9113 8.1). h2 then drops
    (and credits to flow control) whatever the client still sends on it.

    Twisted's HTTP/2 has no early answer of its own; this does what its
    C{_respondToBadRequestAndDisconnect} does (headers, then forget the stream), with
    a status, a body and the reset (L{netsuite._twisted.http.answer_h2_stream}).
    """
    body = f"{status} {_STATUS_TEXT.get(status, b'').decode()}: {message}\n".encode()

    def send(h2: Any, stream_id: int) -> None:
        try:
            h2.send_headers(stream_id, [
                (b":status", b"%d" % status), (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", b"%d" % len(body)), (b"x-content-type-options", b"nosniff"),
            ])  # fmt: skip
            if h2.local_flow_control_window(stream_id) >= len(body):
                h2.send_data(stream_id, body, end_stream=True)
            else:
                h2.end_stream(stream_id)
            h2.reset_stream(stream_id, 0)
        except Exception:  # the client reset it meanwhile, or closed the connection
            pass

    answer_h2_stream(stream, send, f"refused: {status} {message}")


_REQUEST_GOT_LENGTH = http.Request.gotLength


class WebRequest(server.Request):
    """
    A request with a body cap, no form parsing, and netsuite's headers and errors.

    Twisted parses C{multipart/form-data} bodies into memory for every POST unless told
    not to; nothing here needs it, so it is off.
    """

    _refused = False
    _body_bytes = 0

    def __init__(self, channel: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["parsePOSTFormSubmission"] = False
        super().__init__(channel, *args, **kwargs)

    # --- the body cap -------------------------------------------------------------

    @property
    def web_site(self) -> ChannelSite:
        """The site this request came to (over HTTP/1.1 or an HTTP/2 stream)."""
        channel: Any = self.channel
        return channel.site

    def gotLength(self, length: int | None) -> None:
        limit = self.web_site.config.limits.max_body
        if length is not None and length > limit:
            from io import BytesIO

            self.content = BytesIO()
            self._too_large(f"a body of {length} bytes is over the {limit}-byte limit")
            return
        # Straight to http.Request's: server.Request's first looks for a getContentFile
        # hook on the site by catching an AttributeError, on every request. (Bound at
        # import: twisted.web.http is a deprecation proxy, ~2 us per attribute lookup.)
        _REQUEST_GOT_LENGTH(self, length)

    def handleContentChunk(self, data: bytes) -> None:
        if self._refused:
            return  # HTTP/2, between the refusal and the stream's reset: dropped
        self._body_bytes += len(data)
        limit = self.web_site.config.limits.max_body
        if self._body_bytes > limit:
            self._too_large(f"the body is over the {limit}-byte limit")
            return
        super().handleContentChunk(data)

    def _too_large(self, message: str) -> None:
        self._refused = True
        channel = self.channel
        if isinstance(channel, WebChannel):
            channel.refuse(413, message, "refused.body_too_large")
            return
        # HTTP/2: the stream is answered and reset once this turn's frames are handled
        # (it may not be registered yet: gotLength runs while it is being built).
        site = self.web_site
        site.refused(channel, 413, message, "refused.body_too_large")
        site.reactor.callLater(0, refuse_stream, channel, 413, message)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if self._refused:
            return  # answered already
        super().requestReceived(command, path, version)

    # --- processing ---------------------------------------------------------------

    def process(self) -> None:
        """
        Twisted's C{process} with netsuite's site-wide headers, CORS, OPTIONS and
        errors; the resource tree is walked as Twisted does.
        """
        channel = self.channel
        site = self.web_site
        # Twisted types request.site as its Site; it reads only what ChannelSite has.
        self.site = site  # type: ignore[assignment]
        # Straight into Headers' dict, names already canonical: setRawHeaders would
        # canonicalize and sanitize each of these constant values on every request.
        raw = raw_headers(self.responseHeaders)
        for name, value in site.fixed_headers:
            raw[name] = [value]
        raw[b"Date"] = [site.date()]
        if site.hsts is not None:
            secure = getattr(channel, "secure", None)  # cached per connection on HTTP/1.1
            if secure if secure is not None else self.isSecure():
                raw[b"Strict-Transport-Security"] = [site.hsts]
        path = self.path
        if not path.startswith(b"/"):
            if path == b"*":
                self._answer_star()
            else:
                self._respond(400, "the request target must be a path")
            return
        self.prepath = prepath = []
        self.postpath = postpath = list(map(unquote, path[1:].split(b"/")))
        self.sitepath: list[bytes] = []
        method = self.method
        try:
            if site.cors is not None:
                origin = self.getHeader(b"origin")
                if origin is not None and site.cors.apply(self, origin):
                    return  # a preflight, answered
            resource = site.resource  # Twisted's getChildForRequest, inlined
            while postpath and not resource.isLeaf:
                segment = postpath.pop(0)
                prepath.append(segment)
                resource = resource.getChildWithDefault(segment, self)
            if method == b"OPTIONS":
                self._options(resource)
                return
            use_encoder(self, resource)
            self.render(resource)
        except BaseException:
            self.processingFailed(Failure())

    def _answer_star(self) -> None:
        if self.method == b"OPTIONS":
            self.setResponseCode(204)
            self.setHeader(b"Allow", b"GET, HEAD, POST, OPTIONS")
            self.finish()
        else:
            self.setHeader(b"Allow", b"OPTIONS")
            self._respond(405, "only OPTIONS may ask for *")

    def _options(self, resource: Any) -> None:
        """C{OPTIONS /path}: 204 with the methods the resource answers."""
        methods = getattr(resource, "allowed_methods", None)
        if methods is None:
            methods = [m for m in allowed_methods(resource) if m != b"OPTIONS"]
            methods.append(b"OPTIONS")
        self.setResponseCode(204)
        self.setHeader(b"Allow", b", ".join(methods))
        self.finish()

    def _respond(self, status: int, message: str) -> None:
        body = error_body(self, status, message)
        self.setHeader(b"Content-Length", b"%d" % len(body))
        if self.method != b"HEAD":
            self.write(body)
        self.finish()

    def processingFailed(self, reason: Failure) -> Failure:
        """A bug: log it, answer a plain 500 (never a traceback), or cut the response."""
        request_log(self).failure("web: error answering {uri}", failure=reason,
                          uri=self.uri.decode("latin-1"))  # fmt: skip
        site = getattr(self, "site", None)
        if site is not None:
            site.counters["errors.internal"] += 1
        if self.finished or request_disconnected(self):
            return reason
        if self.startedWriting:
            channel: Any = self.channel  # HTTP/1.1's WebChannel or an HTTP/2 stream
            transport = channel.transport if channel is not None else None
            if transport is not None:
                transport.abortConnection()
            return reason
        self.responseHeaders = Headers()
        if site is not None:
            for name, value in site.fixed_headers:
                self.responseHeaders.setRawHeaders(name, [value])
        self._respond(500, "internal error (logged)")
        return reason
