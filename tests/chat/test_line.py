"""The plain-line door: its session (no I/O) and its Twisted adapter."""

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock as ReactorClock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._hub import Hub
from netsuite.chat._line_door import LineChatFactory
from netsuite.testing import hub_on_clock

from .helpers import Recorder, line_session, text


class LineSessionTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.hub, self.clock = hub_on_clock(flood_rate=100, flood_burst=100)

    def test_greeting_guest_lobby(self) -> None:
        session, out, _ = line_session(self.hub)
        shown = text(out)
        self.assertIn("welcome", shown)
        self.assertIn(f"[#lobby] -> {session.nick} joined", shown)
        self.assertTrue(session.nick.startswith("guest"))

    def test_talk_between_two(self) -> None:
        alice, a_out, _ = line_session(self.hub, "alice")
        bob, b_out, _ = line_session(self.hub, "bob")
        alice.data_received(b"hello bob\r\n")
        bob.data_received(b"/me waves\n")
        self.assertIn("[#lobby] <alice> hello bob\r\n", text(b_out))
        self.assertIn("[#lobby] * bob waves\r\n", text(a_out))

    def test_commands(self) -> None:
        alice, out, _ = line_session(self.hub, "alice")
        bob, b_out, _ = line_session(self.hub, "bob")
        for line in (
            b"/nick Al",
            b"/join #den",
            b"/topic quiet please",
            b"/topic",
            b"/who",
            b"/rooms",
            b"/msg bob psst",
            b"/part",
            b"/help",
            b"/history 1",
        ):
            alice.data_received(line + b"\n")
        shown = text(out)
        for expected in (
            "-- alice is now known as Al",
            "[#den] -> Al joined",
            "[#den] -- Al set the topic: quiet please",
            "#den topic: quiet please (set by Al)",
            "#den: 1 here: @Al",
            "2 room(s)",
            "#den (1) - quiet please",
            "[private -> bob] psst",
            "[#den] <- Al left",
            "talking in #lobby now",
            "/history [N]",
        ):
            self.assertIn(expected, shown)
        self.assertIn("[private] <Al> psst", text(b_out))

    def test_errors_one_line_each(self) -> None:
        alice, out, closed = line_session(self.hub, "alice")
        line_session(self.hub, "bob")
        for line, error in (
            (b"/frob", "!! unknown command /frob"),
            (b"/nick bob", "!! nick bob is taken"),
            (b"/msg nobody hi", "!! no one is called nobody"),
            (b"/join", "!! usage: /join ROOM"),
            (b"/history x", "!! usage: /history [N]"),
            (b"/nick 9lives", "!! '9lives' is not a valid nick"),
        ):
            del out[:]
            alice.data_received(line + b"\n")
            self.assertEqual(len(out), 1, line)
            self.assertTrue(text(out).startswith(error), text(out))
        self.assertEqual(closed, [])

    def test_utf8_only_and_scrubbed(self) -> None:
        alice, a_out, _ = line_session(self.hub, "alice")
        bob, b_out, _ = line_session(self.hub, "bob")
        del a_out[:], b_out[:]
        alice.data_received(b"caf\xe9\n")
        self.assertIn("!! not UTF-8 (byte 3): line not sent", text(a_out))
        self.assertEqual(b_out, [])
        alice.data_received("bell\x07 \x1b[31mred\x1b[0m tab\there café\n".encode())
        self.assertIn("[#lobby] <alice> bell [31mred[0m tab here café\r\n", text(b_out))

    def test_slash_escape(self) -> None:
        alice, _, _ = line_session(self.hub, "alice")
        bob, b_out, _ = line_session(self.hub, "bob")
        alice.data_received(b"//not a command\n")
        self.assertIn("<alice> /not a command", text(b_out))

    def test_overlong_dropped_then_abuse_closes(self) -> None:
        alice, out, closed = line_session(self.hub, "alice", max_line=10, overlong_limit=3)
        bob, b_out, _ = line_session(self.hub, "bob")
        alice.data_received(b"x" * 11 + b"\nshort\n")
        self.assertIn("!! line too long (11 bytes, limit 10): dropped", text(out))
        self.assertIn("<alice> short", text(b_out))
        self.assertEqual(closed, [])
        alice.data_received((b"y" * 20 + b"\n") * 3)
        self.assertEqual(closed, ["too many overlong lines"])
        self.assertIn("<- alice quit (too many overlong lines)", text(b_out))

    def test_quit(self) -> None:
        alice, out, closed = line_session(self.hub, "alice")
        alice.data_received(b"/quit see you\nignored\n")
        self.assertEqual(closed, ["see you"])
        self.assertFalse(self.hub.is_connected(alice))

    def test_flood_notice(self) -> None:
        """Over the rate, a line waits its turn (fake lag), and the member is told once."""
        hub = Hub(clock=self.clock.seconds, flood_rate=1, flood_burst=1)
        alice, out, _ = line_session(hub, "alice")
        alice.data_received(b"one\ntwo\n")
        self.assertIn("-!- slow down: your lines are queued and run at 1/s", text(out))
        self.assertNotIn("<alice> two", text(out))
        self.assertAlmostEqual(alice.release() or 0, 1.0, places=6)  # two waits a second
        self.clock.advance(1)
        self.assertIsNone(alice.release())
        self.assertIn("<alice> two", text(out))

    def test_mixed_doors(self) -> None:
        """A member of another door sees line-door messages as events, in order."""
        other = Recorder()
        self.hub.connect(other, "irc_user")
        self.hub.join(other, "#lobby")
        alice, _, _ = line_session(self.hub, "alice")
        alice.data_received(b"1\n2\n")
        self.assertEqual([e.text for e in other.events if hasattr(e, "text")], ["1", "2"])


class LineDoorTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = ReactorClock()
        self.hub = Hub(clock=self.clock.seconds)
        self.factory = LineChatFactory("chat/line", self.hub, clock=self.clock, send_queue=100)

    def connect(self):  # type: ignore[no-untyped-def]
        addr = IPv4Address("TCP", "127.0.0.1", 5000)
        proto = self.factory.buildProtocol(addr)
        transport = StringTransport(peerAddress=addr)
        proto.makeConnection(transport)
        return proto, transport

    def test_talk(self) -> None:
        a, at = self.connect()
        b, bt = self.connect()
        a.dataReceived(b"hi\r\n")
        self.assertIn(b"<guest1> hi", bt.value())
        self.assertIs(at.producer, a.outbox)

    def test_slow_reader_cut_off_others_unaffected(self) -> None:
        """
        A member whose transport stops accepting (paused) queues up to send_queue bytes,
        then is disconnected with the reason; the room goes on.
        """
        slow, st = self.connect()
        fast, ft = self.connect()
        slow.outbox.pauseProducing()
        for i in range(20):
            fast.dataReceived(f"message {i}\n".encode())
        self.assertTrue(st.disconnected or st.disconnecting)
        self.assertEqual(self.factory.counters["disconnected.send_queue"], 1)
        self.assertIn(b"message 19", ft.value())
        self.assertIn(b"guest1 quit (send queue exceeded (100 bytes))", ft.value())
        self.assertFalse(self.hub.is_connected(slow.session))

    def test_connection_lost_quits(self) -> None:
        a, at = self.connect()
        b, bt = self.connect()
        a.connectionLost(Failure(ConnectionDone("bye")))
        self.assertIn(b"<- guest1 quit (connection lost)", bt.value())

    def test_drain_on_shutdown(self) -> None:
        a, at = self.connect()
        self.hub.announce("server shutting down")
        d = self.factory.drain(5)
        self.assertIn(b"-!- server shutting down", at.value())
        self.assertTrue(at.disconnecting)
        self.assertNoResult(d)
        self.clock.advance(5)  # it never closed: aborted after the bounded wait
        a.connectionLost(Failure(ConnectionDone("bye")))
        self.successResultOf(d)
