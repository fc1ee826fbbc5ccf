"""
C{netsuite echo}: talk to an echo server, or check that it echoes every byte.

Interactive (no C{--count}): stdin goes to the server and what comes back goes to stdout.
At the end of stdin the client waits until every byte it sent has come back (at most
C{--timeout} seconds), then closes. Over UDP each stdin line is one datagram and each reply
is printed on a line of its own.

Check mode (C{--count N}): N payloads of C{--size} random bytes, C{--window} of them in
flight, every echoed byte compared with what was sent; round-trip times and throughput are
printed, and the exit status says whether everything came back intact. Payloads come from
a C{random.Random} seeded with C{--seed} (printed when chosen at random), so a failure can
be replayed byte for byte. Over UDP each datagram starts with its index (4 bytes, big
endian) so replies are matched whatever their order, and a datagram not echoed within
C{--timeout} seconds is counted lost.

With C{--tls} the server's certificate must chain to C{--ca} (or the system's trust
store) and name HOST (service_identity); C{--insecure} skips both, and says so on stderr.

Layout: the sans-IO sessions (L{netsuite.client._check.StreamCheck} and
L{netsuite.client._check.DatagramCheck}: fed bytes and times, they return what to send
next) hold the logic; L{StreamCheckProtocol} and L{DatagramCheckProtocol}, the thin
Twisted adapters around them, are in L{netsuite.client._echo_check}; L{StreamTerminal} and
L{DatagramTerminal}, which join stdio to a connection, in L{netsuite.client._echo_terminal};
here are the arguments, and L{run}, which wires it all to the reactor.

Exit status: 0 all verified (or, interactively, all echoed); 1 a byte wrong, missing or
late, a refused connection, a failed TLS verification; 2 bad arguments.
"""

from __future__ import annotations

import argparse
import secrets
import time
from dataclasses import dataclass
from typing import Any

from twisted.internet import error as net_error
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.interfaces import (
    IOpenSSLClientConnectionCreator,
)
from twisted.python.failure import Failure

from netsuite.client._check import (
    DEFAULT_TIMEOUT,
    INDEX_BYTES,
    MAX_DATAGRAM,
    CheckSession,
    DatagramCheck,
    StreamCheck,
)
from netsuite.client._common import (
    StdioFlags,
    add_tls_arguments,
    check_tls_arguments,
    connection_failure_message,
    describe_endpoint,
    non_negative_int,
    port_number,
    positive_int,
    positive_seconds,
    react_command,
    resolve_udp,
    say,
    tls_client_options,
)
from netsuite.client._echo_check import DatagramCheckProtocol, StreamCheckProtocol
from netsuite.client._echo_terminal import DatagramTerminal, StreamTerminal
from netsuite.client.main import CommandLineError

__all__ = ["NAME", "SUMMARY", "add_arguments", "run"]

NAME = "echo"
SUMMARY = "Talk to an echo server, or check that it echoes every byte back (--count)."
PROG = "netsuite echo"
DEFAULT_SIZE = 1024

# -- the command -------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of C{netsuite echo}."""
    parser.add_argument("host", metavar="HOST", help="server name or IP address")
    parser.add_argument("port", metavar="PORT", type=port_number, help="server port")
    parser.add_argument(
        "--udp", action="store_true", help="UDP: one datagram per stdin line or message"
    )
    tls = parser.add_argument_group("TLS")
    tls.add_argument(
        "--tls", action="store_true", help="TLS; the server's certificate must name HOST"
    )
    add_tls_arguments(tls, "--tls")
    check = parser.add_argument_group(
        "check mode", "send random payloads and verify every byte comes back"
    )
    check.add_argument("--count", metavar="N", type=positive_int, help="messages to send")
    check.add_argument(
        "--size",
        metavar="S",
        type=positive_int,
        help=f"bytes a message (default {DEFAULT_SIZE}; over UDP {INDEX_BYTES}-{MAX_DATAGRAM})",
    )
    check.add_argument(
        "--window", metavar="W", type=positive_int, help="messages in flight (default 1)"
    )
    check.add_argument(
        "--seed",
        metavar="N",
        type=non_negative_int,
        help="payload seed (default: random, printed)",
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=positive_seconds,
        default=DEFAULT_TIMEOUT,
        help="to connect, and for each echo to come back (default %(default)g)",
    )


def _validate(args: argparse.Namespace) -> None:
    """Refuse combinations argparse cannot express, before anything connects."""
    if args.count is None:
        given = [f"--{n}" for n in ("size", "window", "seed") if getattr(args, n) is not None]
        if given:
            raise CommandLineError(f"{', '.join(given)}: only meaningful with --count")
    check_tls_arguments(args, args.tls, "--tls")
    if args.udp and args.tls:
        raise CommandLineError("--tls is for TCP; UDP (DTLS) is not supported")
    if args.udp and args.size is not None and not INDEX_BYTES <= args.size <= MAX_DATAGRAM:
        raise CommandLineError(
            f"--size {args.size}: a UDP check datagram holds {INDEX_BYTES} to {MAX_DATAGRAM} bytes"
        )


def _label(kind: str, host: str, port: int) -> str:
    return f"{kind} {describe_endpoint(host, port)}"


