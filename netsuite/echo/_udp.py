"""
The UDP echo door, and the policy that makes it safe to expose.

An open UDP echo is a reflection amplifier: a spoofed datagram "from" another service's
port (chargen 19, DNS 53, another echo 7 ...) starts a loop or a flood at a victim, and
one datagram forged from one echo's port to another's makes the two bounce it between
them for ever (CVE-2024-2169). L{DatagramGuard} decides, without any I/O, whether a
datagram gets its echo; the checks, in order:

  - never to a source port on the deny-list (and optionally to none below 1024);
  - loop damping, per flow (source address and port): a datagram equal to one of the
    last 8 echoed to that flow (C{REPLY_MEMORY}) is a repeat, what a peer that is
    itself an echo sends back. Repeats are answered at C{loop_rate} a second (as many
    at once); the first repeat beyond that mutes the flow: nothing from it is answered
    until it has sent nothing for C{loop_quiet} seconds. Two cross-wired echoes stop
    after 13 datagrams (each answers C{loop_rate} repeats, the next is dropped);
  - at most C{source_packets} datagrams and C{source_bytes} bytes a second per flow
    (one second's worth at once), so tiny datagrams are bounded too;
  - at most C{rate} bytes a second per source IP, C{burst} at once;
  - at most C{global_packets} datagrams and C{global_bytes} bytes a second over all
    sources (one second's worth at once), so spoofing many sources does not help;
  - never more bytes out than in (an echo is the same bytes, never more).

Every budget is a token bucket; the per-source state is bounded to C{max_sources} IPs
and as many flows (least recently seen go first). Every refusal is counted by reason,
in total and per source IP. L{UDPEcho} is the thin Twisted adapter; it logs drops in
batches, one event a second at most with a line per reason, never a line per drop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from twisted.internet.interfaces import IDelayedCall, IReactorTime, IUDPTransport
from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger, LogLevel

from netsuite.base._addresses import peer_key_of
from netsuite.base._logbatch import LogBatch
from netsuite.base._logfields import split_name
from netsuite.base._metrics import Counters
from netsuite.limits import _defaults as defaults
from netsuite.limits._defaults import DEFAULT_DENIED_PORTS
from netsuite.limits._policy import FlowEntry, FlowTable, SourceBuckets, SourceEntry, TokenBucket

if TYPE_CHECKING:
    from _collections_abc import dict_items  # what dict.items() returns, in typeshed

__all__ = ["DEFAULT_DENIED_PORTS", "DatagramGuard", "UDPEcho"]

#: IPv4 + UDP header bytes, charged with every datagram so tiny ones are not free.
_HEADER_COST = 28
#: The largest datagram, with its header cost: every byte budget holds one at least.
_WHOLE = 65_535 + _HEADER_COST
#: How much of a datagram its fingerprint covers: enough to tell a probe's sequence
#: number or a client's random payload apart, and a constant cost per datagram.
_FINGERPRINT_PREFIX = 64
#: Seconds between drop log events: each carries one line per reason since the last.
DROP_LOG_INTERVAL = 1.0


def fingerprint(datagram: bytes) -> int:
    """
    What L{DatagramGuard} remembers of a datagram it echoed, to recognise it coming back:
    its length and its first L{_FINGERPRINT_PREFIX} bytes (a slice of a short datagram
    is the datagram itself, no copy). Two datagrams with equal fingerprints differ, if at
    all, after that prefix: at worst a repeat is seen where there is none, which costs
    that flow's repeat budget, never another flow's.
    """
    return hash(datagram[:_FINGERPRINT_PREFIX]) ^ len(datagram)


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

    @ivar counters: C{received}, C{echoed}, C{bytes_in}, C{bytes_out}, and
        C{dropped.<reason>} for each reason L{check} returns, and C{dropped.send_failed}
        (a L{GuardCounters} view, current when read).
    """

    def __init__(
        self,
        *,
        denied_ports: Iterable[int] = DEFAULT_DENIED_PORTS,
        deny_privileged: bool = False,
        rate: float = defaults.UDP_RATE,
        burst: float = defaults.UDP_BURST,
        max_sources: int = defaults.MAX_SOURCES,
        source_packets: float = defaults.UDP_SOURCE_PACKETS,
        source_bytes: float = defaults.UDP_SOURCE_BYTES,
        global_packets: float = defaults.UDP_GLOBAL_PACKETS,
        global_bytes: float = defaults.UDP_GLOBAL_BYTES,
        loop_rate: float = defaults.UDP_LOOP_RATE,
        loop_quiet: float = defaults.UDP_LOOP_QUIET,
        name: str = "echo/udp",
    ) -> None:
        self.denied_ports = frozenset(denied_ports)
        self.deny_privileged = deny_privileged
        self.buckets = SourceBuckets(rate, max(burst, _WHOLE), max_sources)
        self.flows = FlowTable(
            source_packets, source_bytes, loop_rate, max_sources, least_burst=_WHOLE
        )
        self.global_packets = TokenBucket(global_packets, max(global_packets, 1.0))
        self.global_bytes = TokenBucket(global_bytes, max(global_bytes, _WHOLE))
        self.loop_quiet = loop_quiet
        self.received = self.echoed = self.bytes_in = self.bytes_out = 0
        self.dropped: Counter[str] = Counter()
        self.counters = GuardCounters(name, self)
        self._last: tuple[str, SourceEntry] | None = None
        self._last_flow: tuple[str, int, FlowEntry] | None = None

    def check(
        self, host: str, port: int, size: int, now: float, data: bytes | None = None
    ) -> str | None:
        """
        L{None} if a datagram of C{size} bytes from C{(host, port)} may be echoed now,
        else the reason it is dropped (also counted as C{dropped.<reason>}): C{denied_port},
        C{privileged_port}, C{loop}, C{source_packets}, C{source_bytes}, C{rate_limited}
        (the per-IP byte budget), C{global_packets}, C{global_bytes}.

        @param data: the datagram itself, for loop damping (without it, none: the other
            checks need only its size). A refused datagram may have spent the budgets
            checked before the one that refused it, never those after: a flow over its
            own budget does not spend the global one.
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
        cost = size + _HEADER_COST
        digest: int | None = None
        if port in self.denied_ports:
            reason = "denied_port"
        elif self.deny_privileged and port < 1024:
            reason = "privileged_port"
        else:
            last_flow = self._last_flow
            if last_flow is not None and last_flow[1] == port and last_flow[0] == host:
                flow = last_flow[2]
            else:
                flow = self.flows.entry((host, port), now)
                self._last_flow = (host, port, flow)
            if now < flow.muted_until or (
                # muted (and not quiet yet), or a repeat beyond the repeat budget
                data is not None
                and (digest := fingerprint(data)) in flow.replies
                and not flow.repeats.take(1, now)
            ):
                flow.muted_until = now + self.loop_quiet
                reason = "loop"
            elif not flow.packets.take(1, now):
                reason = "source_packets"
            elif not flow.octets.take(cost, now):
                reason = "source_bytes"
            elif not source.bucket.take(cost, now):
                reason = "rate_limited"
            elif not self.global_packets.take(1, now):
                reason = "global_packets"
            elif not self.global_bytes.take(cost, now):
                reason = "global_bytes"
            else:
                if digest is not None:
                    flow.replied(digest)
                self.echoed += 1
                self.bytes_out += size
                source.out += 1
                return None
        self.dropped[reason] += 1
        source.counts["dropped." + reason] += 1
        return reason

    def limit_fields(self, reason: str) -> dict[str, object]:
        """The limit behind a drop reason, as log fields (C{limit}, C{limit_value})."""
        value: object
        if reason == "rate_limited":
            option, value = "udp-rate", self.buckets.rate
        elif reason == "denied_port":
            option, value = "udp-deny-ports", sorted(self.denied_ports)
        elif reason == "privileged_port":
            option, value = "udp-deny-privileged", True
        elif reason == "loop":
            option, value = "udp-loop-rate", self.flows.repeats
        elif reason == "source_packets":
            option, value = "udp-source-packets", self.flows.packets
        elif reason == "source_bytes":
            option, value = "udp-source-bytes", self.flows.octets
        elif reason == "global_packets":
            option, value = "udp-global-packets", self.global_packets.rate
        elif reason == "global_bytes":
            option, value = "udp-global-bytes", self.global_bytes.rate
        else:
            return {}
        return {"limit": option, "limit_value": value}

    def sources(self, limit: int = 100) -> dict[str, dict[str, int]]:
        """Per-source counts (in, out, dropped.<reason>) of the most recent sources."""
        return self.buckets.snapshot(limit)


class UDPEcho(DatagramProtocol):
    """
    Echo each allowed datagram back to its sender, whole (up to 65,507 bytes).

    Refusals are not answered (an answer is what an attacker wants). They are logged in
    batches: the first drop starts a L{DROP_LOG_INTERVAL} timer, and when it fires one
    log event (a L{LogBatch}) carries one line per reason seen since, with the count and
    the latest source, so a flood cannot flood the log too.
    """

    log = Logger()
    noisy = False
    #: Set by the port before L{startProtocol}; the echo never runs without one.
    transport: IUDPTransport

    def __init__(self, guard: DatagramGuard, clock: IReactorTime, name: str = "echo/udp") -> None:
        self.guard = guard
        self.clock = clock
        self.name = name
        self._now = clock.seconds
        self._sendto: Callable[[bytes, tuple[str, int]], object] | None = None
        self._batch = LogBatch(self.log, clock, "udp_drops", level=LogLevel.warn)
        #: Drops not logged yet, by reason, and the latest source of each.
        self._unlogged: Counter[str] = Counter()
        self._latest: dict[str, tuple[str, int]] = {}
        self._due: IDelayedCall | None = None

    def startProtocol(self) -> None:
        """
        Bind the hot path's lookups once: the clock, and the socket's own C{sendto}. The
        reply goes to the address C{recvfrom} just gave, so Twisted's C{write} checks
        of it (2 µs a datagram) have nothing to find; other transports keep C{write}.
        """
        sock = getattr(self.transport, "socket", None)
        self._sendto = sock.sendto if sock is not None else self.transport.write

    def stopProtocol(self) -> None:
        """The port is closing: what is not logged yet leaves now, no timer stays."""
        self.flush_drops()

    def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
        host, port = addr[0], addr[1]
        reason = self.guard.check(host, port, len(datagram), self._now(), datagram)
        if reason is None:
            try:
                (self._sendto or self.transport.write)(datagram, addr)
            except OSError:
                # The socket's send buffer is full (EAGAIN) or the peer is unreachable:
                # UDP may drop, and so do we, counted.
                self.guard.dropped["send_failed"] += 1
            return
        self._unlogged[reason] += 1
        self._latest[reason] = (host, port)
        if self._due is None:
            self._due = self.clock.callLater(DROP_LOG_INTERVAL, self._timer)

    def _timer(self) -> None:
        self._due = None
        self.flush_drops()

    def flush_drops(self) -> None:
        """Log the drops counted since the last batch: one event, a line per reason."""
        due, self._due = self._due, None
        if due is not None and due.active():
            due.cancel()
        unlogged, self._unlogged = self._unlogged, Counter()
        latest, self._latest = self._latest, {}
        service, door = split_name(self.name, "udp")
        for reason, count in unlogged.items():
            host, port = latest[reason]
            text = reason.replace("_", " ")
            fields: dict[str, Any] = {
                **self.guard.limit_fields(reason),
                "name": self.name, "service": service, "door": door,
                "peer": peer_key_of((host, port)), "count": count,
                "host": host, "port": port, "reason": text,
            }  # fmt: skip
            self._batch.add(
                f"{self.name} dropped {count} datagram(s), latest from {host}:{port}: {text}",
                fields,
            )
        self._batch.flush()
