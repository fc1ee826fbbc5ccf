"""Roles and modes in the hub: the first member is the operator; kicks, invites, checks."""

from __future__ import annotations

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat import tap
from netsuite.chat._events import ChatError, Invited, Joined, Kicked, ModeChanged, Parted, Said
from netsuite.chat._modes import MAX_LIST, MAX_MODES
from netsuite.testing import hub_on_clock

from .helpers import Recorder


class HubModesTestCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.hub, self.clock = hub_on_clock(flood_rate=100, flood_burst=100)
        self.alice = self.member("alice", "#x")
        self.bob = self.member("bob", "#x")

    def member(self, nick: str, *rooms: str) -> Recorder:
        m = Recorder()
        self.hub.connect(m, nick)
        for room in rooms:
            self.hub.join(m, room)
        return m

    def refused(self, f, *args) -> str:  # type: ignore[no-untyped-def]
        with self.assertRaises(ChatError) as e:
            f(*args)
        return e.exception.code

    def mode(self, who: Recorder, text: str, *args: str) -> tuple[str, tuple[str, ...], list[str]]:
        result = self.hub.change_modes(who, "#x", text, args)
        changed = result.changed
        return (
            changed.changes if changed else "",
            changed.args if changed else (),
            [e.code for e in result.errors],
        )


class OperatorTests(HubModesTestCase):
    def test_first_member_is_operator(self) -> None:
        self.assertEqual(self.hub.roles("#x", self.alice), "o")
        self.assertEqual(self.hub.roles("#x", self.bob), "")
        self.assertEqual(self.hub.prefixes("#x", self.alice), "@")
        self.assertEqual(self.hub.channel_modes("#x", self.bob), ("+nt", []))

    def test_op_and_voice_told_to_the_room(self) -> None:
        self.assertEqual(self.mode(self.alice, "+ov", "BOB", "bob"), ("+ov", ("bob", "bob"), []))
        [event] = self.bob.of(ModeChanged)
        self.assertEqual((event.room, event.nick), ("#x", "alice"))
        self.assertEqual(len(self.alice.of(ModeChanged)), 1)
        self.assertEqual(self.hub.prefixes("#x", self.bob, every=True), "@+")

    def test_non_operator_changes_nothing(self) -> None:
        self.assertEqual(self.mode(self.bob, "+m-t"), ("", (), ["chanop_needed"]))
        self.assertEqual(self.hub.channel_modes("#x", self.bob), ("+nt", []))
        self.assertEqual(self.bob.of(ModeChanged), [])

    def test_list_query_needs_no_role(self) -> None:
        result = self.hub.change_modes(self.bob, "#x", "b", ())
        self.assertEqual((result.changed, result.errors, result.queries), (None, (), ("b",)))

    def test_unknown_letter_and_missing_nick(self) -> None:
        carol = self.member("carol")
        self.assertEqual(
            self.mode(self.alice, "+zvo", "nobody", "carol"),
            ("", (), ["unknown_mode", "no_such_nick", "user_not_in_room"]),
        )
        self.assertFalse(self.hub.in_room(carol, "#x"))

    def test_roles_go_when_leaving(self) -> None:
        self.mode(self.alice, "+v", "bob")
        self.hub.part(self.bob, "#x")
        self.hub.join(self.bob, "#x")
        self.assertEqual(self.hub.roles("#x", self.bob), "")

    def test_state_goes_when_the_room_empties(self) -> None:
        self.mode(self.alice, "+mk", "sekrit")
        self.hub.say(self.alice, "#x", "kept in history")
        self.hub.quit(self.alice)
        self.hub.part(self.bob, "#x")
        self.hub.join(self.bob, "#x")  # no key needed: a new room, bob its operator
        self.assertEqual(self.hub.roles("#x", self.bob), "o")
        self.assertEqual(self.hub.channel_modes("#x", self.bob), ("+nt", []))

    def test_modes_kept_while_members_remain(self) -> None:
        self.mode(self.alice, "+m")
        self.hub.quit(self.bob)
        self.assertEqual(self.hub.channel_modes("#x", self.alice), ("+mnt", []))

    def test_key_hidden_from_non_members(self) -> None:
        self.mode(self.alice, "+kl", "sekrit", "5")
        carol = self.member("carol")
        self.assertEqual(self.hub.channel_modes("#x", carol), ("+ntkl", ["*", "5"]))
        self.assertEqual(self.hub.channel_modes("#x", self.bob), ("+ntkl", ["sekrit", "5"]))

    def test_rename_keeps_roles(self) -> None:
        self.hub.rename(self.alice, "alicia")
        self.assertEqual(self.hub.roles("#x", self.alice), "o")

    def test_max_modes_at_n_and_n_plus_one(self) -> None:
        hub, _ = hub_on_clock(max_modes=2)
        a, b, c = Recorder(), Recorder(), Recorder()
        for m, nick in ((a, "a"), (b, "b"), (c, "c")):
            hub.connect(m, nick)
            hub.join(m, "#r")
        self.assertEqual(hub.change_modes(a, "#r", "+vv", ["b", "c"]).changed.args, ("b", "c"))
        hub.change_modes(a, "#r", "-vv", ["b", "c"])
        self.assertEqual(
            hub.change_modes(a, "#r", "+vvo", ["b", "c", "b"]).changed.args, ("b", "c")
        )

    def test_max_list_at_n_and_n_plus_one(self) -> None:
        hub, _ = hub_on_clock(max_list=2)
        a = Recorder()
        hub.connect(a, "a")
        hub.join(a, "#r")
        self.assertEqual(hub.change_modes(a, "#r", "+bb", ["x", "y"]).errors, ())
        [error] = hub.change_modes(a, "#r", "+b", ["z"]).errors
        self.assertEqual((error.code, error.char), ("list_full", "b"))
        self.assertEqual(len(hub.mode_list("#r", "b")), 2)


