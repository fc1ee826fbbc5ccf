"""
The percentile every latency report uses (C{netsuite echo --count}, C{netsuite ping}).

Nearest-rank, so it always returns a measured value: a p99 of 100 samples is the slowest
but one, never an interpolation between two round trips that did not happen. There is no
percentile of nothing: an empty input raises, and a caller that reports no samples says so
itself (C{n/a}, or C{0.0} as its minimum and maximum do).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["percentile"]


def percentile(ordered: Sequence[float], q: float) -> float:
    """
    The C{q}-th percentile (0 < q <= 100) of C{ordered} (sorted, not empty), nearest-rank.

    @raise ValueError: C{ordered} is empty, or C{q} is not in (0, 100].
    """
    if not ordered:
        raise ValueError("percentile of no samples")
    if not 0 < q <= 100:
        raise ValueError(f"percentile {q} is not in (0, 100]")
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]
