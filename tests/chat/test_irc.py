"""The IRC door: its session (no I/O), its Twisted adapter, and a real Twisted IRC client."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock as ReactorClock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase
from twisted.words.protocols import irc

from netsuite.chat._events import ChatError, Notice
from netsuite.chat._hub import Hub
from netsuite.chat._irc_caps import CAPABILITIES
from netsuite.chat._irc_door import IRCChatFactory
from netsuite.chat._irc_render import IRC_NUMERICS, LINE_MAX, split_utf8
from netsuite.chat._irc_session import IRCSession
from netsuite.chat._irc_session import scrub_irc as scrub
from netsuite.testing import hub_on_clock

from .helpers import line_session, text

#: The LUSERS replies of the welcome burst, after 005 (Modern IRC, connection registration).
LUSERS = ["251", "252", "253", "254", "255", "265", "266"]
PEER = IPv4Address("TCP", "127.0.0.1", 40000)


def irc_session(hub: Hub, **kw: object) -> tuple[IRCSession, list[bytes], list[str]]:
    """An IRC session, not yet registered, whose output and close reason are collected."""
    out: list[bytes] = []
    closed: list[str] = []
    session = IRCSession(hub, out.append, closed.append, **kw)  # type: ignore[arg-type]
    return session, out, closed


def feed(session: IRCSession, *lines: str | bytes) -> None:
    for line in lines:
        data = line if isinstance(line, bytes) else line.encode()
        session.data_received(data + b"\r\n")


def lines(out: list[bytes]) -> list[str]:
    """Every line sent, decoded; also checks each ends in CRLF and fits in 512 bytes."""
    raw = b"".join(out)
    assert raw == b"" or raw.endswith(b"\r\n"), raw[-20:]
    result = []
    for line in raw.split(b"\r\n")[:-1]:
        assert len(line) + 2 <= LINE_MAX or line.startswith(b"@"), (len(line), line[:60])
        result.append(line.decode("utf-8"))
    return result


def codes(out: list[bytes]) -> list[str]:
    """The numerics (and commands) of the server's own lines, in order."""
    return [line.split(" ")[1] for line in lines(out) if line.startswith(":netsuite ")]


def registered(hub: Hub, nick: str = "alice", **kw: object):  # type: ignore[no-untyped-def]
    """A registered IRC session with its output cleared."""
    session, out, closed = irc_session(hub, **kw)
    feed(session, f"NICK {nick}", f"USER {nick} 0 * :{nick.title()} Example")
    assert session.registered, lines(out)
    out.clear()
    return session, out, closed


def privmsgs(out: list[bytes]) -> list[tuple[str, str, str]]:
    """(sender nick, target, text) of each PRIVMSG received."""
    found = []
    for line in lines(out):
        if line.startswith("@"):
            line = line.partition(" ")[2]
        prefix, command, params = irc.parsemsg(line)
        if command == "PRIVMSG":
            found.append((prefix.split("!")[0], params[0], params[1]))
    return found


class HelperTests(SynchronousTestCase):
    def test_split_utf8_keeps_characters_whole(self) -> None:
        data = ("é€" * 200 + "abc").encode()
        for budget in (4, 5, 7, 100, 451):
            pieces = split_utf8(data, budget)
            self.assertEqual(b"".join(pieces), data)
            for piece in pieces:
                self.assertLessEqual(len(piece), budget)
                piece.decode("utf-8")  # raises if a character was cut

    def test_split_utf8_prefers_spaces(self) -> None:
        pieces = split_utf8(b"aaaa bbbb cccc", 10)
        self.assertEqual(pieces, [b"aaaa bbbb ", b"cccc"])

    def test_split_utf8_short(self) -> None:
        self.assertEqual(split_utf8(b"", 10), [b""])
        self.assertEqual(split_utf8(b"x" * 10, 10), [b"x" * 10])

    def test_scrub_keeps_formatting(self) -> None:
        self.assertEqual(
            scrub("\x02b\x02 \x034red\x03 \x1di\x1d \x1fu\x1f \x16r\x0f \x01ACTION\x01"),
            "\x02b\x02 \x034red\x03 \x1di\x1d \x1fu\x1f \x16r\x0f \x01ACTION\x01",
        )
        self.assertEqual(scrub("a\x1b[31mb\x07c\x00d\x7fe\x85f\tg"), "a[31mbcdef g")

    def test_every_chat_error_has_a_numeric_or_is_flood(self) -> None:
        codes = {
            "erroneous_nick",
            "nick_in_use",
            "no_such_room",
            "not_on_room",
            "cannot_send",
            "no_such_nick",
            "no_text",
            "too_long",
            "not_registered",
            "already_registered",
            "nick_locked",
            "room_full",
            "invite_only",
            "banned",
            "account_needed",
            "bad_key",
            "chanop_needed",
        }
        self.assertEqual(set(IRC_NUMERICS), codes)


class RegistrationTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.hub, self.clock = hub_on_clock(flood_rate=100, flood_burst=100)

    def test_welcome(self) -> None:
        session, out, closed = irc_session(self.hub)
        feed(session, "NICK alice", "USER alice 0 * :Alice Example")
        self.assertEqual(
            codes(out),
            ["001", "002", "003", "004", "005", "005", *LUSERS, "375", "372", "376"],
        )
        shown = lines(out)
        self.assertEqual(
            shown[0],
            ":netsuite 001 alice :Welcome to the netsuite IRC network alice!alice@netsuite",
        )
        isupport = " ".join(x for x in shown if x.split(" ")[1] == "005").split(" ")
        for token in ("CHANTYPES=#", "NICKLEN=30", "CASEMAPPING=rfc1459", "NETWORK=netsuite"):
            self.assertIn(token, isupport)
        self.assertIs(self.hub.find("alice"), session)
        self.assertEqual(self.hub.rooms_of(session), [])  # no auto-join, unlike the line door
        self.assertEqual(closed, [])

    def test_user_then_nick(self) -> None:
        session, out, _ = irc_session(self.hub)
        feed(session, "USER alice 0 * :Alice")
        self.assertEqual(out, [])
        feed(session, "NICK alice")
        self.assertEqual(codes(out)[0], "001")

    def test_server_name_and_no_motd(self) -> None:
        session, out, _ = irc_session(self.hub, server_name="chat.example", motd="")
        feed(session, "NICK alice", "USER alice 0 * :Alice")
        shown = lines(out)
        self.assertIn("NETWORK=chat.example", " ".join(x for x in shown if " 005 " in x))
        self.assertEqual(shown[-1], ":chat.example 422 alice :MOTD File is missing")

    def test_motd_lines(self) -> None:
        session, out, _ = irc_session(self.hub, motd="one\ntwo")
        feed(session, "NICK alice", "USER alice 0 * :Alice")
        self.assertEqual(
            lines(out)[-3:-1], [":netsuite 372 alice :- one", ":netsuite 372 alice :- two"]
        )
        out.clear()
        feed(session, "MOTD")
        self.assertEqual(codes(out), ["375", "372", "372", "376"])

    def test_commands_before_registration(self) -> None:
        session, out, _ = irc_session(self.hub)
        feed(session, "JOIN #lobby", "PRIVMSG #lobby :hi", "PING :tok")
        self.assertEqual(codes(out), ["451", "451", "PONG"])
        self.assertEqual(lines(out)[0], ":netsuite 451 * :You have not registered")

    def test_password(self) -> None:
        session, out, closed = irc_session(self.hub, password="s3cret")
        feed(session, "PASS s3cret", "NICK alice", "USER alice 0 * :Alice")
        self.assertEqual(codes(out)[0], "001")
        self.assertEqual(closed, [])

    def test_wrong_password(self) -> None:
        session, out, closed = irc_session(self.hub, password="s3cret")
        feed(session, "PASS guess", "NICK alice", "USER alice 0 * :Alice", "JOIN #lobby")
        self.assertEqual(
            lines(out),
            [":netsuite 464 * :Password incorrect", "ERROR :Closing link: Bad password"],
        )
        self.assertEqual(closed, ["Bad password"])
        self.assertIsNone(self.hub.find("alice"))

    def test_missing_password(self) -> None:
        session, out, closed = irc_session(self.hub, password="s3cret")
        feed(session, "NICK alice", "USER alice 0 * :Alice")
        self.assertEqual(codes(out), ["464"])
        self.assertEqual(closed, ["Bad password"])

    def test_password_not_asked_when_unset(self) -> None:
        session, out, _ = irc_session(self.hub)
        feed(session, "PASS whatever", "NICK alice", "USER alice 0 * :Alice")
        self.assertEqual(codes(out)[0], "001")

    def test_nick_errors(self) -> None:
        line_session(self.hub, "bob")
        session, out, _ = irc_session(self.hub)
        feed(session, "NICK", "NICK 9lives", "NICK " + "a" * 31, "NICK BOB", "USER a 0 * :A")
        self.assertEqual(
            lines(out),
            [
                ":netsuite 431 * :No nickname given",
                ":netsuite 432 * 9lives :Erroneous nickname",
                f":netsuite 432 * {'a' * 31} :Erroneous nickname",
                ":netsuite 433 * BOB :Nickname is already in use",
            ],
        )
        self.assertFalse(session.registered)
        out.clear()
        feed(session, "NICK bob_")
        self.assertEqual(codes(out)[0], "001")
        self.assertEqual(session.nick, "bob_")

    def test_nick_taken_between_nick_and_user(self) -> None:
        session, out, _ = irc_session(self.hub)
        feed(session, "NICK bob")
        line_session(self.hub, "bob")
        feed(session, "USER bob 0 * :Bob")
        self.assertEqual(lines(out), [":netsuite 433 * bob :nick bob is taken"])
        feed(session, "NICK bobby")
        self.assertTrue(session.registered)

    def test_irc_nick_refused_on_line_door(self) -> None:
        registered(self.hub, "alice")
        with self.assertRaises(ChatError) as caught:
            line_session(self.hub, "ALICE")
        self.assertEqual(caught.exception.code, "nick_in_use")

    def test_nick_change(self) -> None:
        alice, out, _ = registered(self.hub, "alice")
        bob, b_out, _ = line_session(self.hub, "bob")
        feed(alice, "JOIN #lobby")
        out.clear()
        feed(alice, "NICK Al", "NICK bob", "NICK 1x")
        self.assertEqual(
            lines(out),
            [
                ":alice!alice@netsuite NICK :Al",
                ":netsuite 433 Al bob :nick bob is taken",
                ":netsuite 432 Al 1x :'1x' is not a valid nick: 1-30 characters, a letter or "
                "one of []\\`_^{|} first, then letters, digits, - or those",
            ],
        )
        self.assertIn("-- alice is now known as Al", text(b_out))

    def test_reregister(self) -> None:
        session, out, _ = registered(self.hub)
        feed(session, "USER x 0 * :x", "PASS x", "USER")
        self.assertEqual(codes(out), ["462", "462", "462"])

    def test_user_needs_four_params(self) -> None:
        session, out, _ = irc_session(self.hub)
        feed(session, "USER alice 0 *")
        self.assertEqual(lines(out), [":netsuite 461 * USER :Not enough parameters"])

    def test_cap_negotiation(self) -> None:
        session, out, _ = irc_session(self.hub)
        feed(session, "CAP LS 302", "NICK alice", "USER alice 0 * :Alice")
        offered = [f"{k}={v}" if v else k for k, v in sorted(CAPABILITIES.items())]
        self.assertEqual(lines(out), [":netsuite CAP * LS :" + " ".join(offered)])
        self.assertFalse(session.registered)  # waits for CAP END
        feed(session, "CAP REQ :server-time", "CAP REQ :draft/nothing", "CAP LIST", "CAP FOO")
        self.assertEqual(
            lines(out)[1:],
            [
                ":netsuite CAP * ACK :server-time",
                ":netsuite CAP * NAK :draft/nothing",
                ":netsuite CAP * LIST :cap-notify server-time",  # cap-notify: implied by 302
                ":netsuite 410 * FOO :Invalid CAP command",
            ],
        )
        feed(session, "CAP END")
        self.assertTrue(session.registered)
        self.assertEqual(session.caps, {"cap-notify", "server-time"})

    def test_http_request_closed(self) -> None:
        for request in (b"GET / HTTP/1.1", b"POST /irc HTTP/1.0", b"HEAD / HTTP/1.1"):
            session, out, closed = irc_session(self.hub)
            session.data_received(request + b"\r\nHost: x\r\n\r\nNICK a\r\nUSER a 0 * :a\r\n")
            self.assertEqual(out, [])
            self.assertEqual(closed, ["HTTP request on the IRC port"])
            self.assertFalse(session.registered)


