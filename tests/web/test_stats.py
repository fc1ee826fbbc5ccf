"""The stats registry and its Prometheus export."""

from __future__ import annotations

import gzip

from prometheus_client.parser import text_string_to_metric_families
from twisted.trial.unittest import SynchronousTestCase

from netsuite.base._metrics import Counters
from netsuite.echo._protocol import EchoFactory
from netsuite.web._prometheus import metrics_registry
from netsuite.web._stats import StatsRegistry
from tests.web.helpers import WebClient


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


class RegistryTests(SynchronousTestCase):
    def test_register_and_summary(self) -> None:
        now = [100.0]
        stats = StatsRegistry(lambda: now[0])
        chat = Counters("chat")
        chat.update({"messages": 5, "messages.private": 2, "dropped.flood": 1,
                     "disconnected.send_queue": 1, "deliveries": 40})  # fmt: skip
        stats.register(chat)
        now[0] = 130.0
        snap = stats.snapshot()
        self.assertEqual(snap["uptime_s"], 30.0)
        summary = snap["services"]["chat"]
        self.assertEqual(summary["messages"], 7)
        self.assertEqual(summary["drops"], {"dropped.flood": 1, "disconnected.send_queue": 1})
        self.assertEqual(summary["counters"]["deliveries"], 40)
        self.assertNotIn("open", summary["connections"])

    def test_names_are_unique(self) -> None:
        stats = StatsRegistry()
        counters = Counters("echo")
        stats.register(counters)
        stats.register(counters, gauges={"open": lambda: 3})  # same object: updates
        self.assertEqual(stats.snapshot()["services"]["echo"]["connections"]["open"], 3)
        with self.assertRaises(ValueError):
            stats.register(Counters("echo"))
        stats.unregister("echo")
        self.assertNotIn("echo", stats)

    def test_register_a_door_factory(self) -> None:
        """Any netsuite door factory reports its counters and open connections."""
        from twisted.internet.task import Clock

        stats = StatsRegistry()
        factory = EchoFactory("echo", clock=Clock())
        stats.register_factory(factory)
        factory.counters["accepted"] += 2
        snap = stats.snapshot()["services"]["echo"]
        self.assertEqual(snap["connections"], {"accepted": 2, "refused": 0, "open": 0})


class MetricsTests(SynchronousTestCase):
    def test_metrics_page(self) -> None:
        stats = StatsRegistry()
        echo = Counters("echo/udp")
        echo.update({"received": 9, "dropped.rate_limited": 4, "bytes_in": 90})
        stats.register(echo)
        c = WebClient(stats=stats)
        c.get("/nothing")
        r = c.get("/metrics")
        self.assertEqual(r.status, 200)
        self.assertTrue((r.header("content-type") or "").startswith("text/plain; version=0.0.4"))
        got = samples(r.body.decode())
        self.assertEqual(got[("netsuite_messages_total", (("service", "echo/udp"),))], 9)
        self.assertEqual(
            got[("netsuite_drops_total", (("reason", "dropped.rate_limited"),
                                          ("service", "echo/udp")))], 4)  # fmt: skip
        self.assertEqual(got[("netsuite_bytes_received_total", (("service", "echo/udp"),))], 90)
        self.assertEqual(got[("netsuite_connections_open", (("service", "web"),))], 2)
        self.assertEqual(
            got[("netsuite_events_total", (("event", "responses.4xx"), ("service", "web")))], 1
        )
        self.assertIn(("netsuite_uptime_seconds", ()), got)

    def test_gzip_and_openmetrics(self) -> None:
        c = WebClient()
        r = c.get("/metrics", [("Accept-Encoding", "gzip")])
        self.assertEqual(r.header("content-encoding"), "gzip")
        self.assertIn(b"netsuite_connections_accepted_total", gzip.decompress(r.body))
        r = c.get("/metrics", [("Accept", "application/openmetrics-text; version=1.0.0")])
        self.assertTrue(
            (r.header("content-type") or "").startswith("application/openmetrics-text")
        )
        self.assertTrue(r.body.endswith(b"# EOF\n"))

    def test_registry_without_process_metrics(self) -> None:
        text = __import__("prometheus_client").generate_latest(
            metrics_registry(StatsRegistry(), process=False)).decode()  # fmt: skip
        self.assertNotIn("process_", text)
        self.assertIn("netsuite_uptime_seconds", text)


class TLSExpiryStatsTests(SynchronousTestCase):
    """Days to expiry of every served certificate, in /api/stats and /metrics."""

    def test_served_certificates_reported(self) -> None:
        from pathlib import Path

        from netsuite.testing import TLSFiles
        from netsuite.tls._contexts import TLSServerSettings
        from netsuite.tls._listener import ReloadableServerTLS
        from netsuite.web._prometheus import metrics_registry
        from netsuite.web._stats import StatsRegistry

        files = TLSFiles(Path(self.mktemp()))
        tls = ReloadableServerTLS(
            TLSServerSettings(cert=files.cert_path, key=files.key_path), "nstls:8443"
        )
        stats = StatsRegistry(lambda: 0.0)
        reported = [c for c in stats.snapshot()["tls"] if c["listener"] == "nstls:8443"]
        self.assertEqual(len(reported), 1)
        self.assertEqual(reported[0]["sha256"], tls.certificates[0].sha256)
        self.assertGreater(reported[0]["days_left"], 390)
        from prometheus_client import generate_latest

        text = generate_latest(metrics_registry(stats, process=False)).decode()
        self.assertIn('netsuite_tls_certificate_expiry_days{listener="nstls:8443"', text)
