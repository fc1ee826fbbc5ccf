"""
What the chat hub tells members: small immutable events, rendered once per door format.

A room message is one event object delivered to every member of the room; each door
renders it to its wire format through L{ChatEvent.encoded}, which caches the bytes per
format, so a message to 500 members is encoded once per door, not 500 times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ChatError",
    "ChatEvent",
    "Invited",
    "Joined",
    "Kicked",
    "ModeChanged",
    "Notice",
    "Parted",
    "Quit",
    "Renamed",
    "Replayed",
    "Said",
    "TopicChanged",
]


class ChatError(Exception):
    """
    A request the hub refuses. C{code} names the case (and maps to an IRC numeric in
    L{IRC_NUMERICS}); the message is fit to show to the person as it is.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, eq=False)
class ChatEvent:
    """Base of every event; C{_wire} caches its encodings by door format."""

    _wire: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def encoded(self, fmt: str, render: Callable[[ChatEvent], Any]) -> Any:
        """C{render(self)}, computed once per C{fmt} however many members receive it."""
        wire = self._wire
        data = wire.get(fmt)
        if data is None:
            data = wire[fmt] = render(self)
        return data


@dataclass(frozen=True, eq=False, init=False)
class Said(ChatEvent):
    """
    A message. C{room} is set for a room message, C{target} (a nick) for a private one.
    C{kind} is C{"say"}, C{"action"} (/me) or C{"notice"}.
    """

    sender: str = ""
    text: str = ""
    room: str | None = None
    target: str | None = None
    kind: str = "say"
    when: float = 0.0
    seq: int = 0
    #: The message's id across every process of the hub (IRC C{msgid}, the backbone's
    #: dedupe key): C{""} until the hub gives it one.
    mid: str = ""

    def __init__(
        self,
        sender: str = "",
        text: str = "",
        room: str | None = None,
        target: str | None = None,
        kind: str = "say",
        when: float = 0.0,
        seq: int = 0,
        mid: str = "",
    ) -> None:
        # The dataclass's own __init__ for a frozen class sets each field through
        # object.__setattr__: one message each time anyone speaks, it was about a tenth
        # of the hub's time in a busy room (bench/chat_profile.py). One dict update.
        self.__dict__.update(sender=sender, text=text, room=room, target=target, kind=kind,
                             when=when, seq=seq, mid=mid, _wire={})  # fmt: skip


@dataclass(frozen=True, eq=False)
class Replayed(ChatEvent):
    """A message from a room's history, replayed to someone who just joined."""

    said: Said = field(default_factory=Said)


@dataclass(frozen=True, eq=False)
class Joined(ChatEvent):
    room: str = ""
    nick: str = ""


@dataclass(frozen=True, eq=False)
class Parted(ChatEvent):
    room: str = ""
    nick: str = ""
    reason: str = ""


@dataclass(frozen=True, eq=False)
class Kicked(ChatEvent):
    """C{nick} (an operator) put C{target} out of C{room}: told like a part."""

    room: str = ""
    nick: str = ""
    target: str = ""
    reason: str = ""


@dataclass(frozen=True, eq=False)
class ModeChanged(ChatEvent):
    """
    C{nick} changed C{room}'s modes: C{changes} as IRC writes them (C{+o-k}), with
    their C{args} in order (C{("bob", "*")}). Only what changed something is here.
    """

    room: str = ""
    nick: str = ""
    changes: str = ""
    args: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class Invited(ChatEvent):
    """C{nick} invited C{target} to C{room} (told to the invitee and the room's operators)."""

    room: str = ""
    nick: str = ""
    target: str = ""


@dataclass(frozen=True, eq=False)
class Quit(ChatEvent):
    nick: str = ""
    reason: str = ""


@dataclass(frozen=True, eq=False)
class Renamed(ChatEvent):
    old: str = ""
    new: str = ""


@dataclass(frozen=True, eq=False)
class TopicChanged(ChatEvent):
    room: str = ""
    nick: str = ""
    topic: str = ""


@dataclass(frozen=True, eq=False)
class Notice(ChatEvent):
    """A notice from the server to one member (flood warnings, shutdown)."""

    text: str = ""
