"""
The DTLS 1.2 server adapter: one UDP port, one DTLS session per verified source address,
under any L{DatagramProtocol}.

Twisted has no DTLS. L{DTLSServerProtocol} puts pyOpenSSL's (through the sans-IO pieces of
L{netsuite.tls._dtls_session}) under a wrapped datagram protocol. An address gets no state
and no bytes but a HelloVerifyRequest until it returns the cookie in it (an HMAC of its
address under a rotating secret), so a spoofed source can neither fill the table nor be
sent a certificate flight. Once the handshake completes, every decrypted datagram goes to
the wrapped protocol's C{datagramReceived(data, addr)}, and its C{transport.write(data,
addr)} encrypts to that peer: L{netsuite.echo.UDPEcho} and its guard run unchanged.

Retransmission is OpenSSL's (its own clock decides; the reactor's clock wakes it up). The
listener around it is L{netsuite.tls._dtls_endpoint}; the client twin,
L{netsuite.tls._dtls_client}.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from OpenSSL import SSL
from twisted.internet import error
from twisted.internet.interfaces import IDelayedCall, IReactorTime, IUDPTransport
from twisted.internet.protocol import AbstractDatagramProtocol, DatagramProtocol
from twisted.logger import Logger

from netsuite.base._addresses import peer_key_of
from netsuite.base._logfields import next_conn_id, split_name
from netsuite.base._metrics import Counters
from netsuite.limits._session_table import SessionTable
from netsuite.tls._dtls_session import (
    DEFAULT_MTU,
    CookieJar,
    DatagramReceived,
    DTLSError,
    DTLSSession,
    Event,
    HandshakeComplete,
    SessionClosed,
    client_random,
    is_client_hello,
    stateless_hello,
)

__all__ = ["DEFAULT_HANDSHAKE_TIMEOUT", "Address", "DTLSServerProtocol"]

Address = tuple[str, int]

#: Seconds a handshake may stay quiet (C{nstls:}'s default too); OpenSSL's own
#: retransmissions would otherwise keep a stalled one for minutes.
DEFAULT_HANDSHAKE_TIMEOUT = 10.0


@dataclass(eq=False)
class _Peer:
    """What the server keeps for one verified address."""

    addr: Address
    session: DTLSSession
    opened: float
    hello_random: bytes | None = None
    timer: IDelayedCall | None = None
    counts: dict[str, int] = field(default_factory=lambda: {"in": 0, "out": 0})
    #: The session's id in logs (L{netsuite.base._logfields.next_conn_id}).
    conn: int = field(default_factory=next_conn_id)


class _ServerTransport:
    """
    The transport the wrapped protocol writes to: C{write(data, addr)} encrypts to the
    session of C{addr}. Writing to an address without an established session drops the
    datagram (counted), as the network may.
    """

    def __init__(self, server: DTLSServerProtocol) -> None:
        self._server = server

    def write(self, datagram: bytes, addr: Address | None = None) -> None:
        if addr is None:
            raise ValueError("a DTLS server transport needs the peer address")
        self._server.send_to(datagram, addr)

    def writeSequence(self, seq: Any, addr: Address | None = None) -> None:
        self.write(b"".join(seq), addr)

    def getHost(self) -> Any:
        return self._server.transport.getHost()

    def stopListening(self) -> Any:
        return self._server.transport.stopListening()

    def connect(self, host: str, port: int) -> None:
        raise NotImplementedError("a DTLS server transport serves many peers; it cannot connect")

    def get_peer_certificate(self, addr: Address) -> x509.Certificate | None:
        """The certificate the peer at C{addr} presented (mutual DTLS), if any."""
        peer = self._server.sessions.get(addr)
        if peer is None or not peer.session.established:
            return None
        return peer.session.connection.get_peer_certificate(as_cryptography=True)


class DTLSServerProtocol(DatagramProtocol):
    """
    One UDP port, one DTLS session per verified source address, one wrapped protocol.

    @ivar max_sessions: sessions kept at once; a newly verified peer evicts the least
        recently active one (told with close_notify).
    @ivar idle_timeout: seconds an established session may stay quiet.
    @ivar handshake_timeout: seconds a handshake may stay quiet before it is dropped.
    @ivar mtu: the largest datagram of a handshake flight.
    @ivar counters: C{cookies_sent}, C{cookies_verified}, C{ignored} (datagrams from
        unverified addresses that were not a ClientHello or that OpenSSL refused),
        C{sessions}, C{handshakes}, C{closed.<why>}, C{datagrams_in}, C{datagrams_out},
        C{dropped.no_session}, C{bytes_sent_unverified} (every byte ever sent to an
        address before it proved it receives: HelloVerifyRequests only).
    """

    log = Logger()
    noisy = False
    transport: IUDPTransport  # set before startProtocol; see netsuite.base._transports

    def __init__(
        self,
        wrapped: AbstractDatagramProtocol,
        context: SSL.Context,
        cookies: CookieJar,
        clock: IReactorTime,
        *,
        label: str | None = None,
        max_sessions: int = 1024,
        idle_timeout: float = 300.0,
        handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
        mtu: int = DEFAULT_MTU,
        counters: Counters | None = None,
    ) -> None:
        self.wrapped = wrapped
        self.context = context
        self.cookies = cookies
        self.clock = clock
        self.label = label or getattr(wrapped, "name", None) or "dtls"
        self.sessions: SessionTable[Address, _Peer] = SessionTable(max_sessions)
        self.idle_timeout = idle_timeout
        self.handshake_timeout = handshake_timeout
        self.mtu = mtu
        self.counters = counters if counters is not None else Counters(self.label)
        self._sweeper: IDelayedCall | None = None
        self._last_log = float("-inf")
        self._unlogged = 0

    # Twisted hooks

    def startProtocol(self) -> None:
        # _ServerTransport does what IUDPTransport says but does not declare it (not a port).
        self.wrapped.makeConnection(_ServerTransport(self))  # type: ignore[arg-type]

    def doStop(self) -> None:
        # Before the port forgets its socket (DatagramProtocol.doStop drops the
        # transport first): tell every established peer the session is over.
        for _, peer in self.sessions.items():
            self._end(peer, peer.session.close("server stopping"))
        if self._sweeper is not None and self._sweeper.active():
            self._sweeper.cancel()
        self._sweeper = None
        super().doStop()

    def stopProtocol(self) -> None:
        self.wrapped.doStop()

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        addr = (addr[0], addr[1])
        now = self.clock.seconds()
        peer = self.sessions.get(addr)
        if peer is not None and not self._is_new_handshake(peer, datagram):
            self.sessions.touch(addr, now)
            peer.counts["in"] += 1
            self._handle(peer, peer.session.receive_datagram(datagram))
            return
        # An unknown address, or a new ClientHello from the address of an established
        # session (a client that restarted, RFC 6347 4.2.8): the cookie comes first.
        self.cookies.rotate_if_due(now)
        outcome = stateless_hello(self.context, datagram, peer_key_of(addr))
        if outcome.verdict == "cookie_sent":
            self.counters["cookies_sent"] += 1
            self.counters["bytes_sent_unverified"] += len(outcome.reply)
            self._write(outcome.reply, addr)
            return
        if outcome.connection is None:
            self.counters["ignored"] += 1
            self._log_ignored(addr, now)
            return
        self.counters["cookies_verified"] += 1
        session = DTLSSession(outcome.connection, mtu=self.mtu)
        new = _Peer(addr, session, now, hello_random=client_random(datagram))
        for _, gone in self.sessions.add(addr, new, now, self.handshake_timeout):
            if gone.addr == addr:  # the old peer state is gone on its side: no alert
                self._end(gone, gone.session.abort("replaced by a new handshake"))
            else:
                self._end(gone, gone.session.close("evicted (session table full)"))
        self.counters["sessions"] += 1
        self._handle(new, new.session.start())
        self._start_sweeping()

    @staticmethod
    def _is_new_handshake(peer: _Peer, datagram: bytes) -> bool:
        """
        A ClientHello on an established session, with a random that is not the one that
        opened it: a new handshake, not a late duplicate (which the session ignores).
        """
        if not peer.session.established or not is_client_hello(datagram):
            return False
        return client_random(datagram) != peer.hello_random

    # Sending

    def send_to(self, datagram: bytes, addr: Address) -> None:
        """Encrypt C{datagram} to the established session of C{addr}, or drop it."""
        peer = self.sessions.get((addr[0], addr[1]))
        if peer is None or not peer.session.established:
            self.counters["dropped.no_session"] += 1
            return
        try:
            peer.session.send(datagram)
        except DTLSError as e:
            raise error.MessageLengthError(str(e)) from None
        peer.counts["out"] += 1
        self.counters["datagrams_out"] += 1
        self._flush(peer)

    def _write(self, datagram: bytes, addr: Address) -> None:
        try:
            self.transport.write(datagram, addr)
        except (OSError, error.MessageLengthError):
            # A full send buffer or an unreachable peer: UDP may drop, so do we.
            self.counters["dropped.send_failed"] += 1

    def _flush(self, peer: _Peer) -> None:
        for datagram in peer.session.datagrams_to_send():
            self._write(datagram, peer.addr)

    # Session events and timers

    def _handle(self, peer: _Peer, events: list[Event]) -> None:
        self._flush(peer)
        for event in events:
            if isinstance(event, DatagramReceived):
                self.counters["datagrams_in"] += 1
                try:
                    self.wrapped.datagramReceived(event.data, peer.addr)
                except Exception:
                    self.log.failure("{label}: the wrapped protocol failed", label=self.label)
            elif isinstance(event, HandshakeComplete):
                if self.sessions.get(peer.addr) is peer:
                    self.sessions.touch(peer.addr, self.clock.seconds(), self.idle_timeout)
                self.counters["handshakes"] += 1
                self.log.info(
                    "{label} session from {peer}: {version} {cipher}",
                    **self._fields(peer),
                    label=self.label,
                    version=event.version,
                    tls_version=event.version,
                    cipher=event.cipher,
                )
            elif isinstance(event, SessionClosed):
                self._end(peer, [event])
                return
        self._schedule(peer)

    def _schedule(self, peer: _Peer) -> None:
        """Wake up when OpenSSL wants to retransmit (reusing the call when it can)."""
        delay = peer.session.timeout()
        timer = peer.timer
        if delay is None:
            if timer is not None and timer.active():
                timer.cancel()
            peer.timer = None
        elif timer is not None and timer.active():
            timer.reset(delay)
        else:
            peer.timer = self.clock.callLater(delay, self._retransmit, peer)

    def _retransmit(self, peer: _Peer) -> None:
        peer.timer = None
        self._handle(peer, peer.session.handle_timeout())

    def _end(self, peer: _Peer, events: list[Event]) -> None:
        """Flush what closing produced, forget the peer, log one line."""
        self._flush(peer)
        if peer.timer is not None and peer.timer.active():
            peer.timer.cancel()
        peer.timer = None
        if self.sessions.get(peer.addr) is peer:
            self.sessions.remove(peer.addr)
        if not len(self.sessions) and self._sweeper is not None and self._sweeper.active():
            self._sweeper.cancel()  # nothing left to expire: no timer either
            self._sweeper = None
        for event in events:
            if isinstance(event, SessionClosed):
                key = event.reason.split(":")[0].split(" (")[0].replace(" ", "_")
                self.counters["closed." + key] += 1
                self.log.info(
                    "{label} session {peer} ended after {seconds:.1f} s "
                    "({into} in, {out} out): {reason}",
                    **self._fields(peer),
                    label=self.label,
                    seconds=self.clock.seconds() - peer.opened,
                    into=peer.counts["in"],
                    out=peer.counts["out"],
                    reason=event.reason,
                )

    def _start_sweeping(self) -> None:
        if self._sweeper is None or not self._sweeper.active():
            period = max(0.1, min(self.idle_timeout, self.handshake_timeout) / 4)
            self._sweeper = self.clock.callLater(period, self._sweep)

    def _sweep(self) -> None:
        """Close the sessions quiet for longer than their timeout; run while any exist."""
        self._sweeper = None
        now = self.clock.seconds()
        for _, peer in self.sessions.expire(now):
            if peer.session.established:
                why = f"idle timeout ({self.idle_timeout:g} s)"
            else:
                why = f"handshake timeout ({self.handshake_timeout:g} s)"
            self._end(peer, peer.session.close(why))
        if len(self.sessions):
            self._start_sweeping()

    def _fields(self, peer: _Peer) -> dict[str, object]:
        """A session's log fields: service, door (C{dtls}), conn, peer."""
        service = split_name(self.label, "dtls")[0]
        return {"service": service, "door": "dtls", "conn": peer.conn,
                "peer": peer_key_of(peer.addr)}  # fmt: skip

    def _log_ignored(self, addr: Address, now: float) -> None:
        """At most one line a second about datagrams no session wanted."""
        self._unlogged += 1
        if now - self._last_log >= 1.0:
            self.log.warn(
                "{label} ignored {count} datagram(s) from unverified addresses, latest "
                "from {peer}: not a ClientHello, or one OpenSSL refused",
                service=split_name(self.label, "dtls")[0],
                door="dtls",
                label=self.label,
                count=self._unlogged,
                peer=peer_key_of(addr),
            )
            self._last_log = now
            self._unlogged = 0
