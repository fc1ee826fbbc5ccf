"""
End to end: the drain of a real `twistd -n netsuite` on SIGTERM.

1,000 connections across the doors, then SIGTERM: every listening port refuses new
connections within a second, the process exits 0 within the drain timeout, and the log
holds no "Unhandled Error" nor traceback. A large download in flight at SIGTERM
completes during the drain (and a health probe pipelined behind it gets 503); SIGINT
during the drain ends it at once.
"""

from __future__ import annotations

import resource
import socket
import time
from pathlib import Path

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from netsuite.testing import TwistdProcess

LOOPBACK = "tcp:0:interface=127.0.0.1"
#: Connections per door in the 1,000 (echo, chat line, IRC, web).
SPREAD = {"echo/tcp": 300, "chat/line": 300, "chat/irc": 200, "web/http": 200}
DRAIN = 3.0
BIG = 32 << 20  # more than the kernel's buffers hold: the response is still in flight


def raise_nofile(needed: int) -> None:
    """This process and the server (which inherits it) each need a descriptor apiece."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise SkipTest(f"RLIMIT_NOFILE hard limit {hard} < {needed}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def refused(address: tuple[str, int]) -> bool:
    try:
        socket.create_connection(address, timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def close_all(sockets: list[socket.socket]) -> None:
    for s in sockets:
        s.close()


def recv_until(sock: socket.socket, marker: bytes, limit: int = 1 << 20) -> bytes:
    seen = b""
    while marker not in seen and len(seen) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        seen += chunk
    return seen


class DrainTests(SynchronousTestCase):
    def assert_clean_log(self, server: TwistdProcess) -> None:
        log = server.log()
        self.assertNotIn("Unhandled Error", log)
        self.assertNotIn("Traceback", log)

    def sigterm_and_ports_closed(self, server: TwistdProcess, labels: list[str]) -> float:
        """SIGTERM; within 1 s every port is closed (the log says so) and refuses."""
        assert server.process is not None
        addresses = [server.address(label) for label in labels]
        since = len(server.lines)
        started = time.monotonic()
        server.process.send_signal(15)
        server.wait_for_line(r"listeners closed; draining", timeout=1.0, since=since)
        for address in addresses:
            self.assertTrue(refused(address), address)
        self.assertLess(time.monotonic() - started, 1.0)
        return started

    def test_thousand_connections(self) -> None:
        raise_nofile(4096)
        args = "--max-per-ip 0 --max-connections 2000 --drain-timeout 3"
        server = TwistdProcess(
            "netsuite",
            [
                "--echo-args", f"--listen {LOOPBACK} {args}",
                "--chat-args", f"--listen {LOOPBACK} --irc-listen {LOOPBACK} {args}",
                "--web-args", f"--listen {LOOPBACK} {args}",
            ],
            expect=4,
        )  # fmt: skip
        self.addCleanup(server.stop)
        server.start()
        sockets: list[socket.socket] = []
        self.addCleanup(close_all, sockets)
        for label, count in SPREAD.items():
            address = server.address(label)
            for _ in range(count):
                s = socket.create_connection(address, timeout=10)
                sockets.append(s)
                # One exchange each, so the server has accepted every one of them.
                if label == "echo/tcp":
                    s.sendall(b"x")
                    self.assertEqual(s.recv(1), b"x")
                elif label == "chat/line":
                    self.assertIn(b"welcome", recv_until(s, b"welcome"))
                elif label == "chat/irc":
                    s.sendall(b"PING :hi\r\n")
                    self.assertIn(b"PONG", recv_until(s, b"PONG"))
                else:
                    s.sendall(b"GET /api/health HTTP/1.1\r\nHost: t\r\n\r\n")
                    self.assertIn(b'"ok"', recv_until(s, b"}"))
        self.assertEqual(len(sockets), 1000)
        started = self.sigterm_and_ports_closed(server, list(SPREAD))
        assert server.process is not None
        code = server.process.wait(timeout=DRAIN + 2)
        elapsed = time.monotonic() - started
        self.assertEqual(code, 0)
        self.assertLess(elapsed, DRAIN + 1)
        server.stop()  # reads the rest of the log
        self.assert_clean_log(server)
        self.assertIn("netsuite: drained", server.log())

    def web_with_big_file(self, drain: float) -> tuple[TwistdProcess, socket.socket]:
        root = Path(self.mktemp())
        root.mkdir()
        (root / "big.bin").write_bytes(b"z" * BIG)
        server = TwistdProcess(
            "netsuite",
            ["--no-echo", "--no-chat", "--web-args",
             f"--listen {LOOPBACK} --path {root} --drain-timeout {drain}"],
            expect=1,
        )  # fmt: skip
        self.addCleanup(server.stop)
        server.start()
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)  # a slow, small reader
        s.settimeout(10)
        s.connect(server.address("web/http"))
        self.addCleanup(s.close)
        s.sendall(
            b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /api/health HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        self.assertIn(b"200 OK", recv_until(s, b"\r\n\r\n"))  # the download has begun
        return server, s

    def test_download_in_flight_completes(self) -> None:
        server, s = self.web_with_big_file(drain=10)
        self.sigterm_and_ports_closed(server, ["web/http"])
        received = bytearray()
        while True:  # read the rest; the server waits for us (within its drain timeout)
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            received += chunk
        got = bytes(received)
        body_end = got.index(b"HTTP/1.1 503")
        self.assertGreater(body_end, BIG - (1 << 20))  # the download's tail
        self.assertIn(b'"status": "draining"', got[body_end:].replace(b'":"', b'": "'))
        assert server.process is not None
        self.assertEqual(server.process.wait(timeout=5), 0)
        server.stop()
        self.assert_clean_log(server)

    def test_sigint_ends_the_drain(self) -> None:
        server, s = self.web_with_big_file(drain=60)
        started = self.sigterm_and_ports_closed(server, ["web/http"])
        assert server.process is not None
        since = len(server.lines)
        server.process.send_signal(2)  # SIGINT: stop waiting for the slow reader
        server.wait_for_line(r"ending the drain now", timeout=2, since=since)
        self.assertEqual(server.process.wait(timeout=5), 0)
        self.assertLess(time.monotonic() - started, 5)  # not the 60 s drain timeout
        server.stop()
        self.assert_clean_log(server)
