"""
The UDP echo door, and the policy that makes it safe to expose.

An open UDP echo is a reflection amplifier: a spoofed datagram "from" another service's
port (chargen 19, DNS 53, another echo 7 ...) starts a loop or a flood at a victim.
L{DatagramGuard} decides, without any I/O, whether a datagram gets its echo:

  - never to a source port on the deny-list (and optionally to none below 1024);
  - never more bytes out than in (an echo is the same bytes, never more);
  - at most C{rate} bytes a second per source IP, C{burst} at once (token bucket), with
    the per-source state bounded to C{max_sources} entries (least recently seen go first).

Every refusal is counted by reason, in total and per source (datagrams in, out and
dropped by reason, for the same bounded set of sources). L{UDPEcho} is the thin Twisted adapter.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from twisted.internet.interfaces import IReactorTime, IUDPTransport
from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger

from netsuite.base._addresses import peer_key_of
from netsuite.base._logfields import split_name
from netsuite.base._metrics import Counters
from netsuite.limits._defaults import DEFAULT_DENIED_PORTS, MAX_SOURCES, UDP_BURST, UDP_RATE
from netsuite.limits._policy import SourceBuckets, SourceEntry

if TYPE_CHECKING:
    from _collections_abc import dict_items  # what dict.items() returns, in typeshed

__all__ = ["DEFAULT_DENIED_PORTS", "DatagramGuard", "UDPEcho"]

#: IPv4 + UDP header bytes, charged with every datagram so tiny ones are not free.
_HEADER_COST = 28


class GuardCounters(Counters):
    """
    The guard's counters as a L{Counters} view. The hot path counts in plain integer
    attributes of the guard (a dict update per event costs more than the echo's own
    work); this view copies them in whenever it is read.
    """

    def __init__(self, service: str, guard: DatagramGuard) -> None:
        super().__init__(service)
        self.guard = guard

    def sync(self) -> None:
        g = self.guard
        for name in ("received", "echoed", "bytes_in", "bytes_out"):
            value = getattr(g, name)
            if value:
                self[name] = value
        for reason, value in g.dropped.items():
            self["dropped." + reason] = value

    def snapshot(self) -> dict[str, int]:
        self.sync()
        return super().snapshot()

    def __getitem__(self, name: str) -> int:
        self.sync()
        return super().__getitem__(name)

    def items(self) -> dict_items[str, int]:
        self.sync()
        return super().items()


class DatagramGuard:
    """
    Whether each datagram may be echoed; sans-IO (time is passed in).

    @ivar counters: C{received}, C{echoed}, C{dropped.denied_port},
        C{dropped.privileged_port}, C{dropped.rate_limited}, C{dropped.send_failed},
        C{bytes_in}, C{bytes_out} (a L{GuardCounters} view, current when read).
    """

    def __init__(
        self,
        *,
        denied_ports: Iterable[int] = DEFAULT_DENIED_PORTS,
        deny_privileged: bool = False,
        rate: float = UDP_RATE,
        burst: float = UDP_BURST,
        max_sources: int = MAX_SOURCES,
        name: str = "echo/udp",
    ) -> None:
        self.denied_ports = frozenset(denied_ports)
        self.deny_privileged = deny_privileged
        self.buckets = SourceBuckets(rate, max(burst, 65_535 + _HEADER_COST), max_sources)
        self.received = self.echoed = self.bytes_in = self.bytes_out = 0
        self.dropped: Counter[str] = Counter()
        self.counters = GuardCounters(name, self)
        self._last: tuple[str, SourceEntry] | None = None

    def check(self, host: str, port: int, size: int, now: float) -> str | None:
        """
        L{None} if a datagram of C{size} bytes from C{(host, port)} may be echoed now,
        else the reason it is dropped (also counted as C{dropped.<reason>}).
        """
        self.received += 1
        self.bytes_in += size
        last = self._last
        if last is not None and last[0] == host:
            source = last[1]  # the same source as the last datagram: already the newest
        else:
            source = self.buckets.entry(host, now)
            self._last = (host, source)
        source.inn += 1
        if port in self.denied_ports:
            reason = "denied_port"
        elif self.deny_privileged and port < 1024:
            reason = "privileged_port"
        elif not source.bucket.take(size + _HEADER_COST, now):
            reason = "rate_limited"
        else:
            self.echoed += 1
            self.bytes_out += size
            source.out += 1
            return None
        self.dropped[reason] += 1
        source.counts["dropped." + reason] += 1
        return reason

    def limit_fields(self, reason: str) -> dict[str, object]:
        """The limit behind a drop reason, as log fields (C{limit}, C{limit_value})."""
        if reason == "rate_limited":
            return {"limit": "udp-rate", "limit_value": self.buckets.rate}
        if reason == "denied_port":
            return {"limit": "udp-deny-ports", "limit_value": sorted(self.denied_ports)}
        if reason == "privileged_port":
            return {"limit": "udp-deny-privileged", "limit_value": True}
        return {}

    def sources(self, limit: int = 100) -> dict[str, dict[str, int]]:
        """Per-source counts (in, out, dropped.<reason>) of the most recent sources."""
        return self.buckets.snapshot(limit)


class UDPEcho(DatagramProtocol):
    """
    Echo each allowed datagram back to its sender, whole (up to 65,507 bytes).

    Refusals are not answered (an answer is what an attacker wants) and are logged at
    most once a second, with the count, so a flood cannot flood the log too.
    """

    log = Logger()
    noisy = False
    #: Set by the port before L{startProtocol}; the echo never runs without one.
    transport: IUDPTransport

    def __init__(self, guard: DatagramGuard, clock: IReactorTime, name: str = "echo/udp") -> None:
        self.guard = guard
        self.clock = clock
        self.name = name
        self._last_log = float("-inf")
        self._unlogged = 0
        self._now = clock.seconds
        self._sendto: Callable[[bytes, tuple[str, int]], object] | None = None

    def startProtocol(self) -> None:
        """
        Bind the hot path's lookups once: the clock, and the socket's own C{sendto}. The
        reply goes to the address C{recvfrom} just gave, so Twisted's C{write} checks
        of it (2 µs a datagram) have nothing to find; other transports keep C{write}.
        """
        sock = getattr(self.transport, "socket", None)
        self._sendto = sock.sendto if sock is not None else self.transport.write

    def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
        host, port = addr[0], addr[1]
        now = self._now()
        reason = self.guard.check(host, port, len(datagram), now)
        if reason is None:
            try:
                (self._sendto or self.transport.write)(datagram, addr)
            except OSError:
                # The socket's send buffer is full (EAGAIN) or the peer is unreachable:
                # UDP may drop, and so do we, counted.
                self.guard.dropped["send_failed"] += 1
            return
        self._unlogged += 1
        if now - self._last_log >= 1.0:
            service, door = split_name(self.name, "udp")
            self.log.warn(
                "{name} dropped {count} datagram(s), latest from {host}:{port}: {reason}",
                **self.guard.limit_fields(reason),
                name=self.name,
                service=service,
                door=door,
                peer=peer_key_of(addr),
                count=self._unlogged,
                host=host,
                port=port,
                reason=reason.replace("_", " "),
            )
            self._last_log = now
            self._unlogged = 0
