"""
Listening services: one L{twisted.application.service.Service} per listen description.

A listener binds in C{privilegedStartService} (before twistd drops privileges, so ports
below 1024 work) and a failure to bind stops the process with a message that names the
description, before anything else listens. Once bound it logs the real address (the port
actually chosen for C{:0}) and, for TLS, each certificate's fingerprint and expiry.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from twisted.application import service
from twisted.internet import defer
from twisted.internet.interfaces import IListeningPort
from twisted.logger import Logger
from twisted.python.failure import Failure

from netsuite._twisted.application import forget_exit_signal
from netsuite.base._addresses import describe_address
from netsuite.limits._defaults import DRAIN_TIMEOUT
from netsuite.stream._accept_log import summarize_accept_errors
from netsuite.twistd._notify import notify, notify_address

__all__ = ["Drainable", "ListenError", "ListenerService", "ServiceRoot"]


class Drainable(Protocol):
    """
    What a root drains at shutdown: a door factory, the web site, the WebSocket door.
    C{drain(timeout)} lets what is in flight finish, aborts the rest after C{timeout}
    seconds and fires once all is closed; C{abort()} drops everything now.
    """

    def drain(self, timeout: float) -> defer.Deferred[None]: ...

    def abort(self) -> None: ...


#: A signal installer: C{signal.signal}'s shape (tests pass a recorder).
SignalInstaller = Callable[[int, Callable[[int, Any], None]], object]


class ListenError(SystemExit):
    """
    A listener could not bind. A L{SystemExit}, so twistd stops with this message and a
    non-zero exit status instead of a traceback.
    """


class ListenerService(service.Service):
    """
    Listen on C{endpoint} with C{target} (a protocol factory, or a datagram protocol).

    @ivar label: what the log calls this listener (C{"echo/tcp"}).
    @ivar port: the listening port once bound, else L{None}.
    """

    log = Logger()

    def __init__(self, label: str, description: str, endpoint: Any, target: Any) -> None:
        self.label = label
        self.description = description
        self.endpoint = endpoint
        self.target = target
        self.port: IListeningPort | None = None

    def privilegedStartService(self) -> None:
        super().privilegedStartService()
        outcome: list[Any] = []
        self.endpoint.listen(self.target).addBoth(outcome.append)
        if not outcome:  # an endpoint that binds later (systemd, custom): log when it does
            return
        if isinstance(outcome[0], Failure):
            raise ListenError(
                f"{self.label}: cannot listen on {self.description!r}: "
                f"{outcome[0].getErrorMessage()}"
            )
        self._listening(outcome[0])

    def startService(self) -> None:
        if not self.running and self.port is None:
            self.privilegedStartService()
        super().startService()

    def _listening(self, port: IListeningPort) -> None:
        self.port = port
        summarize_accept_errors(port)  # an EMFILE burst: a few lines, not one per accept
        address = describe_address(port.getHost())
        certificates = getattr(self.endpoint, "certificates", None)
        if certificates:
            address = address.replace("tcp ", "tls ", 1)
        self.log.info("{label} listening on {address}", label=self.label, address=address)
        for note in getattr(self.endpoint, "notes", ()):
            self.log.info("{label} {note}", label=self.label, note=note)
        for summary in certificates or ():
            self.log.info(
                "{label} TLS certificate {summary}; {days:.0f} days left",
                label=self.label,
                summary=str(summary),
                days=summary.days_left(),
            )

    #: URL schemes by the kind of door a label names (the part after the "/").
    SCHEMES = {"tcp": "tcp", "tls": "tls", "udp": "udp", "dtls": "dtls", "line": "tcp",
               "line-tls": "tls", "irc": "irc", "irc-tls": "ircs", "http": "http",
               "https": "https"}  # fmt: skip

    def url(self) -> str | None:
        """C{irc://127.0.0.1:6667}, C{http://[::1]:8080/}: for the start-up summary."""
        if self.port is None:
            return None
        host: Any = self.port.getHost()  # IPv4Address, IPv6Address or UNIXAddress
        address = getattr(host, "host", None)
        if address is None:
            return f"{self.label} at {describe_address(host)}"
        kind = self.label.rpartition("/")[2]
        scheme = self.SCHEMES.get(kind, kind)
        shown = f"[{address}]" if ":" in address else address
        tail = "/" if scheme in ("http", "https") else ""
        return f"{self.label} {scheme}://{shown}:{host.port}{tail}"

    def stopService(self) -> Any:
        super().stopService()
        port, self.port = self.port, None
        if port is not None:
            return port.stopListening()
        return None


class ServiceRoot(service.MultiService):
    """
    The top service of a netsuite process: its listeners, a graceful drain and a clean
    exit on SIGTERM, and SIGHUP reloading every TLS certificate
    (L{netsuite.tls._listener.reload_all}).

    SIGTERM and SIGINT are how operators and supervisors stop a server. Twisted re-raises
    the signal after shutting down, so the process dies "killed by SIGTERM" (status 143
    from a shell), which systemd and CI read as a failure. Once shutdown has completed,
    this root clears that, and twistd exits 0.

    Shutdown is a drain (L{shutdown}): every listening port of the whole tree closes
    first, so new connections are refused at once; only once the ports are closed does
    each root's L{begin_drain} run (chat members are told, C{/api/health} says 503) and
    its L{drain_targets} drain, each bounded by its root's C{drain_timeout}. During the
    drain a second SIGINT (Ctrl-C again) aborts every connection at once, and a repeated
    SIGTERM is logged and changes nothing (Twisted would log a traceback for it).

    Under systemd (C{Type=notify}), it sends C{READY=1} once every listener is bound and
    the reactor runs, and C{STOPPING=1} as shutdown begins (L{netsuite.twistd._notify}).

    @ivar environ: where C{NOTIFY_SOCKET} is read (L{None}: this process's environment).
    @ivar drain_timeout: seconds this root's L{drain_targets} get on shutdown.
    @ivar install_signal: how the drain's signal handlers are installed (L{None}: with
        C{signal.signal} on a real reactor, not at all on a test's).
    @ivar draining: set once the drain has begun.
    """

    log = Logger()
    environ: Mapping[str, str] | None = None
    drain_timeout: float = DRAIN_TIMEOUT
    install_signal: SignalInstaller | None = None
    draining = False
    _shutdown: defer.Deferred[Any] | None = None

    def __init__(self, name: str, reactor: Any) -> None:
        super().__init__()
        self.name = name
        self.reactor = reactor

    def startService(self) -> None:
        super().startService()
        if isinstance(self.parent, ServiceRoot):
            return  # part of a suite: the suite's root does the process-wide things
        self.reactor.addSystemEventTrigger("after", "shutdown", self._exit_cleanly)
        self.reactor.addSystemEventTrigger("before", "shutdown", self._stopping)
        if hasattr(self.reactor, "callFromThread"):
            from netsuite.tls._listener import install_sighup

            install_sighup(self.reactor)
        # Signal handlers are installed as the reactor starts, so only from then on does
        # SIGTERM mean a clean stop: that moment is the one to call "ready".
        self.reactor.callWhenRunning(self._ready)

    def _ready(self) -> None:
        for url in self.urls():
            self.log.info("{name}: {url}", name=self.name, url=url)
        for ca in self.trust_hints():
            self.log.info(
                "{name}: the TLS doors' certificates come from the development CA {ca}; "
                "trust it with --ca {ca} (curl --cacert {ca})",
                name=self.name,
                ca=ca,
            )
        self.log.info("{name} ready", name=self.name)
        listeners = len(self.urls())
        self._notify(f"READY=1\nSTATUS={self.name}: {listeners} listener(s) ready")

    def _stopping(self) -> None:
        self._notify(f"STOPPING=1\nSTATUS={self.name}: shutting down")

    def _notify(self, message: str) -> None:
        """sd_notify, when systemd asked for it; a failure is logged, never raised."""
        environ = os.environ if self.environ is None else self.environ
        if notify_address(environ) is None:
            return
        first = message.partition("\n")[0]
        if notify(message, environ):
            self.log.info("{name}: told systemd {message}", name=self.name, message=first)
        else:
            self.log.warn(
                "{name}: could not tell systemd {message} (NOTIFY_SOCKET={socket!r})",
                name=self.name,
                message=first,
                socket=environ.get("NOTIFY_SOCKET"),
            )

    def trust_hints(self) -> list[str]:
        """The CA files clients must trust for this root's throw-away certificates."""
        cas = {getattr(listener.endpoint, "trust_ca", None) for listener in self.listeners()}
        return sorted(ca for ca in cas if ca)

    def urls(self) -> list[str]:
        """Where to point a client at each listener of this root and its sub-roots."""
        out: list[str] = []
        for child in self:
            if isinstance(child, ListenerService):
                url = child.url()
                if url:
                    out.append(url)
            elif isinstance(child, ServiceRoot):
                out += child.urls()
        return out

    # --- the drain ----------------------------------------------------------------

    def drain_targets(self) -> list[Drainable]:
        """What this root (not its sub-roots) drains at shutdown; a subclass says."""
        return []

    def begin_drain(self) -> None:
        """Hook: the ports are closed and the drain begins (tell members, fail health)."""

    def roots(self) -> Iterator[ServiceRoot]:
        """This root and every root below it, parents first."""
        yield self
        for child in self:
            if isinstance(child, ServiceRoot):
                yield from child.roots()

    def listeners(self) -> Iterator[ListenerService]:
        """Every listener of this root and its sub-roots."""
        for root in self.roots():
            for child in root:
                if isinstance(child, ListenerService):
                    yield child

    def stopService(self) -> Any:
        """
        At the top: L{shutdown}. A sub-root (a service of the suite) is drained by the
        top root, so it only marks its children stopped.
        """
        if isinstance(self.parent, ServiceRoot):
            return super().stopService()
        return self.shutdown()

    def shutdown(self) -> defer.Deferred[Any]:
        """
        Close every listening port, then drain (L{begin_drain}, L{drain_targets});
        fires once every connection is closed. The ports go first: a listening socket
        is closed on the reactor's next turn, and the drain's own work (a goodbye to a
        thousand members) must not hold that turn back.
        """
        if self._shutdown is not None:
            return self._shutdown
        closing = [defer.maybeDeferred(listener.stopService) for listener in self.listeners()]
        ports_closed = defer.gatherResults(closing, consumeErrors=True)
        ports_closed.addErrback(self._log_failure, "closing a listening port")
        ports_closed.addCallback(lambda _: self._drain())
        ports_closed.addCallback(lambda _: super(ServiceRoot, self).stopService())
        self._shutdown = ports_closed
        return ports_closed

    def _drain(self) -> defer.Deferred[Any]:
        roots = list(self.roots())
        targets = [
            (target, root.drain_timeout) for root in roots for target in root.drain_targets()
        ]
        self._targets = [target for target, _ in targets]
        self._install_drain_signals()
        for root in roots:
            root.draining = True
        self.log.info(
            "{name}: listeners closed; draining {count} service(s) for up to {timeout}s "
            "(SIGINT ends the drain now)",
            name=self.name,
            count=len(targets),
            timeout=max((timeout for _, timeout in targets), default=0.0),
        )
        for root in roots:
            root.begin_drain()
        drains = [defer.maybeDeferred(target.drain, timeout) for target, timeout in targets]
        done = defer.gatherResults(drains, consumeErrors=True)
        done.addErrback(self._log_failure, "draining")
        done.addCallback(lambda _: self.log.info("{name}: drained", name=self.name))
        return done

    def abort_drain(self) -> None:
        """End the drain now: every connection still open is aborted."""
        targets = getattr(self, "_targets", [])
        self.log.info("{name}: ending the drain now", name=self.name)
        for target in targets:
            target.abort()

    def _install_drain_signals(self) -> None:
        install = self.install_signal
        if install is None:
            if not hasattr(self.reactor, "callFromThread"):
                return  # a test's reactor: no signals of this process are ours
            install = signal.signal
        install(signal.SIGINT, self._on_signal)
        install(signal.SIGTERM, self._on_signal)

    def _on_signal(self, number: int, frame: Any) -> None:
        """Runs in the signal handler: hand the work to the reactor's thread."""
        call = getattr(self.reactor, "callFromThread", None)
        act = self.abort_drain if number == signal.SIGINT else self._again
        if call is None:
            act()
        else:
            call(act)

    def _again(self) -> None:
        self.log.info("{name}: SIGTERM again; still draining (SIGINT ends it now)", name=self.name)

    def _log_failure(self, failure: Failure, doing: str) -> None:
        """A failure while stopping is logged with what was being done, not raised."""
        failure.trap(defer.FirstError)
        first = failure.value
        assert isinstance(first, defer.FirstError)  # trapped above
        inner = first.subFailure
        self.log.failure("{name}: error while {doing}", inner, name=self.name, doing=doing)

    def _exit_cleanly(self) -> None:
        """
        Shutdown has completed: exit 0 even if a signal started it, and even if the
        supervisor repeats SIGTERM while the process winds down. Ignored (not a Python
        handler, which the interpreter resets as it finalizes), a late SIGTERM can no
        longer kill the exiting process or make Twisted record it again.
        """
        forget_exit_signal(self.reactor)
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, signal.SIG_IGN)
