"""
TLS for every door, through pyOpenSSL: hardened contexts (Mozilla intermediate) and
certificate loading (L{netsuite.tls._contexts}), the C{nstls:} listener with its handshake
deadline, one-flight send path and reload (L{netsuite.tls._listener}), the development
CA and PKI (L{netsuite.tls._devca}, L{netsuite.tls._pki}) and DTLS 1.2: the sans-IO
session (L{netsuite.tls._dtls_session}), contexts (L{netsuite.tls._dtls_context}), the
server adapter (L{netsuite.tls._dtls_server}), its listener (L{netsuite.tls._dtls_endpoint})
and the client adapter (L{netsuite.tls._dtls_client}); and the clients' contexts that do
not verify (C{--insecure}, L{netsuite.tls._client}).

This layer knows nothing of doors: a door's factory hands it what it needs (whether to
encrypt each write at once, what to call around a read).
"""

from netsuite.tls._contexts import (
    CertificateSummary,
    TLSConfigError,
    TLSServerSettings,
    client_tls_options,
    load_chain,
    peer_identity,
    server_context_factory,
)
from netsuite.tls._devca import DevCA
from netsuite.tls._dtls_client import DTLSClientProtocol, DTLSHandshakeError
from netsuite.tls._dtls_endpoint import DTLSServerEndpoint
from netsuite.tls._dtls_server import DTLSServerProtocol
from netsuite.tls._listener import ReloadableServerTLS, TLSServerEndpoint, reload_all
from netsuite.tls._pki import Issued, create_ca, issue

__all__ = [
    "CertificateSummary",
    "DTLSClientProtocol",
    "DTLSHandshakeError",
    "DTLSServerEndpoint",
    "DTLSServerProtocol",
    "DevCA",
    "Issued",
    "ReloadableServerTLS",
    "TLSConfigError",
    "TLSServerEndpoint",
    "TLSServerSettings",
    "client_tls_options",
    "create_ca",
    "issue",
    "load_chain",
    "peer_identity",
    "reload_all",
    "server_context_factory",
]
