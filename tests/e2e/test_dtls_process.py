"""
End to end: `twistd -n netsuite-echo --listen dtls:...`, real UDP on 127.0.0.1, real clients
(openssl s_client -dtls1_2, a pyOpenSSL session on a plain socket, netsuite's own client
adapter on a real reactor).
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TLSFiles, TwistdProcess, require_tool
from netsuite.tls._dtls_context import client_options
from netsuite.tls._dtls_session import (
    MAX_COOKIE_REPLY,
    RECORD_HEADER,
    DTLSSession,
    is_hello_verify_request,
    split_records,
)
from tests.e2e.test_echo_process import converse

_SERVER_HELLO_DONE = 14


def dtls_description(files: TLSFiles, **extra: str) -> str:
    parts = ["dtls:0", "interface=127.0.0.1", f"cert={files.cert_path}", f"key={files.key_path}"]
    return ":".join(parts + [f"{k}={v}" for k, v in extra.items()])


def ends_server_flight(datagram: bytes) -> bool:
    """Whether a datagram carries the ServerHelloDone that ends the server's first flight."""
    return any(
        r[0] == 22 and r[3:5] == b"\0\0" and r[RECORD_HEADER] == _SERVER_HELLO_DONE
        for r in split_records(datagram)
    )


#: The client adapter on a real reactor, as `netsuite ping --dtls` will use it.
CLIENT_SCRIPT = """
import sys
from twisted.internet import task
from twisted.internet.defer import ensureDeferred
from twisted.internet.protocol import DatagramProtocol
from netsuite.tls._dtls_client import DTLSClientProtocol
from netsuite.tls._dtls_context import client_options

class Once(DatagramProtocol):
    def startProtocol(self):
        self.transport.write(b"adapter says hi")

    def datagramReceived(self, data, addr):
        print("echo:", data.decode(), flush=True)
        self.client.close()

async def main(reactor):
    once = Once()
    options = client_options("localhost", ca=sys.argv[3])
    once.client = DTLSClientProtocol(once, (sys.argv[1], int(sys.argv[2])), options, reactor)
    port = reactor.listenUDP(0, once.client, interface="127.0.0.1")
    print("handshake:", (await once.client.handshake).version, flush=True)
    print("closed:", (await once.client.closed).reason, flush=True)
    await port.stopListening()

task.react(lambda reactor: ensureDeferred(main(reactor)))
"""


class DTLSProcessTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.files = TLSFiles(Path(self.mktemp()))
        self.server = TwistdProcess(
            "netsuite-echo", ["--listen", dtls_description(self.files)], expect=1
        ).start()
        self.addCleanup(self.stop_cleanly)
        self.address = self.server.address("echo/dtls")

    def stop_cleanly(self) -> None:
        code = self.server.stop()
        self.assertEqual(code, 0, self.server.log())

    def socket(self) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(10)
        s.connect(self.address)
        self.addCleanup(s.close)
        return s

    def test_listening_and_certificate_logged(self) -> None:
        line = self.server.wait_for_line(r"echo/dtls TLS certificate subject=CN=localhost")
        self.assertRegex(line.string, r"sha256=([0-9A-F]{2}:){31}[0-9A-F]{2} expires=20\d\d-")
        self.assertEqual(self.address[0], "127.0.0.1")

    def test_openssl_s_client_echoes(self) -> None:
        openssl = require_tool("openssl")
        host, port = self.address
        out = converse(
            [openssl, "s_client", "-dtls1_2", "-connect", f"{host}:{port}",
             "-CAfile", self.files.ca_path, "-verify_return_error", "-servername", "localhost"],
            b"over dtls\n",
            until=b"over dtls\n",
        )  # fmt: skip
        self.assertIn(b"Verify return code: 0 (ok)", out)
        self.assertIn(b"DTLSv1.2", out)
        self.server.wait_for_line(r"echo/dtls session from 127\.0\.0\.1:\d+: DTLSv1\.2 ECDHE-")

    def test_spoofed_hello_gets_only_a_cookie(self) -> None:
        """
        A first ClientHello gets one HelloVerifyRequest and nothing else. Deterministic,
        without waiting for an absence: the server answers in arrival order, so once the
        reply to a second hello is here, anything else owed for the first would be too.
        """
        s = self.socket()
        session = client_options("localhost", ca=self.files.ca_path).session()
        session.start()
        (hello,) = session.datagrams_to_send()
        s.send(hello)
        s.send(hello)
        first, second = s.recv(65536), s.recv(65536)
        for reply in (first, second):
            self.assertTrue(is_hello_verify_request(reply))
            self.assertLessEqual(len(reply), min(MAX_COOKIE_REPLY, len(hello)))
        s.setblocking(False)
        self.assertRaises(BlockingIOError, s.recv, 65536)

    def test_lost_flight_is_retransmitted(self) -> None:
        """
        The client drops the server's first flight; the server's retransmission timer (run
        on the reactor's clock for OpenSSL) sends it again and the handshake completes.
        """
        s = self.socket()
        session = DTLSSession(client_options("localhost", ca=self.files.ca_path).connection())
        session.start()
        for d in session.datagrams_to_send():
            s.send(d)
        session.receive_datagram(s.recv(65536))  # the cookie
        for d in session.datagrams_to_send():
            s.send(d)
        lost = []
        while not lost or not ends_server_flight(lost[-1]):
            lost.append(s.recv(65536))  # dropped on the floor
        events = []
        for _ in range(50):
            if session.established:
                break
            events += session.receive_datagram(s.recv(65536))  # the retransmission first
            for d in session.datagrams_to_send():
                s.send(d)
        self.assertTrue(session.established, events)
        session.send(b"after a retransmission")
        for d in session.datagrams_to_send():
            s.send(d)
        echoed = []
        for _ in range(10):
            echoed += [e for e in session.receive_datagram(s.recv(65536)) if hasattr(e, "data")]
            if echoed:
                break
        self.assertEqual([e.data for e in echoed], [b"after a retransmission"])

    def test_client_adapter_on_a_real_reactor(self) -> None:
        host, port = self.address
        out = subprocess.run(
            [sys.executable, "-c", CLIENT_SCRIPT, host, str(port), self.files.ca_path],
            capture_output=True,
            text=True,
            timeout=30,
        )
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(
            out.stdout.splitlines(),
            ["handshake: DTLSv1.2", "echo: adapter says hi", "closed: closed by the client"],
        )
        self.server.wait_for_line(r"echo/dtls session 127\.0\.0\.1:\d+ ended .*: close_notify")

    def test_stop_sends_close_notify(self) -> None:
        """SIGTERM: an established peer is told the session is over, and the exit is 0."""
        s = self.socket()
        session = handshaken(s, self.files.ca_path)
        self.server.wait_for_line(r"echo/dtls session from")
        self.assertEqual(self.server.stop(), 0)
        events = session.receive_datagram(s.recv(65536))
        self.assertEqual([getattr(e, "reason", None) for e in events], ["close_notify"])


