"""
The chat hub and its doors.

L{Hub} is the sans-IO core (rooms, nicks, history, flood limits); L{LineSession} the
plain-line door's logic; the Twisted adapters live in C{_line_door} and C{_irc_door};
L{netsuite.chat.tap} builds C{twistd netsuite-chat}.
"""

from netsuite.chat._events import ChatError
from netsuite.chat._hub import Hub, Member, RoomInfo
from netsuite.chat._line import LineSession

__all__ = ["ChatError", "Hub", "LineSession", "Member", "RoomInfo"]
