"""
The IRC door's server replies, one test per command and numeric, in the sans-IO session:
the welcome burst's order, LUSERS, TIME, VERSION, ADMIN, INFO, MOTD with a target, the
registration edge cases and the 512-byte line of a relayed message. Formats are the
Modern IRC client protocol document's (modern.ircdocs.horse).
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netsuite import __version__
from netsuite.chat._irc_info import rfc1123
from netsuite.chat._irc_render import LINE_MAX
from netsuite.testing import hub_on_clock

from .helpers import line_session
from .test_irc import codes, feed, irc_session, lines, privmsgs, registered

NOW = 1700000000.25


class ReplyCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.hub, self.clock = hub_on_clock(start=NOW, flood_rate=100, flood_burst=100)
        self.alice, self.out, _ = registered(self.hub, "alice")

    def ask(self, *commands: str) -> list[str]:
        self.out.clear()
        feed(self.alice, *commands)
        return lines(self.out)


class WelcomeTests(ReplyCase):
    def test_order(self) -> None:
        """001-004, 005, then LUSERS as if asked, then the MOTD (connection registration)."""
        session, out, _ = irc_session(self.hub)
        feed(session, "NICK bob", "USER bob 0 * :Bob")
        burst = ["001", "002", "003", "004", "005", "005", "251", "252", "253", "254", "255"]
        self.assertEqual(codes(out), [*burst, "265", "266", "375", "372", "376"])

    def test_empty_realname_is_461(self) -> None:
        session, out, _ = irc_session(self.hub)
        feed(session, "NICK bob", "USER bob 0 * :", "USER bob 0 *", "USER  0 * :x")
        self.assertEqual(lines(out), [":netsuite 461 * USER :Not enough parameters"] * 3)
        self.assertFalse(session.registered)
        feed(session, "USER bob 0 * :B")
        self.assertTrue(session.registered)


class LusersTests(ReplyCase):
    def test_counts(self) -> None:
        bob, _, _ = line_session(self.hub, "bob")
        bob.cmd_join("#a")
        bob.cmd_join("#b")
        self.assertEqual(
            self.ask("LUSERS"),
            [
                ":netsuite 251 alice :There are 2 users and 0 invisible on 1 servers",
                ":netsuite 252 alice 0 :operator(s) online",
                ":netsuite 253 alice 0 :unknown connection(s)",
                ":netsuite 254 alice 3 :channels formed",  # the line door auto-joins #lobby
                ":netsuite 255 alice :I have 2 clients and 0 servers",
                ":netsuite 265 alice 2 2 :Current local users 2, max 2",
                ":netsuite 266 alice 2 2 :Current global users 2, max 2",
            ],
        )

    def test_maximum_stays_after_a_quit(self) -> None:
        carol, _, _ = registered(self.hub, "carol")
        feed(carol, "QUIT")
        got = self.ask("LUSERS")
        self.assertIn(":netsuite 265 alice 1 2 :Current local users 1, max 2", got)
        self.assertIn(":netsuite 251 alice :There are 1 users and 0 invisible on 1 servers", got)


class TimeTests(ReplyCase):
    def test_time(self) -> None:
        self.assertEqual(rfc1123(NOW), "Tue, 14 Nov 2023 22:13:20 UTC")
        self.assertEqual(
            self.ask("TIME", "TIME netsuite", "TIME net*"),
            [":netsuite 391 alice netsuite :Tue, 14 Nov 2023 22:13:20 UTC"] * 3,
        )

    def test_other_server_is_402(self) -> None:
        self.assertEqual(
            self.ask("TIME tolsun.oulu.fi"),
            [":netsuite 402 alice tolsun.oulu.fi :No such server"],
        )


class VersionTests(ReplyCase):
    def test_version_then_isupport(self) -> None:
        got = self.ask("VERSION")
        self.assertEqual(got[0], f":netsuite 351 alice netsuite-{__version__}. netsuite :")
        self.assertEqual(codes(self.out)[1:], ["005", "005"])
        self.assertTrue(got[1].endswith(":are supported by this server"))
        self.assertIn(" CASEMAPPING=rfc1459 ", got[1])

    def test_version_of_a_nick_and_of_elsewhere(self) -> None:
        self.assertEqual(codes(self.out), [])
        self.assertEqual(self.ask("VERSION alice")[0][:20], ":netsuite 351 alice ")
        self.assertEqual(self.ask("VERSION *.se"), [":netsuite 402 alice *.se :No such server"])


class AdminTests(ReplyCase):
    def test_admin(self) -> None:
        got = self.ask("ADMIN")
        self.assertEqual(codes(self.out), ["256", "257", "258", "259"])
        self.assertEqual(got[0], ":netsuite 256 alice netsuite :Administrative info")
        self.assertEqual(self.ask("ADMIN syrk"), [":netsuite 402 alice syrk :No such server"])


class InfoTests(ReplyCase):
    def test_info(self) -> None:
        got = self.ask("INFO")
        self.assertEqual(set(codes(self.out)[:-1]), {"371"})
        self.assertEqual(got[-1], ":netsuite 374 alice :End of INFO list")
        self.assertIn(__version__, got[0])


class MotdTests(ReplyCase):
    def test_motd_with_target(self) -> None:
        self.assertEqual(codes(self.out), [])
        self.ask("MOTD netsuite")
        self.assertEqual(codes(self.out), ["375", "372", "376"])
        self.assertEqual(
            self.ask("MOTD tolsun.oulu.fi"), [":netsuite 402 alice tolsun.oulu.fi :No such server"]
        )


class LongLineTests(ReplyCase):
    """A relayed line over 512 bytes with its prefix is truncated, never split."""

    def setUp(self) -> None:
        super().setUp()
        self.bob, _, _ = line_session(self.hub, "bob")
        self.bob.cmd_join("#lobby")
        feed(self.alice, "CAP REQ :message-tags server-time", "JOIN #lobby")
        self.out.clear()

    def check(self, text: str) -> str:
        self.out.clear()
        self.bob.say(text)
        raw = b"".join(self.out)
        self.assertEqual(raw.count(b"\r\n"), 1)  # one line: never split
        line = raw[:-2]
        rest = line.partition(b" ")[2] if line.startswith(b"@") else line
        self.assertLessEqual(len(rest) + 2, LINE_MAX)  # tags apart, as IRCv3 says
        (_, _, shown) = privmsgs(self.out)[0]  # decodes: never cut inside a character
        self.assertTrue(text.startswith(shown))
        return shown

    def test_multibyte_boundaries(self) -> None:
        head = len(":bob!bob@netsuite PRIVMSG #lobby :")
        room = LINE_MAX - 2 - head  # the text's bytes that fit
        for filler in ("a", "é", "€", "😀"):  # 1, 2, 3 and 4 bytes
            for extra in range(5):
                text = "x" * extra + filler * (room // len(filler.encode()) + 2)
                shown = self.check(text)
                self.assertGreater(len(shown.encode()), room - 4)  # filled, not wasted

    def test_exactly_fits_and_one_more(self) -> None:
        head = len(":bob!bob@netsuite PRIVMSG #lobby :")
        room = LINE_MAX - 2 - head
        self.assertEqual(self.check("y" * room), "y" * room)
        self.assertEqual(self.check("y" * (room + 1)), "y" * room)
