"""
DTLS 1.2 for datagram protocols: a listen description, a server and a client adapter.

Twisted has no DTLS. This module puts pyOpenSSL's DTLS (through the sans-IO pieces of
L{netsuite.tls._dtls_session}) under any L{DatagramProtocol}, in both directions:

    dtls:PORT[:interface=ADDR]:cert=CHAIN.pem[:key=KEY.pem][:minVersion=1.2]
        [:ciphers=A,B][:alpn=P,Q][:clientCA=CA.pem][:verifyClient=none|optional|required]
        [:sni=DIR][:mtu=1200][:maxSessions=1024][:idleTimeout=300][:handshakeTimeout=10]
        [:reloadInterval=5]

The certificate settings are C{nstls:}'s, with the same validation (L{netsuite.tls._contexts});
as there, a listener on a loopback interface without C{cert} serves a throw-away
certificate from the local development CA, and the files are reloaded on SIGHUP and
when a poll (every C{reloadInterval} seconds, 0: never) sees them change: new
handshakes use the new certificate, established sessions keep theirs, a broken file is
refused with a log line. The rest bound what one listener may hold.

L{DTLSServerProtocol} binds one UDP port and keeps one DTLS session per source address.
An address gets no state and no bytes but a HelloVerifyRequest until it returns the
cookie in it (an HMAC of its address under a rotating secret), so a spoofed source can
neither fill the table nor be sent a certificate flight. Once the handshake completes,
every decrypted datagram goes to the wrapped protocol's C{datagramReceived(data, addr)},
and its C{transport.write(data, addr)} encrypts to that peer: L{netsuite.echo.UDPEcho}
and its guard run unchanged.

L{DTLSClientProtocol} is the client twin: it handshakes with one server, verifies its
certificate and name, then starts the wrapped protocol with a transport that encrypts.

Retransmission is OpenSSL's (its own clock decides; the reactor's clock wakes it up).
"""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from OpenSSL import SSL
from twisted.internet import defer, error
from twisted.internet.interfaces import IDelayedCall, IListeningPort, IReactorTime
from twisted.internet.protocol import AbstractDatagramProtocol, DatagramProtocol
from twisted.logger import Logger
from zope.interface import implementer

from netsuite.base._metrics import Counters
from netsuite.base._reactor import GlobalReactor
from netsuite.base.interfaces import IDatagramServerEndpoint
from netsuite.limits._session_table import SessionTable
from netsuite.tls._contexts import (
    CertificateSummary,
    TLSConfigError,
    TLSServerSettings,
    summarize_certificate,
)
from netsuite.tls._dtls_context import (
    DTLS1_2_VERSION,
    DTLSClientOptions,
    client_options,
    server_context,
)
from netsuite.tls._dtls_session import (
    DEFAULT_MTU,
    MAX_COOKIE_REPLY,
    CookieJar,
    DatagramReceived,
    DTLSError,
    DTLSSession,
    Event,
    HandshakeComplete,
    SessionClosed,
    client_random,
    is_client_hello,
    peer_key,
    stateless_hello,
)
from netsuite.tls._listener import Reloadable

__all__ = [
    "DEFAULT_HANDSHAKE_TIMEOUT",
    "DEFAULT_MTU",
    "DTLS1_2_VERSION",
    "MAX_COOKIE_REPLY",
    "CookieJar",
    "DTLSClientOptions",
    "DTLSClientProtocol",
    "DTLSError",
    "DTLSHandshakeError",
    "DTLSServerEndpoint",
    "DTLSServerProtocol",
    "DTLSSession",
    "DatagramReceived",
    "HandshakeComplete",
    "SessionClosed",
    "client_options",
    "parse_dtls",
    "server_context",
]

Address = tuple[str, int]

#: Receive whole datagrams (Twisted's default of 8,192 would cut them).
_RECEIVE_SIZE = 65535

#: Seconds a handshake may stay quiet (C{nstls:}'s default too); OpenSSL's own
#: retransmissions would otherwise keep a stalled one for minutes.
DEFAULT_HANDSHAKE_TIMEOUT = 10.0


class DTLSHandshakeError(Exception):
    """A client's DTLS handshake failed; the message says why, for the user."""


