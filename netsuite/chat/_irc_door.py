"""
The IRC door's Twisted adapter: bytes between the transport and an L{IRCSession}.

L{IRCChat} owns only what needs a reactor: the outbox and its backpressure (from
L{ChatDoor}), the PING keepalive's timer, and aborting a peer that stopped answering.
The session (L{netsuite.chat._irc_session}) holds the IRC logic; L{IRCChatFactory} the
door's settings and the renderer its members share.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.interfaces import INegotiated
from twisted.internet.protocol import connectionDone
from twisted.python.failure import Failure

from netsuite.chat._door import ChatDoor, ChatDoorFactory
from netsuite.chat._hub import Hub
from netsuite.chat._irc_render import IRCRenderer, wire
from netsuite.chat._irc_session import IRCSession

__all__ = ["IRCChat", "IRCChatFactory"]


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
        """
        Nothing to send first: IRC clients speak first (CAP, NICK, USER). Over TLS the
        session is marked secure (WHOIS 671).
        """
        self.session.secure = INegotiated.providedBy(self.transport)

    def farewell(self, reason: str) -> None:
        """C{ERROR :Closing Link: nick (server shutting down)}, as ircds say it."""
        session = self.session
        who = session.nick or "*"
        session.out.sendCommand("ERROR", (f":Closing Link: {who} ({wire(reason)})",))

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

    def connectionLost(self, reason: Failure = connectionDone) -> None:
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
        self.renderer = IRCRenderer(server_name, hub)
        self.created = self.clock.seconds()
