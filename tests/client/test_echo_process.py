"""
C{netsuite echo} as a user runs it: real processes, a real C{twistd netsuite-echo}, real
sockets on 127.0.0.1.

The server and the certificates come from the shared test kit, L{netsuite.testing}.
Nothing here sleeps: the server's ports and events are read from its log, and every
process has a deadline.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TLSFiles, TwistdProcess

LOCAL = "interface=127.0.0.1"


def _netsuite() -> list[str]:
    """
    The C{netsuite} console script of the running interpreter's environment (what a user
    runs), else the package run as a module.
    """
    beside = Path(sys.executable).with_name("netsuite")
    if beside.exists():
        return [str(beside)]
    return [sys.executable, "-m", "netsuite.client"]


def _reap(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


class EchoProcessTests(SynchronousTestCase):
    """End to end: exit statuses, summaries and failure messages of the real command."""

    def start(self, listens: list[str]) -> TwistdProcess:
        args = [a for description in listens for a in ("--listen", description)]
        server = TwistdProcess("netsuite-echo", args, expect=len(listens))
        self.addCleanup(server.stop)
        return server.start()

    def echo(self, *args: str, stdin: bytes = b"") -> tuple[int, str, str]:
        """Run C{netsuite echo ARGS} to its end; its status, stdout and stderr."""
        result = subprocess.run(
            [*_netsuite(), "echo", *args],
            input=stdin,
            capture_output=True,
            timeout=60,
            check=False,
        )
        return (
            result.returncode,
            result.stdout.decode("utf-8", "replace"),
            result.stderr.decode("utf-8", "replace"),
        )

    def assertOneLineError(self, stderr: str, starts: str) -> None:
        """Exactly one line on stderr, starting with C{starts}: no traceback."""
        self.assertNotIn("Traceback", stderr)
        self.assertEqual(len(stderr.splitlines()), 1, stderr)
        self.assertTrue(stderr.startswith(starts), stderr)

    def test_tcp_and_udp(self) -> None:
        server = self.start([f"tcp:0:{LOCAL}", f"udp:0:{LOCAL}"])
        tcp, udp = str(server.address("echo/tcp")[1]), str(server.address("echo/udp")[1])

        # Ctrl-C while waiting on stdin exits 130, with a word, not a traceback. The
        # server's log says when the client is connected (and so its reactor runs).
        since = len(server.lines)
        waiting = subprocess.Popen(
            [*_netsuite(), "echo", "127.0.0.1", tcp],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.addCleanup(_reap, waiting)
        server.wait_for_line(r"echo tcp 127\.0\.0\.1:\d+: connected", since=since)
        waiting.send_signal(signal.SIGINT)
        out_bytes, err_bytes = waiting.communicate(timeout=30)
        self.assertEqual(
            (waiting.returncode, out_bytes, err_bytes), (130, b"", b"netsuite echo: interrupted\n")
        )

        code, out, err = self.echo("127.0.0.1", tcp, "--count", "50", "--size", "1000")
        self.assertEqual((code, err), (0, ""), out + err)
        lines = out.splitlines()
        self.assertRegex(
            lines[0],
            rf"^echo tcp 127\.0\.0\.1:{tcp}: 50 of 50 messages verified "
            r"\(size 1000, window 1, seed \d+\)$",
        )
        self.assertRegex(lines[1], r"^round trip ms: min [\d.]+ median [\d.]+ p99 [\d.]+$")
        self.assertRegex(lines[2], r"^throughput: [\d.]+ msgs/s, [\d.]+ MB/s$")

        code, out, err = self.echo(
            "127.0.0.1", tcp, "--count", "200", "--size", "3000", "--window", "8", "--seed", "9"
        )
        self.assertEqual(code, 0, out + err)
        self.assertIn("200 of 200 messages verified (size 3000, window 8, seed 9)", out)

        code, out, err = self.echo("127.0.0.1", udp, "--udp", "--count", "50", "--size", "1000")
        self.assertEqual((code, err), (0, ""), out + err)
        self.assertRegex(
            out.splitlines()[0],
            rf"^echo udp 127\.0\.0\.1:{udp}: 50 of 50 messages verified, 0 lost ",
        )

        text = b"hello\nworld, \xff bytes too\n" * 100
        code, out, err = self.echo("127.0.0.1", tcp, stdin=text)
        self.assertEqual((code, out, err), (0, text.decode("utf-8", "replace"), ""))

        code, out, err = self.echo("127.0.0.1", udp, "--udp", stdin=b"one\ntwo\n\nlast")
        self.assertEqual(code, 0, err)
        self.assertEqual(sorted(out.split("\n")), sorted(["one", "two", "", "last", ""]))

        self.assertEqual(server.stop(), 0, server.log())

    def test_tls(self) -> None:
        # Not self.mktemp(): under pytest that would write into the working tree.
        scratch = tempfile.TemporaryDirectory(prefix="netsuite-echo-test-")
        self.addCleanup(scratch.cleanup)
        tls = TLSFiles(Path(scratch.name), names=("127.0.0.1", "localhost"))
        other_cert, other_key = tls.leaf("other", ["other.invalid"])
        client_cert, client_key = tls.leaf("client", ["client.invalid"])
        server = self.start(
            [
                tls.nstls(),
                f"nstls:0:{LOCAL}:cert={other_cert}:key={other_key}",
                tls.nstls(clientCA=tls.ca_path, verifyClient="required"),
            ]
        )
        good, other, mutual = (str(server.address("echo/tls", i)[1]) for i in range(3))

        code, out, err = self.echo(
            "127.0.0.1", good, "--tls", "--ca", tls.ca_path, "--count", "50", "--size", "1000"
        )
        self.assertEqual((code, err), (0, ""), out + err)
        self.assertRegex(out, rf"^echo tls 127\.0\.0\.1:{good}: 50 of 50 messages verified ")

        code, out, err = self.echo("localhost", good, "--tls", "--ca", tls.ca_path, stdin=b"hi\n")
        self.assertEqual((code, out, err), (0, "hi\n", ""))

        # Untrusted: the platform's trust store knows nothing of the test CA.
        code, out, err = self.echo("127.0.0.1", good, "--tls", "--count", "5")
        self.assertEqual((code, out), (1, ""))
        self.assertOneLineError(err, "netsuite echo: TLS verification failed for 127.0.0.1: ")
        self.assertIn("does not chain to a system-trusted CA", err)

        # Trusted CA, but the certificate is for another name.
        code, out, err = self.echo(
            "127.0.0.1", other, "--tls", "--ca", tls.ca_path, "--count", "5"
        )
        self.assertEqual((code, out), (1, ""))
        self.assertOneLineError(
            err,
            "netsuite echo: TLS verification failed for 127.0.0.1: the certificate is for "
            "DNS:other.invalid, not 127.0.0.1",
        )

        # The same, interactively.
        code, out, err = self.echo("127.0.0.1", other, "--tls", "--ca", tls.ca_path, stdin=b"x")
        self.assertEqual((code, out), (1, ""))
        self.assertOneLineError(err, "netsuite echo: TLS verification failed for 127.0.0.1: ")

        # --insecure: the other name, the test CA unknown; it talks anyway, and says so.
        code, out, err = self.echo("127.0.0.1", other, "--tls", "--insecure", "--count", "5")
        self.assertEqual(code, 0, out + err)
        self.assertIn("5 of 5 messages verified", out)
        self.assertEqual(
            err, "netsuite echo: WARNING: --insecure: the server's certificate is not checked\n"
        )

        # Mutual TLS: with the client certificate, and without.
        client = ["--cert", client_cert, "--key", client_key]
        code, out, err = self.echo(
            "127.0.0.1", mutual, "--tls", "--ca", tls.ca_path, *client, "--count", "20"
        )
        self.assertEqual((code, err), (0, ""), out + err)
        self.assertIn("20 of 20 messages verified", out)
        code, out, err = self.echo(
            "127.0.0.1", mutual, "--tls", "--ca", tls.ca_path, "--count", "2"
        )
        self.assertEqual((code, out), (1, ""))
        self.assertOneLineError(
            err, f"netsuite echo: TLS handshake with 127.0.0.1:{mutual} failed: "
        )

        self.assertEqual(server.stop(), 0, server.log())

    def test_refused(self) -> None:
        """Nothing listening: one clear line and status 1, over TCP and over UDP."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = str(s.getsockname()[1])
        code, out, err = self.echo("127.0.0.1", port, "--count", "1")
        self.assertEqual((code, out), (1, ""))
        self.assertOneLineError(err, f"netsuite echo: cannot connect to 127.0.0.1:{port}: ")
        self.assertIn("connection refused", err)

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = str(s.getsockname()[1])
        code, out, err = self.echo("127.0.0.1", port, "--udp", "--count", "3", "--timeout", "20")
        self.assertEqual((code, out), (1, ""))
        self.assertOneLineError(
            err, f"netsuite echo: cannot connect to 127.0.0.1:{port}: connection refused"
        )

    def test_bad_arguments(self) -> None:
        """The installed script exits 2 on a usage error (the cases: test_main)."""
        code, _, err = self.echo("127.0.0.1", "70000")
        self.assertEqual(code, 2)
        self.assertIn("usage: netsuite echo", err)
