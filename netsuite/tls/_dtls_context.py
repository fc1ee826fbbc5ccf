"""
DTLS 1.2 contexts, server and client, with the same hardening as L{netsuite.tls._contexts}.

The server takes the certificate settings of an C{nstls:} description (the same keys,
parsed and validated by L{netsuite.tls._contexts.TLSServerSettings}) and builds pyOpenSSL
C{DTLS_SERVER_METHOD} contexts directly: Twisted's L{ssl.CertificateOptions} only builds
TLS contexts (it pins C{TLS_METHOD} and TLS version numbers). What it would have added is
added here: Mozilla intermediate ciphers (all valid for DTLS 1.2), no compression, server
cipher preference, no renegotiation, client certificates against C{clientCA}, ALPN, and
SNI. DTLS 1.2 is both the floor and the ceiling: the stateless cookie exchange here is
DTLS 1.2's HelloVerifyRequest (DTLS 1.3 moved cookies into HelloRetryRequest).

The client verifies the chain against C{ca} (or the platform's trust store) and the
server's name with service_identity, as L{netsuite.tls._contexts.client_tls_options} does for TLS.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from OpenSSL import SSL, crypto
from service_identity import CertificateError, VerificationError
from service_identity.cryptography import (
    verify_certificate_hostname,
    verify_certificate_ip_address,
)

from netsuite.tls._contexts import (
    CertificateSummary,
    SNIChooser,
    TLSConfigError,
    TLSServerSettings,
    certificate_names,
    load_certificates,
    load_chain,
    load_served,
)
from netsuite.tls._dtls_session import DEFAULT_MTU, CookieJar, DTLSSession

__all__ = [
    "DTLS1_2_VERSION",
    "DTLSClientOptions",
    "client_options",
    "server_context",
]

#: OpenSSL's version number for DTLS 1.2 (pyOpenSSL names only the TLS ones).
DTLS1_2_VERSION = 0xFEFD

_SESSION_ID_CONTEXT = b"netsuite-dtls"


def _dtls_error(e: TLSConfigError) -> TLSConfigError:
    """The same message, naming the description it came from (C{dtls:}, not C{nstls:})."""
    text = str(e)
    return TLSConfigError("dtls:" + text[len("nstls:") :] if text.startswith("nstls:") else text)


def _base_context(method: int) -> SSL.Context:
    ctx = SSL.Context(method)
    ctx.set_min_proto_version(DTLS1_2_VERSION)
    ctx.set_max_proto_version(DTLS1_2_VERSION)
    # No path-MTU queries: a memory BIO has no path; the session sets the MTU itself.
    ctx.set_options(
        SSL.OP_NO_COMPRESSION | SSL.OP_NO_QUERY_MTU | getattr(SSL, "OP_NO_RENEGOTIATION", 0)
    )
    # Free the record buffers of idle sessions (as Twisted does for TLS): a table of
    # quiet DTLS peers then costs much less memory.
    ctx.set_mode(SSL.MODE_RELEASE_BUFFERS)
    return ctx


def _one_server_context(
    key: crypto.PKey,
    chain: Sequence[crypto.X509],
    settings: TLSServerSettings,
    client_cas: list[x509.Certificate],
    cookies: CookieJar,
) -> SSL.Context:
    ctx = _base_context(SSL.DTLS_SERVER_METHOD)
    ctx.set_options(SSL.OP_CIPHER_SERVER_PREFERENCE)
    ctx.use_certificate(chain[0].to_cryptography())
    # pyOpenSSL's use_privatekey stub names PKey and a key union; an EC key is one.
    ctx.use_privatekey(key.to_cryptography_key())  # type: ignore[arg-type]
    for extra in chain[1:]:
        ctx.add_extra_chain_cert(extra.to_cryptography())
    try:
        ctx.set_cipher_list(settings.ciphers.encode("ascii"))
    except (SSL.Error, UnicodeEncodeError) as e:
        raise TLSConfigError(
            f"dtls: ciphers={settings.ciphers!r}: no usable cipher ({e})"
        ) from None
    ctx.set_session_id(_SESSION_ID_CONTEXT)
    # No server-side session cache: it would hold every past session (up to 20,480) out
    # of reach of the session table's bound. Resumption still works, by ticket.
    ctx.set_session_cache_mode(SSL.SESS_CACHE_OFF)
    if settings.verify_client != "none":
        store = ctx.get_cert_store()
        assert store is not None
        for ca in client_cas:
            store.add_cert(crypto.X509.from_cryptography(ca))
            ctx.add_client_ca(ca)
        mode = SSL.VERIFY_PEER
        if settings.verify_client == "required":
            mode |= SSL.VERIFY_FAIL_IF_NO_PEER_CERT
        ctx.set_verify(mode)
    if settings.alpn:
        ours = [p.encode("ascii") for p in settings.alpn]

        def select(conn: SSL.Connection, offered: list[bytes]) -> bytes:
            for protocol in ours:
                if protocol in offered:
                    return protocol
            # The sentinel pyOpenSSL defines for "none in common" is typed as an object, not bytes.
            return SSL.NO_OVERLAPPING_PROTOCOLS  # type: ignore[return-value]

        ctx.set_alpn_select_callback(select)
    cookies.install(ctx)
    return ctx


def server_context(
    settings: TLSServerSettings, cookies: CookieJar
) -> tuple[SSL.Context, list[CertificateSummary]]:
    """
    The DTLS server context for C{settings}, issuing and checking cookies from
    C{cookies}, and summaries of the certificates it serves (for the start-up log).

    Every file is read and checked now, so a broken certificate stops the process before
    it listens. The messages name the C{dtls:} setting at fault.
    """
    try:
        settings.validate()
    except TLSConfigError as e:
        raise _dtls_error(e) from None
    if settings.min_version != "1.2":
        raise TLSConfigError(
            f"dtls: minVersion={settings.min_version!r}; DTLS 1.2 is the only version "
            "offered (expected 1.2)"
        )
    try:
        served = load_served(settings, prefix="dtls")
    except TLSConfigError as e:
        raise _dtls_error(e) from None
    client_cas = [c.to_cryptography() for c in served.client_cas or []]
    by_name: dict[str, SSL.Context] = {}
    for names, key, chain in served.sni:
        ctx = _one_server_context(key, chain, settings, client_cas, cookies)
        for name in names:
            by_name.setdefault(name, ctx)
    default = _one_server_context(served.key, served.chain, settings, client_cas, cookies)
    if by_name:
        chooser = SNIChooser(by_name)

        def choose(conn: SSL.Connection) -> None:
            ctx = chooser(conn.get_servername())
            if ctx is not None:
                conn.set_context(ctx)

        default.set_tlsext_servername_callback(choose)
    return default, served.summaries


@dataclass
class DTLSClientOptions:
    """
    What a DTLS client needs to reach C{hostname}: a context that verifies the chain,
    and the name check run once the handshake completes.

    Use L{session} for a fresh L{DTLSSession} per association.
    """

    hostname: str
    context: SSL.Context

    @property
    def is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.hostname)
        except ValueError:
            return False
        return True

    def connection(self) -> SSL.Connection:
        """A client connection on memory BIOs, sending SNI for a DNS name."""
        conn = SSL.Connection(self.context, None)
        conn.set_connect_state()
        if not self.is_ip:
            conn.set_tlsext_host_name(self.hostname.encode("idna"))
        return conn

    def verify(self, conn: SSL.Connection) -> None:
        """
        Check the server certificate's DNS or IP subject-alternative names against
        C{hostname}; raise L{VerificationError} with a message for the user if none fits.
        """
        cert = conn.get_peer_certificate(as_cryptography=True)
        if cert is None:
            # A text, not service_identity's Mismatch list: repr() carries the message to
            # the client, which shows it (netsuite.client._ping.dtls_failure_message).
            raise VerificationError("the server sent no certificate")  # type: ignore[arg-type]
        try:
            if self.is_ip:
                verify_certificate_ip_address(cert, self.hostname)
            else:
                verify_certificate_hostname(cert, self.hostname)
        except (VerificationError, CertificateError):
            names = ", ".join(certificate_names(crypto.X509.from_cryptography(cert))) or "none"
            raise VerificationError(
                f"certificate does not match {self.hostname} (it names: {names})"  # type: ignore[arg-type]
            ) from None

    def session(self, mtu: int = DEFAULT_MTU) -> DTLSSession:
        """A new client session (call its C{start()} for the ClientHello)."""
        return DTLSSession(self.connection(), mtu=mtu, verify=self.verify)


def client_options(
    hostname: str,
    ca: str | None = None,
    cert: str | None = None,
    key: str | None = None,
    alpn: Sequence[str] = (),
) -> DTLSClientOptions:
    """
    Client DTLS options that verify the server, as L{netsuite.tls._contexts.client_tls_options}
    does for TLS: C{ca} replaces the platform's trust store with a PEM file, C{cert} and
    C{key} present a client certificate, C{alpn} offers protocols. DTLS 1.2 only.
    """
    ctx = _base_context(SSL.DTLS_CLIENT_METHOD)
    ctx.set_verify(SSL.VERIFY_PEER)
    if ca:
        store = ctx.get_cert_store()
        assert store is not None
        for c in load_certificates(ca, "ca"):
            store.add_cert(c)
    else:
        ctx.set_default_verify_paths()
    if cert:
        k, chain = load_chain(cert, key)
        ctx.use_certificate(chain[0].to_cryptography())
        # As above: an EC key is one of the private keys use_privatekey takes.
        ctx.use_privatekey(k.to_cryptography_key())  # type: ignore[arg-type]
        for extra in chain[1:]:
            ctx.add_extra_chain_cert(extra.to_cryptography())
    if alpn:
        ctx.set_alpn_protos([p.encode("ascii") for p in alpn])
    return DTLSClientOptions(hostname, ctx)
