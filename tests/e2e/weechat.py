"""
Debian's weechat-headless, driven for end-to-end tests of the chat's IRC door.

weechat is set up as a person sets it up: a server in its C{irc.conf} (address, nick,
realname, commands to run once registered), started, and read from what its logger
plugin writes for each buffer. Debian's weechat-headless has no fifo plugin (that is in
weechat-plugins, which CI does not install) and no terminal to read, so the logger is
the one interface that pushes weechat's output out of the process.

Nothing here sleeps or polls. Before weechat starts, each log file the test reads is made
a FIFO (C{mkfifo}) and opened here read-write and non-blocking: with a reader present,
weechat's C{fopen(..., "a")} on it returns at once; with a writer present (us), the FIFO
never reads as end-of-file between weechat's writes. With C{logger.file.flush_delay = 0}
weechat writes each line as it shows it, so a wait (L{Weechat.wait_log}) is a
C{select} on the FIFOs and on a pidfd of the process (weechat exiting ends a wait at
once), to a deadline. C{logger.look.backlog = 0}: otherwise weechat would read its own
log file back when a buffer opens, and take lines from the FIFO meant for us.
"""

from __future__ import annotations

import errno
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TwistdProcess, require_tool

from .ircclients import TIMEOUT

__all__ = ["Weechat", "WeechatServerCase"]

TCP = "tcp:0:interface=127.0.0.1"


class WeechatServerCase(SynchronousTestCase):
    """
    A test with weechat-headless (found, or skipped as L{require_tool} says) and the real
    C{twistd -n netsuite-chat}, its line and IRC doors on 127.0.0.1, flood limits raised
    (a client's queued lines are not the test's subject); it must exit 0 when stopped.
    """

    def setUp(self) -> None:
        self.executable = require_tool("weechat-headless")
        self.server = TwistdProcess(
            "netsuite-chat",
            ["--listen", TCP, "--irc-listen", TCP, "--flood-rate", "1000",
             "--flood-burst", "1000"],
            expect=2,
        ).start()  # fmt: skip
        self.addCleanup(self.stop_server)

    def stop_server(self) -> None:
        self.assertEqual(self.server.stop(), 0, self.server.log())

    def address(self, door: str) -> tuple[str, int]:
        return self.server.address(next(k for k in self.server.listeners if door in k))

    def tempdir(self) -> Path:
        path = Path(tempfile.mkdtemp(prefix="netsuite-e2e-"))
        self.addCleanup(shutil.rmtree, path, True)
        return path


class Weechat:
    """
    weechat-headless with its own C{--dir} under C{root}, configured to connect to
    C{address} as C{nick}, then (once registered) join C{room} and run C{command}.

    C{buffers} are the buffers whose logs can be waited on: C{server.ns} (the server
    buffer) and C{ns.<room>} (the room's) by default. C{server_options} are more lines
    of the server's section of C{irc.conf} (C{ns.sasl_mechanism = plain}...).
    """

    def __init__(
        self,
        executable: str,
        root: Path,
        address: tuple[str, int],
        nick: str,
        room: str,
        command: str,
        buffers: tuple[str, ...] = (),
        server_options: str = "",
    ) -> None:
        host, port = address
        self.dir = root
        (root / "irc.conf").write_text(
            "[server]\n"
            f'ns.addresses = "{host}/{port}"\n'
            "ns.ssl = off\n"  # weechat 3.8's name (4.0 calls it tls)
            f'ns.nicks = "{nick}"\n'
            f'ns.username = "{nick}"\n'
            'ns.realname = "Wee Example"\n'
            "ns.autoconnect = on\n"
            "ns.autoreconnect = off\n"
            "ns.anti_flood_prio_high = 0\n"
            "ns.anti_flood_prio_low = 0\n"
            f'ns.command = "/join {room};{command}"\n'  # in order, once registered
            + server_options  # more "ns.<option> = <value>" lines (SASL, ...)
        )
        (root / "logger.conf").write_text(
            "[look]\nbacklog = 0\n"  # never read a log (a FIFO of ours) back
            "[file]\nflush_delay = 0\n"  # write each line at once
        )
        logs = root / "logs"
        logs.mkdir()
        self._fds: dict[int, str] = {}
        self._pending: dict[str, bytes] = {}
        self._lines: dict[str, list[str]] = {}
        for buffer in buffers or ("server.ns", f"ns.{room.lower()}"):
            path = logs / f"irc.{buffer}.weechatlog"
            os.mkfifo(path)
            self._fds[os.open(path, os.O_RDWR | os.O_NONBLOCK)] = buffer
            self._pending[buffer] = b""
            self._lines[buffer] = []
        self.process = subprocess.Popen(
            [executable, "--dir", str(root)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self._pidfd = os.pidfd_open(self.process.pid)

    def _read(self, timeout: float) -> None:
        """Wait up to C{timeout} seconds for weechat to log something or exit; take
        every complete line it has logged so far."""
        ready, _, _ = select.select([*self._fds, self._pidfd], [], [], max(timeout, 0))
        for fd in ready:
            buffer = self._fds.get(fd)
            if buffer is None:
                continue  # the pidfd: weechat exited
            while True:
                try:
                    data = os.read(fd, 65536)
                except OSError as e:
                    if e.errno != errno.EAGAIN:
                        raise
                    break
                self._pending[buffer] += data
            *complete, self._pending[buffer] = self._pending[buffer].split(b"\n")
            self._lines[buffer].extend(
                line.split("\t", 1)[1]
                for line in (raw.decode("utf-8", "replace") for raw in complete)
                if "\t" in line
            )

    def log(self, buffer: str) -> list[str]:
        """The lines weechat logged for C{buffer} so far, as C{prefix<TAB>message}
        without the date."""
        self._read(0)
        return list(self._lines[buffer])

    def wait_log(self, buffer: str, needle: str, timeout: float = TIMEOUT) -> str:
        """The first line of C{buffer}'s log containing C{needle}, waited for (to a
        deadline) as weechat writes it."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((line for line in self._lines[buffer] if needle in line), None)
            if found is not None:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.process.poll() is not None:
                raise AssertionError(
                    f"weechat: {needle!r} never came in {buffer} "
                    f"(exit status {self.process.poll()})\n" + "\n".join(self._lines[buffer][-20:])
                )
            self._read(remaining)

    def quit(self) -> None:
        """SIGTERM (weechat quits cleanly on it), then wait, reading what it logs on
        the way out (a full FIFO would block it); SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + TIMEOUT
        while self.process.poll() is None and time.monotonic() < deadline:
            self._read(deadline - time.monotonic())
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self._pidfd >= 0:  # once, though the test and its cleanup both quit
            for fd in [*self._fds, self._pidfd]:
                os.close(fd)
            self._fds.clear()
            self._pidfd = -1
