"""
End to end: `twistd -n netsuite` with no arguments opens every door, plain and TLS, on
its default loopback port, and one chat line crosses the line, IRC and WebSocket doors.

Each door is reached with a real client: Python's sockets and ssl module, the ii IRC
client, `netsuite ping --dtls`, curl with --cacert over HTTP/1.1 and HTTP/2, and a
WebSocket handshake and frames made by wsproto.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import wsproto
import wsproto.events as ws
from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TwistdProcess
from netsuite.testing._process import require_tool

from .chatclient import LineClient
from .ircclients import IIClient, RawIRC, TLSLineClient

#: Every door `twistd netsuite` opens by default, and its port.
DEFAULT_DOORS = {
    "echo/tcp": 7007, "echo/udp": 7007, "echo/tls": 7443, "echo/dtls": 7443,
    "chat/line": 7777, "chat/line-tls": 7778, "chat/irc": 6667, "chat/irc-tls": 6697,
    "web/http": 8080, "web/https": 8443,
}  # fmt: skip
TIMEOUT = 20


class WebSocketClient:
    """A blocking WebSocket client: wsproto's state machine over one socket."""

    def __init__(self, address: tuple[str, int], path: str) -> None:
        host, port = address
        self.sock = socket.create_connection(address, timeout=TIMEOUT)
        self.conn = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
        origin = [(b"origin", f"http://{host}:{port}".encode())]
        request = ws.Request(host=f"{host}:{port}", target=path, extra_headers=origin)
        self.sock.sendall(self.conn.send(request))
        self.pending: list[ws.Event] = []
        self.text = ""
        self.next(ws.AcceptConnection)

    def next(self, kind: type[ws.Event]) -> ws.Event:
        """The next event of C{kind}, reading as needed (whole text messages only)."""
        while True:
            while self.pending:
                event = self.pending.pop(0)
                if isinstance(event, ws.TextMessage):
                    self.text += event.data
                    if not event.message_finished:
                        continue
                    event = ws.TextMessage(data=self.text)
                    self.text = ""
                if isinstance(event, kind):
                    return event
            data = self.sock.recv(65536)
            assert data, "the server closed the WebSocket"
            self.conn.receive_data(data)
            self.pending += list(self.conn.events())

    def send(self, message: dict[str, object]) -> None:
        self.sock.sendall(self.conn.send(ws.Message(data=json.dumps(message))))

    def receive(self) -> dict[str, object]:
        event = self.next(ws.TextMessage)
        assert isinstance(event, ws.TextMessage)
        result: dict[str, object] = json.loads(event.data)
        return result

    def close(self) -> None:
        self.sock.close()


class SuiteDefaultsTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.state = os.path.abspath(self.mktemp())
        os.makedirs(self.state)
        self.ca = os.path.join(self.state, "ca.pem")
        env = {**os.environ, "NETSUITE_STATE_DIR": self.state}
        self.server = TwistdProcess("netsuite", [], expect=len(DEFAULT_DOORS), env=env)
        self.server.start()
        self.addCleanup(self.server.stop)

    def tls(self, address: tuple[str, int]) -> ssl.SSLSocket:
        context = ssl.create_default_context(cafile=self.ca)
        raw = socket.create_connection(address, timeout=TIMEOUT)
        return context.wrap_socket(raw, server_hostname="localhost")

    def test_every_door_on_its_default_port(self) -> None:
        """Every door listens on loopback at its documented port; the log says how to trust."""
        ports = {label: self.server.address(label) for label in DEFAULT_DOORS}
        self.assertEqual({k: v[1] for k, v in ports.items()}, DEFAULT_DOORS)
        self.assertEqual({host for host, _ in ports.values()}, {"127.0.0.1"})
        ca = rf"{self.state}/ca\.pem"
        self.server.wait_for_line(rf"netsuite: .*development CA {ca}; trust it with --ca {ca}")

    def test_echo_plain_tls_udp_dtls(self) -> None:
        with socket.create_connection(self.server.address("echo/tcp"), timeout=TIMEOUT) as s:
            s.sendall(b"plain")
            self.assertEqual(s.recv(10), b"plain")
        with self.tls(self.server.address("echo/tls")) as s:
            s.sendall(b"secret")
            self.assertEqual(s.recv(10), b"secret")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.settimeout(TIMEOUT)
            u.sendto(b"datagram", self.server.address("echo/udp"))
            self.assertEqual(u.recvfrom(100)[0], b"datagram")
        env = {**os.environ, "NETSUITE_STATE_DIR": self.state}
        ping = subprocess.run(
            [sys.executable, "-m", "netsuite.client", "ping", "--dtls", "--ca", self.ca,
             "-c", "3", "-i", "0.05", "localhost", "7443"],
            capture_output=True, text=True, timeout=60, env=env,
        )  # fmt: skip
        self.assertEqual(ping.returncode, 0, ping.stdout + ping.stderr)
        self.assertIn("3 received", ping.stdout)

    def test_web_http1_and_http2_with_the_ca(self) -> None:
        curl = require_tool("curl")
        for url, flag, version in [
            ("http://127.0.0.1:8080/api/health", "--http1.1", "1.1"),
            ("https://localhost:8443/api/health", "--http1.1", "1.1"),
            ("https://localhost:8443/api/health", "--http2", "2"),
        ]:
            out = subprocess.run(
                [curl, "-sS", flag, "--cacert", self.ca, "--resolve", "localhost:8443:127.0.0.1",
                 "-w", "\n%{http_version} %{http_code}", url],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            self.assertEqual(out.returncode, 0, out.stderr)
            body, _, status = out.stdout.rpartition("\n")
            self.assertEqual(status, f"{version} 200", url)
            self.assertEqual(json.loads(body)["status"], "ok")

    def test_a_line_crosses_line_irc_and_websocket_doors(self) -> None:
        root = Path(self.mktemp())
        root.mkdir(parents=True)
        ii = IIClient(require_tool("ii"), root, self.server.address("chat/irc"), "irci")
        self.addCleanup(ii.quit)
        ii.registered()
        ii.join("#lobby")
        browser = WebSocketClient(self.server.address("web/http"), "/chat/ws")
        self.addCleanup(browser.close)
        self.assertEqual(browser.receive()["type"], "welcome")
        browser.send({"type": "join", "room": "#lobby"})
        tls_irc = RawIRC(self.server.address("chat/irc-tls"), ca_path=self.ca)
        self.addCleanup(tls_irc.close)
        tls_irc.register("ircs", "JOIN #lobby")
        tls_irc.expect(" 366 ")
        line = LineClient(self.server.address("chat/line"))
        self.addCleanup(line.close)
        tls_line = TLSLineClient(self.server.address("chat/line-tls"), self.ca)
        self.addCleanup(tls_line.close)
        line.send("across every door")
        ii.wait_out("across every door", "#lobby")
        tls_line.expect("across every door")
        tls_irc.expect("PRIVMSG #lobby :across every door")
        while True:
            message = browser.receive()
            if message.get("type") == "said":
                break
        self.assertEqual(message["text"], "across every door")
        self.assertEqual(message["room"], "#lobby")
