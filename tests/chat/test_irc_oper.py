"""
IRC operators (L{netsuite.chat._irc_oper}): C{OPER}, C{KILL}, C{WALLOPS} and how an
operator shows, in the sans-IO session, as the Modern IRC document gives them
(modern.ircdocs.horse: OPER, KILL, WALLOPS; 381, 464, 491, 481, 313). The operator is
irctest's: C{operuser} with the password C{operpassword}.
"""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import hub_on_clock

from .helpers import line_session, text
from .test_accounts import book
from .test_irc import codes, feed, lines, registered


class OperCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.hub, self.clock = hub_on_clock(flood_rate=1000, flood_burst=1000)
        self.book = book(opers={"operuser": "operpassword"})
        self.book.install(self.hub)

    def oper(self, nick: str = "ircop") -> tuple[Any, list[bytes], list[str]]:
        session, out, closed = registered(self.hub, nick)
        feed(session, "OPER operuser operpassword")
        self.assertIn("381", codes(out))
        out.clear()
        return session, out, closed


class OperTests(OperCase):
    def test_success(self) -> None:
        session, out, closed = registered(self.hub, "baz")
        feed(session, "OPER operuser operpassword")
        self.assertEqual(
            lines(out),
            [":netsuite 381 baz :You are now an IRC operator", ":baz MODE baz :+o"],
        )
        out.clear()
        feed(session, "MODE baz")
        self.assertEqual(lines(out), [":netsuite 221 baz +io"])

    def test_wrong_password_and_unknown_name_alike(self) -> None:
        session, out, closed = registered(self.hub, "baz")
        feed(session, "OPER operuser nottheoperpassword", "OPER notanoperuser operpassword")
        self.assertEqual(lines(out), [":netsuite 464 baz :Password incorrect"] * 2)
        self.assertEqual((closed, session.umodes), ([], {"i"}))

    def test_no_password(self) -> None:
        session, out, _ = registered(self.hub, "baz")
        feed(session, "OPER operuser", "OPER")
        self.assertEqual(codes(out), ["461", "461"])

    def test_491_without_operators(self) -> None:
        hub, _ = hub_on_clock()
        session, out, _ = registered(hub, "baz")
        feed(session, "OPER operuser operpassword")
        self.assertEqual(lines(out), [":netsuite 491 baz :No O-lines for your host"])

    def test_later_lines_wait_for_the_check(self) -> None:
        """irctest sends OPER then PING and reads until PONG: 381 must come first."""
        waiting: list[Any] = []
        self.book.run = lambda work, done: waiting.append((work, done))
        session, out, _ = registered(self.hub, "baz")
        feed(session, "OPER operuser wrong", "OPER operuser operpassword", "PING :sync")
        self.assertEqual(out, [])
        work, done = waiting.pop()
        done(work())
        self.assertEqual(codes(out), ["464"])  # then the second OPER is being checked
        work, done = waiting.pop()
        done(work())
        self.assertEqual(
            lines(out)[1:],
            [
                ":netsuite 381 baz :You are now an IRC operator",
                ":baz MODE baz :+o",
                ":netsuite PONG netsuite :sync",
            ],
        )

    def test_mode_o(self) -> None:
        """MODE nick +o is ignored (Modern IRC); -o gives it up."""
        plain, out, _ = registered(self.hub, "bob")
        feed(plain, "MODE bob +o")
        self.assertEqual(lines(out), [])
        self.assertNotIn("o", plain.umodes)
        session, out, _ = self.oper()
        feed(session, "MODE ircop -o", "MODE ircop")
        self.assertEqual(lines(out), [":ircop MODE ircop :-o", ":netsuite 221 ircop +i"])

    def test_shown(self) -> None:
        """WHOIS 313, WHO's C{*}, LUSERS 252."""
        asker, out, _ = registered(self.hub, "bob")
        feed(asker, "LUSERS")
        self.assertIn(":netsuite 252 bob 0 :operator(s) online", lines(out))
        self.oper()
        out.clear()
        feed(asker, "WHOIS ircop", "WHO ircop", "LUSERS", "WHOIS bob")
        got = lines(out)
        self.assertIn(":netsuite 313 bob ircop :is an IRC operator", got)
        self.assertIn(":netsuite 352 bob * ircop netsuite netsuite ircop H* :0 Ircop Example", got)
        self.assertIn(":netsuite 252 bob 1 :operator(s) online", got)
        self.assertEqual(codes(out).count("313"), 1)


class KillTests(OperCase):
    def test_not_an_operator(self) -> None:
        alice, out, closed = registered(self.hub, "alice")
        registered(self.hub, "bob")
        feed(alice, "KILL bob :some arbitrary reason", "KILL alice :some arbitrary reason")
        self.assertEqual(
            lines(out),
            [":netsuite 481 alice :Permission Denied- You're not an IRC operator"] * 2,
        )
        self.assertIsNotNone(self.hub.find("bob"))
        self.assertEqual(closed, [])

    def test_kill(self) -> None:
        """The victim's ERROR and everyone's QUIT say who killed it and why."""
        op, op_out, _ = self.oper()
        alice, alice_out, alice_closed = registered(self.hub, "alice")
        bob, bob_out, _ = registered(self.hub, "bob")
        feed(alice, "JOIN #r")
        feed(bob, "JOIN #r")
        bob_out.clear()
        alice_out.clear()
        feed(op, "KILL alice :some arbitrary reason")
        reason = "Killed (ircop (some arbitrary reason))"
        self.assertEqual(lines(alice_out), [f"ERROR :Closing link: {reason}"])
        self.assertEqual(alice_closed, [reason])
        self.assertEqual(lines(bob_out), [f":alice!alice@netsuite QUIT :{reason}"])
        self.assertIsNone(self.hub.find("alice"))
        self.assertEqual(op_out, [])

    def test_one_argument_and_errors(self) -> None:
        op, out, _ = self.oper()
        _, _, closed = registered(self.hub, "alice")
        feed(op, "KILL nobody :x", "KILL", "KILL alice")
        self.assertEqual(codes(out), ["401", "461"])
        self.assertEqual(closed, ["Killed (ircop (<no reason supplied>))"])

    def test_other_doors(self) -> None:
        op, _, _ = self.oper()
        victim, out, closed = line_session(self.hub, "dave")
        feed(op, "KILL dave :spam")
        self.assertIn("Killed (ircop (spam))", text(out))
        self.assertIsNone(self.hub.find("dave"))


class WallopsTests(OperCase):
    def test_not_an_operator(self) -> None:
        alice, out, _ = registered(self.hub, "alice")
        feed(alice, "WALLOPS :hi")
        self.assertEqual(codes(out), ["481"])

    def test_to_w_and_operators(self) -> None:
        op, op_out, _ = self.oper()
        wants, wants_out, _ = registered(self.hub, "wants")
        feed(wants, "MODE wants +w")
        _, other_out, _ = registered(self.hub, "other")
        wants_out.clear()
        feed(op, "WALLOPS :the server restarts at noon", "WALLOPS")
        line = ":ircop!ircop@netsuite WALLOPS :the server restarts at noon"
        self.assertEqual(lines(wants_out), [line])
        self.assertEqual(
            lines(op_out), [line, ":netsuite 461 ircop WALLOPS :Not enough parameters"]
        )
        self.assertEqual(other_out, [])
