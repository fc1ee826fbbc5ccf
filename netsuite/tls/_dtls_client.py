"""
The DTLS 1.2 client adapter: a handshake with one server, its certificate and name
verified, then the wrapped L{DatagramProtocol} started with a transport that encrypts.

The server twin is L{netsuite.tls._dtls_server}; the options (trust, name check) come
from L{netsuite.tls._dtls_context.client_options}.
"""

from __future__ import annotations

import contextlib
from typing import Any

from cryptography import x509
from twisted.internet import defer, error
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import DatagramProtocol

from netsuite.base._addresses import peer_key_of
from netsuite.base._transports import IConnectedUDPTransport
from netsuite.tls._dtls_context import DTLSClientOptions
from netsuite.tls._dtls_server import Address
from netsuite.tls._dtls_session import (
    DEFAULT_MTU,
    DatagramReceived,
    DTLSError,
    Event,
    HandshakeComplete,
    SessionClosed,
)

__all__ = ["DTLSClientProtocol", "DTLSHandshakeError"]


class DTLSHandshakeError(Exception):
    """A client's DTLS handshake failed; the message says why, for the user."""


class _ClientTransport:
    """What the wrapped client protocol writes to: one server, every write encrypted."""

    def __init__(self, client: DTLSClientProtocol) -> None:
        self._client = client

    def write(self, datagram: bytes, addr: Address | None = None) -> None:
        if addr is not None and (addr[0], addr[1]) != self._client.address:
            raise ValueError(f"this DTLS session only reaches {peer_key_of(self._client.address)}")
        self._client.send(datagram)

    def writeSequence(self, seq: Any, addr: Address | None = None) -> None:
        self.write(b"".join(seq), addr)

    def connect(self, host: str, port: int) -> None:
        """Already connected, to the server; connecting there again is accepted."""
        if (host, port) != self._client.address:
            raise ValueError(f"this DTLS session only reaches {peer_key_of(self._client.address)}")

    def getHost(self) -> Any:
        return self._client.transport.getHost()

    def stopListening(self) -> Any:
        return self._client.transport.stopListening()

    def get_peer_certificate(self) -> x509.Certificate | None:
        """The server's certificate."""
        return self._client.session.connection.get_peer_certificate(as_cryptography=True)


class DTLSClientProtocol(DatagramProtocol):
    """
    DTLS to one server at C{address} (an IP and a port), under a wrapped protocol.

    Listen with it on any UDP port (C{reactor.listenUDP(0, client)}); it connects the port
    to C{address}, handshakes, checks the server's certificate and name (C{options}, from
    L{client_options}), and only then starts C{wrapped} with a transport whose C{write}
    encrypts. Decrypted datagrams reach C{wrapped.datagramReceived(data, address)}.

    @ivar handshake: fires with the L{HandshakeComplete} event, or fails with
        L{DTLSHandshakeError} (refused, timed out, certificate or name rejected).
    @ivar closed: fires with the L{SessionClosed} event when the session ends for any
        reason (the server's close_notify, L{close}, the port stopping).
    """

    transport: IConnectedUDPTransport  # set before startProtocol; see netsuite.base._transports

    noisy = False

    def __init__(
        self,
        wrapped: DatagramProtocol,
        address: Address,
        options: DTLSClientOptions,
        clock: IReactorTime,
        *,
        mtu: int = DEFAULT_MTU,
        handshake_timeout: float = 10.0,
    ) -> None:
        self.wrapped = wrapped
        self.address = (address[0], address[1])
        self.options = options
        self.clock = clock
        self.mtu = mtu
        self.handshake_timeout = handshake_timeout
        self.session = options.session(mtu)
        self.handshake: defer.Deferred[HandshakeComplete] = defer.Deferred()
        self.closed: defer.Deferred[SessionClosed] = defer.Deferred()
        self._timer: IDelayedCall | None = None
        self._deadline: IDelayedCall | None = None
        self._wrapped_started = False

    def startProtocol(self) -> None:
        self.transport.connect(*self.address)
        self._deadline = self.clock.callLater(self.handshake_timeout, self._give_up)
        self._handle(self.session.start())

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        self._handle(self.session.receive_datagram(datagram))

    def connectionRefused(self) -> None:
        """ICMP port unreachable: nothing listens there (or no longer)."""
        if not self.handshake.called:
            self._handle(self.session.abort("connection refused (nothing listening there?)"))
        else:
            self.wrapped.connectionRefused()

    def send(self, datagram: bytes) -> None:
        """Encrypt C{datagram} to the server (L{error.MessageLengthError} if too large)."""
        try:
            self.session.send(datagram)
        except DTLSError as e:
            if self.session.established:
                raise error.MessageLengthError(str(e)) from None
            return  # closed: dropped, as UDP would
        self._flush()

    def close(self) -> None:
        """Send close_notify and end the session (the caller stops the port)."""
        self._handle(self.session.close("closed by the client"))

    def doStop(self) -> None:
        # The transport is still there (DatagramProtocol.doStop drops it): say goodbye.
        self._handle(self.session.close("port stopped"))
        super().doStop()

    def _flush(self) -> None:
        datagrams = self.session.datagrams_to_send()
        if self.transport is None:
            return  # the port is gone
        for datagram in datagrams:
            # Lost, as UDP may lose it; OpenSSL retransmits handshake flights.
            with contextlib.suppress(OSError, error.MessageLengthError):
                self.transport.write(datagram)

    def _handle(self, events: list[Event]) -> None:
        self._flush()
        for event in events:
            if isinstance(event, HandshakeComplete):
                self._cancel_deadline()
                self.handshake.callback(event)
                self._wrapped_started = True
                # _ClientTransport does what IUDPTransport says, undeclared (it is not a port).
                self.wrapped.makeConnection(_ClientTransport(self))  # type: ignore[arg-type]
            elif isinstance(event, DatagramReceived):
                self.wrapped.datagramReceived(event.data, self.address)
            elif isinstance(event, SessionClosed):
                self._finish(event)
                return
        self._schedule()

    def _schedule(self) -> None:
        delay = self.session.timeout()
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if delay is not None:
            self._timer = self.clock.callLater(delay, self._retransmit)

    def _retransmit(self) -> None:
        self._timer = None
        self._handle(self.session.handle_timeout())

    def _give_up(self) -> None:
        self._deadline = None
        self._handle(self.session.abort(f"handshake timed out after {self.handshake_timeout:g} s"))

    def _cancel_deadline(self) -> None:
        if self._deadline is not None and self._deadline.active():
            self._deadline.cancel()
        self._deadline = None

    def _finish(self, event: SessionClosed) -> None:
        self._cancel_deadline()
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if not self.handshake.called:
            self.handshake.errback(DTLSHandshakeError(event.reason))
        if self._wrapped_started:
            self._wrapped_started = False
            self.wrapped.doStop()
        if not self.closed.called:
            self.closed.callback(event)
