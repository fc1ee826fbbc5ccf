"""
One place where netsuite builds TLS contexts, for servers and for clients.

Every door that speaks TLS gets its context from here, so a hardening decision (minimum
version, cipher list, ALPN, client certificates, SNI) is made once and tested once.
Contexts are pyOpenSSL contexts built through Twisted's
L{twisted.internet.ssl.CertificateOptions}; we only add what it lacks.

The hardened server listen description is C{nstls:} ("netsuite TLS"), named so that it
cannot collide with Twisted's own C{ssl:} and C{tls:} prefixes::

    nstls:PORT[:interface=ADDR][:backlog=N][:cert=CHAIN.pem][:key=KEY.pem]
         [:minVersion=1.2|1.3][:ciphers=OPENSSL,CIPHER,LIST][:alpn=h2,http/1.1]
         [:clientCA=CA.pem][:verifyClient=none|optional|required][:sni=DIR]

C{cert} holds the leaf certificate first and then its chain; C{key} defaults to C{cert}
(one PEM with both). C{ciphers} is an OpenSSL cipher string whose entries are separated by
commas (OpenSSL accepts commas where it accepts colons, and colons end a description
field); it applies to TLS 1.2, TLS 1.3 suites are all AEAD and left at OpenSSL's defaults.
C{sni} names a directory of PEM files, each a certificate chain and its key; the
certificate is chosen by the name the client asks for (exact, then one-label wildcard), and
C{cert} (or the first file when C{cert} is absent) serves clients that send no name.

The module is above 400 lines because it is one concern, turning TLS settings into
OpenSSL contexts: parsing, hardening, SNI and the certificate summaries use the same
loaded chains.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from OpenSSL import SSL, crypto
from twisted.internet import ssl
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator

from netsuite._twisted.openssl import set_groups

__all__ = [
    "GROUPS",
    "INTERMEDIATE_CIPHERS",
    "CertificateSummary",
    "SNIChooser",
    "ServedCertificates",
    "TLSConfigError",
    "TLSServerSettings",
    "certificate_names",
    "client_tls_options",
    "load_certificates",
    "load_chain",
    "load_served",
    "peer_identity",
    "server_context_factory",
    "summarize_certificate",
]

#: Mozilla's "intermediate" TLS 1.2 cipher list (server-side-tls guidelines, v5.7):
#: ECDHE and DHE only (forward secrecy), AEAD only (no CBC, no RC4, no 3DES).
INTERMEDIATE_CIPHERS = ",".join(
    [
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
        "DHE-RSA-AES128-GCM-SHA256",
        "DHE-RSA-AES256-GCM-SHA384",
        "DHE-RSA-CHACHA20-POLY1305",
    ]
)

#: Key-exchange groups offered, most preferred first.
GROUPS = "X25519:P-256:P-384"

_VERSIONS = {
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}
_VERIFY_CLIENT = ("none", "optional", "required")


class TLSConfigError(ValueError):
    """
    A TLS setting is wrong: a file is missing or unreadable, a value is out of range.

    The message names the setting and what was expected, so that it can be shown to the
    operator as it is.
    """


@dataclass(frozen=True)
class CertificateSummary:
    """What an operator wants to see of a served certificate at start-up."""

    subject: str
    sha256: str
    not_after: datetime.datetime

    def days_left(self, now: datetime.datetime | None = None) -> float:
        """Days until expiry (negative once expired)."""
        now = now or datetime.datetime.now(datetime.UTC)
        return (self.not_after - now).total_seconds() / 86400

    def __str__(self) -> str:
        return (
            f"subject={self.subject} sha256={self.sha256} "
            f"expires={self.not_after:%Y-%m-%dT%H:%M:%SZ}"
        )


def summarize_certificate(cert: crypto.X509) -> CertificateSummary:
    """Subject, SHA-256 fingerprint and expiry of C{cert}."""
    c = cert.to_cryptography()
    digest = c.fingerprint(hashes.SHA256()).hex().upper()
    return CertificateSummary(
        subject=c.subject.rfc4514_string(),
        sha256=":".join(digest[i : i + 2] for i in range(0, len(digest), 2)),
        not_after=c.not_valid_after_utc,
    )


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise TLSConfigError(f"{what}: cannot read {path!r}: {e.strerror}") from None


def load_chain(
    cert_path: str, key_path: str | None = None
) -> tuple[crypto.PKey, list[crypto.X509]]:
    """
    Load a private key and a certificate chain (leaf first) from PEM files.

    The key and the leaf are checked to belong together here, at start-up, rather than
    at the first handshake.
    """
    cert_pem = _read(cert_path, "cert")
    key_pem = cert_pem if key_path is None else _read(key_path, "key")
    certs = _certificates_in(cert_pem, cert_path, "cert")
    try:
        key = crypto.load_privatekey(crypto.FILETYPE_PEM, key_pem)
    except crypto.Error:
        raise TLSConfigError(
            f"key: {key_path or cert_path!r} holds no unencrypted PEM private key"
        ) from None
    ctx = SSL.Context(SSL.TLS_METHOD)
    try:
        ctx.use_certificate(certs[0])
        ctx.use_privatekey(key)
        ctx.check_privatekey()
    except SSL.Error:
        raise TLSConfigError(
            f"key: the key in {key_path or cert_path!r} does not match the certificate "
            f"in {cert_path!r}"
        ) from None
    return key, certs


def _certificates_in(pem: bytes, path: str, what: str) -> list[crypto.X509]:
    """Every PEM certificate in C{pem}, in order; the error names the setting C{what}."""
    end = b"-----END CERTIFICATE-----"
    out = []
    for block in pem.split(end)[:-1]:
        block = block[block.find(b"-----BEGIN CERTIFICATE-----") :] + end
        try:
            out.append(crypto.load_certificate(crypto.FILETYPE_PEM, block))
        except crypto.Error as e:
            raise TLSConfigError(f"{what}: {path!r} holds a broken certificate: {e}") from None
    if not out:
        raise TLSConfigError(f"{what}: {path!r} holds no PEM certificate")
    return out


def load_certificates(path: str, what: str) -> list[crypto.X509]:
    """Every PEM certificate in the file C{path}; errors name the setting C{what}."""
    return _certificates_in(_read(path, what), path, what)


def certificate_names(cert: crypto.X509) -> list[str]:
    """DNS and IP subject-alternative names of C{cert}, lower-cased."""
    return _names_of(cert)


def _names_of(cert: crypto.X509) -> list[str]:
    """DNS and IP subject-alternative names of C{cert}, lower-cased."""
    c = cert.to_cryptography()
    try:
        san = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    names = [n.lower() for n in san.get_values_for_type(x509.DNSName)]
    names += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return names


def peer_identity(cert: crypto.X509 | None) -> str | None:
    """
    The identity a verified client certificate stands for: its first DNS name, else its
    common name. (Only certificates the handshake verified reach here: with
    C{verifyClient=optional|required} an untrusted one fails the handshake.)
    """
    if cert is None:
        return None
    names = [n for n in _names_of(cert) if not n[:1].isdigit() and ":" not in n]
    if names:
        return names[0]
    cn = cert.get_subject().CN
    return cn or None


@dataclass(frozen=True)
class TLSServerSettings:
    """
    Everything a hardened TLS server context needs, as parsed from a description.

    Defaults are the safe ones: TLS 1.2 at least, Mozilla intermediate ciphers, no client
    certificate asked for.
    """

    cert: str | None = None
    key: str | None = None
    min_version: str = "1.2"
    ciphers: str = INTERMEDIATE_CIPHERS
    alpn: tuple[str, ...] = ()
    client_ca: str | None = None
    verify_client: str = "none"
    sni: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_description(cls, kwargs: dict[str, str]) -> TLSServerSettings:
        """
        Validate the keyword part of an C{nstls:} description.

        Unknown keys are refused with the list of known ones, so a typo does not silently
        weaken a listener.
        """
        known = {
            "cert": "cert",
            "key": "key",
            "minVersion": "min_version",
            "ciphers": "ciphers",
            "alpn": "alpn",
            "clientCA": "client_ca",
            "verifyClient": "verify_client",
            "sni": "sni",
        }
        values: dict[str, object] = {}
        for k, v in kwargs.items():
            if k not in known:
                raise TLSConfigError(
                    f"nstls: unknown setting {k!r}; expected one of {', '.join(sorted(known))}"
                )
            values[known[k]] = v
        if "alpn" in values:
            values["alpn"] = tuple(p for p in str(values["alpn"]).split(",") if p)
        # values maps field names to checked values of mixed types; validate() checks the rest.
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        """Refuse settings that are inconsistent before any file is read."""
        if self.min_version not in _VERSIONS:
            raise TLSConfigError(
                f"nstls: minVersion={self.min_version!r}; expected 1.2 or 1.3 "
                "(older versions are not offered)"
            )
        if self.verify_client not in _VERIFY_CLIENT:
            raise TLSConfigError(
                f"nstls: verifyClient={self.verify_client!r}; expected none, optional or required"
            )
        if self.verify_client != "none" and not self.client_ca:
            raise TLSConfigError(
                f"nstls: verifyClient={self.verify_client} needs clientCA=FILE to verify against"
            )
        if not self.cert and not self.sni:
            raise TLSConfigError("nstls: needs cert=FILE (and key=FILE unless cert holds it)")


class HardenedCertificateOptions(ssl.CertificateOptions):
    """
    L{ssl.CertificateOptions} plus what netsuite adds to every server context.

    Kept as a subclass so that every later addition (groups, tickets, handshake hooks)
    lands in one method. The additions are made to the context Twisted builds and
    caches, the first time L{getContext} returns it (every connection, and every SNI
    context, comes from there).
    """

    _hardened: SSL.Context | None = None

    def getContext(self) -> SSL.Context:
        ctx = super().getContext()
        if ctx is not self._hardened:
            _harden(ctx)
            self._hardened = ctx
        return ctx


def _harden(ctx: SSL.Context) -> None:
    # No TLS-level compression (CRIME) and no renegotiation initiated by clients.
    ctx.set_options(SSL.OP_NO_COMPRESSION | SSL.OP_CIPHER_SERVER_PREFERENCE)
    ctx.set_options(getattr(SSL, "OP_NO_RENEGOTIATION", 0))
    # Key-exchange groups: X25519, P-256, P-384 (Mozilla intermediate). pyOpenSSL has
    # no call for the list (Twisted sets P-256 alone), so use its OpenSSL binding.
    if not set_groups(ctx, GROUPS):
        raise TLSConfigError(f"OpenSSL refused the group list {GROUPS!r}")


def _options(
    key: crypto.PKey,
    chain: Sequence[crypto.X509],
    settings: TLSServerSettings,
    client_cas: list[crypto.X509] | None,
    for_server_name: Callable[[bytes | None], SSL.Context | None] | None = None,
) -> HardenedCertificateOptions:
    verify = settings.verify_client != "none"
    try:
        ciphers = ssl.AcceptableCiphers.fromOpenSSLCipherString(settings.ciphers)
        return HardenedCertificateOptions(
            privateKey=key,
            certificate=chain[0],
            extraCertChain=list(chain[1:]),
            raiseMinimumTo=_VERSIONS[settings.min_version],
            acceptableCiphers=ciphers,
            acceptableProtocols=[p.encode("ascii") for p in settings.alpn] or None,
            verify=verify,
            caCerts=client_cas if verify else None,
            requireCertificate=settings.verify_client == "required",
            contextForServerName=for_server_name,
            # Resumption by session tickets (TLS 1.2 and 1.3): a returning client skips
            # the full handshake. Keys are per process, rotated by OpenSSL.
            enableSessionTickets=True,
        )
    except (ValueError, SSL.Error) as e:
        raise TLSConfigError(f"nstls: ciphers={settings.ciphers!r}: {e}") from None


class SNIChooser:
    """Picks the context for the server name a client sends (exact, then wildcard)."""

    def __init__(self, by_name: dict[str, SSL.Context]) -> None:
        self.by_name = by_name

    def __call__(self, name: bytes | None) -> SSL.Context | None:
        if not name:
            return None
        host = name.decode("ascii", "replace").lower().rstrip(".")
        ctx = self.by_name.get(host)
        if ctx is None and "." in host:
            ctx = self.by_name.get("*." + host.split(".", 1)[1])
        return ctx


@dataclass
class ServedCertificates:
    """
    What a server's settings serve, read and checked: the default key and chain, each
    SNI file's key, chain and names, the client CAs, and summaries for the log.
    """

    key: crypto.PKey
    chain: list[crypto.X509]
    sni: list[tuple[list[str], crypto.PKey, list[crypto.X509]]]
    client_cas: list[crypto.X509] | None
    summaries: list[CertificateSummary]


def load_served(settings: TLSServerSettings, prefix: str = "nstls") -> ServedCertificates:
    """
    Read every file C{settings} names, for any TLS-speaking listener (C{nstls:},
    C{dtls:}). Errors name the setting, under C{prefix}.
    """
    settings.validate()
    client_cas = None
    if settings.client_ca:
        client_cas = load_certificates(settings.client_ca, "clientCA")
    summaries: list[CertificateSummary] = []
    sni: list[tuple[list[str], crypto.PKey, list[crypto.X509]]] = []
    if settings.sni:
        directory = Path(settings.sni)
        if not directory.is_dir():
            raise TLSConfigError(f"{prefix}: sni={settings.sni!r} is not a directory")
        for pem in sorted(directory.glob("*.pem")):
            key, chain = load_chain(str(pem))
            sni.append((_names_of(chain[0]), key, chain))
            summaries.append(summarize_certificate(chain[0]))
        if not sni:
            raise TLSConfigError(f"{prefix}: sni={settings.sni!r} holds no *.pem file")
    if settings.cert:
        key, chain = load_chain(settings.cert, settings.key)
        summaries.insert(0, summarize_certificate(chain[0]))
    else:
        _, key, chain = sni[0]
    return ServedCertificates(key, chain, sni, client_cas, summaries)


def server_context_factory(
    settings: TLSServerSettings,
) -> tuple[ssl.CertificateOptions, list[CertificateSummary]]:
    """
    Build the server context factory for C{settings}, and summaries of what it serves.

    Every file is read and checked now, so that a broken certificate stops the process
    before it listens rather than failing the first client.
    """
    served = load_served(settings)
    by_name: dict[str, SSL.Context] = {}
    for names, key, chain in served.sni:
        ctx = _options(key, chain, settings, served.client_cas).getContext()
        for name in names:
            by_name.setdefault(name, ctx)
    chooser = SNIChooser(by_name) if by_name else None
    options = _options(served.key, served.chain, settings, served.client_cas, chooser)
    return options, served.summaries


def client_tls_options(
    hostname: str,
    ca: str | None = None,
    cert: str | None = None,
    key: str | None = None,
    alpn: Sequence[str] = (),
) -> IOpenSSLClientConnectionCreator:
    """
    Client TLS options that verify the server with service_identity.

    C{hostname} is checked against the certificate's DNS or IP subject-alternative names
    (Twisted's L{ssl.optionsForClientTLS} does both); C{ca} replaces the platform's trust
    store with a PEM file; C{cert}/C{key} present a client certificate for mutual TLS.
    TLS 1.2 is the floor here too.
    """
    trust = None
    if ca:
        certs = load_certificates(ca, "ca")
        trust = ssl.trustRootFromCertificates([ssl.Certificate(c) for c in certs])
    client_cert = None
    if cert:
        k, chain = load_chain(cert, key)
        client_cert = ssl.PrivateCertificate.fromCertificateAndKeyPair(
            ssl.Certificate(chain[0]), ssl.KeyPair(k)
        )
    return ssl.optionsForClientTLS(
        hostname,
        trustRoot=trust,
        clientCertificate=client_cert,
        acceptableProtocols=[p.encode("ascii") for p in alpn] or None,
        extraCertificateOptions={"raiseMinimumTo": ssl.TLSVersion.TLSv1_2},
    )