def _report(session: CheckSession, label: str) -> int:
    for line in session.report(label):
        print(line, flush=True)
    for line in session.problems():
        say(PROG, line)
    return 0 if session.ok else 1


@dataclass(frozen=True)
class _Plan:
    """What C{netsuite echo} was asked to do, with the defaults filled in."""

    host: str
    port: int
    timeout: float
    count: int | None
    size: int
    window: int
    seed: int
    ca: str | None
    tls: IOpenSSLClientConnectionCreator | None


async def _echo(reactor: Any, plan: _Plan, udp: bool) -> int:
    """The whole command on a running reactor; returns the exit status."""
    if udp:
        try:
            address, interface = await resolve_udp(reactor, plan.host, plan.port)
        except OSError:
            say(PROG, connection_failure_message(Failure(), plan.host, plan.port))
            return 1
        if plan.count is not None:
            return await _check_udp(reactor, plan, address, interface)
        return await _interactive_udp(reactor, plan, address, interface)
    from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS

    endpoint: Any = HostnameEndpoint(reactor, plan.host, plan.port, timeout=plan.timeout)
    if plan.tls is not None:
        endpoint = wrapClientTLS(plan.tls, endpoint)
    if plan.count is not None:
        return await _check_stream(reactor, plan, endpoint)
    return await _interactive_stream(reactor, plan, endpoint)


async def _check_stream(reactor: Any, plan: _Plan, endpoint: Any) -> int:
    from twisted.internet.endpoints import connectProtocol

    assert plan.count is not None
    session = StreamCheck(
        plan.count, plan.size, window=plan.window, timeout=plan.timeout, seed=plan.seed
    )
    proto = StreamCheckProtocol(session, reactor, time.perf_counter)
    try:
        await connectProtocol(endpoint, proto)
    except CancelledError:  # interrupted: nothing more to say
        raise
    except Exception:
        say(PROG, connection_failure_message(Failure(), plan.host, plan.port))
        return 1
    try:
        await proto.finished
    except CancelledError:  # interrupted: nothing more to say
        raise
    except Exception:
        failure = Failure()
        say(
            PROG,
            connection_failure_message(failure, plan.host, plan.port, proto.peer_chain, plan.ca),
        )
        return 1
    kind = "tls" if plan.tls is not None else "tcp"
    return _report(session, _label(kind, plan.host, plan.port))


async def _interactive_stream(reactor: Any, plan: _Plan, endpoint: Any) -> int:
    from twisted.internet.endpoints import connectProtocol
    from twisted.internet.stdio import StandardIO

    terminal = StreamTerminal(reactor, plan.timeout, plan.host, plan.port, plan.ca)
    try:
        await connectProtocol(endpoint, terminal.network_protocol())
    except CancelledError:  # interrupted: nothing more to say
        raise
    except Exception:
        say(PROG, connection_failure_message(Failure(), plan.host, plan.port))
        return 1
    StandardIO(terminal.stdio_protocol(), reactor=reactor)
    code = await terminal.finished
    for line in terminal.messages:
        say(PROG, line)
    return code


async def _check_udp(reactor: Any, plan: _Plan, address: str, interface: str) -> int:
    assert plan.count is not None
    session = DatagramCheck(
        plan.count, plan.size, window=plan.window, timeout=plan.timeout, seed=plan.seed
    )
    proto = DatagramCheckProtocol(session, (address, plan.port), reactor, time.perf_counter)
    listening = reactor.listenUDP(0, proto, interface=interface, maxPacketSize=65535)
    try:
        await proto.finished
    finally:
        await _maybe(listening.stopListening())
    if session.was_refused and not session.verified:
        # Nothing ever came back: one clear line, as for TCP, not a summary.
        refused = Failure(net_error.ConnectionRefusedError())
        say(PROG, connection_failure_message(refused, plan.host, plan.port))
        return 1
    return _report(session, _label("udp", plan.host, plan.port))


async def _interactive_udp(reactor: Any, plan: _Plan, address: str, interface: str) -> int:
    from twisted.internet.stdio import StandardIO

    terminal = DatagramTerminal(reactor, plan.timeout, plan.host, plan.port)
    side = terminal.network_protocol((address, plan.port))
    reactor.listenUDP(0, side, interface=interface, maxPacketSize=65535)
    StandardIO(terminal.stdio_protocol(), reactor=reactor)
    code = await terminal.finished
    for line in terminal.messages:
        say(PROG, line)
    return code


async def _maybe(result: Any) -> None:
    if isinstance(result, Deferred):
        await result


def run(args: argparse.Namespace) -> int:
    """Run C{netsuite echo} with parsed C{args}; returns the exit status."""
    _validate(args)
    tls = tls_client_options(PROG, args.host, args) if args.tls else None
    plan = _Plan(
        host=args.host,
        port=args.port,
        timeout=args.timeout,
        count=args.count,
        size=args.size or DEFAULT_SIZE,
        window=args.window or 1,
        seed=args.seed if args.seed is not None else secrets.randbelow(2**32),
        ca=args.ca,
        tls=tls,
    )
    flags = StdioFlags() if plan.count is None else None  # interactive: StandardIO
    try:
        return react_command(PROG, lambda reactor: _echo(reactor, plan, args.udp))
    finally:
        if flags is not None:
            flags.restore()
