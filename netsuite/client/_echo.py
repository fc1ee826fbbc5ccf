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
next) hold the logic; L{StreamCheckProtocol} and L{DatagramCheckProtocol} are the thin
Twisted adapters around them; L{StreamTerminal} and L{DatagramTerminal} join stdio to a
connection; L{run} wires it all to the reactor.

Exit status: 0 all verified (or, interactively, all echoed); 1 a byte wrong, missing or
late, a refused connection, a failed TLS verification; 2 bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from twisted.internet import error as net_error
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.interfaces import (
    IDelayedCall,
    IHandshakeListener,
    IOpenSSLClientConnectionCreator,
    IReactorTime,
    ISSLTransport,
)
from twisted.internet.protocol import DatagramProtocol, Protocol, connectionDone
from twisted.python.failure import Failure
from zope.interface import implementer

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
    StdioSide,
    Timer,
    TLSHandshakeError,
    add_tls_arguments,
    check_tls_arguments,
    connection_failure_message,
    describe_endpoint,
    is_tls_failure,
    non_negative_int,
    port_number,
    positive_int,
    positive_seconds,
    react_command,
    resolve_udp,
    say,
    set_nodelay,
    tls_client_options,
    tls_peer_chain,
)
from netsuite.client.main import CommandLineError

__all__ = [
    "NAME",
    "SUMMARY",
    "DatagramCheckProtocol",
    "DatagramTerminal",
    "StreamCheckProtocol",
    "StreamTerminal",
    "add_arguments",
    "run",
]

NAME = "echo"
SUMMARY = "Talk to an echo server, or check that it echoes every byte back (--count)."
PROG = "netsuite echo"
DEFAULT_SIZE = 1024


# -- Twisted adapters around the sans-IO sessions ------------------------------------------


@implementer(IHandshakeListener)
class StreamCheckProtocol(Protocol):
    """
    Runs a L{StreamCheck} over a TCP or TLS connection.

    Over TLS the first message waits for the handshake to finish (at most C{timeout}),
    so that round trips measure echoes, not the handshake. C{finished} fires with the
    session once the connection is closed; it fails with the connection's reason instead
    when the connection ended before a single byte came back and the reason is a TLS
    failure (so the caller can say "TLS verification failed" rather than "message 0 not
    echoed"). C{now} is the clock round trips are measured with (a monotonic,
    fine-grained one in real runs); C{clock} schedules timeouts.
    """

    def __init__(
        self,
        session: StreamCheck,
        clock: IReactorTime,
        now: Callable[[], float] | None = None,
    ) -> None:
        self.session = session
        self.clock = clock
        self.now = now or clock.seconds
        self.finished: Deferred[StreamCheck] = Deferred()
        self.peer_chain: list[x509.Certificate] = []
        self._received_any = False
        self._started = False
        self._handshake_timed_out = False
        self._closing = False
        self._timer = Timer(clock, self.now, self._expire)

    def connectionMade(self) -> None:
        set_nodelay(self.transport)
        if ISSLTransport.providedBy(self.transport):
            self._timer.set(self.now() + self.session.timeout)  # for the handshake
        else:
            self._start()

    def handshakeCompleted(self) -> None:
        self._start()

    def _start(self) -> None:
        self._started = True
        self._send(self.session.start(self.now()))
        self._next()

    def dataReceived(self, data: bytes) -> None:
        self._received_any = True
        self._send(self.session.received(data, self.now()))
        self._next()

    def _expire(self) -> None:
        if self._closing or not self._started:
            # We asked to close (TLS waits for the peer's close_notify) and the peer never
            # answered, or the TLS handshake never finished: stop waiting.
            self._handshake_timed_out = not self._started
            self.transport.abortConnection()
            return
        self._send(self.session.expire(self.now()))
        self._next()

    def _send(self, payloads: list[bytes]) -> None:
        for payload in payloads:
            self.transport.write(payload)

    def _next(self) -> None:
        if self.session.done:
            if not self._closing:
                self._closing = True
                self._timer.set(self.now() + self.session.timeout)
                self.transport.loseConnection()
        else:
            self._timer.set(self.session.next_deadline())

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._timer.cancel()
        self.peer_chain = tls_peer_chain(self.transport)
        if not self.session.done:
            if not self._received_any and is_tls_failure(reason):
                self.finished.errback(reason)
                return
            if not self._started:
                if self._handshake_timed_out:
                    why = f"no answer within {self.session.timeout:g}s"
                elif reason.check(net_error.ConnectionDone):
                    why = "the server closed the connection"
                else:
                    why = reason.getErrorMessage()
                self.finished.errback(TLSHandshakeError(why))
                return
            if reason.check(net_error.ConnectionDone):
                why = "connection closed by the server"
            else:
                why = f"connection lost: {reason.getErrorMessage()}"
            self.session.connection_lost(self.now(), why)
        self.finished.callback(self.session)


