"""
The local development CA: one per user, kept in a state directory.

C{netsuite certs} manages it; a TLS listener on a loopback interface with no certificate
configured gets a leaf from it (created on first use), as ncat and Caddy do, and the log
says where the CA is so clients can trust it. The directory is
C{$NETSUITE_STATE_DIR}, else C{$XDG_STATE_HOME/netsuite}, else
C{~/.local/state/netsuite}; keys are written mode 0600, the directory 0700.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from OpenSSL import crypto

from netsuite.tls._pki import Issued, create_ca, issue

__all__ = ["DevCA", "state_dir"]

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def state_dir() -> Path:
    explicit = os.environ.get("NETSUITE_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "netsuite"


class DevCA:
    """The CA in C{directory} (default L{state_dir}): C{ca.pem}, C{ca.key}, C{leaves/}."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory else state_dir()

    @property
    def cert_path(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def key_path(self) -> Path:
        return self.directory / "ca.key"

    def exists(self) -> bool:
        return self.cert_path.exists() and self.key_path.exists()

    def init(self, force: bool = False) -> Issued:
        """Create the CA (unless it exists and not C{force}); return it."""
        if self.exists() and not force:
            return self.load()
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        ca = create_ca("netsuite development CA")
        ca.write(self.cert_path, self.key_path)
        return ca

    def load(self) -> Issued:
        cert = x509.load_pem_x509_certificate(self.cert_path.read_bytes())
        key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{self.key_path}: not an elliptic-curve key (not made by netsuite)")
        return Issued(key, cert)

    def load_x509(self) -> crypto.X509:
        """The CA certificate as a pyOpenSSL X509 (what L{netsuite.tls._contexts} summarizes)."""
        return crypto.X509.from_cryptography(self.load().cert)

    def issue(self, names: Sequence[str], stem: str | None = None) -> tuple[Path, Path]:
        """Issue a leaf for C{names} into C{leaves/}; return (certificate, key) paths."""
        ca = self.init()
        leaves = self.directory / "leaves"
        leaves.mkdir(parents=True, exist_ok=True)
        stem = stem or names[0].replace(":", "_").replace("*", "_star")
        cert, key = leaves / f"{stem}.pem", leaves / f"{stem}.key"
        issue(ca, list(names)).write(cert, key)
        # The chain a server sends: leaf then CA.
        cert.write_bytes(cert.read_bytes() + ca.cert_pem)
        return cert, key

    def throwaway(self) -> tuple[Path, Path]:
        """The loopback leaf (localhost, 127.0.0.1, ::1), issued on first use."""
        cert = self.directory / "leaves" / "loopback.pem"
        key = self.directory / "leaves" / "loopback.key"
        if cert.exists() and key.exists():
            leaf = x509.load_pem_x509_certificate(cert.read_bytes())
            import datetime

            if leaf.not_valid_after_utc > datetime.datetime.now(datetime.UTC) + datetime.timedelta(
                days=30
            ):
                return cert, key
        return self.issue(LOOPBACK_NAMES, "loopback")
