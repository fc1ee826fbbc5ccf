"""
A WebSocket upgrade that names a subprotocol (C{Sec-WebSocket-Protocol}), over
Twisted's WebSocket layer (L{twisted.web.websocket}).

Why no public API serves: L{twisted.web.websocket.WebSocketResource.render_GET} answers
every upgrade with wsproto's C{AcceptConnection()} and no subprotocol, and nothing lets
a resource or its factory choose one. A browser that asks for subprotocols (IRC over
WebSocket asks for C{binary.ircv3.net} or C{text.ircv3.net}) fails a handshake whose
answer names none (RFC 6455 4.1). L{accept_websocket} is Twisted's C{render_GET} with
the subprotocol passed to C{AcceptConnection}: it builds the same wire protocol (the
private C{_WebSocketWireProtocol}, with C{serverBootstrap}) and hands the connection over
the same way (the channel's private C{_protocolUpgradeForWebsockets}). The handshake
itself is wsproto's public API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.logger import Logger
from twisted.web.server import NOT_DONE_YET, Request
from twisted.web.websocket import WebSocketProtocol
from wsproto import ConnectionType
from wsproto.events import AcceptConnection
from wsproto.events import Request as WSRequest
from wsproto.handshake import H11Handshake
from wsproto.utilities import RemoteProtocolError

__all__ = ["PRIVATE_NAMES", "accept_websocket"]

_IMPL = "twisted.web._websocket_impl"

#: The private names this module relies on, as (object, attribute) pairs the pin test checks.
PRIVATE_NAMES = (
    (_IMPL, "_WebSocketWireProtocol"),
    (_IMPL, "serverBootstrap"),
    ("twisted.web.http.HTTPChannel", "_protocolUpgradeForWebsockets"),
)

log = Logger()


def accept_websocket(
    request: Request,
    choose: Callable[[list[str]], str | None],
    build: Callable[[Request, str | None], WebSocketProtocol],
) -> bytes | int:
    """
    Upgrade C{request} to a WebSocket: C{choose(offered)} picks the subprotocol from the
    ones the client asked for (L{None}: answer with none), C{build(request, chosen)} makes
    the protocol. A malformed upgrade gets Twisted's own 400.
    """
    from twisted.web._websocket_impl import _WebSocketWireProtocol, serverBootstrap

    handshake = H11Handshake(ConnectionType.SERVER)
    raw = request.requestHeaders.getAllRawHeaders()
    headers = [(name, value) for name, values in raw for value in values]
    try:
        handshake.initiate_upgrade_connection(headers, request.path)
    except RemoteProtocolError as e:
        log.info("{request} is no WebSocket upgrade: {error}", request=request, error=e)
        request.setResponseCode(400)
        request.setHeader(b"content-type", b"text/plain")
        return b"websocket protocol negotiation error"
    offered = next((e.subprotocols for e in handshake.events() if isinstance(e, WSRequest)), [])
    chosen = choose(list(offered))
    protocol = build(request, chosen)
    data = handshake.send(AcceptConnection(subprotocol=chosen))
    connection = handshake.connection
    channel: Any = request.channel
    transport = channel.transport
    assert connection is not None and transport is not None
    wire = _WebSocketWireProtocol(connection, serverBootstrap, protocol)
    channel._protocolUpgradeForWebsockets(wire)
    transport.write(data)
    protocol.negotiationFinished()
    return NOT_DONE_YET
