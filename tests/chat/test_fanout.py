"""
Room messages held while one input chunk runs, then told once per member
(L{netsuite.chat._fanout}): fewer calls, the same sequence for every member.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._events import ChatEvent, Parted, Said
from netsuite.chat._fanout import SaidBatch
from netsuite.chat._hub import Hub
from netsuite.chat._irc_door import IRCChatFactory
from netsuite.chat._line_door import LineChatFactory
from netsuite.stream._write import _cork, corked, hold
from netsuite.testing import RecordingMember

PEER = IPv4Address("TCP", "127.0.0.1", 5000)


class Holder:
    """A cork stand-in: holds one release until the test pops it."""

    def __init__(self) -> None:
        self.release: Callable[[], None] | None = None

    def __call__(self, release: Callable[[], None]) -> bool:
        self.release = release
        return True

    def pop(self) -> None:
        release, self.release = self.release, None
        if release is not None:
            release()


class BatchMember(RecordingMember):
    """A member that takes batches (as the line door does), recording each."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[SaidBatch] = []

    def deliver_many(self, batch: SaidBatch) -> None:
        self.batches.append(batch)
        self.events.extend(batch.events)


def hub_with(holder: Holder) -> tuple[Hub, RecordingMember, BatchMember, RecordingMember]:
    hub = Hub(clock=Clock().seconds, hold=holder, flood_rate=1000, flood_burst=1000)
    alice, bob, carl = RecordingMember(), BatchMember(), RecordingMember()
    for m, nick in ((alice, "alice"), (bob, "bob"), (carl, "carl")):
        hub.connect(m, nick)
        hub.join(m, "#r")
    for m in (alice, bob, carl):
        m.events.clear()
    return hub, alice, bob, carl


def kinds(member: RecordingMember) -> list[str]:
    def name(e: ChatEvent) -> str:
        return f"say {e.text}" if isinstance(e, Said) else type(e).__name__

    return [name(e) for e in member.events]


class FanoutTests(SynchronousTestCase):
    def test_held_until_released_then_one_batch_per_member(self) -> None:
        holder = Holder()
        hub, alice, bob, carl = hub_with(holder)
        for text in ("one", "two", "three"):
            hub.say(alice, "#r", text)
        self.assertEqual(bob.events, [])
        holder.pop()
        self.assertEqual([[s.text for s in b.events] for b in bob.batches],
                         [["one", "two", "three"]])  # fmt: skip
        # A member without deliver_many gets each message, in order; the sender too.
        for m in (alice, carl):
            self.assertEqual(kinds(m), ["say one", "say two", "say three"])
        self.assertEqual(hub.counters["deliveries"], 9)
        self.assertEqual([s.text for s in hub.recent("#r")], ["one", "two", "three"])

    def test_a_single_message_is_told_as_one(self) -> None:
        holder = Holder()
        hub, alice, bob, _carl = hub_with(holder)
        hub.say(alice, "#r", "one")
        holder.pop()
        self.assertEqual(bob.batches, [])
        self.assertEqual(kinds(bob), ["say one"])

    def test_a_join_comes_after_what_was_held(self) -> None:
        """Dave joins mid-chunk: bob sees the two messages, then the join; dave sees
        the join and then the history (not the held messages told live)."""
        holder = Holder()
        hub, alice, bob, _carl = hub_with(holder)
        hub.say(alice, "#r", "one")
        hub.say(alice, "#r", "two")
        dave = RecordingMember()
        hub.connect(dave, "dave")
        hub.join(dave, "#r")
        hub.say(alice, "#r", "three")
        holder.pop()
        self.assertEqual(kinds(bob), ["say one", "say two", "Joined", "say three"])
        self.assertEqual(kinds(dave)[:1], ["Joined"])
        self.assertEqual([e.text for e in dave.of(Said)], ["three"])

    def test_a_part_comes_after_what_was_held(self) -> None:
        holder = Holder()
        hub, alice, bob, carl = hub_with(holder)
        hub.say(alice, "#r", "one")
        hub.part(bob, "#r", "bye")
        hub.say(alice, "#r", "two")
        holder.pop()
        self.assertEqual(kinds(bob), ["say one", "Parted"])
        self.assertEqual(kinds(carl), ["say one", "Parted", "say two"])
        self.assertEqual(len(carl.of(Parted)), 1)

    def test_another_room_and_a_private_message_keep_their_place(self) -> None:
        holder = Holder()
        hub, alice, bob, _carl = hub_with(holder)
        hub.join(alice, "#s")
        hub.join(bob, "#s")
        bob.events.clear()
        hub.say(alice, "#r", "r1")
        hub.say(alice, "#s", "s1")
        hub.private(alice, "bob", "p1")
        hub.say(alice, "#r", "r2")
        holder.pop()
        self.assertEqual(kinds(bob), ["say r1", "say s1", "say p1", "say r2"])

    def test_without_a_hold_told_at_once(self) -> None:
        hub = Hub(clock=Clock().seconds, hold=lambda release: False)
        a, b = RecordingMember(), BatchMember()
        for m, nick in ((a, "a"), (b, "b")):
            hub.connect(m, nick)
            hub.join(m, "#r")
        hub.say(a, "#r", "now")
        self.assertEqual([e.text for e in b.of(Said)], ["now"])

    def test_a_batch_is_encoded_once_for_everyone(self) -> None:
        rendered: list[str] = []

        def render(e: ChatEvent) -> bytes:
            assert isinstance(e, Said)
            rendered.append(e.text)
            return e.text.encode() + b"\n"

        batch = SaidBatch([Said(sender="a", text=t, room="#r") for t in ("x", "y")])
        first = batch.encoded("f", render)
        self.assertIs(batch.encoded("f", render), first)
        self.assertEqual((first, rendered), (b"x\ny\n", ["x", "y"]))


