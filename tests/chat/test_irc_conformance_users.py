"""
The IRC door's replies about people, in the sans-IO session, as the Modern IRC client
protocol document (modern.ircdocs.horse: WHO, WHOIS, WHOWAS, AWAY, USERHOST) and the
IRCv3 specifications (ircv3.net: away-notify, setname) give them: WHO masks and
invisibility, the USER name in 352/311/314, WHOIS 317, the WHOWAS history and its bound
at n and n+1, AWAY to away-notify room-mates, SETNAME and its refusal.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import INegotiated
from twisted.internet.task import Clock as ReactorClock
from twisted.internet.testing import StringTransport
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import directlyProvides

from netsuite.chat import tap
from netsuite.chat._hub import Hub
from netsuite.chat._irc_door import IRCChatFactory
from netsuite.chat._irc_users import REALNAME_MAX
from netsuite.chat._whowas import WHOWAS_MAX, Whowas
from netsuite.testing import hub_on_clock

from .helpers import line_session
from .test_irc import feed, irc_session, lines

NOW = 1000.0


def person(hub, nick: str, user: str, realname: str, *caps: str):  # type: ignore[no-untyped-def]
    """A session registered with USER C{user} and C{realname} (and CAP REQ C{caps})."""
    session, out, closed = irc_session(hub)
    if caps:
        feed(session, "CAP REQ :" + " ".join(caps))
    feed(session, f"NICK {nick}", f"USER {user} 0 * :{realname}")
    if caps:
        feed(session, "CAP END")
    assert session.registered, lines(out)
    out.clear()
    return session, out, closed


class UsersCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.hub, self.clock = hub_on_clock(start=NOW, flood_rate=100, flood_burst=100)
        self.cool, self.cool_out, _ = person(self.hub, "coolNick", "myusernam", "My Real Name")
        self.other, self.out, _ = person(self.hub, "otherNick", "other", "Other")

    def ask(self, *commands: str) -> list[str]:
        self.out.clear()
        feed(self.other, *commands)
        return lines(self.out)


class WhoTests(UsersCase):
    """Modern IRC, WHO: "<client> <channel> <username> <host> <server> <nick> <flags>
    :<hopcount> <realname>"; 315 names the mask exactly as sent."""

    COOL = ":netsuite 352 otherNick * myusernam netsuite netsuite coolNick {} :0 My Real Name"

    def test_nick_exact_folded_and_mask(self) -> None:
        """(Everyone here is +i by default, as on Ergo: a mask shows room-mates.)"""
        feed(self.cool, "JOIN #chan")
        feed(self.other, "JOIN #chan")
        for mask in ("coolNick", "coolnick", "coolni*", "COOL?ICK"):
            self.assertEqual(
                self.ask(f"WHO {mask}"),
                [self.COOL.format("H"), f":netsuite 315 otherNick {mask} :End of /WHO list"],
            )

    def test_star_lists_everyone_visible(self) -> None:
        feed(self.cool, "JOIN #chan")
        feed(self.other, "JOIN #chan")
        replies = self.ask("WHO *")
        self.assertEqual(replies[-1], ":netsuite 315 otherNick * :End of /WHO list")
        self.assertEqual(sorted(r.split()[7] for r in replies[:-1]), ["coolNick", "otherNick"])

    def test_away_and_channel_flags(self) -> None:
        feed(self.cool, "JOIN #chan", "AWAY :brb")
        feed(self.other, "JOIN #chan")
        replies = self.ask("WHO #CHAN")
        self.assertIn(
            ":netsuite 352 otherNick #chan myusernam netsuite netsuite coolNick G@ "
            ":0 My Real Name",
            replies,
        )
        self.assertEqual(replies[-1], ":netsuite 315 otherNick #CHAN :End of /WHO list")
        self.assertEqual(self.ask("WHO coolNick")[0], self.COOL.format("G"))

    def test_unknown_nick_is_315_alone(self) -> None:
        self.assertEqual(
            self.ask("WHO idontexist"), [":netsuite 315 otherNick idontexist :End of /WHO list"]
        )

    def test_invisible_hidden_from_masks_not_from_nicks(self) -> None:
        """Modern IRC: a mask skips +i people sharing no room; a plain nick does not."""
        feed(self.cool, "MODE coolNick +i")
        end = ":netsuite 315 otherNick cool* :End of /WHO list"
        self.assertEqual(self.ask("WHO cool*"), [end])
        self.assertEqual(len(self.ask("WHO coolNick")), 2)
        feed(self.cool, "JOIN #x")
        feed(self.other, "JOIN #x")
        self.assertEqual(len(self.ask("WHO cool*")), 2)

    def test_operators_only(self) -> None:
        self.assertEqual(self.ask("WHO * o"), [":netsuite 315 otherNick * :End of /WHO list"])

    def test_other_doors_show_the_nick_as_user(self) -> None:
        line_session(self.hub, "bob")
        self.assertEqual(
            self.ask("WHO bob")[0],
            ":netsuite 352 otherNick * bob netsuite netsuite bob H :0 via the line door",
        )


