"""
The chat hub without doors: a member that records what the hub tells it, and a hub
whose clock a test moves.

L{netsuite.chat.Hub} talks to members through three things (a C{nick}, C{deliver(event)}
and C{disconnect(reason)}; see L{netsuite.chat.Member}), so a test of anything built on
the hub (a bot, a bridge, a door of your own) can stand in for people with
L{RecordingMember} and read back every event in order.
"""

from __future__ import annotations

from typing import Any, TypeVar

from twisted.internet.task import Clock

from netsuite.chat._events import ChatEvent
from netsuite.chat._hub import Hub

__all__ = ["RecordingMember", "hub_on_clock"]

_E = TypeVar("_E", bound=ChatEvent)


class RecordingMember:
    """
    A hub member that keeps every event it is given, and the reason it was dropped.

    Example::

        hub, clock = hub_on_clock()
        alice, bob = RecordingMember(), RecordingMember()
        hub.connect(alice, "alice"), hub.connect(bob, "bob")
        hub.join(alice, "#r"), hub.join(bob, "#r")
        hub.say(alice, "#r", "hi")
        [said] = bob.of(Said)

    @ivar events: every event delivered, in order.
    @ivar dropped: the reason given to L{disconnect}, or L{None} while connected.
    """

    door = "test"

    def __init__(self) -> None:
        self.nick = ""
        self.events: list[ChatEvent] = []
        self.dropped: str | None = None

    def deliver(self, event: ChatEvent) -> None:
        self.events.append(event)

    def disconnect(self, reason: str) -> None:
        self.dropped = reason

    def of(self, kind: type[_E]) -> list[_E]:
        """The events delivered of class C{kind} (C{Said}, C{Joined} ...), in order."""
        return [e for e in self.events if isinstance(e, kind)]


def hub_on_clock(start: float = 1000.0, **options: Any) -> tuple[Hub, Clock]:
    """
    A L{Hub} reading the time from a fresh L{Clock} set to C{start} seconds.

    Flood limits refill and messages are stamped by that clock, so a test moves time
    with C{clock.advance(seconds)} instead of waiting; the same clock drives the timers
    of doors built with it. C{options} are the L{Hub}'s (C{history}, C{flood_rate} ...).
    """
    clock = Clock()
    clock.advance(start)
    return Hub(clock=clock.seconds, **options), clock
