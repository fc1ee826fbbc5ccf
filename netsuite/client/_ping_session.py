"""
Sans-IO C{netsuite ping}: when each probe is due, what each reply means, the summary.

A L{PingSession} is fed times (seconds on one monotonic clock) and datagrams, and returns
the probes to send; it never reads a clock or touches a socket, so pacing, loss,
duplicates, reordering and the end of a run are tested with plain calls, and the Twisted
adapter in L{netsuite.client._ping} only moves datagrams and arms one timer.

Probes are L{netsuite.datagram._probe} datagrams: sequence numbers from 0, the send time
(on the session's clock, in nanoseconds) inside, so a reply carries its own round trip
and any RFC 862 echo serves. Probe I is due at C{I * interval} after the start; a stalled
reactor catches up with at most L{MAX_BURST} probes at once and lets the rest of the
schedule slip (a flood after a pause would measure the pause, not the path).

What a reply counts as (exactly what L{netsuite.datagram.Sequencer} says of its arrival):

  - the first copy of a probe is I{received}; its round trip feeds the RTT statistics
    and the RFC 3550 jitter (L{netsuite.datagram.PingStats});
  - it is I{reordered} if a probe sent after it came back before it;
  - every further copy is a I{duplicate} (printed, not measured);
  - a probe is I{lost} if no copy came back before the run ended.

The run ends when sending is over (C{count} probes sent, or C{duration} seconds passed)
and either every probe came back or C{timeout} seconds passed since the last one was
sent; or earlier, by L{PingSession.stop} (Ctrl-C, ICMP "port unreachable").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from netsuite.datagram._probe import HEADER_SIZE, MAX_SIZE, ProbeError, decode, encode
from netsuite.datagram._sequencer import Sequencer
from netsuite.datagram._stats import PingStats

__all__ = [
    "DEFAULT_INTERVAL",
    "DEFAULT_SIZE",
    "DEFAULT_TIMEOUT",
    "MAX_BURST",
    "PingSession",
    "Reply",
    "format_reply",
    "format_summary",
]

#: Seconds between probes, as ping's.
DEFAULT_INTERVAL = 1.0
#: Bytes a probe (the UDP payload), as ping's 64-byte ICMP echo.
DEFAULT_SIZE = 64
#: Seconds to wait for replies after the last probe.
DEFAULT_TIMEOUT = 2.0
#: Most probes sent at once to catch up with the schedule after a stall.
MAX_BURST = 100
#: Sequence numbers the sequencer holds ahead of a hole (bounds its memory).
SEQUENCER_WINDOW = 65536

# Probes due "now" may be computed a hair early in floating point: forgive that much.
_EPSILON = 1e-9


@dataclass(frozen=True)
class Reply:
    """One datagram that came back: which probe, its size, and what it counts as."""

    seq: int
    size: int
    rtt_ms: float
    duplicate: bool = False
    reordered: bool = False


class PingSession:
    """
    One run of probes.

    @ivar interval: seconds between probes.
    @ivar size: bytes a probe (L{HEADER_SIZE} to L{MAX_SIZE}).
    @ivar count: probes to send, or L{None} for no limit.
    @ivar duration: seconds to send for, or L{None} for no limit.
    @ivar timeout: seconds to wait for replies after the last probe.
    @ivar stats: the L{PingStats} (sent, received, RTTs, jitter, duplicates, reordered).
    @ivar ignored: datagrams that were not replies to this run's probes.
    @ivar send_errors: probes the local socket refused to send (counted sent, and lost).
    @ivar error: why the run stopped early (a message for the user), if it did.
    @ivar interrupted: the run was stopped by the user.
    """

    def __init__(
        self,
        *,
        interval: float = DEFAULT_INTERVAL,
        size: int = DEFAULT_SIZE,
        count: int | None = None,
        duration: float | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not interval > 0 or math.isinf(interval):
            raise ValueError(f"interval {interval}: expected a positive number of seconds")
        if not HEADER_SIZE <= size <= MAX_SIZE:
            raise ValueError(f"size {size}: a probe is {HEADER_SIZE} to {MAX_SIZE} bytes")
        if count is not None and count < 1:
            raise ValueError(f"count {count}: expected at least 1")
        self.interval = interval
        self.size = size
        self.count = count
        self.duration = duration
        self.timeout = timeout
        self.stats = PingStats()
        self.sequencer = Sequencer(window=SEQUENCER_WINDOW, gap_timeout=timeout)
        self.ignored = 0
        self.send_errors = 0
        self.error: str | None = None
        self.interrupted = False
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self._origin = 0.0  # when probe 0 was (or would have been) due; slips after stalls
        self._last_sent_at: float | None = None
        self._sending_over = False
        self._late: set[int] = set()  # given up on by the sequencer, then came back

    # -- sending ---------------------------------------------------------------------

    def start(self, now: float) -> list[bytes]:
        """Begin the run at C{now}: the first probe, at once."""
        if self.started_at is not None:
            raise RuntimeError("the run has already started")
        self.started_at = self._origin = now
        return self.due(now)

    def due(self, now: float) -> list[bytes]:
        """The probes due by C{now} (none once sending is over)."""
        if self.started_at is None or self.done:
            return []
        self._check_sending(now)
        if self._sending_over:
            return []
        wanted = math.floor((now - self._origin) / self.interval + _EPSILON) + 1
        if self.count is not None:
            wanted = min(wanted, self.count)
        if self.duration is not None:
            # Only the probes due before the duration is up.
            end = self.started_at + self.duration
            wanted = min(wanted, math.ceil((end - self._origin) / self.interval - _EPSILON))
        behind = wanted - self.stats.sent
        if behind > MAX_BURST:
            self._origin += (behind - MAX_BURST) * self.interval
            behind = MAX_BURST
        probes = []
        for _ in range(max(0, behind)):
            probes.append(encode(self.stats.sent, round(now * 1e9), self.size))
            self.stats.sent += 1
        if probes:
            self._last_sent_at = now
        self._check_sending(now)
        return probes

    def _check_sending(self, now: float) -> None:
        if self._sending_over:
            return
        assert self.started_at is not None
        if (self.count is not None and self.stats.sent >= self.count) or (
            self.duration is not None and now >= self.started_at + self.duration - _EPSILON
        ):
            self._sending_over = True

    def send_failed(self) -> None:
        """The socket refused one of the probes just returned (full buffer): it is lost."""
        self.send_errors += 1

    @property
    def sending(self) -> bool:
        """Probes are still to be sent."""
        return self.started_at is not None and not self._sending_over and not self.done

    # -- receiving -------------------------------------------------------------------

    def received(self, datagram: bytes, now: float) -> Reply | None:
        """
        Take a datagram that came back at C{now}; return what it is, or L{None} if it is
        not a reply to one of this run's probes (counted in C{ignored}).
        """
        if self.started_at is None or self.done:
            return None
        try:
            probe = decode(datagram)
        except ProbeError:
            self.ignored += 1
            return None
        sent_at = probe.sent_ns / 1e9
        if probe.seq >= self.stats.sent or not self.started_at - 1e-6 <= sent_at <= now + 1e-6:
            self.ignored += 1  # not a probe of this run (another run's, or mangled)
            return None
        rtt = max(0.0, now - sent_at) * 1000
        seq_stats = self.sequencer.stats
        duplicates, reordered, late = (
            seq_stats.duplicates,
            seq_stats.reordered,
            seq_stats.late,
        )
        self.sequencer.receive(probe.seq, None, now)
        if seq_stats.late > late:
            # Came back after the sequencer gave up on it: the first copy is a reordered
            # reply (later probes had come back); any further copy a duplicate.
            first = probe.seq not in self._late
            self._late.add(probe.seq)
            reply = Reply(probe.seq, probe.size, rtt, duplicate=not first, reordered=first)
        elif seq_stats.duplicates > duplicates:
            reply = Reply(probe.seq, probe.size, rtt, duplicate=True)
        else:
            reply = Reply(probe.seq, probe.size, rtt, reordered=seq_stats.reordered > reordered)
        if reply.duplicate:
            self.stats.duplicates += 1
        else:
            self.stats.reply(sent_at, max(now, sent_at))
            if reply.reordered:
                self.stats.reordered += 1
        self._check_done(now)
        return reply

    # -- ending ----------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.ended_at is not None

    @property
    def all_back(self) -> bool:
        return self.stats.received >= self.stats.sent

    def next_deadline(self) -> float | None:
        """When to call L{expire} next: the next probe, or the end of the wait for replies."""
        if self.started_at is None or self.done:
            return None
        if not self._sending_over:
            nxt = self._origin + self.stats.sent * self.interval
            if self.duration is not None:
                nxt = min(nxt, self.started_at + self.duration)
            return nxt
        assert self._last_sent_at is not None
        return self._last_sent_at + self.timeout

    def expire(self, now: float) -> list[bytes]:
        """Time passed: the probes now due (or, once all are sent, perhaps the end)."""
        probes = self.due(now)
        self._check_done(now)
        return probes

    def _check_done(self, now: float) -> None:
        if self.done or self.started_at is None:
            return
        self._check_sending(now)
        if not self._sending_over:
            return
        assert self._last_sent_at is not None or self.stats.sent == 0
        waited = self._last_sent_at is None or now >= self._last_sent_at + self.timeout
        if self.all_back or waited:
            self._end(now)

    def stop(self, now: float, error: str | None = None, interrupted: bool = False) -> None:
        """End the run now: the user interrupted it, or C{error} says why it cannot go on."""
        if self.done:
            return
        self.error = error
        self.interrupted = interrupted
        if self.started_at is None:
            self.started_at = now
        self._end(now)

    def _end(self, now: float) -> None:
        self.ended_at = now
        self._sending_over = True
        self.sequencer.flush(self.stats.sent)

    @property
    def elapsed(self) -> float:
        """Seconds from the first probe to the end (or to the last event so far)."""
        if self.started_at is None:
            return 0.0
        end = self.ended_at if self.ended_at is not None else self._last_sent_at
        return max(0.0, (end or self.started_at) - self.started_at)

    def summary(self) -> dict[str, Any]:
        """Everything, as plain numbers: L{PingStats.summary} and the run's own counts."""
        out = self.stats.summary()
        # Nanoseconds are the clock's resolution: more digits would be noise.
        out["rtt_ms"] = {k: round(v, 6) for k, v in out["rtt_ms"].items()}
        out["jitter_ms"] = round(out["jitter_ms"], 6)
        out.update(
            size=self.size,
            interval_s=self.interval,
            elapsed_s=round(self.elapsed, 6),
            ignored=self.ignored,
            send_errors=self.send_errors,
            interrupted=self.interrupted,
            error=self.error,
        )
        return out