class WhoisTests(UsersCase):
    def test_user_name_and_idle(self) -> None:
        """311 carries USER's name; 317 the seconds idle and the signon time."""
        self.clock.advance(30)
        feed(self.cool, "PRIVMSG otherNick :hi")
        self.clock.advance(12)
        self.assertEqual(
            self.ask("WHOIS netsuite coolNick"),
            [
                ":netsuite 311 otherNick coolNick myusernam netsuite * :My Real Name",
                ":netsuite 312 otherNick coolNick netsuite :netsuite, irc door",
                ":netsuite 317 otherNick coolNick 12 1000 :seconds idle, signon time",
                ":netsuite 318 otherNick coolNick :End of /WHOIS list",
            ],
        )

    def test_userhost_user_name_and_away(self) -> None:
        self.assertEqual(self.ask("USERHOST coolNick"),
                         [":netsuite 302 otherNick :coolNick=+myusernam@netsuite"])  # fmt: skip
        feed(self.cool, "AWAY :gone")
        self.assertEqual(self.ask("USERHOST coolNick"),
                         [":netsuite 302 otherNick :coolNick=-myusernam@netsuite"])  # fmt: skip


class WhowasTests(UsersCase):
    """RFC 2812 3.6.3 and Modern IRC, WHOWAS."""

    def test_quit_then_whowas(self) -> None:
        feed(self.cool, "QUIT :bye")
        self.assertEqual(
            self.ask("WHOWAS coolnick"),
            [
                ":netsuite 314 otherNick coolNick myusernam netsuite * :My Real Name",
                ":netsuite 312 otherNick coolNick netsuite :Thu, 01 Jan 1970 00:16:40 UTC",
                ":netsuite 369 otherNick coolnick :End of WHOWAS",
            ],
        )

    def test_no_such_nick_and_no_nick(self) -> None:
        self.assertEqual(
            self.ask("WHOWAS nobody", "WHOWAS"),
            [
                ":netsuite 406 otherNick nobody :There was no such nickname",
                ":netsuite 369 otherNick nobody :End of WHOWAS",
                ":netsuite 431 otherNick :No nickname given",
            ],
        )

    def _twice(self) -> None:
        """coolNick leaves twice: first with the user name one, then two."""
        feed(self.cool, "QUIT")
        for user in ("one", "two"):
            session, _, _ = person(self.hub, "nick2", user, "Realname")
            feed(session, "QUIT")

    def users(self, replies: list[str]) -> list[str]:
        return [r.split()[4] for r in replies if r.split()[1] == "314"]

    def test_newest_first_and_count(self) -> None:
        self._twice()
        self.assertEqual(self.users(self.ask("WHOWAS nick2")), ["two", "one"])
        self.assertEqual(self.users(self.ask("WHOWAS nick2 1")), ["two"])
        self.assertEqual(self.users(self.ask("WHOWAS nick2 2")), ["two", "one"])
        for whole in ("0", "-1"):  # "a non-positive number: a full search"
            self.assertEqual(self.users(self.ask(f"WHOWAS nick2 {whole}")), ["two", "one"])

    def test_several_nicks_newest_first(self) -> None:
        self._twice()
        replies = self.ask("WHOWAS coolNick,nick2")
        self.assertEqual(self.users(replies), ["two", "one", "myusernam"])
        self.assertEqual(replies[-1], ":netsuite 369 otherNick coolNick,nick2 :End of WHOWAS")

    def test_a_rename_is_remembered(self) -> None:
        feed(self.cool, "NICK warm")
        self.assertEqual(self.users(self.ask("WHOWAS coolNick")), ["myusernam"])

    def test_bound_at_n_and_n_plus_one(self) -> None:
        history = Whowas(3)
        for n in range(3):
            history.record(self.cool, f"n{n}", float(n))
        self.assertEqual([e.nick for e in history.lookup(["n0", "n1", "n2"])], ["n2", "n1", "n0"])
        history.record(self.cool, "n3", 3.0)  # one more: the oldest goes
        self.assertEqual(len(history), 3)
        self.assertEqual(history.lookup(["n0"]), [])
        self.assertEqual(Whowas(0).lookup(["x"]), [])
        self.assertEqual(WHOWAS_MAX, self.hub.whowas.limit)

    def test_off(self) -> None:
        hub, _ = hub_on_clock(whowas=0)
        session, out, _ = person(hub, "a", "a", "A")
        gone, _, _ = person(hub, "b", "b", "B")
        feed(gone, "QUIT")
        feed(session, "WHOWAS b")
        self.assertIn(":netsuite 406 a b :There was no such nickname", lines(out))

    def test_negative_bound_refused(self) -> None:
        self.assertRaises(ValueError, Whowas, -1)


