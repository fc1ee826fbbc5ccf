"""
What every C{netsuite} sub-command needs around its protocol: argument types, the
one-line failure messages, TCP and TLS details, and running on the reactor with the
suite's exit statuses.

Shared so that C{netsuite echo}, C{chat}, C{ping} and C{get} word a refused connection or
a failed TLS verification the same way, and exit with the same statuses: 0 success, 1
failure (one clear line on stderr), 2 bad arguments, 130 interrupted.

The module is above 400 lines because it is the one place the four clients share:
splitting it would make each client import from several places what it always needs
together.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import math
import socket
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from cryptography import x509
from OpenSSL import SSL
from service_identity import VerificationError
from twisted.internet import error as net_error
from twisted.internet.abstract import isIPAddress, isIPv6Address
from twisted.internet.defer import Deferred, ensureDeferred, succeed
from twisted.internet.interfaces import (
    IDelayedCall,
    IHalfCloseableProtocol,
    IReactorTime,
)
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure
from zope.interface import implementer

from netsuite.client.main import CommandLineError
from netsuite.tls._client import (
    UncheckedClientTLS,
    UncheckedDTLSOptions,
    tls_peer_chain,
    unchecked_dtls,
)
from netsuite.tls._contexts import TLSConfigError, client_tls_options
from netsuite.tls._dtls_context import client_options
from netsuite.tls._dtls_session import ssl_error_text

__all__ = [
    "INSECURE_WARNING",
    "StdioFlags",
    "TLSHandshakeError",
    "Timer",
    "UncheckedClientTLS",
    "UncheckedDTLSOptions",
    "add_tls_arguments",
    "check_tls_arguments",
    "connection_failure_message",
    "describe_endpoint",
    "dtls_client_options",
    "is_tls_failure",
    "non_negative_int",
    "port_number",
    "positive_int",
    "positive_seconds",
    "react_command",
    "resolve_udp",
    "say",
    "set_nodelay",
    "tls_client_options",
    "tls_peer_chain",
]


class TLSHandshakeError(Exception):
    """The TLS handshake did not finish, for a reason other than a TLS error."""


# -- argument types: argparse reports their messages as usage errors (status 2) ----------


def port_number(text: str) -> int:
    """A TCP/UDP port, 1-65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (1-65535)")
    return value


def positive_int(text: str) -> int:
    """A whole number, at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


def non_negative_int(text: str) -> int:
    """A whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def positive_seconds(text: str) -> float:
    """A finite number of seconds, more than 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


# -- connections ---------------------------------------------------------------------------


def describe_endpoint(host: str, port: int) -> str:
    """C{127.0.0.1:7}, C{[::1]:7}: a host and port as a user would type them."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def set_nodelay(transport: Any) -> None:
    """
    Turn Nagle's algorithm off, if C{transport} is TCP (TLS passes the call down).

    With Nagle on, a small message written while another is unacknowledged waits for
    that ACK (up to the peer's delayed-ACK timer, ~40 ms): round trips would measure
    the kernel's timers, not the server.
    """
    setter = getattr(transport, "setTcpNoDelay", None)
    if setter is not None:
        with contextlib.suppress(OSError):  # not a TCP socket after all
            setter(True)


def is_tls_failure(reason: Failure) -> bool:
    """The connection ended on a TLS error or a failed certificate name check."""
    return reason.check(SSL.Error, VerificationError) is not None


def _names_text(leaf: x509.Certificate) -> str:
    """C{DNS:a, IP:127.0.0.1}: the names a certificate is valid for."""
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return f"no DNS or IP name (subject {leaf.subject.rfc4514_string()})"
    names = [f"DNS:{n}" for n in san.get_values_for_type(x509.DNSName)]
    names += [f"IP:{ip}" for ip in san.get_values_for_type(x509.IPAddress)]
    return ", ".join(names) or f"no DNS or IP name (subject {leaf.subject.rfc4514_string()})"


