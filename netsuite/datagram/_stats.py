"""
Ping statistics: what `netsuite ping` prints at the end, computed without I/O.

RTTs are kept (one float a reply, bounded by the probe count) for exact percentiles.
Jitter is RFC 3550's interarrival jitter: a running estimate of the mean deviation of
the transit time between consecutive replies, J += (|D| - J) / 16.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from netsuite.base._stats import percentile

__all__ = ["PingStats"]


@dataclass
class PingStats:
    sent: int = 0
    received: int = 0
    duplicates: int = 0
    reordered: int = 0
    rtts_ms: list[float] = field(default_factory=list)
    jitter_ms: float = 0.0
    _last_transit: float | None = None

    def reply(self, sent_s: float, received_s: float) -> float:
        """Record a (first) reply; return its RTT in milliseconds."""
        rtt = (received_s - sent_s) * 1000
        self.received += 1
        self.rtts_ms.append(rtt)
        transit = rtt  # RTT as the transit: send and receive clocks are the same host's
        if self._last_transit is not None:
            self.jitter_ms += (abs(transit - self._last_transit) - self.jitter_ms) / 16
        self._last_transit = transit
        return rtt

    @property
    def lost(self) -> int:
        return max(0, self.sent - self.received)

    def summary(self) -> dict[str, Any]:
        """Everything, as plain numbers (for --json and for the printed summary)."""
        rtts = sorted(self.rtts_ms)
        n = len(rtts)
        mean = sum(rtts) / n if n else 0.0
        mdev = math.sqrt(sum((r - mean) ** 2 for r in rtts) / n) if n else 0.0
        return {
            "sent": self.sent,
            "received": self.received,
            "lost": self.lost,
            "loss_percent": round(100 * self.lost / self.sent, 3) if self.sent else 0.0,
            "duplicates": self.duplicates,
            "reordered": self.reordered,
            "rtt_ms": {
                "min": rtts[0] if n else 0.0,
                "avg": mean,
                "max": rtts[-1] if n else 0.0,
                "mdev": mdev,
                "p99": percentile(rtts, 99) if n else 0.0,
            },
            "jitter_ms": self.jitter_ms,
        }