class DatagramCheckProtocol(DatagramProtocol):
    """
    Runs a L{DatagramCheck} over a UDP socket connected to C{address} (an IP and a port).

    Connected, so that only the server's replies are received and an ICMP "port
    unreachable" is reported (L{connectionRefused}) instead of looking like loss.
    C{finished} fires with the session when it is done; the caller stops the port.
    """

    def __init__(
        self,
        session: DatagramCheck,
        address: tuple[str, int],
        clock: IReactorTime,
        now: Callable[[], float] | None = None,
    ) -> None:
        self.session = session
        self.address = address
        self.clock = clock
        self.now = now or clock.seconds
        self.finished: Deferred[DatagramCheck] = Deferred()
        self._timer = Timer(clock, self.now, self._expire)

    def startProtocol(self) -> None:
        self.transport.connect(*self.address)
        self._send(self.session.start(self.now()))
        self._next()

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        self._send(self.session.received(datagram, self.now()))
        self._next()

    def connectionRefused(self) -> None:
        self.session.refused(self.now())
        self._next()

    def _expire(self) -> None:
        self._send(self.session.expire(self.now()))
        self._next()

    def _send(self, payloads: list[bytes]) -> None:
        for payload in payloads:
            if self.session.done:  # refused while sending (write reports it at once)
                return
            # A full socket buffer drops a datagram the way the network may: the message
            # is counted lost when its time is up.
            with contextlib.suppress(OSError, net_error.MessageLengthError):
                self.transport.write(payload)

    def _next(self) -> None:
        if self.session.done:
            self._timer.cancel()
            if not self.finished.called:
                self.finished.callback(self.session)
        else:
            self._timer.set(self.session.next_deadline())

    def stopProtocol(self) -> None:
        """
        The port stopped: ours when done, else the reactor's doing. The poll-like
        reactors (epoll, poll) drop a connected UDP port on the socket error an ICMP "port
        unreachable" leaves, instead of calling L{connectionRefused} (Twisted issues
        #5377, #6467): so an unexpected stop is a refusal.
        """
        self._timer.cancel()
        if not self.session.done:
            self.session.refused(self.now())
            self._next()


# -- interactive: stdin to the server, the server to stdout -------------------------------


