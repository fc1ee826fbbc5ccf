"""
ServiceRoot's drain at shutdown, on a MemoryReactorClock: every port of the whole tree
closes before any drain begins, each drain is bounded by its root's drain_timeout, and
SIGINT during the drain aborts at once (SIGTERM again changes nothing).
"""

from __future__ import annotations

import signal
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from netsuite.twistd._service import ListenerService, ServiceRoot


class FakePort:
    """A listening port whose close completes when the test says (the next turn)."""

    def __init__(self, events: list[str], name: str) -> None:
        self.events, self.name = events, name
        self.closing: Deferred[None] | None = None

    def stopListening(self) -> Deferred[None]:
        self.events.append(f"stop {self.name}")
        self.closing = Deferred()
        return self.closing


class FakeTarget:
    """A drain target that records, and finishes when told (or when aborted)."""

    def __init__(self, events: list[str], name: str) -> None:
        self.events, self.name = events, name
        self.done: Deferred[None] | None = None
        self.timeout: float | None = None

    def drain(self, timeout: float) -> Deferred[None]:
        self.events.append(f"drain {self.name}")
        self.timeout = timeout
        self.done = Deferred()
        return self.done

    def abort(self) -> None:
        self.events.append(f"abort {self.name}")
        if self.done is not None and not self.done.called:
            self.done.callback(None)


class Root(ServiceRoot):
    def __init__(self, name: str, reactor: Any, targets: list[FakeTarget], events: list[str]):
        super().__init__(name, reactor)
        self.targets, self.events = targets, events

    def begin_drain(self) -> None:
        self.events.append(f"begin {self.name}")

    def drain_targets(self) -> list[Any]:
        return list(self.targets)


def listener(parent: ServiceRoot, events: list[str], name: str) -> FakePort:
    service = ListenerService(name, "tcp:0", None, None)
    port = FakePort(events, name)
    service.port = port  # type: ignore[assignment]  # a fake of IListeningPort
    service.setServiceParent(parent)
    return port


class ShutdownOrderTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.events: list[str] = []
        self.reactor = MemoryReactorClock()
        self.top = Root("suite", self.reactor, [], self.events)
        self.signals: dict[int, Any] = {}
        self.top.install_signal = self.signals.__setitem__
        self.chat_target = FakeTarget(self.events, "chat")
        self.web_target = FakeTarget(self.events, "web")
        self.chat = Root("chat", self.reactor, [self.chat_target], self.events)
        self.chat.drain_timeout = 3.0
        self.web = Root("web", self.reactor, [self.web_target], self.events)
        self.web.drain_timeout = 7.0
        self.chat.setServiceParent(self.top)
        self.web.setServiceParent(self.top)
        self.ports = [
            listener(self.chat, self.events, "chat/line"),
            listener(self.web, self.events, "web/http"),
        ]

    def test_ports_close_before_any_drain(self) -> None:
        stopped = self.top.stopService()
        # Every port of the tree is asked to close, and nothing drains yet.
        self.assertEqual(self.events, ["stop chat/line", "stop web/http"])
        self.assertFalse(self.top.draining)
        self.assertEqual(self.signals, {})
        for port in self.ports:
            assert port.closing is not None
            port.closing.callback(None)
        # Once closed: each root begins its drain, then the targets drain, each with
        # its own root's timeout; the drain's signal handlers are in place.
        self.assertEqual(
            self.events[2:], ["begin suite", "begin chat", "begin web", "drain chat", "drain web"]
        )
        self.assertEqual((self.chat_target.timeout, self.web_target.timeout), (3.0, 7.0))
        self.assertTrue(self.chat.draining and self.web.draining and self.top.draining)
        self.assertEqual(set(self.signals), {signal.SIGINT, signal.SIGTERM})
        self.assertNoResult(stopped)
        assert self.chat_target.done is not None and self.web_target.done is not None
        self.chat_target.done.callback(None)
        self.assertNoResult(stopped)  # the web still drains
        self.web_target.done.callback(None)
        self.successResultOf(stopped)
        self.assertFalse(self.top.running or self.chat.running or self.web.running)

    def test_stop_twice_is_one_shutdown(self) -> None:
        first = self.top.stopService()
        self.assertIs(self.top.shutdown(), first)
        self.assertEqual(self.events, ["stop chat/line", "stop web/http"])

    def _drain_begun(self) -> Deferred[object]:
        stopped = self.top.stopService()
        for port in self.ports:
            assert port.closing is not None
            port.closing.callback(None)
        return stopped

    def test_sigint_during_drain_aborts_now(self) -> None:
        stopped = self._drain_begun()
        self.assertNoResult(stopped)
        self.signals[signal.SIGINT](signal.SIGINT, None)
        self.assertIn("abort chat", self.events)
        self.assertIn("abort web", self.events)
        self.successResultOf(stopped)

    def test_sigterm_again_keeps_draining(self) -> None:
        stopped = self._drain_begun()
        self.signals[signal.SIGTERM](signal.SIGTERM, None)
        self.assertNotIn("abort chat", self.events)
        self.assertNoResult(stopped)

    def test_no_signals_on_a_test_reactor(self) -> None:
        """Without an installer, a reactor with no callFromThread gets none installed."""
        self.top.install_signal = None
        self._drain_begun()  # does not touch this process's signal handlers


class NestedRootTests(SynchronousTestCase):
    def test_sub_root_alone_drains_itself(self) -> None:
        """A service's root run on its own (twistd netsuite-chat) is the top: it drains."""
        events: list[str] = []
        target = FakeTarget(events, "chat")
        root = Root("chat", MemoryReactorClock(), [target], events)
        root.install_signal = lambda *a: None
        port = listener(root, events, "chat/line")
        stopped = root.stopService()
        assert port.closing is not None
        port.closing.callback(None)
        self.assertEqual(events, ["stop chat/line", "begin chat", "drain chat"])
        assert target.done is not None
        target.done.callback(None)
        self.successResultOf(stopped)

    def test_no_targets_no_ports(self) -> None:
        root = Root("empty", MemoryReactorClock(), [], [])
        self.successResultOf(root.stopService())
