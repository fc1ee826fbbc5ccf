"""
End to end: the installed C{netsuite get} against a real C{twistd -n netsuite-web} on
127.0.0.1 (HTTP and HTTPS): a download compared byte for byte, C{-i}, C{-o} with
C{--continue} after a truncated file (206, then 416 once complete), C{--fail} on a 404,
and TLS: verified with C{--ca}, refused without it and for a name the certificate does
not hold (exit 60, one line naming the host and the certificate's names). Host names are
pinned to 127.0.0.1 with C{--resolve}: nothing leaves the loopback address.
"""

from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netsuite.client.main import SUBCOMMANDS
from netsuite.testing import TLSFiles, TwistdProcess

TCP = "tcp:0:interface=127.0.0.1"
DEADLINE = 60.0
BIG = os.urandom(2_500_000)

# Until "netsuite.client._get" is in SUBCOMMANDS, run the same main() with it added.
_REGISTERED = (
    "import sys; from netsuite.client import main as m; "
    "m.SUBCOMMANDS += ('netsuite.client._get',); sys.exit(m.main())"
)


def netsuite_get() -> list[str]:
    """C{netsuite get}: the console script of this environment."""
    beside = Path(sys.executable).with_name("netsuite")
    if "netsuite.client._get" in SUBCOMMANDS and beside.exists():
        return [str(beside), "get"]
    return [sys.executable, "-c", _REGISTERED, "get"]


class ClientGetTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.base = Path(self.mktemp()).resolve()
        root = self.base / "root"
        root.mkdir(parents=True)
        # Megabytes a test: gone once it ends (last, after the server stopped).
        self.addCleanup(shutil.rmtree, self.base, True)
        (root / "big.bin").write_bytes(BIG)
        (root / "hello.txt").write_bytes(b"hello over http\n")
        self.tls = TLSFiles(self.base / "pki")
        self.server = TwistdProcess(
            "netsuite-web",
            ["--path", str(root), "--listen", TCP, "--listen", self.tls.nstls(0)],
            expect=2,
        ).start()
        self.addCleanup(self.stop)
        host, port = self.server.address("web/http")
        self.http = f"http://{host}:{port}"
        self.tls_port = self.server.address("web/https")[1]

    def stop(self) -> None:
        self.assertEqual(self.server.stop(), 0, self.server.log())

    def get(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*netsuite_get(), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=DEADLINE,
            cwd=self.base,
        )

    def pin(self, name: str) -> list[str]:
        """C{NAME} on the TLS port is 127.0.0.1."""
        return ["--resolve", f"{name}:{self.tls_port}:127.0.0.1"]

    def stderr_lines(self, out: subprocess.CompletedProcess[bytes]) -> list[str]:
        return out.stderr.decode().splitlines()

    def test_download(self) -> None:
        out = self.get(f"{self.http}/big.bin")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, BIG)
        self.assertEqual(out.stderr, b"")  # no progress bar: stderr is not a terminal
        target = self.base / "download.bin"
        out = self.get(f"{self.http}/big.bin", "-o", str(target))
        self.assertEqual((out.returncode, out.stdout, out.stderr), (0, b"", b""))
        self.assertEqual(target.read_bytes(), BIG)

    def test_include(self) -> None:
        out = self.get("-i", f"{self.http}/hello.txt")
        self.assertEqual(out.returncode, 0, out.stderr)
        head, _, body = out.stdout.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 OK\r\n"), head)
        self.assertIn(b"\r\nServer: netsuite\r\n", head)
        self.assertIn(b"\r\nX-Content-Type-Options: nosniff", head)
        self.assertIn(b"\r\nContent-Length: 16", head)
        self.assertEqual(body, b"hello over http\n")

    def test_continue_after_a_truncated_file(self) -> None:
        target = self.base / "resumed.bin"
        target.write_bytes(BIG[:1_000_000])
        seen = len(self.server.lines)
        out = self.get(f"{self.http}/big.bin", "-o", str(target), "--continue")
        self.assertEqual((out.returncode, out.stderr), (0, b""))
        self.assertEqual(target.read_bytes(), BIG)
        # The server sent the rest only: 206 with the missing 1,500,000 bytes.
        self.server.wait_for_line(r'"GET /big\.bin HTTP/1\.1" 206 1500000 ', since=seen)
        # Again: nothing left to fetch (416), the file untouched, status 0.
        out = self.get(f"{self.http}/big.bin", "-o", str(target), "-C")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(
            self.stderr_lines(out),
            [f"netsuite get: {target} is already complete ({len(BIG)} bytes)"],
        )
        self.assertEqual(target.read_bytes(), BIG)

    def test_fail_on_404(self) -> None:
        target = self.base / "missing.out"
        out = self.get("--fail", f"{self.http}/missing.txt", "-o", str(target))
        self.assertEqual(out.returncode, 22)
        self.assertEqual(out.stdout, b"")
        self.assertEqual(
            self.stderr_lines(out), ["netsuite get: the server answered 404 Not Found"]
        )
        self.assertFalse(target.exists())
        # Without --fail: status 0 and the error page, as curl.
        out = self.get(f"{self.http}/missing.txt")
        self.assertEqual(out.returncode, 0)
        self.assertIn(b"404", out.stdout)

    def test_tls_with_ca(self) -> None:
        url = f"https://localhost:{self.tls_port}/big.bin"
        out = self.get(url, "--ca", self.tls.ca_path, *self.pin("localhost"))
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, BIG)
        # An IP address is checked against the certificate's IP names.
        out = self.get(f"https://127.0.0.1:{self.tls_port}/hello.txt", "--ca", self.tls.ca_path)
        self.assertEqual((out.returncode, out.stdout), (0, b"hello over http\n"), out.stderr)

    def test_tls_without_ca(self) -> None:
        out = self.get(f"https://localhost:{self.tls_port}/hello.txt", *self.pin("localhost"))
        self.assertEqual(out.returncode, 60)
        self.assertEqual(out.stdout, b"")
        self.assertEqual(
            self.stderr_lines(out),
            ["netsuite get: TLS verification failed for localhost: certificate verify failed: "
             "certificate issued by CN=netsuite test CA does not chain to a system-trusted CA "
             "(--ca FILE trusts another)"],
        )  # fmt: skip

    def test_tls_wrong_host_name(self) -> None:
        out = self.get(
            f"https://wrong.test:{self.tls_port}/hello.txt",
            "--ca",
            self.tls.ca_path,
            *self.pin("wrong.test"),
        )
        self.assertEqual(out.returncode, 60)
        self.assertEqual(out.stdout, b"")
        self.assertEqual(
            self.stderr_lines(out),
            ["netsuite get: TLS verification failed for wrong.test: the certificate is for "
             "DNS:localhost, IP:127.0.0.1, IP:::1, not wrong.test"],
        )  # fmt: skip

    def test_insecure_warns(self) -> None:
        out = self.get(
            f"https://wrong.test:{self.tls_port}/hello.txt", "--insecure", *self.pin("wrong.test")
        )
        self.assertEqual((out.returncode, out.stdout), (0, b"hello over http\n"))
        self.assertEqual(
            self.stderr_lines(out),
            ["netsuite get: WARNING: --insecure: the server's certificate is not checked"],
        )

    def test_refused(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        out = self.get(f"http://127.0.0.1:{port}/")
        self.assertEqual(out.returncode, 7)
        self.assertEqual(
            self.stderr_lines(out),
            [f"netsuite get: cannot connect to 127.0.0.1:{port}: connection refused"],
        )

    def test_progress_bar_on_a_terminal(self) -> None:
        """stderr a terminal and the body in a file: a bar, redrawn in place, ending 100%."""
        import fcntl
        import pty
        import struct
        import termios

        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        target = self.base / "bar.bin"
        try:
            process = subprocess.Popen(
                [*netsuite_get(), f"{self.http}/big.bin", "-o", str(target)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=slave,
            )
            os.close(slave)
            drawn = b""
            while select.select([master], [], [], DEADLINE)[0]:
                try:  # until the child closes the terminal (EIO on Linux)
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                drawn += chunk
            self.assertEqual(process.wait(DEADLINE), 0, drawn)
        finally:
            os.close(master)
        self.assertEqual(target.read_bytes(), BIG)
        text = drawn.decode()
        self.assertTrue(text.startswith("\r"), text)
        last = text.rstrip("\r\n").rsplit("\r", 1)[-1]
        self.assertTrue(last.startswith("100% [====="), text)
        self.assertIn("] 2.4 MiB/2.4 MiB  ", last)
        self.assertLessEqual(len(last.rstrip()), 99)

    def test_bad_usage(self) -> None:
        out = self.get(f"{self.http}/big.bin", "--continue")
        self.assertEqual(out.returncode, 2)
        self.assertIn(b"--continue needs -o FILE", out.stderr)
