"""
IRC over WebSocket with no I/O: the subprotocol choice, and L{IRCWebSession} fed one
message at a time, its output one line per message, with the IRC door's limits (the
line length at n and n+1, the flood pacing) and every way it ends.
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._hub import Hub
from netsuite.chat._line import LineSession
from netsuite.web._ircws_session import BINARY, TEXT, IRCWebSession, choose_subprotocol


class SubprotocolTests(SynchronousTestCase):
    def test_the_clients_order_wins(self) -> None:
        self.assertEqual(choose_subprotocol([BINARY, TEXT]), BINARY)
        self.assertEqual(choose_subprotocol([TEXT, BINARY]), TEXT)
        self.assertEqual(choose_subprotocol(["chat", " text.ircv3.net"]), TEXT)

    def test_none_spoken_here(self) -> None:
        self.assertIsNone(choose_subprotocol([]))
        self.assertIsNone(choose_subprotocol(["ircv3.net", "TEXT.IRCV3.NET"]))


class Peer:
    """One IRC client over WebSocket, and a line-door member in #lobby to watch it."""

    def __init__(self, hub: Hub, *, password: str | None = None) -> None:
        self.hub = hub
        self.lines: list[bytes] = []
        self.closes: list[tuple[int, str]] = []
        self.session = IRCWebSession(
            hub, self.lines.append, lambda code, reason: self.closes.append((code, reason)),
            password=password, max_line=hub.text_max,
        )  # fmt: skip
        self.session.start()

    def say(self, *messages: bytes) -> list[bytes]:
        before = len(self.lines)
        for message in messages:
            self.session.message_received(message)
        return self.lines[before:]

    def register(self, nick: str) -> None:
        out = self.say(b"NICK " + nick.encode(), b"USER u 0 * :Web Example")
        assert any(b" 001 " + nick.encode() + b" " in line for line in out), out


def hub_and_watcher(clock: Clock | None = None, **kwargs: object) -> tuple[Hub, list[bytes]]:
    """A hub, and what carol (a line-door member in #lobby) sees; carol is C{hub.carol}."""
    clock = clock or Clock()
    hub = Hub(clock=clock.seconds, **kwargs)  # type: ignore[arg-type]
    seen: list[bytes] = []
    carol = LineSession(hub, seen.append, lambda reason: None)
    carol.start("carol")
    hub.carol = carol  # type: ignore[attr-defined]
    return hub, seen


