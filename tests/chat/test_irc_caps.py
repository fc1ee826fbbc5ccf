"""
The IRC door's IRCv3 capabilities, one test class per capability, in the sans-IO
session. Where a specification (ircv3.net/irc) gives examples, the tests replay them,
with the specification's nicks, labels and tags and our server's name and masks.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._events import Said
from netsuite.chat._irc_caps import CAPABILITIES, cap_lines, render_flags
from netsuite.chat._irc_render import IRCRenderer
from netsuite.chat._irc_session import IRCSession
from netsuite.chat._irc_tags import (
    CLIENT_TAGS_MAX,
    escape_value,
    labeled,
    read_tags,
    unescape_value,
    with_tags,
)
from netsuite.testing import hub_on_clock

from .helpers import line_session
from .test_irc import feed, irc_session, lines

#: 2023-11-14T22:13:20.250Z, a time every test can write down.
NOW = 1700000000.25


def negotiated(hub, nick: str, *caps: str, **kw):  # type: ignore[no-untyped-def]
    """A session registered after CAP LS 302 and CAP REQ of C{caps}; output cleared."""
    session, out, closed = irc_session(hub, **kw)
    feed(session, "CAP LS 302", f"NICK {nick}", f"USER {nick} 0 * :{nick.title()} Real")
    if caps:
        feed(session, "CAP REQ :" + " ".join(caps))
    feed(session, "CAP END")
    assert session.registered, lines(out)
    assert set(caps) <= session.caps, lines(out)
    out.clear()
    return session, out, closed


class CapCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.hub, self.clock = hub_on_clock(start=NOW, flood_rate=100, flood_burst=100)


class CapNegotiationTests(CapCase):
    """Client Capability Negotiation, its own examples."""

    def test_ls_302_then_req_then_end(self) -> None:
        session, out, _ = irc_session(self.hub)
        feed(session, "CAP LS 302", "NICK dan", "USER d * 0 :This is a really good name")
        offered = [f"{k}={v}" if v else k for k, v in sorted(CAPABILITIES.items())]
        self.assertEqual(lines(out), [":netsuite CAP * LS :" + " ".join(offered)])
        self.assertFalse(session.registered)
        feed(session, "CAP REQ :multi-prefix")
        self.assertEqual(lines(out)[-1], ":netsuite CAP * ACK :multi-prefix")
        feed(session, "CAP END")
        self.assertTrue(session.registered)
        self.assertEqual(lines(out)[2], ":netsuite 001 dan :Welcome to the netsuite IRC network "
                                        "dan!dan@netsuite")  # fmt: skip

    def test_req_without_ls(self) -> None:
        session, out, _ = irc_session(self.hub)
        feed(session, "CAP REQ multi-prefix", "NICK dan", "USER d * 0 :name")
        self.assertEqual(lines(out), [":netsuite CAP * ACK :multi-prefix"])
        self.assertFalse(session.registered)  # REQ holds registration too
        feed(session, "CAP END")
        self.assertTrue(session.registered)

    def test_no_negotiation(self) -> None:
        session, out, _ = irc_session(self.hub)
        feed(session, "NICK dan", "USER d * 0 :This is a really good name")
        self.assertTrue(session.registered)
        self.assertEqual(session.caps, set())

    def test_invalid_subcommand_before_and_after_nick(self) -> None:
        session, out, _ = irc_session(self.hub)
        feed(session, "CAP FOO")
        self.assertEqual(lines(out), [":netsuite 410 * FOO :Invalid CAP command"])
        out.clear()
        feed(session, "NICK jw", "USER jw 0 * :jw", "CAP FOO")
        self.assertEqual(lines(out)[-1], ":netsuite 410 jw FOO :Invalid CAP command")

    def test_list_empty_and_nak_is_all_or_nothing(self) -> None:
        session, out, _ = irc_session(self.hub)
        feed(session, "CAP LS", "CAP LIST", "CAP REQ :multi-prefix sasl ex3")
        self.assertEqual(
            lines(out)[1:],
            [":netsuite CAP * LIST :", ":netsuite CAP * NAK :multi-prefix sasl ex3"],
        )
        self.assertEqual(session.caps, set())  # NAK: nothing changed, not even multi-prefix

    def test_disable(self) -> None:
        session, out, _ = irc_session(self.hub)
        feed(session, "CAP REQ :userhost-in-names", "CAP REQ :-userhost-in-names")
        self.assertEqual(lines(out)[-1], ":netsuite CAP * ACK :-userhost-in-names")
        self.assertEqual(session.caps, set())

    def test_302_implies_cap_notify_for_good(self) -> None:
        """cap-notify comes with 302, a later plain LS keeps it, and it cannot be refused."""
        session, out, _ = irc_session(self.hub)
        feed(session, "CAP LS 302", "CAP LS", "CAP REQ :-cap-notify", "CAP LIST")
        self.assertEqual(
            lines(out)[2:],
            [":netsuite CAP * NAK :-cap-notify", ":netsuite CAP * LIST :cap-notify"],
        )
        self.assertEqual(session.cap_version, 302)
        plain, out2, _ = irc_session(self.hub)
        feed(plain, "CAP LS", "CAP REQ :cap-notify -cap-notify")  # no 302: it may go
        self.assertEqual(lines(out2)[-1], ":netsuite CAP * ACK :cap-notify -cap-notify")

    def test_higher_version_is_302(self) -> None:
        session, out, _ = irc_session(self.hub)
        feed(session, "CAP LS 307")
        self.assertEqual(session.cap_version, 307)
        self.assertIn("cap-notify", session.caps)

    def test_end_after_registration_is_ignored(self) -> None:
        session, out, _ = negotiated(self.hub, "dan")
        feed(session, "CAP END")
        self.assertEqual(lines(out), [])

    def test_cap_with_nothing(self) -> None:
        session, out, _ = irc_session(self.hub)
        feed(session, "CAP")
        self.assertEqual(lines(out), [":netsuite 461 * CAP :Not enough parameters"])


class CapLinesTests(SynchronousTestCase):
    """CAP LS 302's values and multiline replies (the specification's own example)."""

    WORDS = [
        *("multi-prefix", "extended-join", "account-notify", "batch", "invite-notify", "tls"),
        *("cap-notify", "server-time", "example.org/dummy-cap=dummyvalue"),
        *("example.org/second-dummy-cap", "userhost-in-names"),
        "sasl=EXTERNAL,DH-AES,DH-BLOWFISH,ECDSA-NIST256P-CHALLENGE,PLAIN",
    ]

    def test_one_line_when_it_fits(self) -> None:
        self.assertEqual(
            cap_lines("irc", "*", "LS", ["a", "b=1"], multiline=True), [":irc CAP * LS :a b=1"]
        )

    def test_split_with_star_on_all_but_last(self) -> None:
        got = cap_lines("irc", "*", "LS", self.WORDS, multiline=True, budget=100)
        self.assertGreater(len(got), 2)
        for line in got[:-1]:
            self.assertTrue(line.startswith(":irc CAP * LS * :"), line)
            self.assertLessEqual(len(line.encode()), 100)
        self.assertTrue(got[-1].startswith(":irc CAP * LS :"))
        words = [w for line in got for w in line.partition(" :")[2].split()]
        self.assertEqual(words, self.WORDS)  # in order, none lost, none cut

    def test_budget_boundary(self) -> None:
        head = len(":irc CAP * LS * :")
        exact = cap_lines("irc", "*", "LS", ["aaaa", "bbbb"], multiline=True, budget=head + 9)
        self.assertEqual(exact, [":irc CAP * LS :aaaa bbbb"])  # 9 bytes: both on one line
        over = cap_lines("irc", "*", "LS", ["aaaa", "bbbb"], multiline=True, budget=head + 8)
        self.assertEqual(over, [":irc CAP * LS * :aaaa", ":irc CAP * LS :bbbb"])

    def test_empty_and_not_multiline(self) -> None:
        self.assertEqual(cap_lines("irc", "x", "LIST", [], multiline=True), [":irc CAP x LIST :"])
        one = cap_lines("irc", "*", "LS", self.WORDS, multiline=False, budget=100)
        self.assertEqual(len(one), 1)  # a client before 302 cannot read continuations

    def test_values_only_for_302(self) -> None:
        """A value is shown (C{name=value}) to a 302 client, never to another."""
        hub, _ = hub_on_clock()

        class Valued(IRCSession):
            offered = {**CAPABILITIES, "example.org/x": "1,2"}

        out: list[bytes] = []
        session = Valued(hub, out.append, lambda reason: None)
        feed(session, "CAP LS 302", "CAP LS")
        new, old = lines(out)
        self.assertIn(" example.org/x=1,2 ", new + " ")
        self.assertIn(" example.org/x ", old + " ")
        self.assertNotIn("=", old.partition(" :")[2])


class MessageTagsTests(CapCase):
    """message-tags: msgid, client-only tags, TAGMSG, the size limit, escaping."""

    def setUp(self) -> None:
        super().setUp()
        self.c1, self.out1, _ = negotiated(self.hub, "nick", "message-tags", "echo-message",
                                           "labeled-response", "batch")  # fmt: skip
        self.c2, self.out2, _ = negotiated(self.hub, "c2", "message-tags")
        self.plain, self.out3, _ = negotiated(self.hub, "plain")
        for s in (self.c1, self.c2, self.plain):
            feed(s, "JOIN #channel")
        for out in (self.out1, self.out2, self.out3):
            out.clear()

    def test_escaping_example(self) -> None:
        raw = "raw+:=,escaped; \\"
        self.assertEqual(escape_value(raw), "raw+:=,escaped\\:\\s\\\\")
        self.assertEqual(unescape_value("raw+:=,escaped\\:\\s\\\\"), raw)
        self.assertEqual(unescape_value("test\\"), "test")  # a lone backslash at the end
        self.assertEqual(unescape_value("a\\b"), "ab")

    def test_read_tags(self) -> None:
        tags = read_tags("label=123;+example-client-tag=example-value;unknown-tag;+a=1;+a=2")
        self.assertEqual(tags.label, "123")
        self.assertEqual(tags.client, "+example-client-tag=example-value;+a=2")
        self.assertEqual(read_tags("+bad key;+ok;=x;+v.example/t=1").client, "+ok;+v.example/t=1")
        self.assertEqual(read_tags("label=" + "x" * 65).label, "")  # over 64 bytes: ignored
        self.assertEqual(read_tags("label=" + "x" * 64).label, "x" * 64)

    def test_tagmsg_example_with_label_and_echo(self) -> None:
        """The specification's TAGMSG example: labeled echo to C1, plain relay to C2."""
        feed(self.c1, "@label=123;+example-client-tag=example-value TAGMSG #channel")
        (echo,) = lines(self.out1)
        (relayed,) = lines(self.out2)
        tags, _, rest = relayed.partition(" ")
        self.assertEqual(rest, ":nick!nick@netsuite TAGMSG #channel")
        msgid = dict(t.partition("=")[::2] for t in tags[1:].split(";"))["msgid"]
        self.assertEqual(
            relayed,
            f"@msgid={msgid};+example-client-tag=example-value "
            ":nick!nick@netsuite TAGMSG #channel",
        )
        self.assertEqual(echo, "@label=123;" + relayed[1:])
        self.assertEqual(lines(self.out3), [])  # never to a client without message-tags

    def test_tagmsg_unknown_tag_removed(self) -> None:
        """Only client-only tags are relayed; with none left there is nothing to send."""
        feed(self.c2, "@unknown-tag;+typing=active TAGMSG #channel")
        (line,) = lines(self.out1)
        self.assertNotIn("unknown-tag", line)
        self.assertIn(";+typing=active :c2!c2@netsuite TAGMSG #channel", line)
        self.out1.clear()
        feed(self.c2, "@unknown-tag TAGMSG #channel")
        self.assertEqual(lines(self.out1), [])

    def test_tagmsg_to_a_nick_and_errors(self) -> None:
        feed(self.c1, "@+typing=active TAGMSG c2")
        self.assertTrue(lines(self.out2)[0].endswith(":nick!nick@netsuite TAGMSG c2"))
        self.assertEqual(len(lines(self.out1)), 1)  # the echo
        self.out1.clear()
        feed(self.c1, "@+typing=active TAGMSG nobody", "@+x TAGMSG #elsewhere", "TAGMSG")
        self.assertEqual(
            lines(self.out1),
            [
                ":netsuite 401 nick nobody :No such nick/channel",
                ":netsuite 403 nick #elsewhere :no room #elsewhere",
                ":netsuite 461 nick TAGMSG :Not enough parameters",
            ],
        )

    def test_client_tags_relayed_on_privmsg(self) -> None:
        """The +icon example: relayed as sent, after the server's tags, to message-tags only."""
        feed(self.c2, "@+icon=https://example.com/favicon.png PRIVMSG #channel :Example.com")
        (line,) = lines(self.out1)
        self.assertRegex(
            line,
            r"^@msgid=\d+;\+icon=https://example.com/favicon.png "
            r":c2!c2@netsuite PRIVMSG #channel :Example.com$",
        )
        self.assertEqual(lines(self.out3), [":c2!c2@netsuite PRIVMSG #channel :Example.com"])

    def test_msgid_same_for_every_recipient_and_from_mid(self) -> None:
        bob, _, _ = line_session(self.hub, "bob")
        bob.cmd_join("#channel")
        self.out1.clear()
        self.out2.clear()
        said = self.hub.say(bob, "#channel", "hi")
        expected = f"@msgid={said.seq} :bob!bob@netsuite PRIVMSG #channel :hi"
        self.assertEqual(lines(self.out1), [expected])
        self.assertIs(self.out1[0], self.out2[0])  # one rendering, shared
        event = Said(sender="bob", text="x", room="#channel", seq=7, mid="1700-0-abc")
        self.c2.deliver(event)
        self.assertEqual(lines(self.out2)[-1], "@msgid=1700-0-abc :bob!bob@netsuite PRIVMSG "
                                               "#channel :x")  # fmt: skip

    def test_tag_data_limit(self) -> None:
        """4094 bytes of tag data are accepted; 4095 get 417 and the line is dropped."""
        big = IRCSession(self.hub, self.out2.append, lambda r: None, max_line=10000)
        feed(big, "NICK big", "USER big 0 * :big", "JOIN #channel")
        self.out2.clear()
        tag = "+x=" + "y" * (CLIENT_TAGS_MAX - 3)
        feed(big, f"@{tag} PRIVMSG #channel :fits", f"@{tag}y PRIVMSG #channel :over")
        self.assertEqual(lines(self.out2)[-1], ":netsuite 417 big :Input line was too long")
        self.assertIn(":big!big@netsuite PRIVMSG #channel :fits", lines(self.out2)[0])
        self.assertEqual(len(lines(self.out2)), 2)

    def test_with_tags(self) -> None:
        self.assertEqual(with_tags(b":a B", "x=1"), b"@x=1 :a B")
        self.assertEqual(with_tags(b"@y :a B", "x=1"), b"@x=1;y :a B")
        self.assertEqual(with_tags(b":a B", ""), b":a B")


