"""
Process plumbing shared by the bench scripts: start a server, learn its port, read its
CPU time and memory from /proc, stop it.

Why a module: echo.py and slow_reader.py both start servers that announce their port on
stdout, and both must keep draining that pipe afterwards (twistd -n logs every
connection there; a full pipe would block the server and skew the measurement).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
LOADGEN_SRC = BENCH / "loadgen.c"
LOADGEN = OUT / "loadgen"
#: The plumbing every load generator links with (sockets, epoll, window, pattern).
GENLIB_SRC = BENCH / "genlib.c"

# "... echo/tcp listening on tcp 127.0.0.1:37053" (netsuite.twistd._service.ListenerService)
TWISTD_PORT = re.compile(rb"echo/tcp listening on tcp 127\.0\.0\.1:(\d+)")
# The peers print nothing but their port number.
BARE_PORT = re.compile(rb"^(\d+)\s*$", re.MULTILINE)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def twistd_command() -> list[str]:
    """The twistd next to this interpreter (the venv's), so the installed netsuite runs."""
    sibling = Path(sys.executable).with_name("twistd")
    if sibling.exists():
        return [str(sibling)]
    found = shutil.which("twistd")
    if found:
        return [found]
    return [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]


#: The reactor every driver runs netsuite under (its --reactor option's default):
#: netsuite's own (docs/reactors.md). "netsuite-epoll" rows run it on Twisted's stock
#: epoll reactor instead, so the reactor's gain shows in the same run.
DEFAULT_REACTOR = "netsuite"
STOCK_ROW = {"netsuite-epoll": "epoll"}


def with_reactor(argv: list[str], reactor: str, at: int | None = None) -> list[str]:
    """
    C{argv} (a twistd command line) with C{--reactor REACTOR}: a twistd option, so after
    the twistd command (C{at} words; default: this machine's twistd command) and before
    the plugin's name. An empty C{reactor} leaves twistd's.
    """
    if not reactor:
        return list(argv)
    at = len(twistd_command()) if at is None else at
    return [*argv[:at], "--reactor", reactor, *argv[at:]]


def reactor_rows(servers: Sequence[str], reactor: str) -> dict[str, str]:
    """For the JSON and the table: which reactor each netsuite row ran under."""
    chosen = {name: STOCK_ROW[name] for name in servers if name in STOCK_ROW}
    if "netsuite" in servers:
        chosen["netsuite"] = reactor or "twistd default"
    return chosen


def print_reactors(servers: Sequence[str], reactor: str) -> None:
    """The table's line saying which reactor each netsuite row ran under."""
    chosen = reactor_rows(servers, reactor)
    if chosen:
        print("reactors: " + ", ".join(f"{name} on {r}" for name, r in chosen.items()))


def reactor_gain(
    mine: Mapping[str, float], stock: Mapping[str, float], rate: str, cpu: str
) -> str:
    """
    One line: netsuite under its reactor over netsuite on the stock epoll reactor, in
    throughput (C{rate}) and in server CPU per operation (C{cpu}; stock over ours, so
    above 1 means the netsuite reactor is cheaper). Same run, so a fair comparison.
    """
    return (
        f"netsuite / netsuite-epoll: {rate} {mine[rate] / stock[rate]:.3f}x,"
        f" CPU per operation {mine[cpu]:.2f} vs {stock[cpu]:.2f} us"
        f" ({stock[cpu] / mine[cpu]:.3f}x cheaper)"
    )


def add_reactor_option(parser: argparse.ArgumentParser) -> None:
    """The drivers' C{--reactor}: one default and one help text for all of them."""
    parser.add_argument(
        "--reactor",
        default=DEFAULT_REACTOR,
        help=f"twistd --reactor for the netsuite server (default {DEFAULT_REACTOR!r};"
        " epoll, poll, select, asyncio; '' for twistd's default); the netsuite-epoll"
        " server is netsuite on Twisted's epoll reactor whatever this says",
    )


def uvloop_importable(python: str = sys.executable) -> bool:
    """Whether the uvloop peers can run: the peers run under C{python}."""
    probe = [python, "-c", "import uvloop"]
    return subprocess.run(probe, capture_output=True).returncode == 0


def drop_missing_uvloop(servers: list[str], asked: bool, driver: str) -> list[str]:
    """
    C{servers} without "uvloop" when it is not importable: a line saying so when it was
    only in the default set, an error when it was asked for by name (never silently).
    """
    if "uvloop" not in servers or uvloop_importable():
        return servers
    if asked:
        sys.exit(f"{driver}: uvloop asked for but not importable by {sys.executable}")
    print(f"{driver}: uvloop skipped: not importable by {sys.executable}", flush=True)
    return [s for s in servers if s != "uvloop"]


def netsuite_echo_command() -> list[str]:
    """netsuite-echo with every default (limits, idle timeout) and an ephemeral port."""
    return [
        *twistd_command(),
        "-n",
        "--pidfile=",
        "netsuite-echo",
        "--listen",
        "tcp:0:interface=127.0.0.1",
    ]


def gen_command(source: Path, binary: Path, libs: tuple[str, ...] = ()) -> list[str]:
    """The gcc command building a load generator: its source, genlib.c, then C{libs}."""
    return ["gcc", "-O2", "-Wall", "-I", str(BENCH), "-o", str(binary), str(source),
            str(GENLIB_SRC), *libs]  # fmt: skip


def build_c(source: Path, binary: Path, libs: tuple[str, ...] = ()) -> Path:
    """Compile C{source} with genlib.c now, so the binary always matches the sources."""
    OUT.mkdir(parents=True, exist_ok=True)
    subprocess.run(gen_command(source, binary, libs), check=True)
    return binary


def build_loadgen() -> Path:
    """Compile loadgen.c now, so the binary always matches the source next to it."""
    return build_c(LOADGEN_SRC, LOADGEN)


def cpu_seconds(pid: int) -> float:
    """utime + stime of C{pid} from /proc/PID/stat, in seconds (tick resolution)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    # comm (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat[stat.rindex(b")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / CLOCK_TICKS


def tree_pids(pid: int) -> list[int]:
    """C{pid} and its descendants (nginx: master and worker), from /proc children lists."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", "rb") as f:
                    todo += [int(p) for p in f.read().split()]
        except OSError:
            continue  # exited meanwhile
    return found


