"""
End to end: IRC over WebSocket on `twistd -n netsuite` (chat and web, one hub), on
127.0.0.1, with wsproto's client over a real socket and a line-door member in the same
room: the subprotocol handshake, the IRC door's PASS asked here too, registration, a
join, messages both ways (text and binary subprotocols), QUIT and its close.

Every wait reads the socket until the awaited line arrives, to a deadline.
"""

from __future__ import annotations

import socket
import time

from twisted.trial.unittest import SynchronousTestCase
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)

from netsuite.testing import TwistdProcess

from .chatclient import LineClient

LOOPBACK = "tcp:0:interface=127.0.0.1"
TIMEOUT = 15.0


class IRCWebSocket:
    """An IRC client over a WebSocket (wsproto on a blocking socket)."""

    def __init__(self, address: tuple[str, int], subprotocols: list[str]) -> None:
        host, port = address
        self.sock = socket.create_connection(address, timeout=TIMEOUT)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.lines: list[str | bytes] = []
        self.accepted: AcceptConnection | None = None
        self.close: CloseConnection | None = None
        self.rejected: int | None = None
        self._text = ""
        self._bytes = b""
        self.sock.sendall(self.ws.send(Request(
            host=f"{host}:{port}", target="/irc", subprotocols=subprotocols,
            extra_headers=[(b"origin", f"http://{host}:{port}".encode())],
        )))  # fmt: skip
        self._until(lambda: self.accepted is not None or self.rejected is not None, "handshake")

    def send(self, line: str | bytes) -> None:
        event = TextMessage(line) if isinstance(line, str) else BytesMessage(line)
        self.sock.sendall(self.ws.send(event))

    def expect(self, needle: str) -> str | bytes:
        """The first line received containing C{needle}, waited for to a deadline."""
        found: list[str | bytes] = []

        def seen() -> bool:
            found[:] = [
                x for x in self.lines if needle in (x if isinstance(x, str) else x.decode())
            ]
            return bool(found)

        self._until(seen, needle)
        return found[0]

    def wait_closed(self) -> CloseConnection:
        self._until(lambda: self.close is not None, "close")
        assert self.close is not None
        return self.close

    def _until(self, done: object, what: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not done():  # type: ignore[operator]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{what!r} never came; got {self.lines[-10:]}")
            self.sock.settimeout(remaining)
            data = self.sock.recv(65536)
            if not data:
                raise AssertionError(f"connection closed waiting for {what!r}: {self.lines[-10:]}")
            self.ws.receive_data(data)
            for event in self.ws.events():
                if isinstance(event, AcceptConnection):
                    self.accepted = event
                elif isinstance(event, RejectConnection):
                    self.rejected = event.status_code
                elif isinstance(event, TextMessage):
                    self._text += event.data
                    if event.message_finished:
                        self.lines.append(self._text)
                        self._text = ""
                elif isinstance(event, BytesMessage):
                    self._bytes += event.data
                    if event.message_finished:
                        self.lines.append(self._bytes)
                        self._bytes = b""
                elif isinstance(event, CloseConnection):
                    self.close = event
                    self.sock.sendall(self.ws.send(event.response()))
                elif isinstance(event, Ping):
                    self.sock.sendall(self.ws.send(event.response()))

    def shut(self) -> None:
        self.sock.close()


class IRCWebSocketProcessTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.server = TwistdProcess(
            "netsuite",
            [
                "--no-echo",
                "--chat-args", f"--listen {LOOPBACK} --irc-listen none --password sesame",
                "--web-args", f"--listen {LOOPBACK}",
            ],
            expect=2,
        ).start()  # fmt: skip
        self.addCleanup(self.stop)

    def stop(self) -> None:
        self.assertEqual(self.server.stop(), 0, self.server.log())

    def client(self, subprotocols: list[str]) -> IRCWebSocket:
        ws = IRCWebSocket(self.server.address("web/http"), subprotocols)
        self.addCleanup(ws.shut)
        return ws

    def test_irc_over_websocket_with_the_line_door(self) -> None:
        carol = LineClient(self.server.address("chat/line"))  # in #lobby from the start
        self.addCleanup(carol.close)
        carol.send("/nick carol")
        carol.expect("is now known as carol")

        # no PASS: refused as the IRC door refuses
        stranger = self.client(["text.ircv3.net"])
        stranger.send("NICK stranger")
        stranger.send("USER stranger 0 * :S")
        self.assertIn(" 464 ", str(stranger.expect(" 464 ")))

        text = self.client(["text.ircv3.net", "binary.ircv3.net"])
        assert text.accepted is not None
        self.assertEqual(text.accepted.subprotocol, "text.ircv3.net")
        for line in ("PASS sesame", "NICK webby", "USER webby 0 * :Web Example", "JOIN #lobby"):
            text.send(line)
        welcome = text.expect(" 001 ")
        self.assertEqual(
            welcome,
            ":netsuite 001 webby :Welcome to the netsuite IRC network webby!webby@netsuite",
        )
        names = text.expect(" 353 ")
        self.assertIn("carol", str(names))
        self.assertTrue(
            all(isinstance(x, str) and "\r" not in x and "\n" not in x for x in text.lines)
        )
        self.assertEqual(carol.expect("webby joined"), "[#lobby] -> webby joined")

        text.send("PRIVMSG #lobby :hello from a WebSocket")
        self.assertTrue(
            carol.expect("hello from a WebSocket").endswith("<webby> hello from a WebSocket")
        )
        carol.send("hello back, webby")
        self.assertEqual(
            text.expect("hello back"), ":carol!carol@netsuite PRIVMSG #lobby :hello back, webby"
        )

        binary = self.client(["binary.ircv3.net"])
        assert binary.accepted is not None
        self.assertEqual(binary.accepted.subprotocol, "binary.ircv3.net")
        for raw in (b"PASS sesame", b"NICK bina", b"USER bina 0 * :B", b"JOIN #lobby"):
            binary.send(raw)
        binary.expect(" 366 ")
        self.assertTrue(all(isinstance(x, bytes) for x in binary.lines))
        binary.send(b"PRIVMSG #lobby :caf\xc3\xa9 in bytes")
        self.assertEqual(
            text.expect("in bytes"), ":bina!bina@netsuite PRIVMSG #lobby :caf\u00e9 in bytes"
        )
        self.assertTrue(carol.expect("in bytes").endswith("<bina> caf\u00e9 in bytes"))

        text.send("QUIT :done here")
        self.assertTrue(str(text.expect("ERROR :Closing link")).startswith("ERROR :Closing link"))
        self.assertEqual(text.wait_closed().code, 1000)
        self.assertIn("webby", carol.expect("<- webby quit"))
        self.server.wait_for_line(r"chat/irc-ws .*connected \(origin http://127\.0\.0\.1:\d+\)")
