"""
How C{netsuite get} connects: treq's L{IAgent}, its endpoints and its TLS policy.

L{TLSPolicy} (Twisted's L{IPolicyForHTTPS}) checks every host a redirect leads to and keeps
what the last handshake saw, for the failure message; L{Endpoints} connects to C{--resolve}'s
addresses and bounds connecting by C{--connect-timeout}; L{build_agent} and L{wrap_agent}
stack redirects and content codings on top. The transfer itself is
L{netsuite.client._get_download}.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from cryptography import x509
from OpenSSL import SSL
from twisted.internet import defer
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator
from twisted.web.client import URI
from twisted.web.error import SchemeNotSupported
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgent, IAgentEndpointFactory, IPolicyForHTTPS
from zope.interface import implementer

from netsuite.client._common import (
    UncheckedClientTLS,
)
from netsuite.tls._contexts import client_tls_options

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "MAX_REDIRECTS",
    "Endpoints",
    "IdentityEncoding",
    "TLSPolicy",
    "build_agent",
    "wrap_agent",
]

#: Redirects C{-L} follows by default.
MAX_REDIRECTS = 10
#: Seconds to connect (resolving included), unless C{--connect-timeout} says otherwise.
DEFAULT_CONNECT_TIMEOUT = 30.0


@implementer(IOpenSSLClientConnectionCreator)
class _Recording:
    """Passes a creator's connections on, keeping the last for the failure message."""

    def __init__(self, creator: Any, policy: TLSPolicy, where: tuple[str, int]) -> None:
        self.creator = creator
        self.policy = policy
        self.where = where

    def clientConnectionForTLS(self, tlsProtocol: Any) -> SSL.Connection:
        connection = self.creator.clientConnectionForTLS(tlsProtocol)
        self.policy.connections[self.where] = connection
        return connection


@implementer(IPolicyForHTTPS)
class TLSPolicy:
    """
    How every HTTPS connection is checked, per host (Agent asks once per connection):
    L{netsuite.tls._contexts.client_tls_options} for the host, which verifies the certificate
    against C{ca} (or the system's trust store) and the host name with
    service_identity, and presents C{cert}/C{key}; with C{insecure}, nothing checked.

    It keeps each host's last TLS connection so that a failure can say what the server's
    certificate was (L{peer_chain}).
    """

    def __init__(
        self,
        ca: str | None = None,
        cert: str | None = None,
        key: str | None = None,
        insecure: bool = False,
        alpn: Sequence[str] = ("http/1.1",),
    ) -> None:
        self.ca = ca
        self.cert = cert
        self.key = key
        self.insecure = insecure
        self.alpn = tuple(alpn)
        self.connections: dict[tuple[str, int], SSL.Connection] = {}

    def creatorForNetloc(self, hostname: bytes, port: int) -> IOpenSSLClientConnectionCreator:
        """The client TLS options for C{hostname} (raises L{TLSConfigError} on bad files)."""
        host = hostname.decode("ascii").strip("[]").lower()
        if self.insecure:
            creator: Any = UncheckedClientTLS(host, self.cert, self.key)
        else:
            creator = client_tls_options(host, self.ca, self.cert, self.key, alpn=self.alpn)
        return _Recording(creator, self, (host, port))

    def peer_chain(self, host: str, port: int) -> list[x509.Certificate]:
        """The certificates the server at C{host}:C{port} sent last (leaf first)."""
        connection = self.connections.get((host.lower(), port))
        if connection is None:
            return []
        with contextlib.suppress(SSL.Error, ValueError):
            return [c.to_cryptography() for c in connection.get_peer_cert_chain() or ()]
        return []


@implementer(IAgentEndpointFactory)
class Endpoints:
    """
    Agent's endpoints: L{HostnameEndpoint} (IPv4 and IPv6, C{connect_timeout} for
    resolving and connecting), wrapped in TLS from C{policy} for https. C{resolve} maps
    C{(host, port)} to the address to connect to instead (C{--resolve}). C{last} is the
    host and port asked for last: the one a failure is about, redirects included.
    """

    def __init__(
        self,
        reactor: Any,
        policy: IPolicyForHTTPS,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        resolve: dict[tuple[str, int], str] | None = None,
    ) -> None:
        self.reactor = reactor
        self.policy = policy
        self.connect_timeout = connect_timeout
        self.resolve = dict(resolve or {})
        self.last: tuple[str, int] | None = None

    def endpointForURI(self, uri: URI) -> Any:
        from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS

        if uri.scheme not in (b"http", b"https"):
            raise SchemeNotSupported(
                f"unsupported scheme: {uri.scheme.decode('ascii', 'replace')}"
            )
        host = uri.host.decode("ascii").lower()
        self.last = (host, uri.port)
        address = self.resolve.get((host, uri.port), host)
        endpoint: Any = HostnameEndpoint(
            self.reactor, address.encode("ascii"), uri.port, timeout=self.connect_timeout
        )
        if uri.scheme == b"https":
            endpoint = wrapClientTLS(self.policy.creatorForNetloc(uri.host, uri.port), endpoint)
        return endpoint


@implementer(IAgent)
class IdentityEncoding:
    """
    Asks for the resource's own bytes (C{Accept-Encoding: identity}).

    treq's L{HTTPClient} always asks for gzip and unpacks it; below it, this replaces
    that, so that what is written is the file byte for byte and a resumed download's
    offset counts the same bytes as the server's ranges.
    """

    def __init__(self, agent: IAgent) -> None:
        self.agent = agent

    def request(
        self,
        method: bytes,
        uri: bytes,
        headers: Headers | None = None,
        bodyProducer: Any = None,
    ) -> defer.Deferred[Any]:
        headers = Headers() if headers is None else headers.copy()
        headers.setRawHeaders(b"Accept-Encoding", [b"identity"])
        return self.agent.request(method, uri, headers, bodyProducer)


def wrap_agent(
    agent: IAgent,
    follow: bool = False,
    max_redirects: int = MAX_REDIRECTS,
    compressed: bool = False,
) -> IAgent:
    """C{agent} following redirects (C{follow}, at most C{max_redirects}), asking for the
    bytes as they are unless C{compressed}: what goes under treq's L{HTTPClient}."""
    from twisted.web.client import RedirectAgent

    if follow:
        agent = RedirectAgent(agent, redirectLimit=max_redirects)
    if not compressed:
        agent = IdentityEncoding(agent)
    return agent


def build_agent(
    reactor: Any,
    endpoints: IAgentEndpointFactory,
    follow: bool = False,
    max_redirects: int = MAX_REDIRECTS,
    compressed: bool = False,
) -> IAgent:
    """An HTTP/1.1 Agent on C{endpoints} (one connection per request), wrapped by
    L{wrap_agent}."""
    from twisted.web.client import Agent, HTTPConnectionPool

    pool = HTTPConnectionPool(reactor, persistent=False)
    agent = Agent.usingEndpointFactory(reactor, endpoints, pool=pool)
    return wrap_agent(agent, follow, max_redirects, compressed)
