"""
End to end: the real `twistd -n netsuite-web`, HTTP/1.1 and HTTP/2 (TLS, ALPN) on
127.0.0.1, with curl as the client and raw sockets for the slow-client attacks.
"""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TLSFiles, TwistdProcess, require_tool

TCP = "tcp:0:interface=127.0.0.1"


def tree(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "index.html").write_bytes(b"<!doctype html><title>netsuite</title>home\n")
    (root / "hello.txt").write_bytes(b"hello over http\n")
    (root / "big.css").write_bytes(b".rule{color:red}\n" * 500)
    (root / "release.tar.gz").write_bytes(gzip.compress(b"archive"))
    (root / "page.rpy").write_bytes(b"resource = None  # never run\n")
    (root / ".env").write_bytes(b"SECRET=1\n")
    (root.parent / "outside.txt").write_bytes(b"OUTSIDE\n")
    (root / "escape.txt").symlink_to(root.parent / "outside.txt")
    (root / "docs").mkdir()
    (root / "docs" / "a.txt").write_bytes(b"a")
    return root


class WebProcessTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.curl = require_tool("curl")
        base = Path(self.mktemp()).resolve()
        self.root = tree(base / "root")
        self.tls = TLSFiles(base / "pki")
        self.server = TwistdProcess(
            "netsuite-web",
            ["--path", str(self.root), "--listen", TCP, "--listen", self.tls.nstls(0),
             "--api-token", "e2e-token-0123456789abcdef"],
            expect=2,
        ).start()  # fmt: skip
        self.addCleanup(self.stop)
        host, port = self.server.address("web/http")
        self.http = f"http://{host}:{port}"
        _, tls_port = self.server.address("web/https")
        self.https = f"https://localhost:{tls_port}"
        self.tls_port = tls_port

    def stop(self) -> None:
        self.assertEqual(self.server.stop(), 0, self.server.log())

    def curl_run(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [self.curl, "-sS", "--max-time", "20", *args], capture_output=True, timeout=30
        )

    def https_args(self) -> list[str]:
        return ["--cacert", self.tls.ca_path, "--resolve", f"localhost:{self.tls_port}:127.0.0.1"]

    def test_get_a_file_over_http_1_1(self) -> None:
        out = self.curl_run("-i", "--http1.1", f"{self.http}/hello.txt")
        head, _, body = out.stdout.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), out.stdout)
        self.assertEqual(body, b"hello over http\n")
        self.assertIn(b"X-Content-Type-Options: nosniff", head)
        self.assertNotIn(b"Strict-Transport-Security", head)

    def test_http2_over_tls(self) -> None:
        out = self.curl_run("-sI", "--http2", *self.https_args(), f"{self.https}/hello.txt")
        text = out.stdout.decode()
        self.assertTrue(text.startswith("HTTP/2 200"), text + out.stderr.decode())
        self.assertIn("strict-transport-security: max-age=31536000", text.lower())
        out = self.curl_run("--http2", *self.https_args(), f"{self.https}/hello.txt")
        self.assertEqual(out.stdout, b"hello over http\n")

    def test_http1_1_over_tls_still_works(self) -> None:
        out = self.curl_run("-sI", "--http1.1", *self.https_args(), f"{self.https}/")
        self.assertTrue(out.stdout.startswith(b"HTTP/1.1 200"), out.stdout)

    def test_keep_alive_reuses_one_connection(self) -> None:
        out = self.curl_run("-v", f"{self.http}/hello.txt", f"{self.http}/docs/a.txt")
        self.assertEqual(out.stdout, b"hello over http\na")
        self.assertIn(b"Re-using existing connection", out.stderr)

    def test_range_compression_and_types(self) -> None:
        out = self.curl_run("-r", "0-4", f"{self.http}/hello.txt")
        self.assertEqual(out.stdout, b"hello")
        out = self.curl_run("--compressed", "-D", "-", f"{self.http}/big.css")
        self.assertIn(b"Content-Encoding: gzip", out.stdout)
        self.assertTrue(out.stdout.endswith(b".rule{color:red}\n" * 500))
        out = self.curl_run("-D", "-", "-H", "Accept-Encoding: gzip",
                            f"{self.http}/release.tar.gz")  # fmt: skip
        head = out.stdout.partition(b"\r\n\r\n")[0]
        self.assertIn(b"Content-Type: application/gzip", head)
        self.assertNotIn(b"Content-Encoding", head)

    def test_refusals(self) -> None:
        for path, status in (
            ("/%2e%2e/outside.txt", 400),
            ("/../outside.txt", 400),
            ("/.env", 404),
            ("/escape.txt", 404),
            ("/docs/..%2f..%2fx", 400),
        ):
            out = self.curl_run("--path-as-is", "-o", "/dev/null", "-w", "%{http_code}",
                                self.http + path)  # fmt: skip
            self.assertEqual(out.stdout.decode(), str(status), path)
        out = self.curl_run(f"{self.http}/page.rpy")
        self.assertEqual(out.stdout, b"resource = None  # never run\n")

    def test_listing_json(self) -> None:
        out = self.curl_run("-H", "Accept: application/json", f"{self.http}/docs/")
        self.assertEqual([e["name"] for e in json.loads(out.stdout)["entries"]], ["a.txt"])

    def test_api_and_metrics(self) -> None:
        out = self.curl_run(f"{self.http}/api/health")
        self.assertEqual(json.loads(out.stdout)["status"], "ok")
        out = self.curl_run(f"{self.http}/api/stats")
        self.assertIn("web", json.loads(out.stdout)["services"])
        out = self.curl_run(f"{self.http}/metrics")
        self.assertIn(b'netsuite_connections_accepted_total{service="web"}', out.stdout)
        # On its own, netsuite-web has a hub of its own (for the chat page): no rooms yet.
        out = self.curl_run(f"{self.http}/api/chat/rooms")
        self.assertEqual(json.loads(out.stdout), [])

    def test_body_over_the_cap_is_413(self) -> None:
        big = subprocess.run(
            [self.curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Expect:",
             "--data-binary", "@-", f"{self.http}/api/health"],
            input=b"x" * (2 << 20), capture_output=True, timeout=30,
        )  # fmt: skip
        self.assertEqual(big.stdout, b"413")

    def test_access_log(self) -> None:
        self.curl_run("-A", "e2e-agent", f"{self.http}/hello.txt")
        self.server.wait_for_line(r'"GET /hello\.txt HTTP/1\.1" 200 16 "-" "e2e-agent"')


