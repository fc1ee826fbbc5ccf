"""
Modes and roles across the backbone's processes (issue #14: "rooms keep modes and
operators ... across processes once the hub has a backbone"): a change made on one
process holds on every other, a process that joins a room late adopts its modes and
operators instead of making its own first member the operator, and a kick reaches a
member on another process.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._events import ChatError, Kicked, ModeChanged
from netsuite.chat._modes import RoomModes
from netsuite.chat._modes_wire import dump_modes, load_modes
from tests.chat.test_backbone import Cluster


def there(c: Cluster, i: int, nick: str):  # type: ignore[no-untyped-def]
    member = c.hubs[i].find(nick)
    assert member is not None, nick
    return member


class ModesAcrossTests(SynchronousTestCase):
    def test_late_process_adopts_the_operator(self) -> None:
        """Bob, first of his process in #r, is not its operator: alice (elsewhere) is."""
        c = Cluster(2)
        c.member(0, "alice", "#r")
        b = c.member(1, "bob", "#r")
        self.assertEqual(c.hubs[1].roles("#r", b), "")
        self.assertEqual(c.hubs[1].roles("#r", there(c, 1, "alice")), "o")
        self.assertRaises(ChatError, c.hubs[1].set_topic, b, "#r", "mine")  # +t
        # What he was told of his first-member op is taken back, by the server.
        [took] = [e for e in b.of(ModeChanged) if e.changes == "-o"]
        self.assertEqual(took.args, ("bob",))

    def test_change_crosses(self) -> None:
        c = Cluster(2)
        a = c.member(0, "alice", "#r")
        b = c.member(1, "bob", "#r")
        c.hubs[0].change_modes(a, "#r", "+mk", ["sesame"])
        self.assertEqual(c.hubs[1].channel_modes("#r", b), ("+mntk", ["sesame"]))
        [told] = [e for e in b.of(ModeChanged) if e.nick == "alice"]
        self.assertEqual((told.changes, told.args), ("+mk", ("sesame",)))
        # +m holds on bob's process: he is neither voiced nor an operator.
        self.assertRaises(ChatError, c.hubs[1].say, b, "#r", "hi")

    def test_op_given_across_lets_them_act_there(self) -> None:
        c = Cluster(2)
        a = c.member(0, "alice", "#r")
        b = c.member(1, "bob", "#r")
        c.hubs[0].change_modes(a, "#r", "+o", ["bob"])
        self.assertEqual(c.hubs[1].roles("#r", b), "o")
        c.hubs[1].change_modes(b, "#r", "+v", ["alice"])  # allowed on bob's process
        self.assertEqual(c.hubs[0].roles("#r", a), "ov")

    def test_late_process_reads_modes_and_bans(self) -> None:
        c = Cluster(3)
        a = c.member(0, "alice", "#r")
        c.hubs[0].change_modes(a, "#r", "+lb", ["5", "spam!*@*"])
        carl = c.member(2, "carl", "#r")
        self.assertEqual(c.hubs[2].channel_modes("#r", carl), ("+ntl", ["5"]))
        self.assertEqual([e.mask for e in c.hubs[2].mode_list("#r", "b")], ["spam!*@*"])

    def test_early_joiner_without_the_key_is_put_out(self) -> None:
        """The room was +k elsewhere: bob's join (before his process knew) is undone."""
        c = Cluster(2)
        a = c.member(0, "alice", "#r")
        c.hubs[0].change_modes(a, "#r", "+k", ["sesame"])
        b = c.member(1, "bob", "#r")
        [kicked] = b.of(Kicked)
        self.assertEqual((kicked.target, kicked.reason), ("bob", "Cannot join channel (+k)"))
        self.assertFalse(c.hubs[1].in_room(b, "#r"))
        self.assertNotIn("bob", [m.nick for m in c.hubs[0].who("#r")])
        self.assertNotIn("bob", c.store._members("#r"))

    def test_put_out_when_the_members_hash_lagged_keeps_the_room(self) -> None:
        """Alice's join is in the stream but not yet in the store's members hash when
        bob's process reads the room: her join is applied before the modes, so putting
        bob out leaves the room (her, its key, her op) and his wrong key is refused."""
        c = Cluster(2)
        a = c.member(0, "alice", "#r")
        c.hubs[0].change_modes(a, "#r", "+k", ["sesame"])
        del c.store._members("#r")["alice"]  # the hash lags the stream
        b = c.member(1, "bob", "#r")
        [kicked] = b.of(Kicked)
        self.assertEqual(kicked.reason, "Cannot join channel (+k)")
        self.assertEqual(c.hubs[1].roles("#r", there(c, 1, "alice")), "o")
        with self.assertRaises(ChatError) as e:
            c.hubs[1].join(b, "#r", "wrong")
        self.assertEqual(e.exception.code, "bad_key")
        self.assertTrue(c.hubs[1].join(b, "#r", "sesame"))
        self.assertEqual(c.hubs[1].roles("#r", b), "")

    def test_early_joiner_with_the_key_stays(self) -> None:
        c = Cluster(2)
        a = c.member(0, "alice", "#r")
        c.hubs[0].change_modes(a, "#r", "+k", ["sesame"])
        b = c.member(1, "bob")
        c.hubs[1].join(b, "#r", "sesame")
        self.assertEqual(b.of(Kicked), [])
        self.assertIn("bob", [m.nick for m in c.hubs[0].who("#r")])

    def test_kick_crosses(self) -> None:
        c = Cluster(3)
        a = c.member(0, "alice", "#r")
        b = c.member(1, "bob", "#r")
        carl = c.member(2, "carl", "#r")
        c.hubs[0].kick(a, "#r", "bob", "out")
        for who in (a, b, carl):
            [kicked] = who.of(Kicked)
            self.assertEqual((kicked.nick, kicked.target, kicked.reason), ("alice", "bob", "out"))
        for hub in c.hubs:
            self.assertEqual(sorted(m.nick for m in hub.who("#r")), ["alice", "carl"])
        self.assertEqual(sorted(c.store._members("#r")), ["alice", "carl"])

    def test_roles_follow_a_rename(self) -> None:
        c = Cluster(2)
        a = c.member(0, "alice", "#r")
        c.hubs[0].rename(a, "alicia")
        b = c.member(1, "bob", "#r")
        self.assertEqual(c.hubs[1].roles("#r", there(c, 1, "alicia")), "o")
        self.assertEqual(c.hubs[1].roles("#r", b), "")


