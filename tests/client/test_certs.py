"""
C{netsuite certs}: init, issue and show on a temporary state directory (in-process; no
reactor is involved).
"""

from __future__ import annotations

import datetime
import io
import os
import stat
import sys
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from twisted.trial.unittest import SynchronousTestCase

from netsuite.client._certs import describe_certificate, fingerprint
from netsuite.client.main import main
from netsuite.tls._devca import state_dir
from netsuite.tls._pki import create_ca, issue


class CertsTests(SynchronousTestCase):
    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory(prefix="netsuite-certs-test-")
        self.addCleanup(scratch.cleanup)
        self.root = Path(scratch.name)
        self.state = self.root / "state"
        self.patch(os, "environ", {**os.environ, "NETSUITE_STATE_DIR": str(self.state)})
        self.stdout = io.StringIO()
        self.stderr = io.StringIO()
        self.patch(sys, "stdout", self.stdout)
        self.patch(sys, "stderr", self.stderr)

    def certs(self, *argv: str) -> tuple[int, list[str], str]:
        self.stdout.seek(0)
        self.stdout.truncate()
        self.stderr.seek(0)
        self.stderr.truncate()
        try:
            code = main(["certs", *argv])
        except SystemExit as e:
            code = e.code  # type: ignore[assignment]
        return code, self.stdout.getvalue().splitlines(), self.stderr.getvalue()

    def fields(self, lines: list[str]) -> dict[str, str]:
        return {k.strip(): v.strip() for k, _, v in (line.partition(": ") for line in lines)}

    def test_state_dir_order(self) -> None:
        env = {"XDG_STATE_HOME": "/x", "HOME": "/home/u"}
        self.patch(os, "environ", {**env, "NETSUITE_STATE_DIR": "/n"})
        self.assertEqual(state_dir(), Path("/n"))
        self.patch(os, "environ", dict(env))
        self.assertEqual(state_dir(), Path("/x/netsuite"))
        self.patch(os, "environ", {"HOME": "/home/u"})
        self.assertEqual(state_dir(), Path("/home/u/.local/state/netsuite"))

    def test_init(self) -> None:
        code, lines, err = self.certs("init")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(lines[0], f"created the development CA in {self.state}")
        f = self.fields(lines[1:])
        self.assertEqual(f["CA certificate"], str(self.state / "ca.pem"))
        self.assertEqual(f["CA key"], str(self.state / "ca.key"))
        ca = x509.load_pem_x509_certificate((self.state / "ca.pem").read_bytes())
        self.assertEqual(f["sha256"], fingerprint(ca))
        self.assertRegex(f["sha256"], r"^([0-9A-F]{2}:){31}[0-9A-F]{2}$")
        self.assertIsInstance(ca.public_key(), ec.EllipticCurvePublicKey)
        self.assertEqual(ca.public_key().curve.name, "secp256r1")  # type: ignore[union-attr]
        self.assertEqual(stat.S_IMODE((self.state / "ca.key").stat().st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(self.state.stat().st_mode), 0o700)

        # Again: the same CA, said so; --force replaces it.
        code, lines, _ = self.certs("init")
        self.assertIn("already exists", lines[0])
        self.assertEqual(self.fields(lines[1:])["sha256"], f["sha256"])
        code, lines, _ = self.certs("init", "--force")
        self.assertNotEqual(self.fields(lines[1:])["sha256"], f["sha256"])

    def test_dir_overrides_before_or_after_the_action(self) -> None:
        a, b = self.root / "a", self.root / "b"
        self.assertEqual(self.certs("--dir", str(a), "init")[0], 0)
        self.assertEqual(self.certs("init", "--dir", str(b))[0], 0)
        self.assertTrue((a / "ca.pem").exists() and (b / "ca.pem").exists())
        self.assertFalse(self.state.exists())

    def test_issue(self) -> None:
        self.certs("init")
        ca = x509.load_pem_x509_certificate((self.state / "ca.pem").read_bytes())
        code, lines, err = self.certs("issue", "localhost", "127.0.0.1", "::1", "Example.TEST")
        self.assertEqual((code, err), (0, ""))
        f = self.fields(lines)
        cert_path, key_path = Path(f["certificate"]), Path(f["key"])
        self.assertEqual(cert_path, self.state / "leaves" / "localhost.pem")
        self.assertEqual(stat.S_IMODE(key_path.stat().st_mode), 0o600)
        self.assertEqual(f["names"], "DNS:localhost, DNS:example.test, IP:127.0.0.1, IP:::1")
        chain = x509.load_pem_x509_certificates(cert_path.read_bytes())
        self.assertEqual([c.subject for c in chain], [chain[0].subject, ca.subject])
        leaf = chain[0]
        self.assertEqual(leaf.issuer, ca.subject)
        leaf.verify_directly_issued_by(ca)
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        self.assertIn(ExtendedKeyUsageOID.SERVER_AUTH, list(usages))
        self.assertEqual(f["sha256"], fingerprint(leaf))

    def test_issue_out_dir_and_creates_the_ca(self) -> None:
        out = self.root / "out"
        code, lines, _ = self.certs("issue", "*.example.test", "--out", str(out))
        self.assertEqual(code, 0)
        self.assertEqual(lines[0], f"created the development CA in {self.state}")
        f = self.fields(lines[5:])
        self.assertEqual(Path(f["certificate"]), out / "_star.example.test.pem")
        self.assertEqual(stat.S_IMODE(Path(f["key"]).stat().st_mode), 0o600)
        self.assertEqual(f["names"], "DNS:*.example.test")
        chain = x509.load_pem_x509_certificates((out / "_star.example.test.pem").read_bytes())
        self.assertEqual(len(chain), 2)

    def test_issue_bad_names(self) -> None:
        for name in ("bad name", "x-.test", "a..b", "x" * 64 + ".test", "ex*mple.test"):
            code, _, err = self.certs("issue", name)
            self.assertEqual(code, 2, name)
            self.assertIn("is neither a DNS name nor an IP address", err)
        self.assertFalse(self.state.exists())

    def test_show(self) -> None:
        ca = create_ca("test CA")
        leaf = issue(ca, ["localhost", "10.0.0.1"], days=30)
        path = self.root / "leaf.pem"
        path.write_bytes(leaf.cert_pem)
        code, lines, err = self.certs("show", str(path))
        self.assertEqual((code, err), (0, ""))
        f = self.fields(lines)
        self.assertEqual(f["subject"], "CN=localhost")
        self.assertEqual(f["SANs"], "DNS:localhost, IP:10.0.0.1")
        self.assertEqual(f["issuer"], "CN=test CA")
        self.assertEqual(f["CA"], "no")
        self.assertEqual(f["sha256"], fingerprint(leaf.cert))
        self.assertRegex(f["not before"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(f["not after"], f"{leaf.cert.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}")
        self.assertEqual(f["days left"], "29")  # 30 days less a few seconds

        path.write_bytes(leaf.cert_pem + ca.cert_pem)
        code, lines, _ = self.certs("show", str(path))
        self.assertEqual(lines[0], "certificate 1 of 2:")
        self.assertIn("certificate 2 of 2:", lines)
        self.assertIn("CA:         yes", lines)

    def test_show_expired_and_bad_files(self) -> None:
        ca = create_ca("test CA")
        later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=40)
        lines = describe_certificate(issue(ca, ["x.test"], days=30).cert, later)
        self.assertEqual(lines[-1], "days left:  expired 10 days ago")

        (self.root / "junk.pem").write_text("not a certificate\n")
        code, _, err = self.certs("show", str(self.root / "junk.pem"))
        self.assertEqual(
            (code, err),
            (1, f"netsuite certs: {self.root / 'junk.pem'} holds no PEM (or DER) certificate\n"),
        )
        code, _, err = self.certs("show", str(self.root / "missing.pem"))
        self.assertEqual(code, 1)
        self.assertIn("cannot read", err)