class EchoMessageTests(CapCase):
    """echo-message: the sender gets its own PRIVMSG and NOTICE back, as relayed."""

    def test_room_and_private(self) -> None:
        alice, out, _ = negotiated(self.hub, "alice", "echo-message")
        carol, c_out, _ = negotiated(self.hub, "carol")
        feed(alice, "JOIN #a")
        feed(carol, "JOIN #a")
        out.clear()
        feed(alice, "PRIVMSG #a :hello", "NOTICE carol :psst", "PRIVMSG alice :me")
        self.assertEqual(
            lines(out),
            [
                ":alice!alice@netsuite PRIVMSG #a :hello",
                ":alice!alice@netsuite NOTICE carol :psst",
                ":alice!alice@netsuite PRIVMSG alice :me",  # the echo
                ":alice!alice@netsuite PRIVMSG alice :me",  # the delivery
            ],
        )
        c_out.clear()
        feed(carol, "PRIVMSG #a :no echo for carol")
        self.assertEqual(lines(c_out), [])

    def test_labeled_echo_example(self) -> None:
        """labeled-response's echo-message example (our scrub keeps the formatting)."""
        alice, out, _ = negotiated(self.hub, "nick", "echo-message", "labeled-response", "batch")
        feed(alice, "JOIN #channel")
        out.clear()
        feed(alice, "@label=pQraCjj82e PRIVMSG #channel :Hello!")
        self.assertEqual(
            lines(out), ["@label=pQraCjj82e :nick!nick@netsuite PRIVMSG #channel :Hello!"]
        )


