"""
The parent of C{--workers N}: the shared sockets, the stats directory, the supervisor.

A tap's C{makeService} starts with L{supervise} (through L{supervised}): when the
options ask for more than one worker and this process is no worker, the tap's service is
not built here at all. The parent binds each listen description (L{SharedSocket}),
stops reading it, makes a directory for the workers' stats files (L{STATS_ENV}) and
starts the workers (L{netsuite.twistd._workers.WorkerSupervisor}) with the same plugin
and arguments. A worker builds the tap's service as a single process would, adopting
the parent's sockets (L{netsuite.twistd._workers.inherited_endpoint}).

Shutdown is the parent's L{ServiceRoot} drain: its copies of the sockets close first
(the workers' stay open until each worker closes them), then the supervisor's drain
sends SIGTERM to every worker and waits for them to exit, bounded by the services'
C{--drain-timeout} plus L{DRAIN_GRACE}; the parent then removes the stats directory and
exits 0. SIGHUP (reload the certificates) is forwarded to every worker.

Refused at start, with the reason: C{ssl:} and C{tls:} descriptions (Twisted's TLS
endpoints keep their context where an adopted socket cannot reach it; C{nstls:} works).
A C{dtls:} socket is served by worker 0 alone: DTLS sessions are per process, and a
datagram of a session reaching another worker would find no session.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ParamSpec, TypeVar

from twisted.internet import defer, protocol

from netsuite.base._reactor import GlobalReactor
from netsuite.twistd._endpoints import is_tls
from netsuite.twistd._service import Drainable, ListenerService, ServiceRoot
from netsuite.twistd._workers import (
    COUNT_ENV,
    FDS_ENV,
    STATS_ENV,
    WorkerSupervisor,
    listen_key,
    worker_environ,
    worker_index,
)

__all__ = [
    "DRAIN_GRACE",
    "SharedSocket",
    "WorkersService",
    "supervise",
    "supervised",
    "worker_command",
]

#: Seconds the parent waits, beyond the workers' own drain timeout, before SIGKILL.
DRAIN_GRACE = 5.0

P = ParamSpec("P")
R = TypeVar("R")


class _Unused(protocol.Factory):
    """The parent's sockets never accept (it stops reading them): nothing is built."""

    noisy = False  # the listening line says it all

    def buildProtocol(self, addr: Any) -> None:
        return None


class _UnusedDatagram(protocol.DatagramProtocol):
    """The parent's datagram sockets: never read."""

    noisy = False


class SharedSocket(ListenerService):
    """
    A listener the parent binds and then stops reading: the workers serve it. Binding
    through the description's own endpoint logs the address as a single process would.

    @ivar key: the listen option it belongs to (L{listen_key}).
    @ivar only: the one worker that serves it (a C{dtls:} socket), or L{None}: all.
    """

    def __init__(self, key: str, label: str, description: str, endpoint: Any,
                 datagram: bool, only: int | None = None) -> None:  # fmt: skip
        target = _UnusedDatagram() if datagram else _Unused()
        super().__init__(label, description, endpoint, target)
        self.key = key
        self.only = only

    def _listening(self, port: Any) -> None:
        port.stopReading()  # the workers read; the parent only holds the socket
        super()._listening(port)

    def inherited(self) -> tuple[int, int, int | None]:
        """C{(fd, family, only)} of the bound socket, for the workers (L{FDS_ENV})."""
        assert self.port is not None, "bound in privilegedStartService"
        port: Any = self.port
        fileno: int = port.fileno()
        return fileno, _family(fileno), self.only


def _family(fileno: int) -> int:
    probe = socket.socket(fileno=fileno)
    try:
        return int(probe.family)
    finally:
        probe.detach()


class WorkersService(ServiceRoot):
    """
    The parent of C{--workers N}: its shared sockets (L{SharedSocket}) and the
    L{WorkerSupervisor}; its drain is the workers' drain.

    @ivar stats_dir: the directory the workers write their stats files in (made at start,
        removed once every worker has exited).
    """

    supervisor: WorkerSupervisor
    stats_dir: str | None = None

    def drain_targets(self) -> list[Drainable]:
        return [self.supervisor]

    def startService(self) -> None:
        super().startService()
        fds: dict[str, list[tuple[int, int, int | None]]] = {}
        for shared in self:
            if isinstance(shared, SharedSocket):
                fds.setdefault(shared.key, []).append(shared.inherited())
        self.stats_dir = tempfile.mkdtemp(prefix="netsuite-workers-")
        supervisor = self.supervisor
        supervisor.child_fds = {fd: fd for entries in fds.values() for fd, _, _ in entries}
        supervisor.environ = {
            **supervisor.environ,
            FDS_ENV: json.dumps(fds),
            STATS_ENV: self.stats_dir,
            COUNT_ENV: str(supervisor.count),
        }
        if hasattr(self.reactor, "callFromThread"):  # a real reactor: SIGHUP is ours
            signal.signal(signal.SIGHUP, self._on_sighup)
        self.reactor.callWhenRunning(supervisor.start)

    def _on_sighup(self, number: int, frame: Any) -> None:
        self.reactor.callFromThread(self._forward_sighup)

    def _forward_sighup(self) -> None:
        self.log.info("{name}: SIGHUP: forwarded to every worker", name=self.name)
        self.supervisor.signal("HUP")

    def shutdown(self) -> defer.Deferred[Any]:
        first = self._shutdown is None
        done = super().shutdown()
        if first:
            done.addBoth(self._remove_stats_dir)
        return done

    def _remove_stats_dir(self, result: Any) -> Any:
        if self.stats_dir is not None:
            shutil.rmtree(self.stats_dir, ignore_errors=True)
        return result