class RefusalTests(HubModesTestCase):
    def test_topic_lock(self) -> None:
        self.assertEqual(self.refused(self.hub.set_topic, self.bob, "#x", "t"), "chanop_needed")
        self.hub.set_topic(self.alice, "#x", "by the op")
        self.mode(self.alice, "-t")
        self.hub.set_topic(self.bob, "#x", "anyone")
        self.assertEqual(self.hub.topic("#x"), ("anyone", "bob"))

    def test_moderated(self) -> None:
        self.mode(self.alice, "+m")
        self.assertEqual(self.refused(self.hub.say, self.bob, "#x", "hi"), "cannot_send")
        self.hub.say(self.alice, "#x", "op speaks")
        self.mode(self.alice, "+v", "bob")
        self.hub.say(self.bob, "#x", "voiced")
        self.assertEqual([s.text for s in self.alice.of(Said)], ["op speaks", "voiced"])

    def test_outside_messages(self) -> None:
        carol = self.member("carol")
        self.assertEqual(self.refused(self.hub.say, carol, "#x", "hi"), "cannot_send")
        self.mode(self.alice, "-n")
        self.hub.say(carol, "#x", "from outside")
        self.assertEqual([s.text for s in self.bob.of(Said)], ["from outside"])
        self.assertEqual(carol.of(Said), [])

    def test_ban_stops_joining_and_speaking(self) -> None:
        self.mode(self.alice, "+b", "BOB")
        self.assertEqual(self.hub.mode_list("#x", "b")[0].mask, "BOB!*@*")
        self.assertEqual(self.refused(self.hub.say, self.bob, "#x", "hi"), "cannot_send")
        self.hub.part(self.bob, "#x")
        self.assertEqual(self.refused(self.hub.join, self.bob, "#x"), "banned")
        self.mode(self.alice, "+e", "*!*@netsuite")
        self.hub.join(self.bob, "#x")

    def test_ban_by_host(self) -> None:
        carol = self.member("carol")
        self.mode(self.alice, "+b", "*!*@netsuite")
        self.assertEqual(self.refused(self.hub.join, carol, "#x"), "banned")

    def test_key(self) -> None:
        self.mode(self.alice, "+k", "sekrit")
        carol = self.member("carol")
        self.assertEqual(self.refused(self.hub.join, carol, "#x"), "bad_key")
        self.assertEqual(self.refused(self.hub.join, carol, "#x", "wrong"), "bad_key")
        self.assertTrue(self.hub.join(carol, "#x", "sekrit"))

    def test_limit_at_n_and_n_plus_one(self) -> None:
        self.mode(self.alice, "+l", "3")
        carol, dave = self.member("carol"), self.member("dave")
        self.assertTrue(self.hub.join(carol, "#x"))  # the third
        self.assertEqual(self.refused(self.hub.join, dave, "#x"), "room_full")

    def test_invite_only(self) -> None:
        self.mode(self.alice, "+i")
        carol = self.member("carol")
        self.assertEqual(self.refused(self.hub.join, carol, "#x"), "invite_only")
        self.assertEqual(self.refused(self.hub.invite, self.bob, "carol", "#x"), "chanop_needed")
        self.assertEqual(self.hub.invite(self.alice, "CAROL", "#x"), "carol")
        [invited] = carol.of(Invited)
        self.assertEqual((invited.room, invited.nick, invited.target), ("#x", "alice", "carol"))
        self.assertTrue(self.hub.join(carol, "#x"))
        self.hub.part(carol, "#x")  # an invitation is good for one join
        self.assertEqual(self.refused(self.hub.join, carol, "#x"), "invite_only")

    def test_invite_refusals(self) -> None:
        carol = self.member("carol", "#y")
        self.assertEqual(self.refused(self.hub.invite, self.bob, "nobody", "#x"), "no_such_nick")
        self.assertEqual(self.refused(self.hub.invite, self.bob, "carol", "#nope"), "no_such_room")
        self.assertEqual(self.refused(self.hub.invite, carol, "bob", "#x"), "not_on_room")
        self.assertEqual(self.refused(self.hub.invite, self.bob, "alice", "#x"), "user_on_room")
        self.hub.invite(self.bob, "carol", "#x")  # not +i: anyone in the room may invite
        self.assertEqual(len(carol.of(Invited)), 1)
        self.assertEqual(len(self.alice.of(Invited)), 1)  # the operator hears of it

    def test_invite_forgotten_with_the_member(self) -> None:
        self.mode(self.alice, "+i")
        carol = self.member("carol")
        self.hub.invite(self.alice, "carol", "#x")
        self.hub.quit(carol)
        again = self.member("carol")
        self.assertEqual(self.refused(self.hub.join, again, "#x"), "invite_only")


