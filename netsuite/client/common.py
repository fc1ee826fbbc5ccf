"""
What every C{netsuite} sub-command needs around its protocol: argument types, the
one-line failure messages, TCP and TLS details, and running on the reactor with the
suite's exit statuses.

Shared so that C{netsuite echo}, C{chat}, C{ping} and C{get} word a refused connection or
a failed TLS verification the same way, and exit with the same statuses: 0 success, 1
failure (one clear line on stderr), 2 bad arguments, 130 interrupted.
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
from twisted.internet.defer import Deferred, ensureDeferred, succeed
from twisted.protocols.tls import TLSMemoryBIOProtocol
from twisted.python.failure import Failure

__all__ = [
    "TLSHandshakeError",
    "connection_failure_message",
    "describe_endpoint",
    "is_tls_failure",
    "non_negative_int",
    "port_number",
    "positive_int",
    "positive_seconds",
    "react_command",
    "say",
    "set_nodelay",
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


def tls_peer_chain(transport: Any) -> list[x509.Certificate]:
    """
    The certificates the server sent on a TLS C{transport} (leaf first), even after a
    failed handshake: what a failure message needs to say what was wrong with them.
    """
    if not isinstance(transport, TLSMemoryBIOProtocol):
        return []  # plain TCP (and a closed TCP transport's getHandle raises)
    handle = transport.getHandle()
    if not isinstance(handle, SSL.Connection):
        return []
    with contextlib.suppress(SSL.Error, ValueError):
        return [c.to_cryptography() for c in handle.get_peer_cert_chain() or ()]
    return []


def is_tls_failure(reason: Failure) -> bool:
    """The connection ended on a TLS error or a failed certificate name check."""
    return reason.check(SSL.Error, VerificationError) is not None


def _ssl_error_text(value: BaseException) -> str:
    """C{SSL.Error}'s list of (library, function, reason) as its reasons, joined."""
    reasons = []
    for entry in value.args[0] if value.args and isinstance(value.args[0], list) else ():
        if isinstance(entry, tuple) and entry:
            reasons.append(str(entry[-1]))
    return "; ".join(r for r in reasons if r) or str(value) or type(value).__name__


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
        text = _ssl_error_text(reason.value)
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


# -- running ------------------------------------------------------------------------------


def say(prog: str, line: str) -> None:
    """One line on stderr, prefixed with the command (C{netsuite echo: ...})."""
    print(f"{prog}: {line}", file=sys.stderr, flush=True)


def react_command(prog: str, main: Callable[[Any], Coroutine[Any, Any, int]]) -> int:
    """
    Run C{main(reactor)} under L{task.react} and return its exit status.

    What react does not: the coroutine's status becomes the exit status (react only
    knows success and L{SystemExit}); the reactor stopping before C{main} is done (Ctrl-C,
    SIGTERM) exits 130 with "interrupted"; a bug prints its traceback instead of vanishing
    into a log nobody observes.
    """
    from twisted.internet import task

    def start(reactor: Any) -> Deferred[None]:
        outcome: Deferred[None] = Deferred()

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
            if not outcome.called:
                say(prog, "interrupted")
                outcome.errback(SystemExit(130))
                # Stop the command where it waits, so the connections the shutdown now
                # drops are not reported as failures after "interrupted".
                work.cancel()

        def begin() -> None:
            nonlocal work
            work = ensureDeferred(main(reactor))
            work.addBoth(done)

        # Only once the reactor runs: its SIGINT handler is installed by then, so Ctrl-C
        # is a clean shutdown (130), never a KeyboardInterrupt inside the command.
        work: Deferred[int] = succeed(0)  # stands in until begin(); cancelling it is a no-op
        reactor.callWhenRunning(begin)
        reactor.addSystemEventTrigger("before", "shutdown", interrupted)
        return outcome

    try:
        task.react(start)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 1
    return 0  # pragma: no cover - react always exits
