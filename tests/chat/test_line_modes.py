"""The line door's operator commands: /op /deop /voice /devoice /kick /mode /invite /ban."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._hub import Hub
from netsuite.chat._line import HELP, LineSession
from netsuite.testing import hub_on_clock

from .helpers import text


def line_session(
    hub: Hub, nick: str, room: str | None = None
) -> tuple[LineSession, list[bytes], list[str]]:
    """A started line-door session in C{room}, its output and close reasons collected."""
    out: list[bytes] = []
    closed: list[str] = []
    session = LineSession(hub, out.append, closed.append)
    session.start(nick, room)
    return session, out, closed


class LineModesTestCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.hub, self.clock = hub_on_clock(flood_rate=100, flood_burst=100)
        self.alice, self.a_out, _ = line_session(self.hub, "alice", room="#x")
        self.bob, self.b_out, _ = line_session(self.hub, "bob", room="#x")

    def run_(self, session: LineSession, line: str) -> str:
        out = self.a_out if session is self.alice else self.b_out
        out.clear()
        session.data_received(line.encode() + b"\r\n")
        return text(out)


class OperatorCommandTests(LineModesTestCase):
    def test_who_shows_the_operator(self) -> None:
        self.assertEqual(self.run_(self.bob, "/who"), "-!- #x: 2 here: @alice bob\r\n")

    def test_op_voice_and_back(self) -> None:
        self.assertEqual(self.run_(self.alice, "/voice bob"), "[#x] -- alice sets mode +v bob\r\n")
        self.assertIn("[#x] -- alice sets mode +v bob\r\n", text(self.b_out))
        self.assertEqual(self.run_(self.alice, "/op bob"), "[#x] -- alice sets mode +o bob\r\n")
        self.assertEqual(self.run_(self.bob, "/who"), "-!- #x: 2 here: @alice @bob\r\n")
        self.run_(self.alice, "/deop bob")
        self.assertEqual(self.run_(self.bob, "/who"), "-!- #x: 2 here: @alice +bob\r\n")
        self.assertEqual(
            self.run_(self.alice, "/devoice bob"), "[#x] -- alice sets mode -v bob\r\n"
        )

    def test_not_an_operator(self) -> None:
        self.assertEqual(self.run_(self.bob, "/op bob"), "!! you are not an operator of #x\r\n")
        self.assertEqual(
            self.run_(self.bob, "/kick alice"), "!! you are not an operator of #x\r\n"
        )
        self.assertEqual(self.run_(self.bob, "/mode +m"), "!! you are not an operator of #x\r\n")
        self.assertEqual(self.run_(self.bob, "/ban x"), "!! you are not an operator of #x\r\n")

    def test_usage(self) -> None:
        self.assertEqual(self.run_(self.alice, "/op"), "!! usage: /op NICK\r\n")
        self.assertEqual(self.run_(self.alice, "/kick"), "!! usage: /kick NICK [REASON]\r\n")
        self.assertEqual(self.run_(self.alice, "/invite"), "!! usage: /invite NICK [ROOM]\r\n")
        self.assertEqual(self.run_(self.alice, "/unban"), "!! usage: /unban MASK\r\n")

    def test_op_someone_not_here(self) -> None:
        line_session(self.hub, "carol", room="#y")
        self.assertEqual(self.run_(self.alice, "/op carol"), "!! carol is not in #x\r\n")
        self.assertEqual(self.run_(self.alice, "/op zed"), "!! no one is called zed\r\n")

    def test_kick(self) -> None:
        self.assertEqual(
            self.run_(self.alice, "/kick bob spamming"),
            "[#x] <- bob was kicked by alice (spamming)\r\n",
        )
        self.assertIn("[#x] <- bob was kicked by alice (spamming)\r\n", text(self.b_out))
        self.assertIsNone(self.bob.room)
        self.assertEqual(
            self.run_(self.bob, "hello?"), "!! you are in no room: /join one first\r\n"
        )

    def test_kicked_talks_in_the_room_left(self) -> None:
        self.run_(self.bob, "/join #lobby")
        self.run_(self.bob, "/join #x")
        self.run_(self.alice, "/kick bob")
        self.assertEqual(self.bob.room, "#lobby")
        self.assertIn("-!- talking in #lobby now\r\n", text(self.b_out))

    def test_mode_show_and_change(self) -> None:
        self.assertEqual(self.run_(self.bob, "/mode"), "-!- #x modes: +nt\r\n")
        self.assertEqual(
            self.run_(self.alice, "/mode +mkl-t sekrit 5"),
            "[#x] -- alice sets mode +mkl-t sekrit 5\r\n",
        )
        self.assertEqual(self.run_(self.bob, "/mode #x"), "-!- #x modes: +mnkl sekrit 5\r\n")
        self.assertEqual(
            self.run_(self.alice, "/mode +zl x"),
            "!! unknown mode +z (/help lists the modes)\r\n"
            "!! +l x: Invalid limit: a number from 1 to 1000000\r\n",
        )

    def test_moderated(self) -> None:
        self.run_(self.alice, "/mode +m")
        self.assertEqual(
            self.run_(self.bob, "hello"),
            "!! you cannot speak in #x: Cannot send to channel (+m)\r\n",
        )
        self.run_(self.alice, "/voice bob")
        self.assertEqual(self.run_(self.bob, "hello"), "[#x] <bob> hello\r\n")

    def test_topic_lock(self) -> None:
        self.assertEqual(
            self.run_(self.bob, "/topic mine now"), "!! you are not an operator of #x\r\n"
        )
        self.assertEqual(
            self.run_(self.alice, "/topic locked"), "[#x] -- alice set the topic: locked\r\n"
        )
        self.run_(self.alice, "/mode -t")
        self.assertEqual(self.run_(self.bob, "/topic open"), "[#x] -- bob set the topic: open\r\n")


class JoinRefusalTests(LineModesTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.carol, self.c_out, _ = line_session(self.hub, "carol")

    def carol_says(self, line: str) -> str:
        self.c_out.clear()
        self.carol.data_received(line.encode() + b"\r\n")
        return text(self.c_out)

    def test_key(self) -> None:
        self.run_(self.alice, "/mode +k sekrit")
        self.assertEqual(self.carol_says("/join #x"), "!! #x has a key (+k): /join #x KEY\r\n")
        self.assertEqual(self.carol.room, "#lobby")
        self.assertIn("[#x] -> carol joined", self.carol_says("/join x sekrit"))
        self.assertEqual(self.carol.room, "#x")

    def test_limit(self) -> None:
        self.run_(self.alice, "/mode +l 2")
        self.assertEqual(self.carol_says("/join #x"), "!! #x is full (+l)\r\n")

    def test_invite_only(self) -> None:
        self.run_(self.alice, "/mode +i")
        self.assertEqual(
            self.carol_says("/join #x"),
            "!! #x is invite only (+i): an operator can /invite you\r\n",
        )
        self.assertEqual(
            self.run_(self.bob, "/invite carol"), "!! you are not an operator of #x\r\n"
        )
        self.assertEqual(self.run_(self.alice, "/invite carol"), "-!- invited carol to #x\r\n")
        self.assertIn("-- alice invites carol to #x (/join #x)", text(self.c_out))
        self.assertIn("[#x] -> carol joined", self.carol_says("/join #x"))

    def test_invite_refusals(self) -> None:
        self.assertEqual(self.run_(self.alice, "/invite bob"), "!! bob is already in #x\r\n")
        self.assertEqual(self.run_(self.alice, "/invite zed"), "!! no one is called zed\r\n")
        self.assertEqual(self.carol_says("/invite bob #x"), "!! you are not in #x\r\n")

    def test_ban(self) -> None:
        self.assertEqual(
            self.run_(self.alice, "/ban carol *@elsewhere"),
            "[#x] -- alice sets mode +bb carol!*@* *!*@elsewhere\r\n",
        )
        self.assertEqual(self.carol_says("/join #x"), "!! you are banned from #x (+b)\r\n")
        self.assertEqual(
            self.run_(self.bob, "/ban"),
            "-!- #x bans (+b): 2\r\n"
            "-!-   carol!*@* (set by alice!alice@netsuite)\r\n"
            "-!-   *!*@elsewhere (set by alice!alice@netsuite)\r\n",
        )
        self.run_(self.alice, "/unban carol!*@*")
        self.assertIn("[#x] -> carol joined", self.carol_says("/join #x"))

    def test_ban_list_through_mode(self) -> None:
        self.assertEqual(self.run_(self.bob, "/mode +b"), "-!- #x bans (+b): 0\r\n")

    def test_secret_rooms_hidden(self) -> None:
        self.run_(self.alice, "/mode +s")
        shown = self.carol_says("/rooms")
        self.assertNotIn("#x", shown)
        self.assertIn("#x (2)", self.run_(self.bob, "/rooms"))
        self.assertEqual(self.carol_says("/who #x"), "!! no room #x\r\n")


class HelpTests(SynchronousTestCase):
    def test_help_lists_the_operator_commands(self) -> None:
        for word in ("/op", "/deop", "/voice", "/devoice", "/kick", "/invite", "/ban",
                     "/unban", "/mode", "/join ROOM [KEY]", "+t", "+k", "+l", "+s"):  # fmt: skip
            self.assertIn(word, HELP)
