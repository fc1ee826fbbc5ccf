"""The web site's log events carry the connection's fields (netsuite.base._logfields)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twisted.internet.address import IPv4Address
from twisted.logger import LogEvent, capturedLogs
from twisted.trial.unittest import SynchronousTestCase

from netsuite.limits._policy import ConnectionGate
from netsuite.web import WebConfig, WebLimits

from .helpers import WebClient

PEER = "tcp 127.0.0.1:40000"


def named(events: Sequence[LogEvent], word: str) -> list[dict[str, Any]]:
    """The records of batched lines (L{netsuite.base._logbatch}) whose text has C{word}."""
    return [r for e in events for r in e.get("records", ()) if word in r["text"]]


class SiteFieldTests(SynchronousTestCase):
    def test_connected_closed_and_access(self) -> None:
        client = WebClient()
        with capturedLogs() as events:
            conn = client.connect()
            conn.request("GET", "/api/health")
            conn.lose()
            client.pump()
            client.site.flush_logs()
        [opened] = named(events, "connected")
        [closed] = named(events, "closed")
        for event in (opened, closed):
            self.assertEqual((event["service"], event["door"]), ("web", "http"))
            self.assertEqual(event["peer"], PEER)
            self.assertEqual(event["conn"], conn.protocol.conn)
        self.assertEqual(closed["why"], "Connection was closed cleanly.")
        [batch] = [e for e in events if e.get("batch") == "access"]
        [access] = batch["records"]
        self.assertEqual(access["conn"], conn.protocol.conn)
        self.assertEqual((access["method"], access["uri"], access["status"]),
                         (b"GET", b"/api/health", 200))  # fmt: skip
        self.assertEqual(access["peer"], PEER)

    def test_connection_refusal_names_the_limit(self) -> None:
        client = WebClient(gate=ConnectionGate(0, 1))
        client.connect()
        with capturedLogs() as events:
            refused = client.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40001))
            client.site.flush_logs()
        self.assertIsNone(refused)
        [event] = named(events, "refused")
        self.assertEqual((event["limit"], event["limit_value"]), ("max-per-ip", 1))
        self.assertEqual((event["service"], event["door"]), ("web", "http"))
        self.assertIn("too many connections from 127.0.0.1", event["text"])

    def test_a_refusal_flood_is_a_few_log_events(self) -> None:
        """300 refused connects: every line kept, in 2 warn events (a batch holds 256),
        not 300 (#13: repeated lines of one kind batched like the connection lines)."""
        client = WebClient(gate=ConnectionGate(0, 1))
        client.connect()
        with capturedLogs() as events:
            for port in range(300):
                client.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 41000 + port))
            client.site.flush_logs()
        batches = [e for e in events if e.get("batch") == "refusals"]
        self.assertEqual([len(e["records"]) for e in batches], [256, 44])
        self.assertEqual({e["log_level"].name for e in batches}, {"warn"})
        self.assertEqual(len(named(events, "refused")), 300)

    def test_request_refusal_names_the_limit(self) -> None:
        client = WebClient(WebConfig(limits=WebLimits(max_headers=2)))
        conn = client.connect()
        with capturedLogs() as events:
            headers: Any = [("A", "1"), ("B", "2"), ("C", "3")]
            response = conn.request("GET", "/", headers)
            client.site.flush_logs()
        self.assertEqual(response.status, 431)
        [event] = [r for e in events for r in e.get("records", ()) if r.get("status") == 431]
        self.assertEqual((event["limit"], event["limit_value"]), ("max-headers", 2))
        self.assertEqual(event["conn"], conn.protocol.conn)
