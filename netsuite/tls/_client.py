"""
Client TLS and DTLS contexts that do not verify the server, and what a TLS transport
says about the server's certificates: the TLS side of the C{netsuite} commands'
C{--insecure} and of their failure messages.

The verified client contexts are L{netsuite.tls._contexts.client_tls_options} and
L{netsuite.tls._dtls_context.client_options}; the command line around all of them (the
C{--ca}/C{--cert}/C{--key}/C{--insecure} arguments, the warning, the exit statuses) is
L{netsuite.client._common}'s.
"""

from __future__ import annotations

import contextlib
from typing import Any

from cryptography import x509
from OpenSSL import SSL
from twisted.internet import ssl
from twisted.internet.abstract import isIPAddress, isIPv6Address
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator
from twisted.protocols.tls import TLSMemoryBIOProtocol
from zope.interface import implementer

from netsuite.tls._contexts import load_chain
from netsuite.tls._dtls_context import DTLSClientOptions

__all__ = ["UncheckedClientTLS", "UncheckedDTLSOptions", "tls_peer_chain", "unchecked_dtls"]


def tls_peer_chain(transport: Any) -> list[x509.Certificate]:
    """
    The certificates the server sent on a TLS C{transport} (leaf first), even after a
    failed handshake: what a failure message needs to say what was wrong with them.
    """
    if not isinstance(transport, TLSMemoryBIOProtocol):
        return []  # plain TCP (and a closed TCP transport's getHandle raises)
    handle = transport.getHandle()
    if not isinstance(handle, SSL.Connection):
        return []
    with contextlib.suppress(SSL.Error, ValueError):
        return [c.to_cryptography() for c in handle.get_peer_cert_chain() or ()]
    return []


@implementer(IOpenSSLClientConnectionCreator)
class UncheckedClientTLS:
    """
    Client TLS that does not verify the server (C{--insecure}): any certificate, any
    name. TLS 1.2 is still the floor, SNI is still sent for a DNS name, and a client
    certificate is still presented when given.
    """

    def __init__(self, hostname: str, cert: str | None = None, key: str | None = None) -> None:
        extra: dict[str, Any] = {}
        if cert:
            private, chain = load_chain(cert, key)
            extra = {
                "privateKey": private,
                "certificate": chain[0],
                "extraCertChain": chain[1:],
            }
        options = ssl.CertificateOptions(
            verify=False, raiseMinimumTo=ssl.TLSVersion.TLSv1_2, **extra
        )
        self.context = options.getContext()
        self.hostname = hostname
        self._server_name: bytes | None = None
        if not (isIPAddress(hostname) or isIPv6Address(hostname)):
            self._server_name = hostname.encode("idna")

    def clientConnectionForTLS(self, tlsProtocol: Any) -> SSL.Connection:
        connection = SSL.Connection(self.context, None)
        connection.set_app_data(tlsProtocol)
        if self._server_name is not None:
            connection.set_tlsext_host_name(self._server_name)
        return connection


class UncheckedDTLSOptions(DTLSClientOptions):
    """L{DTLSClientOptions} whose name check passes every certificate (C{--insecure})."""

    def verify(self, conn: SSL.Connection) -> None:
        """Any certificate, for any name."""


def unchecked_dtls(options: DTLSClientOptions) -> UncheckedDTLSOptions:
    """C{options}' context with certificate verification and the name check turned off."""
    options.context.set_verify(SSL.VERIFY_NONE)
    return UncheckedDTLSOptions(options.hostname, options.context)
