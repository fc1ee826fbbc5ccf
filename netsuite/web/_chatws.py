"""
The WebSocket chat door at C{/chat/ws}: Twisted's WebSocket (C{twisted.web.websocket})
carrying the JSON messages of L{WebChatSession}, a member of the chat hub.

    ChatSocketResource   the resource: refuses what may not upgrade (403 for a page from
                         another origin, 426 for a plain GET, 503 without a hub), then
                         lets Twisted's WebSocketResource do the handshake
    ChatSocketFactory    builds one ChatSocket per upgrade; holds the door's settings,
                         counters and open sockets; drains them on shutdown (1001)
    ChatSocket           the thin adapter between a WebSocket and its session: the
                         bounded outbox, the frame guard, the keepalive, the close

What it adds to Twisted's WebSocket layer, and how:

  - I{Backpressure and slow readers.} The socket's L{Outbox} (in UTF-8 bytes) is the
    connection's push producer (C{attachProducer}): while the kernel and Twisted keep up,
    messages are sent at once; once Twisted's buffer is full they wait in the outbox,
    counted in bytes, and past C{send_queue} bytes the reader is cut off (1008 "send
    queue exceeded") and leaves the hub at once, so it never slows a room or grows
    memory. (Twisted's HTTP channel is still registered as the connection's producer
    after the upgrade; it is detached first, as a transport takes one producer.)
  - I{Size caps.} Twisted gathers a message's frames however large it grows; a
    L{FrameGuard} reads the frame headers before Twisted does and closes with 1009 as
    soon as a frame or message is announced over its cap. It is put in front of the
    parser Twisted installs on the HTTP channel when it upgrades (the channel's
    C{dataReceived}): the one place this module leans on how Twisted upgrades, and a
    test fails if that changes.
  - I{Keepalive.} The HTTP channel's timers stop at the upgrade; after C{ping_interval}
    seconds without input the server pings, and a peer silent for C{ping_timeout} more is
    gone (its nick is freed, its rooms see it quit).
  - I{Bounded close.} A close frame is sent and the connection closed; a peer that does
    not read it is aborted after C{close_timeout} seconds.

The module is above 400 lines because it is the WebSocket door's Twisted adapter: the
upgrade resource, the socket protocol and its factory share the guard, the outbox and
the drain; the door's logic is L{netsuite.web._chatws_session}.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime, ITCPTransport
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.iweb import IRequest
from twisted.web.server import NOT_DONE_YET, Request
from twisted.web.websocket import WebSocketResource, WebSocketTransport
from wsproto.utilities import ProtocolError

from netsuite._twisted.http import can_upgrade_to_websocket
from netsuite.base._addresses import describe_address
from netsuite.base._logfields import close_reason, door_fields, next_conn_id, tls_fields
from netsuite.base._metrics import Counters
from netsuite.chat._hub import Hub
from netsuite.stream._outbox import Outbox
from netsuite.stream._write import corked
from netsuite.tls._contexts import peer_identity
from netsuite.web._chatws_session import CloseCode, WebChatSession
from netsuite.web._responses import error_body, finish_response
from netsuite.web._wsguard import FrameGuard, OriginPolicy

__all__ = [
    "ChatSocket",
    "ChatSocketConfig",
    "ChatSocketFactory",
    "ChatSocketResource",
]

#: The longest close reason a close frame carries (RFC 6455 5.5: 125 bytes with the code).
CLOSE_REASON_MAX = 123


@dataclass(frozen=True)
class ChatSocketConfig:
    """
    The WebSocket door's limits and policies; each is tested at its edge.

    @ivar origins: which pages may connect (default: the site's own origin only).
    @ivar max_frame: largest frame a client may send, in bytes (1009 beyond).
    @ivar max_message: largest message (all its frames), in bytes (1009 beyond).
    @ivar send_queue: bytes of messages waiting for a slow reader before it is cut off.
    @ivar ping_interval: seconds without input before the server pings (0: never).
    @ivar ping_timeout: seconds to answer that ping before being dropped.
    @ivar close_timeout: seconds a closing peer gets to read its close frame.
    @ivar request_rate, request_burst, request_kick, bad_limit: see L{WebChatSession}.
    @ivar server_name: the server's name in the welcome message.
    """

    origins: OriginPolicy = field(default_factory=OriginPolicy)
    max_frame: int = 1 << 16
    max_message: int = 1 << 16
    send_queue: int = 1 << 20
    ping_interval: float = 30.0
    ping_timeout: float = 30.0
    close_timeout: float = 5.0
    request_rate: float = 20.0
    request_burst: float = 50.0
    request_kick: int = 50
    bad_limit: int = 10
    server_name: str = "netsuite"


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


class ChatSocket:
    """
    One browser's WebSocket: bytes in through the guard, JSON in and out of its session.

    A subclass speaking another protocol over the same guard, outbox, keepalive and close
    (IRC: L{netsuite.web._ircws}) overrides L{make_session}, L{message_size}, C{_write}
    and the message callbacks; its session answers C{start()}, C{closed},
    C{end(code, reason)}, C{lost(reason)} and C{going_away(code, reason)}.
    """

    transport: WebSocketTransport | None = None
    #: What an outbox item costs against C{send_queue}, in bytes.
    message_size: Callable[[Any], int] = staticmethod(_utf8_size)
    #: The session: a L{WebChatSession} here, the subclass's own in a subclass.
    session: Any
    #: JSON texts here; what the subclass's session sends in a subclass.
    outbox: Outbox[Any]
    bytes_in = 0
    bytes_out = 0
    closing = False
    _inner: Callable[[bytes], None] | None = None
    _timer: IDelayedCall | None = None
    _abort: IDelayedCall | None = None
    _pinged = False
    _last_input = 0.0

    def __init__(self, factory: ChatSocketFactory, request: Request) -> None:
        self.factory = factory
        config = factory.config
        # The HTTP channel, dynamic on purpose: we replace the dataReceived Twisted's
        # upgrade binds on it, and call our WebChannel's detach where it has one.
        channel: Any = request.channel
        self.channel = channel
        self.tcp: ITCPTransport = channel.transport
        self.peer = describe_address(request.getClientAddress())
        self.origin = (request.getHeader(b"origin") or b"-").decode("latin-1")
        #: This socket's log fields: its own conn id, and the HTTP connection's it came on.
        self.conn = next_conn_id()
        self.log_fields = door_fields(factory.name, "ws", self.conn, self.peer)
        self.log_fields["http_conn"] = getattr(channel, "conn_id", 0)
        self.log_fields.update(tls_fields(self.tcp, peer_identity))  # a request came: TLS is up
        self.guard = FrameGuard(config.max_frame, config.max_message)
        self.outbox = Outbox(self._write, config.send_queue, self._overflow,
                             size=self.message_size)  # fmt: skip
        self.session = self.make_session()

    def make_session(self) -> Any:
        """The hub member this socket carries (its output goes to C{self.outbox.send})."""
        config = self.factory.config
        return WebChatSession(
            self.factory.hub, self.outbox.send, self.close, server_name=config.server_name,
            request_rate=config.request_rate, request_burst=config.request_burst,
            request_kick=config.request_kick, bad_limit=config.bad_limit,
            max_message=config.max_message,
        )  # fmt: skip

    # --- WebSocketProtocol ------------------------------------------------------------

    def negotiationStarted(self, transport: WebSocketTransport) -> None:
        self.transport = transport

    def negotiationFinished(self) -> None:
        """The 101 is on its way: take the connection over from the HTTP channel."""
        factory = self.factory
        channel = self.channel
        detach = getattr(channel, "detach", None)  # netsuite's WebChannel: stop its timers
        if callable(detach):
            detach()
        else:
            channel.setTimeout(None)
        transport = self.transport
        assert transport is not None
        with contextlib.suppress(RuntimeError):  # a transport with no producer registered
            transport.detachProducer()  # the HTTP channel's registration
        transport.attachProducer(self.outbox)
        factory.opened(self)
        inner = vars(channel).get("dataReceived")
        if inner is None:  # Twisted no longer upgrades this way: refuse rather than go uncapped
            factory.log.error("{name} {peer}: cannot guard frame sizes on this Twisted",
                              **self.log_fields, name=factory.name)  # fmt: skip
            self.close(CloseCode.INTERNAL, "server error")
            return
        self._inner = inner
        channel.dataReceived = self.data_received
        self._last_input = factory.clock.seconds()
        if factory.config.ping_interval > 0:
            self._timer = factory.clock.callLater(factory.config.ping_interval, self._tick)
        self.session.start()

    def data_received(self, data: bytes) -> None:
        """Raw bytes from the peer: through the guard, then to Twisted's parser."""
        self.bytes_in += len(data)
        self._last_input = self.factory.clock.seconds()
        self._pinged = False
        guard = self.guard
        if guard.breach is not None:
            return
        ok = guard.feed(data)
        inner = self._inner
        if ok and inner is not None:
            with corked():  # one write per line-door member for all this chunk makes
                inner(data if ok == len(data) else data[:ok])
        if guard.breach is not None:
            self.factory.counters["closed.too_big"] += 1
            self.factory.log.info("{name} {peer}: {breach}, closing", **self.log_fields,
                                  name=self.factory.name,
                                  breach=str(guard.breach))  # fmt: skip
            if self.session.closed:
                self.close(CloseCode.TOO_BIG, str(guard.breach))
            else:
                self.session.end(CloseCode.TOO_BIG, str(guard.breach))

    def textMessageReceived(self, message: str) -> None:
        self.factory.counters["received"] += 1
        self.session.text_received(message)

    def bytesMessageReceived(self, data: bytes | bytearray) -> None:
        self.factory.counters["closed.binary"] += 1
        self.session.binary_received()

    def pongReceived(self, payload: bytes) -> None:
        """Input like any other (the time of the last input is what the keepalive reads)."""

    def connectionLost(self, reason: Failure) -> None:
        for call in (self._timer, self._abort):
            if call is not None and call.active():
                call.cancel()
        self._timer = self._abort = None
        self.session.lost("connection lost")
        self.outbox.stopProducing()
        self.factory.closed(self, reason)

    # --- output -----------------------------------------------------------------------

    def _write(self, text: str) -> None:
        transport = self.transport
        if transport is None or self.closing:
            return
        try:
            transport.sendTextMessage(text)
        except ProtocolError:
            # The peer's close frame came in and was answered; the TCP close follows.
            self.closing = True
            self.session.lost("closed by the client")
            return
        self.bytes_out += _utf8_size(text)

    def _overflow(self, reason: str) -> None:
        """The outbox passed its bound: this reader is too slow. It leaves the hub now."""
        factory = self.factory
        factory.counters["disconnected.send_queue"] += 1
        factory.log.warn("{name} {peer}: {reason}, disconnecting", **self.log_fields,
                         name=factory.name, reason=reason, limit="send-queue",
                         limit_value=factory.config.send_queue)  # fmt: skip
        self.session.lost(reason)
        self.close(CloseCode.POLICY, "send queue exceeded")

    def close(self, code: int, reason: str) -> None:
        """
        Send a close frame and close; abort if the peer has not let go within
        C{close_timeout} seconds (it may not be reading at all).
        """
        if self.closing:
            return
        self.closing = True
        self.outbox.stopProducing()
        reason = reason.encode("utf-8")[:CLOSE_REASON_MAX].decode("utf-8", "ignore")
        transport = self.transport
        try:
            if transport is None:
                raise ProtocolError("not negotiated")
            # Twisted's WebSocketTransport protocol omits the reason its implementation takes.
            transport.loseConnection(code, reason)  # type: ignore[call-arg]  # see above
        except ProtocolError:
            self.tcp.loseConnection()
        clock = self.factory.clock
        self._abort = clock.callLater(self.factory.config.close_timeout, self.tcp.abortConnection)

    # --- keepalive --------------------------------------------------------------------

    def _tick(self) -> None:
        self._timer = None
        if self.closing:
            return
        factory = self.factory
        clock = factory.clock
        if self._pinged:
            factory.counters["closed.ping_timeout"] += 1
            factory.log.info("{name} {peer}: no answer to a ping, dropping",
                             **self.log_fields, name=factory.name)  # fmt: skip
            self.session.lost("ping timeout")
            self.closing = True
            self.outbox.stopProducing()
            self.tcp.abortConnection()
            return
        wait = factory.config.ping_interval - (clock.seconds() - self._last_input)
        if wait > 0:
            self._timer = clock.callLater(wait, self._tick)
            return
        self._pinged = True
        try:
            assert self.transport is not None
            self.transport.ping(b"netsuite")
        except ProtocolError:
            pass  # closing already; the timeout below ends it either way
        self._timer = clock.callLater(factory.config.ping_timeout, self._tick)


class ChatSocketFactory:
    """
    Builds a L{ChatSocket} per WebSocket upgrade; the door's settings, counters and open
    sockets (what C{StatsRegistry.register_factory} reports).

    @ivar hub: the hub every socket joins.
    @ivar clock: the reactor (or a test's clock) for timers.
    """

    log = Logger()

    def __init__(
        self,
        hub: Hub,
        *,
        clock: IReactorTime,
        config: ChatSocketConfig | None = None,
        counters: Counters | None = None,
        name: str = "chat/ws",
    ) -> None:
        self.hub = hub
        self.clock = clock
        self.config = config or ChatSocketConfig()
        self.name = name
        self.counters = counters if counters is not None else Counters(name)
        self.open: set[ChatSocket] = set()
        self._drained: Deferred[None] | None = None

    def buildProtocol(self, request: Request) -> ChatSocket:
        return ChatSocket(self, request)

    def opened(self, sock: ChatSocket) -> None:
        self.open.add(sock)
        self.counters["accepted"] += 1
        self.log.info("{name} {peer}: connected (origin {origin})", **sock.log_fields,
                      name=self.name, origin=sock.origin)  # fmt: skip

    def closed(self, sock: ChatSocket, reason: Failure) -> None:
        if sock not in self.open:
            return
        self.open.discard(sock)
        self.counters["bytes_in"] += sock.bytes_in
        self.counters["bytes_out"] += sock.bytes_out
        why, fields = close_reason(reason, True)
        self.log.info(
            "{name} {peer}: closed ({why}); {bytes_in} bytes in, {bytes_out} out",
            **fields, **sock.log_fields, name=self.name, why=why,
            bytes_in=sock.bytes_in, bytes_out=sock.bytes_out,
        )  # fmt: skip
        if not self.open and self._drained is not None:
            drained, self._drained = self._drained, None
            drained.callback(None)

    def drain(self, timeout: float) -> Deferred[None]:
        """
        Close every socket with 1001 ("going away"), then abort what is still open after
        C{timeout} seconds. Fires once all are closed (for C{stopService}).
        """
        done: Deferred[None] = Deferred()
        if not self.open:
            done.callback(None)
            return done
        self._drained = done
        for sock in list(self.open):  # no quit storm: each leaves the hub without news
            sock.session.going_away(CloseCode.GOING_AWAY, "server shutting down")
            sock.close(CloseCode.GOING_AWAY, "server shutting down")

        call = self.clock.callLater(timeout, self.abort)

        def disarm(result: Failure | None) -> Failure | None:
            if call.active():
                call.cancel()
            return result

        done.addBoth(disarm)
        return done

    def abort(self) -> None:
        """Drop every socket now: the drain timed out, or the operator said stop."""
        for sock in list(self.open):
            sock.tcp.abortConnection()


class ChatSocketResource(WebSocketResource):
    """
    C{/chat/ws}: the upgrade, for pages of an allowed origin over HTTP/1.1.

    Refusals are answered before any upgrade, counted in the factory's counters and
    logged: 403 (origin), 426 (not a WebSocket request; with C{Upgrade: websocket}),
    400 (HTTP/2: WebSockets over HTTP/2, RFC 8441, are not offered, so browsers use
    HTTP/1.1 for them), 503 (no hub in this process).
    """

    isLeaf = True
    allowed_methods = (b"GET", b"OPTIONS")
    #: None in a process without a hub: render_GET answers 503 before Twisted reads it.
    factory: ChatSocketFactory | None  # type: ignore[assignment]  # None: see above

    def __init__(self, factory: ChatSocketFactory | None) -> None:
        super().__init__(factory)  # type: ignore[arg-type]  # None: see the factory attribute

    def _refuse(self, request: IRequest, status: int, message: str, counter: str) -> int:
        factory = self.factory
        if factory is not None:
            factory.counters[counter] += 1
            peer = describe_address(request.getClientAddress())
            fields = door_fields(factory.name, "ws", next_conn_id(), peer)
            factory.log.info("{name} {peer}: {status} {message}", **fields,
                             name=factory.name, status=status, message=message)  # fmt: skip
        return finish_response(request, error_body(request, status, message))

    def render_GET(self, request: Request) -> bytes | int:
        if request.postpath not in ([], [b""]):
            return finish_response(request, error_body(request, 404, "no such page"))
        factory = self.factory
        if factory is None:
            return self._refuse(request, 503, "no chat hub in this process", "refused.no_hub")
        upgrade = (request.getHeader(b"upgrade") or b"").lower()
        if upgrade != b"websocket":
            request.setHeader(b"Upgrade", b"websocket")
            return self._refuse(request, 426, "this is a WebSocket: connect with one",
                                "refused.not_websocket")  # fmt: skip
        if not can_upgrade_to_websocket(getattr(request, "channel", None)):
            return self._refuse(request, 400, "WebSockets need HTTP/1.1 here",
                                "refused.not_http1")  # fmt: skip
        why = factory.config.origins.check(
            request.getHeader(b"origin"), request.getHeader(b"host"), request.isSecure()
        )
        if why is not None:
            return self._refuse(request, 403, why, "refused.origin")
        result = self.upgrade(request)
        if result != NOT_DONE_YET:
            factory.counters["refused.handshake"] += 1
        return result

    def upgrade(self, request: Request) -> bytes | int:
        """The handshake, once every check passed: Twisted's (no subprotocol)."""
        result: bytes | int = super().render_GET(request)
        return result

    def render_HEAD(self, request: Request) -> int:
        request.setHeader(b"Upgrade", b"websocket")
        return finish_response(request, error_body(request, 426, "connect with a WebSocket"))
