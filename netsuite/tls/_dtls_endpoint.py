"""
The DTLS listener: one UDP port under a L{DTLSServerProtocol}, with certificates that
reload.

    dtls:PORT[:interface=ADDR]:cert=CHAIN.pem[:key=KEY.pem][:minVersion=1.2]
        [:ciphers=A,B][:alpn=P,Q][:clientCA=CA.pem][:verifyClient=none|optional|required]
        [:sni=DIR][:mtu=1200][:maxSessions=1024][:idleTimeout=300][:handshakeTimeout=10]
        [:reloadInterval=5]

The description is parsed by L{netsuite.twistd._endpoints.parse_dtls} (twistd glue);
this module is what it builds. The certificate settings are C{nstls:}'s, with the same
validation (L{netsuite.tls._contexts}); the files are reloaded on SIGHUP and when a poll
(every C{reloadInterval} seconds, 0: never) sees them change (L{ReloadableDTLS}): new
handshakes use the new certificate, established sessions keep theirs, a broken file is
refused with a log line. The rest bound what one listener may hold.
"""

from __future__ import annotations

from typing import Any

from OpenSSL import SSL
from twisted.internet import defer
from twisted.internet.interfaces import IListeningPort, IReactorUDP
from twisted.internet.protocol import AbstractDatagramProtocol
from zope.interface import implementer

from netsuite.base._reactor import GlobalReactor
from netsuite.base.interfaces import IDatagramServerEndpoint
from netsuite.tls._contexts import CertificateSummary, TLSServerSettings
from netsuite.tls._dtls_context import server_context
from netsuite.tls._dtls_server import DEFAULT_HANDSHAKE_TIMEOUT, DTLSServerProtocol
from netsuite.tls._dtls_session import DEFAULT_MTU, CookieJar
from netsuite.tls._listener import Reloadable

__all__ = ["DTLSServerEndpoint", "ReloadableDTLS"]

#: Receive whole datagrams (Twisted's default of 8,192 would cut them).
_RECEIVE_SIZE = 65535


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
        reactor: IReactorUDP,
        port: int,
        settings: TLSServerSettings,
        *,
        interface: str = "",
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
        #: The CA file clients trust a throw-away certificate with (None: a real one).
        self.trust_ca: str | None = None

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
