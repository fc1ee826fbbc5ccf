"""
IRC over WebSocket at C{/irc} (the IRCv3 WebSocket specification): browser IRC clients
reach the hub through the web service, running the IRC door's own session.

    IRCSocketResource   the upgrade: the WebSocket door's refusals (403 origin, 426,
                        400 over HTTP/2, 503 without a hub), then a handshake that names
                        the subprotocol chosen (L{choose_subprotocol})
    IRCSocketFactory    the door's settings (L{IRCWebSettings}), counters, open sockets
                        and drain: the WebSocket chat door's factory, building these
    IRCSocket           the WebSocket chat door's adapter (frame guard, bounded outbox,
                        keepalive, bounded close) carrying IRC lines: one message each
                        way per line, text or binary as negotiated, and the flood
                        pacing's timer

Everything the WebSocket chat door limits is limited here the same way and by the same
options (C{--ws-max-message}, C{--ws-send-queue}, C{--ws-ping-interval},
C{--ws-origin}, the site's connection caps); the IRC door's limits (the line length,
the hub's flood rate and its fake lag, the error budget) come with its session. Text
and binary messages are both taken whichever subprotocol was chosen (as Ergo does);
what the server sends follows the subprotocol.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure
from twisted.web.server import Request
from wsproto.utilities import ProtocolError

from netsuite._twisted.websocket import accept_websocket
from netsuite.base._metrics import Counters
from netsuite.chat._hub import Hub
from netsuite.chat._irc_render import IRCRenderer
from netsuite.chat._pacing import PacedInput
from netsuite.web._chatws import (
    ChatSocket,
    ChatSocketConfig,
    ChatSocketFactory,
    ChatSocketResource,
)
from netsuite.web._ircws_session import BINARY, IRCWebSession, choose_subprotocol
from netsuite.web._ircws_settings import DEFAULT_PATH, IRCWebSettings, check_path

__all__ = [
    "DEFAULT_PATH",
    "IRCSocket",
    "IRCSocketFactory",
    "IRCSocketResource",
    "IRCWebSettings",
    "check_path",
    "install_irc_socket",
]


class IRCSocket(PacedInput, ChatSocket):
    """One IRC client's WebSocket: messages in, one line each, through its session."""

    factory: IRCSocketFactory
    session: IRCWebSession
    message_size = staticmethod(len)

    def __init__(
        self, factory: IRCSocketFactory, request: Request, subprotocol: str | None
    ) -> None:
        self.subprotocol = subprotocol
        self.binary = subprotocol == BINARY
        super().__init__(factory, request)
        self.log_fields["subprotocol"] = subprotocol or "-"

    def make_session(self) -> IRCWebSession:
        factory = self.factory
        settings = factory.settings
        return IRCWebSession(
            factory.hub, self.outbox.send, self.close, server_name=settings.server_name,
            password=settings.password, motd=settings.motd, max_line=factory.hub.text_max,
            created=factory.created, renderer=factory.renderer,
        )  # fmt: skip

    def textMessageReceived(self, message: str) -> None:
        self.factory.counters["received"] += 1
        self._pace(self.session.message_received(message.encode("utf-8")))

    def bytesMessageReceived(self, data: bytes | bytearray) -> None:
        self.factory.counters["received"] += 1
        self._pace(self.session.message_received(bytes(data)))

    def _write(self, line: bytes) -> None:  # type: ignore[override]  # lines are bytes here
        transport = self.transport
        if transport is None or self.closing:
            return
        try:
            if self.binary:
                transport.sendBytesMessage(line)
            else:
                transport.sendTextMessage(line.decode("utf-8", "replace"))
        except ProtocolError:
            self.closing = True  # the peer's close came in and was answered
            self.session.lost("closed by the client")
            return
        self.bytes_out += len(line)

    def connectionLost(self, reason: Failure) -> None:
        self._stop_pacing()
        super().connectionLost(reason)


class IRCSocketFactory(ChatSocketFactory):
    """Builds an L{IRCSocket} per upgrade; the door's settings, counters and sockets."""

    def __init__(
        self,
        hub: Hub,
        *,
        clock: IReactorTime,
        config: ChatSocketConfig | None = None,
        settings: IRCWebSettings | None = None,
        counters: Counters | None = None,
        name: str = "chat/irc-ws",
    ) -> None:
        super().__init__(hub, clock=clock, config=config, counters=counters, name=name)
        self.settings = settings or IRCWebSettings()
        self.renderer = IRCRenderer(self.settings.server_name, hub)
        self.created = clock.seconds()

    def build(self, request: Request, subprotocol: str | None) -> IRCSocket:
        return IRCSocket(self, request, subprotocol)

    def buildProtocol(self, request: Request) -> IRCSocket:
        return self.build(request, None)


class IRCSocketResource(ChatSocketResource):
    """The IRC WebSocket: the chat WebSocket's checks, then a subprotocol handshake."""

    factory: IRCSocketFactory | None

    def upgrade(self, request: Request) -> bytes | int:
        factory = self.factory
        assert factory is not None  # render_GET answered 503 without one
        return accept_websocket(request, choose_subprotocol, factory.build)


def install_irc_socket(
    site: Any,
    hub: Hub | None,
    *,
    clock: IReactorTime,
    config: ChatSocketConfig | None,
    settings: IRCWebSettings,
) -> IRCSocketFactory | None:
    """
    Put the IRC WebSocket on a built L{netsuite.web._site.WebSite} at C{settings.path}
    (a child of the root: it wins over a static file of that name), its counters in the
    site's stats registry. L{None} when the path is off or there is no hub.
    """
    if settings.path is None or hub is None:
        return None
    factory = IRCSocketFactory(hub, clock=clock, config=config, settings=settings)
    site.root.putChild(settings.path[1:].encode(), IRCSocketResource(factory))
    if site.stats is not None:
        site.stats.register_factory(factory, factory.name)
    return factory
