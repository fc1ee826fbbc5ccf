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
from collections.abc import Mapping
from typing import Any

from twisted.application import service
from twisted.internet.interfaces import IListeningPort
from twisted.logger import Logger
from twisted.python.failure import Failure

from netsuite._twisted.application import forget_exit_signal
from netsuite.base._addresses import describe_address
from netsuite.twistd._notify import notify, notify_address

__all__ = ["ListenError", "ListenerService", "ServiceRoot"]


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
    The top service of a netsuite process: its listeners, a clean exit on SIGTERM, and
    SIGHUP reloading every TLS certificate (L{netsuite.tls._listener.reload_all}).

    SIGTERM and SIGINT are how operators and supervisors stop a server. Twisted re-raises
    the signal after shutting down, so the process dies "killed by SIGTERM" (status 143
    from a shell), which systemd and CI read as a failure. Once shutdown has completed,
    this root clears that, and twistd exits 0.

    Under systemd (C{Type=notify}), it sends C{READY=1} once every listener is bound and
    the reactor runs, and C{STOPPING=1} as shutdown begins (L{netsuite.twistd._notify}).

    @ivar environ: where C{NOTIFY_SOCKET} is read (L{None}: this process's environment).
    """

    log = Logger()
    environ: Mapping[str, str] | None = None

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
