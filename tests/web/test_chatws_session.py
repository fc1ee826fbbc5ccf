"""The WebSocket chat door's sans-IO session: JSON requests in, JSON events out."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._events import Joined, Said
from netsuite.chat._hub import TEXT_MAX, Hub
from netsuite.chat._line import LineSession
from netsuite.testing import RecordingMember as Recorder
from netsuite.testing import hub_on_clock
from netsuite.web._chatws_session import CloseCode, WebChatSession, render


class Browser:
    """A started session, what it sent (decoded) and how it was closed."""

    def __init__(self, hub: Hub, nick: str | None = None, **kw: Any) -> None:
        self.sent: list[str] = []
        self.closes: list[tuple[int, str]] = []
        self.session = WebChatSession(
            hub, self.sent.append, lambda code, reason: self.closes.append((code, reason)), **kw
        )
        self.session.start(nick)

    def request(self, **fields: Any) -> list[dict[str, Any]]:
        """Send one request; return what came back for it (and what it caused)."""
        return self.raw(json.dumps(fields))

    def raw(self, text: str) -> list[dict[str, Any]]:
        before = len(self.sent)
        self.session.text_received(text)
        return [json.loads(t) for t in self.sent[before:]]

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(t) for t in self.sent]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.all() if m["type"] == kind]

    def clear(self) -> None:
        del self.sent[:]


class SessionTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.hub, self.clock = hub_on_clock()

    def test_welcome_guest_lobby(self) -> None:
        b = Browser(self.hub)
        welcome, joined = b.all()
        self.assertEqual(welcome["type"], "welcome")
        self.assertEqual(welcome["nick"], "guest1")
        self.assertEqual(welcome["limits"], {"text": TEXT_MAX, "message": 65536, "history": 100})
        self.assertEqual(joined, {"type": "joined", "room": "#lobby", "nick": "guest1"})
        self.assertEqual(self.hub.rooms_of(b.session), ["#lobby"])

    def test_say_reaches_every_door_once_rendered(self) -> None:
        alice, bob = Browser(self.hub, "alice"), Browser(self.hub, "bob")
        line_out: list[bytes] = []
        line = LineSession(self.hub, line_out.append, lambda reason: None)
        line.start("carol")
        alice.clear()
        bob.clear()
        self.assertEqual(alice.request(type="say", room="#lobby", text="hello"), [
            {"type": "said", "room": "#lobby", "from": "alice", "text": "hello", "kind": "say",
             "when": 1000.0, "seq": 1},
        ])  # fmt: skip
        self.assertEqual(bob.of("said")[0]["text"], "hello")
        self.assertIn(b"[#lobby] <alice> hello\r\n", line_out)
        # One JSON text for both browsers: the same object, rendered once.
        self.assertIs(alice.sent[-1], bob.sent[-1])
        line.line_received(b"hi from the line door")
        self.assertEqual(alice.of("said")[-1]["from"], "carol")

    def test_me_msg_nick_topic(self) -> None:
        alice, bob = Browser(self.hub, "alice"), Browser(self.hub, "bob")
        alice.clear()
        bob.clear()
        alice.request(type="me", room="lobby", text="waves")
        self.assertEqual(bob.of("said")[-1]["kind"], "action")
        got = alice.request(type="msg", to="BOB", text="psst")
        self.assertEqual(got[0]["room"], None)
        self.assertEqual((got[0]["from"], got[0]["to"]), ("alice", "bob"))
        self.assertEqual(bob.of("said")[-1]["to"], "bob")
        alice.request(type="nick", nick="alicia")
        self.assertEqual(bob.of("renamed"), [{"type": "renamed", "old": "alice", "new": "alicia"}])
        self.assertEqual(alice.session.nick, "alicia")
        alice.request(type="topic", room="#lobby", topic="plans")
        self.assertEqual(
            bob.of("topic")[-1],
            {"type": "topic", "room": "#lobby", "topic": "plans", "by": "alicia"},
        )
        self.assertEqual(bob.request(type="topic", room="#lobby", id="t1"), [
            {"type": "topic", "room": "#lobby", "topic": "plans", "by": "alicia", "id": "t1"},
        ])  # fmt: skip

    def test_join_part_who_rooms(self) -> None:
        alice, bob = Browser(self.hub, "alice"), Browser(self.hub, "bob")
        got = alice.request(type="join", room="#dev")
        self.assertEqual(got[0], {"type": "joined", "room": "#dev", "nick": "alice"})
        bob.request(type="join", room="dev")
        self.assertEqual(alice.of("joined")[-1], {"type": "joined", "room": "#dev", "nick": "bob"})
        self.assertEqual(alice.request(type="join", room="#DEV")[0]["already"], True)
        self.assertEqual(
            alice.request(type="who", room="#dev", id=7),
            [{"type": "who", "room": "#dev", "nicks": ["alice", "bob"], "id": 7}],
        )
        rooms = alice.request(type="rooms")[0]["rooms"]
        self.assertEqual([(r["name"], r["members"]) for r in rooms], [("#dev", 2), ("#lobby", 2)])
        bob.request(type="part", room="#dev", reason="bye")
        self.assertEqual(
            alice.of("parted")[-1],
            {"type": "parted", "room": "#dev", "nick": "bob", "reason": "bye"},
        )
        self.assertEqual(self.hub.rooms_of(bob.session), ["#lobby"])

    def test_history_replayed_on_join_and_asked(self) -> None:
        alice = Browser(self.hub, "alice")
        for i in range(5):
            self.clock.advance(1)
            alice.request(type="say", room="#lobby", text=f"m{i}")
        bob = Browser(self.hub, "bob")
        replays = [m for m in bob.of("said") if m.get("replay")]
        self.assertEqual([m["text"] for m in replays], ["m0", "m1", "m2", "m3", "m4"])
        history = bob.request(type="history", room="#lobby", count=2, id="h")
        self.assertEqual(len(history), 1)
        self.assertEqual(history[0]["type"], "history")
        self.assertEqual(history[0]["id"], "h")
        self.assertEqual([m["text"] for m in history[0]["messages"]], ["m3", "m4"])
        self.assertEqual(history[0]["messages"][0]["when"], 1004.0)
        self.assertEqual(bob.request(type="history", room="#lobby", count=0)[0]["messages"], [])
        everything = bob.request(type="history", room="#lobby", count=10**9)[0]["messages"]
        self.assertEqual(len(everything), 5)

    def test_errors_one_each_connection_stays(self) -> None:
        alice = Browser(self.hub, "alice")
        Browser(self.hub, "bob")
        cases = [
            ('{"type": "say", "room": "#nowhere", "text": "x"}', "no_such_room"),
            ('{"type": "say", "room": "#lobby", "text": ""}', "bad_request"),
            ('{"type": "say", "room": "#lobby", "text": "\\u0007"}', "no_text"),
            (
                '{"type": "say", "room": "#lobby", "text": "%s"}' % ("x" * (TEXT_MAX + 1)),
                "too_long",
            ),
            ('{"type": "say", "room": 5, "text": "x"}', "bad_request"),
            ('{"type": "msg", "to": "nobody", "text": "x"}', "no_such_nick"),
            ('{"type": "nick", "nick": "BOB"}', "nick_in_use"),
            ('{"type": "nick", "nick": "9lives"}', "erroneous_nick"),
            ('{"type": "join", "room": "#a b"}', "no_such_room"),
            ('{"type": "part", "room": "#elsewhere"}', "not_on_room"),
            ('{"type": "history", "room": "#lobby", "count": -1}', "bad_request"),
            ('{"type": "history", "room": "#lobby", "count": true}', "bad_request"),
            ('{"type": "who", "room": "#nowhere"}', "no_such_room"),
            ('{"type": "frob"}', "unknown_type"),
            ("[1, 2]", "bad_request"),
            ('{"room": "#lobby"}', "bad_request"),
            ('{"type": "rooms", "id": [1]}', "bad_request"),
            ("{not json", "bad_json"),
            ("[" * 100_000, "bad_json"),
        ]
        for text, code in cases:
            got = alice.raw(text)
            self.assertEqual(len(got), 1, text)
            self.assertEqual((got[0]["type"], got[0]["code"]), ("error", code), text)
            self.assertTrue(got[0]["message"], text)
            alice.request(type="rooms")  # a good request in between: never "too many bad"
        self.assertEqual(alice.closes, [])
        self.assertEqual(alice.raw('{"type": "frob", "id": "x1"}')[0]["id"], "x1")
        self.assertEqual(alice.raw('{"type": "frob"}')[0]["request"], "frob")
        self.assertEqual(len(alice.raw(json.dumps({"type": "x" * 5000}))[0]["request"]), 40)

    def test_bad_requests_in_a_row_close_at_the_limit(self) -> None:
        alice = Browser(self.hub, "alice", bad_limit=3)
        alice.raw("nope")
        alice.raw("nope")
        self.assertEqual(alice.closes, [])
        alice.raw("nope")
        self.assertEqual(alice.closes, [(CloseCode.POLICY, "too many bad requests")])
        self.assertFalse(self.hub.is_connected(alice.session))
        self.assertEqual(alice.raw('{"type": "rooms"}'), [])  # closed: nothing more

    def test_flood_hub_limit_then_kick(self) -> None:
        hub = Hub(clock=self.clock.seconds, flood_rate=1, flood_burst=2, flood_kick=3)
        alice, bob = Browser(hub, "alice"), Browser(hub, "bob")
        bob.clear()
        got = [alice.request(type="say", room="#lobby", text=str(i)) for i in range(4)]
        self.assertEqual(got[2][0]["code"], "flood")
        self.assertEqual(len(bob.of("said")), 2)
        self.assertEqual(alice.closes, [])
        alice.request(type="say", room="#lobby", text="again")
        self.assertEqual(alice.closes, [(CloseCode.POLICY, "flooding")])
        self.assertEqual(
            bob.of("quit")[-1], {"type": "quit", "nick": "alice", "reason": "flooding"}
        )

    def test_request_bucket_covers_every_request(self) -> None:
        """history/who/rooms are not said, yet each costs output: the session's bucket."""
        alice = Browser(self.hub, "alice", request_rate=1, request_burst=3, request_kick=4)
        for _ in range(3):
            self.assertEqual(alice.request(type="rooms")[0]["type"], "rooms")
        self.assertEqual(alice.request(type="rooms")[0]["code"], "flood")
        self.clock.advance(1)  # one token back
        self.assertEqual(alice.request(type="rooms")[0]["type"], "rooms")
        for _ in range(3):
            self.assertEqual(alice.request(type="who", room="#lobby")[0]["code"], "flood")
        self.assertEqual(alice.closes, [])
        alice.request(type="rooms")
        self.assertEqual(alice.closes, [(CloseCode.POLICY, "flooding")])

    def test_text_is_scrubbed_of_control_characters(self) -> None:
        alice, other = Browser(self.hub, "alice"), Recorder()
        self.hub.connect(other, "irc_user")
        self.hub.join(other, "#lobby")
        alice.request(type="say", room="#lobby", text="bell\x07 \x1b[31mred\r\nQUIT tab\there")
        said = other.of(Said)[-1]
        self.assertEqual(said.text, "bell [31mredQUIT tab here")

    def test_events_from_the_hub(self) -> None:
        b = Browser(self.hub, "alice")
        b.clear()
        self.hub.announce("maintenance at noon")
        other = Recorder()
        self.hub.connect(other, "zed")
        self.hub.join(other, "#lobby")
        self.hub.quit(other, "gone")
        self.assertEqual(b.all(), [
            {"type": "notice", "text": "maintenance at noon"},
            {"type": "joined", "room": "#lobby", "nick": "zed"},
            {"type": "quit", "nick": "zed", "reason": "gone"},
        ])  # fmt: skip

    def test_render_is_cached_per_event(self) -> None:
        event = Joined(room="#x", nick="a")
        self.assertIs(event.encoded("ws", render), event.encoded("ws", render))

    def test_quit_binary_and_end(self) -> None:
        alice, bob = Browser(self.hub, "alice"), Browser(self.hub, "bob")
        alice.request(type="quit", reason="see you")
        self.assertEqual(alice.closes, [(CloseCode.NORMAL, "see you")])
        self.assertEqual(bob.of("quit")[-1]["reason"], "see you")
        bob.session.binary_received()
        self.assertEqual(bob.closes[0][0], CloseCode.UNSUPPORTED)
        self.assertEqual(self.hub.members(), [])
        bob.session.end(CloseCode.GOING_AWAY, "again")  # once only
        self.assertEqual(len(bob.closes), 1)

    def test_lost_leaves_the_hub_without_a_close(self) -> None:
        alice, bob = Browser(self.hub, "alice"), Browser(self.hub, "bob")
        alice.session.lost("connection lost")
        self.assertEqual(alice.closes, [])
        self.assertEqual(bob.of("quit")[-1]["reason"], "connection lost")
        self.hub.announce("after")
        self.assertNotIn("after", "".join(alice.sent))


