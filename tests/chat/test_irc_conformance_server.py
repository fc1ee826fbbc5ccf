"""
The IRC door's registration and server replies, in the sans-IO session, as the RFCs
(1459, 2812), the Modern IRC client protocol document (modern.ircdocs.horse) and IRCv3
capability negotiation (ircv3.net) give them: a connection password, 451 and 421, nick
edge cases, LUSERS counting unregistered connections, LINKS, HELP, PING, the CAP
answers, and a relayed line cut to 512 bytes, never split nor cut inside a character.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._irc_caps import CAPABILITIES
from netsuite.chat._irc_render import LINE_MAX
from netsuite.chat._names import NICK_MAX
from netsuite.testing import hub_on_clock

from .test_irc import feed, irc_session, lines, privmsgs, registered


class ServerCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.hub, self.clock = hub_on_clock(flood_rate=100, flood_burst=100)


class PasswordTests(ServerCase):
    """RFC 2812 3.1.1 and Modern IRC, PASS: 464, then ERROR and the close."""

    def test_right_password(self) -> None:
        session, out, _ = irc_session(self.hub, password="testpassword")
        feed(session, "PASS testpassword", "NICK foo", "USER username * * :Realname")
        self.assertTrue(session.registered)
        self.assertEqual(lines(out)[0].split()[1], "001")

    def test_wrong_or_missing_or_late(self) -> None:
        for commands in (
            ("PASS garbage", "NICK foo", "USER username * * :Realname"),
            ("NICK foo", "USER username * * :Realname"),
            ("NICK foo", "USER username * * :Realname", "PASS testpassword"),
        ):
            session, out, closed = irc_session(self.hub, password="testpassword")
            feed(session, *commands)
            self.assertFalse(session.registered)
            self.assertEqual(
                lines(out),
                [":netsuite 464 * :Password incorrect", "ERROR :Closing link: Bad password"],
            )
            self.assertEqual(closed, ["Bad password"])


class RegistrationTests(ServerCase):
    def test_451_before_registration_421_after(self) -> None:
        session, out, _ = irc_session(self.hub)
        feed(session, "JOIN #a", "PRIVMSG x :y", "PING tok")
        self.assertEqual(
            lines(out),
            [
                ":netsuite 451 * :You have not registered",
                ":netsuite 451 * :You have not registered",
                ":netsuite PONG netsuite :tok",  # PING is answered before registration
            ],
        )
        feed(session, "NICK foo", "USER u 0 * :R")
        out.clear()
        feed(session, "FROBNICATE a b")
        self.assertEqual(lines(out), [":netsuite 421 foo FROBNICATE :Unknown command"])

    def test_empty_realname_is_461(self) -> None:
        session, out, _ = irc_session(self.hub)
        feed(session, "NICK foo", "USER username * * :")
        self.assertEqual(lines(out), [":netsuite 461 * USER :Not enough parameters"])

    def test_nick_edge_cases(self) -> None:
        """431 for no nick, 432 for a bad one (a star, or past NICKLEN), 433 taken."""
        registered(self.hub, "alice")
        session, out, _ = irc_session(self.hub)
        feed(session, "NICK :", "NICK *", "NICK " + "a" * (NICK_MAX + 1), "NICK ALICE")
        self.assertEqual(
            [line.split(" ", 3)[1:3] for line in lines(out)],
            [["431", "*"], ["432", "*"], ["432", "*"], ["433", "*"]],
        )
        feed(session, "USER u s e r")
        self.assertFalse(session.registered)
        feed(session, "NICK valid")
        self.assertTrue(session.registered)

    def test_nicklen_at_n_and_n_plus_one(self) -> None:
        """Modern IRC, NICKLEN: a nick of NICKLEN is taken, a longer one is 432."""
        session, out, _ = registered(self.hub, "foo")
        longest, longer = "a" * NICK_MAX, "b" * (NICK_MAX + 5)
        feed(session, f"NICK {longest}", f"NICK {longer}")
        replies = lines(out)
        self.assertEqual(replies[0], f":foo!foo@netsuite NICK :{longest}")
        self.assertEqual(replies[1].split(" ")[1:4], ["432", longest, longer])

    def test_nick_case_change_and_no_op(self) -> None:
        alice, alice_out, _ = registered(self.hub, "alice")
        bob, bob_out, _ = registered(self.hub, "bob")
        feed(alice, "JOIN #test")
        feed(bob, "JOIN #test")
        alice_out.clear()
        bob_out.clear()
        feed(alice, "NICK Alice")
        self.assertEqual(lines(alice_out), [":alice!alice@netsuite NICK :Alice"])
        self.assertEqual(lines(bob_out), [":alice!alice@netsuite NICK :Alice"])
        feed(alice, "NICK Alice")
        self.assertEqual(len(lines(alice_out)) + len(lines(bob_out)), 2)  # nothing more


class LusersTests(ServerCase):
    """Modern IRC, LUSERS: 253 counts the connections not registered yet."""

    def unknown(self, session, out) -> str:  # type: ignore[no-untyped-def]
        out.clear()
        feed(session, "LUSERS")
        return next(line.split()[3] for line in lines(out) if line.split()[1] == "253")

    def test_unregistered_connections(self) -> None:
        bar, out, _ = registered(self.hub, "bar")
        self.assertEqual(self.unknown(bar, out), "0")
        qux, _, _ = irc_session(self.hub)
        bat, _, _ = irc_session(self.hub)
        feed(qux, "NICK qux")
        feed(bat, "NICK bat")
        self.assertEqual(self.unknown(bar, out), "2")
        feed(qux, "USER u s e r")
        self.assertEqual(self.unknown(bar, out), "1")
        feed(bat, "QUIT")
        self.assertEqual(self.unknown(bar, out), "0")


class QueryTests(ServerCase):
    def setUp(self) -> None:
        super().setUp()
        self.nick, self.out, _ = registered(self.hub, "nick")

    def ask(self, *commands: str) -> list[str]:
        self.out.clear()
        feed(self.nick, *commands)
        return lines(self.out)

    def test_links(self) -> None:
        """Modern IRC, LINKS: no links to list, so 365 alone, with the mask C{*}."""
        self.assertEqual(self.ask("LINKS"), [":netsuite 365 nick * :End of /LINKS list"])

    def test_help(self) -> None:
        """Modern IRC, HELP: 704, 705s, 706 with the subject; 524 for an unknown one."""
        replies = self.ask("HELP PRIVMSG")
        self.assertEqual([r.split()[1:4] for r in replies],
                         [["704", "nick", "PRIVMSG"], ["705", "nick", "PRIVMSG"],
                          ["706", "nick", "PRIVMSG"]])  # fmt: skip
        index = self.ask("HELPOP")
        self.assertEqual(index[0].split()[1:4], ["704", "nick", "*"])
        self.assertIn("WHOWAS", " ".join(index))
        self.assertEqual(
            self.ask("HELP THISISNOTACOMMAND"),
            [":netsuite 524 nick THISISNOTACOMMAND :No help available on this topic"],
        )

    def test_ping(self) -> None:
        self.assertEqual(
            self.ask("PING abcdef", "PING :", "PING"),
            [
                ":netsuite PONG netsuite :abcdef",
                ":netsuite PONG netsuite :",
                ":netsuite 409 nick :No origin specified",
            ],
        )


class CapTests(ServerCase):
    """IRCv3 capability negotiation, the cases a client depends on."""

    def test_offered(self) -> None:
        for cap in ("away-notify", "setname", "invite-notify", "multi-prefix"):
            self.assertIn(cap, CAPABILITIES)
        self.assertNotIn("chghost", CAPABILITIES)  # no host ever changes here

    def test_nak_exact_and_whole(self) -> None:
        session, out, _ = irc_session(self.hub)
        feed(session, "CAP LS 302")
        out.clear()
        feed(session, "CAP REQ :foo qux bar baz qux quux", "CAP REQ :foo multi-prefix bar",
             "CAP REQ :multi-prefix")  # fmt: skip
        self.assertEqual(
            lines(out),
            [
                ":netsuite CAP * NAK :foo qux bar baz qux quux",
                ":netsuite CAP * NAK :foo multi-prefix bar",
                ":netsuite CAP * ACK :multi-prefix",
            ],
        )

    def test_empty_list_and_301_ls(self) -> None:
        session, out, _ = irc_session(self.hub)
        feed(session, "CAP LIST", "CAP LS")
        first, second = lines(out)
        self.assertEqual(first, ":netsuite CAP * LIST :")
        self.assertNotIn("=", second)
        self.assertNotIn(" * :", second)

    def test_removal(self) -> None:
        session, out, _ = irc_session(self.hub)
        feed(session, "CAP LS 302", "CAP REQ :echo-message server-time", "NICK bar",
             "USER u 0 * :r", "CAP END", "CAP REQ :-server-time", "CAP LIST")  # fmt: skip
        self.assertIn(":netsuite CAP bar ACK :-server-time", lines(out))
        self.assertEqual(lines(out)[-1], ":netsuite CAP bar LIST :cap-notify echo-message")


class TruncationTests(ServerCase):
    """A relayed message past 512 bytes with its prefix is cut, never split (RFC 2812 2.3)."""

    def test_cut_on_a_character_boundary(self) -> None:
        alice, _, _ = registered(self.hub, "alice")
        bob, out, _ = registered(self.hub, "bob")
        for width in range(1, 5):  # "é" is 2 bytes, "€" 3, "😀" 4
            char = {1: "a", 2: "é", 3: "€", 4: "😀"}[width]
            out.clear()
            feed(alice, "PRIVMSG bob :" + char * 600)
            raw = b"".join(out)
            self.assertEqual(raw.count(b"\r\n"), 1)  # one line, not two
            self.assertLessEqual(len(raw), LINE_MAX)
            ((_, _, text),) = privmsgs(out)
            self.assertEqual(set(text), {char})  # decodes: no character cut in half
            self.assertGreater(len(raw), LINE_MAX - width)  # as much as fits


class EncodingTests(ServerCase):
    """
    Bytes that are not UTF-8 (a latin-1 client): decoded with U+FFFD in place of each
    bad byte, the line kept (Modern IRC, character encodings: UTF-8 is expected, and
    servers must not fail on anything else); what is relayed is valid UTF-8.
    """

    def test_latin1_bytes_relayed_as_valid_utf8(self) -> None:
        alice, _, _ = registered(self.hub, "alice")
        bob, out, _ = registered(self.hub, "bob")
        feed(alice, b"PRIVMSG bob :caf\xe9 ok")
        self.assertEqual(privmsgs(out), [("alice", "bob", "caf\ufffd ok")])
        feed(alice, b"NICK \xff")  # a nick that cannot be: 432, still connected
        self.assertTrue(alice.registered and not alice.closed)