@dataclass(eq=False)
class _Peer:
    """What the server keeps for one verified address."""

    addr: Address
    session: DTLSSession
    opened: float
    hello_random: bytes | None = None
    timer: IDelayedCall | None = None
    counts: dict[str, int] = field(default_factory=lambda: {"in": 0, "out": 0})


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
        outcome = stateless_hello(self.context, datagram, peer_key(addr))
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
                    label=self.label,
                    peer=peer_key(peer.addr),
                    version=event.version,
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
                    label=self.label,
                    peer=peer_key(peer.addr),
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

    def _log_ignored(self, addr: Address, now: float) -> None:
        """At most one line a second about datagrams no session wanted."""
        self._unlogged += 1
        if now - self._last_log >= 1.0:
            self.log.warn(
                "{label} ignored {count} datagram(s) from unverified addresses, latest "
                "from {peer}: not a ClientHello, or one OpenSSL refused",
                label=self.label,
                count=self._unlogged,
                peer=peer_key(addr),
            )
            self._last_log = now
            self._unlogged = 0


@implementer(IDatagramServerEndpoint)
class DTLSServerEndpoint:
    """
    A DTLS listener: one UDP port under a L{DTLSServerProtocol}.

    The context is built (every file read and checked) when the description is parsed,
    so a bad certificate stops the process before anything listens.

    @ivar certificates: what it serves (subject, fingerprint, expiry), for the start-up log.
    @ivar protocols: the L{DTLSServerProtocol} of each C{listen}, for stats (C{counters},
        C{sessions}).
    """

    def __init__(
        self,
        reactor: Any,
        port: int,
        settings: TLSServerSettings,
        interface: str = "",
        *,
        mtu: int = DEFAULT_MTU,
        max_sessions: int = 1024,
        idle_timeout: float = 300.0,
        handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
        reload_interval: float = 5.0,
    ) -> None:
        self.reactor = reactor
        self.port = port
        self.interface = interface
        self.settings = settings
        self.mtu = mtu
        self.max_sessions = max_sessions
        self.idle_timeout = idle_timeout
        self.handshake_timeout = handshake_timeout
        # Not the reactor's time: parsing must not pick a reactor before twistd's
        # --reactor has. The first datagram rotates the secret anyway.
        self.cookies = CookieJar()
        self.protocols: list[DTLSServerProtocol] = []
        self.tls = ReloadableDTLS(settings, self.cookies, self.protocols, label=f"dtls:{port}")
        self.reload_interval = reload_interval
        #: Lines for the start-up log (where a throw-away certificate came from).
        self.notes: list[str] = []

    @property
    def context(self) -> SSL.Context:
        """The context new handshakes use now (replaced by a reload)."""
        return self.tls.context

    @property
    def certificates(self) -> list[CertificateSummary]:
        return self.tls.certificates

    @property
    def certificate_summaries(self) -> list[CertificateSummary]:
        return self.tls.certificates

    def wrap(self, protocol: AbstractDatagramProtocol) -> DTLSServerProtocol:
        """The DTLS server protocol that serves C{protocol} (without binding anything)."""
        return DTLSServerProtocol(
            protocol,
            self.context,
            self.cookies,
            GlobalReactor.of(self.reactor),  # per-datagram clock reads: not via the proxy
            max_sessions=self.max_sessions,
            idle_timeout=self.idle_timeout,
            handshake_timeout=self.handshake_timeout,
            mtu=self.mtu,
        )

    def listen(self, protocol: AbstractDatagramProtocol) -> defer.Deferred[IListeningPort]:
        server = self.wrap(protocol)
        self.protocols.append(server)
        d = defer.execute(
            self.reactor.listenUDP,
            self.port,
            server,
            interface=self.interface,
            maxPacketSize=_RECEIVE_SIZE,
        )

        def started(port: Any) -> IListeningPort:
            self.tls.label = f"dtls:{port.getHost().port}"
            return self.tls.watch(port, GlobalReactor.of(self.reactor), self.reload_interval)

        return d.addCallback(started)


class ReloadableDTLS(Reloadable):
    """
    A DTLS listener's context, rebuilt from its files on SIGHUP and when they change
    (L{netsuite.tls._listener.Reloadable}); each of its protocols is handed the new one.
    """

    context: SSL.Context

    def __init__(
        self,
        settings: TLSServerSettings,
        cookies: CookieJar,
        protocols: list[DTLSServerProtocol],
        label: str = "dtls",
    ) -> None:
        self.cookies = cookies
        self.protocols = protocols
        super().__init__(settings, label)

    def build(self) -> tuple[SSL.Context, list[CertificateSummary]]:
        return server_context(self.settings, self.cookies)

    def install(self, product: SSL.Context) -> None:
        self.context = product
        for protocol in self.protocols:
            protocol.context = product


