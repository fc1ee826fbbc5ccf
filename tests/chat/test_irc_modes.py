"""
The IRC door's channel operators and modes, numeric by numeric, as the Modern IRC client
protocol document gives them (MODE, KICK, INVITE, JOIN with keys, NAMES/WHO/WHOIS
prefixes, +s), on the sans-IO session and through the adapter on a StringTransport.
"""

from __future__ import annotations

from twisted.internet.task import Clock as ReactorClock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._hub import Hub
from netsuite.chat._irc_door import IRCChatFactory
from netsuite.chat._irc_session import IRCSession
from netsuite.testing import hub_on_clock

from .helpers import line_session
from .test_irc import PEER, feed, lines, registered


class ModesTestCase(SynchronousTestCase):
    """alice (the operator, first in #x) and bob, both on the IRC door."""

    def setUp(self) -> None:
        self.hub, self.clock = hub_on_clock(flood_rate=1000, flood_burst=1000)
        self.alice, self.a_out, _ = registered(self.hub, "alice")
        self.bob, self.b_out, _ = registered(self.hub, "bob")
        feed(self.alice, "JOIN #x")
        feed(self.bob, "JOIN #x")
        self.a_out.clear()
        self.b_out.clear()

    def say(self, session: IRCSession, *text: str) -> list[str]:
        out = self.a_out if session is self.alice else self.b_out
        out.clear()
        feed(session, *text)
        return lines(out)

    def bob_sees(self) -> list[str]:
        seen = lines(self.b_out)
        self.b_out.clear()
        return seen


