"""
IRC over WebSocket through the whole site in memory (wsproto's client on a
StringTransport, a L{MemoryReactorClock}): the subprotocol handshake, text and binary
messages both ways, the WebSocket door's refusals and caps, the fake lag's timer, the
drain, and the C{--irc-ws} option with the service it builds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twisted.internet.error import ConnectionDone
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python import usage
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
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
from netsuite.web import StatsRegistry, build_site, tap
from netsuite.web._chatws import ChatSocketConfig
from netsuite.web._ircws import (
    IRCSocket,
    IRCSocketFactory,
    IRCWebSettings,
    check_path,
    install_irc_socket,
)
from netsuite.web._ircws_session import BINARY, TEXT
from netsuite.web._site import WebSite
from netsuite.web._wsguard import OriginPolicy
from tests.web.helpers import Connection, WebClient
from tests.web.test_chatws_door import Site as PageSite

ORIGIN = b"http://127.0.0.1:8080"


class Site(PageSite):
    """A site with IRC over WebSocket at /irc on a hub; carol is on the line door.
    (L{PageSite.connect} opens a connection to it.)"""

    def __init__(self, config: ChatSocketConfig | None = None, **hub: Any) -> None:
        self.clock = MemoryReactorClock()
        self.hub = Hub(clock=self.clock.seconds, **hub)
        self.stats = StatsRegistry(self.clock.seconds)
        self.site: WebSite = build_site(None, reactor=self.clock, hub=self.hub, stats=self.stats)
        factory = install_irc_socket(
            self.site, self.hub, clock=self.clock, config=config, settings=IRCWebSettings()
        )
        assert factory is not None
        self.factory: IRCSocketFactory = factory
        self.web = WebClient(site=self.site, clock=self.clock)
        self.seen: list[bytes] = []
        self.carol = LineSession(self.hub, self.seen.append, lambda reason: None)
        self.carol.start("carol")


@dataclass
class IRCBrowser:
    """An IRC client in a page: wsproto's client asking for C{subprotocols}."""

    site: Site
    subprotocols: list[str] = field(default_factory=lambda: [BINARY, TEXT])
    origin: bytes | None = ORIGIN
    path: str = "/irc"
    conn: Connection = field(init=False)
    ws: WSConnection = field(init=False)
    accepted: AcceptConnection | None = None
    rejected: int | None = None
    reject_body: bytes = b""
    messages: list[str | bytes] = field(default_factory=list)
    close: CloseConnection | None = None
    _read: int = 0

    def __post_init__(self) -> None:
        self.conn = self.site.connect()
        self.ws = WSConnection(ConnectionType.CLIENT)
        headers = [(b"origin", self.origin)] if self.origin is not None else []
        request = Request(host="127.0.0.1:8080", target=self.path, extra_headers=headers,
                          subprotocols=self.subprotocols)  # fmt: skip
        self.raw(self.ws.send(request))

    @property
    def transport(self) -> StringTransport:
        return self.conn.transport

    @property
    def socket(self) -> IRCSocket:
        (sock,) = [s for s in self.site.factory.open if s.tcp is self.transport]
        assert isinstance(sock, IRCSocket)
        return sock

    def raw(self, data: bytes) -> None:
        self.conn.send(data)
        self.pump()

    def pump(self) -> None:
        data = self.transport.value()[self._read :]
        self._read += len(data)
        self.ws.receive_data(data)
        for event in self.ws.events():
            if isinstance(event, AcceptConnection):
                self.accepted = event
            elif isinstance(event, RejectConnection):
                self.rejected = event.status_code
            elif isinstance(event, RejectData):
                self.reject_body += event.data
            elif isinstance(event, (TextMessage, BytesMessage)):
                assert event.message_finished  # the server sends whole messages
                self.messages.append(event.data)
            elif isinstance(event, CloseConnection):
                self.close = event
            else:
                assert isinstance(event, Ping), event
                self.conn.send(self.ws.send(event.response()))

    def send(self, *lines: str | bytes) -> list[str | bytes]:
        before = len(self.messages)
        for line in lines:
            event = TextMessage(line) if isinstance(line, str) else BytesMessage(line)
            self.raw(self.ws.send(event))
        return self.messages[before:]

    def register(self, nick: str) -> list[str | bytes]:
        return self.send(f"NICK {nick}", f"USER {nick} 0 * :Web Example")