def _untrusted_text(
    text: str, chain: Sequence[x509.Certificate], ca: str | None, now: datetime.datetime
) -> str:
    """
    What OpenSSL's bare "certificate verify failed" most likely means, from the chain.

    pyOpenSSL does not expose the verify result code, so the usual causes are checked
    here: the leaf's validity dates, then whose signature it carries.
    """
    if not chain:
        return text
    leaf = chain[0]
    if now > leaf.not_valid_after_utc:
        return f"the certificate expired at {leaf.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}"
    if now < leaf.not_valid_before_utc:
        return (
            f"the certificate is not valid before {leaf.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ}"
        )
    issuer = leaf.issuer.rfc4514_string()
    what = (
        f"self-signed certificate ({issuer})"
        if leaf.issuer == leaf.subject
        else f"certificate issued by {issuer}"
    )
    if ca:
        return f"{text}: {what} does not chain to the CA in {ca}"
    return f"{text}: {what} does not chain to a system-trusted CA (--ca FILE trusts another)"


#: What the server's alerts about our client certificate mean for the user.
_ALERT_HINTS = (
    ("certificate required", "the server wants a client certificate: --cert FILE --key FILE"),
    ("unknown ca", "the server does not trust the CA of our --cert"),
    ("unsupported certificate", "the server refused our --cert (is it for clientAuth?)"),
    ("bad certificate", "the server refused our --cert"),
    ("certificate expired", "the server says our --cert has expired"),
)


def _alert_hint(text: str) -> str:
    for alert, hint in _ALERT_HINTS:
        if alert in text:
            return f" ({hint})"
    return ""


def connection_failure_message(
    reason: Failure,
    host: str,
    port: int,
    peer_chain: Sequence[x509.Certificate] = (),
    ca: str | None = None,
    now: datetime.datetime | None = None,
) -> str:
    """
    One line that says why a connection to C{host}:C{port} failed, for stderr.

    TLS failures name the host, since that is what the certificate was checked against,
    and say what was wrong with the certificate the server sent (C{peer_chain}, leaf
    first): the names it is for, or why it is not trusted (C{ca} is the C{--ca} file).
    """
    where = describe_endpoint(host, port)
    if reason.check(VerificationError):
        detail = "the certificate does not name it"
        if peer_chain:
            detail = f"the certificate is for {_names_text(peer_chain[0])}, not {host}"
        return f"TLS verification failed for {host}: {detail}"
    if reason.check(SSL.Error):
        text = ssl_error_text(reason.value) if reason.value is not None else ""
        if "certificate verify failed" in text:
            now = now or datetime.datetime.now(datetime.UTC)
            return (
                f"TLS verification failed for {host}: {_untrusted_text(text, peer_chain, ca, now)}"
            )
        return f"TLS handshake with {where} failed: {text}{_alert_hint(text)}"
    if reason.check(TLSHandshakeError):
        return f"TLS handshake with {where} failed: {reason.getErrorMessage()}"
    if reason.check(net_error.ConnectionRefusedError):
        return f"cannot connect to {where}: connection refused"
    if reason.check(net_error.TimeoutError, TimeoutError):
        return f"cannot connect to {where}: timed out"
    if reason.check(net_error.DNSLookupError, socket.gaierror):
        return f"cannot resolve {host}: {reason.getErrorMessage()}"
    return f"cannot connect to {where}: {reason.getErrorMessage()}"


class Timer:
    """One rearmable deadline on an L{IReactorTime}, so adapters never stack calls."""

    def __init__(self, clock: IReactorTime, now: Callable[[], float], fire: Callable[[], None]):
        self.clock = clock
        self.now = now
        self.fire = fire
        self.call: IDelayedCall | None = None
        self.deadline: float | None = None

    def set(self, deadline: float | None) -> None:
        """Fire at C{deadline} (on the C{now} clock), or never for L{None}."""
        if deadline == self.deadline and self.call is not None and self.call.active():
            return
        self.cancel()
        self.deadline = deadline
        if deadline is not None:
            self.call = self.clock.callLater(max(0.0, deadline - self.now()), self._fired)

    def _fired(self) -> None:
        self.call = None
        self.deadline = None
        self.fire()

    def cancel(self) -> None:
        if self.call is not None and self.call.active():
            self.call.cancel()
        self.call = None
        self.deadline = None


