"""History off (C{--history 0}) and at its least on value (1): the hub, and the option."""

from __future__ import annotations

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat import tap
from netsuite.chat._events import Replayed, Said
from netsuite.testing import hub_on_clock

from .helpers import Recorder


class HubHistoryTests(SynchronousTestCase):
    def talk(self, history: int) -> tuple[list[str], list[str]]:
        """Three lines said in #r, then a newcomer joins: (what it was replayed, recent)."""
        hub, clock = hub_on_clock(history=history)
        a = Recorder()
        hub.connect(a, "a")
        hub.join(a, "#r")
        for i in range(3):
            clock.advance(1)
            hub.say(a, "#r", f"m{i}")
        b = Recorder()
        hub.connect(b, "b")
        hub.join(b, "#r")
        self.assertEqual(len(a.of(Said)), 3)  # history or not, everyone present hears it
        replayed = [e.said.text for e in b.of(Replayed)]
        return replayed, [s.text for s in hub.recent("#r")]

    def test_zero_keeps_and_replays_nothing(self) -> None:
        self.assertEqual(self.talk(0), ([], []))

    def test_one_keeps_the_last(self) -> None:
        self.assertEqual(self.talk(1), (["m2"], ["m2"]))

    def test_negative_refused(self) -> None:
        with self.assertRaises(ValueError):
            hub_on_clock(history=-1)


class HistoryOptionTests(SynchronousTestCase):
    def parse(self, *args: str) -> tap.Options:
        options = tap.Options()
        options.parseOptions(list(args))
        return options

    def test_zero_and_one_accepted(self) -> None:
        for value in (0, 1):
            options = self.parse("--history", str(value))
            self.assertEqual(options["history"], value)
            self.assertEqual(tap.makeService(options).hub.history, value)

    def test_negative_refused(self) -> None:
        with self.assertRaises(usage.UsageError) as e:
            self.parse("--history", "-1")
        self.assertIn("--history must be 0 or more, not -1", str(e.exception))