class KickTests(HubModesTestCase):
    def test_kick(self) -> None:
        carol = self.member("carol", "#x")
        self.hub.kick(self.alice, "#x", "BOB", "behave")
        for who in (self.alice, self.bob, carol):
            [kicked] = who.of(Kicked)
            self.assertEqual(
                (kicked.room, kicked.nick, kicked.target, kicked.reason),
                ("#x", "alice", "bob", "behave"),
            )
        self.assertFalse(self.hub.in_room(self.bob, "#x"))
        self.assertEqual([m.nick for m in self.hub.who("#x")], ["alice", "carol"])
        self.assertEqual(self.bob.of(Parted), [])

    def test_default_reason_is_the_kicker(self) -> None:
        self.hub.kick(self.alice, "#x", "bob")
        self.assertEqual(self.bob.of(Kicked)[0].reason, "alice")

    def test_kick_refusals(self) -> None:
        carol = self.member("carol", "#y")
        self.assertEqual(self.refused(self.hub.kick, self.bob, "#x", "alice"), "chanop_needed")
        self.assertEqual(
            self.refused(self.hub.kick, self.alice, "#x", "carol"), "user_not_in_room"
        )
        self.assertEqual(self.refused(self.hub.kick, self.alice, "#x", "zed"), "no_such_nick")
        self.assertEqual(self.refused(self.hub.kick, carol, "#x", "bob"), "not_on_room")
        self.assertEqual(self.refused(self.hub.kick, self.alice, "#nope", "bob"), "no_such_room")

    def test_kicked_may_rejoin(self) -> None:
        self.hub.kick(self.alice, "#x", "bob")
        self.assertTrue(self.hub.join(self.bob, "#x"))
        self.assertEqual(len(self.alice.of(Joined)), 3)


class SecretTests(HubModesTestCase):
    def test_secret_rooms(self) -> None:
        carol = self.member("carol")
        self.assertTrue(self.hub.visible(carol, "#x"))
        self.mode(self.alice, "+s")
        self.assertFalse(self.hub.visible(carol, "#x"))
        self.assertTrue(self.hub.visible(self.bob, "#x"))
        self.assertTrue(self.hub.room_info("#x").secret)
        self.assertFalse(self.hub.visible(carol, "#nope"))


class OptionTests(SynchronousTestCase):
    """--max-modes and --max-list (config keys max_modes, max_list): 1 is the least."""

    def parse(self, *args: str) -> tap.Options:
        options = tap.Options()
        options.parseOptions(list(args))
        return options

    def test_defaults(self) -> None:
        hub = tap.makeService(self.parse()).hub
        self.assertEqual((hub.max_modes, hub.max_list), (MAX_MODES, MAX_LIST))
        self.assertEqual(hub.server_name, "netsuite")

    def test_least_accepted(self) -> None:
        hub = tap.makeService(self.parse("--max-modes", "1", "--max-list", "1")).hub
        self.assertEqual((hub.max_modes, hub.max_list), (1, 1))
        self.assertEqual(tap.makeService(self.parse("--server-name", "irc.x")).hub.server_name,
                         "irc.x")  # fmt: skip

    def test_zero_refused(self) -> None:
        for name in ("--max-modes", "--max-list"):
            with self.assertRaises(usage.UsageError) as e:
                self.parse(name, "0")
            self.assertIn(f"{name} must be 1 or more, not 0", str(e.exception))

    def test_config_keys(self) -> None:
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("[chat]\nmax_modes = 4\nmax_list = 9\n")
        options = self.parse("--config", path)
        self.assertEqual((options["max-modes"], options["max-list"]), (4, 9))
