"""
End to end: the development PKI as a user runs it. C{netsuite certs} makes a CA and a
leaf in a temporary state directory; a real C{twistd netsuite-echo} serves the leaf over
TLS and DTLS; C{netsuite echo --tls} and C{netsuite ping --dtls} trust it through the CA.
Then the servers' own throw-away loopback certificates, from the same CA.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TwistdProcess
from tests.e2e.test_client_chat import netsuite


class DevPKITests(SynchronousTestCase):
    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory(prefix="netsuite-certs-e2e-")
        self.addCleanup(scratch.cleanup)
        self.state = Path(scratch.name) / "state"
        self.env = {**os.environ, "NETSUITE_STATE_DIR": str(self.state)}

    def run_netsuite(self, *args: str) -> tuple[int, str, str]:
        result = subprocess.run(
            [*netsuite(), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=self.env,
        )
        return result.returncode, result.stdout, result.stderr

    def fields(self, out: str) -> dict[str, str]:
        return {
            k.strip(): v.strip()
            for k, sep, v in (x.partition(": ") for x in out.splitlines())
            if sep
        }

    def test_init_issue_serve_verify(self) -> None:
        code, out, err = self.run_netsuite("certs", "init")
        self.assertEqual((code, err), (0, ""))
        ca = self.fields(out)["CA certificate"]
        self.assertEqual(ca, str(self.state / "ca.pem"))

        code, out, err = self.run_netsuite("certs", "issue", "localhost", "127.0.0.1")
        self.assertEqual((code, err), (0, ""))
        leaf = self.fields(out)
        cert, key = leaf["certificate"], leaf["key"]

        code, out, err = self.run_netsuite("certs", "show", cert)
        self.assertEqual((code, err), (0, ""))
        self.assertIn("SANs:       DNS:localhost, IP:127.0.0.1", out)
        self.assertIn(f"sha256:     {leaf['sha256']}", out)

        local = "interface=127.0.0.1"
        with TwistdProcess(
            "netsuite-echo",
            [
                "--listen", f"nstls:0:{local}:cert={cert}:key={key}",
                "--listen", f"dtls:0:{local}:cert={cert}:key={key}",
            ],
            expect=2,
            env=self.env,
        ) as server:  # fmt: skip
            tls_port = str(server.address("echo/tls")[1])
            dtls_port = str(server.address("echo/dtls")[1])
            # The server logs the fingerprint `certs issue` printed.
            server.wait_for_line(f"echo/tls TLS certificate .*sha256={leaf['sha256']}")
            code, out, err = self.run_netsuite(
                "echo", "localhost", tls_port, "--tls", "--ca", ca, "--count", "10"
            )
            self.assertEqual((code, err), (0, ""), out)
            code, out, err = self.run_netsuite(
                "ping", "127.0.0.1", dtls_port, "--dtls", "--ca", ca, "-c", "5", "-i", "0.01"
            )
            self.assertEqual((code, err), (0, ""), out)
            self.assertIn("5 sent, 5 received, 0% lost", out)

    def test_throwaway_loopback_certificates_chain_to_the_same_ca(self) -> None:
        with TwistdProcess(
            "netsuite-echo",
            ["--listen", "nstls:0:interface=127.0.0.1", "--listen", "dtls:0:interface=127.0.0.1"],
            expect=2,
            env=self.env,
        ) as server:
            ca = self.state / "ca.pem"
            server.wait_for_line(f"clients trust it with --ca {ca}")
            tls_port = str(server.address("echo/tls")[1])
            dtls_port = str(server.address("echo/dtls")[1])
            code, out, err = self.run_netsuite(
                "echo", "127.0.0.1", tls_port, "--tls", "--ca", str(ca), "--count", "3"
            )
            self.assertEqual((code, err), (0, ""), out)
            code, out, err = self.run_netsuite(
                "ping", "127.0.0.1", dtls_port, "--dtls", "--ca", str(ca),
                "-c", "3", "-i", "0.01",
            )  # fmt: skip
            self.assertEqual((code, err), (0, ""), out)
        # `certs init` finds the CA the servers made, and says so.
        code, out, err = self.run_netsuite("certs", "init")
        self.assertEqual(code, 0)
        self.assertIn("already exists", out)
