"""
C{netsuite ping}: UDP probes to an echo server, with ping's lines and an iperf3-like summary.

Each probe is a L{netsuite.datagram._probe} datagram; any RFC 862 echo (C{twistd
netsuite-echo}, a UDP C{nc -e cat}) returns it, and the reply carries its own send time.
One line per reply (C{64 bytes from 127.0.0.1:7007: seq=3 time=0.123 ms}), then a summary:
sent, received, lost, duplicates, reordered, round trips (min/avg/max/mdev, p99) and the
RFC 3550 jitter. C{--json} prints only the summary, as one JSON object.

Pacing follows the reactor's clock (one rearmed C{callLater}): probe I is due I intervals
after the start (C{--interval}, or C{1/--rate}). The run ends after C{--count} probes or
C{--duration} seconds, once every reply is in or C{--timeout} seconds after the last
probe; without either it runs until Ctrl-C, which (as SIGTERM) prints the summary so far.
On runs longer than a few seconds a progress line is kept up to date on stderr, when
stderr is a terminal.

C{--dtls} sends the same probes inside DTLS 1.2 (L{netsuite.tls._dtls_client}): the server
is verified as C{netsuite echo --tls} verifies it (C{--ca}, C{--cert}, C{--key}, and
C{--insecure} to skip the check, with a warning).

Layout: L{netsuite.client._ping_session.PingSession} (sans-IO) decides everything;
L{netsuite.client._ping_adapter.PingProtocol} is its Twisted adapter on a UDP port (or
inside a DTLS client); L{netsuite.client._ping_terminal.Progress} the stderr line; here are
the arguments, the output of a run, and L{run}, which wires them to the reactor.

Exit status: 0 if any reply came back, 1 if none did (or the server refused, or the DTLS
handshake failed), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twisted.internet import error as net_error
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from netsuite.client._common import (
    add_tls_arguments,
    check_tls_arguments,
    connection_failure_message,
    describe_endpoint,
    dtls_client_options,
    port_number,
    positive_int,
    positive_seconds,
    react_command,
    resolve_udp,
    say,
)
from netsuite.client._ping_adapter import PingProtocol
from netsuite.client._ping_session import (
    DEFAULT_INTERVAL,
    DEFAULT_SIZE,
    DEFAULT_TIMEOUT,
    PingSession,
    Reply,
    format_reply,
    format_summary,
)
from netsuite.client._ping_terminal import PROGRESS_EVERY, Progress
from netsuite.client.main import CommandLineError
from netsuite.datagram._probe import HEADER_SIZE, MAX_SIZE

__all__ = [
    "NAME",
    "SUMMARY",
    "add_arguments",
    "dtls_failure_message",
    "run",
]

NAME = "ping"
SUMMARY = "Send UDP probes to an echo server: loss, duplicates, reordering, RTT, jitter."
PROG = "netsuite ping"

#: Seconds a DTLS handshake may take (OpenSSL retransmits within it).
HANDSHAKE_TIMEOUT = 10.0


# -- the command -------------------------------------------------------------------------


def _probe_size(text: str) -> int:
    value = positive_int(text)
    if not HEADER_SIZE <= value <= MAX_SIZE:
        raise argparse.ArgumentTypeError(f"{value}: a probe is {HEADER_SIZE} to {MAX_SIZE} bytes")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of probes a second") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of probes a second")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of C{netsuite ping}."""
    parser.add_argument("host", metavar="HOST", help="server name or IP address")
    parser.add_argument("port", metavar="PORT", type=port_number, help="server UDP port")
    parser.add_argument(
        "-c", "--count", metavar="N", type=positive_int, help="probes to send (default: no limit)"
    )
    parser.add_argument(
        "-i",
        "--interval",
        metavar="S",
        type=positive_seconds,
        help=f"seconds between probes (default {DEFAULT_INTERVAL:g})",
    )
    parser.add_argument(
        "--rate", metavar="PPS", type=_rate, help="probes a second (overrides --interval)"
    )
    parser.add_argument(
        "-s",
        "--size",
        metavar="B",
        type=_probe_size,
        default=DEFAULT_SIZE,
        help=f"bytes a probe, {HEADER_SIZE}-{MAX_SIZE} (default %(default)d)",
    )
    parser.add_argument(
        "-w",
        "--duration",
        metavar="S",
        type=positive_seconds,
        help="seconds to send for (default: no limit)",
    )
    parser.add_argument(
        "-W",
        "--timeout",
        metavar="S",
        type=positive_seconds,
        default=DEFAULT_TIMEOUT,
        help="seconds to wait for replies after the last probe (default %(default)g)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print only the summary, as one JSON object"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no line per reply, only the summary"
    )
    parser.add_argument(
        "--udp", action="store_true", help="probes are UDP datagrams (the default; no effect)"
    )
    dtls = parser.add_argument_group("DTLS")
    dtls.add_argument(
        "--dtls",
        action="store_true",
        help="probes inside DTLS 1.2; the server's certificate must name HOST",
    )
    add_tls_arguments(dtls, "--dtls")


@dataclass(frozen=True)
class _Plan:
    """What C{netsuite ping} was asked to do, with the defaults filled in."""

    host: str
    port: int
    interval: float
    size: int
    count: int | None
    duration: float | None
    timeout: float
    json: bool
    quiet: bool
    dtls: Any  # DTLSClientOptions, or None for plain UDP
    ca: str | None = None

    @property
    def transport(self) -> str:
        return "dtls" if self.dtls is not None else "udp"


