"""
C{netsuite ping}'s Twisted adapter: L{PingProtocol} feeds a sans-IO
L{netsuite.client._ping_session.PingSession} the datagrams and times it needs, on a
connected UDP port or inside a DTLS client, and sends the probes it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import error as net_error
from twisted.internet.interfaces import IReactorTime

from netsuite.client._datagram_adapter import SessionDatagramProtocol
from netsuite.client._ping_session import PingSession, Reply

__all__ = ["PingProtocol"]


class PingProtocol(SessionDatagramProtocol[PingSession]):
    """
    Runs a L{PingSession} (see L{SessionDatagramProtocol}); C{on_reply} is called with
    each reply, and C{over_dtls} says a closed session is the server's close_notify.
    """

    def __init__(
        self,
        session: PingSession,
        address: tuple[str, int],
        clock: IReactorTime,
        now: Callable[[], float] | None = None,
        on_reply: Callable[[Reply], None] | None = None,
        over_dtls: bool = False,
    ) -> None:
        super().__init__(session, address, clock, now)
        self.over_dtls = over_dtls
        self.refused = False
        self.on_reply = on_reply

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

    def _send_one(self, probe: bytes) -> None:
        try:
            self.transport.write(probe)
        except net_error.MessageLengthError as e:
            self.session.stop(self.now(), f"a {len(probe)}-byte probe cannot be sent: {e}")
        except OSError:
            self.session.send_failed()  # a full socket buffer: lost, as on the wire