class LabeledResponseTests(CapCase):
    """labeled-response, its own examples."""

    def setUp(self) -> None:
        super().setUp()
        self.s, self.out, _ = negotiated(self.hub, "client", "labeled-response", "batch")

    def test_error_example(self) -> None:
        feed(self.s, "@label=dc11f13f11 PRIVMSG nick :Hello")
        self.assertEqual(
            lines(self.out), ["@label=dc11f13f11 :netsuite 401 client nick :No such nick/channel"]
        )

    def test_whois_batch_example(self) -> None:
        negotiated(self.hub, "nick")
        feed(self.s, "@label=mGhe5V7RTV WHOIS nick")
        got = lines(self.out)
        self.assertEqual(got[0], "@label=mGhe5V7RTV :netsuite BATCH +1 labeled-response")
        self.assertEqual(got[1], "@batch=1 :netsuite 311 client nick nick netsuite * :Nick Real")
        self.assertEqual(got[-2], "@batch=1 :netsuite 318 client nick :End of /WHOIS list")
        self.assertEqual(got[-1], ":netsuite BATCH -1")
        for line in got[1:-1]:
            self.assertTrue(line.startswith("@batch=1 "), line)

    def test_ack_example(self) -> None:
        feed(self.s, "@label=abc PONG :foobar")
        self.assertEqual(lines(self.out), ["@label=abc :netsuite ACK"])

    def test_labeled_join_is_one_batch_and_ids_differ(self) -> None:
        feed(self.s, "@label=j1 JOIN #a", "@label=j2 JOIN #b")
        got = lines(self.out)
        self.assertEqual(got[0], "@label=j1 :netsuite BATCH +1 labeled-response")
        self.assertIn("@batch=1 :client!client@netsuite JOIN #a", got)
        self.assertIn("@label=j2 :netsuite BATCH +2 labeled-response", got)
        self.assertEqual(got[-1], ":netsuite BATCH -2")

    def test_server_tags_kept_inside_the_batch(self) -> None:
        feed(self.s, "CAP REQ :server-time message-tags echo-message", "JOIN #a")
        self.out.clear()
        feed(self.s, "@label=m PRIVMSG #a :hi")
        (line,) = lines(self.out)
        self.assertRegex(line, r"^@label=m;time=2023-11-14T22:13:20\.250Z;msgid=\d+ :client!")

    def test_needs_batch_too(self) -> None:
        """Without batch, labeled-response cannot be used: the label is not answered."""
        s, out, _ = negotiated(self.hub, "other", "labeled-response")
        feed(s, "@label=abc PONG :foobar")
        self.assertEqual(lines(out), [])

    def test_labeled_quit(self) -> None:
        closed: list[str] = []
        s, out, _ = negotiated(self.hub, "q", "labeled-response", "batch")
        s.close = closed.append
        feed(s, "@label=bye QUIT :gone")
        self.assertEqual(lines(out), ["@label=bye ERROR :Closing link: gone"])
        self.assertEqual(closed, ["gone"])

    def test_no_label_no_capture(self) -> None:
        s, out, _ = negotiated(self.hub, "unlabeled")
        feed(s, "@label=abc PING x")
        self.assertEqual(lines(out), [":netsuite PONG netsuite :x"])

    def test_labeled_helper(self) -> None:
        self.assertEqual(labeled("l", b"", "srv", "b"), b"@label=l :srv ACK\r\n")
        self.assertEqual(labeled("l", b":srv X\r\n", "srv", "b"), b"@label=l :srv X\r\n")