def tree_cpu_seconds(pid: int) -> tuple[float, float]:
    """
    (user, system) CPU seconds of C{pid} and its descendants: a server's CPU, however
    many processes. Apart, because for a small response the kernel's share (send and
    the loopback delivery it runs) is a large part of the cost.
    """
    user = system = 0.0
    for p in tree_pids(pid):
        with contextlib.suppress(OSError, ValueError):  # exited meanwhile
            with open(f"/proc/{p}/stat", "rb") as f:
                stat = f.read()
            fields = stat[stat.rindex(b")") + 2 :].split()  # comm may hold spaces
            user += int(fields[11]) / CLOCK_TICKS  # utime, field 14 of proc(5)
            system += int(fields[12]) / CLOCK_TICKS  # stime, field 15
    return user, system


def machine_cpu_seconds() -> tuple[float, float]:
    """
    (busy, softirq) CPU-seconds of all CPUs since boot, from /proc/stat.

    Why softirq apart: on loopback the kernel's receive work runs as softirq, which
    (with IRQ time accounting) is charged to no process, so it is part of a server's
    cost that /proc/PID/stat does not show.
    """
    with open("/proc/stat", "rb") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle, iowait, softirq = fields[3], fields[4], fields[6]
    total = sum(fields[:8])  # guest time is already counted in user
    return (total - idle - iowait) / CLOCK_TICKS, softirq / CLOCK_TICKS