class HandshakeTests(SynchronousTestCase):
    def test_binary_preferred_binary_chosen(self) -> None:
        b = IRCBrowser(Site(), [BINARY, TEXT])
        assert b.accepted is not None
        self.assertEqual(b.accepted.subprotocol, BINARY)
        self.assertTrue(b.socket.binary)
        out = b.register("wes")
        self.assertTrue(out and all(isinstance(m, bytes) for m in out), out)
        self.assertEqual(
            out[0], b":netsuite 001 wes :Welcome to the netsuite IRC network wes!wes@netsuite"
        )

    def test_text_preferred_text_chosen(self) -> None:
        b = IRCBrowser(Site(), [TEXT, BINARY])
        assert b.accepted is not None
        self.assertEqual(b.accepted.subprotocol, TEXT)
        out = b.register("wes")
        self.assertTrue(out and all(isinstance(m, str) for m in out), out)
        self.assertIn(":netsuite 001 wes :Welcome", out[0])

    def test_no_subprotocol_means_text_and_no_header(self) -> None:
        b = IRCBrowser(Site(), [])
        assert b.accepted is not None
        self.assertIsNone(b.accepted.subprotocol)
        self.assertNotIn(b"sec-websocket-protocol", b.transport.value().lower())
        self.assertTrue(all(isinstance(m, str) for m in b.register("wes")))

    def test_only_unknown_subprotocols_means_text_and_no_header(self) -> None:
        b = IRCBrowser(Site(), ["chat.example"])
        assert b.accepted is not None
        self.assertIsNone(b.accepted.subprotocol)
        self.assertTrue(all(isinstance(m, str) for m in b.register("wes")))

    def test_origin_from_elsewhere_403(self) -> None:
        s = Site()
        b = IRCBrowser(s, origin=b"http://evil.example")
        self.assertEqual(b.rejected, 403)
        self.assertEqual(s.factory.counters["refused.origin"], 1)
        allowed = Site(ChatSocketConfig(origins=OriginPolicy(allowed=("http://evil.example",))))
        self.assertIsNone(IRCBrowser(allowed, origin=b"http://evil.example").rejected)

    def test_no_origin_is_not_a_page_and_may_connect(self) -> None:
        self.assertIsNone(IRCBrowser(Site(), origin=None).rejected)

    def test_plain_get_426(self) -> None:
        s = Site()
        response = s.connect().request("GET", "/irc")
        self.assertEqual(response.status, 426)
        self.assertEqual(s.factory.counters["refused.not_websocket"], 1)

    def test_malformed_upgrade_400(self) -> None:
        s = Site()
        response = s.connect().request(
            "GET", "/irc", [("Upgrade", "websocket"), ("Connection", "Upgrade")]
        )  # no Sec-WebSocket-Key or version
        self.assertEqual(response.status, 400)
        self.assertEqual(s.factory.counters["refused.handshake"], 1)
        self.assertEqual(s.factory.open, set())

    def test_counted_in_the_stats(self) -> None:
        s = Site()
        IRCBrowser(s)
        self.assertIn("chat/irc-ws", s.stats)
        self.assertEqual(s.factory.counters["accepted"], 1)


class TalkTests(SynchronousTestCase):
    def test_with_the_line_door_both_ways(self) -> None:
        s = Site()
        b = IRCBrowser(s, [TEXT])
        b.register("wes")
        out = b.send("JOIN #lobby")
        self.assertIn(":wes!wes@netsuite JOIN #lobby", out)
        b.send("PRIVMSG #lobby :hello from a browser")
        self.assertIn(b"[#lobby] <wes> hello from a browser\r\n", s.seen)
        s.carol.line_received(b"hi wes")
        b.pump()
        self.assertEqual(b.messages[-1], ":carol!carol@netsuite PRIVMSG #lobby :hi wes")

    def test_binary_bytes_in_text_out(self) -> None:
        s = Site()
        sender = IRCBrowser(s, [BINARY])
        reader = IRCBrowser(s, [TEXT])
        sender.register("bin")
        reader.register("txt")
        sender.send(b"JOIN #lobby")
        reader.send("JOIN #lobby")
        sender.send(b"PRIVMSG #lobby :caf\xe9")  # latin-1: not UTF-8
        reader.pump()
        self.assertEqual(reader.messages[-1], ":bin!bin@netsuite PRIVMSG #lobby :caf\ufffd")
        reader.send("PRIVMSG #lobby :na\u00efve")
        sender.pump()
        self.assertEqual(
            sender.messages[-1], ":txt!txt@netsuite PRIVMSG #lobby :na\u00efve".encode()
        )

    def test_text_and_binary_taken_whichever_was_chosen(self) -> None:
        b = IRCBrowser(Site(), [TEXT])
        b.send(b"NICK wes")
        out = b.send("USER wes 0 * :W")
        self.assertIn(":netsuite 001 wes", str(out[0]))

    def test_quit_closes_1000(self) -> None:
        s = Site()
        b = IRCBrowser(s)
        b.register("wes")
        b.send("QUIT :gone")
        assert b.close is not None
        self.assertEqual(b.close.code, 1000)
        self.assertTrue(b.messages[-1].startswith(b"ERROR :Closing link"))
        self.assertTrue(b.transport.disconnecting)

    def test_fake_lag_runs_queued_lines_on_the_clock(self) -> None:
        s = Site(flood_rate=1.0, flood_burst=2.0)
        b = IRCBrowser(s, [TEXT])
        b.send("PING :1", "PING :2", "PING :3")
        self.assertEqual(len([m for m in b.messages if "PONG" in m]), 2)
        s.clock.advance(1.0)
        b.pump()
        self.assertEqual([m for m in b.messages if "PONG" in m][-1], ":netsuite PONG netsuite :3")


