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


def named(events: Sequence[LogEvent], word: str) -> list[LogEvent]:
    return [e for e in events if word in e.get("log_format", "")]


class SiteFieldTests(SynchronousTestCase):
    def test_connected_closed_and_access(self) -> None:
        client = WebClient()
        with capturedLogs() as events:
            conn = client.connect()
            conn.request("GET", "/api/health")
            conn.lose()
            client.pump()
            client.site.access_batch.flush()
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
        self.assertIsNone(refused)
        [event] = named(events, "refused")
        self.assertEqual((event["limit"], event["limit_value"]), ("max-per-ip", 1))
        self.assertEqual((event["service"], event["door"]), ("web", "http"))

    def test_request_refusal_names_the_limit(self) -> None:
        client = WebClient(WebConfig(limits=WebLimits(max_headers=2)))
        conn = client.connect()
        with capturedLogs() as events:
            headers: Any = [("A", "1"), ("B", "2"), ("C", "3")]
            response = conn.request("GET", "/", headers)
        self.assertEqual(response.status, 431)
        [event] = [e for e in events if e.get("status") == 431]
        self.assertEqual((event["limit"], event["limit_value"]), ("max-headers", 2))
        self.assertEqual(event["conn"], conn.protocol.conn)
