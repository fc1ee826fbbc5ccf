"""
IRCv3 C{draft/chathistory} (ircv3.net/specs/extensions/chathistory) on the IRC door,
answered from the hub's history: every subcommand, both selectors, the limits and each
FAIL, on a fixed clock (messages one second apart, so every C{time} tag is known).
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._history import Selector, parse_selector, parse_timestamp, query
from netsuite.chat._irc_render import server_time
from netsuite.testing import hub_on_clock

from .helpers import line_session, text
from .test_irc import feed, lines
from .test_irc_caps import negotiated

#: 2023-11-14T22:13:20.250Z: the first message's time; message i is i seconds later.
NOW = 1700000000.25
CAPS = ("batch", "server-time", "message-tags", "draft/chathistory")


def stamp(index: int) -> str:
    """The C{time} tag of message C{index}."""
    return server_time(NOW + index)


class HistoryCase(SynchronousTestCase):
    """Ten messages m0..m9 in #r from alice, one a second; bob asks."""

    chathistory_max = 100

    def setUp(self) -> None:
        self.hub, self.clock = hub_on_clock(
            start=NOW, flood_rate=100, flood_burst=100, chathistory_max=self.chathistory_max
        )
        self.alice, self.alice_out, _ = negotiated(self.hub, "alice", *CAPS)
        feed(self.alice, "JOIN #r")
        for i in range(10):
            feed(self.alice, f"PRIVMSG #r :m{i}")
            self.clock.advance(1)
        self.bob, self.out, _ = negotiated(self.hub, "bob", *CAPS, "labeled-response")
        feed(self.bob, "JOIN #r")
        self.out.clear()

    def ask(self, line: str) -> list[str]:
        self.out.clear()
        feed(self.bob, line)
        return lines(self.out)

    def texts(self, line: str) -> list[str]:
        """The texts of the messages in the answer's one chathistory batch."""
        got = self.ask(line)
        self.assertRegex(got[0], r"^:netsuite BATCH \+(\w+) chathistory #r$")
        name = got[0].split()[2][1:]
        self.assertEqual(got[-1], f":netsuite BATCH -{name}")
        for inner in got[1:-1]:
            self.assertTrue(inner.startswith(f"@batch={name};time="), inner)
        return [inner.rsplit(" :", 1)[1] for inner in got[1:-1]]

    def msgid(self, index: int) -> str:
        return str(self.hub.recent("#r")[index].seq)


