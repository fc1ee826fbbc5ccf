"""
What the datagram clients' Twisted adapters share (C{netsuite echo --udp}'s check,
C{netsuite ping}): a sans-IO session on a connected UDP port, asked what to send when it
starts, when a datagram arrives and when its next deadline passes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.internet.protocol import DatagramProtocol

from netsuite.base._transports import IConnectedUDPTransport
from netsuite.client._common import Timer

__all__ = ["SessionDatagramProtocol", "TimedSession"]


class TimedSession(Protocol):
    """What the adapter asks of a session: payloads to send, deadlines, and whether done."""

    @property
    def done(self) -> bool: ...

    def start(self, now: float) -> list[bytes]: ...

    def expire(self, now: float) -> list[bytes]: ...

    def next_deadline(self) -> float | None: ...


S = TypeVar("S", bound=TimedSession)


class SessionDatagramProtocol(DatagramProtocol, Generic[S]):
    """
    Runs a session over a UDP port connected to C{address}, or inside a DTLS client
    (whose transport encrypts and is already connected there).

    Connected, so that only the server's replies arrive and an ICMP "port unreachable"
    is reported instead of looking like loss. C{finished} fires with the session when it
    is done (the caller stops the port). C{now} is the clock payloads are timed with
    (monotonic and fine-grained in real runs), C{clock} schedules the next deadline.
    Subclasses say how one payload is sent (L{_send_one}) and what a datagram means.
    """

    transport: IConnectedUDPTransport  # set before startProtocol; see netsuite.base._transports
    noisy = False

    def __init__(
        self,
        session: S,
        address: tuple[str, int],
        clock: IReactorTime,
        now: Callable[[], float] | None = None,
    ) -> None:
        self.session = session
        self.address = address
        self.clock = clock
        self.now = now or clock.seconds
        self.finished: Deferred[S] = Deferred()
        self._timer = Timer(clock, self.now, self._expire)

    def startProtocol(self) -> None:
        self.transport.connect(*self.address)
        self._send(self.session.start(self.now()))
        self._next()

    def _expire(self) -> None:
        self._send(self.session.expire(self.now()))
        self._next()

    def _send(self, payloads: list[bytes]) -> None:
        for payload in payloads:
            if self.session.done:  # refused while sending (write reports it at once)
                return
            self._send_one(payload)

    def _send_one(self, payload: bytes) -> None:
        """Write C{payload}; what a failure means is the subclass's to say."""
        raise NotImplementedError

    def _next(self) -> None:
        if self.session.done:
            self._timer.cancel()
            if not self.finished.called:
                self.finished.callback(self.session)
        else:
            self._timer.set(self.session.next_deadline())
