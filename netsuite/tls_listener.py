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
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from OpenSSL import SSL
from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint
from twisted.internet.interfaces import (
    IListeningPort,
    IOpenSSLServerConnectionCreator,
    IReactorTime,
    IStreamServerEndpoint,
)
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.protocols.tls import BufferingTLSTransport, TLSMemoryBIOFactory
from zope.interface import implementer

from netsuite.tls import (
    CertificateSummary,
    TLSConfigError,
    TLSServerSettings,
    server_context_factory,
)

__all__ = [
    "EXPIRY_WARNING_DAYS",
    "ReloadableServerTLS",
    "TLSServerEndpoint",
    "reload_all",
    "served_certificates",
]

EXPIRY_WARNING_DAYS = 14
log = Logger()

#: Every live reloadable context in this process, for SIGHUP and for stats.
_LIVE: weakref.WeakSet[ReloadableServerTLS] = weakref.WeakSet()


def reload_all() -> int:
    """Reload every TLS listener of this process from its files; return how many changed."""
    return sum(1 for r in list(_LIVE) if r.reload())


def served_certificates() -> list[tuple[str, CertificateSummary]]:
    """C{(listener label, summary)} of every certificate this process serves now."""
    return [(r.label, s) for r in list(_LIVE) for s in r.certificates]


@implementer(IOpenSSLServerConnectionCreator)
class ReloadableServerTLS:
    """
    Creates each server TLS connection from the current context, which L{reload} can
    replace. Twisted binds C{serverConnectionForTLS} once per listener, so the swap
    happens behind this method rather than by replacing the object.
    """

    def __init__(self, settings: TLSServerSettings, label: str = "tls") -> None:
        self.settings = settings
        self.label = label
        self.options, self.certificates = server_context_factory(settings)
        self._stamp = self._files_stamp()
        _LIVE.add(self)

    def serverConnectionForTLS(self, tlsProtocol: Any) -> SSL.Connection:
        return self.options.serverConnectionForTLS(tlsProtocol)

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
            options, certificates = server_context_factory(self.settings)
        except (TLSConfigError, OSError, SSL.Error) as e:
            self._stamp = stamp  # do not retry the same broken files on every poll
            log.error(
                "{label} TLS reload refused, keeping the old certificate: {error}",
                label=self.label, error=str(e),
            )  # fmt: skip
            return False
        self.options, self.certificates, self._stamp = options, certificates, stamp
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


class DeadlineTLSProtocol(BufferingTLSTransport):
    """Twisted's TLS protocol, aborted if the handshake is not done by the deadline."""

    factory: DeadlineTLSFactory
    _deadline: Any = None

    def makeConnection(self, transport: Any) -> None:
        factory = self.factory
        if factory.handshake_timeout:
            self._deadline = factory.clock.callLater(factory.handshake_timeout, self._expired)
        super().makeConnection(transport)

    def _expired(self) -> None:
        self._deadline = None
        if not self._handshakeDone:
            self.factory.handshake_timeouts += 1
            log.info(
                "{label} {peer}: no TLS handshake within {timeout}s, closing",
                label=self.factory.label, peer=self.transport.getPeer(),
                timeout=self.factory.handshake_timeout,
            )  # fmt: skip
            self.transport.abortConnection()

    def connectionLost(self, reason: Any) -> None:
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
        self.clock = clock
        self.handshake_timeout = handshake_timeout
        self.handshake_timeouts = 0
        self.label = label


@implementer(IListeningPort)
class _TimedPort:
    """A listening port whose timers (reload poll, expiry check) stop with it."""

    def __init__(self, port: Any, timers: list[LoopingCall]) -> None:
        self._port = port
        self._timers = timers

    def startListening(self) -> Any:
        return self._port.startListening()

    def stopListening(self) -> Any:
        for timer in self._timers:
            if timer.running:
                timer.stop()
        return self._port.stopListening()

    def getHost(self) -> Any:
        return self._port.getHost()


@implementer(IStreamServerEndpoint)
class TLSServerEndpoint:
    """
    A TCP listener whose connections speak hardened, reloadable TLS with a handshake
    deadline. C{certificates} lists what it serves, for the start-up log.
    """

    def __init__(
        self,
        reactor: Any,
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

    @property
    def certificates(self) -> list[CertificateSummary]:
        return self.tls.certificates

    def _every(self, seconds: float, f: Any, now: bool) -> LoopingCall:
        call = LoopingCall(f)
        call.clock = self.reactor
        call.start(seconds, now=now)
        return call

    def listen(self, protocolFactory: Any) -> Any:
        factory = DeadlineTLSFactory(
            self.tls, protocolFactory, self.reactor, self.handshake_timeout, self.tls.label
        )
        d = self._tcp.listen(factory)

        def started(port: Any) -> _TimedPort:
            self.tls.label = f"nstls:{port.getHost().port}"
            timers = [self._every(86400, self.tls.warn_if_expiring, now=True)]  # start, daily
            if self.reload_interval:
                timers.append(self._every(self.reload_interval, self.tls.poll, now=False))
            return _TimedPort(port, timers)

        return d.addCallback(started)


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
