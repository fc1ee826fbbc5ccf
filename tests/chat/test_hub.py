"""The chat hub, with no network: rooms, nicks, order, history, flood."""

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._events import ChatError, Joined, Notice, Parted, Quit, Renamed, Replayed, Said
from netsuite.chat._names import fold, room_name, valid_nick, valid_room
from netsuite.testing import hub_on_clock

from .helpers import Recorder


class HubTestCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.hub, self.clock = hub_on_clock(history=3, flood_rate=1, flood_burst=2, flood_kick=3)

    def member(self, nick: str | None = None, *rooms: str) -> Recorder:
        m = Recorder()
        self.hub.connect(m, nick)
        for room in rooms:
            self.hub.join(m, room)
        return m

    def assertCode(self, code: str, f, *args) -> ChatError:  # type: ignore[no-untyped-def]
        with self.assertRaises(ChatError) as e:
            f(*args)
        self.assertEqual(e.exception.code, code)
        return e.exception


class NickTests(HubTestCase):
    def test_unique_case_insensitively(self) -> None:
        self.member("Alice")
        self.assertCode("nick_in_use", self.hub.connect, Recorder(), "alice")
        self.member("Bob[1]")
        self.assertCode("nick_in_use", self.hub.connect, Recorder(), "bob{1}")  # RFC 1459

    def test_guest_nicks_are_free(self) -> None:
        self.member("guest1")
        self.assertEqual(self.member().nick, "guest2")

    def test_invalid(self) -> None:
        for nick in ("1abc", "a b", "x" * 31, "é", "-a"):
            self.assertCode("erroneous_nick", self.hub.connect, Recorder(), nick)

    def test_rename_told_to_neighbours_once(self) -> None:
        a = self.member("a", "#x", "#y")
        b = self.member("b", "#x", "#y")
        c = self.member("c")
        self.hub.rename(a, "A2")
        self.assertEqual([(e.old, e.new) for e in b.of(Renamed)], [("a", "A2")])
        self.assertEqual(len(a.of(Renamed)), 1)
        self.assertEqual(c.of(Renamed), [])
        self.assertIs(self.hub.find("a2"), a)
        self.assertIsNone(self.hub.find("a"))
        self.assertCode("nick_in_use", self.hub.rename, b, "a2")

    def test_reserved(self) -> None:
        """A reserved nick (a certificate identity) is refused to anyone else."""
        owner = Recorder()
        owner.identity = "Cert"
        self.assertTrue(self.hub.reserve("Cert"))
        self.assertFalse(self.hub.reserve("not a nick"))
        self.assertCode("nick_in_use", self.hub.connect, Recorder(), "cert")
        self.hub.connect(owner, "Cert")
        self.assertIn(fold("Cert"), self.hub.reserved)


class RoomTests(HubTestCase):
    def test_join_part_quit_notices(self) -> None:
        a = self.member("a", "#r")
        b = self.member("b", "#r")
        self.assertEqual([e.nick for e in a.of(Joined)], ["a", "b"])
        self.hub.part(b, "#R", "bye")
        self.assertEqual([(e.nick, e.reason) for e in a.of(Parted)], [("b", "bye")])
        self.hub.join(b, "#r")
        self.hub.quit(b, "gone")
        self.assertEqual([(e.nick, e.reason) for e in a.of(Quit)], [("b", "gone")])
        self.assertEqual([m.nick for m in self.hub.who("#r")], ["a"])
        self.assertFalse(self.hub.is_connected(b))

    def test_errors(self) -> None:
        a = self.member("a")
        self.assertCode("no_such_room", self.hub.join, a, "nohash")
        self.assertCode("not_on_room", self.hub.part, a, "#r")
        self.assertCode("no_such_room", self.hub.say, a, "#r", "hi")
        self.member("b", "#r")
        self.assertCode("cannot_send", self.hub.say, a, "#r", "hi")
        self.assertCode("no_such_nick", self.hub.private, a, "nobody", "hi")
        self.assertCode("not_registered", self.hub.join, Recorder(), "#r")

    def test_topic_and_rooms(self) -> None:
        a = self.member("a", "#b", "#a")
        self.hub.set_topic(a, "#a", "cats")
        self.assertEqual(self.hub.topic("#a"), ("cats", "a"))
        self.assertEqual(
            [(r.name, r.topic, r.members) for r in self.hub.room_names()],
            [("#a", "cats", 1), ("#b", "", 1)],
        )

    def test_empty_rooms_forgotten(self) -> None:
        a = self.member("a", "#gone")
        self.hub.part(a, "#gone")
        self.assertEqual(self.hub.room_names(), [])