class AwayNotifyTests(SynchronousTestCase):
    """IRCv3 away-notify: AWAY to room-mates with the capability, and on their join."""

    def setUp(self) -> None:
        self.hub, _ = hub_on_clock(flood_rate=100, flood_burst=100)
        self.foo, self.foo_out, _ = person(self.hub, "foo", "foo", "Foo", "away-notify")
        self.plain, self.plain_out, _ = person(self.hub, "plain", "p", "P")
        self.bar, self.bar_out, _ = person(self.hub, "bar", "bar", "Bar")
        for session in (self.foo, self.plain, self.bar):
            feed(session, "JOIN #chan")
        for out in (self.foo_out, self.plain_out, self.bar_out):
            out.clear()

    def test_away_and_back(self) -> None:
        feed(self.bar, "AWAY :i'm going away", "AWAY")
        self.assertEqual(
            lines(self.foo_out),
            [":bar!bar@netsuite AWAY :i'm going away", ":bar!bar@netsuite AWAY"],
        )
        self.assertEqual(lines(self.plain_out), [])  # no capability, no news
        self.assertEqual(
            lines(self.bar_out),
            [
                ":netsuite 306 bar :You have been marked as being away",
                ":netsuite 305 bar :You are no longer marked as being away",
            ],
        )

    def test_joining_while_away(self) -> None:
        late, _, _ = person(self.hub, "late", "l", "L")
        feed(late, "AWAY :i'm already away", "JOIN #chan")
        self.assertEqual(
            lines(self.foo_out),
            [":late!late@netsuite JOIN #chan", ":late!late@netsuite AWAY :i'm already away"],
        )


