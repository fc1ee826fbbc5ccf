"""
The backbone on the in-memory store: several hubs (processes) on one clock behave as
one hub, and a store that goes away, comes back or restarts loses and duplicates nothing.
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._backbone import DEGRADED, RESTORED, Backbone
from netsuite.chat._events import ChatError, Joined, Notice, Quit, Renamed, Replayed, Said
from netsuite.chat._hub import Hub
from netsuite.stream._write import _cork
from netsuite.testing import RecordingMember
from netsuite.testing.chatstore import MemoryStore


class Cluster:
    """N hubs, each with its backbone, on one store and one clock."""

    def __init__(self, n: int = 3, *, lease: float = 30.0, queue_max: int = 1000,
                 history: int = 100) -> None:  # fmt: skip
        self.clock = Clock()
        self.clock.advance(1000)
        self.store = MemoryStore(self.clock)
        self.hubs: list[Hub] = []
        self.backbones: list[Backbone] = []
        for i in range(n):
            hub = Hub(clock=self.clock.seconds, history=history)
            backbone = Backbone(self.store.client(), hub, self.clock, proc=f"p{i}", lease=lease,
                                queue_max=queue_max)  # fmt: skip
            backbone.start()
            self.hubs.append(hub)
            self.backbones.append(backbone)

    def member(self, i: int, nick: str, *rooms: str) -> RecordingMember:
        m = RecordingMember()
        self.hubs[i].connect(m, nick)
        for room in rooms:
            self.hubs[i].join(m, room)
        return m


def texts(member: RecordingMember) -> list[str]:
    return [s.text for s in member.of(Said)]


class RoomTrafficTests(SynchronousTestCase):
    def test_message_reaches_every_process_in_one_order(self) -> None:
        c = Cluster(3)
        members = [c.member(i, f"m{i}", "#r") for i in range(3)]
        for round_ in range(3):
            for i in range(3):
                c.hubs[i].say(members[i], "#r", f"{round_}.{i}")
        expected = [f"{r}.{i}" for r in range(3) for i in range(3)]
        for m in members:
            self.assertEqual(texts(m), expected)

    def test_each_message_once(self) -> None:
        c = Cluster(2)
        a, b = c.member(0, "a", "#r"), c.member(1, "b", "#r")
        c.hubs[0].say(a, "#r", "one")
        self.assertEqual(texts(a), ["one"])
        self.assertEqual(texts(b), ["one"])
        self.assertEqual(b.of(Said)[0].mid, a.of(Said)[0].mid)

    def test_remote_members_seen(self) -> None:
        c = Cluster(2)
        a = c.member(0, "alice", "#r")
        c.member(1, "bob", "#r")
        self.assertEqual(sorted(m.nick for m in c.hubs[0].who("#r")), ["alice", "bob"])
        self.assertEqual(sorted(m.nick for m in c.hubs[1].who("#r")), ["alice", "bob"])
        self.assertIn("bob", [e.nick for e in a.of(Joined)])
        bob_there = c.hubs[0].find("bob")
        assert bob_there is not None
        self.assertEqual(c.hubs[0].rooms_of(bob_there), ["#r"])
        self.assertEqual(bob_there.door, "test")

    def test_joiner_sees_others_already_there(self) -> None:
        c = Cluster(2)
        c.member(0, "alice", "#r")
        b = c.member(1, "bob", "#r")
        self.assertEqual([e.nick for e in b.of(Joined)], ["bob", "alice"])

    def test_history_replays_across_processes(self) -> None:
        c = Cluster(2)
        a = c.member(0, "alice", "#r")
        for n in range(3):
            c.hubs[0].say(a, "#r", f"old {n}")
        b = c.member(1, "bob", "#r")
        self.assertEqual([r.said.text for r in b.of(Replayed)], ["old 0", "old 1", "old 2"])
        self.assertEqual(texts(b), [])
        c.hubs[0].say(a, "#r", "new")
        self.assertEqual(texts(b), ["new"])
        later = c.member(1, "carol", "#r")  # the room is read already: history from memory
        self.assertEqual(len(later.of(Replayed)), 4)

    def test_part_and_quit_told_elsewhere_once(self) -> None:
        c = Cluster(2)
        a = c.member(0, "alice", "#r", "#s")
        b = c.member(1, "bob", "#r", "#s")
        c.hubs[1].quit(b, "bye")
        quits = a.of(Quit)
        self.assertEqual([(q.nick, q.reason) for q in quits], [("bob", "bye")])
        self.assertIsNone(c.hubs[0].find("bob"))
        self.assertEqual([m.nick for m in c.hubs[0].who("#r")], ["alice"])

    def test_delivered_under_a_cork(self) -> None:
        """
        What a read brings is told under one cork, so a door sends each member one
        write per batch (uncorked: a send() per message per member, bench/scale.py).
        """
        c = Cluster(2)
        a = c.member(0, "a", "#r")
        b = c.member(1, "b", "#r")
        depths: list[int] = []
        deliver = b.deliver
        b.deliver = lambda event: (depths.append(_cork.depth), deliver(event))  # type: ignore[method-assign]
        c.hubs[0].say(a, "#r", "one")
        self.assertEqual(texts(b), ["one"])
        self.assertEqual(depths, [1])

    def test_delivered_to_local_members_only(self) -> None:
        """A process tells a room message to its own members, never to the stubs of
        other processes' (their process does): the counter counts real deliveries."""
        c = Cluster(3)
        a = c.member(0, "a", "#r")
        c.member(1, "b", "#r")
        c.member(2, "c", "#r")
        before = [h.counters["deliveries"] for h in c.hubs]
        c.hubs[0].say(a, "#r", "one")
        self.assertEqual(
            [h.counters["deliveries"] - n for h, n in zip(c.hubs, before, strict=True)], [1, 1, 1]
        )

    def test_rooms_only_elsewhere_listed(self) -> None:
        """A room only another process's members are in is listed (LIST, /rooms, the
        API) within one snapshot (lease/10), with its count and topic; gone when empty."""
        c = Cluster(2)
        a = c.member(0, "alice", "#only", "#both")
        c.hubs[0].set_topic(a, "#only", "here")
        c.member(1, "bob", "#both")
        c.clock.advance(3.1)
        listed = {(r.name, r.members, r.topic) for r in c.hubs[1].room_names()}
        self.assertEqual(listed, {("#both", 2, ""), ("#only", 1, "here")})
        c.hubs[0].part(a, "#only")
        c.clock.advance(3.1)
        self.assertEqual([r.name for r in c.hubs[1].room_names()], ["#both"])

    def test_rename_told_elsewhere(self) -> None:
        c = Cluster(2)
        a = c.member(0, "alice", "#r")
        b = c.member(1, "bob", "#r")
        c.hubs[1].rename(b, "robert")
        self.assertEqual([(e.old, e.new) for e in a.of(Renamed)], [("bob", "robert")])
        self.assertIsNotNone(c.hubs[0].find("robert"))
        self.assertIsNone(c.hubs[0].find("bob"))
        with self.assertRaises(ChatError):
            c.hubs[0].connect(RecordingMember(), "robert")
        c.hubs[0].connect(RecordingMember(), "bob")  # free again

    def test_topic_crosses(self) -> None:
        c = Cluster(2)
        a = c.member(0, "alice", "#r")
        b = c.member(1, "bob", "#r")
        c.hubs[0].change_modes(a, "#r", "-t")  # the room's operator is alice (+t)
        c.hubs[1].set_topic(b, "#r", "hello")
        self.assertEqual(c.hubs[0].topic("#r"), ("hello", "bob"))

    def test_topic_read_by_a_late_process(self) -> None:
        c = Cluster(2)
        a = c.member(0, "alice", "#r")
        c.hubs[0].set_topic(a, "#r", "kept")
        c.member(1, "bob", "#r")
        self.assertEqual(c.hubs[1].topic("#r"), ("kept", "alice"))

    def test_private_message_across(self) -> None:
        c = Cluster(2)
        a = c.member(0, "alice")
        b = c.member(1, "bob")
        c.hubs[0].private(a, "bob", "psst")
        [said] = b.of(Said)
        self.assertEqual((said.sender, said.target, said.text), ("alice", "bob", "psst"))


