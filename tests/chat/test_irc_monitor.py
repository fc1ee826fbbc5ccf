"""
IRCv3 MONITOR (ircv3.net/specs/extensions/monitor) on the IRC door: every subcommand,
730-734, the list limit at n and n + 1, and the news on connect, quit and nick change,
from any door; and the hub's index, whose cost per event does not grow with the lists.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._monitor import Monitors
from netsuite.testing import hub_on_clock

from .helpers import line_session
from .test_irc import feed, lines
from .test_irc_caps import negotiated


class MonitorCase(SynchronousTestCase):
    monitor_max = 100

    def setUp(self) -> None:
        self.hub, self.clock = hub_on_clock(
            flood_rate=100, flood_burst=100, monitor_max=self.monitor_max
        )
        self.foo, self.out, _ = negotiated(self.hub, "foo")

    def ask(self, line: str) -> list[str]:
        """What C{line} is answered (the output is cleared before and after)."""
        self.out.clear()
        feed(self.foo, line)
        return self.news()

    def news(self) -> list[str]:
        got = lines(self.out)
        self.out.clear()
        return got


class MonitorTests(MonitorCase):
    def test_add_offline_then_connect_then_quit(self) -> None:
        """'If any of the targets being added are offline ... RPL_MONOFFLINE'."""
        self.assertEqual(self.ask("MONITOR + bar"), [":netsuite 731 foo :bar"])
        bar, _, _ = negotiated(self.hub, "bar")
        self.assertEqual(self.news(), [":netsuite 730 foo :bar!bar@netsuite"])
        feed(bar, "QUIT :bye")
        self.assertEqual(self.news(), [":netsuite 731 foo :bar"])

    def test_add_online_and_offline(self) -> None:
        negotiated(self.hub, "bar")
        self.assertEqual(
            self.ask("MONITOR + bar,baz"),
            [":netsuite 730 foo :bar!bar@netsuite", ":netsuite 731 foo :baz"],
        )

    def test_remove_and_clear_answer_nothing(self) -> None:
        self.ask("MONITOR + bar,baz")
        self.assertEqual(self.ask("MONITOR - bar"), [])
        negotiated(self.hub, "bar")
        self.assertEqual(self.news(), [])
        self.assertEqual(self.ask("MONITOR C"), [])
        self.assertEqual(self.ask("MONITOR L"), [":netsuite 733 foo :End of MONITOR list"])

    def test_list(self) -> None:
        self.ask("MONITOR + qux,bazbat")
        self.assertEqual(
            self.ask("MONITOR L"),
            [":netsuite 732 foo :qux,bazbat", ":netsuite 733 foo :End of MONITOR list"],
        )

    def test_status(self) -> None:
        self.ask("MONITOR + bar,baz")
        negotiated(self.hub, "bar")
        self.assertEqual(
            self.ask("MONITOR S"),
            [":netsuite 730 foo :bar!bar@netsuite", ":netsuite 731 foo :baz"],
        )

    def test_masks_are_not_watched(self) -> None:
        """'target MUST be a valid nick': a mask is skipped, and never matches."""
        self.assertEqual(self.ask("MONITOR + *!username@localhost"), [])
        negotiated(self.hub, "username")
        self.assertEqual(self.news(), [])

    def test_nick_change(self) -> None:
        """A rename is offline for the old nick, online for the new; a case change nothing."""
        self.ask("MONITOR + qux")
        baz, _, _ = negotiated(self.hub, "baz")
        self.assertEqual(self.news(), [])
        feed(baz, "NICK qux")
        self.assertEqual(self.news(), [":netsuite 730 foo :qux!qux@netsuite"])
        feed(baz, "NICK QUX")
        self.assertEqual(self.news(), [])
        feed(baz, "NICK bazbat")
        self.assertEqual(self.news(), [":netsuite 731 foo :QUX"])

    def test_other_doors_count(self) -> None:
        self.ask("MONITOR + lena")
        line_session(self.hub, "lena")
        self.assertEqual(self.news(), [":netsuite 730 foo :lena!lena@netsuite"])

    def test_watcher_leaving_forgets_its_list(self) -> None:
        self.ask("MONITOR + bar")
        feed(self.foo, "QUIT")
        self.assertEqual(self.hub.monitors.targets(self.foo), [])
        self.assertEqual(self.hub.monitors._watchers, {})

    def test_errors(self) -> None:
        refused = [":netsuite 461 foo MONITOR :Not enough parameters"]
        self.assertEqual(self.ask("MONITOR"), refused)
        self.assertEqual(self.ask("MONITOR +"), refused)

    def test_isupport(self) -> None:
        self.assertIn("MONITOR=100", self.foo.isupport())


class LimitTests(MonitorCase):
    """C{--monitor-max}: n nicks fit, the n + 1st gets 734 with the ones left out."""

    monitor_max = 3

    def test_n_fit(self) -> None:
        got = self.ask("MONITOR + a,b,c")
        self.assertEqual(got, [":netsuite 731 foo :a,b,c"])
        # Already watched: its status again, and no room taken (no 734).
        self.assertEqual(self.ask("MONITOR + a"), [":netsuite 731 foo :a"])

    def test_n_plus_one_refused(self) -> None:
        got = self.ask("MONITOR + a,b,c,d,e")
        self.assertEqual(
            got, [":netsuite 731 foo :a,b,c", ":netsuite 734 foo 3 d,e :Monitor list is full"]
        )
        self.assertEqual(self.hub.monitors.targets(self.foo), ["a", "b", "c"])
        self.assertIn("MONITOR=3", self.foo.isupport())


class IndexTests(SynchronousTestCase):
    """The index both ways: an event visits only the watchers of that nick."""

    def test_event_cost_is_the_watchers_of_that_nick(self) -> None:
        told: list[tuple[str, bool]] = []

        class Watcher:
            def __init__(self, every: list[tuple[str, bool]]) -> None:
                self.every = every

            def presence(self, nick: str, online: bool) -> None:
                self.every.append((nick, online))

        monitors = Monitors(limit=50)
        watchers = [Watcher(told) for _ in range(200)]
        for index, watcher in enumerate(watchers):
            monitors.add(watcher, [f"n{index}_{k}" for k in range(50)])
        monitors.add(watchers[0], ["shared"])  # full: refused
        monitors.add(watchers[1], ["n0_0"])
        monitors.changed("N0_0", True)
        self.assertEqual(told, [("N0_0", True)])  # watchers[1] was full too
        monitors.remove(watchers[0], ["n0_0"])
        told.clear()
        monitors.changed("n0_0", False)
        self.assertEqual(told, [])
        for watcher in watchers:
            monitors.clear(watcher)
        self.assertEqual((monitors._watchers, monitors._lists), ({}, {}))