def format_reply(reply: Reply, where: str) -> str:
    """C{64 bytes from 127.0.0.1:7007: seq=3 time=0.123 ms}, as ping prints a reply."""
    flag = " (DUP!)" if reply.duplicate else ""
    return f"{reply.size} bytes from {where}: seq={reply.seq} time={reply.rtt_ms:.3f} ms{flag}"


def format_summary(summary: dict[str, Any], where: str, transport: str) -> list[str]:
    """The lines printed at the end of a run, from L{PingSession.summary}."""
    rtt = summary["rtt_ms"]
    lines = [
        f"--- {where} ping statistics ({transport}) ---",
        f"{summary['sent']} sent, {summary['received']} received, "
        f"{summary['loss_percent']:g}% lost, {summary['duplicates']} duplicates, "
        f"{summary['reordered']} reordered, time {summary['elapsed_s'] * 1000:.0f} ms",
    ]
    if summary["received"]:
        lines.append(
            f"rtt min/avg/max/mdev = {rtt['min']:.3f}/{rtt['avg']:.3f}/{rtt['max']:.3f}/"
            f"{rtt['mdev']:.3f} ms, p99 {rtt['p99']:.3f} ms, jitter {summary['jitter_ms']:.3f} ms"
        )
    else:
        lines.append("rtt n/a: nothing came back")
    extra = []
    if summary["ignored"]:
        extra.append(f"{summary['ignored']} datagrams ignored (not replies to these probes)")
    if summary["send_errors"]:
        extra.append(f"{summary['send_errors']} probes not sent (socket buffer full)")
    lines += extra
    return lines
