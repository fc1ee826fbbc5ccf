"""
What every chat door's Twisted adapter shares: a bounded outbox, and the hub told of
every way a connection can end.

A subclass builds its session (the door's sans-IO logic, which is the hub's member) in
L{ChatDoor.make_session} and feeds it bytes; this base wires the session's output
through an L{Outbox} registered as the transport's producer, so a slow reader is cut off
at C{send_queue} bytes instead of slowing the room or growing memory.
"""

from __future__ import annotations

from typing import Any, cast

from OpenSSL.crypto import X509
from twisted.internet.interfaces import IHandshakeListener, INegotiated, ISSLTransport
from twisted.internet.protocol import connectionDone
from twisted.python.failure import Failure
from zope.interface import implementer

from netsuite.chat._hub import Hub
from netsuite.chat._pacing import PacedInput
from netsuite.stream._door import DoorFactory, StreamDoor
from netsuite.stream._outbox import DoorOutbox
from netsuite.stream._write import corked
from netsuite.tls._contexts import peer_identity

__all__ = ["ChatDoor", "ChatDoorFactory"]


@implementer(IHandshakeListener)
class ChatDoor(PacedInput, StreamDoor):
    """A connection on a chat door; C{session} is its member of the hub."""

    factory: ChatDoorFactory
    session: Any = None
    outbox: DoorOutbox

    def connectionMade(self) -> None:
        super().connectionMade()
        factory = self.factory
        self.outbox = DoorOutbox(self, factory.send_queue)
        self.transport.registerProducer(self.outbox, True)
        self.session = self.make_session()
        if not INegotiated.providedBy(self.transport):  # TLS (Twisted marks it so) waits
            self.begin(None)

    def handshakeCompleted(self) -> None:
        """
        TLS is up: a verified client certificate's name becomes this member's identity
        (its nick, held for it alone); then the session begins.
        """
        super().handshakeCompleted()  # the TLS details join the log fields
        tls = cast(ISSLTransport, self.transport)  # a handshake completed: TLS is under us
        # Twisted types the certificate as object; its TLS transport gives pyOpenSSL's.
        identity = peer_identity(cast("X509 | None", tls.getPeerCertificate()))
        if identity is not None and self.factory.hub.reserve(identity):
            self.session.identity = identity
            self.add_log_fields({"client_identity": identity})
            self.factory.log.info(
                "{name} {peer}: certificate identity {identity}",
                **self.log_fields, name=self.factory.name, identity=identity,
            )  # fmt: skip
        else:
            identity = None
        self.begin(identity)

    def make_session(self) -> Any:
        """The door's session (the hub member), not yet started."""
        raise NotImplementedError

    def begin(self, identity: str | None) -> None:
        """Start the session: at once over plain TCP, after the handshake over TLS."""

    def data_received(self, data: bytes) -> None:
        with corked():  # one write per member for everything this chunk makes them get
            self.session.data_received(data)
        self._pace(self.session.pacer.wait())

    def close(self, reason: str) -> None:
        """The session is done: flush what it said, then close."""
        self.close_reason = reason
        self.finish()

    def before_finish(self) -> None:
        self.outbox.flush()

    def going_away(self, reason: str) -> None:
        """
        The server drains: the door's last words (L{farewell}; the hub's shutdown notice
        went to every member first), then the outbox flushes and the connection closes.

        The session is marked closed and removed from the hub without a quit
        (L{Hub.remove}): a quit is news for the other members, and at shutdown a thousand
        of them would each be told of the other 999 leaving (a million lines written to
        sockets that are closing).
        """
        session = self.session
        if session is not None and not session.closed:
            self.farewell(reason)
            session.closed = True
            self.factory.hub.remove(session)
        super().going_away(reason)

    def farewell(self, reason: str) -> None:
        """Hook: what the door's protocol says last when the server shuts down."""

    def overflow(self, reason: str) -> None:
        """The outbox passed its bound: this reader is too slow. Cut it off now."""
        self.factory.counters["disconnected.send_queue"] += 1
        self.factory.log.warn(
            "{name} {peer}: {reason}, disconnecting", **self.log_fields,
            name=self.factory.name, reason=reason, limit="send-queue",
            limit_value=self.factory.send_queue,
        )  # fmt: skip
        self.session.closed = True
        self.close_reason = reason
        self.factory.hub.quit(self.session, reason)
        self.transport.abortConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._stop_pacing()
        session = self.session
        if session is not None and not session.closed:
            session.closed = True
            self.factory.hub.quit(session, "connection lost")
        self.outbox.stopProducing()
        super().connectionLost(reason)


class ChatDoorFactory(DoorFactory):
    """
    @ivar hub: the hub every connection of this door joins.
    @ivar send_queue: bytes a member may have waiting before it is cut off.
    @ivar max_line: longest line accepted, in bytes.
    """

    def __init__(
        self,
        name: str,
        hub: Hub,
        *,
        send_queue: int = 1 << 20,
        max_line: int = 4096,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, **kwargs)
        self.hub = hub
        self.send_queue = send_queue
        self.max_line = max_line