class SubcommandTests(HistoryCase):
    def test_join_replay_withheld_for_chathistory_clients(self) -> None:
        """The spec: a client with the cap SHOULD NOT get automatic playback (Ergo too)."""
        carol, out, _ = negotiated(self.hub, "carol", *CAPS)
        feed(carol, "JOIN #r")
        self.assertFalse([x for x in lines(out) if "PRIVMSG" in x])

    def test_join_replay_kept_without_the_cap(self) -> None:
        dave, out, _ = negotiated(self.hub, "dave", "batch")
        feed(dave, "JOIN #r")
        self.assertEqual(len([x for x in lines(out) if "PRIVMSG" in x]), 10)

    def test_latest_star(self) -> None:
        self.assertEqual(self.texts("CHATHISTORY LATEST #r * 3"), ["m7", "m8", "m9"])
        self.assertEqual(self.texts("CHATHISTORY LATEST #r * 20"), [f"m{i}" for i in range(10)])

    def test_latest_msgid(self) -> None:
        got = self.texts(f"CHATHISTORY LATEST #r msgid={self.msgid(4)} 20")
        self.assertEqual(got, [f"m{i}" for i in range(5, 10)])

    def test_latest_timestamp(self) -> None:
        got = self.texts(f"CHATHISTORY LATEST #r timestamp={stamp(4)} 2")
        self.assertEqual(got, ["m8", "m9"])

    def test_before_msgid(self) -> None:
        got = self.texts(f"CHATHISTORY BEFORE #r msgid={self.msgid(6)} 20")
        self.assertEqual(got, [f"m{i}" for i in range(6)])

    def test_before_timestamp(self) -> None:
        self.assertEqual(self.texts(f"CHATHISTORY BEFORE #r timestamp={stamp(6)} 2"), ["m4", "m5"])

    def test_after_msgid(self) -> None:
        got = self.texts(f"CHATHISTORY AFTER #r msgid={self.msgid(3)} 3")
        self.assertEqual(got, ["m4", "m5", "m6"])

    def test_after_timestamp(self) -> None:
        got = self.texts(f"CHATHISTORY AFTER #r timestamp={stamp(3)} 20")
        self.assertEqual(got, [f"m{i}" for i in range(4, 10)])

    def test_around(self) -> None:
        self.assertEqual(self.texts(f"CHATHISTORY AROUND #r msgid={self.msgid(7)} 1"), ["m7"])
        self.assertEqual(
            self.texts(f"CHATHISTORY AROUND #r msgid={self.msgid(7)} 3"), ["m6", "m7", "m8"]
        )
        self.assertEqual(
            self.texts(f"CHATHISTORY AROUND #r timestamp={stamp(7)} 3"), ["m6", "m7", "m8"]
        )

    def test_between_forwards_and_backwards(self) -> None:
        first, last = f"msgid={self.msgid(0)}", f"timestamp={stamp(9)}"
        inner = [f"m{i}" for i in range(1, 9)]
        self.assertEqual(self.texts(f"CHATHISTORY BETWEEN #r {first} {last} 20"), inner)
        self.assertEqual(self.texts(f"CHATHISTORY BETWEEN #r {last} {first} 20"), inner)
        self.assertEqual(self.texts(f"CHATHISTORY BETWEEN #r {first} {last} 3"), inner[:3])
        self.assertEqual(self.texts(f"CHATHISTORY BETWEEN #r {last} {first} 3"), inner[-3:])

    def test_unknown_msgid_is_an_empty_batch(self) -> None:
        self.assertEqual(self.texts("CHATHISTORY BEFORE #r msgid=nope 5"), [])

    def test_targets(self) -> None:
        got = self.ask(f"CHATHISTORY TARGETS timestamp={stamp(-1)} timestamp={stamp(20)} 10")
        self.assertRegex(got[0], r"^:netsuite BATCH \+\w+ draft/chathistory-targets$")
        name = got[0].split()[2][1:]
        self.assertEqual(
            got[1:], [f"@batch={name} :netsuite CHATHISTORY TARGETS #r {stamp(9)}",
                      f":netsuite BATCH -{name}"],
        )  # fmt: skip

    def test_targets_outside_the_window(self) -> None:
        got = self.ask(f"CHATHISTORY TARGETS timestamp={stamp(9)} timestamp={stamp(20)} 10")
        self.assertEqual(len(got), 2)  # an empty batch: the last message is on the bound

    def test_nick_has_no_private_history(self) -> None:
        got = self.ask("CHATHISTORY LATEST alice * 10")
        self.assertRegex(got[0], r"^:netsuite BATCH \+\w+ chathistory alice$")
        self.assertEqual(len(got), 2)

    def test_labeled_response_nests_the_batch(self) -> None:
        got = self.ask("@label=q1 CHATHISTORY LATEST #r * 1")
        self.assertRegex(got[0], r"^@label=q1 :netsuite BATCH \+(\w+) labeled-response$")
        outer = got[0].split()[3][1:]
        self.assertRegex(got[1], rf"^@batch={outer} :netsuite BATCH \+\w+ chathistory #r$")
        inner = got[1].split()[3][1:]
        self.assertTrue(got[2].startswith(f"@batch={inner};time={stamp(9)};msgid="), got[2])
        self.assertEqual(got[3:], [f"@batch={outer} :netsuite BATCH -{inner}",
                                   f":netsuite BATCH -{outer}"])  # fmt: skip

    def test_without_batch_bare_lines(self) -> None:
        erin, out, _ = negotiated(self.hub, "erin", "draft/chathistory")
        feed(erin, "JOIN #r")
        out.clear()
        feed(erin, "CHATHISTORY LATEST #r * 2")
        said = ":alice!alice@netsuite PRIVMSG #r :"
        self.assertEqual(lines(out), [said + "m8", said + "m9"])

    def test_isupport(self) -> None:
        tokens = self.bob.isupport()
        self.assertIn("CHATHISTORY=100", tokens)
        self.assertIn("MSGREFTYPES=msgid,timestamp", tokens)

    def test_line_door_sees_the_same_history(self) -> None:
        """The line door replays what CHATHISTORY returns: one history in the hub."""
        session, out, _ = line_session(self.hub, "lena")
        session.line_received(b"/join #r")
        shown = text(out)
        for said in self.hub.history_query("#r", "LATEST", Selector("*"), 10):
            self.assertIn(said.text, shown)


