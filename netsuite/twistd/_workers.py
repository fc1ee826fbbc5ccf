"""
C{--workers N}: one parent holds every listening socket, N worker processes serve them.

Why this shape: echo, UDP and static web keep no state between connections, so more
processes on the same sockets serve more, and a crash costs one worker, not the service.
The parent binds each listen description once, through the same endpoints a single
process uses (so C{:0}, ports below 1024, C{nstls:} and C{systemd:} all behave as they do
there), stops reading from it, and hands the descriptors to each worker with
C{childFDs}. A worker is the same plugin with the same arguments; it finds the
descriptors in C{NETSUITE_WORKER_FDS} and adopts them with Twisted's public
C{adoptStreamPort} / C{adoptDatagramPort} (L{inherited_endpoint}) instead of binding.
The kernel then wakes the workers on the one shared socket and one of them accepts each
connection; no C{SO_REUSEPORT}: a socket per worker would queue connections for a dead
worker until its replacement runs, where a shared one lets the living workers take them.

This module is the worker's side (the environment, L{inherited_endpoint}) and the
supervisor (L{WorkerSupervisor}, L{Backoff}), which knows nothing of sockets: it starts
processes through an injected C{spawn} on an injected clock. The parent's services (the
shared sockets, the stats directory, C{supervise}) are in
L{netsuite.twistd._workers_service}.

The supervisor restarts a worker that exits, after a delay that doubles with each
failure in a row and is capped (L{Backoff}); it logs each exit and restart, and relays
each worker's log lines, prefixed with the worker's number and pid. On drain it sends
SIGTERM to every worker, waits for them (each drains its own connections, bounded by its
C{--drain-timeout}) and fires; a worker still running after the timeout gets SIGKILL, as
does every worker on L{WorkerSupervisor.abort} (a second SIGINT).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from twisted.internet import defer, error, protocol
from twisted.internet.endpoints import AdoptedStreamServerEndpoint
from twisted.logger import Logger
from twisted.python.failure import Failure

from netsuite.twistd._endpoints import AdoptedDatagramEndpoint

__all__ = [
    "COUNT_ENV",
    "FDS_ENV",
    "STATS_ENV",
    "WORKER_ENV",
    "Backoff",
    "WorkerSupervisor",
    "inherited_endpoint",
    "listen_key",
    "worker_environ",
    "worker_index",
]

#: Set in a worker's environment: its number (0 .. N-1). A worker never supervises.
WORKER_ENV = "NETSUITE_WORKER"
#: Set in a worker's environment: how many workers the parent runs.
COUNT_ENV = "NETSUITE_WORKERS"
#: Set in a worker's environment: the inherited descriptors, as JSON
#: C{{key: [[fd, family], ...]}}, C{key} from L{listen_key}, in the order of that
#: option's descriptions.
FDS_ENV = "NETSUITE_WORKER_FDS"
#: Set in a worker's environment: the directory the parent made for the workers' stats
#: files (L{netsuite.web._worker_stats}).
STATS_ENV = "NETSUITE_WORKER_STATS"

#: What a worker must not inherit: systemd's sockets are the parent's (it hands them on
#: in L{FDS_ENV}), and only the parent tells systemd it is ready or stopping.
PARENT_ONLY = ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "NOTIFY_SOCKET")


def worker_index(environ: Mapping[str, str] | None = None) -> int | None:
    """This process's worker number, or L{None} when it is no worker."""
    value = (os.environ if environ is None else environ).get(WORKER_ENV)
    return None if value is None else int(value)


def worker_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment every worker starts with: the parent's, less L{PARENT_ONLY}."""
    return {k: v for k, v in environ.items() if k not in PARENT_ONLY}


def listen_key(section: str | None, option: str) -> str:
    """
    Which sockets a listen option's descriptions are in L{FDS_ENV}: C{"echo:listen"},
    C{"chat:irc-listen"}. The service's name keeps the suite's three C{listen}s apart.
    """
    return f"{section or 'service'}:{option}"


# --- the worker's side ------------------------------------------------------------


