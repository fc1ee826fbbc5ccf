"""
The WebSocket door over real TCP on 127.0.0.1, in this process: Twisted's WebSocket
client and a line-door client on one hub. What the in-memory tests cannot show: that
the socket takes the connection over from a real Twisted TCP transport (one producer at
a time) and that a message crosses doors through real sockets.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from twisted.internet import reactor as global_reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.protocol import Factory, connectionDone
from twisted.protocols.basic import LineReceiver
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase
from twisted.web.websocket import WebSocketClientEndpoint, WebSocketTransport

from netsuite.chat._hub import Hub
from netsuite.chat._line_door import LineChatFactory
from netsuite.web import build_site
from netsuite.web._ui import WebUI

reactor: Any = global_reactor
DEADLINE = 15.0


class Waiter:
    """Deferreds that fire once a condition over what was received holds (or time out)."""

    def __init__(self) -> None:
        self._waits: list[tuple[Callable[[], Any], Deferred[Any]]] = []

    def until(self, condition: Callable[[], Any], what: str) -> Deferred[Any]:
        done: Deferred[Any] = Deferred()
        value = condition()
        if value:
            done.callback(value)
            return done
        self._waits.append((condition, done))

        def expire() -> None:
            if not done.called:
                self._waits = [(c, d) for c, d in self._waits if d is not done]
                done.errback(AssertionError(f"timed out waiting for {what}"))

        call = reactor.callLater(DEADLINE, expire)
        done.addBoth(lambda result: (call.cancel() if call.active() else None, result)[1])
        return done

    def check(self) -> None:
        for condition, done in list(self._waits):
            value = condition()
            if value and not done.called:
                self._waits.remove((condition, done))
                done.callback(value)


class BrowserLike(Waiter):
    """A WebSocketProtocol for Twisted's client."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[dict[str, Any]] = []
        self.transport: WebSocketTransport | None = None
        self.lost: Deferred[None] = Deferred()
        self.reason: Failure | None = None

    def negotiationStarted(self, transport: WebSocketTransport) -> None:
        self.transport = transport

    def negotiationFinished(self) -> None:
        pass

    def textMessageReceived(self, message: str) -> None:
        self.messages.append(json.loads(message))
        self.check()

    def bytesMessageReceived(self, data: bytes) -> None:
        raise AssertionError("no bytes expected")

    def pongReceived(self, payload: bytes) -> None:
        pass

    def connectionLost(self, reason: Failure) -> None:
        self.reason = reason
        self.lost.callback(None)

    def send(self, **fields: Any) -> None:
        assert self.transport is not None
        self.transport.sendTextMessage(json.dumps(fields))

    def said(self, text: str) -> Callable[[], Any]:
        return lambda: [m for m in self.messages if m["type"] == "said" and m["text"] == text]


class LineUser(LineReceiver, Waiter):
    delimiter = b"\n"

    def __init__(self) -> None:
        Waiter.__init__(self)
        self.lines: list[str] = []
        self.lost: Deferred[None] = Deferred()

    def lineReceived(self, line: bytes) -> None:
        self.lines.append(line.decode().rstrip("\r"))
        self.check()

    def has(self, needle: str) -> Callable[[], Any]:
        return lambda: [line for line in self.lines if needle in line]

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.lost.callback(None)


class RealTCPTests(TestCase):
    timeout = 60

    @inlineCallbacks
    def test_browser_and_line_client_talk(self) -> Any:
        hub = Hub(clock=reactor.seconds)
        site = build_site(reactor=reactor, hub=hub)
        ui = WebUI.build(hub, clock=reactor)
        ui.install(site)
        web_port = reactor.listenTCP(0, site, interface="127.0.0.1")
        self.addCleanup(web_port.stopListening)
        line_factory = LineChatFactory("chat/line", hub, clock=reactor)
        line_port = reactor.listenTCP(0, line_factory, interface="127.0.0.1")
        self.addCleanup(line_port.stopListening)

        class Builder:
            def buildProtocol(self, url: str) -> BrowserLike:
                return BrowserLike()

        url = f"http://127.0.0.1:{web_port.getHost().port}/chat/ws"
        browser: BrowserLike = yield Deferred.fromCoroutine(
            WebSocketClientEndpoint.new(reactor, url).connect(Builder())
        )
        yield browser.until(lambda: browser.messages[1:], "welcome and joined")
        self.assertEqual(browser.messages[0]["type"], "welcome")
        sock = next(iter(ui.sockets.open)) if ui.sockets else None
        assert sock is not None
        self.assertIs(sock.tcp.producer, sock.outbox)

        line = LineUser()
        yield TCP4ClientEndpoint(reactor, "127.0.0.1", line_port.getHost().port).connect(
            Factory.forProtocol(lambda: line)
        )
        yield line.until(line.has("welcome to"), "the line door's welcome")
        browser.send(type="nick", nick="webby")
        browser.send(type="say", room="#lobby", text="hello from a websocket")
        yield line.until(line.has("<webby> hello from a websocket"), "the browser's message")
        line.sendLine(b"hello back from a line")
        yield browser.until(browser.said("hello back from a line"), "the line's message")

        assert browser.transport is not None
        browser.transport.loseConnection()
        yield browser.lost
        yield line.until(line.has("<- webby quit"), "the browser's quit")
        self.assertEqual(ui.sockets.open if ui.sockets else None, set())
        line.transport.loseConnection()
        yield line.lost