class ServerTimeTests(CapCase):
    def test_time_on_live_and_replayed_messages(self) -> None:
        """server-time's format; live messages carry it too (as Ergo does)."""
        alice, out, _ = negotiated(self.hub, "Angel", "server-time")
        wiz, _, _ = negotiated(self.hub, "Wiz")
        feed(wiz, "PRIVMSG Angel :Hello")
        self.assertEqual(lines(out), ["@time=2023-11-14T22:13:20.250Z :Wiz!Wiz@netsuite PRIVMSG "
                                      "Angel :Hello"])  # fmt: skip

    def test_not_before_ack(self) -> None:
        s, out, _ = negotiated(self.hub, "a")
        w, _, _ = negotiated(self.hub, "w")
        feed(w, "PRIVMSG a :x")
        self.assertFalse(lines(out)[0].startswith("@"))


class ExtendedJoinTests(CapCase):
    def test_join_with_account_and_realname(self) -> None:
        s, out, _ = negotiated(self.hub, "nick", "extended-join")
        other, _, _ = negotiated(self.hub, "other")
        other.identity = "accountname"  # a verified certificate's name is the account
        feed(s, "JOIN #channel")
        feed(other, "JOIN #channel")
        bob, _, _ = line_session(self.hub, "bob")
        bob.cmd_join("#channel")
        joins = [line for line in lines(out) if " JOIN " in line]
        self.assertEqual(
            joins,
            [
                ":nick!nick@netsuite JOIN #channel * :Nick Real",
                ":other!other@netsuite JOIN #channel accountname :Other Real",
                ":bob!bob@netsuite JOIN #channel * :via the line door",
            ],
        )

    def test_plain_join_without_it(self) -> None:
        s, out, _ = negotiated(self.hub, "nick")
        feed(s, "JOIN #channel")
        self.assertEqual(lines(out)[0], ":nick!nick@netsuite JOIN #channel")


