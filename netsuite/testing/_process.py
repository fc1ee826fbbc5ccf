"""
Real processes for the end-to-end tier: a C{twistd} under test, external clients, and
throw-away certificates on disk.

  - L{TwistdProcess}: start a real C{twistd -n <plugin>} in a subprocess, wait (on its
    log, never on the clock) until every listener is bound, talk to it, stop it with
    SIGTERM and get its exit status.
  - L{TLSFiles}: a throw-away CA and leaf certificates on disk, for TLS listeners.
  - L{require_tool}: find an external client (C{openssl}, C{nc}, C{curl} ...) or skip;
    with C{NETSUITE_REQUIRE_TOOLS=1} (set by CI) a missing tool fails the test instead.

C{NETSUITE_REACTOR} (C{epoll}, C{poll}, C{select}, C{asyncio} ...: a C{twistd --reactor}
name) runs every C{twistd} these helpers start under that reactor, so an operator can run
the whole end-to-end tier under another one; unset, twistd picks its default.
"""

from __future__ import annotations

import os
import queue
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from netsuite.tls._pki import Issued, create_ca, issue

__all__ = [
    "Listener",
    "TLSFiles",
    "TwistdProcess",
    "converse",
    "require_tool",
    "twistd_command",
]

#: What L{netsuite.twistd._service.ListenerService} logs once a listener is bound.
LISTENING = re.compile(
    r"(?P<label>\S+) listening on (?P<scheme>tcp|udp|tls|unix) (?P<address>\S+)$"
)


#: What L{netsuite.twistd._service.ServiceRoot} logs once the reactor runs (signals handled).
READY = re.compile(r"(?P<name>\S+) ready$")


class StartError(AssertionError):
    """The process exited, or did not report its listeners in time; carries its log."""


def require_tool(name: str) -> str:
    """
    The path of the external program C{name}, or skip the test when it is missing.

    CI sets C{NETSUITE_REQUIRE_TOOLS=1} so that a missing tool is a failure there: a
    green CI run has then really run every test.
    """
    path = shutil.which(name)
    if path is not None:
        return path
    message = f"{name} is not installed"
    if os.environ.get("NETSUITE_REQUIRE_TOOLS"):
        raise AssertionError(message + " (NETSUITE_REQUIRE_TOOLS is set)")
    import unittest

    raise unittest.SkipTest(message)


def converse(command: list[str], stdin: bytes, until: bytes, timeout: float = 20) -> bytes:
    """
    Run an interactive client: write C{stdin}, read its output until C{until} shows up
    (or C{timeout} passes), then end it. Returns everything it printed.
    """
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(stdin)
    process.stdin.flush()
    output = b""
    deadline = time.monotonic() + timeout
    try:
        while until not in output and (left := deadline - time.monotonic()) > 0:
            if select.select([process.stdout], [], [], left)[0]:
                chunk = os.read(process.stdout.fileno(), 65536)
                if not chunk:
                    break
                output += chunk
    finally:
        process.kill()
        process.wait()
        process.stdin.close()
        process.stdout.close()
    if until not in output:
        raise AssertionError(f"{until!r} never came from {command[0]}:\n{output.decode()}")
    return output


def reactor_from_environment() -> str | None:
    """The C{twistd --reactor} name in C{NETSUITE_REACTOR}, or L{None} (twistd's default)."""
    return os.environ.get("NETSUITE_REACTOR", "").strip() or None


def twistd_command(reactor: str | None = None) -> list[str]:
    """
    C{twistd} of the running interpreter's environment (the venv's, in tests), with
    C{--reactor} when C{reactor} or C{NETSUITE_REACTOR} names one: twistd takes it before
    the plugin's name, and installs it at once (a second C{--reactor} would fail).
    """
    beside = Path(sys.executable).with_name("twistd")
    if beside.exists():
        command = [str(beside)]
    else:
        command = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]
    chosen = reactor or reactor_from_environment()
    return command + (["--reactor", chosen] if chosen else [])


@dataclass(frozen=True)
class Listener:
    """One bound listener as the process logged it."""

    label: str
    scheme: str
    host: str
    port: int

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)


def _parse_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


