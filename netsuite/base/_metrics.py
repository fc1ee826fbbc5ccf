"""
Counters every netsuite service reports into.

A service owns one L{Counters}; the suite's stats API and C{/metrics} read them. Plain
integers in a dict: cheap enough for the hot path (one dict update per event).
"""

from __future__ import annotations

from collections import Counter

__all__ = ["Counters"]


class Counters(Counter[str]):
    """
    Named event counts of one service (C{"connections"}, C{"dropped.rate_limited"} ...).

    A L{collections.Counter}, so a missing name reads as 0 and C{c["x"] += 1} just works.
    """

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def snapshot(self) -> dict[str, int]:
        """A plain, sorted copy for JSON and logs."""
        return dict(sorted(self.items()))
