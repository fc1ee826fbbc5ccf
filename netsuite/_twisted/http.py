"""
The private parts of Twisted's HTTP (L{twisted.web.http}, L{twisted.web._http2},
L{twisted.web.server}, L{twisted.web.resource}) that netsuite's web site relies on.

Why no public API serves, by piece:

  - L{LimitedHTTPChannel}: L{HTTPChannel} counts header bytes and fields, knows whether
    a request is being handled and arms its abort timer only in private attributes
    (C{_receivedHeaderSize}, C{_receivedHeaderCount}, C{_handlingRequest},
    C{_abortingCall}, C{_path}); a bad request and a C{100 Continue} are answered by
    private methods (C{_respondToBadRequestAndDisconnect}, C{_send100Continue}) that
    are the only place to answer differently. The base turns each into a public hook.
  - L{SwitchingHTTPProtocol}: the HTTP/1.1-or-HTTP/2 switch is the private
    C{_GenericHTTPChannelProtocol}, which keeps the channel and what it was built with
    in private attributes, and builds the HTTP/2 connection (the private
    C{twisted.web._http2.H2Connection}) on the global reactor, which tests cannot drive.
  - L{answer_h2_stream}: Twisted's HTTP/2 has no early answer; doing one needs the
    stream's private connection and its C{_streamIsActive}, C{_tryToWriteControlData}
    and C{_requestDone}.
  - L{raw_headers}: L{Headers} has no public view of its dict of canonical names;
    C{getRawHeaders}/C{setRawHeaders} canonicalize and sanitize on every call, a few
    microseconds each on a path of some twenty.
  - L{use_encoder}, L{allowed_methods}: C{Request.process}'s encoder lookup
    (C{_IEncodingResource}, C{_encoder}) and the methods C{OPTIONS} lists
    (C{_computeAllowedMethods}) are private, and netsuite's C{process} replaces
    Twisted's.
  - L{request_log}, L{request_disconnected}: a request's logger and whether its
    connection is gone are private (C{_log}, C{_disconnected}); the log must keep
    Twisted's namespace.
  - L{log_timestamp}, L{escape_log_field}: the access log's cached timestamp
    (C{HTTPFactory._logDateTime}) and its field escaping (C{http._escape}), so that
    netsuite's fast access line is exactly Twisted's.
  - L{can_upgrade_to_websocket}: whether a channel can hand its connection to a
    WebSocket is only known by the private C{_protocolUpgradeForWebsockets}, which
    L{twisted.web.websocket} itself calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.error import ConnectionLost
from twisted.python.failure import Failure
from twisted.web._http2 import H2Connection
from twisted.web.http import HTTPChannel, _escape, _GenericHTTPChannelProtocol
from twisted.web.http_headers import Headers
from twisted.web.resource import _computeAllowedMethods, _IEncodingResource

__all__ = [
    "PRIVATE_NAMES",
    "LimitedHTTPChannel",
    "SwitchingHTTPProtocol",
    "allowed_methods",
    "answer_h2_stream",
    "can_upgrade_to_websocket",
    "escape_log_field",
    "log_timestamp",
    "raw_headers",
    "request_disconnected",
    "request_log",
    "use_encoder",
]

_CHANNEL = "twisted.web.http.HTTPChannel"
_SWITCH = "twisted.web.http._GenericHTTPChannelProtocol"
_H2 = "twisted.web._http2.H2Connection"

#: The private names this module relies on, as (object, attribute) pairs the pin test checks.
PRIVATE_NAMES = (
    (_CHANNEL, "_receivedHeaderSize"),
    (_CHANNEL, "_receivedHeaderCount"),
    (_CHANNEL, "_handlingRequest"),
    (_CHANNEL, "_abortingCall"),
    (_CHANNEL, "_path"),
    (_CHANNEL, "_networkProducer"),
    (_CHANNEL, "_respondToBadRequestAndDisconnect"),
    (_CHANNEL, "_send100Continue"),
    (_CHANNEL, "_protocolUpgradeForWebsockets"),
    ("twisted.web.http", "_GenericHTTPChannelProtocol"),
    (_SWITCH, "_channel"),
    (_SWITCH, "_negotiatedProtocol"),
    (_SWITCH, "_requestFactory"),
    (_SWITCH, "_site"),
    (_SWITCH, "_factory"),
    (_SWITCH, "_timeOut"),
    (_SWITCH, "_callLater"),
    ("twisted.web._http2", "H2Connection"),
    (_H2, "_streamIsActive"),
    (_H2, "_tryToWriteControlData"),
    (_H2, "_requestDone"),
    ("twisted.web._http2.H2Stream", "_conn"),
    ("twisted.web.http_headers.Headers", "_rawHeaders"),
    ("twisted.web.resource", "_IEncodingResource"),
    ("twisted.web.resource", "_computeAllowedMethods"),
    ("twisted.web.server.Request", "_encoder"),
    ("twisted.web.http.Request", "_log"),
    ("twisted.web.http.Request", "_disconnected"),
    ("twisted.web.http.HTTPFactory", "_logDateTime"),
    ("twisted.web.http", "_escape"),
)


class LimitedHTTPChannel(HTTPChannel):
    """L{HTTPChannel} with its private counters and answers behind public names."""

    @property
    def handling_request(self) -> bool:
        """Whether a request is being handled (its headers are in, it is not done)."""
        return bool(self._handlingRequest)

    @property
    def header_bytes_received(self) -> int:
        """Bytes of the current request's header block received so far."""
        return int(self._receivedHeaderSize)

    @property
    def header_fields_received(self) -> int:
        """Header fields of the current request received so far."""
        return int(self._receivedHeaderCount)

    @property
    def request_path(self) -> bytes:
        """The current request line's target, once it has been read (else C{b""})."""
        return getattr(self, "_path", b"") or b""

    def schedule_abort(self) -> None:
        """Abort the connection after C{abortTimeout} unless already due to (as Twisted's
        own C{loseConnection} timer does)."""
        if self.abortTimeout is not None and self._abortingCall is None:
            self._abortingCall = self.callLater(self.abortTimeout, self.forceAbortClient)

    def bad_request(self) -> None:
        """Hook: a malformed request (Twisted answers 400 and disconnects)."""
        super()._respondToBadRequestAndDisconnect()

    def may_continue(self) -> bool:
        """Hook: whether to answer C{Expect: 100-continue} (default: yes)."""
        return True

    def _respondToBadRequestAndDisconnect(self) -> None:
        self.bad_request()

    def _send100Continue(self) -> None:
        if self.may_continue():
            super()._send100Continue()


