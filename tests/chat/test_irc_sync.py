"""
The IRC door's replies that clients wait for (join sync, ISUPPORT, multi-prefix), its
registration edge cases and the one-line rule for relayed messages, numeric by numeric,
as the Modern IRC client protocol document words them (modern.ircdocs.horse).

No sockets: the sans-IO session on a hub with a fixed clock.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._events import Said
from netsuite.chat._irc_render import LINE_MAX, IRCRenderer, truncate_utf8
from netsuite.testing import hub_on_clock

from .helpers import line_session
from .test_irc import feed, irc_session, lines, registered

#: A nick whose mask (nick!nick@netsuite) makes the head of a room PRIVMSG round.
SENDER = "bob"
#: ":bob!bob@netsuite PRIVMSG #lobby :" is 34 bytes; the text may have 512 - 2 - 34.
HEAD = len(f":{SENDER}!{SENDER}@netsuite PRIVMSG #lobby :")
ROOM_TEXT_MAX = LINE_MAX - 2 - HEAD


def said(text: str, kind: str = "say", room: str | None = "#lobby") -> Said:
    target = None if room else "alice"
    return Said(sender=SENDER, text=text, room=room, target=target, kind=kind, when=1000.5)


def one_line(data: bytes) -> bytes:
    """The only line of C{data}, without its CRLF (fails if there are more)."""
    assert data.endswith(b"\r\n"), data[-10:]
    body = data[:-2]
    assert b"\r\n" not in body, "split over lines"
    return body


class ISupportTests(SynchronousTestCase):
    """RPL_MYINFO (004) and RPL_ISUPPORT (005) tell the truth about the door."""

    def setUp(self) -> None:
        self.hub, self.clock = hub_on_clock()

    def welcome(self) -> list[str]:
        session, out, _ = irc_session(self.hub)
        feed(session, "NICK alice", "USER alice 0 * :Alice")
        return lines(out)

    def test_isupport_tokens(self) -> None:
        """
        "<client> <1-13 tokens> :are supported by this server", as many lines as the
        tokens need: the roles (PREFIX), the modes by type (CHANMODES), their limits.
        """
        tokens = []
        for line in [x for x in self.welcome() if x.split(" ")[1] == "005"]:
            head, _, trailing = line.partition(" :")
            self.assertEqual(trailing, "are supported by this server")
            self.assertLessEqual(len(head.split(" ")[3:]), 13)
            tokens += head.split(" ")[3:]
        self.assertEqual(
            tokens,
            [
                "CASEMAPPING=rfc1459",
                "CHANLIMIT=#:",
                "CHANMODES=beI,k,l,Rimnst",
                "CHANNELLEN=50",
                "CHANTYPES=#",
                "CHATHISTORY=100",
                "ELIST=MNU",
                "EXCEPTS=e",
                "INVEX=I",
                "KEYLEN=23",
                "MAXLIST=b:100,e:100,I:100",
                "MODES=6",
                "MONITOR=100",
                "MSGREFTYPES=msgid,timestamp",
                "NETWORK=netsuite",
                "NICKLEN=30",
                "PREFIX=(ov)@+",
                "TARGMAX=JOIN:,KICK:,LIST:,NAMES:,NOTICE:,PART:,PRIVMSG:,TAGMSG:,WHOIS:,WHOWAS:",
                "TOPICLEN=300",
                "USERLEN=30",
            ],
        )

    def test_casemapping_is_how_the_hub_folds(self) -> None:
        """rfc1459: "[]\\~" are the upper case of "{}|^", for nicks and rooms alike."""
        session, _, _ = registered(self.hub, "a[b]c\\d")
        for spelling in ("A{B}C|D", "a[b]c\\d", "A[B]C\\D"):
            self.assertIs(self.hub.find(spelling), session)
        feed(session, "JOIN #x[~]")
        self.assertEqual(self.hub.room_info("#X{^}").name, "#x[~]")

    def test_lengths_are_the_hubs(self) -> None:
        session, out, _ = irc_session(self.hub)
        feed(session, "NICK " + "n" * 31)  # NICKLEN=30: one more is refused
        self.assertEqual(lines(out)[0].split(" ")[1], "432")
        session, out, _ = registered(self.hub, "n" * 30)
        feed(session, "JOIN #" + "r" * 50)  # CHANNELLEN=50: 51 with the #
        self.assertEqual(lines(out)[0].split(" ")[1], "476")  # Bad Channel Mask

    def test_myinfo(self) -> None:
        """ "<client> <servername> <version> <user modes> <channel modes> [<with a parameter>]"."""
        (line,) = [x for x in self.welcome() if x.split(" ")[1] == "004"]
        words = line.split(" ")
        self.assertEqual(words[:4], [":netsuite", "004", "alice", "netsuite"])
        self.assertEqual(words[5:], ["iow", "IRbeiklmnostv", "Ibeklov"])


class JoinSyncTests(SynchronousTestCase):
    """What irssi asks after a JOIN, and waits for before it calls the join synced."""

    def setUp(self) -> None:
        self.hub, self.clock = hub_on_clock(flood_rate=100, flood_burst=100)
        self.alice, self.out, _ = registered(self.hub, "alice")

    def say(self, *lines_: str) -> list[str]:
        self.out.clear()
        feed(self.alice, *lines_)
        return lines(self.out)

    def test_join_mode_ban_list_who_in_order(self) -> None:
        """
        The exact sequence irssi's JOIN, MODE #x, MODE #x b, WHO #x get. After the JOIN
        echo, Modern IRC wants the topic (332), "and no message if the channel does not
        have a topic", then 353 and 366.
        """
        self.clock.advance(234.9)  # the room is created now: 1234
        self.assertEqual(
            self.say("JOIN #x", "MODE #x", "MODE #x b", "WHO #x"),
            [
                ":alice!alice@netsuite JOIN #x",
                ":netsuite 353 alice = #x :@alice",
                ":netsuite 366 alice #x :End of /NAMES list",
                ":netsuite 324 alice #x +nt",
                ":netsuite 329 alice #x 1234",
                ":netsuite 368 alice #x :End of channel ban list",
                ":netsuite 352 alice #x alice netsuite netsuite alice H@ :0 Alice Example",
                ":netsuite 315 alice #x :End of /WHO list",
            ],
        )

    def test_creation_time_is_the_rooms(self) -> None:
        """RPL_CREATIONTIME: "<client> <channel> <creationtime>", when it was created."""
        self.say("JOIN #x")
        self.clock.advance(60)
        bob, _ = line_session(self.hub, "bob")[:2]
        bob.cmd_join("#x")
        self.assertEqual(self.say("MODE #X")[1], ":netsuite 329 alice #x 1000")
        self.assertEqual(self.hub.room_info("#x").created, 1000)

    def test_list_modes_are_empty(self) -> None:
        """368, 349, 347 as "<client> <channel> :End of ...", with or without "+"."""
        self.say("JOIN #x")
        self.assertEqual(
            self.say("MODE #x b", "MODE #x +b", "MODE #x e", "MODE #x I"),
            [
                ":netsuite 368 alice #x :End of channel ban list",
                ":netsuite 368 alice #x :End of channel ban list",
                ":netsuite 349 alice #x :End of channel exception list",
                ":netsuite 347 alice #x :End of Channel Invite Exception List",
            ],
        )

    def test_mode_changes(self) -> None:
        """The first member is the operator: changes are echoed, only those that change."""
        self.say("JOIN #x")
        self.assertEqual(
            self.say("MODE #x +n", "MODE #x -n", "MODE #x +t", "MODE #x +b *!*@*"),
            [
                ":alice!alice@netsuite MODE #x -n",
                ":alice!alice@netsuite MODE #x +b *!*@*",
            ],
        )

    def test_who_flags(self) -> None:
        """352: H here, G gone, then the prefix (@ the operator); "*" only for IRC opers."""
        self.say("JOIN #x")
        bob, _ = line_session(self.hub, "bob")[:2]
        bob.cmd_join("#x")
        self.hub.set_away(bob, "lunch")
        self.assertEqual(
            self.say("WHO #x"),
            [
                ":netsuite 352 alice #x alice netsuite netsuite alice H@ :0 Alice Example",
                ":netsuite 352 alice #x bob netsuite netsuite bob G :0 via the line door",
                ":netsuite 315 alice #x :End of /WHO list",
            ],
        )


class MultiPrefixTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.hub, self.clock = hub_on_clock(flood_rate=100, flood_burst=100)

    def test_cap_ls_302_and_req(self) -> None:
        """LS 302 lists values (none of ours has one); REQ multi-prefix is ACKed."""
        session, out, _ = irc_session(self.hub)
        feed(session, "CAP LS 302", "CAP REQ :multi-prefix", "CAP LIST")
        self.assertEqual(
            lines(out)[1:],
            [
                ":netsuite CAP * ACK :multi-prefix",
                ":netsuite CAP * LIST :cap-notify multi-prefix",
            ],
        )
        self.assertEqual(session.caps, {"cap-notify", "multi-prefix"})
        out.clear()
        feed(session, "CAP REQ :multi-prefix server-time", "CAP REQ :-multi-prefix")
        self.assertEqual(
            lines(out),
            [
                ":netsuite CAP * ACK :multi-prefix server-time",
                ":netsuite CAP * ACK :-multi-prefix",
            ],
        )
        self.assertEqual(session.caps, {"cap-notify", "server-time"})

    def test_names_and_who_with_multi_prefix(self) -> None:
        """Every prefix with the capability (@+), the highest without it (@)."""
        session, out, _ = irc_session(self.hub)
        feed(session, "CAP REQ multi-prefix", "NICK carol", "USER c 0 * :Carol", "CAP END")
        plain, plain_out, _ = registered(self.hub, "dave")
        bob, _ = line_session(self.hub, "bob")[:2]
        bob.cmd_join("#x")
        bob.cmd_voice("bob")
        out.clear()
        feed(session, "JOIN #x", "NAMES #x", "WHO #x", "WHOIS bob")
        shown = lines(out)
        self.assertIn(":netsuite 353 carol = #x :@+bob carol", shown)
        self.assertIn(
            ":netsuite 352 carol #x bob netsuite netsuite bob H@+ :0 via the line door", shown
        )
        self.assertIn(":netsuite 319 carol bob :@#lobby @+#x", shown)
        feed(plain, "JOIN #x", "WHOIS bob")
        self.assertIn(":netsuite 353 dave = #x :@bob carol dave", lines(plain_out))
        self.assertIn(":netsuite 319 dave bob :@#lobby @#x", lines(plain_out))


class RegistrationEdgeTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.hub, self.clock = hub_on_clock()

    def test_empty_realname(self) -> None:
        """USER with an empty <realname> is ERR_NEEDMOREPARAMS (Modern IRC, USER)."""
        session, out, _ = irc_session(self.hub)
        feed(session, "NICK alice", "USER alice 0 * :")
        self.assertEqual(lines(out), [":netsuite 461 * USER :Not enough parameters"])
        self.assertFalse(session.registered)
        out.clear()
        feed(session, "USER alice 0 * :Alice")  # the client tries again: in
        self.assertTrue(session.registered)

    def test_realname_with_spaces(self) -> None:
        """The spec's example: "USER guest 0 * :Ronnie Reagan"."""
        session, out, _ = irc_session(self.hub)
        feed(session, "NICK guest", "USER guest 0 * :Ronnie Reagan")
        self.assertTrue(session.registered)
        self.assertEqual(session.realname, "Ronnie Reagan")