def rss_kib(pid: int) -> int:
    """VmRSS of C{pid} in KiB, from /proc/PID/status."""
    with open(f"/proc/{pid}/status", "rb") as f:
        for line in f:
            if line.startswith(b"VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


class Server:
    """
    A server process that announces its port on stdout.

    Its output is read with a deadline (no sleeps) until the port shows, then drained by
    a thread for the rest of its life; the last lines are kept for error messages.
    """

    def __init__(self, name: str, argv: list[str], port_pattern: re.Pattern[bytes]) -> None:
        self.name = name
        self.argv = argv
        self.port_pattern = port_pattern
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.tail: collections.deque[str] = collections.deque(maxlen=40)
        self._drain: threading.Thread | None = None

    @property
    def pid(self) -> int:
        """The server's process id (the twistd process itself: -n does not fork)."""
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 20.0) -> int:
        """Start the process and return its port once it says it is listening."""
        OUT.mkdir(parents=True, exist_ok=True)
        # cwd=OUT: twistd puts the cwd on sys.path; keep the source tree (edited by others)
        # off it, so the installed netsuite is what runs.
        self.proc = subprocess.Popen(
            self.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=OUT,
        )
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        seen = b""
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.stop()
                    raise RuntimeError(f"{self.name}: no port within {timeout}s:\n{seen!r}")
                if not sel.select(left):
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    self.stop()
                    raise RuntimeError(f"{self.name} exited before listening:\n{seen.decode()}")
                seen += chunk
                match = self.port_pattern.search(seen)
                if match:
                    self.port = int(match.group(1))
                    break
        self.tail.extend(seen.decode(errors="replace").splitlines())
        self._drain = threading.Thread(target=self._drain_output, args=(fd,), daemon=True)
        self._drain.start()
        return self.port

    def _drain_output(self, fd: int) -> None:
        """Read the server's output until it exits, keeping only the last lines."""
        partial = b""
        while True:  # ends at EOF, when the server exits
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            *lines, partial = (partial + chunk).split(b"\n")
            self.tail.extend(line.decode(errors="replace") for line in lines)

    def alive(self) -> bool:
        """Whether the server process is still running."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after C{timeout} seconds; return the exit status."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if self._drain is not None:
            self._drain.join(timeout)
        for pipe in (proc.stdout, proc.stdin):
            if pipe is not None:
                pipe.close()
        return proc.returncode


def run_windowed(
    argv: list[str],
    server_pid: int | Sequence[int],
    timeout: float,
    pin_cpu: int | None = None,
    others: Mapping[str, int] | None = None,
) -> tuple[dict[str, Any] | None, int | None]:
    """
    Run a load generator that prints C{{"event":"measuring"}} when its window starts,
    optionally C{{"event":"window_end"}} when it ends, and one JSON result last; return
    (result, exit status).

    Why here: the server's CPU (/proc) and the machine's busy and softirq time must be
    sampled at the instants the generator's own window starts and ends, so every CPU
    figure covers the same seconds. Adds C{server_cpu_s}, C{machine_busy_s},
    C{softirq_s} to the result. Bounded by C{timeout} (the generator is then killed).
    Several server pids (one hub in several processes) are summed; each of C{others}
    (a helper such as redis-server) is sampled alike and added as C{<name>_cpu_s}.
    """
    pids = [server_pid] if isinstance(server_pid, int) else list(server_pid)
    extra = dict(others or {})
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    if pin_cpu is not None:
        os.sched_setaffinity(proc.pid, {pin_cpu})
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    buffered = b""
    start: tuple[float, ...] | None = None
    end: tuple[float, ...] | None = None
    result: dict[str, Any] | None = None

    def sample() -> tuple[float, ...]:
        server = sum(cpu_seconds(pid) for pid in pids)
        return (server, *machine_cpu_seconds(), *(cpu_seconds(p) for p in extra.values()))

    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while result is None:  # bounded by the deadline and by the generator's EOF
            left = deadline - time.monotonic()
            if left <= 0:
                proc.kill()
                break
            if not sel.select(left):
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            *lines, buffered = (buffered + chunk).split(b"\n")
            for line in lines:
                message = json.loads(line)
                event = message.get("event")
                if event == "measuring":
                    start = sample()
                elif event == "window_end":
                    end = sample()
                elif event is None:
                    end = end or sample()
                    result = message
    proc.wait(10)
    proc.stdout.close()
    if result is not None:
        begun = start or end
        assert begun is not None and end is not None
        result["server_cpu_s"] = end[0] - begun[0]
        result["machine_busy_s"] = end[1] - begun[1]
        result["softirq_s"] = end[2] - begun[2]
        for k, name in enumerate(extra, start=3):
            result[f"{name}_cpu_s"] = end[k] - begun[k]
    return result, proc.returncode


def window_options(
    p: argparse.ArgumentParser, duration: float, warmup: float, what: str = "servers"
) -> None:
    """The options every driver has: the measured window, its warm-up, the rounds."""
    p.add_argument("--duration", type=float, default=duration, help="seconds measured per run")
    p.add_argument("--warmup", type=float, default=warmup, help="seconds before measuring")
    p.add_argument("--rounds", type=int, default=3, help=f"rounds ({what} alternate)")


def rotations(names: Sequence[str], rounds: int) -> Iterator[tuple[int, list[str]]]:
    """(round, order) for each round: the order shifts by one a round, so no server
    always runs first (or right after a given other) on a machine that drifts."""
    for rnd in range(rounds):
        shift = rnd % len(names)
        yield rnd, [*names[shift:], *names[:shift]]


def free_port() -> int:
    """A port free now on 127.0.0.1, for a peer that cannot listen on port 0 and tell."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PolledServer(Server):
    """
    A peer that prints nothing when it is ready (nginx, ncat): started on a port picked
    here (L{command} builds its argv for that port), ready once it accepts a connection.
    A port taken between the pick and the bind is picked again (3 tries).
    """

    #: Give the peer a pipe for stdin, kept open while it runs (ncat --broker, at EOF on
    #: its stdin, stops relaying to some of the clients that connect later).
    open_stdin = False

    def __init__(self, name: str, cwd: Path = OUT) -> None:
        super().__init__(name, [], BARE_PORT)
        self.cwd = cwd

    def command(self, port: int) -> list[str]:
        """The argv that listens on C{port} (write any config it needs here)."""
        raise NotImplementedError

    def failure(self) -> str:
        """What the peer said when it did not start (its log)."""
        return "\n".join(self.tail)

    def start(self, timeout: float = 20.0) -> int:
        for attempt in range(3):
            self.port = free_port()
            self.argv = self.command(self.port)
            self.proc = subprocess.Popen(
                self.argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.PIPE if self.open_stdin else subprocess.DEVNULL,
                cwd=self.cwd,
            )
            assert self.proc.stdout is not None
            fd = self.proc.stdout.fileno()
            self._drain = threading.Thread(target=self._drain_output, args=(fd,), daemon=True)
            self._drain.start()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                except OSError:
                    time.sleep(0.05)  # polling a connect: the peer prints nothing when ready
                    continue
                return self.port
            self.stop()
            said = self.failure()
            if "Address already in use" not in said or attempt == 2:
                raise RuntimeError(f"{self.name} did not start:\n{said}")
        raise AssertionError("unreachable")
