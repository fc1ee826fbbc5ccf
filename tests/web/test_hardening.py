"""
Each limit of the web site tried from the client's side: the attack, then the refusal;
and each at its edge (n accepted, n+1 refused). Time is a L{MemoryReactorClock}.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource

from netsuite.limits._policy import ConnectionGate
from netsuite.web import WebConfig, WebLimits
from netsuite.web._config import HeaderError, parse_header_line
from tests.web.helpers import WebClient, make_tree, parse_responses


class BodyLength(Resource):
    """Answers with the length of the body it was given."""

    isLeaf = True

    def render_POST(self, request: Any) -> bytes:
        return b"%d" % len(request.content.read())


def client(**limits: Any) -> WebClient:
    return WebClient(WebConfig(limits=WebLimits(**limits)), children={"len": BodyLength()})


class HeaderCapTests(SynchronousTestCase):
    def test_one_mebibyte_of_header_lines(self) -> None:
        c = client()
        conn = c.connect()
        conn.send(b"GET / HTTP/1.1\r\n" + b"X-Filler: " + b"a" * 90 + b"\r\n" * 1)
        conn.send(b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(10_000)))
        (r,), _ = parse_responses(conn.transport.value())
        self.assertEqual(r.status, 431)
        self.assertTrue(conn.closing)
        self.assertLess(len(conn.transport.value()), 1000)
        counters = c.site.counters
        self.assertEqual(
            counters["refused.too_many_headers"] + counters["refused.header_too_large"], 1
        )

    def test_one_huge_header_line(self) -> None:
        conn = client().connect()
        conn.send(b"GET / HTTP/1.1\r\nX-Big: " + b"a" * (1 << 20))
        (r,), _ = parse_responses(conn.transport.value())
        self.assertEqual(r.status, 431)
        self.assertTrue(conn.closing)

    def test_request_line_too_long(self) -> None:
        conn = client().connect()
        conn.send(b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\n")
        (r,), _ = parse_responses(conn.transport.value())
        self.assertEqual(r.status, 414)
        self.assertTrue(conn.closing)

    def test_header_bytes_edge(self) -> None:
        """The request line plus fields may total max_header_bytes, not one byte more."""
        line = b"GET / HTTP/1.1"
        for extra, status in ((0, 200), (1, 431)):
            conn = client(max_header_bytes=300).connect()
            filler = b"Host: " + b"a" * (300 - len(line) - 6 + extra)  # HTTP/1.1 needs Host
            conn.send(line + b"\r\n" + filler + b"\r\n\r\n")
            (r,), _ = parse_responses(conn.transport.value())
            self.assertEqual(r.status, status, extra)

    def test_header_count_edge(self) -> None:
        for count, status in ((10, 200), (11, 431)):
            conn = client(max_headers=10).connect()
            fields = b"".join(b"X-%d: v\r\n" % i for i in range(count - 1))
            conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n")
            (r,), _ = parse_responses(conn.transport.value())
            self.assertEqual(r.status, status, count)
        self.assertTrue(conn.closing)

    def test_malformed_header_is_400_and_closed(self) -> None:
        conn = client().connect()
        conn.send(b"GET / HTTP/1.1\r\nno colon here\r\n\r\n")
        (r,), _ = parse_responses(conn.transport.value())
        self.assertEqual(r.status, 400)
        self.assertTrue(conn.closing)

    def test_api_refusals_are_json(self) -> None:
        conn = client(max_headers=2).connect()
        conn.send(b"GET /api/health HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n")
        (r,), _ = parse_responses(conn.transport.value())
        self.assertEqual(r.json(), {"status": 431, "error": "more than 2 header fields"})


class BodyCapTests(SynchronousTestCase):
    def test_body_at_the_cap_is_read(self) -> None:
        r = client(max_body=1000).connect().request("POST", "/len", body=b"x" * 1000)
        self.assertEqual((r.status, r.body), (200, b"1000"))

    def test_declared_body_over_the_cap_is_413_before_reading(self) -> None:
        c = client(max_body=1000)
        conn = c.connect()
        conn.send(b"POST /len HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n")
        (r,), _ = parse_responses(conn.transport.value())
        self.assertEqual(r.status, 413)
        self.assertTrue(conn.closing)
        self.assertEqual(c.site.counters["refused.body_too_large"], 1)

    def test_no_100_continue_for_a_refused_body(self) -> None:
        conn = client(max_body=10).connect()
        conn.send(b"POST /len HTTP/1.1\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n")
        self.assertNotIn(b"100 Continue", conn.transport.value())

    def test_chunked_body_over_the_cap(self) -> None:
        conn = client(max_body=1000).connect()
        conn.send(b"POST /len HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(3):
            conn.send(b"190\r\n" + b"y" * 400 + b"\r\n")
        (r,), _ = parse_responses(conn.transport.value())
        self.assertEqual(r.status, 413)
        self.assertTrue(conn.closing)

    def test_form_posts_are_not_parsed(self) -> None:
        """Twisted parses multipart bodies into request.args by default; not here."""
        body = b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--b--\r\n"
        conn = client().connect()
        r = conn.request("POST", "/len", [("Content-Type", "multipart/form-data; boundary=b")],
                         body)  # fmt: skip
        self.assertEqual(r.body, b"%d" % len(body))


class SlowClientTests(SynchronousTestCase):
    """Slowloris: bytes that trickle in keep the idle timer happy but not the deadlines."""

    def test_header_one_byte_a_second_is_cut_at_the_deadline(self) -> None:
        c = client(header_timeout=10, idle_timeout=60)
        conn = c.connect()
        request = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"s" * 100
        sent = 0
        while not conn.closing and sent < len(request):
            conn.send(request[sent : sent + 1])
            sent += 1
            c.clock.advance(1)
        self.assertTrue(conn.closing)
        self.assertEqual(sent, 10)
        (r,), _ = parse_responses(conn.transport.value())
        self.assertEqual(r.status, 408)
        self.assertEqual(c.site.counters["closed.header_timeout"], 1)

    def test_silent_connection_is_cut_at_the_header_deadline(self) -> None:
        c = client(header_timeout=10, idle_timeout=60)
        conn = c.connect()
        c.clock.advance(9.9)
        self.assertFalse(conn.closing)
        c.clock.advance(0.1)
        self.assertTrue(conn.closing)
        self.assertEqual(conn.transport.value(), b"")  # nothing asked, nothing answered
        self.assertEqual(c.site.counters["closed.header_timeout"], 1)

    def test_unread_refusal_is_aborted(self) -> None:
        """A client that does not read the 408 is aborted after abort_timeout."""
        c = client(header_timeout=10, abort_timeout=5)
        conn = c.connect()
        conn.send(b"GET / HTTP/1.1\r\n")
        c.clock.advance(10)
        self.assertTrue(conn.closing)
        self.assertFalse(conn.transport.disconnected)
        c.clock.advance(5)
        self.assertTrue(conn.transport.disconnected)

    def test_body_one_byte_a_second_is_cut_at_the_deadline(self) -> None:
        c = client(body_timeout=30, header_timeout=10)
        conn = c.connect()
        conn.send(b"POST /len HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        sent = 0
        while not conn.closing:
            conn.send(b"b")
            sent += 1
            c.clock.advance(1)
        self.assertEqual(sent, 30)
        (r,), _ = parse_responses(conn.transport.value())
        self.assertEqual(r.status, 408)
        self.assertEqual(c.site.counters["closed.body_timeout"], 1)

    def test_keep_alive_waits_for_the_idle_timeout_not_the_header_one(self) -> None:
        c = client(header_timeout=10, idle_timeout=60)
        conn = c.connect()
        self.assertEqual(conn.request("GET", "/").status, 200)
        c.clock.advance(30)
        self.assertFalse(conn.closing)
        self.assertEqual(conn.request("GET", "/").status, 200)
        c.clock.advance(60)
        self.assertTrue(conn.closing)
        self.assertEqual(c.site.counters["closed.idle_timeout"], 1)

    def test_each_request_gets_its_own_header_deadline(self) -> None:
        c = client(header_timeout=10, idle_timeout=60)
        conn = c.connect()
        for i in range(5):
            if i:
                c.clock.advance(30)  # kept alive in between
            conn.send(b"GET / HTTP/1.1\r\n")
            c.clock.advance(6)
            conn.heads.append(False)
            conn.send(b"Host: x\r\n\r\n")
        self.assertEqual([r.status for r in conn.responses()], [200] * 5)
        self.assertFalse(conn.closing)

    def test_short_header_deadline_after_a_long_body_one(self) -> None:
        """The one timer, armed for a body's 60 s, is brought forward for a header's 10."""
        c = client(header_timeout=10, body_timeout=60, idle_timeout=300)
        conn = c.connect()
        conn.send(b"POST /len HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n")
        c.clock.advance(15)  # past the connection's first header deadline: re-armed
        conn.send(b"ok")
        c.clock.advance(1)
        conn.send(b"GET / HTTP/1.1\r\n")  # then stalls
        c.clock.advance(10)
        self.assertTrue(conn.closing)
        statuses = [r.status for r in parse_responses(conn.transport.value())[0]]
        self.assertEqual(statuses, [200, 408])

    def test_deadline_stops_with_the_connection(self) -> None:
        c = client(header_timeout=10)
        conn = c.connect()
        conn.lose()
        c.site.flush_logs()  # the batched connection lines: the site's, not the connection's
        left = [call.func for call in c.clock.getDelayedCalls()]
        self.assertEqual(left, [c.site._updateLogDateTime])  # the site's own clock only


class ConnectionCapTests(SynchronousTestCase):
    def test_per_ip_cap_and_release(self) -> None:
        c = WebClient(gate=ConnectionGate(max_total=10, max_per_peer=2))
        first, _second = c.connect(), c.connect()
        with self.assertRaises(AssertionError):
            c.connect()
        self.assertEqual(c.site.counters["refused"], 1)
        c.connect(host="127.0.0.2")  # another address is fine
        first.lose()
        c.connect()  # a slot came back
        self.assertEqual(len(c.site.open), 3)

    def test_drain_closes_everything(self) -> None:
        c = WebClient()
        conns = [c.connect() for _ in range(3)]
        done: list[object] = []
        c.site.drain(5).addCallback(done.append)
        self.assertTrue(all(conn.closing for conn in conns))
        for conn in conns:
            conn.lose()
        self.assertEqual(done, [None])


class HeaderPolicyTests(SynchronousTestCase):
    def test_security_headers_everywhere(self) -> None:
        c = WebClient()
        for path in ("/", "/api/health", "/metrics", "/nothing"):
            r = c.get(path)
            self.assertEqual(r.header("x-content-type-options"), "nosniff", path)
            self.assertEqual(r.header("referrer-policy"), "no-referrer", path)
            self.assertEqual(r.header("server"), "netsuite", path)
            self.assertIsNone(r.header("strict-transport-security"), path)

    def test_hsts_on_tls_only(self) -> None:
        c = WebClient()
        r = c.connect(tls=True).request("GET", "/api/health")
        self.assertEqual(r.header("strict-transport-security"), "max-age=31536000")
        c = WebClient(WebConfig(hsts_max_age=0))
        self.assertIsNone(
            c.connect(tls=True).request("GET", "/").header("strict-transport-security")
        )

    def test_csp_on_our_pages(self) -> None:
        r = WebClient().get("/")
        self.assertEqual(r.header("content-type"), "text/html; charset=utf-8")
        self.assertIn("default-src 'none'", r.header("content-security-policy") or "")

    def test_added_headers_and_override(self) -> None:
        config = WebConfig(extra_headers=(("X-Frame-Options", "DENY"),
                                          ("referrer-policy", "same-origin")))  # fmt: skip
        r = WebClient(config).get("/")
        self.assertEqual(r.header("x-frame-options"), "DENY")
        self.assertEqual(r.headers_named("referrer-policy"), ["same-origin"])

    def test_add_header_parsing(self) -> None:
        self.assertEqual(parse_header_line("X-A:  b c "), ("X-A", "b c"))
        for bad in ("no colon", "Bad Name: x", "X-A: a\r\nSet-Cookie: x", ": x", "X: \x00"):
            with self.assertRaises(HeaderError, msg=bad):
                parse_header_line(bad)

    def test_options_star(self) -> None:
        conn = WebClient().connect()
        conn.heads.append(False)
        conn.send(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")
        (r,) = conn.responses()
        self.assertEqual(r.status, 204)
        self.assertIn("GET", r.header("allow") or "")

    def test_absolute_target_is_refused(self) -> None:
        r = WebClient().connect().request("GET", "http://evil/")
        self.assertEqual(r.status, 400)


class CorsTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.client = WebClient(WebConfig(cors_origins=("https://app.example",)))

    def test_allowed_origin_reads(self) -> None:
        r = self.client.get("/api/health", [("Origin", "https://app.example")])
        self.assertEqual(r.header("access-control-allow-origin"), "https://app.example")
        self.assertIn("Origin", r.headers_named("vary"))
        self.assertIn("ETag", r.header("access-control-expose-headers") or "")

    def test_other_origin_gets_nothing(self) -> None:
        r = self.client.get("/api/health", [("Origin", "https://evil.example")])
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("access-control-allow-origin"))

    def test_preflight(self) -> None:
        r = self.client.connect().request("OPTIONS", "/api/chat/rooms/lobby/messages", [
            ("Origin", "https://app.example"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "authorization, content-type, x-evil"),
        ])  # fmt: skip
        self.assertEqual(r.status, 204)
        self.assertEqual(r.header("access-control-allow-origin"), "https://app.example")
        self.assertIn("POST", r.header("access-control-allow-methods") or "")
        self.assertEqual(r.header("access-control-allow-headers"), "authorization, content-type")
        self.assertEqual(r.header("access-control-max-age"), "600")

    def test_preflight_from_other_origin_is_not_allowed(self) -> None:
        r = self.client.connect().request(
            "OPTIONS",
            "/api/health",
            [("Origin", "https://evil.example"), ("Access-Control-Request-Method", "GET")],
        )
        self.assertIsNone(r.header("access-control-allow-origin"))

    def test_any_origin(self) -> None:
        c = WebClient(WebConfig(cors_origins=("*",)))
        r = c.get("/api/health", [("Origin", "https://x.example")])
        self.assertEqual(r.header("access-control-allow-origin"), "*")


class AccessLogTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.events: list[dict[str, Any]] = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    def access(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("log_namespace") == "netsuite.web.access"]

    def test_combined_format_one_event_per_turn(self) -> None:
        c = WebClient(WebConfig(static_root=str(make_tree(Path(self.mktemp()) / "r"))))
        conn = c.connect()
        conn.request("GET", "/hello.txt", [("User-Agent", 'evil" \\agent\x7f'),
                                           ("Referer", "https://r.example/")])  # fmt: skip
        conn.request("GET", "/nope")
        self.assertEqual(self.access(), [])  # held back a moment, to leave together
        c.clock.advance(0.1)
        (event,) = self.access()
        self.assertEqual(event["lines"], 2)
        lines = event["access"].splitlines()
        self.assertEqual(len(lines), 2)
        self.assertRegex(
            lines[0],
            r'^"127\.0\.0\.1" - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] '
            r'"GET /hello\.txt HTTP/1\.1" 200 13 "https://r\.example/" "evil\\" \\\\agent\\x7f"$',
        )
        self.assertIn('"GET /nope HTTP/1.1" 404', lines[1])

    def test_a_full_batch_leaves_at_once(self) -> None:
        c = WebClient()
        conn = c.connect()
        for _ in range(256):
            conn.request("GET", "/api/health")
        self.assertEqual([e["lines"] for e in self.access()], [256])

    def test_stopping_flushes(self) -> None:
        c = WebClient()
        c.get("/")
        c.site.doStop()
        self.assertEqual(len(self.access()), 1)

    def test_off(self) -> None:
        c = WebClient(WebConfig(access_log=False))
        c.get("/")
        c.clock.advance(1)
        self.assertEqual(self.access(), [])
        self.assertEqual(c.site.counters["requests"], 1)