class ErrorTests(HistoryCase):
    """The FAIL replies the specification lists."""

    def test_need_more_params(self) -> None:
        self.assertEqual(
            self.ask("CHATHISTORY"),
            [":netsuite FAIL CHATHISTORY NEED_MORE_PARAMS * :Missing parameters"],
        )
        self.assertEqual(
            self.ask("CHATHISTORY BETWEEN #r * 5"),
            [":netsuite FAIL CHATHISTORY NEED_MORE_PARAMS BETWEEN :Missing parameters"],
        )

    def test_unknown_command(self) -> None:
        self.assertEqual(
            self.ask("CHATHISTORY SIDEWAYS #r * 5"),
            [":netsuite FAIL CHATHISTORY UNKNOWN_COMMAND SIDEWAYS :Unknown command"],
        )

    def test_invalid_params(self) -> None:
        for line in ("CHATHISTORY BEFORE #r * 5", "CHATHISTORY LATEST #r * many",
                     "CHATHISTORY AFTER #r when=now 5", "CHATHISTORY AFTER #r timestamp=x 5",
                     "CHATHISTORY LATEST #r * -1"):  # fmt: skip
            got = self.ask(line)
            self.assertEqual(len(got), 1, line)
            self.assertTrue(got[0].startswith(":netsuite FAIL CHATHISTORY INVALID_PARAMS "), got)
        got = self.ask(f"CHATHISTORY TARGETS msgid={self.msgid(0)} timestamp={stamp(1)} 5")
        self.assertTrue(got[0].startswith(":netsuite FAIL CHATHISTORY INVALID_PARAMS TARGETS"))

    def test_invalid_target(self) -> None:
        expected = (
            ":netsuite FAIL CHATHISTORY INVALID_TARGET LATEST {} :Messages could not be retrieved"
        )
        got = self.ask("CHATHISTORY LATEST #nowhere * 5")
        self.assertEqual(got, [expected.format("#nowhere")])
        self.assertEqual(self.ask("CHATHISTORY LATEST nobody * 5"), [expected.format("nobody")])
        feed(self.bob, "PART #r")
        self.assertEqual(self.ask("CHATHISTORY LATEST #r * 5"), [expected.format("#r")])


class LimitTests(HistoryCase):
    """C{--chathistory-max}: n messages returned at n, still n at n + 1 (and at 0)."""

    chathistory_max = 4

    def test_at_and_over_the_max(self) -> None:
        self.assertEqual(len(self.texts("CHATHISTORY LATEST #r * 4")), 4)
        self.assertEqual(self.texts("CHATHISTORY LATEST #r * 5"), ["m6", "m7", "m8", "m9"])
        self.assertEqual(len(self.texts("CHATHISTORY LATEST #r * 0")), 4)
        self.assertIn("CHATHISTORY=4", self.bob.isupport())


class QueryTests(SynchronousTestCase):
    """The sans-IO core, without IRC."""

    def test_timestamps(self) -> None:
        self.assertEqual(parse_timestamp("2023-11-14T22:13:20.250Z"), 1700000000250)
        self.assertEqual(parse_timestamp("2023-11-14T22:13:20Z"), 1700000000000)
        self.assertIsNone(parse_timestamp("2023-13-14T22:13:20.250Z"))
        self.assertIsNone(parse_selector("*"))
        self.assertEqual(parse_selector("*", star=True), Selector("*"))
        self.assertIsNone(parse_selector("msgid="))

    def test_limit_below_one_is_nothing(self) -> None:
        self.assertEqual(query([], "LATEST", Selector("*"), 0), [])