def inherited_endpoint(
    reactor: Any,
    key: str,
    index: int,
    endpoint: Any,
    datagram: bool,
    environ: Mapping[str, str] | None = None,
) -> Any:
    """
    In a worker, the endpoint that adopts the socket the parent bound for the C{index}th
    description under C{key} (L{listen_key}), keeping what the description's own endpoint
    adds (the C{nstls:} and C{dtls:} handshakes and certificates, the UDP packet size),
    or L{None} when the parent gave that socket to another worker (a C{dtls:} one: its
    sessions live in one process); elsewhere C{endpoint} itself. C{endpoint} is L{None}
    for a description a worker must not parse (C{systemd:}: the sockets are the parent's).
    """
    environ = os.environ if environ is None else environ
    if FDS_ENV not in environ:
        return endpoint
    fileno, family, only = json.loads(environ[FDS_ENV])[key][index]
    if only is not None and only != worker_index(environ):
        os.close(fileno)  # not ours: the worker that serves it keeps the socket open
        return None
    family = socket.AddressFamily(family)
    if datagram:
        size = getattr(endpoint, "max_packet_size", None)
        extra = {} if size is None else {"max_packet_size": size}
        udp = AdoptedDatagramEndpoint(reactor, fileno, family, **extra)
        return udp if not hasattr(endpoint, "wrap") else AdoptedDTLSEndpoint(endpoint, udp)
    adopted = AdoptedStreamServerEndpoint(reactor, fileno, family)
    if hasattr(endpoint, "tls"):  # nstls: (TLSServerEndpoint): its TCP part is adopted
        endpoint._tcp = adopted
        return endpoint
    return adopted


class AdoptedDTLSEndpoint:
    """
    A C{dtls:} endpoint (L{netsuite.tls._dtls_endpoint.DTLSServerEndpoint}) on an
    inherited UDP socket: its own protocol (L{wrap}) and reloads, the parent's socket.
    Everything else (certificates, notes, the CA to trust) is the DTLS endpoint's.
    """

    def __init__(self, dtls: Any, udp: AdoptedDatagramEndpoint) -> None:
        self.dtls = dtls
        self.udp = udp

    def listen(self, protocol: Any) -> defer.Deferred[Any]:
        from netsuite.base._reactor import GlobalReactor

        server = self.dtls.wrap(protocol)
        self.dtls.protocols.append(server)
        clock = GlobalReactor.of(self.dtls.reactor)
        return self.udp.listen(server).addCallback(
            lambda port: self.dtls.tls.watch(port, clock, self.dtls.reload_interval)
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.dtls, name)


#: The time at the start of a worker's text log line (twistd's format).
_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d{4}|Z)? ")