class MessageTests(HubTestCase):
    def test_room_message_to_everyone_one_object(self) -> None:
        """Every member, sender included, gets the very same event object (encoded once)."""
        members = [self.member(f"m{i}", "#r") for i in range(5)]
        said = self.hub.say(members[0], "#r", "hello")
        for m in members:
            self.assertIs(m.of(Said)[-1], said)
        calls = []
        for _ in members:
            said.encoded("line", lambda e: calls.append(e) or b"x")
        self.assertEqual(len(calls), 1)

    def test_one_order_for_all(self) -> None:
        members = [self.member(f"m{i}", "#r") for i in range(3)]
        self.hub.flood_burst = self.hub.flood_rate = 1000
        for m in members:
            m_state = self.hub._states[id(m)]
            m_state.bucket.burst = m_state.bucket.tokens = 1000
        for i in range(30):
            self.hub.say(members[i % 3], "#r", f"{i}")
        orders = [[e.seq for e in m.of(Said)] for m in members]
        self.assertEqual(orders[0], sorted(orders[0]))
        self.assertTrue(all(o == orders[0] for o in orders))

    def test_private(self) -> None:
        a, b = self.member("a"), self.member("b")
        said = self.hub.private(a, "B", "psst")
        self.assertEqual((said.target, said.room), ("b", None))
        self.assertIs(b.of(Said)[0], said)
        self.assertIs(a.of(Said)[0], said)

    def test_history_replayed_on_join_bounded(self) -> None:
        a = self.member("a", "#r")
        for i in range(5):
            self.clock.advance(10)
            self.hub.say(a, "#r", f"m{i}")
        b = self.member("b", "#r")
        self.assertEqual([e.said.text for e in b.of(Replayed)], ["m2", "m3", "m4"])
        self.assertEqual([s.text for s in self.hub.recent("#r", 2)], ["m3", "m4"])
        self.assertEqual(self.hub.recent("#r", 0), [])

    def test_text_limits(self) -> None:
        a = self.member("a", "#r")
        self.assertCode("no_text", self.hub.say, a, "#r", "")
        self.hub.say(a, "#r", "x" * 4096)  # TEXT_MAX, --max-line's default
        self.assertCode("too_long", self.hub.say, a, "#r", "x" * 4097)

    def test_announce(self) -> None:
        a, b = self.member("a"), self.member("b")
        self.hub.announce("server shutting down")
        self.assertEqual(
            [e.text for e in a.of(Notice) + b.of(Notice)], ["server shutting down"] * 2
        )


class FloodTests(HubTestCase):
    def test_burst_then_dropped_then_refilled(self) -> None:
        a = self.member("a", "#r")
        self.hub.say(a, "#r", "1")
        self.hub.say(a, "#r", "2")
        e = self.assertCode("flood", self.hub.say, a, "#r", "3")
        self.assertIn("slow down", e.message)
        self.clock.advance(1)
        self.hub.say(a, "#r", "4")
        self.assertEqual([s.text for s in self.hub.recent("#r")], ["1", "2", "4"])
        self.assertIsNone(a.dropped)

    def test_sustained_abuse_disconnects(self) -> None:
        a = self.member("a", "#r")
        for _ in range(2):
            self.hub.say(a, "#r", "ok")
        for _ in range(3):
            self.assertCode("flood", self.hub.say, a, "#r", "spam")
        self.assertEqual(a.dropped, "flooding")
        self.assertEqual(self.hub.counters["dropped.flood"], 3)


class NameTests(SynchronousTestCase):
    def test_rooms(self) -> None:
        self.assertEqual(room_name("lobby"), "#lobby")
        self.assertEqual(room_name("#lobby"), "#lobby")
        self.assertTrue(valid_room("#café"))
        for bad in ("#", "lobby", "#a b", "#a,b", "#" + "x" * 50):
            self.assertFalse(valid_room(bad), bad)

    @settings(max_examples=200, derandomize=True, deadline=None)
    @given(st.text(max_size=40))
    def test_fold_idempotent_and_valid_nicks_stay_valid(self, nick: str) -> None:
        self.assertEqual(fold(fold(nick)), fold(nick))
        if valid_nick(nick):
            self.assertTrue(valid_nick(fold(nick)))