class SessionTests(SynchronousTestCase):
    def test_one_message_per_line_without_crlf(self) -> None:
        hub, seen = hub_and_watcher()
        peer = Peer(hub)
        peer.register("wes")
        self.assertTrue(peer.lines)
        for line in peer.lines:
            self.assertNotIn(b"\n", line)
            self.assertNotIn(b"\r", line)
            self.assertTrue(line.startswith((b":", b"@")), line)
        self.assertEqual(
            peer.lines[0],
            b":netsuite 001 wes :Welcome to the netsuite IRC network wes!wes@netsuite",
        )

    def test_join_talk_with_the_line_door(self) -> None:
        hub, seen = hub_and_watcher()
        peer = Peer(hub)
        peer.register("wes")
        out = peer.say(b"JOIN #lobby")
        self.assertIn(b":wes!wes@netsuite JOIN #lobby", out)
        self.assertTrue(any(b" 353 wes = #lobby :" in line and b"carol" in line for line in out))
        peer.say(b"PRIVMSG #lobby :hello from the web")
        self.assertIn(b"[#lobby] <wes> hello from the web\r\n", seen)
        hub.carol.line_received(b"hi wes")  # type: ignore[attr-defined]
        self.assertEqual(peer.lines[-1], b":carol!carol@netsuite PRIVMSG #lobby :hi wes")

    def test_trailing_crlf_is_forgiven(self) -> None:
        hub, seen = hub_and_watcher()
        peer = Peer(hub)
        peer.say(b"NICK wes\r\n", b"USER u 0 * :W\n")
        self.assertTrue(peer.session.irc.registered)
        self.assertEqual(peer.session.irc.nick, "wes")

    def test_a_crlf_inside_starts_no_second_command(self) -> None:
        hub, seen = hub_and_watcher()
        peer = Peer(hub)
        peer.register("wes")
        peer.say(b"JOIN #lobby")
        peer.say(b"PRIVMSG #lobby :one\r\nQUIT :injected")
        self.assertFalse(peer.session.closed)
        self.assertEqual(peer.closes, [])
        said = [line for line in seen if b"<wes>" in line]
        self.assertEqual(said, [b"[#lobby] <wes> oneQUIT :injected\r\n"])

    def test_max_line_n_taken_n_plus_one_answered_417(self) -> None:
        hub, seen = hub_and_watcher(text_max=600)
        peer = Peer(hub)
        peer.register("wes")
        peer.say(b"JOIN #lobby")
        head = b"PRIVMSG #lobby :"
        at_limit = head + b"x" * (600 - len(head))
        self.assertEqual(len(at_limit), 600)
        self.assertEqual([line for line in peer.say(at_limit) if b" 417 " in line], [])
        self.assertTrue(any(b"<wes> xxx" in line for line in seen))
        self.assertNotIn(b" 417 ", b"".join(peer.say(at_limit + b"\r\n")))
        out = peer.say(at_limit + b"y")
        self.assertEqual(out, [b":netsuite 417 wes :Input line was too long"])
        self.assertEqual(peer.say(at_limit + b"y\r\n"), out)  # the CRLF is not counted

    def test_flood_is_paced_then_cut_off(self) -> None:
        clock = Clock()
        hub, seen = hub_and_watcher(clock, flood_rate=1.0, flood_burst=3.0, flood_queue=4)
        peer = Peer(hub)
        session = peer.session
        waits = [session.message_received(b"PING :%d" % i) for i in range(3)]
        self.assertEqual(waits, [None, None, None])  # within the burst: run at once
        self.assertEqual(len([line for line in peer.lines if b"PONG" in line]), 3)
        wait = session.message_received(b"PING :3")
        self.assertIsNotNone(wait)  # queued: its turn comes later
        self.assertFalse(any(b":3" in line and b"PONG" in line for line in peer.lines))
        assert wait is not None
        clock.advance(wait)
        session.release()
        self.assertTrue(any(line.endswith(b":3") and b"PONG" in line for line in peer.lines))
        for i in range(4, 10):
            session.message_received(b"PING :%d" % i)
        self.assertTrue(session.closed)
        self.assertEqual(peer.closes[0][0], 1000)
        self.assertIn("Excess Flood", peer.closes[0][1])
        self.assertTrue(any(b"ERROR :Closing link: Excess Flood" in line for line in peer.lines))

    def test_quit_closes_normally_and_the_room_sees_it(self) -> None:
        hub, seen = hub_and_watcher()
        peer = Peer(hub)
        peer.register("wes")
        peer.say(b"JOIN #lobby")
        out = peer.say(b"QUIT :bye now")
        self.assertTrue(out[-1].startswith(b"ERROR :Closing link"), out)
        self.assertEqual(peer.closes, [(1000, "bye now")])
        self.assertTrue(any(b"wes" in line and b"bye now" in line for line in seen), seen)
        self.assertEqual(peer.say(b"PING :x"), [])  # nothing after the end

    def test_password_is_asked(self) -> None:
        hub, seen = hub_and_watcher()
        peer = Peer(hub, password="sesame")
        out = peer.say(b"NICK wes", b"USER u 0 * :W")
        self.assertFalse(peer.session.irc.registered)
        self.assertTrue(any(b" 464 " in line for line in out), out)

    def test_end_says_why_and_leaves(self) -> None:
        hub, seen = hub_and_watcher()
        peer = Peer(hub)
        peer.register("wes")
        peer.session.end(1009, "message of 70000 bytes over the 65536 cap")
        self.assertEqual(
            peer.lines[-1], b"ERROR :Closing link: message of 70000 bytes over the 65536 cap"
        )
        self.assertEqual(peer.closes, [(1009, "message of 70000 bytes over the 65536 cap")])
        self.assertNotIn("wes", [m.nick for m in hub.who("#lobby")])
        peer.session.end(1000, "again")  # once only
        self.assertEqual(len(peer.closes), 1)

    def test_lost_leaves_with_a_quit(self) -> None:
        hub, seen = hub_and_watcher()
        peer = Peer(hub)
        peer.register("wes")
        peer.say(b"JOIN #lobby")
        peer.session.lost("connection lost")
        self.assertTrue(peer.session.closed)
        self.assertTrue(any(b"wes" in line and b"connection lost" in line for line in seen))
        self.assertEqual(peer.closes, [])  # the connection is gone: nothing to close

    def test_going_away_without_news(self) -> None:
        hub, seen = hub_and_watcher()
        peer = Peer(hub)
        peer.register("wes")
        peer.say(b"JOIN #lobby")
        before = len(seen)
        peer.session.going_away(1001, "server shutting down")
        self.assertEqual(peer.lines[-1], b"ERROR :Closing Link: wes (server shutting down)")
        self.assertEqual(peer.closes, [(1001, "server shutting down")])
        self.assertEqual(seen[before:], [])  # removed, not quit: no news for the room
        self.assertNotIn("wes", [m.nick for m in hub.who("#lobby")])

    def test_several_lines_in_one_output_are_several_messages(self) -> None:
        hub, seen = hub_and_watcher()
        peer = Peer(hub)
        peer.session._output(b":a ONE\r\n:a TWO\r\n")
        self.assertEqual(peer.lines[-2:], [b":a ONE", b":a TWO"])
