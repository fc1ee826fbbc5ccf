"""End to end: `twistd -n netsuite`, every service in one process, one chat hub."""

import json
import socket
import urllib.request

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TwistdProcess

from .chatclient import LineClient

LOOPBACK = "tcp:0:interface=127.0.0.1"


class SuiteProcessTests(SynchronousTestCase):
    def test_every_door_one_hub(self) -> None:
        server = TwistdProcess(
            "netsuite",
            [
                "--echo-args", f"--listen {LOOPBACK} --listen udp:0:interface=127.0.0.1",
                "--chat-args", f"--listen {LOOPBACK} --irc-listen {LOOPBACK}",
                "--web-args", f"--listen {LOOPBACK}",
            ],
            expect=5,
        )  # fmt: skip
        with server:
            with socket.create_connection(server.address("echo/tcp"), timeout=10) as s:
                s.sendall(b"suite")
                self.assertEqual(s.recv(10), b"suite")
            line = LineClient(server.address("chat/line"))
            self.addCleanup(line.close)
            irc = socket.create_connection(server.address("chat/irc"), timeout=15)
            self.addCleanup(irc.close)
            irc.sendall(b"NICK ircer\r\nUSER ircer 0 * :I\r\nJOIN #lobby\r\n")
            seen = b""
            while b" 366 " not in seen:
                chunk = irc.recv(65536)
                self.assertTrue(chunk, seen)
                seen += chunk
            line.send("across doors")
            while b"PRIVMSG #lobby :across doors" not in seen:
                chunk = irc.recv(65536)
                self.assertTrue(chunk, seen)
                seen += chunk
            server.wait_for_line(r"netsuite: chat/irc irc://127\.0\.0\.1:\d+")
            host, port = server.address("web/http")
            with urllib.request.urlopen(f"http://{host}:{port}/api/stats", timeout=10) as r:
                stats = json.load(r)
            self.assertLessEqual({"echo", "echo/udp", "chat", "web"}, set(stats["services"]))
            self.assertEqual(stats["services"]["chat"]["connections"]["open"], 2)
            with urllib.request.urlopen(
                f"http://{host}:{port}/api/chat/rooms/%23lobby/history", timeout=10
            ) as r:
                history = json.load(r)
            self.assertIn("across doors", json.dumps(history))
        self.assertEqual(server.process.returncode, 0)