class TruncationTests(SynchronousTestCase):
    """A relayed message that would pass 512 bytes is one line, cut, never split."""

    def setUp(self) -> None:
        self.render = IRCRenderer("netsuite")

    def test_exactly_512_bytes_is_whole(self) -> None:
        text = "a" * ROOM_TEXT_MAX
        line = one_line(self.render(said(text)))
        self.assertEqual(len(line) + 2, LINE_MAX)
        self.assertTrue(line.endswith(b" :" + text.encode()))

    def test_513_bytes_loses_one(self) -> None:
        text = "a" * (ROOM_TEXT_MAX + 1)
        line = one_line(self.render(said(text)))
        self.assertEqual(len(line) + 2, LINE_MAX)
        self.assertTrue(line.endswith(b" :" + text[:-1].encode()))

    def test_multibyte_character_at_the_boundary(self) -> None:
        """A 3-byte "€" straddling byte 512 goes whole; the line is shorter, valid UTF-8."""
        for before in (ROOM_TEXT_MAX - 1, ROOM_TEXT_MAX - 2):  # 1 or 2 of its 3 bytes fit
            text = "a" * before + "€" + "b" * 10
            line = one_line(self.render(said(text)))
            self.assertEqual(line.decode("utf-8").rpartition(" :")[2], "a" * before)
        text = "a" * (ROOM_TEXT_MAX - 3) + "€" + "b"  # the € just fits
        line = one_line(self.render(said(text)))
        self.assertEqual(len(line) + 2, LINE_MAX)
        self.assertTrue(line.decode("utf-8").endswith("a€"))

    def test_action_and_notice_and_private(self) -> None:
        long = "é" * 600
        for event, command in (
            (said(long, "action"), b"PRIVMSG"),
            (said(long, "notice"), b"NOTICE"),
            (said(long, room=None), b"PRIVMSG"),
        ):
            line = one_line(self.render(event))
            self.assertEqual(line.split(b" ")[1], command)
            self.assertLessEqual(len(line) + 2, LINE_MAX)
            self.assertGreaterEqual(len(line) + 2, LINE_MAX - 1)  # é is 2 bytes
            if event.kind == "action":
                self.assertTrue(line.endswith(b"\x01"))
                self.assertIn(b" :\x01ACTION \xc3\xa9", line)
            line.decode("utf-8")

    def test_tags_do_not_count(self) -> None:
        """IRCv3: the 512 bytes are the message's, the @time tag is on top."""
        text = "a" * ROOM_TEXT_MAX
        line = one_line(self.render.timed(said(text)))
        tags, _, rest = line.partition(b" ")
        self.assertEqual(tags, b"@time=1970-01-01T00:16:40.500Z")
        self.assertEqual(len(rest) + 2, LINE_MAX)

    def test_truncate_utf8(self) -> None:
        data = "a€".encode()  # 1 + 3 bytes
        self.assertEqual(
            [truncate_utf8(data, n) for n in range(6)],
            [b"", b"a", b"a", b"a", data, data],
        )

    def test_through_the_hub(self) -> None:
        """A line-door member's long message reaches an IRC member as one line."""
        hub, _ = hub_on_clock(flood_rate=100, flood_burst=100)
        alice, out, _ = registered(hub, "alice")
        feed(alice, "JOIN #lobby")
        bob, _ = line_session(hub, SENDER)[:2]
        bob.cmd_join("#lobby")
        out.clear()
        bob.say("x" * 3000)
        self.assertEqual(len(lines(out)), 1)
