"""In-memory members for hub tests: they record what the hub tells them."""

from __future__ import annotations

from netsuite.chat._events import ChatEvent
from netsuite.chat._hub import Hub
from netsuite.chat._line import LineSession


class Recorder:
    """A hub member that keeps every event it is given."""

    door = "test"

    def __init__(self) -> None:
        self.nick = ""
        self.events: list[ChatEvent] = []
        self.dropped: str | None = None

    def deliver(self, event: ChatEvent) -> None:
        self.events.append(event)

    def disconnect(self, reason: str) -> None:
        self.dropped = reason

    def of(self, kind: type) -> list:  # type: ignore[type-arg]
        return [e for e in self.events if isinstance(e, kind)]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def line_session(
    hub: Hub, nick: str | None = None, **kw
) -> tuple[LineSession, list[bytes], list[str]]:  # type: ignore[no-untyped-def]
    """A started line-door session whose output and close reason are collected."""
    out: list[bytes] = []
    closed: list[str] = []
    session = LineSession(hub, out.append, closed.append, **kw)
    session.start(nick)
    return session, out, closed


def text(out: list[bytes]) -> str:
    return b"".join(out).decode()