# --- restarts -----------------------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    """
    How long to wait before restarting a worker that exited: C{initial} seconds after
    the first exit, doubling with each exit in a row, at most C{cap}. A worker that ran
    C{stable} seconds or more was healthy: its next exit counts as the first again.
    """

    initial: float = 1.0
    cap: float = 30.0
    stable: float = 30.0

    def delay(self, failures: int) -> float:
        """The wait after the C{failures}th exit in a row (1: the first)."""
        return min(self.cap, self.initial * 2 ** max(0, failures - 1))


@dataclass
class _Worker:
    index: int
    transport: Any = None
    pid: int | None = None  # kept after the exit (the transport's becomes None)
    started: float = 0.0
    failures: int = 0
    restart: Any = None  # the pending restart's DelayedCall


class _WorkerProtocol(protocol.ProcessProtocol):
    """Relays a worker's output to the parent's log and tells the supervisor it ended."""

    def __init__(self, supervisor: WorkerSupervisor, index: int) -> None:
        self.supervisor = supervisor
        self.index = index
        self._partial = {1: b"", 2: b""}

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        *lines, self._partial[childFD] = (self._partial.get(childFD, b"") + data).split(b"\n")
        for line in lines:
            self.supervisor.relay(self.index, line.decode("utf-8", "replace").rstrip("\r"))

    def processEnded(self, reason: Failure) -> None:
        for rest in self._partial.values():
            if rest:
                self.supervisor.relay(self.index, rest.decode("utf-8", "replace"))
        self.supervisor.ended(self.index, reason)


def _describe_end(reason: Failure) -> str:
    value = reason.value
    code = getattr(value, "exitCode", None)
    signal_number = getattr(value, "signal", None)
    if signal_number is not None:
        return f"was killed by signal {signal_number}"
    if isinstance(value, error.ProcessDone) or code == 0:
        return "exited with status 0"
    return f"exited with status {code}"


@dataclass
class WorkerSupervisor:
    """
    Starts C{count} workers with C{command} and keeps them running; L{drain} stops them.

    @ivar spawn: C{reactor.spawnProcess}'s shape (tests pass a fake that returns fake
        process transports).
    @ivar child_fds: the descriptors every worker gets (C{childFDs}).
    @ivar environ: every worker's environment; each also gets L{WORKER_ENV}.
    """

    clock: Any
    spawn: Callable[..., Any]
    command: Sequence[str]
    count: int
    child_fds: Mapping[int, Any] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict)
    backoff: Backoff = field(default_factory=Backoff)
    name: str = "netsuite"
    log = Logger()

    def __post_init__(self) -> None:
        self.workers = [_Worker(i) for i in range(self.count)]
        self.stopping = False
        self._drained: defer.Deferred[None] | None = None
        self._kill_later: Any = None

    def start(self) -> None:
        """Start every worker."""
        for worker in self.workers:
            self._start(worker)

    def running(self) -> list[int]:
        """The numbers of the workers running now."""
        return [w.index for w in self.workers if w.transport is not None]

    def _start(self, worker: _Worker) -> None:
        worker.restart = None
        env = {**self.environ, WORKER_ENV: str(worker.index)}
        fds = {0: "w", 1: "r", 2: "r", **self.child_fds}
        worker.transport = self.spawn(
            _WorkerProtocol(self, worker.index), self.command[0], list(self.command),
            env=env, childFDs=fds,
        )  # fmt: skip
        worker.pid = worker.transport.pid
        worker.started = self.clock.seconds()
        self.log.info(
            "{name}: worker {index} started (pid {pid})",
            name=self.name, index=worker.index, pid=worker.transport.pid,
        )  # fmt: skip

    def relay(self, index: int, line: str) -> None:
        """One line a worker logged, into the parent's log."""
        pid = self.workers[index].pid
        line = _STAMP.sub("", line, count=1)  # the parent's own event has the time
        self.log.info("worker {index} (pid {pid}): {line}", index=index, pid=pid, line=line)

    def ended(self, index: int, reason: Failure) -> None:
        """Worker C{index} exited: restart it after the backoff, unless stopping."""
        worker = self.workers[index]
        pid = worker.pid
        worker.transport = None
        how = _describe_end(reason)
        if self.stopping:
            self.log.info(
                "{name}: worker {index} (pid {pid}) {how}", name=self.name, index=index,
                pid=pid, how=how,
            )  # fmt: skip
            if not self.running() and self._drained is not None:
                self._finish()
            return
        ran = self.clock.seconds() - worker.started
        worker.failures = 1 if ran >= self.backoff.stable else worker.failures + 1
        delay = self.backoff.delay(worker.failures)
        self.log.warn(
            "{name}: worker {index} (pid {pid}) {how} after {ran:.1f}s; "
            "restarting it in {delay:g}s ({failures} exit(s) in a row)",
            name=self.name, index=index, pid=pid, how=how, ran=ran, delay=delay,
            failures=worker.failures,
        )  # fmt: skip
        worker.restart = self.clock.callLater(delay, self._start, worker)

    # --- the drain (Drainable) ---

    def drain(self, timeout: float) -> defer.Deferred[None]:
        """
        SIGTERM to every worker (each drains its own connections); fires once all have
        exited. A restart still pending is cancelled; SIGKILL after C{timeout} seconds.
        """
        if self._drained is not None:
            return self._drained
        self.stopping = True
        self._drained = defer.Deferred()
        for worker in self.workers:
            if worker.restart is not None and worker.restart.active():
                worker.restart.cancel()
            worker.restart = None
        self.signal("TERM")
        if not self.running():
            self._finish()
        else:
            self._kill_later = self.clock.callLater(timeout, self._overdue)
        return self._drained

    def _overdue(self) -> None:
        self._kill_later = None
        self.log.warn(
            "{name}: workers {running} still running after the drain timeout; SIGKILL",
            name=self.name, running=self.running(),
        )  # fmt: skip
        self.abort()

    def abort(self) -> None:
        """SIGKILL every worker still running."""
        self.signal("KILL")

    def signal(self, name: str) -> None:
        """Send signal C{name} (C{"TERM"}, C{"HUP"}) to every worker running."""
        for worker in self.workers:
            if worker.transport is not None:
                with contextlib.suppress(error.ProcessExitedAlready):  # it is ending
                    worker.transport.signalProcess(name)

    def _finish(self) -> None:
        if self._kill_later is not None and self._kill_later.active():
            self._kill_later.cancel()
        self._kill_later = None
        assert self._drained is not None
        done, self._drained = self._drained, defer.succeed(None)
        self.log.info("{name}: every worker has exited", name=self.name)
        done.callback(None)