class _Run:
    """One run's output: per-reply lines, the progress line, the summary, the status."""

    def __init__(self, plan: _Plan, address: str, now: Callable[[], float]) -> None:
        self.plan = plan
        self.where = describe_endpoint(address, plan.port)
        self.now = now
        self.session = PingSession(
            interval=plan.interval,
            size=plan.size,
            count=plan.count,
            duration=plan.duration,
            timeout=plan.timeout,
        )
        self.protocol: PingProtocol | None = None
        self.progress = Progress(self.session, sys.stderr, now) if sys.stderr.isatty() else None
        self.reported = False

    def header(self) -> None:
        if self.plan.json:
            return
        print(
            f"PING {self.where} ({self.plan.transport}): {self.plan.size}-byte probes "
            f"every {self.plan.interval:g} s",
            flush=True,
        )

    def reply(self, reply: Reply) -> None:
        if self.plan.json or self.plan.quiet:
            return
        if self.progress is not None:
            self.progress.clear()
        print(format_reply(reply, self.where), flush=True)

    def report(self) -> int:
        """Print the summary (once); return the exit status."""
        if self.progress is not None:
            self.progress.clear()
        session = self.session
        code = 0 if session.stats.received else 1
        if self.reported:
            return code
        self.reported = True
        summary = session.summary()
        error = session.error
        if self.protocol is not None and self.protocol.refused:
            error = connection_failure_message(
                Failure(net_error.ConnectionRefusedError()), self.plan.host, self.plan.port
            )
            summary["error"] = error
        if self.plan.json:
            summary = {
                "host": self.plan.host,
                "address": self.where,
                "transport": self.plan.transport,
                **summary,
            }
            print(json.dumps(summary), flush=True)
        elif not (error and not session.stats.received):
            # (Nothing came back and we know why: the one line below says it all.)
            print(flush=True)
            for line in format_summary(summary, self.where, self.plan.transport):
                print(line, flush=True)
        if error:
            say(PROG, error)
        return code

    def interrupt(self) -> int | None:
        """Ctrl-C or SIGTERM: stop where we are and report (before any reply: no summary)."""
        if self.protocol is None or self.session.started_at is None:
            return None
        self.protocol.stop(interrupted=True)
        return self.report()


def dtls_failure_message(reason: str, host: str, port: int, ca: str | None) -> str:
    """
    One line for a failed DTLS handshake (C{reason} as L{DTLSHandshakeError} has it),
    worded as L{connection_failure_message} words TLS failures.
    """
    name_check = re.fullmatch(r"VerificationError\(errors='(.*)'\)", reason)
    if name_check or reason.startswith("certificate does not match"):
        text = name_check[1] if name_check else reason
        return f"DTLS verification failed for {host}: {text}"
    if "certificate verify failed" in reason:
        trust = f"the CA in {ca}" if ca else "a system-trusted CA (--ca FILE trusts another)"
        return f"DTLS verification failed for {host}: the certificate does not chain to {trust}"
    return f"DTLS handshake with {describe_endpoint(host, port)} failed: {reason}"


async def _ping(reactor: Any, plan: _Plan, runs: list[_Run]) -> int:
    """The whole command on a running reactor; returns the exit status."""
    try:
        address, interface = await resolve_udp(reactor, plan.host, plan.port)
    except OSError:
        say(PROG, connection_failure_message(Failure(), plan.host, plan.port))
        return 1
    now = time.perf_counter
    run = _Run(plan, address, now)
    runs.append(run)
    proto = PingProtocol(
        run.session,
        (address, plan.port),
        reactor,
        now,
        on_reply=run.reply,
        over_dtls=plan.dtls is not None,
    )
    ticker = None
    if plan.dtls is not None:
        from netsuite.tls._dtls_client import DTLSClientProtocol, DTLSHandshakeError

        client: Any = DTLSClientProtocol(
            proto,
            (address, plan.port),
            plan.dtls,
            reactor,
            handshake_timeout=HANDSHAKE_TIMEOUT,
        )
        port = reactor.listenUDP(0, client, interface=interface, maxPacketSize=65535)
        try:
            await client.handshake
        except DTLSHandshakeError as e:
            await _maybe(port.stopListening())
            say(PROG, dtls_failure_message(str(e), plan.host, plan.port, plan.ca))
            return 1
    else:
        client = None
        port = reactor.listenUDP(0, proto, interface=interface, maxPacketSize=65535)
    run.protocol = proto
    run.header()
    if run.progress is not None:
        from twisted.internet.task import LoopingCall

        ticker = LoopingCall(run.progress.tick)
        ticker.clock = reactor
        ticker.start(PROGRESS_EVERY, now=False)
    try:
        await proto.finished
    finally:
        if ticker is not None and ticker.running:
            ticker.stop()
        if client is not None:
            client.close()
        await _maybe(port.stopListening())
    return run.report()


async def _maybe(result: Any) -> None:
    if isinstance(result, Deferred):
        await result


def _validate(args: argparse.Namespace) -> None:
    check_tls_arguments(args, args.dtls, "--dtls")
    if args.json and args.quiet:
        raise CommandLineError("--json prints no reply lines already: --quiet is not needed")


def run(args: argparse.Namespace) -> int:
    """Run C{netsuite ping} with parsed C{args}; returns the exit status."""
    _validate(args)
    interval = 1 / args.rate if args.rate else (args.interval or DEFAULT_INTERVAL)
    plan = _Plan(
        host=args.host,
        port=args.port,
        interval=interval,
        size=args.size,
        count=args.count,
        duration=args.duration,
        timeout=args.timeout,
        json=args.json,
        quiet=args.quiet,
        dtls=dtls_client_options(PROG, args.host, args) if args.dtls else None,
        ca=args.ca,
    )
    runs: list[_Run] = []

    def interrupted() -> int | None:
        with contextlib.suppress(IndexError):
            return runs[0].interrupt()
        return None

    return react_command(PROG, lambda reactor: _ping(reactor, plan, runs), interrupted)
