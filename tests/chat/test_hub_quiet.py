"""
Quiet rooms: above C{quiet_above} members, joins, parts and quits are told only to the
member concerned and to recent speakers, so a room's notices grow with its size, not
with its square. The joiner always gets its own join (IRC's JOIN echo; NAMES is the
door's, from L{Hub.who}, and lists everyone).
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._events import Joined, Parted, Quit
from netsuite.chat._hub import QUIET_ABOVE, QUIET_RECENT
from netsuite.testing import RecordingMember, hub_on_clock


def crowd(count: int, **options: object) -> tuple[object, object, list[RecordingMember]]:
    hub, clock = hub_on_clock(**options)  # type: ignore[arg-type]
    members = []
    for i in range(count):
        m = RecordingMember()
        hub.connect(m, f"m{i}")
        hub.join(m, "#lobby")
        members.append(m)
    return hub, clock, members


def notices(members: list[RecordingMember]) -> int:
    return sum(len(m.of(Joined)) + len(m.of(Parted)) + len(m.of(Quit)) for m in members)


class QuietJoinTests(SynchronousTestCase):
    def test_defaults(self) -> None:
        self.assertEqual((QUIET_ABOVE, QUIET_RECENT), (500, 600.0))

    def test_2000_joins_linear(self) -> None:
        """
        2,000 joins: the first 500 told to everyone (500*501/2), each later one to its
        joiner only: 126,750 notices, where telling everyone made 2,001,000.
        """
        _, _, members = crowd(2000)
        self.assertEqual(notices(members), 500 * 501 // 2 + 1500)
        _, _, more = crowd(4000)
        self.assertEqual(notices(more) - notices(members), 2000)  # one per extra joiner

    def test_threshold_n_and_n_plus_one(self) -> None:
        """The join that makes the room quiet_above strong is told to all; the next is not."""
        hub, _, members = crowd(4, quiet_above=5)
        fifth, sixth = RecordingMember(), RecordingMember()
        hub.connect(fifth, "fifth")
        hub.join(fifth, "#lobby")
        self.assertTrue(all(m.of(Joined)[-1].nick == "fifth" for m in members))
        hub.connect(sixth, "sixth")
        hub.join(sixth, "#lobby")
        self.assertEqual([m.of(Joined)[-1].nick for m in [*members, fifth]], ["fifth"] * 5)
        self.assertEqual([e.nick for e in sixth.of(Joined)], ["sixth"])  # its own echo
        self.assertEqual(len(hub.who("#lobby")), 6)  # NAMES lists everyone

    def test_recent_speakers_are_told(self) -> None:
        hub, clock, members = crowd(6, quiet_above=5)
        talker, silent = members[0], members[1]
        hub.say(talker, "#lobby", "hi")
        late = RecordingMember()
        hub.connect(late, "late")
        hub.join(late, "#lobby")
        self.assertEqual(talker.of(Joined)[-1].nick, "late")
        self.assertNotEqual(silent.of(Joined)[-1].nick, "late")
        hub.part(late, "#lobby")
        self.assertEqual([p.nick for p in talker.of(Parted)], ["late"])
        self.assertEqual([p.nick for p in late.of(Parted)], ["late"])  # its own PART echo
        self.assertEqual(silent.of(Parted), [])
        clock.advance(QUIET_RECENT + 1)  # the talker has been silent too long
        hub.quit(members[5])
        self.assertEqual(talker.of(Quit), [])

    def test_quiet_off(self) -> None:
        _, _, members = crowd(30, quiet_above=0)
        self.assertEqual(notices(members), 30 * 31 // 2)

    def test_quit_in_big_room_linear(self) -> None:
        """Everyone leaving a 2,000 room (as at shutdown): quits told to recent speakers only."""
        hub, _, members = crowd(2000)
        before = notices(members)
        for m in members:
            hub.quit(m)
        # 1,500 quits from a quiet room (to no one: no one spoke), then 500 told to all left.
        self.assertEqual(notices(members) - before, 499 * 500 // 2)