_KEYS = st.sampled_from(["type", "room", "text", "to", "nick", "count", "topic", "id", "reason"])
_TYPES = st.sampled_from(["join", "part", "say", "me", "msg", "nick", "history", "who", "rooms",
                          "topic", "quit", "frob", ""])  # fmt: skip
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
    st.text(max_size=40), _TYPES, st.sampled_from(["#lobby", "lobby", "#x", "alice", "bob"]),
)  # fmt: skip
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


class FuzzTests(SynchronousTestCase):
    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(st.lists(st.one_of(
        st.dictionaries(_KEYS, _VALUES, max_size=5).map(json.dumps),
        st.fixed_dictionaries({"type": _TYPES}, optional={
            "room": _VALUES, "text": _VALUES, "to": _VALUES, "nick": _VALUES,
            "count": _VALUES, "topic": _VALUES, "id": _VALUES}).map(json.dumps),
        st.text(max_size=60),
    ), max_size=8))  # fmt: skip
    def test_any_text_answers_or_closes_never_raises(self, texts: list[str]) -> None:
        """Whatever a browser sends: JSON objects with a type come back, or a close."""
        hub, _clock = hub_on_clock()
        alice, bob = Browser(hub, "alice"), Browser(hub, "bob")
        for text in texts:
            alice.raw(text)
        for message in alice.all() + bob.all():
            self.assertIsInstance(message.get("type"), str)
        for code, reason in alice.closes:
            self.assertIn(code, (CloseCode.NORMAL, CloseCode.POLICY))
            self.assertTrue(reason)
        self.assertEqual(hub.is_connected(alice.session), not alice.closes)


class ExportTests(SynchronousTestCase):
    def test_public_names_exist(self) -> None:
        from netsuite.web import _chatws as chatws
        from netsuite.web import _chatws_session as chatws_session
        from netsuite.web import _ui as ui
        from netsuite.web import _wsguard as wsguard

        for module in (chatws, chatws_session, ui, wsguard):
            for name in module.__all__:
                self.assertTrue(hasattr(module, name), f"{module.__name__}.{name}")
