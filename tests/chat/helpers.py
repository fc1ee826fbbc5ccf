"""
Line-door sessions for hub tests. Hub members that record what they are told come from
the kit (L{netsuite.testing.RecordingMember}, here under its old name L{Recorder}).
"""

from __future__ import annotations

from netsuite.chat._hub import Hub
from netsuite.chat._line import LineSession
from netsuite.testing import RecordingMember as Recorder

__all__ = ["Recorder", "line_session", "text"]


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
