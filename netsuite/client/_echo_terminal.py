"""
C{netsuite echo} without C{--count}: stdin to the server, the server to stdout.

L{StreamTerminal} (TCP, TLS) and L{DatagramTerminal} (UDP, a datagram a line) join standard
input and output to one connection; at the end of stdin they wait, at most C{--timeout}
seconds, until every byte sent has come back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from cryptography import x509
from twisted.internet import error as net_error
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IDelayedCall,
    IReactorTime,
)
from twisted.internet.protocol import DatagramProtocol, Protocol, connectionDone
from twisted.python.failure import Failure

from netsuite.base._transports import IConnectedUDPTransport
from netsuite.client._check import (
    MAX_DATAGRAM,
)
from netsuite.client._common import (
    StdioSide,
    connection_failure_message,
    is_tls_failure,
    set_nodelay,
    tls_peer_chain,
)

__all__ = ["DatagramTerminal", "StreamTerminal"]


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

    transport: IConnectedUDPTransport  # set before startProtocol; see netsuite.base._transports

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
