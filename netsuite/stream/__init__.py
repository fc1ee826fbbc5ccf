"""
The stream machinery every door shares: the one write path that sends at once
(L{send_now}), the cork that gathers a fan-out (L{corked}), the door base
(L{StreamDoor}, L{DoorFactory}), bounded outboxes (L{Outbox}) and line framing
(L{LineSplitter}).
"""

from netsuite.stream._door import DoorFactory, StreamDoor
from netsuite.stream._lines import Line, LineSplitter, Overlong
from netsuite.stream._outbox import Outbox
from netsuite.stream._write import CORK_LIMIT, cork, corked, pop_cork, send_now

__all__ = [
    "CORK_LIMIT",
    "DoorFactory",
    "Line",
    "LineSplitter",
    "Outbox",
    "Overlong",
    "StreamDoor",
    "cork",
    "corked",
    "pop_cork",
    "send_now",
]