class ChannelModeTests(ModesTestCase):
    def test_query(self) -> None:
        """324 "<client> <channel> <modestring> <mode arguments>...", then 329."""
        self.say(self.alice, "MODE #x +kl sekrit 10")
        self.assertEqual(
            self.say(self.bob, "MODE #x"),
            [":netsuite 324 bob #x +ntkl sekrit 10", ":netsuite 329 bob #x 1000"],
        )
        carol, c_out, _ = registered(self.hub, "carol")
        feed(carol, "MODE #x")
        self.assertEqual(lines(c_out)[0], ":netsuite 324 carol #x +ntkl * 10")  # no key

    def test_change_is_echoed_to_the_room(self) -> None:
        """The example's shape: ":nick!user@host MODE #room +o nick", to everyone in it."""
        self.assertEqual(
            self.say(self.alice, "MODE #x +ok-t bob sekrit"),
            [":alice!alice@netsuite MODE #x +ok-t bob sekrit"],
        )
        self.assertEqual(self.bob_sees(), [":alice!alice@netsuite MODE #x +ok-t bob sekrit"])
        self.assertEqual(
            self.say(self.alice, "MODE #x -k x"), [":alice!alice@netsuite MODE #x -k *"]
        )

    def test_not_an_operator(self) -> None:
        """482 "<client> <channel> :You're not channel operator"; nothing changes."""
        self.assertEqual(
            self.say(self.bob, "MODE #x +m"), [":netsuite 482 bob #x :You're not channel operator"]
        )
        self.assertEqual(lines(self.a_out), [])

    def test_unknown_mode_first_then_echo(self) -> None:
        """472 "<client> <modechar> :is unknown mode char to me"; then the change (Ergo)."""
        self.assertEqual(
            self.say(self.alice, "MODE #x +zmy"),
            [
                ":netsuite 472 alice z :is unknown mode char to me",
                ":netsuite 472 alice y :is unknown mode char to me",
                ":alice!alice@netsuite MODE #x +m",
            ],
        )

    def test_invalid_parameters_696(self) -> None:
        """696 "<client> <target chan/user> <mode char> <parameter> :<description>"."""
        self.assertEqual(
            self.say(self.alice, "MODE #x +l many"),
            [":netsuite 696 alice #x l many :Invalid limit: a number from 1 to 1000000"],
        )
        got = self.say(self.alice, "MODE #x +k " + "k" * 24)
        self.assertEqual(got[0].split(" ")[1:5], ["696", "alice", "#x", "k"])

    def test_role_for_someone_elsewhere(self) -> None:
        """441 "<client> <nick> <channel> :They aren't on that channel"; 401 for no one."""
        registered(self.hub, "carol")
        self.assertEqual(
            self.say(self.alice, "MODE #x +vo carol zed"),
            [
                ":netsuite 441 alice carol #x :They aren't on that channel",
                ":netsuite 401 alice zed :No such nick/channel",
            ],
        )

    def test_no_such_channel(self) -> None:
        self.assertEqual(
            self.say(self.alice, "MODE #nope +m"), [":netsuite 403 alice #nope :No such channel"]
        )

    def test_ban_list(self) -> None:
        """367 "<client> <channel> <mask> [<who> <set-ts>]" per mask, then 368."""
        self.clock.advance(5)
        self.assertEqual(
            self.say(self.alice, "MODE #x +bb carol *@evil"),
            [":alice!alice@netsuite MODE #x +bb carol!*@* *!*@evil"],
        )
        self.assertEqual(
            self.say(self.bob, "MODE #x b"),
            [
                ":netsuite 367 bob #x carol!*@* alice!alice@netsuite 1005",
                ":netsuite 367 bob #x *!*@evil alice!alice@netsuite 1005",
                ":netsuite 368 bob #x :End of channel ban list",
            ],
        )

    def test_exception_and_invex_lists(self) -> None:
        """348/349 and 346/347."""
        self.say(self.alice, "MODE #x +eI a b")
        self.assertEqual(
            self.say(self.bob, "MODE #x +e", "MODE #x I"),
            [
                ":netsuite 348 bob #x a!*@* alice!alice@netsuite 1000",
                ":netsuite 349 bob #x :End of channel exception list",
                ":netsuite 346 bob #x b!*@* alice!alice@netsuite 1000",
                ":netsuite 347 bob #x :End of Channel Invite Exception List",
            ],
        )

    def test_list_full_478(self) -> None:
        hub, _ = hub_on_clock(max_list=1)
        alice, out, _ = registered(hub, "alice")
        feed(alice, "JOIN #x", "MODE #x +b a")
        out.clear()
        feed(alice, "MODE #x +b b")
        self.assertEqual(lines(out), [":netsuite 478 alice #x b :Channel list is full"])

    def test_max_modes_at_n_and_n_plus_one(self) -> None:
        """MODES=3: three parameter modes are applied, the fourth dropped."""
        hub, _ = hub_on_clock(max_modes=3)
        alice, out, _ = registered(hub, "alice")
        for nick in ("b", "c", "d"):
            registered(hub, nick)[0].handleCommand("JOIN", "", ["#x"])
        feed(alice, "JOIN #x")  # a second room: alice is its operator
        feed(alice, "JOIN #y")
        for nick in ("b", "c", "d"):
            feed(hub.find(nick), "JOIN #y")  # type: ignore[arg-type]
        out.clear()
        feed(alice, "MODE #y +vvv b c d")
        self.assertEqual(lines(out), [":alice!alice@netsuite MODE #y +vvv b c d"])
        out.clear()
        feed(alice, "MODE #y -vvvv b c d alice")
        self.assertEqual(lines(out), [":alice!alice@netsuite MODE #y -vvv b c d"])
        self.assertIn("MODES=3", " ".join(alice.isupport()))

    def test_isupport_follows_the_hub(self) -> None:
        hub, _ = hub_on_clock(max_list=7, max_modes=2)
        session, _, _ = registered(hub, "alice")
        tokens = session.isupport()
        self.assertIn("MAXLIST=b:7,e:7,I:7", tokens)
        self.assertIn("MODES=2", tokens)


class UserModeTests(ModesTestCase):
    def test_own_modes(self) -> None:
        """221 "<client> <user modes>"; changes echoed as MODE; 501 for the unknown."""
        self.assertEqual(
            self.say(
                self.alice, "MODE alice", "MODE alice +w", "MODE alice +w", "MODE alice -i+z"
            ),
            [
                ":netsuite 221 alice +i",
                ":alice MODE alice :+w",
                ":alice MODE alice :-i",
                ":netsuite 501 alice :Unknown MODE flag",
            ],
        )
        self.assertEqual(self.say(self.alice, "MODE alice"), [":netsuite 221 alice +w"])

    def test_others(self) -> None:
        """502 for someone else; 401 for no one."""
        self.assertEqual(
            self.say(self.alice, "MODE bob +i", "MODE zed"),
            [
                ":netsuite 502 alice :Cannot change mode for other users",
                ":netsuite 401 alice zed :No such nick/channel",
            ],
        )


