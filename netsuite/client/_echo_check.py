"""
C{netsuite echo --count}'s Twisted adapters: L{StreamCheckProtocol} (TCP, TLS) and
L{DatagramCheckProtocol} (UDP) feed a sans-IO check (L{netsuite.client._check.StreamCheck},
L{netsuite.client._check.DatagramCheck}) the bytes and times it needs and send what it says.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from cryptography import x509
from twisted.internet import error as net_error
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IHandshakeListener,
    IReactorTime,
    ISSLTransport,
    ITCPTransport,
)
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure
from zope.interface import implementer

from netsuite.client._check import (
    DatagramCheck,
    StreamCheck,
)
from netsuite.client._common import (
    Timer,
    TLSHandshakeError,
    is_tls_failure,
    set_nodelay,
    tls_peer_chain,
)
from netsuite.client._datagram_adapter import SessionDatagramProtocol

__all__ = ["DatagramCheckProtocol", "StreamCheckProtocol"]


@implementer(IHandshakeListener)
class StreamCheckProtocol(Protocol):
    """
    Runs a L{StreamCheck} over a TCP or TLS connection.

    Over TLS the first message waits for the handshake to finish (at most C{timeout}),
    so that round trips measure echoes, not the handshake. C{finished} fires with the
    session once the connection is closed; it fails with the connection's reason instead
    when the connection ended before a single byte came back and the reason is a TLS
    failure (so the caller can say "TLS verification failed" rather than "message 0 not
    echoed"). C{now} is the clock round trips are measured with (a monotonic,
    fine-grained one in real runs); C{clock} schedules timeouts.
    """

    transport: ITCPTransport  # set before startProtocol; see netsuite.base._transports

    def __init__(
        self,
        session: StreamCheck,
        clock: IReactorTime,
        now: Callable[[], float] | None = None,
    ) -> None:
        self.session = session
        self.clock = clock
        self.now = now or clock.seconds
        self.finished: Deferred[StreamCheck] = Deferred()
        self.peer_chain: list[x509.Certificate] = []
        self._received_any = False
        self._started = False
        self._handshake_timed_out = False
        self._closing = False
        self._timer = Timer(clock, self.now, self._expire)

    def connectionMade(self) -> None:
        set_nodelay(self.transport)
        if ISSLTransport.providedBy(self.transport):
            self._timer.set(self.now() + self.session.timeout)  # for the handshake
        else:
            self._start()

    def handshakeCompleted(self) -> None:
        self._start()

    def _start(self) -> None:
        self._started = True
        self._send(self.session.start(self.now()))
        self._next()

    def dataReceived(self, data: bytes) -> None:
        self._received_any = True
        self._send(self.session.received(data, self.now()))
        self._next()

    def _expire(self) -> None:
        if self._closing or not self._started:
            # We asked to close (TLS waits for the peer's close_notify) and the peer never
            # answered, or the TLS handshake never finished: stop waiting.
            self._handshake_timed_out = not self._started
            self.transport.abortConnection()
            return
        self._send(self.session.expire(self.now()))
        self._next()

    def _send(self, payloads: list[bytes]) -> None:
        for payload in payloads:
            self.transport.write(payload)

    def _next(self) -> None:
        if self.session.done:
            if not self._closing:
                self._closing = True
                self._timer.set(self.now() + self.session.timeout)
                self.transport.loseConnection()
        else:
            self._timer.set(self.session.next_deadline())

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._timer.cancel()
        self.peer_chain = tls_peer_chain(self.transport)
        if not self.session.done:
            if not self._received_any and is_tls_failure(reason):
                self.finished.errback(reason)
                return
            if not self._started:
                if self._handshake_timed_out:
                    why = f"no answer within {self.session.timeout:g}s"
                elif reason.check(net_error.ConnectionDone):
                    why = "the server closed the connection"
                else:
                    why = reason.getErrorMessage()
                self.finished.errback(TLSHandshakeError(why))
                return
            if reason.check(net_error.ConnectionDone):
                why = "connection closed by the server"
            else:
                why = f"connection lost: {reason.getErrorMessage()}"
            self.session.connection_lost(self.now(), why)
        self.finished.callback(self.session)


class DatagramCheckProtocol(SessionDatagramProtocol[DatagramCheck]):
    """
    Runs a L{DatagramCheck} over a UDP socket connected to C{address} (an IP and a port).

    Connected, so that only the server's replies are received and an ICMP "port
    unreachable" is reported (L{connectionRefused}) instead of looking like loss.
    C{finished} fires with the session when it is done; the caller stops the port.
    """

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        self._send(self.session.received(datagram, self.now()))
        self._next()

    def connectionRefused(self) -> None:
        self.session.refused(self.now())
        self._next()

    def _send_one(self, payload: bytes) -> None:
        # A full socket buffer drops a datagram the way the network may: the message
        # is counted lost when its time is up.
        with contextlib.suppress(OSError, net_error.MessageLengthError):
            self.transport.write(payload)

    def stopProtocol(self) -> None:
        """
        The port stopped: ours when done, else the reactor's doing. The poll-like
        reactors (epoll, poll) drop a connected UDP port on the socket error an ICMP "port
        unreachable" leaves, instead of calling L{connectionRefused} (Twisted issues
        #5377, #6467): so an unexpected stop is a refusal.
        """
        self._timer.cancel()
        if not self.session.done:
            self.session.refused(self.now())
            self._next()
