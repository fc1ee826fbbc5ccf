"""
C{/metrics}: every registered service's counters in Prometheus's text format.

L{StatsCollector} is a custom C{prometheus_client} collector that reads the
L{StatsRegistry} each time it is scraped (the services keep counting into plain dicts,
so exporting costs them nothing per event). L{MetricsPage} renders it.

Why not C{prometheus_client.twisted.MetricsResource}: it imports the global reactor
when its module is imported and renders in a thread pool through WSGI, and our counters
are plain dicts the reactor thread keeps changing: read from another thread, a dict that
grows during a scrape raises. Rendering in the reactor thread is a few hundred
microseconds and needs no lock.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from twisted.web.iweb import IRequest
from twisted.web.resource import Resource

from netsuite.web._conditions import accepted_codings
from netsuite.web._responses import error_body, finish_response
from netsuite.web._stats import (
    DROP_PREFIXES,
    MESSAGE_COUNTERS,
    StatsRegistry,
    tls_certificates,
    totals,
)

__all__ = ["MetricsPage", "StatsCollector", "metrics_registry"]


class StatsCollector(Collector):
    """
    Exports a L{StatsRegistry}:

      - C{netsuite_connections_accepted_total}, C{..._refused_total} by C{service}
      - C{netsuite_connections_open} (gauge) by C{service}
      - C{netsuite_bytes_received_total}, C{netsuite_bytes_sent_total} by C{service}
      - C{netsuite_messages_total} by C{service}
      - C{netsuite_drops_total} by C{service} and C{reason} (the counter's name)
      - C{netsuite_events_total} by C{service} and C{event}: every raw counter
      - C{netsuite_gauge} by C{service} and C{name}: every registered gauge
      - C{netsuite_uptime_seconds}

    Under C{--workers}, every family but the uptime and certificates also has a
    C{worker} label: C{"0"} .. C{"N-1"} for each worker's series, C{"all"} for their
    total (L{netsuite.web._worker_stats}); sum over C{worker!="all"} or read C{"all"}.
    """

    def __init__(self, stats: StatsRegistry) -> None:
        self.stats = stats

    def _rows(self) -> list[tuple[list[str], dict[str, float], dict[str, float]]]:
        """
        C{(labels, counters, gauges)} per series: per service; under C{--workers}, per
        service and worker (C{worker="N"}), then the total (C{worker="all"}).
        """
        workers = self.stats.workers
        if workers is None:
            return [([s.name], dict(s.counters), s.gauge_values()) for s in self.stats]
        records = workers.records()
        rows = [
            ([name, str(index)], dict(f.get("counters", {})), dict(f.get("gauges", {})))
            for index, entry in sorted(records.items())
            for name, f in sorted(entry["services"].items())
        ]
        for name, f in sorted(totals(records).items()):
            rows.append(([name, "all"], f["counters"], f["gauges"]))
        return rows

    def collect(self) -> Iterator[Metric]:
        w = ["worker"] if self.stats.workers is not None else []
        accepted = CounterMetricFamily(
            "netsuite_connections_accepted", "Connections admitted.", labels=["service", *w]
        )
        refused = CounterMetricFamily(
            "netsuite_connections_refused", "Connections refused at the gate.",
            labels=["service", *w],
        )  # fmt: skip
        open_now = GaugeMetricFamily(
            "netsuite_connections_open", "Connections open now.", labels=["service", *w]
        )
        received = CounterMetricFamily(
            "netsuite_bytes_received", "Bytes received (closed connections).",
            labels=["service", *w],
        )  # fmt: skip
        sent = CounterMetricFamily(
            "netsuite_bytes_sent", "Bytes sent (closed connections; web: bodies).",
            labels=["service", *w],
        )  # fmt: skip
        messages = CounterMetricFamily(
            "netsuite_messages", "Messages, datagrams or requests handled.",
            labels=["service", *w],
        )  # fmt: skip
        drops = CounterMetricFamily(
            "netsuite_drops", "Refusals, drops and disconnections, by reason.",
            labels=["service", *w, "reason"],
        )  # fmt: skip
        events = CounterMetricFamily(
            "netsuite_events", "Every counter of every service.",
            labels=["service", *w, "event"],
        )  # fmt: skip
        gauges = GaugeMetricFamily(
            "netsuite_gauge", "Every gauge of every service.", labels=["service", *w, "name"]
        )
        for labels, counts, values in self._rows():
            accepted.add_metric(labels, counts.get("accepted", 0))
            refused.add_metric(labels, counts.get("refused", 0))
            if "open" in values:
                open_now.add_metric(labels, values["open"])
            received.add_metric(labels, counts.get("bytes_in", 0))
            sent.add_metric(labels, counts.get("bytes_out", 0))
            messages.add_metric(labels, sum(counts.get(k, 0) for k in MESSAGE_COUNTERS))
            for key, value in sorted(counts.items()):
                events.add_metric([*labels, key], value)
                if key == "refused" or key.startswith(DROP_PREFIXES):
                    drops.add_metric([*labels, key], value)
            for gauge, reading in values.items():
                gauges.add_metric([*labels, gauge], reading)
        uptime = GaugeMetricFamily(
            "netsuite_uptime_seconds", "Seconds since the stats registry was made.",
            value=self.stats.uptime(),
        )  # fmt: skip
        expiry = GaugeMetricFamily(
            "netsuite_tls_certificate_expiry_days",
            "Days until each served TLS certificate expires (negative: expired).",
            labels=["listener", "subject", "sha256"],
        )
        for cert in tls_certificates():
            expiry.add_metric(
                [cert["listener"], cert["subject"], cert["sha256"]], cert["days_left"]
            )
        yield from (accepted, refused, open_now, received, sent, messages, drops, events,
                    gauges, uptime, expiry)  # fmt: skip


def metrics_registry(stats: StatsRegistry, process: bool = True) -> CollectorRegistry:
    """
    A Prometheus registry of its own (not the global one, so several sites and tests can
    coexist) with our collector and, by default, the process's CPU, memory and fds.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatsCollector(stats))
    if process:
        from prometheus_client import ProcessCollector

        ProcessCollector(registry=registry)
    return registry


class MetricsPage(Resource):
    """C{/metrics}: the text format (or OpenMetrics when asked), gzipped when accepted."""

    isLeaf = True
    allowed_methods = (b"GET", b"HEAD", b"OPTIONS")

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__()
        self.registry = registry

    def render(self, request: IRequest) -> int:
        if request.method not in (b"GET", b"HEAD"):
            request.setHeader(b"Allow", b"GET, HEAD, OPTIONS")
            return finish_response(request, error_body(request, 405, "use GET"))
        if request.postpath not in ([], [b""]):
            return finish_response(request, error_body(request, 404, "no such page"))
        accept = (request.getHeader(b"accept") or b"").decode("latin-1")
        encoder, content_type = choose_encoder(accept)
        body = encoder(self.registry)
        request.setHeader(b"Content-Type", content_type.encode())
        request.setHeader(b"Cache-Control", b"no-store")
        request.responseHeaders.addRawHeader(b"Vary", b"Accept-Encoding")
        if b"gzip" in accepted_codings(request.getHeader(b"accept-encoding")):
            body = gzip.compress(body, 6)
            request.setHeader(b"Content-Encoding", b"gzip")
        return finish_response(request, body)