class _Terminal:
    """
    Joins stdio to a connection and decides when to stop, and with which status.

    Both ends report to it; at the end of stdin it waits until as much came back as was
    sent (at most C{timeout} seconds), then closes both ends and fires C{finished} with
    the exit status once they are closed (stdout flushed). Problems are collected in
    C{messages}, one line each, for the caller to print.
    """

    unit = "byte"

    def __init__(
        self,
        clock: IReactorTime,
        timeout: float,
        host: str,
        port: int,
        ca: str | None = None,
    ) -> None:
        self.clock = clock
        self.ca = ca
        self.timeout = timeout
        self.host = host
        self.port = port
        self.finished: Deferred[int] = Deferred()
        self.messages: list[str] = []
        self.sent = 0
        self.echoed = 0
        self.stdin_done = False
        self.stdio: Any = None
        self.network: Any = None
        self._stdio_open = False
        self._network_open = False
        self._code: int | None = None
        self._timer: IDelayedCall | None = None

    def stdio_protocol(self) -> Protocol:
        """The protocol to give L{twisted.internet.stdio.StandardIO}."""
        return StdioSide(self)

    # stdio events

    def stdio_made(self, transport: Any) -> None:
        self.stdio = transport
        self._stdio_open = True

    def stdin_data(self, data: bytes) -> None:
        raise NotImplementedError

    def stdin_eof(self) -> None:
        self.stdin_done = True
        self._check_drained()
        if self._code is None:
            self._timer = self.clock.callLater(self.timeout, self._timed_out)

    def stdout_gone(self) -> None:
        """
        Nobody reads stdout any more (C{| head}): nothing left worth doing. StandardIO
        reports no C{connectionLost} after this, so stdio counts as closed from now on.
        """
        self.finish(0)
        self._stdio_open = False
        self._maybe_finished()

    def stdio_lost(self) -> None:
        self._stdio_open = False
        self.finish(0 if self.stdin_done and self.echoed >= self.sent else 1)

    # network events

    def network_data(self, count: int) -> None:
        self.echoed += count
        self._check_drained()

    def network_lost(self, reason: Failure, peer_chain: Sequence[x509.Certificate] = ()) -> None:
        self._network_open = False
        if self._code is not None:
            self._maybe_finished()
            return
        clean = reason.check(net_error.ConnectionDone) is not None
        refused = reason.check(net_error.ConnectionRefusedError) is not None
        if (refused or is_tls_failure(reason)) and self.echoed == 0:
            self.messages.append(
                connection_failure_message(reason, self.host, self.port, peer_chain, self.ca)
            )
            self.finish(1)
        elif self.echoed < self.sent:
            how = "closed by the server" if clean else f"lost: {reason.getErrorMessage()}"
            self.messages.append(
                f"connection {how} with {self.echoed} of {self.sent} {self.unit}s echoed"
            )
            self.finish(1)
        elif clean:
            self.messages.append("connection closed by the server")
            self.finish(0)
        else:
            self.messages.append(f"connection lost: {reason.getErrorMessage()}")
            self.finish(1)

    # ending

    def _check_drained(self) -> None:
        if self.stdin_done and self.echoed >= self.sent:
            self.finish(0)

    def _timed_out(self) -> None:
        self._timer = None
        self.messages.append(
            f"{self.sent - self.echoed} of {self.sent} {self.unit}s not echoed "
            f"within {self.timeout:g}s"
        )
        self.finish(1)

    def finish(self, code: int) -> None:
        """Stop with exit status C{code} (the first call decides): close both ends."""
        if self._code is not None:
            self._maybe_finished()
            return
        self._code = code
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self._close_network()
        if self._stdio_open and self.stdio is not None:
            with contextlib.suppress(Exception):
                self.stdio.unregisterProducer()
            self.stdio.loseConnection()  # flushes stdout first
        self._maybe_finished()

    def _close_network(self) -> None:
        raise NotImplementedError

    def _maybe_finished(self) -> None:
        if (
            self._code is not None
            and not self._stdio_open
            and not self._network_open
            and not self.finished.called
        ):
            self.finished.callback(self._code)