@dataclass
class TwistdProcess:
    """
    A C{twistd -n} process running one plugin, read line by line from its log.

    It counts as started once it has logged C{expect} listeners and its "ready" line
    (the reactor runs, so SIGTERM is handled from then on).

    Use as a context manager, or call L{start} and L{stop}. C{listeners} maps each label
    (C{"echo/tcp"}) to the listeners logged under it, in order. C{reactor} is the
    C{twistd --reactor} name (L{None}: C{NETSUITE_REACTOR}, else twistd's default).
    """

    plugin: str
    args: Sequence[str] = ()
    expect: int = 1
    timeout: float = 20.0
    env: dict[str, str] | None = None
    twistd_args: Sequence[str] = ()
    listeners: dict[str, list[Listener]] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    raw_lines: list[str] = field(default_factory=list)
    process: subprocess.Popen[str] | None = None
    pass_fds: Sequence[int] = ()
    launcher: Sequence[str] = ()
    ready: bool = False
    reactor: str | None = None
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def start(self) -> TwistdProcess:
        """Start the process and return once C{expect} listeners are logged."""
        command = [
            *self.launcher,
            *twistd_command(self.reactor),
            "-n",
            "--pidfile=",
            "--logfile=-",
            *self.twistd_args,
            *([self.plugin] if self.plugin else []),
            *self.args,
        ]
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            pass_fds=tuple(self.pass_fds),
        )
        threading.Thread(target=self._pump, daemon=True).start()
        self.wait_for(lambda: self.ready and sum(map(len, self.listeners.values())) >= self.expect)
        return self

    def _pump(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def _take(self, line: str) -> None:
        self.raw_lines.append(line)
        if line.startswith("\x1e"):  # a JSON log (netsuite.base.logs.json_observer)
            from twisted.logger import eventFromJSON, formatEvent

            line = formatEvent(eventFromJSON(line[1:]))
        self.lines.append(line)
        if READY.search(line):
            self.ready = True
        m = LISTENING.search(line)
        if m:
            host, port = (
                _parse_address(m["address"])
                if m["scheme"] != "unix"
                else (
                    m["address"],
                    0,
                )
            )
            listener = Listener(m["label"], m["scheme"], host, port)
            self.listeners.setdefault(m["label"], []).append(listener)

    def wait_for(self, condition: Callable[[], object], timeout: float | None = None) -> None:
        """Read log lines until C{condition()} holds; fail with the log if it never does."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StartError(f"{self.plugin}: timed out waiting\n" + self.log())
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self._queue.put(None)
                raise StartError(
                    f"{self.plugin} exited with {self.process.wait() if self.process else '?'}\n"
                    + self.log()
                )
            self._take(line)

    def wait_for_line(
        self, pattern: str, timeout: float | None = None, since: int = 0
    ) -> re.Match[str]:
        """
        Wait for a log line matching the regular expression C{pattern} (looking at lines
        from number C{since} on, so at the whole log by default); return the match.
        """
        rx = re.compile(pattern)
        seen = since
        found: list[re.Match[str]] = []

        def matched() -> bool:
            nonlocal seen
            for line in self.lines[seen:]:
                m = rx.search(line)
                if m:
                    found.append(m)
                    return True
            seen = len(self.lines)
            return False

        self.wait_for(matched, timeout)
        return found[0]

    def address(self, label: str, index: int = 0) -> tuple[str, int]:
        """C{(host, port)} of the C{index}th listener logged under C{label}."""
        return self.listeners[label][index].address

    def log(self) -> str:
        """Everything the process logged so far (what has been read of it)."""
        return "\n".join(self.lines)

    def rss_bytes(self) -> int:
        """The process's resident memory now (Linux C{/proc})."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS in /proc status")

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, wait for the exit, drain the log; return the exit status."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        while True:
            try:
                line = self._queue.get(timeout=5)
            except queue.Empty:
                break
            if line is None:
                break
            self._take(line)
        return code

    def __enter__(self) -> TwistdProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class TLSFiles:
    """
    A throw-away CA and a server leaf in C{directory}: C{ca.pem}, C{server.pem},
    C{server.key}; L{leaf} issues more (client certificates for mutual TLS, other names).
    """

    directory: Path
    names: Sequence[str] = ("localhost", "127.0.0.1", "::1")
    ca: Issued = field(init=False)

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ca = create_ca("netsuite test CA")
        (self.directory / "ca.pem").write_bytes(self.ca.cert_pem)
        self.leaf("server", self.names)

    @property
    def ca_path(self) -> str:
        return str(self.directory / "ca.pem")

    @property
    def cert_path(self) -> str:
        return str(self.directory / "server.pem")

    @property
    def key_path(self) -> str:
        return str(self.directory / "server.key")

    def leaf(self, stem: str, names: Sequence[str]) -> tuple[str, str]:
        """Issue a leaf for C{names}; return the paths of C{stem}.pem and C{stem}.key."""
        issued = issue(self.ca, list(names))
        cert, key = self.directory / f"{stem}.pem", self.directory / f"{stem}.key"
        issued.write(cert, key)
        return str(cert), str(key)

    def nstls(self, port: int | str = 0, interface: str = "127.0.0.1", **extra: str) -> str:
        """An C{nstls:} description serving the server leaf."""
        iface = interface.replace(":", "\\:")
        parts = [
            f"nstls:{port}",
            f"interface={iface}",
            f"cert={self.cert_path}",
            f"key={self.key_path}",
        ]
        parts += [f"{k}={v}" for k, v in extra.items()]
        return ":".join(parts)