class SlowClientProcessTests(SynchronousTestCase):
    def test_slow_header_is_cut_at_the_deadline(self) -> None:
        """A client that never finishes its header gets a 408 and is closed."""
        with TwistdProcess("netsuite-web", ["--listen", TCP, "--header-timeout", "1"]) as server:
            with socket.create_connection(server.address("web/http"), timeout=20) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                answer = b""
                while chunk := s.recv(4096):  # blocks until the server closes
                    answer += chunk
            self.assertTrue(answer.startswith(b"HTTP/1.1 408 "), answer)
            server.wait_for_line(r"408 the request header took longer than 1s")


class WebClientCertificateTests(SynchronousTestCase):
    """A verified client certificate stands in for the API's bearer token."""

    def test_post_with_client_certificate(self) -> None:
        import json as _json
        import ssl as _ssl
        import urllib.error
        import urllib.request
        from pathlib import Path as _Path

        from netsuite.testing import TLSFiles as _TLSFiles
        from netsuite.testing import TwistdProcess as _TwistdProcess

        files = _TLSFiles(_Path(self.mktemp()))
        tls = files.nstls(0, clientCA=files.ca_path, verifyClient="optional")
        server = _TwistdProcess(
            "netsuite", ["--no-echo", "--chat-args", "--listen tcp:0:interface=127.0.0.1 "
                         "--irc-listen none", "--web-args", f"--listen {tls} --api-client robot"],
            expect=2,
        )  # fmt: skip
        with server:
            from .chatclient import LineClient

            member = LineClient(
                server.address("chat/line")
            )  # #lobby exists while someone is in it
            self.addCleanup(member.close)
            host, port = server.address("web/https")
            url = f"https://localhost:{port}/api/chat/rooms/lobby/messages"
            body = _json.dumps({"text": "beep"}).encode()

            def post(context: _ssl.SSLContext) -> int:
                request = urllib.request.Request(
                    url, data=body, headers={"Content-Type": "application/json"}
                )
                try:
                    with urllib.request.urlopen(request, context=context, timeout=10) as r:
                        return r.status
                except urllib.error.HTTPError as e:
                    return e.code

            anonymous = _ssl.create_default_context(cafile=files.ca_path)
            self.assertEqual(post(anonymous), 403)
            robot = _ssl.create_default_context(cafile=files.ca_path)
            robot.load_cert_chain(*files.leaf("robot", ["robot"]))
            self.assertEqual(post(robot), 201)
            other = _ssl.create_default_context(cafile=files.ca_path)
            other.load_cert_chain(*files.leaf("human", ["human"]))
            self.assertEqual(post(other), 403)
            member.expect("[#lobby] <api> beep")