class NickTests(SynchronousTestCase):
    def test_nick_held_elsewhere_refused(self) -> None:
        c = Cluster(3)
        c.member(0, "alice")
        for hub in c.hubs[1:]:
            with self.assertRaises(ChatError) as caught:
                hub.connect(RecordingMember(), "Alice")
            self.assertEqual(caught.exception.code, "nick_in_use")

    def test_race_loser_renamed(self) -> None:
        """Two processes take one nick while the store is away: its claim decides."""
        c = Cluster(2)
        c.store.down()
        c.clock.advance(1)
        first = c.member(0, "dup")
        second = c.member(1, "dup")
        c.store.up()
        c.clock.advance(10)
        nicks = sorted([first.nick, second.nick])
        self.assertEqual(nicks.count("dup"), 1)
        loser = first if first.nick != "dup" else second
        self.assertTrue(loser.nick.startswith("guest"))
        self.assertTrue(any("in use on another server" in n.text for n in loser.of(Notice)))

    def test_crashed_process_frees_nicks_after_lease(self) -> None:
        c = Cluster(2, lease=3.0)
        a = c.member(0, "alice", "#r")
        c.member(1, "bob", "#r")
        dead = c.backbones[1]
        for loop in dead._timers:  # the process stops renewing: as kill -9 does
            loop.stop()
        dead.closing = True
        c.clock.advance(2.0)
        self.assertIsNotNone(c.hubs[0].find("bob"))
        c.clock.advance(1.5)
        self.assertIsNone(c.hubs[0].find("bob"))
        self.assertEqual([q.nick for q in a.of(Quit)], ["bob"])
        c.hubs[0].connect(RecordingMember(), "bob")

    def test_crashed_process_members_go_whatever_nick_the_store_has(self) -> None:
        """A process renamed a member and died before the store heard of it: the store
        reaps it under its old nick, and the member still goes, under its new one."""
        c = Cluster(2, lease=3.0)
        a = c.member(0, "alice", "#r")
        bob = c.member(1, "guest1", "#r")
        dead = c.backbones[1]
        for loop in dead._timers:
            loop.stop()
        dead.closing = True
        members = c.store._members("#r")
        c.hubs[1].rename(bob, "bob")  # the room's stream says so; the store is put back:
        c.clock.advance(0.01)
        members.pop("bob", None)
        members["guest1"] = "p1 test guest1"
        self.assertIsNotNone(c.hubs[0].find("bob"))
        c.clock.advance(3.5)
        self.assertIsNone(c.hubs[0].find("bob"))
        self.assertEqual([q.nick for q in a.of(Quit)], ["bob"])


