"""
End to end: the installed C{netsuite chat} against a real C{twistd -n netsuite-chat} on
127.0.0.1: piped (a script's way), on a pseudo-terminal (a person's way), over TLS, and
across a server restart with C{--reconnect}. Every wait is on output, with a deadline.
"""

from __future__ import annotations

import os
import queue
import select
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TLSFiles, TwistdProcess
from tests.e2e.chatclient import LineClient

LINE = "tcp:0:interface=127.0.0.1"
DEADLINE = 30.0


def netsuite() -> list[str]:
    """The C{netsuite} console script of this environment, else the package as a module."""
    beside = Path(sys.executable).with_name("netsuite")
    if beside.exists():
        return [str(beside)]
    return [sys.executable, "-m", "netsuite.client"]


def chat_server(*listen: str) -> TwistdProcess:
    args = [a for d in listen for a in ("--listen", d)]
    return TwistdProcess(
        "netsuite-chat",
        [*args, "--irc-listen", "none", "--flood-rate", "1000", "--flood-burst", "1000"],
        expect=len(listen),
    )


class ClientProcess:
    """A C{netsuite} process on pipes; its stdout and stderr read line by line."""

    def __init__(self, args: Sequence[str]) -> None:
        self.process = subprocess.Popen(
            [*netsuite(), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._queue: queue.Queue[tuple[str, str | None]] = queue.Queue()
        self._open = 2
        for name, stream in (("stdout", self.process.stdout), ("stderr", self.process.stderr)):
            threading.Thread(target=self._pump, args=(name, stream), daemon=True).start()

    def _pump(self, name: str, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self._queue.put((name, line.rstrip("\n")))
        self._queue.put((name, None))

    def send(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def close_stdin(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()

    def _take(self, timeout: float) -> bool:
        try:
            name, line = self._queue.get(timeout=timeout)
        except queue.Empty:
            return False
        if line is None:
            self._open -= 1
        else:
            getattr(self, name).append(line)
        return True

    def expect(self, text: str, stream: str = "stdout") -> str:
        """The first line from now on (on C{stream}) containing C{text}."""
        seen = len(getattr(self, stream))
        deadline = time.monotonic() + DEADLINE
        while True:
            lines = getattr(self, stream)
            for line in lines[seen:]:
                if text in line:
                    return line
            seen = len(lines)
            left = deadline - time.monotonic()
            if left <= 0 or (not self._take(left) and self._open == 0):
                raise AssertionError(
                    f"{text!r} never came on {stream}; stdout:\n"
                    + "\n".join(self.stdout[-20:])
                    + "\nstderr:\n"
                    + "\n".join(self.stderr[-20:])
                )

    def wait(self) -> int:
        """The exit status, once both streams are read to their end."""
        code = self.process.wait(DEADLINE)
        deadline = time.monotonic() + DEADLINE
        while self._open and time.monotonic() < deadline:
            self._take(deadline - time.monotonic())
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


class ChatClientTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.server = chat_server(LINE).start()
        self.addCleanup(self.server.stop)
        self.port = self.server.address("chat/line")[1]

    def client(self, *args: str) -> ClientProcess:
        client = ClientProcess(["chat", "127.0.0.1", str(self.port), *args])
        self.addCleanup(client.kill)
        return client

    def test_piped_session(self) -> None:
        alice = self.client("--nick", "alice")
        alice.expect("-!- welcome to netsuite chat, ")
        alice.expect("is now known as alice")
        bob = LineClient(("127.0.0.1", self.port))
        self.addCleanup(bob.close)
        bob.send("/join #rust")
        alice.send("/join #rust")
        bob.expect("[#rust] -> alice joined")
        alice.send("hello bob")
        bob.expect("[#rust] <alice> hello bob")
        bob.send("hello alice")
        alice.expect(f"[#rust] <{bob.nick}> hello alice")
        alice.send("/msg " + bob.nick + " psst")
        bob.expect("[private] <alice> psst")
        alice.send("/quit see you")
        bob.expect("<- alice quit (see you)")
        self.assertEqual(alice.wait(), 0)
        self.assertIn("-!- closing: see you", alice.stdout)
        self.assertEqual(alice.stderr, [])

    def test_end_of_input_leaves(self) -> None:
        """A script piped in: every line sent, in order, then /quit; exit 0."""
        alice = self.client("--nick", "alice")
        alice.send("/join #script")
        alice.send("one")
        alice.send("two")
        alice.close_stdin()
        self.assertEqual(alice.wait(), 0, alice.stderr)
        out = alice.stdout
        self.assertLess(out.index("[#script] <alice> one"), out.index("[#script] <alice> two"))
        self.assertEqual(out[-1], "-!- closing: quit")

    def test_lost_connection_exits_1(self) -> None:
        alice = self.client()
        alice.expect("joined")
        self.assertEqual(self.server.stop(), 0)
        self.assertEqual(alice.wait(), 1)
        self.assertEqual(alice.stderr, ["netsuite chat: connection closed by the server"])
        self.assertIn("-!- server shutting down", alice.stdout)

    def test_reconnect_restores_nick_and_rooms(self) -> None:
        alice = self.client("--nick", "alice", "--reconnect")
        alice.send("/join #rust")
        alice.send("/part #lobby")
        alice.expect("[#lobby] <- alice left")
        self.assertEqual(self.server.stop(), 0)
        alice.expect("connection closed by the server; reconnecting in 1s", "stderr")
        # The same port again; the client retries (1 s, 2 s ...) until it is back.
        again = chat_server(f"tcp:{self.port}:interface=127.0.0.1").start()
        self.addCleanup(again.stop)
        alice.expect("[#rust] -> alice joined")
        alice.expect("[#lobby] <- alice left")
        bob = LineClient(("127.0.0.1", self.port))
        self.addCleanup(bob.close)
        bob.send("/who #rust")
        bob.expect("#rust: 1 here: @alice")  # the first in #rust: its operator
        bob.send("/join #rust")
        alice.send("still here")
        bob.expect("[#rust] <alice> still here")
        alice.close_stdin()
        self.assertEqual(alice.wait(), 0)

    def test_refused(self) -> None:
        self.assertEqual(self.server.stop(), 0)
        alice = self.client()
        self.assertEqual(alice.wait(), 1)
        self.assertEqual(
            alice.stderr,
            [f"netsuite chat: cannot connect to 127.0.0.1:{self.port}: connection refused"],
        )


class ChatTerminalTests(SynchronousTestCase):
    """On a pseudo-terminal: the prompt, lines printed above it, the typed line kept."""

    def test_prompt_and_incoming_lines(self) -> None:
        import pty

        server = chat_server(LINE).start()
        self.addCleanup(server.stop)
        port = server.address("chat/line")[1]
        master, slave = pty.openpty()
        process = subprocess.Popen(
            [*netsuite(), "chat", "127.0.0.1", str(port), "--nick", "alice"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
        )
        os.close(slave)
        self.addCleanup(os.close, master)
        self.addCleanup(lambda: process.poll() is None and (process.kill(), process.wait()))
        screen = b""

        def until(text: bytes) -> bytes:
            nonlocal screen
            deadline = time.monotonic() + DEADLINE
            while text not in screen:
                ready, _, _ = select.select([master], [], [], max(0, deadline - time.monotonic()))
                if not ready:
                    raise AssertionError(f"{text!r} never came; the screen:\n{screen!r}")
                try:
                    screen += os.read(master, 65536)
                except OSError:  # the process is gone
                    raise AssertionError(f"{text!r} never came; the screen:\n{screen!r}") from None
            seen, _, screen = screen.partition(text)
            return seen + text

        until(b"is now known as alice\r\n")
        until(b"#lobby> ")
        os.write(master, b"half typ")
        until(b"half typ")
        bob = LineClient(("127.0.0.1", port))
        self.addCleanup(bob.close)
        bob.send("hi alice")
        # Printed above the prompt, and what was typed is back on the prompt line.
        until(b"\r\x1b[K[#lobby] <" + bob.nick.encode() + b"> hi alice\r\n#lobby> half typ")
        os.write(master, b"\x7fed\r")
        bob.expect("[#lobby] <alice> half tyed")
        os.write(master, b"/join #rust\r")
        until(b"#rust> ")
        os.write(master, b"\x04")  # Ctrl-D: leave
        until(b"-!- closing: quit")
        self.assertEqual(process.wait(DEADLINE), 0)

    def test_ctrl_c_gives_the_terminal_back(self) -> None:
        """Ctrl-C (the terminal's own signal): 130, and the terminal as it was before."""
        import fcntl
        import pty
        import termios

        server = chat_server(LINE).start()
        self.addCleanup(server.stop)
        port = server.address("chat/line")[1]
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)
        self.addCleanup(os.close, slave)
        before = termios.tcgetattr(slave)

        def controlling_terminal() -> None:  # so that Ctrl-C on it is a SIGINT for us
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        process = subprocess.Popen(
            [*netsuite(), "chat", "127.0.0.1", str(port)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            preexec_fn=controlling_terminal,
        )
        self.addCleanup(lambda: process.poll() is None and (process.kill(), process.wait()))
        screen = b""
        deadline = time.monotonic() + DEADLINE
        while b"#lobby> " not in screen:
            ready, _, _ = select.select([master], [], [], max(0, deadline - time.monotonic()))
            self.assertTrue(ready, screen)
            screen += os.read(master, 65536)
        self.assertFalse(termios.tcgetattr(slave)[3] & termios.ICANON)  # cbreak meanwhile
        os.write(master, b"typed\x03")
        self.assertEqual(process.wait(DEADLINE), 130)
        while select.select([master], [], [], 0)[0]:
            screen += os.read(master, 65536)
        self.assertIn(b"\r\x1b[Knetsuite chat: interrupted\r\n", screen)
        self.assertEqual(termios.tcgetattr(slave), before)
        self.assertFalse(fcntl.fcntl(slave, fcntl.F_GETFL) & os.O_NONBLOCK)


class ChatTLSTests(SynchronousTestCase):
    def test_verified_untrusted_insecure(self) -> None:
        scratch = tempfile.TemporaryDirectory(prefix="netsuite-chat-test-")
        self.addCleanup(scratch.cleanup)
        tls = TLSFiles(Path(scratch.name), names=("127.0.0.1", "localhost"))
        server = chat_server(tls.nstls()).start()
        self.addCleanup(server.stop)
        port = str(server.address("chat/line-tls")[1])

        alice = ClientProcess(["chat", "localhost", port, "--tls", "--ca", tls.ca_path])
        self.addCleanup(alice.kill)
        alice.expect("-!- welcome to netsuite chat")
        alice.send("over tls")
        alice.expect("> over tls")
        alice.close_stdin()
        self.assertEqual(alice.wait(), 0)
        self.assertEqual(alice.stderr, [])
        self.assertEqual(alice.stdout[-1], "-!- closing: quit")  # sent before close_notify

        untrusted = ClientProcess(["chat", "127.0.0.1", port, "--tls", "--reconnect"])
        self.addCleanup(untrusted.kill)
        self.assertEqual(untrusted.wait(), 1)  # never retried
        self.assertEqual(len(untrusted.stderr), 1, untrusted.stderr)
        self.assertTrue(
            untrusted.stderr[0].startswith(
                "netsuite chat: TLS verification failed for 127.0.0.1: "
            ),
            untrusted.stderr,
        )

        insecure = ClientProcess(["chat", "127.0.0.1", port, "--tls", "--insecure"])
        self.addCleanup(insecure.kill)
        insecure.expect("-!- welcome to netsuite chat")
        insecure.close_stdin()
        self.assertEqual(insecure.wait(), 0)
        self.assertEqual(
            insecure.stderr,
            ["netsuite chat: WARNING: --insecure: the server's certificate is not checked"],
        )