class UserhostInNamesTests(CapCase):
    def test_names_with_masks(self) -> None:
        s, out, _ = negotiated(self.hub, "nick", "userhost-in-names")
        other, _, _ = negotiated(self.hub, "other")
        feed(other, "JOIN #channel")
        feed(s, "JOIN #channel")
        self.assertIn(
            ":netsuite 353 nick = #channel :@other!other@netsuite nick!nick@netsuite", lines(out)
        )
        out.clear()
        feed(s, "CAP REQ :-userhost-in-names", "NAMES #channel")
        self.assertIn(":netsuite 353 nick = #channel :@other nick", lines(out))


class StandardRepliesTests(CapCase):
    def test_flood_refusal_is_a_fail(self) -> None:
        """A refusal with no numeric is a FAIL for standard-replies clients, else a NOTICE."""
        from netsuite.chat._events import ChatError

        s, out, _ = negotiated(self.hub, "nick", "standard-replies")
        s.command = "PRIVMSG"
        s.chat_error(ChatError("flood", "slow down"))
        plain, p_out, _ = negotiated(self.hub, "plain")
        plain.chat_error(ChatError("flood", "slow down"))
        self.assertEqual(lines(out), [":netsuite FAIL PRIVMSG RATE_LIMITED :slow down"])
        self.assertEqual(lines(p_out), [":netsuite NOTICE plain :slow down"])

    def test_fake_lag_is_a_warn(self) -> None:
        s, out, _ = negotiated(self.hub, "nick", "standard-replies")
        s.slowed("your lines are queued")
        self.assertEqual(lines(out), [":netsuite WARN * RATE_LIMITED :your lines are queued"])