class SetnameTests(SynchronousTestCase):
    """IRCv3 setname: to the sender and its room-mates with the capability."""

    def setUp(self) -> None:
        self.hub, _ = hub_on_clock(flood_rate=100, flood_burst=100)
        self.foo, self.foo_out, _ = person(self.hub, "foo", "foo", "Foo", "setname")
        self.bar, self.bar_out, _ = person(self.hub, "bar", "bar", "Bar", "setname")
        self.baz, self.baz_out, _ = person(self.hub, "baz", "baz", "Baz")
        for session in (self.foo, self.bar, self.baz):
            feed(session, "JOIN #chan")
        for out in (self.foo_out, self.bar_out, self.baz_out):
            out.clear()

    def test_setname(self) -> None:
        feed(self.foo, "SETNAME :qux quux")
        self.assertEqual(lines(self.foo_out), [":foo!foo@netsuite SETNAME :qux quux"])
        self.assertEqual(lines(self.bar_out), [":foo!foo@netsuite SETNAME :qux quux"])
        self.assertEqual(lines(self.baz_out), [])
        feed(self.baz, "WHOIS foo")
        self.assertEqual(lines(self.baz_out)[0], ":netsuite 311 baz foo foo netsuite * :qux quux")

    def test_length_at_n_and_n_plus_one(self) -> None:
        feed(self.foo, "SETNAME :" + "é" * (REALNAME_MAX // 2))
        self.assertEqual(self.foo.realname, "é" * (REALNAME_MAX // 2))
        self.foo_out.clear()
        for bad in ("SETNAME :" + "x" * (REALNAME_MAX + 1), "SETNAME :"):
            feed(self.foo, bad)
        self.assertEqual(
            lines(self.foo_out),
            [":netsuite FAIL SETNAME INVALID_REALNAME :Realname is not valid"] * 2,
        )
        self.assertEqual(self.foo.realname, "é" * (REALNAME_MAX // 2))

    def test_user_realname_cut_to_the_bound(self) -> None:
        session, _, _ = person(self.hub, "long", "l", "é" * REALNAME_MAX)
        self.assertEqual(session.realname, "é" * (REALNAME_MAX // 2))


class WhowasOptionTests(SynchronousTestCase):
    """--whowas N (config key whowas): 0 is the least, the default WHOWAS_MAX."""

    def parse(self, *args: str) -> tap.Options:
        options = tap.Options()
        options.parseOptions(list(args))
        return options

    def test_default_least_and_refused(self) -> None:
        self.assertEqual(tap.makeService(self.parse()).hub.whowas.limit, WHOWAS_MAX)
        self.assertEqual(tap.makeService(self.parse("--whowas", "0")).hub.whowas.limit, 0)
        with self.assertRaises(usage.UsageError) as e:
            self.parse("--whowas", "-1")
        self.assertIn("--whowas must be 0 or more, not -1", str(e.exception))

    def test_config_key(self) -> None:
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("[chat]\nwhowas = 7\n")
        self.assertEqual(tap.makeService(self.parse("--config", path)).hub.whowas.limit, 7)


class InviteNotifyTests(SynchronousTestCase):
    """IRCv3 invite-notify: a room's operators with the capability see the INVITE."""

    def test_operators_with_the_cap(self) -> None:
        hub, _ = hub_on_clock(flood_rate=100, flood_burst=100)
        op, op_out, _ = person(hub, "op", "op", "Op")
        watch, watch_out, _ = person(hub, "watch", "w", "W", "invite-notify")
        plain, plain_out, _ = person(hub, "plain", "p", "P")
        bob, bob_out, _ = person(hub, "bob", "b", "B")
        for session in (op, watch, plain):
            feed(session, "JOIN #x")
        feed(op, "MODE #x +o watch", "MODE #x +o plain")
        for out in (op_out, watch_out, plain_out, bob_out):
            out.clear()
        feed(op, "INVITE bob #x")
        self.assertEqual(lines(op_out), [":netsuite 341 op bob #x"])
        self.assertEqual(lines(watch_out), [":op!op@netsuite INVITE bob #x"])
        self.assertEqual(lines(plain_out), [])  # an operator without the capability
        self.assertEqual(lines(bob_out), [":op!op@netsuite INVITE bob #x"])


class SecureTests(SynchronousTestCase):
    """Modern IRC, RPL_WHOISSECURE (671): for a client connected over TLS."""

    def connect(self, hub: Hub, tls: bool, nick: str) -> StringTransport:
        factory = IRCChatFactory("chat/irc", hub, clock=ReactorClock())
        proto = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
        assert proto is not None
        transport = StringTransport()
        if tls:  # Twisted's TLS transport provides INegotiated; the door begins after
            directlyProvides(transport, INegotiated)  # the handshake, as here
        proto.makeConnection(transport)
        if tls:
            proto.begin(None)  # type: ignore[attr-defined]
        proto.dataReceived(f"NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n".encode())
        transport.clear()
        return transport

    def test_671_over_tls_only(self) -> None:
        hub, _ = hub_on_clock(flood_rate=100, flood_burst=100)
        self.connect(hub, True, "safe")
        self.connect(hub, False, "plain")
        asker, out, _ = person(hub, "asker", "a", "A")
        feed(asker, "WHOIS safe", "WHOIS plain")
        found = [line for line in lines(out) if line.split()[1] == "671"]
        self.assertEqual(found, [":netsuite 671 asker safe :is using a secure connection"])