class CorkHoldTests(SynchronousTestCase):
    """L{hold}: the doors' cork runs a held release before a write and at the pop."""

    def test_not_corked_holds_nothing(self) -> None:
        calls: list[int] = []
        self.assertFalse(hold(lambda: calls.append(1)))
        self.assertEqual(calls, [])
        self.assertIsNone(_cork.held)

    def test_released_when_the_cork_pops(self) -> None:
        calls: list[int] = []
        with corked():
            self.assertTrue(hold(lambda: calls.append(_cork.depth)))
            self.assertEqual(calls, [])
        self.assertEqual(calls, [1])  # still corked: what it writes is gathered
        self.assertIsNone(_cork.held)

    def test_a_second_hold_releases_the_first(self) -> None:
        calls: list[str] = []
        with corked():
            hold(lambda: calls.append("first"))
            hold(lambda: calls.append("second"))
            self.assertEqual(calls, ["first"])
        self.assertEqual(calls, ["first", "second"])

    def test_a_release_that_raises_still_pops(self) -> None:
        def broken() -> None:
            raise RuntimeError("boom")

        with self.assertRaises(RuntimeError), corked():
            hold(broken)
        self.assertEqual((_cork.depth, _cork.held), (0, None))


class LineDoorTests(SynchronousTestCase):
    """Through the real line door and cork: one write per member per chunk, in order."""

    def setUp(self) -> None:
        self.clock = Clock()
        self.hub = Hub(clock=self.clock.seconds, hold=hold, flood_rate=1000, flood_burst=1000)
        self.factory = LineChatFactory("chat/line", self.hub, clock=self.clock)
        self.irc = IRCChatFactory("chat/irc", self.hub, clock=self.clock, ping_interval=0)

    def connect_irc(self, nick: str) -> tuple[Any, StringTransport]:
        proto = self.irc.buildProtocol(PEER)
        transport = StringTransport(peerAddress=PEER)
        proto.makeConnection(transport)
        proto.dataReceived(f"NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\nJOIN #lobby\r\n".encode())
        transport.clear()
        return proto, transport

    def connect(self, nick: str) -> tuple[Any, StringTransport]:
        proto = self.factory.buildProtocol(PEER)
        transport = StringTransport(peerAddress=PEER)
        proto.makeConnection(transport)
        proto.dataReceived(f"/nick {nick}\r\n".encode())
        transport.clear()
        return proto, transport

    def test_a_chunk_of_lines_is_one_write_to_each_member(self) -> None:
        alice, _ = self.connect("alice")
        _bob, bob_t = self.connect("bob")
        writes: list[bytes] = []
        bob_t.write = writes.append  # type: ignore[method-assign]
        alice.dataReceived(b"one\r\ntwo\r\nthree\r\n")
        self.assertEqual(len(writes), 1)
        self.assertEqual([line for line in writes[0].split(b"\r\n") if line],
                         [b"[#lobby] <alice> one", b"[#lobby] <alice> two",
                          b"[#lobby] <alice> three"])  # fmt: skip

    def test_an_error_mid_chunk_keeps_its_place(self) -> None:
        """The sender's own reply to a bad command comes between its two messages."""
        alice, alice_t = self.connect("alice")
        alice.dataReceived(b"one\r\n/nosuch\r\ntwo\r\n")
        lines = alice_t.value().split(b"\r\n")
        one = lines.index(b"[#lobby] <alice> one")
        two = lines.index(b"[#lobby] <alice> two")
        [error] = [i for i, line in enumerate(lines) if line.startswith(b"!! ")]
        self.assertLess(one, error)
        self.assertLess(error, two)
        self.assertIsNone(_cork.held)

    def test_an_irc_member_gets_a_chunk_in_one_write(self) -> None:
        alice, _ = self.connect("alice")
        bob, bob_t = self.connect_irc("bob")
        writes: list[bytes] = []
        bob_t.write = writes.append  # type: ignore[method-assign]
        batches: list[int] = []
        many = bob.session.deliver_many
        bob.session.deliver_many = lambda b: (batches.append(len(b.events)), many(b))
        alice.dataReceived(b"one\r\ntwo\r\n")
        self.assertEqual((len(writes), batches), (1, [2]))
        self.assertEqual(writes[0], b":alice!alice@netsuite PRIVMSG #lobby :one\r\n"
                                    b":alice!alice@netsuite PRIVMSG #lobby :two\r\n")  # fmt: skip

    def test_an_irc_sender_is_not_sent_its_own_lines(self) -> None:
        """Without echo-message, a client's own messages are not sent back to it, in a
        batch as one by one; the others get them."""
        carol, carol_t = self.connect_irc("carol")
        _dave, dave_t = self.connect_irc("dave")
        carol.dataReceived(b"PRIVMSG #lobby :one\r\nPRIVMSG #lobby :two\r\n")
        self.assertNotIn(b"PRIVMSG", carol_t.value())
        self.assertEqual(dave_t.value().count(b"PRIVMSG #lobby :"), 2)