class RenderOncePerTagSetTests(CapCase):
    """A room message is rendered once per distinct tag set, not once per member."""

    def test_five_hundred_members(self) -> None:
        sets = [(), ("server-time",), ("message-tags",), ("server-time", "message-tags"),
                ("multi-prefix",), ("echo-message", "batch")]  # fmt: skip
        renderer = IRCRenderer("netsuite", self.hub)  # one door, one renderer
        calls: list[dict[str, bool]] = []
        original = renderer.render

        def counting(event, **kw):  # type: ignore[no-untyped-def]
            calls.append(kw)
            return original(event, **kw)

        renderer.render = counting  # type: ignore[method-assign]
        outs = []
        for i in range(500):
            caps = sets[i % len(sets)]
            s, out, _ = negotiated(self.hub, f"m{i}", *caps, renderer=renderer)
            feed(s, "JOIN #big")
            outs.append((caps, out))
        bob, _, _ = line_session(self.hub, "bob")
        bob.cmd_join("#big")
        for _, out in outs:
            out.clear()
        calls.clear()
        self.hub.say(bob, "#big", "to everyone")
        flags = {render_flags(caps)[0] for caps in sets}
        self.assertEqual(len(calls), len(flags))  # 4 renderings: "", t, m, tm
        by_flags: dict[str, bytes] = {}
        for caps, out in outs:
            (data,) = out
            self.assertIs(data, by_flags.setdefault(render_flags(caps)[0], data))
