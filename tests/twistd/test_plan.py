"""What --check prints: each listener's address and TLS, and the changed limits."""

from __future__ import annotations

from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TLSFiles
from netsuite.twistd._config import load
from netsuite.twistd._plan import check_certificates, format_plan, listeners
from netsuite.web import tap as web_tap


class PlanTests(SynchronousTestCase):
    def test_mutual_tls_listener(self) -> None:
        files = TLSFiles(Path(self.mktemp()))
        description = files.nstls(8443, clientCA=files.ca_path, verifyClient="required")
        options = web_tap.Options()
        options.parseOptions(["--listen", description, "--max-body", "10"])
        config = load("", "f.toml", {"web": web_tap.Options})
        [listener] = listeners("web", options)
        self.assertEqual((listener.service, listener.door), ("web", "https"))
        self.assertEqual(listener.address(), "tcp 127.0.0.1:8443")
        tls = listener.tls()
        self.assertIn(f"cert={files.cert_path}", tls)
        self.assertIn("min=1.2 alpn=h2,http/1.1", tls)
        self.assertIn(f"client-cert=required (CA {files.ca_path})", tls)
        plan = format_plan(config, {"web": options})
        self.assertIn("  web/https  tcp 127.0.0.1:8443  TLS cert=", plan)
        self.assertIn("max_body = 10 (default 1048576)", plan)
        self.assertEqual(check_certificates(config, {"web": options}), [])

    def test_secrets_are_not_printed(self) -> None:
        options = web_tap.Options()
        options.parseOptions(["--api-token", "s3cret-token-0123456789"])
        plan = format_plan(load("", "f.toml", {"web": web_tap.Options}), {"web": options})
        self.assertNotIn("s3cret", plan)
        self.assertIn("api_token = '(set)'", plan)

    def test_plain_and_systemd_addresses(self) -> None:
        options = web_tap.Options()
        options.parseOptions(["--listen", "tcp:8080"])
        [listener] = listeners("web", options)
        self.assertEqual(listener.address(), "tcp *:8080")
        self.assertEqual(listener.tls(), "TLS off")
