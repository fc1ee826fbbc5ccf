"""
C{netsuite echo} as a user runs it: real processes, a real C{twistd netsuite-echo}, real
sockets on 127.0.0.1.

The server and the certificates come from L{tests.client._interim_helpers} until the
shared C{netsuite/testing.py} exists. Nothing here sleeps: the server's ports are read
from its log, and every process has a deadline.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.client._interim_helpers import (
    RunningServer,
    find_script,
    interim_make_pki,
    interim_start_server,
    run_script,
)

LOCAL = "interface=127.0.0.1"


def _netsuite() -> list[str]:
    """The installed console script, else the package run as a module."""
    return find_script("netsuite") or [sys.executable, "-m", "netsuite.client"]


def _reap(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


class EchoProcessTests(SynchronousTestCase):
    """End to end: exit statuses, summaries and failure messages of the real command."""

    def start(self, listens: list[str], expect: list[str]) -> RunningServer:
        try:
            server = interim_start_server("netsuite-echo", listens, expect)
        except FileNotFoundError:
            raise SkipTest("no twistd script next to this Python") from None
        self.addCleanup(self._kill, server)
        return server

    @staticmethod
    def _kill(server: RunningServer) -> None:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()

    def echo(self, *args: str, stdin: bytes = b"") -> tuple[int, str, str]:
        result = run_script([*_netsuite(), "echo", *args], stdin=stdin)
        return result.returncode, result.stdout, result.stderr

    def assertOneLineError(self, stderr: str, starts: str) -> None:
        """Exactly one line on stderr, starting with C{starts}: no traceback."""
        self.assertNotIn("Traceback", stderr)
        self.assertEqual(len(stderr.splitlines()), 1, stderr)
        self.assertTrue(stderr.startswith(starts), stderr)

    def test_tcp_and_udp(self) -> None:
        server = self.start([f"tcp:0:{LOCAL}", f"udp:0:{LOCAL}"], ["echo/tcp", "echo/udp"])
        tcp, udp = str(server.ports["echo/tcp"][0]), str(server.ports["echo/udp"][0])

        # First, so that the server's first "connected" line is this client's: Ctrl-C
        # while waiting on stdin exits 130, with a word, not a traceback.
        waiting = subprocess.Popen(
            [*_netsuite(), "echo", "127.0.0.1", tcp],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.addCleanup(_reap, waiting)
        server.wait_for(lambda line: "echo tcp 127.0.0.1:" in line and "connected" in line)
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
        pki = interim_make_pki(Path(scratch.name))
        server = self.start(
            [
                f"nstls:0:{LOCAL}:cert={pki.leaf}:key={pki.leaf_key}",
                f"nstls:0:{LOCAL}:cert={pki.other}:key={pki.other_key}",
                f"nstls:0:{LOCAL}:cert={pki.leaf}:key={pki.leaf_key}"
                f":clientCA={pki.ca}:verifyClient=required",
            ],
            ["echo/tls", "echo/tls", "echo/tls"],
        )
        good, other, mutual = (str(p) for p in server.ports["echo/tls"])

        code, out, err = self.echo(
            "127.0.0.1", good, "--tls", "--ca", str(pki.ca), "--count", "50", "--size", "1000"
        )
        self.assertEqual((code, err), (0, ""), out + err)
        self.assertRegex(out, rf"^echo tls 127\.0\.0\.1:{good}: 50 of 50 messages verified ")

        code, out, err = self.echo("localhost", good, "--tls", "--ca", str(pki.ca), stdin=b"hi\n")
        self.assertEqual((code, out, err), (0, "hi\n", ""))

        # Untrusted: the platform's trust store knows nothing of the test CA.
        code, out, err = self.echo("127.0.0.1", good, "--tls", "--count", "5")
        self.assertEqual((code, out), (1, ""))
        self.assertOneLineError(err, "netsuite echo: TLS verification failed for 127.0.0.1: ")
        self.assertIn("CN=netsuite test CA does not chain to a system-trusted CA", err)

        # Trusted CA, but the certificate is for another name.
        code, out, err = self.echo(
            "127.0.0.1", other, "--tls", "--ca", str(pki.ca), "--count", "5"
        )
        self.assertEqual((code, out), (1, ""))
        self.assertOneLineError(
            err,
            "netsuite echo: TLS verification failed for 127.0.0.1: the certificate is for "
            "DNS:other.invalid, not 127.0.0.1",
        )

        # The same, interactively.
        code, out, err = self.echo("127.0.0.1", other, "--tls", "--ca", str(pki.ca), stdin=b"x")
        self.assertEqual((code, out), (1, ""))
        self.assertOneLineError(err, "netsuite echo: TLS verification failed for 127.0.0.1: ")

        # Mutual TLS: with the client certificate, and without.
        client = ["--cert", str(pki.client), "--key", str(pki.client_key)]
        code, out, err = self.echo(
            "127.0.0.1", mutual, "--tls", "--ca", str(pki.ca), *client, "--count", "20"
        )
        self.assertEqual((code, err), (0, ""), out + err)
        self.assertIn("20 of 20 messages verified", out)
        code, out, err = self.echo(
            "127.0.0.1", mutual, "--tls", "--ca", str(pki.ca), "--count", "2"
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
