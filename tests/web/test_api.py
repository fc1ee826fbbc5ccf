"""The JSON API: health, stats, chat rooms, history and posting, and its errors."""

from __future__ import annotations

import json
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from netsuite.base._metrics import Counters
from netsuite.chat._events import Said
from netsuite.chat._hub import Hub
from netsuite.testing import RecordingMember as Recorder
from netsuite.web import StatsRegistry, WebConfig
from tests.web.helpers import WebClient

TOKEN = "s3cret-token-0123456789"


class HealthAndStatsTests(SynchronousTestCase):
    def test_health(self) -> None:
        c = WebClient()
        c.clock.advance(12.5)
        r = c.get("/api/health")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("content-type"), "application/json; charset=utf-8")
        self.assertEqual(r.header("cache-control"), "no-store")
        body = r.json()
        self.assertEqual((body["status"], body["uptime_s"]), ("ok", 12.5))

    def test_head_health(self) -> None:
        r = WebClient().connect().request("HEAD", "/api/health")
        self.assertEqual(r.status, 200)
        self.assertGreater(int(r.header("content-length") or 0), 10)

    def test_stats_of_every_registered_service(self) -> None:
        stats = StatsRegistry()
        echo = Counters("echo")
        echo.update({"accepted": 3, "bytes_in": 10, "bytes_out": 10, "closed.idle_timeout": 1,
                     "refused": 2})  # fmt: skip
        stats.register(echo, gauges={"open": lambda: 1})
        c = WebClient(stats=stats)
        conn = c.connect()
        conn.request("GET", "/nothing")
        services = conn.request("GET", "/api/stats").json()["services"]
        self.assertEqual(sorted(services), ["echo", "web"])
        self.assertEqual(services["echo"]["connections"], {"accepted": 3, "refused": 2, "open": 1})
        self.assertEqual(services["echo"]["bytes"], {"in": 10, "out": 10})
        self.assertEqual(services["echo"]["drops"], {"closed.idle_timeout": 1, "refused": 2})
        web = services["web"]
        self.assertEqual(web["connections"]["open"], 1)
        self.assertEqual(web["counters"]["responses.4xx"], 1)
        self.assertEqual(web["messages"], 1)

    def test_api_index_and_unknown(self) -> None:
        c = WebClient()
        self.assertIn("/api/health", c.get("/api").json()["endpoints"])
        self.assertIn("/api/health", c.get("/api/").json()["endpoints"])
        for path in ("/api/nothing", "/api/health/extra", "/api/chat/what"):
            r = c.get(path)
            self.assertEqual(r.status, 404, path)
            self.assertEqual(r.json(), {"status": 404, "error": r.json()["error"]})

    def test_wrong_method_is_json_405(self) -> None:
        r = WebClient().connect().request("POST", "/api/health", body=b"{}")
        self.assertEqual(r.status, 405)
        self.assertEqual(r.json()["status"], 405)
        self.assertIn("GET", r.header("allow") or "")

    def test_options_on_the_api(self) -> None:
        r = WebClient(hub=_hub()).connect().request("OPTIONS", "/api/chat/rooms/x/messages")
        self.assertEqual((r.status, r.header("allow")), (204, "GET, POST, HEAD, OPTIONS"))


def _hub() -> Hub:
    now = [1000.0]
    return Hub(clock=lambda: now[0], history=5, flood_rate=1.0, flood_burst=3.0)


class ChatReadTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.hub = _hub()
        self.alice = Recorder()
        self.hub.connect(self.alice, "alice")
        self.hub.join(self.alice, "#lobby")
        self.hub.set_topic(self.alice, "#lobby", "welcome")
        for i in range(3):
            self.hub.say(self.alice, "#lobby", f"message {i}")
        self.client = WebClient(hub=self.hub)

    def test_rooms(self) -> None:
        r = self.client.get("/api/chat/rooms")
        self.assertEqual(r.json(), [{"name": "#lobby", "topic": "welcome", "members": 1}])

    def test_history_by_name_with_and_without_hash(self) -> None:
        for room in ("%23lobby", "lobby", "%23LOBBY"):
            body = self.client.get(f"/api/chat/rooms/{room}/history").json()
            self.assertEqual(body["room"], "#lobby")
            self.assertEqual([m["text"] for m in body["messages"]],
                             ["message 0", "message 1", "message 2"])  # fmt: skip
            self.assertEqual(body["messages"][0]["sender"], "alice")

    def test_history_limit(self) -> None:
        body = self.client.get("/api/chat/rooms/lobby/history?limit=2").json()
        self.assertEqual([m["text"] for m in body["messages"]], ["message 1", "message 2"])
        self.assertEqual(self.client.get("/api/chat/rooms/lobby/history?limit=x").status, 400)
        self.assertEqual(self.client.get("/api/chat/rooms/lobby/history?limit=-1").status, 400)

    def test_missing_room_is_404(self) -> None:
        r = self.client.get("/api/chat/rooms/nowhere/history")
        self.assertEqual((r.status, r.json()["status"]), (404, 404))

    def test_no_hub_is_404(self) -> None:
        r = WebClient().get("/api/chat/rooms")
        self.assertEqual(r.json(), {"status": 404, "error": "no chat hub in this process"})


class ChatPostTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.hub = _hub()
        self.alice = Recorder()
        self.hub.connect(self.alice, "alice")
        self.hub.join(self.alice, "#lobby")
        self.client = WebClient(WebConfig(api_token=TOKEN, api_nick="webbot"), hub=self.hub)

    def post(self, body: Any, token: str | None = TOKEN, room: str = "lobby",
             content_type: str = "application/json") -> Any:  # fmt: skip
        headers = [("Content-Type", content_type)]
        if token is not None:
            headers.append(("Authorization", f"Bearer {token}"))
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.client.connect().request("POST", f"/api/chat/rooms/{room}/messages",
                                             headers, raw)  # fmt: skip

    def test_post_reaches_the_room(self) -> None:
        r = self.post({"text": "hello from the web"})
        self.assertEqual(r.status, 201)
        message = r.json()["message"]
        self.assertEqual((message["sender"], message["room"], message["text"]),
                         ("webbot", "#lobby", "hello from the web"))  # fmt: skip
        said = self.alice.of(Said)
        self.assertEqual([(s.sender, s.text) for s in said], [("webbot", "hello from the web")])
        history = self.client.get("/api/chat/rooms/lobby/history").json()["messages"]
        self.assertEqual(history[-1]["text"], "hello from the web")

    def test_writes_off_without_a_token(self) -> None:
        client = WebClient(hub=self.hub)
        r = client.connect().request(
            "POST",
            "/api/chat/rooms/lobby/messages",
            [("Content-Type", "application/json")],
            b'{"text":"x"}',
        )
        self.assertEqual(r.status, 403)
        self.assertEqual(self.alice.of(Said), [])

    def test_wrong_or_missing_token_is_401(self) -> None:
        for token in (None, "wrong", TOKEN + "x", ""):
            r = self.post({"text": "x"}, token=token)
            self.assertEqual(r.status, 401, token)
            self.assertEqual(r.header("www-authenticate"), 'Bearer realm="netsuite"')
        r = self.client.connect().request("POST", "/api/chat/rooms/lobby/messages", [
            ("Content-Type", "application/json"), ("Authorization", f"Basic {TOKEN}")],
            b'{"text":"x"}')  # fmt: skip
        self.assertEqual(r.status, 401)
        self.assertEqual(self.alice.of(Said), [])

    def test_bad_bodies(self) -> None:
        self.assertEqual(self.post({"text": "x"}, content_type="text/plain").status, 415)
        self.assertEqual(self.post(b"{not json").status, 400)
        self.assertEqual(self.post({"message": "x"}).status, 400)
        self.assertEqual(self.post(["x"]).status, 400)
        self.assertEqual(self.post({"text": ""}).status, 400)
        self.assertEqual(self.post({"text": "x" * 5000}).status, 413)

    def test_missing_room_is_404_and_not_created(self) -> None:
        r = self.post({"text": "x"}, room="nowhere")
        self.assertEqual(r.status, 404)
        self.assertEqual([room.name for room in self.hub.room_names()], ["#lobby"])

    def test_flood_is_429(self) -> None:
        statuses = [self.post({"text": f"{i}"}).status for i in range(5)]
        self.assertEqual(statuses, [201, 201, 201, 429, 429])

    def test_nick_taken_is_409(self) -> None:
        bob = Recorder()
        self.hub.connect(bob, "webbot")
        self.assertEqual(self.post({"text": "x"}).status, 409)

    def test_get_on_messages_is_405(self) -> None:
        r = self.client.get("/api/chat/rooms/lobby/messages")
        self.assertEqual((r.status, r.header("allow")), (405, "POST, OPTIONS"))
