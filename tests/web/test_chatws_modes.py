"""The WebSocket chat door and the rooms' operators: mode, kick, invite events as JSON."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import RecordingMember as Recorder
from netsuite.testing import hub_on_clock

from .test_chatws_session import Browser


class ModeEventTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.hub, self.clock = hub_on_clock()
        self.op = Recorder()
        self.hub.connect(self.op, "op")
        self.hub.join(self.op, "#x")
        self.browser = Browser(self.hub, "web")
        self.browser.request(type="join", room="#x")
        self.browser.clear()

    def test_mode_change(self) -> None:
        self.hub.change_modes(self.op, "#x", "+vm", ["web"])
        self.assertEqual(
            self.browser.all(),
            [{"type": "mode", "room": "#x", "by": "op", "changes": "+vm", "args": ["web"]}],
        )

    def test_kick(self) -> None:
        self.hub.kick(self.op, "#x", "web", "bye")
        self.assertEqual(
            self.browser.all(),
            [{"type": "kicked", "room": "#x", "nick": "web", "by": "op", "reason": "bye"}],
        )

    def test_invite(self) -> None:
        self.hub.part(self.browser.session, "#x")  # type: ignore[arg-type]
        self.browser.clear()
        self.hub.invite(self.op, "web", "#x")
        self.assertEqual(
            self.browser.all(), [{"type": "invited", "room": "#x", "nick": "web", "by": "op"}]
        )

    def test_join_with_a_key_and_refusals(self) -> None:
        self.hub.change_modes(self.op, "#x", "+k", ["sekrit"])
        other = Browser(self.hub, "other")
        [error] = other.request(type="join", room="#x")
        self.assertEqual((error["type"], error["code"]), ("error", "bad_key"))
        [joined] = other.request(type="join", room="#x", key="sekrit")
        self.assertEqual(joined, {"type": "joined", "room": "#x", "nick": "other"})
        [error] = other.request(type="join", room="#y", key=5)
        self.assertEqual(error["code"], "bad_request")
