"""
The registry of every service's counters in this process, which C{/api/stats} and
C{/metrics} read.

A service keeps counting into its own L{netsuite.base._metrics.Counters} (a plain dict update
on the hot path); the registry only holds references and reads them when asked, so
registering costs the service nothing per event. The suite makes one registry and
registers each service in it; C{twistd netsuite-web} alone registers itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from netsuite.base._metrics import Counters

__all__ = [
    "DROP_PREFIXES",
    "MESSAGE_COUNTERS",
    "ServiceStats",
    "StatsRegistry",
    "summarize",
    "tls_certificates",
    "totals",
]

#: Counter names that are drops, by reason: refusals, closes the server decided,
#: disconnections, discarded input. Plus the plain C{"refused"} of the connection gate.
DROP_PREFIXES = ("dropped.", "refused.", "closed.", "disconnected.")

#: Counters that count a service's units of work: chat messages, datagrams, requests.
MESSAGE_COUNTERS = ("messages", "messages.private", "received", "requests")


class _HasCounters(Protocol):
    name: str
    counters: Counters
    open: Any  # a sized collection of the connections open now


@dataclass
class ServiceStats:
    """
    One registered service: its counters and its gauges (values read when asked, such
    as the connections open now).
    """

    name: str
    counters: Counters
    gauges: dict[str, Callable[[], float]] = field(default_factory=dict)

    def gauge_values(self) -> dict[str, float]:
        return {name: read() for name, read in sorted(self.gauges.items())}

    def summary(self) -> dict[str, Any]:
        """The service in the shape C{/api/stats} shows (L{summarize})."""
        return summarize(self.counters.snapshot(), self.gauge_values())


def summarize(c: Mapping[str, float], gauges: Mapping[str, float]) -> dict[str, Any]:
    """
    A service's counters C{c} and C{gauges} in the shape C{/api/stats} shows:
    connections, bytes, messages and drops by reason, then every raw counter and gauge.
    """
    drops = {k: v for k, v in c.items() if k == "refused" or k.startswith(DROP_PREFIXES)}
    connections: dict[str, float] = {
        "accepted": c.get("accepted", 0),
        "refused": c.get("refused", 0),
    }
    if "open" in gauges:
        connections["open"] = gauges["open"]
    return {
        "connections": connections,
        "bytes": {"in": c.get("bytes_in", 0), "out": c.get("bytes_out", 0)},
        "messages": sum(c.get(name, 0) for name in MESSAGE_COUNTERS),
        "drops": drops,
        "counters": dict(c),
        "gauges": dict(gauges),
    }


class StatsRegistry:
    """
    Every service's counters in this process, by name.

    Register a service's L{Counters} with L{register}, or a door factory (anything with
    C{name}, C{counters} and a sized C{open}: L{netsuite.stream._door.DoorFactory},
    L{netsuite.web._site.WebSite}) with L{register_factory}, which also reports its
    open connections.

    @param clock: seconds now (C{reactor.seconds}); for the uptime reported.
    @ivar workers: under C{--workers}, this worker's
        L{netsuite.web._worker_stats.WorkerStats}: the snapshot then covers every worker.
    """

    workers: Any = None

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        if clock is None:
            import time

            clock = time.time
        self.clock = clock
        self.started = clock()
        self._services: dict[str, ServiceStats] = {}

    def register(
        self,
        counters: Counters,
        *,
        name: str | None = None,
        gauges: Mapping[str, Callable[[], float]] | None = None,
    ) -> ServiceStats:
        """
        Report C{counters} under C{name} (default: C{counters.service}). Registering the
        same counters again under the same name updates the gauges; another object under
        a name already taken is refused (two services must not share a name in /metrics).
        """
        name = name or counters.service
        existing = self._services.get(name)
        if existing is not None and existing.counters is not counters:
            raise ValueError(f"a service named {name!r} is registered already")
        entry = ServiceStats(name, counters, dict(gauges or {}))
        self._services[name] = entry
        return entry

    def register_factory(self, factory: _HasCounters, name: str | None = None) -> ServiceStats:
        """Report a door factory's counters and its open connections (gauge C{open})."""
        return self.register(
            factory.counters, name=name or factory.name, gauges={"open": lambda: len(factory.open)}
        )

    def unregister(self, name: str) -> None:
        self._services.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._services

    def __iter__(self) -> Iterator[ServiceStats]:
        return iter(sorted(self._services.values(), key=lambda s: s.name))

    def __len__(self) -> int:
        return len(self._services)

    def get(self, name: str) -> ServiceStats | None:
        return self._services.get(name)

    def uptime(self) -> float:
        return max(0.0, self.clock() - self.started)

    def snapshot(self) -> dict[str, Any]:
        """
        What C{/api/stats} answers: uptime, every service's summary by name, and every
        certificate this process serves over TLS with its days to expiry.
        """
        out: dict[str, Any] = {
            "uptime_s": round(self.uptime(), 3),
            "services": {s.name: s.summary() for s in self},
            "tls": tls_certificates(),
        }
        if self.workers is not None:
            out.update(self._per_worker())
        return out

    def _per_worker(self) -> dict[str, Any]:
        """
        Under C{--workers}: C{worker} (the one answering), C{workers} (each one's pid,
        uptime, the age of its figures and its services) and C{services}: the total.
        """
        records = self.workers.records()
        return {
            "worker": self.workers.index,
            "workers": {
                str(index): {
                    "pid": entry.get("pid"),
                    "uptime_s": entry.get("uptime_s"),
                    "age_s": entry.get("age_s"),
                    "services": {
                        name: summarize(f.get("counters", {}), f.get("gauges", {}))
                        for name, f in sorted(entry["services"].items())
                    },
                }
                for index, entry in sorted(records.items())
            },
            "services": {
                name: summarize(f["counters"], f["gauges"])
                for name, f in sorted(totals(records).items())
            },
        }


def totals(records: Mapping[int, Mapping[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Every service's counters and gauges summed over the workers' C{records}."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for entry in records.values():
        for name, figures in entry["services"].items():
            into = out.setdefault(name, {"counters": {}, "gauges": {}})
            for kind in ("counters", "gauges"):
                for key, value in figures.get(kind, {}).items():
                    into[kind][key] = into[kind].get(key, 0) + value
    return out


def tls_certificates() -> list[dict[str, Any]]:
    """Each served certificate: listener, subject, SHA-256, expiry and days left."""
    from netsuite.tls._listener import served_certificates

    return [
        {
            "listener": label,
            "subject": summary.subject,
            "sha256": summary.sha256,
            "not_after": summary.not_after.isoformat(),
            "days_left": round(summary.days_left(), 3),
        }
        for label, summary in served_certificates()
    ]
