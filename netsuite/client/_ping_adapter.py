"""
C{netsuite ping}'s Twisted adapter: L{PingProtocol} feeds a sans-IO
L{netsuite.client._ping_session.PingSession} the datagrams and times it needs, on a
connected UDP port or inside a DTLS client, and sends the probes it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import error as net_error
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.internet.protocol import DatagramProtocol

from netsuite.base._transports import IConnectedUDPTransport
from netsuite.client._common import Timer
from netsuite.client._ping_session import PingSession, Reply

__all__ = ["PingProtocol"]


class PingProtocol(DatagramProtocol):
    """
    Runs a L{PingSession} over a UDP port connected to C{address}, or inside a DTLS
    client (whose transport encrypts and is already connected there).

    Connected, so that only the server's replies arrive and an ICMP "port unreachable"
    is reported instead of looking like loss. C{on_reply} is called with each reply;
    C{finished} fires with the session when the run is over (the caller stops the port).
    C{now} is the clock probes are timed with (monotonic and fine-grained in real runs),
    C{clock} schedules the next probe.
    """

    transport: IConnectedUDPTransport  # set before startProtocol; see netsuite.base._transports

    noisy = False

    def __init__(
        self,
        session: PingSession,
        address: tuple[str, int],
        clock: IReactorTime,
        now: Callable[[], float] | None = None,
        on_reply: Callable[[Reply], None] | None = None,
        over_dtls: bool = False,
    ) -> None:
        self.session = session
        self.over_dtls = over_dtls
        self.refused = False
        self.address = address
        self.clock = clock
        self.now = now or clock.seconds
        self.on_reply = on_reply
        self.finished: Deferred[PingSession] = Deferred()
        self._timer = Timer(clock, self.now, self._expire)

    def startProtocol(self) -> None:
        self.transport.connect(*self.address)
        self._send(self.session.start(self.now()))
        self._next()

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        reply = self.session.received(datagram, self.now())
        if reply is not None and self.on_reply is not None:
            self.on_reply(reply)
        self._next()

    def connectionRefused(self) -> None:
        if self.session.done:
            return
        self.refused = True
        self.stop("connection refused")

    def stopProtocol(self) -> None:
        """
        The port stopped (or the DTLS session ended): ours once done, else not. The
        poll-like reactors drop a connected UDP port on the error an ICMP "port
        unreachable" leaves instead of calling L{connectionRefused} (Twisted #5377,
        #6467); a DTLS session ends on the server's close_notify.
        """
        self._timer.cancel()
        if not self.session.done:
            if self.over_dtls:
                self.stop("the server closed the DTLS session")
            else:
                self.connectionRefused()

    def stop(self, error: str | None = None, interrupted: bool = False) -> None:
        """End the run now: C{error} says why, or the user C{interrupted} it."""
        self.session.stop(self.now(), error, interrupted)
        self._next()

    def _expire(self) -> None:
        self._send(self.session.expire(self.now()))
        self._next()

    def _send(self, probes: list[bytes]) -> None:
        for probe in probes:
            if self.session.done:  # refused while sending (write reports it at once)
                return
            try:
                self.transport.write(probe)
            except net_error.MessageLengthError as e:
                self.session.stop(self.now(), f"a {len(probe)}-byte probe cannot be sent: {e}")
                return
            except OSError:
                self.session.send_failed()  # a full socket buffer: lost, as on the wire

    def _next(self) -> None:
        if self.session.done:
            self._timer.cancel()
            if not self.finished.called:
                self.finished.callback(self.session)
        else:
            self._timer.set(self.session.next_deadline())