async def resolve_udp(reactor: Any, host: str, port: int) -> tuple[str, str]:
    """The IP to send datagrams to and the interface to bind for it (IPv4 or IPv6)."""
    if isIPv6Address(host):
        return host, "::"
    if isIPAddress(host):
        return host, "0.0.0.0"
    from twisted.internet.threads import deferToThreadPool

    infos = await deferToThreadPool(
        reactor, reactor.getThreadPool(), socket.getaddrinfo, host, port, 0, socket.SOCK_DGRAM
    )
    family, _, _, _, sockaddr = infos[0]
    return str(sockaddr[0]), ("::" if family == socket.AF_INET6 else "0.0.0.0")


# -- TLS and DTLS client settings, shared by every TLS-capable sub-command --------------
# The command line only: the contexts themselves, verified or not, are netsuite.tls's
# (netsuite.tls._contexts, ._dtls_context, ._client).

#: What C{--insecure} prints on stderr, after the command's name.
INSECURE_WARNING = "WARNING: --insecure: the server's certificate is not checked"

_TLS_SETTINGS = ("ca", "cert", "key", "insecure")


def add_tls_arguments(parser: Any, enable: str) -> None:
    """
    C{--ca}, C{--cert}, C{--key} and C{--insecure} on C{parser} (a parser or an argument
    group), for a command whose flag C{enable} (C{"--tls"}, C{"--dtls"}) turns TLS on.
    The server is verified by default; L{check_tls_arguments} refuses what does not fit.
    """
    parser.add_argument("--ca", metavar="FILE", help="trust this CA (PEM) instead of the system's")
    parser.add_argument("--cert", metavar="FILE", help="client certificate chain (PEM)")
    parser.add_argument(
        "--key", metavar="FILE", help="client certificate's key (PEM; default: in --cert)"
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        default=False,
        help="do not check the server's certificate or name (a warning says so); "
        f"only with {enable}",
    )


def check_tls_arguments(args: argparse.Namespace, enabled: bool, enable: str) -> None:
    """
    Refuse TLS settings that cannot take effect, before anything connects: any of them
    without C{enable} (the flag that turns TLS on), C{--key} without C{--cert}, and
    C{--insecure} with C{--ca} (nothing would be checked against that CA).
    """
    given = [f"--{n}" for n in _TLS_SETTINGS if getattr(args, n, None) not in (None, False)]
    if not enabled and given:
        raise CommandLineError(f"{', '.join(given)}: only meaningful with {enable}")
    if args.key is not None and args.cert is None:
        raise CommandLineError("--key needs --cert")
    if args.insecure and args.ca is not None:
        raise CommandLineError("--insecure checks no certificate: --ca would not be used")


def _warn_insecure(prog: str) -> None:
    say(prog, INSECURE_WARNING)


def tls_client_options(prog: str, host: str, args: argparse.Namespace) -> Any:
    """
    The TLS client options for C{args} (see L{add_tls_arguments}): verified with
    service_identity against C{host}, or with C{--insecure} not verified at all (and the
    warning printed). An unreadable file is a L{CommandLineError}.
    """
    try:
        if args.insecure:
            options: Any = UncheckedClientTLS(host, args.cert, args.key)
            _warn_insecure(prog)
            return options
        return client_tls_options(host, args.ca, args.cert, args.key)
    except TLSConfigError as e:
        raise CommandLineError(str(e)) from None


def dtls_client_options(prog: str, host: str, args: argparse.Namespace) -> Any:
    """
    The DTLS twin of L{tls_client_options}: L{netsuite.tls._dtls_context.client_options},
    or with C{--insecure} the same context with verification and the name check off.
    """
    try:
        options = client_options(host, args.ca, args.cert, args.key)
    except TLSConfigError as e:
        raise CommandLineError(str(e)) from None
    if args.insecure:
        options = unchecked_dtls(options)
        _warn_insecure(prog)
    return options


