"""
The suite under soak: one C{twistd -n netsuite} from this checkout, every door on an
ephemeral loopback port, its log kept in a file and scanned as it comes.

A L{bench.benchproc.Server} (its start with a deadline, its drain thread, its SIGTERM
stop) that writes every line it drains to the log file, notes the lines that mean a
bug, and reads all six listeners from the start-up lines. Why not
C{netsuite.testing.TwistdProcess}: it keeps every line in memory for a test's
assertions, and a soak logs a few hundred thousand connections.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TextIO

from bench.benchproc import Server, rss_kib, twistd_command

CHECKOUT = Path(__file__).resolve().parents[2]
LOOPBACK = "tcp:0:interface=127.0.0.1"
#: What netsuite.twistd._service.ListenerService logs once a listener is bound.
LISTENING = re.compile(r"(\S+) listening on (?:tcp|udp|tls) 127\.0\.0\.1:(\d+)$")
#: The suite is up once it says so; its web port is in the line before.
READY = re.compile(rb"netsuite: web/http http://127\.0\.0\.1:(\d+)/[\s\S]*netsuite ready")
#: Lines that mean a bug: the soak's target is none of them.
BAD = ("Traceback", "Unhandled Error")
#: The listeners the soak needs before it starts.
LABELS = ("echo/tcp", "echo/udp", "echo/tls", "chat/line", "chat/irc", "web/http")


def suite_args(cert: str, key: str, site: Path) -> list[str]:
    """
    The suite's options: every door on loopback port 0, the per-IP caps off (all load
    comes from 127.0.0.1), the chat flood limit out of chatgen's way; all else default.
    """
    tls = f"nstls:0:interface=127.0.0.1:cert={cert}:key={key}"
    return [
        "--echo-args", f"--listen {LOOPBACK} --listen udp:0:interface=127.0.0.1 "
                       f"--listen {tls} --max-per-ip 0",
        "--chat-args", f"--listen {LOOPBACK} --irc-listen {LOOPBACK} --max-per-ip 0 "
                       "--flood-rate 1000000 --flood-burst 1000000",
        "--web-args", f"--listen {LOOPBACK} --max-per-ip 0 --path {site}",
    ]  # fmt: skip


class Suite(Server):
    """The running suite: its ports by label, its log file, the bad lines in it."""

    def __init__(self, args: list[str], log_path: Path) -> None:
        command = [*twistd_command(), "-n", "--pidfile=", "--logfile=-", "netsuite", *args]
        super().__init__("netsuite", command, READY)
        self.log_path = log_path
        self.ports: dict[str, int] = {}
        self.bad_lines: list[str] = []
        self.lines = 0

    def start(self, timeout: float = 30.0) -> int:
        """Start from this checkout (C{PYTHONPATH}); fail unless every door listens."""
        path = os.environ.get("PYTHONPATH", "")
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(CHECKOUT), path) if p)
        try:
            port = super().start(timeout)
        finally:
            os.environ["PYTHONPATH"] = path
        for line in self.tail:  # the start-up lines, read by Server.start
            m = LISTENING.search(line)
            if m:
                self.ports.setdefault(m[1], int(m[2]))
        if not set(LABELS) <= self.ports.keys():
            self.stop()
            raise RuntimeError(f"the suite did not open every door: {list(self.tail)}")
        return port

    def _drain_output(self, fd: int) -> None:
        """Every line to the log file (the start-up lines first), bad lines noted."""
        with self.log_path.open("w", encoding="utf-8") as log:
            for line in list(self.tail):
                self._take(log, line)
            partial = b""
            while True:  # ends at EOF, when the server exits
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                *lines, partial = (partial + chunk).split(b"\n")
                for raw in lines:
                    self._take(log, raw.decode(errors="replace"))

    def _take(self, log: TextIO, line: str) -> None:
        log.write(line + "\n")
        self.lines += 1
        if any(bad in line for bad in BAD):
            self.bad_lines.append(line)

    def rss_mib(self) -> float:
        return rss_kib(self.pid) / 1024