class _StreamSide(Protocol):
    """The connection end of a L{StreamTerminal}."""

    def __init__(self, terminal: StreamTerminal) -> None:
        self.terminal = terminal

    def connectionMade(self) -> None:
        self.terminal.network_made(self.transport)

    def dataReceived(self, data: bytes) -> None:
        self.terminal.server_data(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.terminal.network_lost(reason, tls_peer_chain(self.transport))


class StreamTerminal(_Terminal):
    """
    Interactive echo over TCP or TLS: stdin bytes to the server, echoes to stdout.

    Flow control both ways: the connection is stdin's consumer and stdout is the
    connection's, so a slow server pauses reading stdin and a slow stdout pauses reading
    the server (which then pauses too): memory stays bounded whatever is piped in.
    """

    def network_protocol(self) -> Protocol:
        """The protocol to connect to the server with."""
        return _StreamSide(self)

    def network_made(self, transport: Any) -> None:
        set_nodelay(transport)
        self.network = transport
        self._network_open = True

    def stdio_made(self, transport: Any) -> None:
        super().stdio_made(transport)
        if self._network_open:
            self.network.registerProducer(transport, True)
            transport.registerProducer(self.network, True)

    def stdin_data(self, data: bytes) -> None:
        if self._code is not None:
            return
        self.sent += len(data)
        self.network.write(data)

    def stdin_eof(self) -> None:
        if self._network_open:
            self.network.unregisterProducer()
        super().stdin_eof()

    def server_data(self, data: bytes) -> None:
        if self._stdio_open:
            self.stdio.write(data)
        self.network_data(len(data))

    def _close_network(self) -> None:
        if self._network_open:
            with contextlib.suppress(Exception):
                self.network.unregisterProducer()
            self.network.loseConnection()


class _DatagramSide(DatagramProtocol):
    """The socket end of a L{DatagramTerminal}, connected to the server."""

    def __init__(self, terminal: DatagramTerminal, address: tuple[str, int]) -> None:
        self.terminal = terminal
        self.address = address

    def startProtocol(self) -> None:
        self.transport.connect(*self.address)
        self.terminal.network_made(self.transport)

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        self.terminal.server_datagram(datagram)

    def connectionRefused(self) -> None:
        self.terminal.socket_refused()

    def stopProtocol(self) -> None:
        # An unexpected stop is a refusal: see DatagramCheckProtocol.stopProtocol.
        self.terminal.socket_refused()


class DatagramTerminal(_Terminal):
    """
    Interactive echo over UDP: each stdin line (without its newline) is one datagram, and
    each reply is printed followed by a newline. A last line without a newline is sent at
    the end of stdin.
    """

    unit = "datagram"

    def __init__(self, clock: IReactorTime, timeout: float, host: str, port: int) -> None:
        super().__init__(clock, timeout, host, port)
        self._partial = b""
        self._listening = False

    def network_protocol(self, address: tuple[str, int]) -> DatagramProtocol:
        """The protocol to listen with; it connects its socket to C{address}."""
        return _DatagramSide(self, address)

    def network_made(self, transport: Any) -> None:
        self.network = transport
        self._network_open = True
        self._listening = True

    def stdin_data(self, data: bytes) -> None:
        if self._code is not None:
            return
        *lines, self._partial = (self._partial + data).split(b"\n")
        for line in lines:
            self._send(line)

    def stdin_eof(self) -> None:
        if self._partial and self._code is None:
            self._send(self._partial)
        self._partial = b""
        super().stdin_eof()

    def _send(self, line: bytes) -> None:
        if self._code is not None:  # refused while sending an earlier line
            return
        if len(line) > MAX_DATAGRAM:
            self.messages.append(
                f"line {self.sent + 1} not sent: {len(line)} bytes, a datagram holds "
                f"{MAX_DATAGRAM}"
            )
            return
        self.sent += 1
        with contextlib.suppress(OSError, net_error.MessageLengthError):
            self.network.write(line)  # a datagram the socket refuses is one not echoed

    def socket_refused(self) -> None:
        """ICMP said nothing listens there (or the reactor stopped the port on it)."""
        if self._listening:
            self.network_lost(Failure(net_error.ConnectionRefusedError()))

    def server_datagram(self, datagram: bytes) -> None:
        if self._stdio_open:
            self.stdio.write(datagram + b"\n")
        self.network_data(1)

    def _close_network(self) -> None:
        self._network_open = False
        if self._listening:
            self._listening = False
            self.network.stopListening()


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
