"""
The IRC door's rooms as the conformance cases of RFC 2812 and the Modern IRC client
protocol document (modern.ircdocs.horse) check them: TOPIC's setter and time (333), bad
channel masks (476), NAMES of several rooms, KICK with a room per nick, key and limit
refusals (696), an invitation past the limit, and LIST's ELIST filters.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._irc_rooms import list_filter
from netsuite.testing import hub_on_clock

from .test_irc import feed, lines, registered


class RoomsTestCase(SynchronousTestCase):
    """foo (first in #chan: its operator), bar and baz, all on the IRC door."""

    def setUp(self) -> None:
        self.hub, self.clock = hub_on_clock(flood_rate=1000, flood_burst=1000)
        self.outs = {}
        self.sessions = {}
        for nick in ("foo", "bar", "baz"):
            self.sessions[nick], self.outs[nick], _ = registered(self.hub, nick)
            feed(self.sessions[nick], "JOIN #chan")
        for out in self.outs.values():
            out.clear()

    def say(self, nick: str, *text: str) -> list[str]:
        self.outs[nick].clear()
        feed(self.sessions[nick], *text)
        return lines(self.outs[nick])

    def seen(self, nick: str) -> list[str]:
        got = lines(self.outs[nick])
        self.outs[nick].clear()
        return got


class TopicTests(RoomsTestCase):
    def test_topic_who_time_on_join_and_query(self) -> None:
        """Modern IRC: RPL_TOPICWHOTIME (333) "<client> <channel> <nick> <setat>" after 332."""
        self.clock.advance(5)
        self.say("foo", "TOPIC #chan :new topic")
        self.assertEqual(
            self.say("bar", "TOPIC #chan"),
            [":netsuite 332 bar #chan :new topic", ":netsuite 333 bar #chan foo 1005"],
        )
        carol, c_out, _ = registered(self.hub, "carol")
        feed(carol, "JOIN #chan")
        self.assertEqual([line.split(" ")[1] for line in lines(c_out)][1:3], ["332", "333"])

    def test_no_topic_is_331_only_when_asked(self) -> None:
        """No 331 on JOIN; an emptied topic is echoed with an empty parameter."""
        self.say("foo", "TOPIC #chan :x")
        self.assertEqual(self.say("foo", "TOPIC #chan :"), [":foo!foo@netsuite TOPIC #chan :"])
        self.assertEqual(
            self.say("bar", "TOPIC #chan"), [":netsuite 331 bar #chan :No topic is set."]
        )

    def test_voice_cannot_set_a_locked_topic(self) -> None:
        self.say("foo", "MODE #chan +v bar")
        self.assertEqual(self.say("bar", "TOPIC #chan :y")[0].split(" ")[1], "482")


class JoinAndNamesTests(RoomsTestCase):
    def test_bad_channel_mask_476(self) -> None:
        """Modern IRC: ERR_BADCHANMASK "<channel> :Bad Channel Mask" for a name not a room's."""
        self.assertEqual(
            self.say("foo", "JOIN nohash,#ok"),
            [
                ":netsuite 476 foo nohash :Bad Channel Mask",
                ":foo!foo@netsuite JOIN #ok",
                ":netsuite 353 foo = #ok :@foo",
                ":netsuite 366 foo #ok :End of /NAMES list",
            ],
        )

    def test_join_zero_parts_every_room(self) -> None:
        self.say("bar", "JOIN #two")
        self.assertEqual(
            self.say("bar", "JOIN 0"),
            [":bar!bar@netsuite PART #chan", ":bar!bar@netsuite PART #two"],
        )
        self.assertEqual(self.hub.rooms_of(self.sessions["bar"]), [])

    def test_names_of_several_rooms_has_one_end(self) -> None:
        """RFC 2812 3.2.5: the 353s of each room, then one 366 naming them as asked."""
        self.say("foo", "JOIN #two")
        self.assertEqual(
            self.say("foo", "NAMES #chan,#two,#none"),
            [
                ":netsuite 353 foo = #chan :@foo bar baz",
                ":netsuite 353 foo = #two :@foo",
                ":netsuite 366 foo #chan,#two,#none :End of /NAMES list",
            ],
        )

    def test_names_of_a_secret_room_from_outside(self) -> None:
        self.say("foo", "MODE #chan +s")
        carol, c_out, _ = registered(self.hub, "carol")
        feed(carol, "NAMES #chan")
        self.assertEqual(lines(c_out), [":netsuite 366 carol #chan :End of /NAMES list"])


class KickTests(RoomsTestCase):
    def test_a_room_per_nick(self) -> None:
        """RFC 2812 3.2.8: as many rooms as nicks pairs them; one KICK line per nick."""
        self.say("foo", "KICK #chan,#chan bar,baz :bye")
        self.assertEqual(
            self.seen("baz"),
            [":foo!foo@netsuite KICK #chan bar :bye", ":foo!foo@netsuite KICK #chan baz :bye"],
        )

    def test_mismatched_lists_461(self) -> None:
        self.assertEqual(
            self.say("foo", "KICK #chan,#chan,#x bar,baz"),
            [":netsuite 461 foo KICK :Not enough parameters"],
        )

    def test_refusal_said_once_per_room(self) -> None:
        self.assertEqual(
            self.say("bar", "KICK #chan foo,baz"),
            [":netsuite 482 bar #chan :You're not channel operator"],
        )


class KeyAndLimitTests(RoomsTestCase):
    def test_invalid_keys_696_with_star(self) -> None:
        """Modern IRC: 696 "<client> <target> <mode char> <parameter> :<description>"."""
        for key in ("passphrase with spaces", "long" * 100, ""):
            [reply] = self.say("foo", f"MODE #chan +k :{key}")
            self.assertEqual(reply.split(" ")[:6], [":netsuite", "696", "foo", "#chan", "k", "*"])

    def test_invalid_limits_696(self) -> None:
        for limit, shown in (("0", "0"), ("-1", "-1"), ("abc", "abc"), ("", "*")):
            [reply] = self.say("foo", f"MODE #chan +l :{limit}")
            self.assertEqual(
                reply.split(" ")[:6], [":netsuite", "696", "foo", "#chan", "l", shown]
            )

    def test_invitation_passes_the_limit(self) -> None:
        """Modern IRC: "An INVITE message can be used ... to join despite the limit"."""
        self.say("foo", "MODE #chan +l 3")
        carol, c_out, _ = registered(self.hub, "carol")
        feed(carol, "JOIN #chan")
        self.assertEqual(lines(c_out)[0].split(" ")[1], "471")
        self.say("foo", "INVITE carol #chan")
        c_out.clear()
        feed(carol, "JOIN #chan")
        self.assertEqual(lines(c_out)[0], ":carol!carol@netsuite JOIN #chan")


class ListTests(RoomsTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.say("foo", "JOIN #chan1", "JOIN #chan2")
        self.say("bar", "JOIN #chan2")

    def listed(self, *params: str) -> set[str]:
        got = self.say("baz", "LIST " + " ".join(params) if params else "LIST")
        return {line.split(" ")[3] for line in got if line.split(" ")[1] == "322"}

    def test_masks(self) -> None:
        """ELIST M: searching based on mask."""
        self.assertEqual(self.listed("*an1"), {"#chan1"})
        self.assertEqual(self.listed("#c*n2"), {"#chan2"})
        self.assertEqual(self.listed("*an3"), set())
        self.assertEqual(self.listed("#ch*"), {"#chan", "#chan1", "#chan2"})

    def test_not_masks(self) -> None:
        """ELIST N: a mask that must not match."""
        self.assertEqual(self.listed("!*an1"), {"#chan", "#chan2"})
        self.assertEqual(self.listed("!#ch*"), set())

    def test_users(self) -> None:
        """ELIST U: more than (C{>n}) or fewer than (C{<n}) n members."""
        self.assertEqual(self.listed(">1"), {"#chan", "#chan2"})
        self.assertEqual(self.listed("<2"), {"#chan1"})
        self.assertEqual(self.listed("<1"), set())
        self.assertEqual(self.listed("<100"), {"#chan", "#chan1", "#chan2"})

    def test_nonexistent_has_no_error(self) -> None:
        self.assertEqual(
            [line.split(" ")[1] for line in self.say("baz", "LIST #nonexistent")], ["321", "323"]
        )

    def test_isupport_and_filter(self) -> None:
        self.assertIn("ELIST=MNU", self.sessions["foo"].isupport())
        wanted = list_filter("#a,C<5,T>2")  # times are not offered: ignored
        self.assertTrue(wanted("#A", 1))
        self.assertFalse(wanted("#b", 1))


class RegisteredOnlyTests(RoomsTestCase):
    """+R (Ergo's): only members logged in to an account join; 477 for the rest."""

    def test_477_without_an_account_then_in_with_one(self) -> None:
        self.assertEqual(self.say("foo", "MODE #chan +R"), [":foo!foo@netsuite MODE #chan +R"])
        carol, c_out, _ = registered(self.hub, "carol")
        feed(carol, "JOIN #chan")
        self.assertEqual(
            lines(c_out)[-1],
            ":netsuite 477 carol #chan :Cannot join channel (+R) - you need to be logged "
            "into your account",
        )
        c_out.clear()
        carol.account = "carol"  # what a SASL login sets
        feed(carol, "JOIN #chan")
        self.assertEqual(lines(c_out)[0], ":carol!carol@netsuite JOIN #chan")

    def test_an_invitation_passes_it(self) -> None:
        self.say("foo", "MODE #chan +R")
        dave, d_out, _ = registered(self.hub, "dave")
        self.say("foo", "INVITE dave #chan")
        feed(dave, "JOIN #chan")
        self.assertIn(":dave!dave@netsuite JOIN #chan", lines(d_out))

    def test_in_chanmodes(self) -> None:
        answer = self.say("foo", "MODE #chan +R", "MODE #chan")
        self.assertIn(":netsuite 324 foo #chan +Rnt", answer)