class LimitTests(SynchronousTestCase):
    def test_message_cap_n_taken_n_plus_one_closed_1009(self) -> None:
        config = ChatSocketConfig(max_frame=1024, max_message=1024, ping_interval=0)
        s = Site(config)
        b = IRCBrowser(s, [TEXT])
        b.register("wes")
        b.send("JOIN #lobby")
        head = "PRIVMSG #lobby :"
        b.send(head + "x" * (1024 - len(head)))
        self.assertTrue(any(line.endswith(b"x" * 100 + b"\r\n") for line in s.seen))
        self.assertIsNone(b.close)
        b.send(head + "x" * (1025 - len(head)))
        assert b.close is not None
        self.assertEqual(b.close.code, 1009)
        self.assertEqual(
            b.messages[-1], "ERROR :Closing link: frame of 1025 bytes is over the 1024-byte limit"
        )
        self.assertEqual(s.factory.counters["closed.too_big"], 1)
        self.assertNotIn("wes", [m.nick for m in s.hub.who("#lobby")])

    def test_slow_reader_cut_off_1008(self) -> None:
        s = Site(ChatSocketConfig(send_queue=2000, ping_interval=0))
        b = IRCBrowser(s, [TEXT])
        b.register("wes")
        b.send("JOIN #lobby")
        b.socket.outbox.pauseProducing()  # Twisted's buffer is full: the outbox queues
        for i in range(40):
            s.carol.line_received(b"line %d of a long talk" % i)
        self.assertEqual(s.factory.counters["disconnected.send_queue"], 1)
        self.assertNotIn("wes", [m.nick for m in s.hub.who("#lobby")])

    def test_drain_says_error_and_closes_1001(self) -> None:
        s = Site()
        b = IRCBrowser(s)
        b.register("wes")
        done = s.factory.drain(5.0)
        b.pump()
        assert b.close is not None
        self.assertEqual(b.close.code, 1001)
        self.assertEqual(b.messages[-1], b"ERROR :Closing Link: wes (server shutting down)")
        b.conn.protocol.connectionLost(Failure(ConnectionDone()))
        self.assertTrue(done.called)


class PathOptionTests(SynchronousTestCase):
    def parse(self, *argv: str) -> tap.Options:
        options = tap.Options()
        options.reactor = MemoryReactorClock()
        options.parseOptions(list(argv))
        return options

    def test_default_irc(self) -> None:
        self.assertEqual(self.parse()["irc-ws"], "/irc")
        service = tap.makeService(self.parse())
        self.assertIsNotNone(service.irc_sockets)
        self.assertIn(b"irc", service.site.root.children)
        self.assertIn(service.irc_sockets, service.drain_targets())

    def test_another_path_and_none(self) -> None:
        service = tap.makeService(self.parse("--irc-ws", "/ircws"))
        self.assertIn(b"ircws", service.site.root.children)
        self.assertNotIn(b"irc", service.site.root.children)
        off = tap.makeService(self.parse("--irc-ws", "none"))
        self.assertIsNone(off.irc_sockets)
        self.assertNotIn(b"irc", off.site.root.children)

    def test_config_key(self) -> None:
        config = Path(self.mktemp())
        config.write_text('[web.irc]\nws = "/ircx"\n')
        self.assertEqual(self.parse("--config", str(config))["irc-ws"], "/ircx")
        config.write_text('[web]\nirc_ws = "none"\n')
        self.assertEqual(self.parse("--config", str(config))["irc-ws"], "none")

    def test_bad_paths_refused(self) -> None:
        for bad in ("irc", "/a/b", "/", "/chat", "/api", "/ir c"):
            with self.assertRaises(usage.UsageError, msg=bad):
                self.parse("--irc-ws", bad)
        self.assertIsNone(check_path("/irc-2.x~"))

    def test_settings_passed_in_are_used(self) -> None:
        settings = IRCWebSettings(server_name="irc.example", password="sesame")
        service = tap.makeService(self.parse(), irc=settings)
        assert service.irc_sockets is not None
        self.assertEqual(service.irc_sockets.settings.password, "sesame")
        self.assertEqual(service.irc_sockets.settings.path, "/irc")  # always --irc-ws's