def handshaken(s: socket.socket, ca: str) -> DTLSSession:
    """A client DTLS session, handshaken over the connected socket C{s}."""
    session = client_options("localhost", ca=ca).session()
    session.start()
    for _ in range(50):
        if session.established:
            break
        for d in session.datagrams_to_send():
            s.send(d)
        session.receive_datagram(s.recv(65536))
    for d in session.datagrams_to_send():
        s.send(d)
    assert session.established
    return session


def echoed(s: socket.socket, session: DTLSSession, data: bytes) -> bytes:
    """Send C{data} in the session and return what comes back decrypted."""
    session.send(data)
    for d in session.datagrams_to_send():
        s.send(d)
    for _ in range(10):
        got = [e.data for e in session.receive_datagram(s.recv(65536)) if hasattr(e, "data")]
        if got:
            return b"".join(got)
    raise AssertionError("no echo")


def fingerprint(session: DTLSSession) -> str:
    cert = session.connection.get_peer_certificate()
    assert cert is not None
    return cert.to_cryptography().fingerprint(hashes.SHA256()).hex()


class DTLSReloadTests(SynchronousTestCase):
    def udp(self, address: tuple[str, int]) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(10)
        s.connect(address)
        self.addCleanup(s.close)
        return s

    def test_sighup_reload_keeps_established_sessions(self) -> None:
        """
        As for nstls: swap the certificate on disk and send SIGHUP: a new DTLS session
        gets the new certificate, a session established before keeps echoing.
        """
        files = TLSFiles(Path(self.mktemp()))
        description = dtls_description(files, reloadInterval="0")  # only SIGHUP here
        with TwistdProcess("netsuite-echo", ["--listen", description]) as server:
            address = server.address("echo/dtls")
            old_socket = self.udp(address)
            old = handshaken(old_socket, files.ca_path)
            self.assertEqual(echoed(old_socket, old, b"before"), b"before")
            cert, key = files.leaf("next", ["localhost", "127.0.0.1"])
            shutil.copy(cert, files.cert_path)
            shutil.copy(key, files.key_path)
            server.process.send_signal(signal.SIGHUP)
            server.wait_for_line(r"SIGHUP: 1 TLS listener\(s\) reloaded")
            new = handshaken(self.udp(address), files.ca_path)
            self.assertNotEqual(fingerprint(new), fingerprint(old))
            self.assertEqual(echoed(old_socket, old, b"after"), b"after")

    def test_polled_reload_and_broken_file_refused(self) -> None:
        files = TLSFiles(Path(self.mktemp()))
        description = dtls_description(files, reloadInterval="0.2")
        with TwistdProcess("netsuite-echo", ["--listen", description]) as server:
            address = server.address("echo/dtls")
            before = fingerprint(handshaken(self.udp(address), files.ca_path))
            Path(files.key_path).write_text("garbage")
            server.wait_for_line(r"dtls:\d+ TLS reload refused, keeping the old certificate")
            self.assertEqual(fingerprint(handshaken(self.udp(address), files.ca_path)), before)
            cert, key = files.leaf("next", ["localhost"])
            shutil.copy(cert, files.cert_path)
            shutil.copy(key, files.key_path)
            server.wait_for_line(r"dtls:\d+ TLS certificate reloaded")
            after = fingerprint(handshaken(self.udp(address), files.ca_path))
            self.assertNotEqual(after, before)


class DTLSIPv6Tests(SynchronousTestCase):
    def test_openssl_over_ipv6(self) -> None:
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
                probe.bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback here")
        openssl = require_tool("openssl")
        files = TLSFiles(Path(self.mktemp()))
        description = dtls_description(files).replace("127.0.0.1", "\\:\\:1")
        with TwistdProcess("netsuite-echo", ["--listen", description]) as server:
            host, port = server.address("echo/dtls")
            self.assertEqual(host, "::1")
            out = converse(
                [openssl, "s_client", "-dtls1_2", "-connect", f"[::1]:{port}",
                 "-CAfile", files.ca_path, "-verify_return_error"],
                b"over ipv6\n",
                until=b"over ipv6\n",
            )  # fmt: skip
            self.assertIn(b"Verify return code: 0 (ok)", out)
            server.wait_for_line(r"echo/dtls session from \[::1\]:\d+: DTLSv1\.2")
