"""
End to end: the real `twistd -n netsuite-echo` process, real sockets on 127.0.0.1, real
clients (Python's socket and ssl modules, nc, openssl s_client).
"""

import contextlib
import os
import select
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TLSFiles, TwistdProcess, converse, require_tool, twistd_command

#: What systemd does before starting a socket-activated service: the socket as fd 3,
#: LISTEN_PID the service's own pid (kept across exec).
SYSTEMD_LIKE = (
    "import os, sys; os.dup2(int(sys.argv[1]), 3); os.close(int(sys.argv[1]));"
    " os.environ['LISTEN_PID'] = str(os.getpid()); os.execv(sys.argv[2], sys.argv[2:])"
)
TCP = "tcp:0:interface=127.0.0.1"
UDP = "udp:0:interface=127.0.0.1"


def echo_tcp(address: tuple[str, int], payload: bytes) -> bytes:
    with socket.create_connection(address, timeout=10) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        return _read_all(s)


def _read_all(s: socket.socket) -> bytes:
    chunks = []
    while chunk := s.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def udp_socket(port: int = 0) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    s.settimeout(10)
    return s


class EchoProcessTests(SynchronousTestCase):
    """One server for the tests that do not change its options."""

    def setUp(self) -> None:
        # A server per test (trial has no setUpClass): about half a second each.
        self.tls = TLSFiles(Path(self.mktemp()))
        self.server = TwistdProcess(
            "netsuite-echo",
            ["--listen", TCP, "--listen", UDP, "--listen", self.tls.nstls(0)],
            expect=3,
        ).start()
        self.addCleanup(self.stop_cleanly)
        self.tcp = self.server.address("echo/tcp")
        self.udp = self.server.address("echo/udp")
        self.tls_address = self.server.address("echo/tls")

    def stop_cleanly(self) -> None:
        """SIGTERM ends the server with exit status 0, as supervisors expect."""
        code = self.server.stop()
        self.assertEqual(code, 0, self.server.log())

    def test_tcp(self) -> None:
        payload = os.urandom(1 << 20)
        self.assertEqual(echo_tcp(self.tcp, payload), payload)

    def test_tcp_with_nc(self) -> None:
        nc = require_tool("nc")
        out = subprocess.run(
            [nc, "-N", *map(str, self.tcp)],
            input=b"hello from nc\n",
            capture_output=True,
            timeout=20,
            check=True,
        )
        self.assertEqual(out.stdout, b"hello from nc\n")

    def test_udp_and_whole_60000_bytes(self) -> None:
        with udp_socket() as s:
            for size in (1, 1400, 60_000, 65_507):
                payload = os.urandom(size)
                s.sendto(payload, self.udp)
                data, sender = s.recvfrom(70_000)
                self.assertEqual((len(data), data == payload, sender), (size, True, self.udp))

    def test_udp_denied_source_port_gets_nothing(self) -> None:
        """
        From a deny-listed source port nothing comes back. Deterministic, no waiting for
        an absence: the server answers in arrival order, so once a later datagram from
        an allowed port is echoed, a reply to the first would already be here.
        """
        denied = None
        for port in (19, 1900, 11211, 5353):
            try:
                denied = udp_socket(port)
                break
            except OSError:
                continue
        self.assertIsNotNone(denied, "could not bind any deny-listed port")
        with denied, udp_socket() as allowed:
            denied.sendto(b"reflect me", self.udp)
            allowed.sendto(b"marker", self.udp)
            self.assertEqual(allowed.recvfrom(100)[0], b"marker")
            readable, _, _ = select.select([denied], [], [], 0)
            self.assertEqual(readable, [])

    def test_tls_verified(self) -> None:
        context = ssl.create_default_context(cafile=self.tls.ca_path)
        with (
            socket.create_connection(self.tls_address, timeout=10) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as s,
        ):
            self.assertIn(s.version(), ("TLSv1.2", "TLSv1.3"))
            s.sendall(b"over tls")
            self.assertEqual(s.recv(100), b"over tls")

    def test_tls_certificate_logged(self) -> None:
        line = self.server.wait_for_line(r"echo/tls TLS certificate subject=CN=localhost")
        self.assertRegex(line.string, r"sha256=([0-9A-F]{2}:){31}[0-9A-F]{2} expires=20\d\d-")

    def s_client(self, *args: str) -> list[str]:
        host, port = self.tls_address
        openssl = require_tool("openssl")
        return [openssl, "s_client", "-connect", f"{host}:{port}", "-CAfile", self.tls.ca_path,
                *args]  # fmt: skip

    def test_openssl_tls12_echoes(self) -> None:
        out = converse(
            self.s_client("-tls1_2", "-verify_return_error", "-servername", "localhost"),
            b"via s_client\n",
            until=b"via s_client\n",
        )
        self.assertIn(b"Verify return code: 0 (ok)", out)

    def test_openssl_tls11_refused(self) -> None:
        """A client that offers TLS 1.1 at most (its own floor lowered) gets no session."""
        out = subprocess.run(
            self.s_client("-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"),
            input=b"x\n",
            capture_output=True,
            timeout=30,
        )
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(b"Cipher is (NONE)", out.stdout)
        self.server.wait_for_line(r"closed \(.*unsupported protocol")