#: The doors' own labels of their plain and TLS stream listeners, where not tcp/tls.
_STREAM_KINDS = {
    ("chat", "listen"): ("line", "line-tls"),
    ("chat", "irc-listen"): ("irc", "irc-tls"),
    ("web", "listen"): ("http", "https"),
}


def _label(section: str, option: str, description: str, endpoint: Any, datagram: bool) -> str:
    """The label the door itself logs (C{echo/tcp}, C{chat/irc-tls}, C{web/http})."""
    if datagram:
        kind = "dtls" if description.startswith("dtls:") else "udp"
    else:
        plain, tls = _STREAM_KINDS.get((section, option), ("tcp", "tls"))
        kind = tls if is_tls(description, endpoint) else plain
    return f"{section}/{kind}"


def _reactor_name(reactor: Any) -> str | None:
    """twistd's C{--reactor} name of C{reactor}, so the workers run the same one."""
    from twisted.application.reactors import getReactorTypes

    module = type(reactor).__module__
    for kind in getReactorTypes():
        if getattr(kind, "moduleName", None) == module:
            return str(kind.shortName)
    return None


def worker_command(plugin: str, arguments: Sequence[str], reactor: Any) -> list[str]:
    """
    How a worker is started: twistd in the foreground, logging to its stdout (which the
    parent relays), no pid file (the parent's is the service's), the same reactor, the
    same plugin and arguments.
    """
    name = _reactor_name(reactor)
    return [
        sys.executable, "-m", "netsuite.twistd._worker", "--nodaemon", "--pidfile=",
        "--logfile=-", *(["--reactor", name] if name else []), plugin, *arguments,
    ]  # fmt: skip


def _listens(options: Any) -> Iterable[tuple[str, str, list[tuple[str, Any, bool]]]]:
    """C{(section, option, endpoints)} of every listen option of a service's options."""
    section = options.config_section or "service"
    yield section, "listen", options["endpoints"]
    for name in options.extra_listens:
        yield section, name, options["endpoints:" + name]


def supervise(
    plugin: str,
    count: int,
    services: Sequence[Any],
    arguments: Sequence[str],
    reactor: Any,
    drain_timeout: float,
    environ: dict[str, str] | None = None,
) -> WorkersService | None:
    """
    The C{--workers} parent of C{plugin} when C{count} > 1 and this process is no
    worker, else L{None}. C{services} are the parsed options (a
    L{netsuite.twistd._options.ServiceOptions} each: one, or the suite's) whose
    listeners the parent binds; C{arguments} what the workers are started with.
    """
    environ = dict(os.environ) if environ is None else environ
    if count <= 1 or worker_index(environ) is not None:
        return None
    reactor = GlobalReactor.of(reactor)
    top = WorkersService(plugin, reactor)
    top.drain_timeout = drain_timeout + DRAIN_GRACE
    for options in services:
        for section, option, endpoints in _listens(options):
            for description, endpoint, datagram in endpoints:
                if description.startswith(("ssl:", "tls:")):
                    raise SystemExit(
                        f"{plugin}: --workers {count}: {description!r}: a worker cannot "
                        "adopt Twisted's ssl:/tls: listeners; use nstls: (the same "
                        "certificates, hardened)"
                    )
                only = 0 if description.startswith("dtls:") else None
                label = _label(section, option, description, endpoint, datagram)
                key = listen_key(section, option)
                shared = SharedSocket(key, label, description, endpoint, datagram, only)
                shared.setServiceParent(top)
    top.supervisor = WorkerSupervisor(
        clock=reactor,
        spawn=lambda *args, **kwargs: reactor.spawnProcess(*args, **kwargs),  # when started
        command=worker_command(plugin, arguments, reactor),
        count=count,
        environ=worker_environ(environ),
        name=plugin,
    )
    return top


def supervised(plugin: str) -> Callable[[Callable[P, R]], Callable[P, R | WorkersService]]:
    """
    Decorate a tap's C{makeService(options, ...)}: with C{--workers N} (N > 1) in the
    parent, it returns the parent (L{supervise}) instead of building the service; in a
    worker, or with one worker, the service as before.
    """

    def decorate(make: Callable[P, R]) -> Callable[P, R | WorkersService]:
        @functools.wraps(make)
        def makeService(*args: P.args, **kwargs: P.kwargs) -> R | WorkersService:
            options: Any = args[0]
            parent = supervise(
                plugin,
                options.get("workers", 1),
                [options],
                getattr(options, "arguments", []),
                options.reactor,
                options.get("drain-timeout", 0.0),
            )
            return parent if parent is not None else make(*args, **kwargs)

        return makeService

    return decorate