class SwitchingHTTPProtocol(_GenericHTTPChannelProtocol):
    """Twisted's HTTP/1.1-or-HTTP/2 switch, with its state behind public names."""

    @property
    def current_channel(self) -> Any:
        """The channel speaking now: the HTTP/1.1 channel, or the HTTP/2 connection."""
        return self._channel

    @property
    def negotiated(self) -> bytes | None:
        """The protocol ALPN chose once this connection has switched (C{b"h2"}), else None."""
        return self._negotiatedProtocol

    def left_http1(self, channel: Any) -> None:
        """Hook: C{channel} (HTTP/1.1) no longer speaks; the connection becomes HTTP/2."""

    def switch_to_h2(self, transport: Any, reactor: Any) -> None:
        """
        Become HTTP/2 now, on C{reactor}, as Twisted's switch does on the global one:
        the HTTP/2 connection takes over the transport and the producer.
        """
        old: Any = self._channel  # HTTP/1.1's channel until now
        producer = old._networkProducer
        producer.unregisterProducer()
        self.left_http1(old)
        h2: Any = H2Connection(reactor=reactor)
        h2.requestFactory = self._requestFactory
        h2.site = self._site
        h2.factory = self._factory
        h2.timeOut = self._timeOut
        h2.callLater = self._callLater
        self._channel = h2
        # Twisted annotates its class default (None) only; it stores ALPN tokens here too.
        self._negotiatedProtocol = b"h2"  # type: ignore[assignment]
        h2.makeConnection(transport)
        producer.registerProducer(h2, True)


def answer_h2_stream(stream: Any, send: Callable[[Any, int], None], why: str) -> None:
    """
    Answer an HTTP/2 C{stream} before its request is complete: C{send(h2, stream_id)}
    writes the frames with the h2 connection C{h2}; once they are out, the stream is
    ended with C{ConnectionLost(why)} and forgotten. Nothing happens for a stream that
    is no longer active.
    """
    conn = stream._conn
    stream_id = stream.streamID
    if not conn._streamIsActive(stream_id):
        return
    send(conn.conn, stream_id)
    if conn._tryToWriteControlData():
        stream.connectionLost(Failure(ConnectionLost(why)))
        conn._requestDone(stream_id)


def raw_headers(headers: Headers) -> dict[bytes, list[bytes]]:
    """C{headers}' own dict: canonical names to their values (read it, write to it)."""
    return headers._rawHeaders


def use_encoder(request: Any, resource: Any) -> None:
    """What Twisted's C{process} does before rendering: use the resource's encoder."""
    if _IEncodingResource.providedBy(resource):
        request._encoder = resource.getEncoder(request)


def allowed_methods(resource: Any) -> list[bytes]:
    """The methods C{resource} has C{render_*} for (Twisted's own C{405} list)."""
    return list(_computeAllowedMethods(resource))


def request_log(request: Any) -> Any:
    """The request's logger (Twisted's, with its namespace)."""
    return request._log


def request_disconnected(request: Any) -> bool:
    """Whether the request's connection is gone."""
    return bool(request._disconnected)


def log_timestamp(factory: Any) -> str | None:
    """The factory's access-log timestamp, refreshed once a second (None before it starts)."""
    return factory._logDateTime


def escape_log_field(value: bytes) -> str:
    """A request field as Twisted's access log writes it (so it cannot forge lines)."""
    return _escape(value)


def can_upgrade_to_websocket(channel: object) -> bool:
    """Whether C{channel} can hand its connection to a WebSocket (HTTP/1.1 only)."""
    return hasattr(channel, "_protocolUpgradeForWebsockets")
