"""
The hardened TLS listener behind C{nstls:}: what Twisted's C{ssl:} endpoint lacks.

  - B{Hot reload.} L{ReloadableServerTLS} hands every new connection the current
    context; L{ReloadableServerTLS.reload} rebuilds it from the files (on SIGHUP, and
    when a poll sees them change). Open connections keep theirs; a broken new file is
    refused with a log line and the old certificate stays.
  - B{Handshake deadline.} A peer that connects and never completes the handshake is
    dropped after C{handshakeTimeout} seconds (default 10): Twisted has no such limit.
  - B{Expiry.} Days left of every served certificate, for stats, metrics and a warning
    in the log under 14 days.
  - B{Sends at once.} TLS records go straight to the socket when nothing is queued
    before them (L{netsuite._twisted.tcp.send_now}), instead of waiting a reactor turn in the
    TCP transport's buffer; and for doors whose writes are already whole (one per input
    chunk: C{tls_write_now} on their factory) each write is encrypted at once instead of
    waiting a turn in Twisted's small-write aggregator. A TLS echo then answers in the
    reactor turn that read the request, as netsuite's plain TCP doors do. The parts of
    Twisted's TLS protocol this replaces are private: they are fenced in
    L{netsuite._twisted.tls}, whose hooks L{DeadlineTLSProtocol} implements.

The module is above 400 lines because the C{nstls:} listener, its reload and its TLS
protocol are one mechanism: the protocol sends what the reloadable context made, and the
endpoint wires both to the port.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from OpenSSL import SSL
from twisted.internet import ssl
from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint
from twisted.internet.interfaces import (
    IListeningPort,
    IOpenSSLServerConnectionCreator,
    IReactorTCP,
    IReactorTime,
    IStreamServerEndpoint,
    ITCPTransport,
)
from twisted.internet.protocol import connectionDone
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure
from zope.interface import implementer

from netsuite._twisted.tcp import direct_transport, send_now
from netsuite._twisted.tls import TLS_CHUNK, OneFlightTLSProtocol
from netsuite.base._addresses import describe_address
from netsuite.base._logfields import next_conn_id, split_name
from netsuite.base._reactor import GlobalReactor
from netsuite.tls._contexts import (
    CertificateSummary,
    TLSConfigError,
    TLSServerSettings,
    server_context_factory,
)

__all__ = [
    "EXPIRY_WARNING_DAYS",
    "TLS_CHUNK",
    "Reloadable",
    "ReloadableServerTLS",
    "TLSServerEndpoint",
    "TimedPort",
    "reload_all",
    "served_certificates",
]

EXPIRY_WARNING_DAYS = 14
log = Logger()

#: Every live reloadable context in this process, for SIGHUP and for stats.
_LIVE: weakref.WeakSet[Reloadable] = weakref.WeakSet()


def reload_all() -> int:
    """Reload every TLS listener of this process from its files; return how many changed."""
    return sum(1 for r in list(_LIVE) if r.reload())


def served_certificates() -> list[tuple[str, CertificateSummary]]:
    """C{(listener label, summary)} of every certificate this process serves now."""
    return [(r.label, s) for r in list(_LIVE) for s in r.certificates]


class Reloadable:
    """
    A listener's certificates, read from files, rebuilt on SIGHUP (L{reload_all}) and when
    L{poll} sees the files change; a broken new file is refused with a log line and the
    old certificate stays. Subclasses say what is built from the files (L{build}) and how
    new handshakes start using it (L{install}): C{nstls:} and C{dtls:} share the rest.
    """

    certificates: list[CertificateSummary]

    def __init__(self, settings: TLSServerSettings, label: str = "tls") -> None:
        self.settings = settings
        self.label = label
        product, self.certificates = self.build()
        self.install(product)
        self._stamp = self._files_stamp()
        _LIVE.add(self)

    def build(self) -> tuple[Any, list[CertificateSummary]]:
        """Read every file now: what new handshakes will use, and what it serves."""
        raise NotImplementedError

    def install(self, product: Any) -> None:
        """New handshakes use C{product} from now on; open connections keep theirs."""
        raise NotImplementedError

    def watch(self, port: Any, clock: IReactorTime, reload_interval: float) -> TimedPort:
        """
        C{port}, with this listener's timers, which stop with it: the expiry warning (at
        start, then daily) and, unless C{reload_interval} is 0, the poll of the files.
        """
        timers = [_every(clock, 86400, self.warn_if_expiring, now=True)]
        if reload_interval:
            timers.append(_every(clock, reload_interval, self.poll, now=False))
        return TimedPort(port, timers)

    def _files(self) -> list[Path]:
        s = self.settings
        files = [Path(p) for p in (s.cert, s.key, s.client_ca) if p]
        if s.sni:
            files += sorted(Path(s.sni).glob("*.pem"))
        return files

    def _files_stamp(self) -> tuple[tuple[str, int, int, int], ...]:
        stamp = []
        for f in self._files():
            try:
                st = f.stat()
            except OSError:
                stamp.append((str(f), -1, -1, -1))
                continue
            stamp.append((str(f), st.st_mtime_ns, st.st_size, st.st_ino))
        return tuple(stamp)

    def changed(self) -> bool:
        """Whether any of the files differs from when they were last loaded."""
        return self._files_stamp() != self._stamp

    def reload(self) -> bool:
        """
        Rebuild the context from the files. On any problem, log it and keep serving the
        old certificate. True if the new one is in use.
        """
        stamp = self._files_stamp()
        try:
            product, certificates = self.build()
        except (TLSConfigError, OSError, SSL.Error) as e:
            self._stamp = stamp  # do not retry the same broken files on every poll
            log.error(
                "{label} TLS reload refused, keeping the old certificate: {error}",
                label=self.label, error=str(e),
            )  # fmt: skip
            return False
        self.install(product)
        self.certificates, self._stamp = certificates, stamp
        for summary in certificates:
            log.info("{label} TLS certificate reloaded: {summary}", label=self.label,
                     summary=str(summary))  # fmt: skip
        return True

    def poll(self) -> bool:
        """Reload if the files changed since the last load (for a periodic timer)."""
        return self.changed() and self.reload()

    def warn_if_expiring(self) -> list[CertificateSummary]:
        """Log a warning for each certificate with fewer than 14 days left."""
        soon = [s for s in self.certificates if s.days_left() < EXPIRY_WARNING_DAYS]
        for s in soon:
            log.warn(
                "{label} TLS certificate {subject} expires in {days:.1f} days ({when})",
                label=self.label, subject=s.subject, days=s.days_left(), when=s.not_after,
            )  # fmt: skip
        return soon


@implementer(IOpenSSLServerConnectionCreator)
class ReloadableServerTLS(Reloadable):
    """
    Creates each server TLS connection from the current context, which L{reload} can
    replace. Twisted binds C{serverConnectionForTLS} once per listener, so the swap
    happens behind this method rather than by replacing the object.
    """

    options: ssl.CertificateOptions

    def build(self) -> tuple[ssl.CertificateOptions, list[CertificateSummary]]:
        return server_context_factory(self.settings)

    def install(self, product: ssl.CertificateOptions) -> None:
        self.options = product

    def serverConnectionForTLS(self, tlsProtocol: Any) -> SSL.Connection:
        return self.options.serverConnectionForTLS(tlsProtocol)


class DeadlineTLSProtocol(OneFlightTLSProtocol):
    """
    Twisted's TLS protocol, aborted if the handshake is not done by the deadline, and
    sending its records at once (see the module's docstring).
    """

    factory: DeadlineTLSFactory
    #: A TCP connection (Twisted types it as any transport, or None before it is set).
    transport: ITCPTransport
    _deadline: Any = None
    _direct: Any = None
    #: Records made while a read is handled, sent together when it is done.
    _held: list[bytes] | None = None

    def __init__(self, factory: DeadlineTLSFactory, wrappedProtocol: Any, **kwargs: Any) -> None:
        super().__init__(factory, wrappedProtocol, **kwargs)
        if factory.write_now:
            # Bypass the aggregator, which Twisted's __init__ installs as self.write.
            self.write = self.write_unaggregated  # type: ignore[method-assign]

    def dataReceived(self, data: bytes) -> None:
        """
        Decrypt and deliver, with the doors corked and this connection's own records
        held: everything sent in answer to one read (handshake messages, session tickets,
        the door's reply, close_notify) leaves in one send, in order.
        """
        self._held = []
        factory = self.factory
        factory.before_read()
        try:
            super().dataReceived(data)
        finally:
            factory.after_read()  # the doors' writes, encrypted into held
            self._release_held()

    def _release_held(self) -> None:
        """Send the held records now, and hold no more (the read is done, or a close)."""
        held, self._held = self._held, None
        if held:
            send_now(self._direct, self.transport, b"".join(held))

    def closing(self) -> None:
        # What this read held must leave before Twisted closes the TCP transport, not
        # depend on writes after loseConnection.
        self._release_held()

    def send_records(self, records: bytes) -> None:
        """Send the records OpenSSL made: to the socket now if nothing waits before them."""
        if self._held is not None:
            self._held.append(records)
        else:
            send_now(self._direct, self.transport, records)

    def read_ends_connection(self) -> None:
        if hasattr(self.wrappedProtocol, "uncork"):
            self.wrappedProtocol.uncork()  # a corked door's replies go before the close

    def writeSequence(self, sequence: Any) -> None:
        self.write(b"".join(sequence))

    def makeConnection(self, transport: Any) -> None:
        factory = self.factory
        self._direct = direct_transport(transport)
        if factory.handshake_timeout:
            self._deadline = factory.clock.callLater(factory.handshake_timeout, self._expired)
        super().makeConnection(transport)

    def _expired(self) -> None:
        self._deadline = None
        if not self.handshake_complete:
            self.factory.handshake_timeouts += 1
            label = self.factory.label
            service, door = split_name(label.removesuffix("-tls"), "tcp")
            log.info(
                "{label} {peer}: no TLS handshake within {timeout}s, closing",
                label=label, peer=describe_address(self.transport.getPeer()),
                timeout=self.factory.handshake_timeout, service=service, door=door,
                conn=next_conn_id(), limit="handshake-timeout",
                limit_value=self.factory.handshake_timeout,
            )  # fmt: skip
            self.transport.abortConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._deadline is not None and self._deadline.active():
            self._deadline.cancel()
        self._deadline = None
        super().connectionLost(reason)


class DeadlineTLSFactory(TLSMemoryBIOFactory):
    protocol = DeadlineTLSProtocol

    def __init__(
        self,
        creator: ReloadableServerTLS,
        wrapped: Any,
        clock: IReactorTime,
        handshake_timeout: float,
        label: str,
    ) -> None:
        super().__init__(creator, False, wrapped, clock)
        #: The wrapped doors' writes are whole: encrypt each at once (no aggregator).
        self.write_now = bool(getattr(wrapped, "tls_write_now", False))
        #: Called around each read's delivery: the doors hand their cork here
        #: (C{tls_read_hooks}), so this layer sends one flight per read without
        #: knowing what a door is.
        self.before_read: Callable[[], object]
        self.after_read: Callable[[], object]
        self.before_read, self.after_read = getattr(wrapped, "tls_read_hooks", _NO_HOOKS)
        self.clock = clock
        self.handshake_timeout = handshake_timeout
        self.handshake_timeouts = 0
        self.label = label


def _nothing() -> None:
    """No hook: the wrapped protocol's writes are not gathered around a read."""


_NO_HOOKS = (_nothing, _nothing)


@implementer(IListeningPort)
class TimedPort:
    """A listening port whose timers (reload poll, expiry check) stop with it."""

    def __init__(self, port: Any, timers: list[LoopingCall]) -> None:
        self._port = port
        self._timers = timers

    def stopListening(self) -> Any:
        for timer in self._timers:
            if timer.running:
                timer.stop()
        return self._port.stopListening()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._port, name)  # the rest of the port: getHost, its number...


@implementer(IStreamServerEndpoint)
class TLSServerEndpoint:
    """
    A TCP listener whose connections speak hardened, reloadable TLS with a handshake
    deadline. C{certificates} lists what it serves, for the start-up log.
    """

    def __init__(
        self,
        reactor: IReactorTCP,
        port: int,
        settings: TLSServerSettings,
        interface: str = "",
        backlog: int = 50,
        handshake_timeout: float = 10.0,
        reload_interval: float = 5.0,
    ) -> None:
        self.reactor = reactor
        self.settings = settings
        self.tls = ReloadableServerTLS(settings, label=f"nstls:{port}")
        self.handshake_timeout = handshake_timeout
        self.reload_interval = reload_interval
        tcp = TCP6ServerEndpoint if ":" in interface else TCP4ServerEndpoint
        self._tcp = tcp(reactor, port, backlog=backlog, interface=interface or "")
        #: Lines for the start-up log (where a throw-away certificate came from).
        self.notes: list[str] = []
        #: The CA file clients trust a throw-away certificate with (None: a real one).
        self.trust_ca: str | None = None

    @property
    def certificates(self) -> list[CertificateSummary]:
        return self.tls.certificates

    def listen(self, protocolFactory: Any) -> Any:
        # The real reactor, not the options' proxy: every connection asks it for timers.
        clock = GlobalReactor.of(self.reactor)
        factory = DeadlineTLSFactory(
            self.tls, protocolFactory, clock, self.handshake_timeout, self.tls.label
        )
        d = self._tcp.listen(factory)

        def started(port: Any) -> TimedPort:
            self.tls.label = f"nstls:{port.getHost().port}"
            return self.tls.watch(port, clock, self.reload_interval)

        return d.addCallback(started)


def _every(clock: IReactorTime, seconds: float, f: Any, now: bool) -> LoopingCall:
    call = LoopingCall(f)
    call.clock = clock
    call.start(seconds, now=now)
    return call


def install_sighup(reactor: Any) -> None:
    """On SIGHUP, reload every TLS listener (in the reactor thread)."""
    import signal

    if not hasattr(signal, "SIGHUP"):
        return

    def handler(signum: int, frame: object) -> None:
        reactor.callFromThread(_reload_logged)

    signal.signal(signal.SIGHUP, handler)


def _reload_logged() -> None:
    count = reload_all()
    log.info("SIGHUP: {count} TLS listener(s) reloaded", count=count)


def interfaces_are_loopback(interfaces: Iterable[str]) -> bool:
    """Whether every listen interface is a loopback address (no interface: all, so no)."""
    import ipaddress

    for iface in interfaces:
        if iface in ("localhost",):
            continue
        try:
            if not ipaddress.ip_address(iface).is_loopback:
                return False
        except ValueError:
            return False
    return True