class FaultTests(SynchronousTestCase):
    def test_outage_holds_then_delivers_in_order(self) -> None:
        c = Cluster(2)
        a, b = c.member(0, "a", "#r"), c.member(1, "b", "#r")
        c.store.down()
        c.clock.advance(0.01)
        c.hubs[0].say(a, "#r", "during 1")
        c.hubs[1].say(b, "#r", "during 2")
        self.assertEqual(texts(a), [])
        self.assertIn(DEGRADED, [n.text for n in a.of(Notice)])
        c.store.up()
        c.clock.advance(10)
        self.assertEqual(texts(a), texts(b))
        self.assertEqual(sorted(texts(a)), ["during 1", "during 2"])
        self.assertEqual([n.text for n in a.of(Notice)].count(RESTORED), 1)
        self.assertEqual([n.text for n in a.of(Notice)].count(DEGRADED), 1)

    def test_queue_bound_refuses_with_reason(self) -> None:
        c = Cluster(1, queue_max=3)
        a = c.member(0, "a", "#r")
        c.store.down()
        c.clock.advance(0.01)
        a_hub = c.hubs[0]
        a_hub.flood_burst = 100
        for n in range(3):
            a_hub.say(a, "#r", f"{n}")
        with self.assertRaises(ChatError) as caught:
            a_hub.say(a, "#r", "one too many")
        self.assertEqual(caught.exception.code, "degraded")
        c.store.up()
        c.clock.advance(10)
        self.assertEqual(texts(a), ["0", "1", "2"])

    def test_restart_loses_nothing_recent_and_duplicates_nothing(self) -> None:
        c = Cluster(2)
        a, b = c.member(0, "a", "#r"), c.member(1, "b", "#r")
        c.hubs[0].say(a, "#r", "before")
        c.store.restart()
        c.clock.advance(10)
        c.hubs[0].say(a, "#r", "after")
        self.assertEqual(texts(b), ["before", "after"])
        self.assertEqual(texts(a), ["before", "after"])
        # what the store forgot is written back: nicks and memberships
        with self.assertRaises(ChatError):
            c.hubs[1].connect(RecordingMember(), "a")
        c.member(1, "c", "#r")
        self.assertEqual(sorted(m.nick for m in c.hubs[1].who("#r")), ["a", "b", "c"])
        c.hubs[0].quit(a)
        fresh = Backbone(c.store.client(), Hub(clock=c.clock.seconds), c.clock, proc="p9")
        fresh.start()
        late = RecordingMember()
        fresh.hub.connect(late, "late")
        fresh.hub.join(late, "#r")  # memberships written back after the restart
        self.assertEqual(sorted(m.nick for m in fresh.hub.who("#r")), ["b", "c", "late"])

    def test_reconnect_backs_off(self) -> None:
        c = Cluster(1)
        c.store.down()
        backbone = c.backbones[0]
        delays = []
        for _ in range(8):
            call = backbone._reconnect
            delays.append(round(call.getTime() - c.clock.seconds(), 3))
            c.clock.advance(call.getTime() - c.clock.seconds())
        self.assertEqual(delays[:3], [0.1, 0.2, 0.4])
        self.assertEqual(max(delays), 5.0)