_LIMITS = {
    "mtu": (int, 256, 65507),
    "maxSessions": (int, 1, 10_000_000),
    "idleTimeout": (float, 0.1, 86400.0 * 7),
    "handshakeTimeout": (float, 0.1, 3600.0),
    "reloadInterval": (float, 0.0, 86400.0),
}
_CERTIFICATE_KEYS = (
    "cert", "key", "minVersion", "ciphers", "alpn", "clientCA", "verifyClient", "sni",
)  # fmt: skip


def _limit(name: str, value: str) -> Any:
    kind, low, high = _LIMITS[name]
    try:
        number = kind(value)
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise TLSConfigError(f"dtls: {name}={value!r}; expected a number from {low} to {high}")
    return number


def parse_dtls(reactor: Any, port: str, interface: str = "", **kwargs: str) -> DTLSServerEndpoint:
    """C{dtls:PORT[:interface=ADDR]:cert=...}; see the module docstring for every setting."""
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise TLSConfigError(f"dtls: port {port!r} is not a number from 0 to 65535")
    unknown = set(kwargs) - set(_LIMITS) - set(_CERTIFICATE_KEYS)
    if unknown:
        known = sorted({*_LIMITS, *_CERTIFICATE_KEYS, "interface"})
        raise TLSConfigError(
            f"dtls: unknown setting {sorted(unknown)[0]!r}; expected one of {', '.join(known)}"
        )
    limits = {k: _limit(k, kwargs.pop(k)) for k in list(kwargs) if k in _LIMITS}
    note = None
    if "cert" not in kwargs and "sni" not in kwargs:
        kwargs, note = _throwaway_certificate(interface, kwargs)
    try:
        settings = TLSServerSettings.from_description(kwargs)
    except TLSConfigError as e:
        text = str(e)
        raise TLSConfigError(text.replace("nstls:", "dtls:", 1)) from None
    endpoint = DTLSServerEndpoint(
        reactor,
        number,
        settings,
        interface,
        mtu=limits.get("mtu", DEFAULT_MTU),
        max_sessions=limits.get("maxSessions", 1024),
        idle_timeout=limits.get("idleTimeout", 300.0),
        handshake_timeout=limits.get("handshakeTimeout", DEFAULT_HANDSHAKE_TIMEOUT),
        reload_interval=limits.get("reloadInterval", 5.0),
    )
    if note:
        endpoint.notes.append(note)
    return endpoint


def _throwaway_certificate(interface: str, kwargs: dict[str, str]) -> tuple[dict[str, str], str]:
    """
    As C{nstls:} does: without C{cert}, a loopback-only listener serves a leaf from the
    local development CA (L{netsuite.tls._devca}); anywhere else, a certificate is required.
    """
    try:
        loopback = interface == "localhost" or ipaddress.ip_address(interface).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise TLSConfigError(
            "dtls: needs cert=FILE; a throw-away certificate is only made for a "
            "loopback interface (interface=127.0.0.1 or ::1)"
        )
    from netsuite.tls._devca import DevCA

    ca = DevCA()
    cert, key = ca.throwaway()
    fingerprint = summarize_certificate(ca.load_x509()).sha256
    note = (
        f"throw-away certificate from the netsuite development CA {ca.cert_path} "
        f"(CA sha256={fingerprint}); clients trust it with --ca {ca.cert_path}"
    )
    return {**kwargs, "cert": str(cert), "key": str(key)}, note


# The client side.


class _ClientTransport:
    """What the wrapped client protocol writes to: one server, every write encrypted."""

    def __init__(self, client: DTLSClientProtocol) -> None:
        self._client = client

    def write(self, datagram: bytes, addr: Address | None = None) -> None:
        if addr is not None and (addr[0], addr[1]) != self._client.address:
            raise ValueError(f"this DTLS session only reaches {peer_key(self._client.address)}")
        self._client.send(datagram)

    def writeSequence(self, seq: Any, addr: Address | None = None) -> None:
        self.write(b"".join(seq), addr)

    def connect(self, host: str, port: int) -> None:
        """Already connected, to the server; connecting there again is accepted."""
        if (host, port) != self._client.address:
            raise ValueError(f"this DTLS session only reaches {peer_key(self._client.address)}")

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

    noisy = False

    def __init__(
        self,
        wrapped: AbstractDatagramProtocol,
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