class EchoLimitTests(SynchronousTestCase):
    def test_per_ip_limit(self) -> None:
        """The third connection from one IP is closed; the first two keep echoing."""
        with TwistdProcess("netsuite-echo", ["--listen", TCP, "--max-per-ip", "2"]) as server:
            address = server.address("echo/tcp")
            first = socket.create_connection(address, timeout=10)
            second = socket.create_connection(address, timeout=10)
            for s in (first, second):
                s.sendall(b"ok")
                self.assertEqual(s.recv(10), b"ok")
            with (
                socket.create_connection(address, timeout=10) as third,
                contextlib.suppress(ConnectionResetError),
            ):
                self.assertEqual(third.recv(10), b"")
            server.wait_for_line(r"refused .*too many connections from 127\.0\.0\.1")
            for s in (first, second):
                s.sendall(b"still")
                self.assertEqual(s.recv(10), b"still")
                s.close()

    def test_slow_reader_bounded_memory(self) -> None:
        """
        A client that writes without reading is paused by the server (backpressure):
        server memory stays bounded, and every byte it finally reads back is right.
        """
        with TwistdProcess("netsuite-echo", ["--listen", TCP]) as server:
            baseline = server.rss_bytes()
            sent = bytearray()
            block = os.urandom(1 << 16)
            with socket.create_connection(server.address("echo/tcp"), timeout=10) as s:
                s.setblocking(False)
                # Write until the server has stopped reading (our send stalls for 2 s),
                # at most 256 MiB.
                while len(sent) < 256 << 20:
                    _, writable, _ = select.select([], [s], [], 2.0)
                    if not writable:
                        break
                    n = s.send(block)
                    sent += block[:n]
                stalled_rss = server.rss_bytes()
                s.setblocking(True)
                s.shutdown(socket.SHUT_WR)
                received = _read_all(s)
            self.assertLess(len(sent), 256 << 20, "the server never pushed back")
            self.assertEqual(received, bytes(sent))
            self.assertLess(stalled_rss - baseline, 32 << 20)

    def test_tls_slow_reader_bounded_memory(self) -> None:
        """
        The same over nstls: (records go straight to the socket when they can; what the
        kernel does not take still fills Twisted's buffer and pauses the reading), and
        every byte read back afterwards is right.
        """
        tls = TLSFiles(Path(self.mktemp()))
        with TwistdProcess("netsuite-echo", ["--listen", tls.nstls(0)]) as server:
            baseline = server.rss_bytes()
            context = ssl.create_default_context(cafile=tls.ca_path)
            sent = bytearray()
            block = os.urandom(1 << 16)
            raw = socket.create_connection(server.address("echo/tls"), timeout=10)
            with context.wrap_socket(raw, server_hostname="localhost") as s:
                s.setblocking(False)
                pending = memoryview(block)
                while len(sent) < 256 << 20:  # until our sends stall for 2 s
                    _, writable, _ = select.select([], [s], [], 2.0)
                    if not writable:
                        break
                    try:
                        n = s.send(pending)
                    except ssl.SSLWantWriteError:
                        continue
                    except ssl.SSLWantReadError:
                        break  # the TLS layer needs to read first: the server pushed back
                    sent += pending[:n]
                    pending = pending[n:] or memoryview(block)
                stalled_rss = server.rss_bytes()
                s.setblocking(True)
                received = bytearray()
                while len(received) < len(sent):
                    chunk = s.recv(1 << 16)
                    self.assertTrue(chunk, "connection closed before the echo was complete")
                    received += chunk
            self.assertLess(len(sent), 256 << 20, "the server never pushed back")
            self.assertEqual(bytes(received), bytes(sent))
            self.assertLess(stalled_rss - baseline, 32 << 20)


