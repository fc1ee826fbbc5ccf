"""
A real TLS scanner (testssl.sh) against every TLS door of the real processes, under the
default profile: the findings must match Mozilla's "intermediate" configuration.

The scanner runs against each door at once (in parallel), with the test CA added to its
trust store. Certificate-infrastructure findings that a local test CA cannot satisfy
(no CRL/OCSP URI, no DNS CAA record) are not about the server's TLS configuration and
are listed, not failed; everything else of severity LOW or above fails the test.
"""

import json
import subprocess
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TLSFiles, TwistdProcess, require_tool

#: Findings about the certificate's issuer that a throw-away test CA cannot meet.
NOT_ABOUT_THE_SERVER = {"cert_revocation", "DNS_CAArecord", "cert_crlDistributionPoints",
                        "cert_ocspURL", "OCSP_stapling"}  # fmt: skip
SEVERE = {"LOW", "MEDIUM", "HIGH", "CRITICAL"}
#: Mozilla intermediate (v5.7): TLS 1.2 suites, plus TLS 1.3's.
INTERMEDIATE = {
    "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384", "DHE-RSA-CHACHA20-POLY1305",
}  # fmt: skip


class ScannerTests(SynchronousTestCase):
    def test_every_tls_door(self) -> None:
        testssl = require_tool("testssl")
        files = TLSFiles(Path(self.mktemp()))
        tls = files.nstls(0)
        echo = TwistdProcess("netsuite-echo", ["--listen", tls]).start()
        self.addCleanup(echo.stop)
        chat = TwistdProcess("netsuite-chat", ["--listen", tls, "--irc-listen", tls], expect=2)
        chat.start()
        self.addCleanup(chat.stop)
        doors = {
            "echo": echo.address("echo/tls"),
            "chat line": chat.address("chat/line-tls"),
            "chat irc": chat.address("chat/irc-tls"),
        }
        out = Path(self.mktemp())
        out.mkdir()
        scans = {}
        for name, (host, port) in doors.items():
            report = out / f"{name.replace(' ', '_')}.json"
            command = [
                testssl, "--quiet", "--color", "0", "--warnings", "off", "--add-ca",
                files.ca_path, "--jsonfile", str(report), "-p", "-e", "-f", "-S",
                "--renegotiation", "--compression", "--crime", "--heartbleed",
                f"{host}:{port}",
            ]  # fmt: skip
            scans[name] = (subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.PIPE), report)  # fmt: skip
        for name, (process, report) in scans.items():
            _, err = process.communicate(timeout=600)
            findings = json.loads(report.read_text())
            self.check(name, findings, err)

    def check(self, door: str, findings: list[dict], stderr: bytes) -> None:  # type: ignore[type-arg]
        by_id = {f["id"]: f for f in findings}
        problems = [
            f"{f['id']}: {f['severity']} {f['finding']}"
            for f in findings
            if f["severity"] in SEVERE and f["id"] not in NOT_ABOUT_THE_SERVER
        ]
        self.assertEqual(problems, [], f"{door}: {stderr.decode()[-500:]}")
        for protocol in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
            self.assertIn("not offered", by_id[protocol]["finding"], (door, protocol))
        for protocol in ("TLS1_2", "TLS1_3"):
            self.assertIn("offered", by_id[protocol]["finding"], (door, protocol))
        suites = {f["finding"].split()[1] for f in findings if f["id"].startswith("cipher_x")}
        self.assertTrue(suites, door)
        self.assertLessEqual(suites, INTERMEDIATE, door)
        self.assertIn("not vulnerable", by_id["secure_client_renego"]["finding"], door)
        self.assertIn("not vulnerable", by_id["CRIME_TLS"]["finding"], door)
        self.assertEqual(by_id["PFS"]["finding"], "offered", door)
        self.assertEqual(set(by_id["PFS_ECDHE_curves"]["finding"].split()),
                         {"X25519", "prime256v1", "secp384r1"}, door)  # fmt: skip