class CommandTests(SynchronousTestCase):
    """Alice is on IRC, bob on the line door; both registered, neither in a room."""

    def setUp(self) -> None:
        self.hub, self.clock = hub_on_clock(flood_rate=100, flood_burst=100)
        self.alice, self.out, self.closed = registered(self.hub, "alice")
        self.bob, self.b_out, _ = line_session(self.hub, "bob")
        self.b_out.clear()

    def say(self, *lines_: str | bytes) -> list[str]:
        """Feed alice lines; return what she was sent for them."""
        self.out.clear()
        feed(self.alice, *lines_)
        return lines(self.out)

    def test_join(self) -> None:
        self.bob.cmd_topic("welcome all")
        self.assertEqual(
            self.say("JOIN #lobby"),
            [
                ":alice!alice@netsuite JOIN #lobby",
                ":netsuite 332 alice #lobby :welcome all",
                ":netsuite 333 alice #lobby bob 1000",  # who set it, when (Modern IRC)
                ":netsuite 353 alice = #lobby :@bob alice",
                ":netsuite 366 alice #lobby :End of /NAMES list",
            ],
        )
        self.assertIn("[#lobby] -> alice joined", text(self.b_out))

    def test_join_list_new_room_and_errors(self) -> None:
        shown = self.say("JOIN #a,#B,nohash,#lobby", "JOIN #a", "JOIN")
        self.assertEqual(
            [line.split(" ")[1] for line in shown],
            [
                "JOIN",  # no 331: Modern IRC sends nothing on JOIN when there is no topic
                "353",
                "366",
                "JOIN",
                "353",
                "366",
                "476",  # Modern IRC: ERR_BADCHANMASK for a name that is not a room's
                "JOIN",
                "353",
                "366",
                "461",
            ],
        )
        self.assertEqual(shown[6].split(" ")[:4], [":netsuite", "476", "alice", "nohash"])
        self.assertEqual(self.hub.rooms_of(self.alice), ["#a", "#B", "#lobby"])

    def test_join_zero_leaves_all(self) -> None:
        self.say("JOIN #a,#b")
        self.assertEqual(
            self.say("JOIN 0"), [":alice!alice@netsuite PART #a", ":alice!alice@netsuite PART #b"]
        )
        self.assertEqual(self.hub.rooms_of(self.alice), [])

    def test_history_after_names(self) -> None:
        self.bob.data_received(b"first\n/me waves\n")
        self.assertEqual(
            self.say("JOIN #lobby")[2:],
            [
                ":netsuite 366 alice #lobby :End of /NAMES list",
                ":bob!bob@netsuite PRIVMSG #lobby :first",
                ":bob!bob@netsuite PRIVMSG #lobby :\x01ACTION waves\x01",
            ],
        )

    def test_history_with_server_time(self) -> None:
        self.clock.advance(1700000000.25 - self.clock.seconds())
        self.bob.data_received(b"first\n")
        hub = self.hub
        carol, out, _ = irc_session(hub)
        feed(carol, "CAP LS", "CAP REQ server-time", "NICK carol", "USER c 0 * :C", "CAP END")
        out.clear()
        feed(carol, "JOIN #lobby")
        self.assertEqual(
            lines(out)[-1],
            "@time=2023-11-14T22:13:20.250Z :bob!bob@netsuite PRIVMSG #lobby :first",
        )

    def test_part(self) -> None:
        self.say("JOIN #lobby,#den")
        self.assertEqual(
            self.say("PART #lobby :bye now", "PART #den", "PART #lobby", "PART #nowhere", "PART"),
            [
                ":alice!alice@netsuite PART #lobby :bye now",
                ":alice!alice@netsuite PART #den",
                ":netsuite 442 alice #lobby :you are not in #lobby",
                ":netsuite 403 alice #nowhere :no room #nowhere",
                ":netsuite 461 alice PART :Not enough parameters",
            ],
        )
        self.assertIn("[#lobby] <- alice left (bye now)", text(self.b_out))

    def test_privmsg_room_both_ways_no_echo(self) -> None:
        self.say("JOIN #lobby")
        self.b_out.clear()
        self.assertEqual(self.say("PRIVMSG #lobby :hello bob"), [])
        self.assertEqual(text(self.b_out), "[#lobby] <alice> hello bob\r\n")
        self.out.clear()
        self.bob.data_received(b"hi alice\n")
        self.assertEqual(lines(self.out), [":bob!bob@netsuite PRIVMSG #lobby :hi alice"])

    def test_action_both_ways(self) -> None:
        self.say("JOIN #lobby")
        self.b_out.clear()
        self.say("PRIVMSG #lobby :\x01ACTION waves\x01")
        self.assertEqual(text(self.b_out), "[#lobby] * alice waves\r\n")
        self.out.clear()
        self.bob.data_received(b"/me bows\n")
        self.assertEqual(
            lines(self.out), [":bob!bob@netsuite PRIVMSG #lobby :\x01ACTION bows\x01"]
        )

    def test_privmsg_errors(self) -> None:
        self.bob.cmd_join("#den")
        self.assertEqual(
            self.say(
                "PRIVMSG #den :hi",
                "PRIVMSG #nowhere :hi",
                "PRIVMSG nobody :hi",
                "PRIVMSG",
                "PRIVMSG bob",
                "PRIVMSG bob :",
            ),
            [
                ":netsuite 404 alice #den :you are not in #den",
                ":netsuite 403 alice #nowhere :no room #nowhere",
                ":netsuite 401 alice nobody :No such nick/channel",
                ":netsuite 411 alice :No recipient given (PRIVMSG)",
                ":netsuite 412 alice :No text to send",
                ":netsuite 412 alice :No text to send",
            ],
        )

    def test_notice_gets_no_error_replies(self) -> None:
        self.bob.cmd_join("#den")
        self.assertEqual(self.say("NOTICE #den :x", "NOTICE nobody :x", "NOTICE", "NOTICE b"), [])

    def test_notice_to_room(self) -> None:
        self.say("JOIN #lobby")
        carol, c_out, _ = registered(self.hub, "carol")
        feed(carol, "JOIN #lobby")
        c_out.clear()
        self.say("NOTICE #lobby :heads up")
        self.assertEqual(lines(c_out), [":alice!alice@netsuite NOTICE #lobby :heads up"])
        self.assertIn("[#lobby] -alice- heads up", text(self.b_out))

    def test_private_messages_both_ways(self) -> None:
        self.assertEqual(
            self.say("PRIVMSG bob :psst", "PRIVMSG alice :note to self"),
            [":alice!alice@netsuite PRIVMSG alice :note to self"],
        )
        self.assertIn("[private] <alice> psst", text(self.b_out))
        self.out.clear()
        self.bob.data_received(b"/msg alice hi back\n")
        self.assertEqual(lines(self.out), [":bob!bob@netsuite PRIVMSG alice :hi back"])

    def test_several_targets(self) -> None:
        carol, c_out, _ = registered(self.hub, "carol")
        self.say("JOIN #lobby")
        self.b_out.clear()
        self.say("PRIVMSG bob,carol,#lobby :all")
        self.assertEqual(privmsgs(c_out), [("alice", "carol", "all")])
        self.assertEqual(text(self.b_out), "[private] <alice> all\r\n[#lobby] <alice> all\r\n")

    def test_away(self) -> None:
        self.bob.hub.set_away(self.bob, "at lunch")
        self.assertEqual(
            self.say("AWAY :brb", "PRIVMSG bob :hi", "NOTICE bob :hi", "AWAY"),
            [
                ":netsuite 306 alice :You have been marked as being away",
                ":netsuite 301 alice bob :at lunch",
                ":netsuite 305 alice :You are no longer marked as being away",
            ],
        )

    def test_away_between_irc_members(self) -> None:
        carol, c_out, _ = registered(self.hub, "carol")
        feed(carol, "AWAY :gone fishing")
        self.assertEqual(
            self.say("PRIVMSG carol :hi"), [":netsuite 301 alice carol :gone fishing"]
        )
        self.assertEqual(self.say("WHO carol")[0].split(" ")[8], "G")

    def test_topic(self) -> None:
        self.say("JOIN #lobby")
        self.bob.cmd_op("alice")  # bob was first in #lobby: its operator; +t is on
        self.bob.cmd_join("#den")
        self.assertEqual(
            self.say(
                "TOPIC #lobby",
                "TOPIC #lobby :be nice",
                "TOPIC #LOBBY",
                "TOPIC #den :mine",
                "TOPIC #nowhere",
                "TOPIC #nowhere :x",
                "TOPIC",
            ),
            [
                ":netsuite 331 alice #lobby :No topic is set.",
                ":alice!alice@netsuite TOPIC #lobby :be nice",
                ":netsuite 332 alice #lobby :be nice",
                ":netsuite 333 alice #lobby alice 1000",
                ":netsuite 442 alice #den :you are not in #den",
                ":netsuite 403 alice #nowhere :no room #nowhere",
                ":netsuite 403 alice #nowhere :no room #nowhere",
                ":netsuite 461 alice TOPIC :Not enough parameters",
            ],
        )
        self.assertIn("[#lobby] -- alice set the topic: be nice", text(self.b_out))
        self.out.clear()
        self.bob.data_received(b"/join #lobby\n/topic from the line\n")
        self.assertEqual(lines(self.out)[-1], ":bob!bob@netsuite TOPIC #lobby :from the line")

    def test_names(self) -> None:
        self.say("JOIN #lobby")
        self.assertEqual(
            self.say("NAMES #lobby,#nowhere", "NAMES"),
            [
                ":netsuite 353 alice = #lobby :@bob alice",
                ":netsuite 366 alice #lobby,#nowhere :End of /NAMES list",  # one, as asked
                ":netsuite 366 alice * :End of /NAMES list",
            ],
        )

    def test_names_split_over_lines(self) -> None:
        hub = Hub(clock=self.clock.seconds)
        names = [f"n{i:02d}{'x' * 25}" for i in range(60)]
        for nick in names:
            line_session(hub, nick)
        alice, out, _ = registered(hub, "alice")
        feed(alice, "JOIN #lobby")
        replies = [line for line in lines(out) if " 353 " in line]
        self.assertGreater(len(replies), 3)
        shown = [n for line in replies for n in line.partition(" :")[2].split(" ")]
        self.assertEqual(shown, ["@" + names[0], *names[1:], "alice"])  # the first is op

    def test_who(self) -> None:
        self.say("JOIN #lobby")
        self.assertEqual(
            self.say("WHO #lobby", "WHO bob", "WHO #nowhere", "WHO"),
            [
                ":netsuite 352 alice #lobby bob netsuite netsuite bob H@ :0 via the line door",
                ":netsuite 352 alice #lobby alice netsuite netsuite alice H :0 Alice Example",
                ":netsuite 315 alice #lobby :End of /WHO list",
                ":netsuite 352 alice * bob netsuite netsuite bob H :0 via the line door",
                ":netsuite 315 alice bob :End of /WHO list",
                ":netsuite 315 alice #nowhere :End of /WHO list",
                ":netsuite 352 alice * alice netsuite netsuite alice H :0 Alice Example",
                ":netsuite 352 alice * bob netsuite netsuite bob H :0 via the line door",
                ":netsuite 315 alice * :End of /WHO list",
            ],
        )

    def test_whois(self) -> None:
        self.say("JOIN #lobby")
        feed(self.alice, "AWAY :out")
        self.assertEqual(
            self.say("WHOIS bob", "WHOIS netsuite alice", "WHOIS nobody", "WHOIS"),
            [
                ":netsuite 311 alice bob bob netsuite * :via the line door",
                ":netsuite 319 alice bob :@#lobby",
                ":netsuite 312 alice bob netsuite :netsuite, line door",
                ":netsuite 318 alice bob :End of /WHOIS list",
                ":netsuite 311 alice alice alice netsuite * :Alice Example",
                ":netsuite 319 alice alice :#lobby",
                ":netsuite 312 alice alice netsuite :netsuite, irc door",
                ":netsuite 317 alice alice 0 1000 :seconds idle, signon time",
                ":netsuite 301 alice alice :out",
                ":netsuite 318 alice alice :End of /WHOIS list",
                ":netsuite 401 alice nobody :No such nick/channel",
                ":netsuite 318 alice nobody :End of /WHOIS list",
                ":netsuite 431 alice :No nickname given",
            ],
        )

    def test_list(self) -> None:
        self.bob.cmd_topic("the lobby")
        self.say("JOIN #den")
        self.assertEqual(
            self.say("LIST", "LIST #DEN"),
            [
                ":netsuite 321 alice Channel :Users  Name",
                ":netsuite 322 alice #den 1 :",
                ":netsuite 322 alice #lobby 1 :the lobby",
                ":netsuite 323 alice :End of /LIST",
                ":netsuite 321 alice Channel :Users  Name",
                ":netsuite 322 alice #den 1 :",
                ":netsuite 323 alice :End of /LIST",
            ],
        )

    def test_ping_pong(self) -> None:
        self.assertEqual(
            self.say("PING :12345", "PING", "PONG :netsuite"),
            [":netsuite PONG netsuite :12345", ":netsuite 409 alice :No origin specified"],
        )

    def test_mode(self) -> None:
        self.say("JOIN #lobby")
        self.assertEqual(
            self.say(
                "MODE #lobby",
                "MODE #lobby b",
                "MODE #lobby +n",
                "MODE #lobby +k key",
                "MODE #nowhere",
                "MODE alice",
                "MODE alice +i",
                "MODE alice +z",
                "MODE bob",
                "MODE nobody",
                "MODE",
            ),
            [
                ":netsuite 324 alice #lobby +nt",
                ":netsuite 329 alice #lobby 1000",  # the hub clock starts at 1000
                ":netsuite 368 alice #lobby :End of channel ban list",
                ":netsuite 482 alice #lobby :You're not channel operator",  # bob is the op
                ":netsuite 482 alice #lobby :You're not channel operator",
                ":netsuite 403 alice #nowhere :No such channel",
                ":netsuite 221 alice +i",
                ":netsuite 501 alice :Unknown MODE flag",
                ":netsuite 502 alice :Cannot change mode for other users",
                ":netsuite 401 alice nobody :No such nick/channel",
                ":netsuite 461 alice MODE :Not enough parameters",
            ],
        )

    def test_ison_userhost_version(self) -> None:
        self.assertEqual(
            self.say("ISON bob nobody ALICE", "USERHOST bob nobody", "FROB x"),
            [
                ":netsuite 303 alice :bob alice",
                ":netsuite 302 alice :bob=+bob@netsuite",
                ":netsuite 421 alice FROB :Unknown command",
            ],
        )
        self.assertEqual(
            self.say("VERSION")[0], ":netsuite 351 alice netsuite-0.1.0. netsuite :"
        )  # then 005 (tests/chat/test_irc_replies.py)

    def test_a_bug_is_logged_not_fatal(self) -> None:
        def broken(prefix: str, params: list[str]) -> None:
            raise ZeroDivisionError()

        self.alice.irc_FROB = broken  # type: ignore[attr-defined]
        self.assertEqual(self.say("FROB", "PING :still"), [":netsuite PONG netsuite :still"])
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)

    def test_quit(self) -> None:
        self.say("JOIN #lobby")
        self.assertEqual(
            self.say("QUIT :see you", "PRIVMSG #lobby :ghost"), ["ERROR :Closing link: see you"]
        )
        self.assertEqual(self.closed, ["see you"])
        self.assertIsNone(self.hub.find("alice"))
        self.assertIn("<- alice quit (see you)", text(self.b_out))

    def test_events_from_the_line_door(self) -> None:
        self.say("JOIN #lobby")
        self.out.clear()
        carol, _, _ = line_session(self.hub, "carol")
        feed(carol, b"/nick Caz", b"/part #lobby gone", b"/join #lobby", b"/quit later")
        self.assertEqual(
            lines(self.out),
            [
                ":carol!carol@netsuite JOIN #lobby",
                ":carol!carol@netsuite NICK :Caz",
                ":Caz!Caz@netsuite PART #lobby :gone",
                ":Caz!Caz@netsuite JOIN #lobby",
                ":Caz!Caz@netsuite QUIT :later",
            ],
        )

    def test_server_notice(self) -> None:
        self.hub.announce("server shutting down")
        self.assertEqual(lines(self.out), [":netsuite NOTICE alice :server shutting down"])
        self.alice.deliver(Notice(text="x" * 1000))
        self.assertEqual(len(lines(self.out)), 4)

    def test_one_rendering_for_every_irc_member(self) -> None:
        carol, c_out, _ = registered(self.hub, "carol")
        for session in (self.alice, carol):
            feed(session, "JOIN #lobby")
        self.out.clear()
        c_out.clear()
        self.bob.data_received(b"hello all\n")
        self.assertIs(self.out[0], c_out[0])

    def test_ctcp_only_between_irc_clients(self) -> None:
        carol, c_out, _ = registered(self.hub, "carol")
        self.say("JOIN #lobby")
        feed(carol, "JOIN #lobby")
        c_out.clear()
        self.b_out.clear()
        self.say("PRIVMSG bob :\x01VERSION\x01", "PRIVMSG #lobby :\x01VERSION\x01")
        self.assertEqual(self.b_out, [])
        self.assertEqual(c_out, [])
        self.say("PRIVMSG carol :\x01VERSION\x01")
        self.assertEqual(privmsgs(c_out), [("alice", "carol", "\x01VERSION\x01")])
        self.out.clear()
        feed(carol, "NOTICE alice :\x01VERSION irssi\x01")
        self.assertEqual(
            lines(self.out), [":carol!carol@netsuite NOTICE alice :\x01VERSION irssi\x01"]
        )

    def test_long_message_truncated_on_utf8(self) -> None:
        """A relayed message too long for one line is cut to fit it, never split."""
        self.say("JOIN #lobby")
        self.out.clear()
        long = "é€ab" * 1000  # 4000 characters, 7000 bytes
        self.bob.say(long)
        self.bob.say(long, "action")
        got = privmsgs(self.out)
        self.assertEqual(len(got), 2)
        (_, _, said), (_, _, action) = got
        self.assertTrue(long.startswith(said))
        self.assertTrue(action.startswith("\x01ACTION ") and action.endswith("\x01"))
        self.assertTrue(long.startswith(action[8:-1]))
        for line in b"".join(self.out).split(b"\r\n")[:-1]:
            self.assertLessEqual(len(line) + 2, LINE_MAX)
            self.assertGreater(len(line) + 2, LINE_MAX - 4)  # filled, not wasted

    def test_long_topic_cut_to_fit(self) -> None:
        self.say("JOIN #lobby")
        self.bob.cmd_join("#lobby")
        self.bob.cmd_topic("€" * 300)
        shown = self.say("TOPIC #lobby")  # lines() asserts the 512-byte limit
        self.assertTrue(shown[0].startswith(":netsuite 332 alice #lobby :€€€"))

    def test_line_length(self) -> None:
        """max_line bytes (4096) are accepted, one more gets 417 and the line is dropped."""
        self.say("JOIN #lobby")
        self.b_out.clear()
        head = b"PRIVMSG #lobby :"
        fits = head + "é".encode() * ((4096 - len(head)) // 2)
        self.assertEqual(len(fits), 4096)
        self.assertEqual(
            self.say(fits, fits + b"y"), [":netsuite 417 alice :Input line was too long"]
        )
        self.assertEqual(text(self.b_out), f"[#lobby] <alice> {'é' * 2040}\r\n")
        self.assertEqual(self.closed, [])

    def test_text_too_long_for_the_hub(self) -> None:
        self.say("JOIN #lobby")
        self.hub.text_max = 100  # a hub shared with a door of shorter messages
        self.assertEqual(
            self.say("PRIVMSG #lobby :" + "y" * 101),
            [":netsuite 417 alice :message longer than 100 characters"],
        )

    def test_invalid_utf8_and_controls(self) -> None:
        self.say("JOIN #lobby")
        self.b_out.clear()
        self.say(b"PRIVMSG #lobby :caf\xe9 \x1b[31mred\x07 \x02bold\x02")
        self.assertEqual(text(self.b_out), "[#lobby] <alice> caf\ufffd [31mred bold\r\n")

    def test_flood(self) -> None:
        """Over the rate, lines wait (fake lag); a full queue closes the link."""
        hub = Hub(clock=self.clock.seconds, flood_rate=1, flood_burst=2, flood_queue=3)
        alice, out, closed = registered(hub, "alice")
        bob, b_out, _ = line_session(hub, "bob")
        self.clock.advance(10)  # registration's lines spent tokens: refill
        feed(alice, "JOIN #lobby")
        out.clear()
        feed(alice, *[f"PRIVMSG #lobby :m{i}" for i in range(5)])  # 1 runs, 3 wait, 1 over
        shown = lines(out)
        self.assertEqual(len(shown), 2, shown)
        self.assertTrue(shown[0].startswith(":netsuite NOTICE alice :slow down: your lines"))
        self.assertEqual(shown[1], "ERROR :Closing link: Excess Flood (3 lines queued)")
        self.assertEqual(closed, ["Excess Flood (3 lines queued)"])
        self.assertIn("<alice> m0", text(b_out))
        self.assertIn("<- alice quit (Excess Flood (3 lines queued))", text(b_out))

    def test_same_order_on_both_doors(self) -> None:
        """Messages from both doors reach watchers on both doors in one order."""
        hub = self.hub
        watcher_irc, w_out, _ = registered(hub, "wi")
        watcher_line, wl_out, _ = line_session(hub, "wl")
        feed(self.alice, "JOIN #lobby")
        feed(watcher_irc, "JOIN #lobby")
        w_out.clear()
        wl_out.clear()
        self.out.clear()
        self.b_out.clear()
        sent = []
        for i in range(20):
            if i % 3:
                self.bob.data_received(f"line {i}\n".encode())
                sent.append(("bob", f"line {i}"))
            else:
                feed(self.alice, f"PRIVMSG #lobby :irc {i}")
                sent.append(("alice", f"irc {i}"))
        seen_irc = [(nick, t) for nick, _, t in privmsgs(w_out)]
        seen_line = []
        for shown in text(wl_out).splitlines():
            nick, _, said = shown.removeprefix("[#lobby] <").partition("> ")
            seen_line.append((nick, said))
        self.assertEqual(seen_irc, sent)
        self.assertEqual(seen_line, sent)
        # Each participant sees the other's messages in that order too (IRC: not its own).
        self.assertEqual(
            [(n, t) for n, _, t in privmsgs(self.out)], [m for m in sent if m[0] == "bob"]
        )


class FuzzTests(SynchronousTestCase):
    @settings(max_examples=200, deadline=None, derandomize=True)
    @given(st.lists(st.binary(max_size=60), max_size=8), st.booleans())
    def test_any_bytes_never_raise(self, chunks: list[bytes], bytewise: bool) -> None:
        """Any bytes, whole or a byte at a time: replies within 512 bytes, never an error."""
        hub, _clock = hub_on_clock()
        session, out, _ = irc_session(hub)
        feed(session, "NICK fuzz", "USER f 0 * :f", "JOIN #lobby")
        data = b"\r\n".join(chunks)
        pieces = [data[i : i + 1] for i in range(len(data))] if bytewise else [data]
        for piece in pieces:
            session.data_received(piece)
        session.data_received(b"\r\n")
        for line in b"".join(out).split(b"\r\n")[:-1]:
            self.assertLessEqual(len(line) + 2, LINE_MAX)
        self.assertEqual(self.flushLoggedErrors(), [])

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(
        st.lists(
            st.tuples(
                st.sampled_from(
                    [
                        "NICK",
                        "USER",
                        "JOIN",
                        "PART",
                        "PRIVMSG",
                        "NOTICE",
                        "TOPIC",
                        "NAMES",
                        "WHO",
                        "WHOIS",
                        "LIST",
                        "MODE",
                        "AWAY",
                        "CAP",
                        "PING",
                        "ISON",
                        "USERHOST",
                    ]
                ),
                st.lists(st.text(max_size=12), max_size=4),
                st.text(max_size=40),
            ),
            max_size=12,
        )
    )
    def test_any_commands_never_raise(self, commands: list[tuple[str, list[str], str]]) -> None:
        """Known commands with arbitrary parameters: numerics, never an exception."""
        hub, _clock = hub_on_clock()
        session, out, _ = irc_session(hub)
        line_session(hub, "bob")
        feed(session, "NICK fuzz", "USER f 0 * :f", "JOIN #lobby")
        for command, middle, trailing in commands:
            words = [w for w in (m.replace(" ", "").replace(":", "") for m in middle) if w]
            line = " ".join([command, *words, ":" + trailing]).replace("\n", " ")
            session.data_received(line.encode("utf-8", "surrogatepass") + b"\r\n")
        lines(out)  # every line CRLF-terminated, within 512 bytes, valid UTF-8
        self.assertEqual(self.flushLoggedErrors(), [])


class AdapterTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = ReactorClock()
        self.clock.advance(1000)
        self.hub = Hub(clock=self.clock.seconds)
        self.factory = IRCChatFactory(
            "chat/irc", self.hub, clock=self.clock, ping_interval=90, ping_timeout=60
        )

    def connect(self) -> tuple[object, StringTransport]:
        proto = self.factory.buildProtocol(PEER)
        assert proto is not None
        transport = StringTransport()
        proto.makeConnection(transport)
        return proto, transport

    def test_outbox_carries_replies(self) -> None:
        proto, transport = self.connect()
        proto.dataReceived(b"NICK alice\r\nUSER alice 0 * :Alice\r\nJOIN #lobby\r\n")
        transport.clear()
        proto.outbox.pauseProducing()  # type: ignore[attr-defined]
        line_session(self.hub, "bob")
        proto.dataReceived(b"PING :x\r\n")
        self.assertEqual(transport.value(), b"")
        proto.outbox.resumeProducing()  # type: ignore[attr-defined]
        self.assertEqual(
            transport.value(),
            b":bob!bob@netsuite JOIN #lobby\r\n:netsuite PONG netsuite :x\r\n",
        )
        self.assertEqual(self.factory.counters["accepted"], 1)

    def test_ping_then_timeout(self) -> None:
        proto, transport = self.connect()
        proto.dataReceived(b"NICK alice\r\nUSER alice 0 * :Alice\r\nJOIN #lobby\r\n")
        bob, b_out, _ = line_session(self.hub, "bob")
        transport.clear()
        self.clock.advance(89)
        self.assertEqual(transport.value(), b"")
        self.clock.advance(1)
        self.assertEqual(transport.value(), b"PING :netsuite\r\n")
        transport.clear()
        proto.dataReceived(b"PONG :netsuite\r\n")
        self.clock.advance(60)
        self.assertEqual(transport.value(), b"")
        self.assertFalse(transport.disconnecting)
        self.clock.advance(30)  # 90s since the PONG
        self.assertEqual(transport.value(), b"PING :netsuite\r\n")
        self.clock.advance(59)
        self.assertFalse(transport.disconnecting)
        self.clock.advance(1)
        self.assertEqual(
            transport.value(), b"PING :netsuite\r\nERROR :Closing link: Ping timeout\r\n"
        )
        self.assertTrue(transport.disconnecting)
        self.assertIsNone(self.hub.find("alice"))
        self.assertIn("<- alice quit (Ping timeout)", text(b_out))
        self.assertEqual(self.factory.counters["closed.ping_timeout"], 1)

    def test_input_postpones_ping(self) -> None:
        proto, transport = self.connect()
        self.clock.advance(80)
        proto.dataReceived(b"NICK alice\r\n")
        self.clock.advance(80)
        self.assertEqual(transport.value(), b"")
        self.clock.advance(10)
        self.assertEqual(transport.value(), b"PING :netsuite\r\n")

    def test_unregistered_silent_peer_dropped(self) -> None:
        proto, transport = self.connect()
        self.clock.advance(90)
        self.clock.advance(60)
        self.assertEqual(
            transport.value(), b"PING :netsuite\r\nERROR :Closing link: Ping timeout\r\n"
        )
        self.assertTrue(transport.disconnecting)

    def test_connection_lost_frees_nick_and_timer(self) -> None:
        proto, transport = self.connect()
        proto.dataReceived(b"NICK alice\r\nUSER alice 0 * :Alice\r\n")
        proto.connectionLost(Failure(ConnectionDone()))
        self.assertIsNone(self.hub.find("alice"))
        self.factory.flush_logs()  # the connection lines' batch timer is not the connection's
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.factory.open, set())

    def test_http_request_closed(self) -> None:
        proto, transport = self.connect()
        proto.dataReceived(b"GET / HTTP/1.1\r\nHost: localhost:6667\r\n\r\n")
        self.assertEqual(transport.value(), b"")
        self.assertTrue(transport.disconnecting)

    def test_overlong_line_not_fatal(self) -> None:
        proto, transport = self.connect()
        proto.dataReceived(b"NICK alice\r\nUSER alice 0 * :Alice\r\n")
        transport.clear()
        proto.dataReceived(b"PRIVMSG x :" + b"y" * 5000 + b"\r\nPING :still\r\n")
        self.assertEqual(
            transport.value(),
            b":netsuite 417 alice :Input line was too long\r\n:netsuite PONG netsuite :still\r\n",
        )
        self.assertFalse(transport.disconnecting)