class JoinTests(ModesTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.carol, self.c_out, _ = registered(self.hub, "carol")

    def carol_says(self, *text: str) -> list[str]:
        self.c_out.clear()
        feed(self.carol, *text)
        return lines(self.c_out)

    def test_key_475(self) -> None:
        """475 "<client> <channel> :Cannot join channel (+k)"; the right key gets in."""
        self.say(self.alice, "MODE #x +k sekrit")
        self.assertEqual(
            self.carol_says("JOIN #x", "JOIN #x wrong"),
            [":netsuite 475 carol #x :Cannot join channel (+k)"] * 2,
        )
        self.assertEqual(self.carol_says("JOIN #x sekrit")[0], ":carol!carol@netsuite JOIN #x")

    def test_lists_of_rooms_and_keys(self) -> None:
        """JOIN #a,#b k1,k2: the first key for the first room, the second for the second."""
        self.say(self.alice, "MODE #x +k one", "JOIN #y", "MODE #y +k two", "JOIN #z")
        got = self.carol_says("JOIN #y,#x,#z two,one")
        self.assertEqual(
            [line for line in got if " JOIN " in line],
            [
                ":carol!carol@netsuite JOIN #y",
                ":carol!carol@netsuite JOIN #x",
                ":carol!carol@netsuite JOIN #z",
            ],
        )
        got = self.carol_says("PART #x,#y", "JOIN #x,#y one")
        self.assertEqual(got[-1], ":netsuite 475 carol #y :Cannot join channel (+k)")

    def test_limit_471_at_n_and_n_plus_one(self) -> None:
        self.say(self.alice, "MODE #x +l 3")
        self.assertEqual(self.carol_says("JOIN #x")[0], ":carol!carol@netsuite JOIN #x")
        dave, d_out, _ = registered(self.hub, "dave")
        feed(dave, "JOIN #x")
        self.assertEqual(lines(d_out), [":netsuite 471 dave #x :Cannot join channel (+l)"])

    def test_invite_only_473_and_invite(self) -> None:
        """473; INVITE: 341 "<client> <nick> <channel>" to the inviter, INVITE to the invitee."""
        self.say(self.alice, "MODE #x +i")
        self.assertEqual(
            self.carol_says("JOIN #x"), [":netsuite 473 carol #x :Cannot join channel (+i)"]
        )
        self.assertEqual(
            self.say(self.bob, "INVITE carol #x"),
            [":netsuite 482 bob #x :You're not channel operator"],
        )
        self.assertEqual(self.say(self.alice, "INVITE Carol #X"), [":netsuite 341 alice carol #x"])
        self.assertEqual(self.carol_says(), [])
        self.assertEqual(lines(self.c_out), [])
        self.assertEqual(self.carol_says("INVITE"), [
            ":netsuite 336 carol #x", ":netsuite 337 carol :End of /INVITE list",
        ])  # fmt: skip
        self.assertEqual(self.carol_says("JOIN #x")[0], ":carol!carol@netsuite JOIN #x")
        self.assertEqual(self.bob_sees()[-1], ":carol!carol@netsuite JOIN #x")

    def test_invitee_gets_invite(self) -> None:
        self.c_out.clear()
        self.say(self.alice, "INVITE carol #x")
        self.assertEqual(lines(self.c_out), [":alice!alice@netsuite INVITE carol #x"])
        self.assertEqual(self.bob_sees(), [])  # others are not told

    def test_invite_errors(self) -> None:
        """401, 403, 442, 443 (and 461)."""
        self.assertEqual(
            self.carol_says(
                "INVITE zed #x", "INVITE bob #nope", "INVITE bob #x", "INVITE carol", "JOIN #c"
            ),
            [
                ":netsuite 401 carol zed :No such nick/channel",
                ":netsuite 403 carol #nope :no room #nope",
                ":netsuite 442 carol #x :You're not on that channel",
                ":netsuite 461 carol INVITE :Not enough parameters",
                ":carol!carol@netsuite JOIN #c",
                ":netsuite 353 carol = #c :@carol",
                ":netsuite 366 carol #c :End of /NAMES list",
            ],
        )
        self.assertEqual(
            self.say(self.alice, "INVITE bob #x"),
            [":netsuite 443 alice bob #x :is already on channel"],
        )

    def test_invite_away(self) -> None:
        self.hub.set_away(self.carol, "out")
        self.assertEqual(
            self.say(self.alice, "INVITE carol #x"),
            [":netsuite 341 alice carol #x", ":netsuite 301 alice carol :out"],
        )

    def test_banned_474(self) -> None:
        self.say(self.alice, "MODE #x +b carol")
        self.assertEqual(
            self.carol_says("JOIN #x"), [":netsuite 474 carol #x :Cannot join channel (+b)"]
        )


class TalkTests(ModesTestCase):
    def test_moderated_404(self) -> None:
        """404 "<client> <channel> :Cannot send to channel"; voice lets one speak."""
        self.say(self.alice, "MODE #x +m")
        self.assertEqual(
            self.say(self.bob, "PRIVMSG #x :hi"),
            [":netsuite 404 bob #x :Cannot send to channel (+m)"],
        )
        self.say(self.alice, "MODE #x +v bob")
        self.a_out.clear()
        self.say(self.bob, "PRIVMSG #x :hi")
        self.assertEqual(lines(self.a_out), [":bob!bob@netsuite PRIVMSG #x :hi"])

    def test_topic_lock_482(self) -> None:
        self.assertEqual(
            self.say(self.bob, "TOPIC #x :mine"),
            [":netsuite 482 bob #x :You're not channel operator"],
        )
        self.say(self.alice, "MODE #x -t")
        self.assertEqual(
            self.say(self.bob, "TOPIC #x :mine"), [":bob!bob@netsuite TOPIC #x :mine"]
        )

    def test_outside_messages(self) -> None:
        carol, c_out, _ = registered(self.hub, "carol")
        feed(carol, "PRIVMSG #x :knock")
        self.assertEqual(lines(c_out), [":netsuite 404 carol #x :you are not in #x"])
        self.say(self.alice, "MODE #x -n")
        feed(carol, "PRIVMSG #x :knock")
        self.assertIn(":carol!carol@netsuite PRIVMSG #x :knock", self.bob_sees())


class KickTests(ModesTestCase):
    def test_kick(self) -> None:
        """ ":WiZ!jto@tolsun.oulu.fi KICK #Finnish John" with the comment, to everyone."""
        self.assertEqual(
            self.say(self.alice, "KICK #x bob :Speaking English"),
            [":alice!alice@netsuite KICK #x bob :Speaking English"],
        )
        self.assertEqual(self.bob_sees(), [":alice!alice@netsuite KICK #x bob :Speaking English"])
        self.assertEqual(
            self.say(self.bob, "PRIVMSG #x :hello?"), [":netsuite 404 bob #x :you are not in #x"]
        )

    def test_default_comment_and_several(self) -> None:
        """No comment: the kicker's nick (Ergo); KICK #x a,b is one KICK line each."""
        carol, _, _ = registered(self.hub, "carol")
        feed(carol, "JOIN #x")
        self.assertEqual(
            self.say(self.alice, "KICK #x bob,carol"),
            [
                ":alice!alice@netsuite KICK #x bob :alice",
                ":alice!alice@netsuite KICK #x carol :alice",
            ],
        )

    def test_kick_errors(self) -> None:
        """482, 441, 401, 442, 403, 476, 461."""
        carol, c_out, _ = registered(self.hub, "carol")
        feed(carol, "JOIN #c")
        c_out.clear()
        self.assertEqual(
            self.say(self.bob, "KICK #x alice"),
            [":netsuite 482 bob #x :You're not channel operator"],
        )
        self.assertEqual(
            self.say(
                self.alice, "KICK #x carol,zed", "KICK #c bob", "KICK #nope bob", "KICK x bob",
                "KICK #x",
            ),
            [
                ":netsuite 441 alice carol #x :They aren't on that channel",
                ":netsuite 401 alice zed :No such nick/channel",
                ":netsuite 442 alice #c :You're not on that channel",
                ":netsuite 403 alice #nope :no room #nope",
                ":netsuite 476 alice x :Bad Channel Mask",
                ":netsuite 461 alice KICK :Not enough parameters",
            ],
        )  # fmt: skip

    def test_long_comment_fits_512(self) -> None:
        """A KICK line is at most 512 bytes with its CRLF: the comment is cut, on a character."""
        got = self.say(self.alice, "KICK #x bob :" + "é" * 300)
        self.assertEqual(len(got), 1)
        self.assertLessEqual(len(got[0].encode()) + 2, 512)
        self.assertTrue(got[0].endswith("é"))

    def test_kick_from_the_line_door(self) -> None:
        line, l_out, _ = line_session(self.hub, "dave")
        line.cmd_join("#x")
        self.say(self.alice, "KICK #x dave :out")
        self.assertIn(b"[#x] <- dave was kicked by alice (out)\r\n", b"".join(l_out))


class PrefixAndSecretTests(ModesTestCase):
    def test_names_who_whois_prefixes(self) -> None:
        self.say(self.alice, "MODE #x +v bob")
        self.assertEqual(
            self.say(self.bob, "NAMES #x", "WHO #x", "WHOIS alice"),
            [
                ":netsuite 353 bob = #x :@alice +bob",
                ":netsuite 366 bob #x :End of /NAMES list",
                ":netsuite 352 bob #x alice netsuite netsuite alice H@ :0 Alice Example",
                ":netsuite 352 bob #x bob netsuite netsuite bob H+ :0 Bob Example",
                ":netsuite 315 bob #x :End of /WHO list",
                ":netsuite 311 bob alice alice netsuite * :Alice Example",
                ":netsuite 319 bob alice :@#x",
                ":netsuite 312 bob alice netsuite :netsuite, irc door",
                ":netsuite 317 bob alice 0 1000 :seconds idle, signon time",
                ":netsuite 318 bob alice :End of /WHOIS list",
            ],
        )

    def test_secret_hidden_from_non_members(self) -> None:
        """+s: not in LIST, NAMES (366 only), WHO (315 only), WHOIS 319 of outsiders."""
        self.say(self.alice, "MODE #x +s")
        carol, c_out, _ = registered(self.hub, "carol")
        feed(carol, "LIST", "NAMES #x", "WHO #x", "WHOIS alice", "MODE #x")
        self.assertEqual(
            lines(c_out),
            [
                ":netsuite 321 carol Channel :Users  Name",
                ":netsuite 323 carol :End of /LIST",
                ":netsuite 366 carol #x :End of /NAMES list",
                ":netsuite 315 carol #x :End of /WHO list",
                ":netsuite 311 carol alice alice netsuite * :Alice Example",
                ":netsuite 312 carol alice netsuite :netsuite, irc door",
                ":netsuite 317 carol alice 0 1000 :seconds idle, signon time",
                ":netsuite 318 carol alice :End of /WHOIS list",
                ":netsuite 403 carol #x :No such channel",
            ],
        )
        self.assertIn(":netsuite 353 bob @ #x :@alice bob", self.say(self.bob, "NAMES #x"))
        self.assertIn(":netsuite 322 bob #x 2 :", self.say(self.bob, "LIST"))


class AdapterTests(SynchronousTestCase):
    """The same through the Twisted adapter, on a StringTransport."""

    def test_join_sync_replies_and_kick(self) -> None:
        clock = ReactorClock()
        clock.advance(1000)
        hub = Hub(clock=clock.seconds)
        factory = IRCChatFactory("chat/irc", hub, clock=clock, ping_interval=90, ping_timeout=60)
        protos = []
        for nick in ("alice", "bob"):
            proto = factory.buildProtocol(PEER)
            assert proto is not None
            transport = StringTransport()
            proto.makeConnection(transport)
            proto.dataReceived(f"NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\nJOIN #x\r\n".encode())
            protos.append((proto, transport))
        (alice, a_tr), (bob, b_tr) = protos
        a_tr.clear()
        b_tr.clear()
        bob.dataReceived(b"MODE #x\r\nMODE #x b\r\n")
        self.assertEqual(
            b_tr.value(),
            b":netsuite 324 bob #x +nt\r\n:netsuite 329 bob #x 1000\r\n"
            b":netsuite 368 bob #x :End of channel ban list\r\n",
        )
        b_tr.clear()
        alice.dataReceived(b"MODE #x +m\r\nKICK #x bob :bye\r\n")
        self.assertEqual(
            b_tr.value(),
            b":alice!alice@netsuite MODE #x +m\r\n:alice!alice@netsuite KICK #x bob :bye\r\n",
        )