class StdioFlags:
    """
    The file status flags of stdin and stdout, as they were when made; L{restore} puts
    them back. Twisted's StandardIO makes both non-blocking, and on a terminal (or a pipe
    shared with a shell) that mode outlives the process: the shell's next read fails.
    """

    def __init__(self, fds: Sequence[int] = (0, 1)) -> None:
        import fcntl

        self.flags: dict[int, int] = {}
        for fd in fds:
            with contextlib.suppress(OSError):
                self.flags[fd] = fcntl.fcntl(fd, fcntl.F_GETFL)

    def restore(self) -> None:
        import fcntl

        for fd, flags in self.flags.items():
            with contextlib.suppress(OSError):
                fcntl.fcntl(fd, fcntl.F_SETFL, flags)


# -- running ------------------------------------------------------------------------------


def say(prog: str, line: str) -> None:
    """One line on stderr, prefixed with the command (C{netsuite echo: ...})."""
    print(f"{prog}: {line}", file=sys.stderr, flush=True)


def react_command(
    prog: str,
    main: Callable[[Any], Coroutine[Any, Any, int]],
    on_interrupt: Callable[[], int | None] | None = None,
) -> int:
    """
    Run C{main(reactor)} under L{task.react} and return its exit status.

    What react does not: the coroutine's status becomes the exit status (react only
    knows success and L{SystemExit}); the reactor stopping before C{main} is done (Ctrl-C,
    SIGTERM) exits 130 with "interrupted"; a bug prints its traceback instead of vanishing
    into a log nobody observes.

    C{on_interrupt}, if given, runs first when the reactor stops early (still inside the
    reactor's shutdown, so it may print and tidy the terminal): returning an exit status
    replaces "interrupted" and 130 (C{netsuite ping} prints its summary so far that way);
    returning L{None} keeps them.
    """
    from twisted.internet import task

    def start(reactor: Any) -> Deferred[None]:
        outcome: Deferred[None] = Deferred()
        work: Deferred[int] = succeed(0)  # stands in until begin(); cancelling it is a no-op

        def done(code: object) -> None:
            if outcome.called:
                return
            if isinstance(code, Failure):
                code.printTraceback(file=sys.stderr)
                outcome.errback(SystemExit(1))
            elif code:
                outcome.errback(SystemExit(code))
            else:
                outcome.callback(None)

        def interrupted() -> None:
            if outcome.called:
                return
            status = on_interrupt() if on_interrupt is not None else None
            if outcome.called:  # the command finished meanwhile, with its own status
                return
            if status is None:
                say(prog, "interrupted")
                status = 130
            if status:
                outcome.errback(SystemExit(status))
            else:
                outcome.callback(None)
            # Stop the command where it waits, so the connections the shutdown now
            # drops are not reported as failures after "interrupted".
            work.cancel()

        def begin() -> None:
            nonlocal work
            work = ensureDeferred(main(reactor))
            work.addBoth(done)

        # Only once the reactor runs: its SIGINT handler is installed by then, so Ctrl-C
        # is a clean shutdown (130), never a KeyboardInterrupt inside the command.
        reactor.callWhenRunning(begin)
        reactor.addSystemEventTrigger("before", "shutdown", interrupted)
        return outcome

    try:
        task.react(start)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 1
    return 0  # pragma: no cover - react always exits


@implementer(IHalfCloseableProtocol)
class StdioSide(Protocol):
    """
    The stdio end of an interactive client: half-closeable, so the end of stdin keeps
    stdout. It forwards every event to its owner (C{stdio_made}, C{stdin_data},
    C{stdin_eof}, C{stdout_gone}, C{stdio_lost}).
    """

    def __init__(self, owner: Any) -> None:
        self.owner = owner

    def connectionMade(self) -> None:
        self.owner.stdio_made(self.transport)

    def dataReceived(self, data: bytes) -> None:
        self.owner.stdin_data(data)

    def readConnectionLost(self) -> None:
        self.owner.stdin_eof()

    def writeConnectionLost(self) -> None:
        self.owner.stdout_gone()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.owner.stdio_lost()