class _Client(irc.IRCClient):
    """Twisted's own IRC client, recording what it is told."""

    nickname = "carol"
    heartbeatInterval = None  # type: ignore[assignment]

    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []

    def signedOn(self) -> None:
        self.events.append(("signedOn",))
        self.join("#lobby")

    def joined(self, channel: str) -> None:
        self.events.append(("joined", channel))

    def privmsg(self, user: str, channel: str, message: str) -> None:
        self.events.append(("privmsg", user, channel, message))

    def action(self, user: str, channel: str, data: str) -> None:
        self.events.append(("action", user, channel, data))


class RealClientTests(SynchronousTestCase):
    def test_twisted_irc_client(self) -> None:
        clock = ReactorClock()
        hub = Hub(clock=clock.seconds)
        factory = IRCChatFactory("chat/irc", hub, clock=clock, password="pw")
        bob, b_out, _ = line_session(hub, "bob")

        def client() -> _Client:
            c = _Client()
            c.password = "pw"
            return c

        carol, server, pump = iosim.connectedServerAndClient(
            lambda: factory.buildProtocol(PEER), client, clock=clock
        )
        pump.flush()
        self.assertEqual(carol.events[:2], [("signedOn",), ("joined", "#lobby")])
        self.assertEqual(carol.supported.getFeature("NETWORK"), "netsuite")
        self.assertIn("[#lobby] -> carol joined", text(b_out))

        bob.data_received(b"hello carol\n/me waves\n")
        pump.flush()
        self.assertEqual(
            carol.events[2:],
            [
                ("privmsg", "bob!bob@netsuite", "#lobby", "hello carol"),
                ("action", "bob!bob@netsuite", "#lobby", "waves"),
            ],
        )
        b_out.clear()
        carol.say("#lobby", "hi bob")
        carol.msg("bob", "psst")
        pump.flush()
        self.assertEqual(text(b_out), "[#lobby] <carol> hi bob\r\n[private] <carol> psst\r\n")

        carol.quit("bye")
        pump.flush()
        self.assertIsNone(hub.find("carol"))
        self.assertIn("<- carol quit (bye)", text(b_out))
