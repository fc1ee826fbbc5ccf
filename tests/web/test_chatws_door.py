"""
The WebSocket chat door through the whole site in memory: the upgrade and its refusals,
size caps, the slow-reader bound, keepalive, close and drain; the pages and their CSP;
and Twisted's own WebSocket client against the site over iosim.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.test.iosim import ConnectionCompleter
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.test.requesthelper import DummyRequest
from twisted.web.websocket import WebSocketClientEndpoint, WebSocketTransport
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

from netsuite.chat._hub import Hub
from netsuite.chat._line import LineSession
from netsuite.web import StatsRegistry, WebConfig, build_site
from netsuite.web._chatws import ChatSocket, ChatSocketConfig, ChatSocketResource
from netsuite.web._site import WebSite
from netsuite.web._ui import PAGE_CSP, WebUI, load_assets
from netsuite.web._wsguard import OriginPolicy
from tests.web.helpers import Connection, WebClient, make_tree

ORIGIN = b"http://127.0.0.1:8080"


class Site:
    """A site with the pages and the door on a hub, all on one L{MemoryReactorClock}."""

    def __init__(self, config: ChatSocketConfig | None = None, *, hub: bool = True,
                 web: WebConfig | None = None) -> None:  # fmt: skip
        self.clock = MemoryReactorClock()
        self.hub = Hub(clock=self.clock.seconds) if hub else None
        self.stats = StatsRegistry(self.clock.seconds)
        self.site: WebSite = build_site(web, reactor=self.clock, hub=self.hub, stats=self.stats)
        self.ui = WebUI.build(self.hub, clock=self.clock, config=config)
        self.ui.install(self.site)
        self.web = WebClient(site=self.site, clock=self.clock)

    @property
    def sockets(self) -> set[ChatSocket]:
        assert self.ui.sockets is not None
        return self.ui.sockets.open

    @property
    def counters(self) -> Any:
        assert self.ui.sockets is not None
        return self.ui.sockets.counters

    def connect(self) -> Connection:
        peer = IPv4Address("TCP", "127.0.0.1", 40000)
        protocol = self.site.buildProtocol(peer)
        assert protocol is not None
        transport = StringTransport(IPv4Address("TCP", "127.0.0.1", 8080), peer)
        protocol.makeConnection(transport)
        return Connection(self.web, protocol, transport)


@dataclass
class Browser:
    """A WebSocket client over an in-memory connection to the site (wsproto's client)."""

    site: Site
    origin: bytes | None = ORIGIN
    host: str = "127.0.0.1:8080"
    answer_pings: bool = True
    conn: Connection = field(init=False)
    ws: WSConnection = field(init=False)
    messages: list[dict[str, Any]] = field(default_factory=list)
    rejected: int | None = None
    reject_body: bytes = b""
    close: CloseConnection | None = None
    pings: int = 0
    _read: int = 0
    _text: str = ""

    def __post_init__(self) -> None:
        self.conn = self.site.connect()
        self.ws = WSConnection(ConnectionType.CLIENT)
        headers = [(b"origin", self.origin)] if self.origin is not None else []
        self.raw(self.ws.send(Request(host=self.host, target="/chat/ws", extra_headers=headers)))

    @property
    def transport(self) -> StringTransport:
        return self.conn.transport

    @property
    def socket(self) -> ChatSocket:
        (sock,) = [s for s in self.site.sockets if s.tcp is self.transport]
        return sock

    def raw(self, data: bytes) -> None:
        self.conn.send(data)
        self.pump()

    def pump(self) -> None:
        data = self.transport.value()[self._read :]
        self._read += len(data)
        self.ws.receive_data(data)
        for event in self.ws.events():
            if isinstance(event, RejectConnection):
                self.rejected = event.status_code
            elif isinstance(event, RejectData):
                self.reject_body += event.data
            elif isinstance(event, TextMessage):
                self._text += event.data
                if event.message_finished:
                    self.messages.append(json.loads(self._text))
                    self._text = ""
            elif isinstance(event, CloseConnection):
                self.close = event
            elif isinstance(event, Ping):
                self.pings += 1
                if self.answer_pings:
                    self.conn.send(self.ws.send(event.response()))
            else:
                assert isinstance(event, AcceptConnection), event

    def send(self, **fields: Any) -> list[dict[str, Any]]:
        return self.send_text(json.dumps(fields))

    def send_text(self, text: str) -> list[dict[str, Any]]:
        before = len(self.messages)
        self.raw(self.ws.send(TextMessage(data=text)))
        return self.messages[before:]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    @property
    def nick(self) -> str:
        return str(self.of("welcome")[0]["nick"])

    def lose(self) -> None:
        self.conn.protocol.connectionLost(Failure(ConnectionDone()))


def client_frame(payload: bytes, opcode: int = 1, fin: bool = True) -> bytes:
    """A masked client frame (all-zero key) with any length the test wants."""
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return head + b"\0\0\0\0" + payload


def padded(size: int) -> bytes:
    """A valid C{rooms} request of exactly C{size} bytes."""
    base = '{"type":"rooms","pad":""}'
    return ('{"type":"rooms","pad":"' + "x" * (size - len(base)) + '"}').encode()


class UpgradeTests(SynchronousTestCase):
    def test_upgrade_welcome_lobby_talk(self) -> None:
        s = Site()
        alice, bob = Browser(s), Browser(s)
        self.assertIsNone(alice.rejected)
        self.assertEqual(alice.messages[0]["type"], "welcome")
        self.assertEqual(alice.messages[1], {"type": "joined", "room": "#lobby", "nick": "guest1"})
        alice.send(type="nick", nick="alice")
        alice.send(type="say", room="#lobby", text="hello bob")
        bob.pump()
        said = bob.of("said")[-1]
        self.assertEqual((said["from"], said["text"]), ("alice", "hello bob"))
        self.assertEqual(len(s.sockets), 2)
        self.assertEqual(s.counters["accepted"], 2)
        self.assertEqual(s.counters["received"], 2)

    def test_the_socket_takes_over_from_the_http_channel(self) -> None:
        s = Site(ChatSocketConfig(ping_interval=0))
        alice = Browser(s)
        sock = alice.socket
        self.assertIs(alice.transport.producer, sock.outbox)  # not the HTTP channel any more
        channel = alice.conn.protocol._channel
        self.assertEqual(vars(channel)["dataReceived"], sock.data_received)  # the guard first
        # The HTTP deadlines and idle timeout are off: a quiet socket stays open.
        s.clock.advance(3600)
        self.assertFalse(alice.transport.disconnecting)
        self.assertEqual(alice.send(type="rooms")[0]["type"], "rooms")

    def test_line_door_and_browser_share_the_hub(self) -> None:
        s = Site()
        assert s.hub is not None
        out: list[bytes] = []
        line = LineSession(s.hub, out.append, lambda reason: None)
        line.start("carol")
        browser = Browser(s)
        browser.send(type="say", room="#lobby", text="hi carol")
        self.assertIn(f"[#lobby] <{browser.nick}> hi carol\r\n".encode(), out)
        line.line_received(b"hi browser")
        browser.pump()
        self.assertEqual(browser.of("said")[-1]["text"], "hi browser")

    def test_another_origin_is_refused_before_the_upgrade(self) -> None:
        s = Site()
        evil = Browser(s, origin=b"http://evil.example")
        self.assertEqual(evil.rejected, 403)
        self.assertIn(b"http://evil.example is not allowed", evil.reject_body)
        self.assertEqual(s.sockets, set())
        self.assertEqual(s.counters["refused.origin"], 1)
        self.assertEqual(s.counters["accepted"], 0)
        other_port = Browser(s, origin=b"http://127.0.0.1:9999")
        self.assertEqual(other_port.rejected, 403)
        no_origin = Browser(s, origin=None)  # not a page: a script or a CLI client
        self.assertIsNone(no_origin.rejected)

    def test_allowed_origins_option(self) -> None:
        s = Site(ChatSocketConfig(origins=OriginPolicy(allowed=("https://chat.example",))))
        self.assertIsNone(Browser(s, origin=b"https://chat.example").rejected)
        self.assertIsNone(Browser(s).rejected)  # the site's own origin still
        self.assertEqual(Browser(s, origin=b"https://other.example").rejected, 403)

    def test_plain_get_is_426_and_without_hub_503(self) -> None:
        s = Site()
        r = s.web.get("/chat/ws")
        self.assertEqual(r.status, 426)
        self.assertEqual(r.header("upgrade"), "websocket")
        self.assertEqual(s.counters["refused.not_websocket"], 1)
        self.assertEqual(s.web.connect().request("HEAD", "/chat/ws").status, 426)
        self.assertEqual(s.web.get("/chat/ws/more").status, 404)
        bad = s.web.get("/chat/ws", [("Upgrade", "websocket"), ("Connection", "Upgrade")])
        self.assertEqual(bad.status, 400)  # no key, no version: Twisted's handshake refuses
        self.assertEqual(s.counters["refused.handshake"], 1)
        lonely = Site(hub=False)
        self.assertEqual(Browser(lonely).rejected, 503)

    def test_http2_requests_are_refused(self) -> None:
        """An HTTP/2 stream cannot be upgraded (RFC 8441 is not offered): 400, not a crash."""
        s = Site()
        request = DummyRequest([])
        request.channel = object()  # an H2Stream has no HTTP/1.1 upgrade to offer
        request.requestHeaders.setRawHeaders(b"upgrade", [b"websocket"])
        request.requestHeaders.setRawHeaders(b"origin", [ORIGIN])
        resource = s.ui.children["chat"].children[b"ws"]  # type: ignore[attr-defined]
        assert isinstance(resource, ChatSocketResource)
        resource.render_GET(request)
        self.assertEqual(request.responseCode, 400)
        self.assertEqual(s.counters["refused.not_http1"], 1)

    def test_stats_registry_reports_the_door(self) -> None:
        s = Site()
        Browser(s)
        services = s.web.get("/api/stats").json()["services"]
        self.assertEqual(services["chat/ws"]["connections"]["open"], 1)
        self.assertEqual(services["chat/ws"]["connections"]["accepted"], 1)


class LimitTests(SynchronousTestCase):
    def test_message_at_the_cap_passes_one_byte_more_is_1009(self) -> None:
        s = Site()
        alice, bob = Browser(s), Browser(s)
        exact = padded(1 << 16)
        self.assertEqual(len(exact), 65536)
        alice.raw(client_frame(exact))
        self.assertEqual(alice.messages[-1]["type"], "rooms")
        self.assertIsNone(alice.close)
        alice.raw(client_frame(padded((1 << 16) + 1)))
        self.assertEqual(alice.close.code if alice.close else None, 1009)
        assert alice.close is not None
        self.assertIn("65537 bytes", alice.close.reason)
        self.assertTrue(alice.transport.disconnecting)
        self.assertEqual(s.counters["closed.too_big"], 1)
        bob.pump()
        self.assertEqual(bob.of("quit")[-1]["nick"], alice.nick)

    def test_a_huge_frame_is_refused_from_its_header(self) -> None:
        s = Site()
        alice = Browser(s)
        header = bytes([0x81, 0x80 | 127]) + (1 << 40).to_bytes(8, "big") + b"\0\0\0\0"
        alice.raw(header + b"x" * 100)  # no terabyte is ever buffered
        assert alice.close is not None
        self.assertEqual(alice.close.code, 1009)
        self.assertIn("frame of 1099511627776 bytes", alice.close.reason)

    def test_fragmented_message_over_the_cap(self) -> None:
        s = Site(ChatSocketConfig(max_frame=100, max_message=150))
        alice = Browser(s)
        ok = client_frame(b'{"type":', fin=False) + client_frame(b'"rooms"}', opcode=0)
        alice.raw(ok)
        self.assertEqual(alice.messages[-1]["type"], "rooms")
        alice.raw(client_frame(b" " * 100, fin=False) + client_frame(b" " * 51, opcode=0))
        assert alice.close is not None
        self.assertEqual(alice.close.code, 1009)
        self.assertIn("message of 151 bytes", alice.close.reason)

    def test_messages_before_the_refused_frame_are_handled(self) -> None:
        s = Site(ChatSocketConfig(max_frame=100, max_message=100))
        alice = Browser(s)
        alice.raw(client_frame(b'{"type":"rooms"}') + client_frame(b"x" * 101))
        self.assertEqual(alice.messages[-1]["type"], "rooms")
        assert alice.close is not None
        self.assertEqual(alice.close.code, 1009)

    def test_binary_is_1003(self) -> None:
        s = Site()
        alice = Browser(s)
        alice.raw(alice.ws.send(BytesMessage(data=b"\x00\x01")))
        assert alice.close is not None
        self.assertEqual(alice.close.code, 1003)
        self.assertEqual(s.counters["closed.binary"], 1)

    def test_slow_reader_cut_off_at_the_bound_others_unaffected(self) -> None:
        """
        A browser whose connection stops taking bytes (the transport pauses its producer)
        has messages queued up to C{send_queue} bytes; past that it is cut off with 1008,
        leaves the hub at once, and is aborted if it does not let go in C{close_timeout}.
        """
        s = Site(ChatSocketConfig(send_queue=1000, close_timeout=5))
        slow, fast, talker = Browser(s), Browser(s), Browser(s)
        sock = slow.socket
        sock.outbox.pauseProducing()  # what Twisted does when its buffer is full
        before = len(slow.transport.value())
        sent = 0
        while sock.outbox.queued + 120 <= 1000:
            talker.send(type="say", room="#lobby", text="x" * 40)
            sent += 1
        self.assertEqual(len(slow.transport.value()), before)  # all of it waits
        self.assertFalse(slow.transport.disconnecting)
        talker.send(type="say", room="#lobby", text="x" * 40)  # over the bound now
        self.assertTrue(slow.transport.disconnecting)
        self.assertEqual(s.counters["disconnected.send_queue"], 1)
        assert s.hub is not None
        self.assertFalse(s.hub.is_connected(sock.session))
        fast.pump()
        self.assertEqual(len(fast.of("said")), sent + 1)
        self.assertEqual(fast.of("quit")[-1]["reason"], "send queue exceeded (1000 bytes)")
        slow.pump()
        assert slow.close is not None
        self.assertEqual((slow.close.code, slow.close.reason), (1008, "send queue exceeded"))
        self.assertFalse(slow.transport.disconnected)
        s.clock.advance(5)
        self.assertTrue(slow.transport.disconnected)  # aborted: it was not reading

    def test_paused_then_resumed_sends_in_order(self) -> None:
        s = Site()
        reader, talker = Browser(s), Browser(s)
        reader.socket.outbox.pauseProducing()
        for i in range(5):
            talker.send(type="say", room="#lobby", text=f"m{i}")
        reader.pump()
        self.assertEqual(reader.of("said"), [])
        reader.socket.outbox.resumeProducing()
        reader.pump()
        self.assertEqual([m["text"] for m in reader.of("said")], [f"m{i}" for i in range(5)])
        self.assertEqual(reader.socket.outbox.queued, 0)


class KeepaliveAndCloseTests(SynchronousTestCase):
    def test_ping_after_silence_drop_without_answer(self) -> None:
        s = Site(ChatSocketConfig(ping_interval=30, ping_timeout=10))
        alive, dead = Browser(s), Browser(s, answer_pings=False)
        s.clock.advance(20)
        alive.send(type="rooms")  # input: the next ping waits for 30 s of silence
        s.clock.advance(10)
        alive.pump()
        dead.pump()
        self.assertEqual((alive.pings, dead.pings), (0, 1))
        s.clock.advance(10)
        self.assertTrue(dead.transport.disconnected)
        self.assertEqual(s.counters["closed.ping_timeout"], 1)
        assert s.hub is not None
        self.assertEqual([m.nick for m in s.hub.members()], [alive.nick])
        s.clock.advance(20)
        alive.pump()
        self.assertEqual(alive.pings, 1)
        s.clock.advance(10)  # it answered (a pong is input)
        self.assertFalse(alive.transport.disconnecting)

    def test_client_close_and_connection_lost(self) -> None:
        s = Site()
        alice, bob = Browser(s), Browser(s)
        alice.raw(alice.ws.send(CloseConnection(code=1000, reason="bye")))
        assert alice.close is not None
        self.assertEqual(alice.close.code, 1000)  # the close answered
        self.assertTrue(alice.transport.disconnecting)
        # Until the TCP close arrives, fan-out to it fails in wsproto (closed): that is
        # caught, and it leaves the hub then, without disturbing the sender.
        bob.send(type="say", room="#lobby", text="anyone?")
        self.assertEqual(bob.of("said")[-1]["text"], "anyone?")
        self.assertEqual(bob.of("quit")[-1], {"type": "quit", "nick": alice.nick,
                                              "reason": "closed by the client"})  # fmt: skip
        alice.lose()
        self.assertEqual(len(s.sockets), 1)
        bob.lose()
        self.assertEqual(s.sockets, set())
        self.assertEqual(s.site.open, set())
        assert s.hub is not None
        self.assertEqual(s.hub.members(), [])

    def test_quit_request_closes_1000(self) -> None:
        s = Site()
        alice = Browser(s)
        alice.send(type="quit", reason="lunch")
        assert alice.close is not None
        self.assertEqual((alice.close.code, alice.close.reason), (1000, "lunch"))

    def test_drain_closes_with_1001_then_aborts(self) -> None:
        s = Site()
        polite, stuck = Browser(s), Browser(s)
        assert s.ui.sockets is not None
        done = s.ui.sockets.drain(2.0)
        polite.pump()
        stuck.pump()
        for b in (polite, stuck):
            assert b.close is not None
            self.assertEqual((b.close.code, b.close.reason), (1001, "server shutting down"))
        polite.lose()
        self.assertNoResult(done)
        s.clock.advance(2)
        self.assertTrue(stuck.transport.disconnected)
        stuck.lose()
        self.successResultOf(done)
        self.successResultOf(s.ui.sockets.drain(1.0))  # nothing open: at once


class PageTests(SynchronousTestCase):
    def test_pages_and_assets_under_a_strict_policy(self) -> None:
        s = Site()
        for path, kind in [("/", "text/html"), ("/chat/", "text/html"), ("/ui/", "text/html"),
                           ("/ui/chat.js", "text/javascript"), ("/ui/dashboard.js",
                            "text/javascript"), ("/ui/dom.js", "text/javascript"),
                           ("/ui/netsuite.css", "text/css")]:  # fmt: skip
            r = s.web.get(path)
            self.assertEqual(r.status, 200, path)
            self.assertEqual(r.header("content-type"), kind + "; charset=utf-8", path)
            self.assertEqual(r.header("content-security-policy"), PAGE_CSP.decode(), path)
            self.assertEqual(r.header("x-content-type-options"), "nosniff", path)
            self.assertEqual(r.header("cache-control"), "no-cache", path)
        csp = PAGE_CSP.decode()
        self.assertIn("script-src 'self'", csp)
        self.assertNotIn("unsafe", csp)
        self.assertIn(b'<script src="/ui/chat.js"', s.web.get("/chat/").body)
        self.assertIn(b'<script src="/ui/dashboard.js"', s.web.get("/").body)

    def test_no_inline_script_or_style_in_the_pages(self) -> None:
        for name, asset in load_assets().items():
            if name.endswith(".html"):
                body = asset.body.decode()
                self.assertNotIn("<script>", body, name)
                self.assertNotIn("<style", body, name)
                self.assertNotIn(" style=", body, name)
                self.assertIsNone(re.search(r"\son[a-z]+\s*=", body), name)  # onclick= ...

    def test_etag_revalidation_and_methods(self) -> None:
        s = Site()
        first = s.web.get("/ui/chat.js")
        etag = first.header("etag")
        assert etag is not None
        again = s.web.get("/ui/chat.js", [("If-None-Match", etag)])
        self.assertEqual((again.status, again.body), (304, b""))
        self.assertEqual(s.web.get("/ui/chat.js", [("If-None-Match", '"other"')]).status, 200)
        head = s.web.connect().request("HEAD", "/chat/")
        self.assertEqual(head.status, 200)
        self.assertEqual(head.header("content-length"), str(len(s.web.get("/chat/").body)))
        self.assertEqual(s.web.connect().request("POST", "/ui/chat.js").status, 405)

    def test_redirects_and_misses(self) -> None:
        s = Site()
        r = s.web.get("/chat")
        self.assertEqual((r.status, r.header("location")), (301, "/chat/"))
        self.assertEqual(s.web.get("/ui").header("location"), "/ui/")
        for path in ("/chat/nothing", "/ui/nothing.js", "/ui/a/b", "/ui/../api/health"):
            self.assertIn(s.web.get(path).status, (400, 404), path)

    def test_static_index_keeps_the_root_dashboard_moves_to_ui(self) -> None:
        root = make_tree(Path(self.mktemp()))
        s = Site(web=WebConfig(static_root=str(root)))
        self.assertEqual(s.web.get("/").body, b"<!doctype html><title>home</title>\n")
        self.assertIn(b"dashboard.js", s.web.get("/ui/").body)
        self.assertEqual(s.web.get("/hello.txt").body, b"hello, world\n")


class _Recorder:
    """A WebSocketProtocol for Twisted's client: keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.transport: WebSocketTransport | None = None
        self.lost: Failure | None = None

    def negotiationStarted(self, transport: WebSocketTransport) -> None:
        self.transport = transport

    def negotiationFinished(self) -> None:
        pass

    def textMessageReceived(self, message: str) -> None:
        self.messages.append(json.loads(message))

    def bytesMessageReceived(self, data: bytes) -> None:
        raise AssertionError("no bytes expected")

    def pongReceived(self, payload: bytes) -> None:
        pass

    def connectionLost(self, reason: Failure) -> None:
        self.lost = reason

    def say(self, **fields: Any) -> None:
        assert self.transport is not None
        self.transport.sendTextMessage(json.dumps(fields))


class _ClientFactory:
    def buildProtocol(self, url: str) -> _Recorder:
        return _Recorder()


class TwistedClientTests(SynchronousTestCase):
    """Twisted's WebSocket client against the site, over iosim's in-memory TCP."""

    def connect(self, s: Site) -> tuple[_Recorder, Any]:
        endpoint = WebSocketClientEndpoint.new(s.clock, "http://localhost:80/chat/ws")
        connected: Deferred[_Recorder] = Deferred.fromCoroutine(endpoint.connect(_ClientFactory()))
        pump = ConnectionCompleter(s.clock).succeedOnce()
        assert pump is not None
        pump.flush()
        return self.successResultOf(connected), pump

    def test_two_browsers_talk(self) -> None:
        s = Site()
        s.clock.listenTCP(80, s.site, interface="127.0.0.1")
        alice, a_pump = self.connect(s)
        bob, b_pump = self.connect(s)
        self.assertEqual(alice.messages[0]["type"], "welcome")
        alice.say(type="nick", nick="alice")
        alice.say(type="say", room="#lobby", text="over iosim")
        a_pump.flush()
        b_pump.flush()
        said = [m for m in bob.messages if m["type"] == "said"]
        self.assertEqual((said[-1]["from"], said[-1]["text"]), ("alice", "over iosim"))
        assert alice.transport is not None
        alice.transport.loseConnection()
        a_pump.flush()
        b_pump.flush()
        self.assertIsNotNone(alice.lost)
        self.assertEqual([m for m in bob.messages if m["type"] == "quit"][-1]["nick"], "alice")

    def test_slow_reader_through_the_transport(self) -> None:
        s = Site(ChatSocketConfig(send_queue=2000))
        s.clock.listenTCP(80, s.site, interface="127.0.0.1")
        slow, s_pump = self.connect(s)
        talker, t_pump = self.connect(s)
        producer = s_pump.serverIO.producer
        self.assertIsNotNone(producer)
        producer.pauseProducing()  # the server's transport is full
        for _ in range(40):
            talker.say(type="say", room="#lobby", text="y" * 60)
            t_pump.flush()
        s_pump.flush()
        self.assertEqual(s.counters["disconnected.send_queue"], 1)
        self.assertTrue(s_pump.serverIO.disconnecting)