class EchoStartupTests(SynchronousTestCase):
    def run_twistd(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*twistd_command(), "-n", "--pidfile=", "netsuite-echo", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    def test_bad_description_exits_nonzero(self) -> None:
        out = self.run_twistd("--listen", "nstls:0:cert=/nonexistent.pem")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("cannot read '/nonexistent.pem'", out.stdout + out.stderr)

    def test_port_in_use_exits_nonzero(self) -> None:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            out = self.run_twistd("--listen", f"tcp:{port}:interface=127.0.0.1")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(
            f"echo/tcp: cannot listen on 'tcp:{port}:interface=127.0.0.1'", out.stdout + out.stderr
        )

    def test_systemd_datagram_socket_adopted(self) -> None:
        """A UDP socket handed over by socket activation (LISTEN_FDS) is echoed on."""
        sock = udp_socket()
        self.addCleanup(sock.close)
        fd = sock.fileno()
        env = dict(os.environ, LISTEN_FDS="1", LISTEN_FDNAMES="echo-udp")
        server = TwistdProcess(
            "netsuite-echo",
            ["--listen", "systemd:domain=INET:name=echo-udp:type=dgram"],
            env=env,
            pass_fds=[fd],
            # What systemd does: the socket as fd 3, LISTEN_PID the server's own pid.
            launcher=[sys.executable, "-c", SYSTEMD_LIKE, str(fd)],
        )
        with server, udp_socket() as client:
            client.sendto(b"activated", sock.getsockname())
            self.assertEqual(client.recvfrom(100)[0], b"activated")


class RunModesTests(SynchronousTestCase):
    def test_json_log(self) -> None:
        """--logger netsuite.base.logs.json_observer: every line is a JSON event."""
        server = TwistdProcess(
            "netsuite-echo",
            ["--listen", TCP],
            twistd_args=["--logger", "netsuite.base.logs.json_observer"],
        )
        with server:
            self.assertEqual(echo_tcp(server.address("echo/tcp"), b"json"), b"json")
        raw = server.raw_lines
        self.assertTrue(raw and all(line.startswith("\x1e{") for line in raw), raw[:3])

    def test_tac(self) -> None:
        """twistd -ny tap/netsuite.tac runs the suite on its defaults."""
        tac = Path(__file__).parents[2] / "tap" / "netsuite.tac"
        server = TwistdProcess("", twistd_args=["-y", str(tac)], expect=5)
        with server:
            self.assertEqual(server.address("echo/tcp"), ("127.0.0.1", 7007))
            self.assertEqual(echo_tcp(server.address("echo/tcp"), b"tac"), b"tac")


class IPv6Tests(SynchronousTestCase):
    def test_tcp6_and_udp6(self) -> None:
        server = TwistdProcess(
            "netsuite-echo",
            ["--listen", r"tcp6:0:interface=\:\:1", "--listen", r"udp:0:interface=\:\:1"],
            expect=2,
        )
        with server:
            host, port = server.address("echo/tcp")
            self.assertEqual(host, "::1")
            with socket.create_connection((host, port), timeout=10) as s:
                s.sendall(b"six")
                self.assertEqual(s.recv(10), b"six")
            with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as u:
                u.settimeout(10)
                u.sendto(b"udp six", server.address("echo/udp"))
                self.assertEqual(u.recvfrom(100)[0], b"udp six")


class TLSGroupsTests(SynchronousTestCase):
    def test_groups_x25519_p256_p384_only(self) -> None:
        """The key exchange uses X25519, P-256 or P-384; a client offering P-521 only fails."""
        files = TLSFiles(Path(self.mktemp()))
        openssl = require_tool("openssl")
        with TwistdProcess("netsuite-echo", ["--listen", files.nstls(0)]) as server:
            host, port = server.address("echo/tls")
            for group, ok in (("X25519", True), ("P-256", True), ("P-384", True),
                              ("P-521", False), ("ffdhe2048", False)):  # fmt: skip
                out = subprocess.run(
                    [openssl, "s_client", "-connect", f"{host}:{port}", "-CAfile",
                     files.ca_path, "-groups", group, "-tls1_3"],
                    input=b"", capture_output=True, timeout=30,
                )  # fmt: skip
                handshaken = b"Cipher is (NONE)" not in out.stdout and out.returncode == 0
                self.assertEqual(handshaken, ok, (group, out.stdout[-300:], out.stderr[-300:]))


def tls_fingerprint(address: tuple[str, int], ca: str) -> str:
    """SHA-256 of the certificate a new TLS connection is served."""
    import hashlib

    context = ssl.create_default_context(cafile=ca)
    with (
        socket.create_connection(address, timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as s,
    ):
        return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()


class TLSOperationsTests(SynchronousTestCase):
    def test_sighup_reload_keeps_open_connections(self) -> None:
        """
        Swap the certificate on disk and send SIGHUP: a new connection gets the new
        certificate, while a connection opened before keeps echoing.
        """
        import shutil
        import signal

        files = TLSFiles(Path(self.mktemp()))
        description = files.nstls(0, reloadInterval="0")  # only SIGHUP reloads here
        with TwistdProcess("netsuite-echo", ["--listen", description]) as server:
            address = server.address("echo/tls")
            before = tls_fingerprint(address, files.ca_path)
            context = ssl.create_default_context(cafile=files.ca_path)
            old = context.wrap_socket(
                socket.create_connection(address, timeout=10), server_hostname="localhost"
            )
            self.addCleanup(old.close)
            old.sendall(b"before")
            self.assertEqual(old.recv(100), b"before")
            cert, key = files.leaf("next", ["localhost", "127.0.0.1"])
            shutil.copy(cert, files.cert_path)
            shutil.copy(key, files.key_path)
            server.process.send_signal(signal.SIGHUP)
            server.wait_for_line(r"SIGHUP: 1 TLS listener\(s\) reloaded")
            self.assertNotEqual(tls_fingerprint(address, files.ca_path), before)
            old.sendall(b"after")
            self.assertEqual(old.recv(100), b"after")

    def test_polled_reload_and_broken_file_refused(self) -> None:
        import shutil

        files = TLSFiles(Path(self.mktemp()))
        with TwistdProcess(
            "netsuite-echo", ["--listen", files.nstls(0, reloadInterval="0.2")]
        ) as server:
            address = server.address("echo/tls")
            before = tls_fingerprint(address, files.ca_path)
            Path(files.key_path).write_text("garbage")
            server.wait_for_line(r"TLS reload refused, keeping the old certificate")
            self.assertEqual(tls_fingerprint(address, files.ca_path), before)
            cert, key = files.leaf("next", ["localhost"])
            shutil.copy(cert, files.cert_path)
            shutil.copy(key, files.key_path)
            server.wait_for_line(r"TLS certificate reloaded")
            self.assertNotEqual(tls_fingerprint(address, files.ca_path), before)

    def test_handshake_deadline(self) -> None:
        """A peer that connects over TLS and says nothing is dropped at the deadline."""
        files = TLSFiles(Path(self.mktemp()))
        with TwistdProcess(
            "netsuite-echo", ["--listen", files.nstls(0, handshakeTimeout="1")]
        ) as server:
            with socket.create_connection(server.address("echo/tls"), timeout=10) as silent:
                started = time.monotonic()
                with contextlib.suppress(ConnectionResetError):  # an abort resets: fine too
                    self.assertEqual(silent.recv(10), b"")
                self.assertLess(time.monotonic() - started, 9)
            server.wait_for_line(r"no TLS handshake within 1\.0s")

    def test_throwaway_certificate_on_loopback(self) -> None:
        state = Path(self.mktemp())
        env = dict(os.environ, NETSUITE_STATE_DIR=str(state))
        server = TwistdProcess(
            "netsuite-echo", ["--listen", "nstls:0:interface=127.0.0.1"], env=env
        )
        with server:
            self.assertTrue((state / "ca.pem").exists())
            context = ssl.create_default_context(cafile=str(state / "ca.pem"))
            with (
                socket.create_connection(server.address("echo/tls"), timeout=10) as raw,
                context.wrap_socket(raw, server_hostname="127.0.0.1") as s,
            ):
                s.sendall(b"throwaway")
                self.assertEqual(s.recv(100), b"throwaway")
            server.wait_for_line(r"development CA")


class TLSResumptionTests(SynchronousTestCase):
    def test_session_tickets_resume(self) -> None:
        """A returning client resumes its session (tickets are on by default)."""
        files = TLSFiles(Path(self.mktemp()))
        openssl = require_tool("openssl")
        session = str(Path(self.mktemp()))
        with TwistdProcess("netsuite-echo", ["--listen", files.nstls(0)]) as server:
            host, port = server.address("echo/tls")
            base = [openssl, "s_client", "-connect", f"{host}:{port}", "-CAfile",
                    files.ca_path, "-tls1_2"]  # fmt: skip
            first = subprocess.run([*base, "-sess_out", session], input=b"",
                                   capture_output=True, timeout=30)  # fmt: skip
            self.assertIn(b"New, TLSv1.2", first.stdout)
            self.assertIn(b"TLS session ticket", first.stdout)
            second = subprocess.run([*base, "-sess_in", session], input=b"",
                                    capture_output=True, timeout=30)  # fmt: skip
            self.assertIn(b"Reused, TLSv1.2", second.stdout)
