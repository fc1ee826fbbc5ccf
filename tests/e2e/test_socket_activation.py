"""
End to end: `twistd -n netsuite-echo` under Debian's `systemd-socket-activate`, which
binds the socket, waits for the first connection or datagram, then execs twistd with
the socket as fd 3 (LISTEN_FDS=1, and LISTEN_FDNAMES only with --fdname).

Each run talks through the adopted socket with a real TCP or UDP client, then stops the
server with SIGTERM and expects exit status 0 promptly: a UDP socket adopted as the tool
hands it over (blocking) once made the reactor hang in recvfrom after SIGTERM.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import require_tool, twistd_command

#: How long the server may take to start or to stop, in seconds.
TIMEOUT = 20.0
#: The whole suite, its doors but the echo one on ports of their own (no TLS twins).
LOOPBACK = "tcp:0:interface=127.0.0.1"
SUITE_ARGS = [
    "netsuite", "--no-tls",
    "--chat-args", f"--listen {LOOPBACK} --irc-listen {LOOPBACK}",
    "--web-args", f"--listen {LOOPBACK}",
]  # fmt: skip


def free_port(kind: int) -> int:
    """A port the kernel just handed out on 127.0.0.1 for C{kind} (stream or datagram)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Activated:
    """A C{systemd-socket-activate} process (later: twistd, same pid) and its output."""

    process: subprocess.Popen[bytes]
    output: list[str] = field(default_factory=list)
    _pending: bytes = b""

    def wait_for(self, text: str, timeout: float = TIMEOUT) -> None:
        """Read the output until a line contains C{text}; fail with the output if not."""
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while not any(text in line for line in self.output):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.process.stdout], [], [], left)[0]:
                raise AssertionError(f"{text!r} never came:\n" + self.log())
            chunk = os.read(self.process.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError(f"exited before {text!r}:\n" + self.log())
            *lines, self._pending = (self._pending + chunk).split(b"\n")
            self.output += [line.decode("utf-8", "replace") for line in lines]

    def stop(self) -> int:
        """SIGTERM, and the exit status within L{TIMEOUT} (killed and failed otherwise)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError("no exit after SIGTERM:\n" + self.log()) from None

    def log(self) -> str:
        assert self.process.stdout is not None
        if self.process.poll() is not None:
            self.output += self.process.stdout.read().decode("utf-8", "replace").splitlines()
        return "\n".join(self.output)


@contextmanager
def activated(
    port: int,
    description: str,
    *,
    datagram: bool = False,
    fdname: str | None = None,
    env: dict[str, str] | None = None,
    suite: bool = False,
) -> Iterator[Activated]:
    """
    Run C{twistd -n netsuite-echo --listen DESCRIPTION} under the tool on C{port}; with
    C{suite}, the whole suite (C{twistd -n netsuite}) with that as the echo door, the other
    doors on ports of their own choosing.
    """
    tool = require_tool("systemd-socket-activate")
    passed = {"PYTHONUNBUFFERED": "1", **(env or {})}
    if "PYTHONPATH" in os.environ:  # the checkout under test, not the installed copy
        passed["PYTHONPATH"] = os.environ["PYTHONPATH"]
    command = [
        tool,
        *[f"--setenv={k}={v}" for k, v in passed.items()],
        *(["--datagram"] if datagram else []),
        *([f"--fdname={fdname}"] if fdname else []),
        f"--listen=127.0.0.1:{port}",
        *twistd_command(),
        "-n",
        "--pidfile=",
        "--logfile=-",
        *(SUITE_ARGS if suite else ["netsuite-echo"]),
        *(["--echo-args", f"--listen {description}"] if suite else ["--listen", description]),
    ]
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    run = Activated(process)
    try:
        run.wait_for(f"Listening on 127.0.0.1:{port}")
        yield run
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stdout is not None
        process.stdout.close()


class SocketActivationTests(SynchronousTestCase):
    def assert_clean_stop(self, run: Activated) -> None:
        self.assertEqual(run.stop(), 0, run.log())
        log = run.log()
        self.assertIn("Received SIGTERM", log)
        self.assertNotIn("Traceback", log)

    def tcp(self, description: str, fdname: str | None = None, suite: bool = False) -> None:
        port = free_port(socket.SOCK_STREAM)
        ready = "netsuite ready" if suite else "netsuite-echo ready"
        with activated(port, description, fdname=fdname, suite=suite) as run:
            # The connection waits in the tool's backlog and starts twistd, which adopts
            # the listening socket and accepts it.
            with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
                s.sendall(b"activated tcp")
                self.assertEqual(s.recv(100), b"activated tcp")
            run.wait_for(ready)
            self.assertIn(f"echo/tcp listening on tcp 127.0.0.1:{port}", run.log())
            with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
                s.sendall(b"again")
                self.assertEqual(s.recv(100), b"again")
            self.assert_clean_stop(run)

    def udp(self, description: str, fdname: str | None = None, suite: bool = False) -> None:
        port = free_port(socket.SOCK_DGRAM)
        ready = "netsuite ready" if suite else "netsuite-echo ready"
        with activated(port, description, datagram=True, fdname=fdname, suite=suite) as run:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                client.settimeout(TIMEOUT)
                # The first datagram starts twistd and is still queued when it adopts.
                client.sendto(b"activated udp", ("127.0.0.1", port))
                self.assertEqual(client.recvfrom(100)[0], b"activated udp")
                run.wait_for(ready)
                client.sendto(b"again", ("127.0.0.1", port))
                self.assertEqual(client.recvfrom(100)[0], b"again")
            self.assertIn(f"echo/udp listening on udp 127.0.0.1:{port}", run.log())
            self.assert_clean_stop(run)

    def test_tcp_by_index(self) -> None:
        """No --fdname, so no LISTEN_FDNAMES: the socket is still adopted, by index."""
        self.tcp("systemd:domain=INET:index=0")

    def test_udp_by_index(self) -> None:
        self.udp("systemd:domain=INET:index=0:type=dgram")

    def test_tcp_by_name(self) -> None:
        self.tcp("systemd:domain=INET:name=echo", fdname="echo")

    def test_udp_by_name(self) -> None:
        self.udp("systemd:domain=INET:name=echo-udp:type=dgram", fdname="echo-udp")

    def test_the_suite_tcp(self) -> None:
        """The whole suite, its echo door on the socket the tool hands over."""
        self.tcp("systemd:domain=INET:name=echo", fdname="echo", suite=True)

    def test_the_suite_udp(self) -> None:
        self.udp("systemd:domain=INET:index=0:type=dgram", suite=True)

    def test_missing_name_says_what_was_inherited(self) -> None:
        port = free_port(socket.SOCK_STREAM)
        with activated(port, "systemd:domain=INET:name=web") as run:
            with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT):
                self.assertNotEqual(run.process.wait(TIMEOUT), 0)
            self.assertIn(
                "systemd:domain=INET:name=web:type=stream asked for, but 1 socket(s) were "
                "inherited: fd 3, unnamed (LISTEN_FDNAMES is not set)",
                run.log(),
            )

    def test_ready_and_stopping_notified(self) -> None:
        """With NOTIFY_SOCKET (as systemd sets for Type=notify): READY=1, then STOPPING=1."""
        directory = tempfile.mkdtemp(prefix="ns-notify-")
        self.addCleanup(shutil.rmtree, directory)
        path = os.path.join(directory, "notify")
        manager = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(manager.close)
        manager.bind(path)
        manager.settimeout(TIMEOUT)
        port = free_port(socket.SOCK_DGRAM)
        description = "systemd:domain=INET:index=0:type=dgram"
        with activated(port, description, datagram=True, env={"NOTIFY_SOCKET": path}) as run:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                client.sendto(b"wake", ("127.0.0.1", port))
                self.assertTrue(manager.recv(4096).startswith(b"READY=1\n"))
            self.assert_clean_stop(run)
            self.assertTrue(manager.recv(4096).startswith(b"STOPPING=1\n"))
