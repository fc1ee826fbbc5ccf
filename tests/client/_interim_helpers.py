"""
INTERIM test helpers for tests/client: start a twistd plugin and wait until it listens,
make a CA and leaf certificates.

Stand-ins until the shared C{netsuite/testing.py} (and its certificate helpers) lands;
then the tests here switch to those and this module goes. Nothing outside tests/client
should import it.

No sleeps: the server's log is read by a thread into a queue, and waiting for a line is
a C{queue.get} with a deadline.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "InterimPKI",
    "RunningServer",
    "find_script",
    "interim_make_pki",
    "interim_start_server",
    "run_script",
]

_LISTENING = re.compile(r"(?P<label>\S+) listening on (?P<kind>\w+) (?P<host>\S+):(?P<port>\d+)$")


def find_script(name: str) -> list[str] | None:
    """
    The command that runs console script C{name} of the Python running the tests.

    The venv's own script first (next to C{sys.executable}), so the tests exercise the
    installed entry point; L{None} when there is none.
    """
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return [str(beside)]
    found = shutil.which(name)
    return [found] if found else None


def run_script(
    argv: list[str], timeout: float = 60.0, stdin: bytes = b""
) -> subprocess.CompletedProcess[str]:
    """Run C{argv} to completion (text output captured), killed after C{timeout}."""
    result = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout, check=False)
    return subprocess.CompletedProcess(
        result.args,
        result.returncode,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
    )


@dataclass
class RunningServer:
    """
    A twistd process and what its log said it listens on.

    @ivar ports: C{label -> ports} (C{"echo/tcp" -> [37053]}) from the "listening" lines,
        in the order the listeners were given.
    @ivar lines: every log line read so far.
    """

    process: subprocess.Popen[bytes]
    ports: dict[str, list[int]] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def wait_for(self, predicate: object, timeout: float = 30.0) -> str:
        """
        The first log line (from now on) for which C{predicate(line)} is true.

        Raises L{AssertionError} with the log so far if the process ends or C{timeout}
        passes first.
        """
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self._queue.get(timeout=max(0.0, left))
            except queue.Empty:
                raise AssertionError(
                    f"server: nothing wanted within {timeout}s; log:\n" + "\n".join(self.lines)
                ) from None
            if line is None:
                raise AssertionError(
                    f"server exited ({self.process.wait()}) first; log:\n" + "\n".join(self.lines)
                )
            if predicate(line):  # type: ignore[operator]
                return line

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then the exit status (killed, and an error, after C{timeout})."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError("server did not stop on SIGTERM") from None

    def log(self) -> str:
        """Every log line read so far, for failure messages."""
        return "\n".join(self.lines)


def _pump(server: RunningServer) -> None:
    stream = server.process.stdout
    assert stream is not None
    for raw in stream:
        line = raw.decode("utf-8", "replace").rstrip("\n")
        server.lines.append(line)
        server._queue.put(line)
    server._queue.put(None)


def interim_start_server(
    plugin: str, listens: list[str], expect: list[str], timeout: float = 30.0
) -> RunningServer:
    """
    Start C{twistd -n --pidfile= PLUGIN --listen ...} and wait until each label in
    C{expect} (C{"echo/tcp"}, C{"echo/udp"}, C{"echo/tls"}; repeated for as many
    listeners of a kind) has logged its port.

    Raises L{FileNotFoundError} (for the caller to skip) if there is no twistd.
    """
    twistd = find_script("twistd")
    if twistd is None:
        raise FileNotFoundError("twistd")
    argv = [*twistd, "-n", "--pidfile=", plugin]
    for description in listens:
        argv += ["--listen", description]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env
    )
    server = RunningServer(process)
    threading.Thread(target=_pump, args=(server,), daemon=True).start()
    try:
        wanted = Counter(expect)
        while any(len(server.ports.get(k, ())) < n for k, n in wanted.items()):
            line = server.wait_for(_LISTENING.search, timeout)
            match = _LISTENING.search(line)
            assert match is not None
            server.ports.setdefault(match["label"], []).append(int(match["port"]))
    except BaseException:
        if process.poll() is None:
            process.kill()
            process.wait()
        raise
    return server


@dataclass(frozen=True)
class InterimPKI:
    """Paths of a test CA and two leaves signed by it (PEM files in one directory)."""

    ca: Path
    leaf: Path
    leaf_key: Path
    other: Path
    other_key: Path
    other_ca: Path
    client: Path
    client_key: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


_KeyAndCert = tuple[ec.EllipticCurvePrivateKey, x509.Certificate]


def _ca(common: str, now: datetime.datetime) -> _KeyAndCert:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(_name(common))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    names: list[x509.GeneralName],
    now: datetime.datetime,
    usage: x509.ObjectIdentifier = ExtendedKeyUsageOID.SERVER_AUTH,
) -> _KeyAndCert:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("netsuite test server"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def interim_make_pki(directory: Path) -> InterimPKI:
    """
    In C{directory}: C{ca.pem}; C{leaf.pem}/C{leaf.key} for IP 127.0.0.1 and DNS
    localhost; C{other.pem}/C{other.key} for DNS other.invalid only (same CA); and
    C{other-ca.pem}, a CA that signed neither; C{client.pem}/C{client.key}, a client
    certificate (clientAuth) from C{ca.pem}. EC P-256 keys: fast to make.
    """
    now = datetime.datetime.now(datetime.UTC)
    ca_key, ca_cert = _ca("netsuite test CA", now)
    _, other_ca_cert = _ca("netsuite unrelated CA", now)
    leaf_key, leaf_cert = _leaf(
        ca_key,
        ca_cert,
        [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")],
        now,
    )
    other_key, other_cert = _leaf(ca_key, ca_cert, [x509.DNSName("other.invalid")], now)
    client_key, client_cert = _leaf(
        ca_key, ca_cert, [x509.DNSName("client.invalid")], now, ExtendedKeyUsageOID.CLIENT_AUTH
    )
    pem = serialization.Encoding.PEM
    pki = InterimPKI(
        ca=directory / "ca.pem",
        leaf=directory / "leaf.pem",
        leaf_key=directory / "leaf.key",
        other=directory / "other.pem",
        other_key=directory / "other.key",
        other_ca=directory / "other-ca.pem",
        client=directory / "client.pem",
        client_key=directory / "client.key",
    )
    pki.ca.write_bytes(ca_cert.public_bytes(pem))
    pki.other_ca.write_bytes(other_ca_cert.public_bytes(pem))
    pki.leaf.write_bytes(leaf_cert.public_bytes(pem))
    _write_key(pki.leaf_key, leaf_key)
    pki.other.write_bytes(other_cert.public_bytes(pem))
    _write_key(pki.other_key, other_key)
    pki.client.write_bytes(client_cert.public_bytes(pem))
    _write_key(pki.client_key, client_key)
    return pki