class WireTests(SynchronousTestCase):
    def test_round_trip(self) -> None:
        modes = RoomModes()
        modes.flags = {"n", "t", "s"}
        modes.key, modes.limit = "sesame", 9
        modes.ops, modes.voices = {1}, {1, 2}
        modes.lists["b"]["x!*@*"] = modes.lists["b"].get("x!*@*") or _entry("x!*@*")
        names = {1: "Alice", 2: "bob", 3: "gone"}
        text = dump_modes(modes, names.get)
        ids = {"alice": 10, "bob": 20}
        back = load_modes(text, ids.get)
        self.assertEqual((back.flags, back.key, back.limit), ({"n", "t", "s"}, "sesame", 9))
        self.assertEqual((back.ops, back.voices), ({10}, {10, 20}))
        self.assertEqual([e.mask for e in back.entries("b")], ["x!*@*"])

    def test_a_nick_not_here_gets_nothing(self) -> None:
        modes = RoomModes()
        modes.ops = {1}
        back = load_modes(dump_modes(modes, {1: "ann"}.get), {}.get)
        self.assertEqual(back.ops, set())

    def test_lists_cut_at_the_bound(self) -> None:
        modes = RoomModes()
        for n in range(5):
            modes.lists["b"][f"m{n}!*@*"] = _entry(f"m{n}!*@*")
        self.assertEqual(len(load_modes(dump_modes(modes, {}.get), {}.get, max_list=4)
                             .entries("b")), 4)  # fmt: skip
        self.assertEqual(len(load_modes(dump_modes(modes, {}.get), {}.get, max_list=5)
                             .entries("b")), 5)  # fmt: skip


def _entry(mask: str):  # type: ignore[no-untyped-def]
    from netsuite.chat._modes import ListEntry

    return ListEntry(mask, "alice!alice@x", 1.0)


class KillAcrossTests(SynchronousTestCase):
    def test_kill_reaches_a_member_on_another_process(self) -> None:
        """An operator's KILL of someone elsewhere: that process drops them, with why."""
        c = Cluster(2)
        c.member(0, "oper")
        victim = c.member(1, "victim")
        stub = there(c, 0, "victim")
        stub.kill("Killed (oper (spam))")
        self.assertEqual(victim.dropped, "Killed (oper (spam))")

    def test_kill_of_a_nick_not_there_changes_nothing(self) -> None:
        c = Cluster(2)
        victim = c.member(1, "victim")
        stub = there(c, 0, "victim")
        c.hubs[1].rename(victim, "renamed")  # gone from that nick before the kill lands
        stub.kill("Killed (oper (late))")
        self.assertIsNone(victim.dropped)


class PresenceWatcher:
    """A MONITOR watcher (L{netsuite.chat._monitor.Watcher}) that records what it is told."""

    def __init__(self) -> None:
        self.told: list[tuple[str, bool]] = []

    def presence(self, nick: str, online: bool) -> None:
        self.told.append((nick, online))


class MonitorAcrossTests(SynchronousTestCase):
    def test_watched_nick_on_another_process(self) -> None:
        """MONITOR here sees a nick come, change and go on another process."""
        c = Cluster(2)
        watcher = PresenceWatcher()
        c.hubs[0].monitors.add(watcher, ["bob", "robert"])
        bob = c.member(1, "bob")
        c.hubs[1].rename(bob, "robert")
        c.hubs[1].quit(bob, "bye")
        self.assertEqual(
            watcher.told,
            [("bob", True), ("bob", False), ("robert", True), ("robert", False)],
        )
