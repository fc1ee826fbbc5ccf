"""
Nick and room names: what is valid, and when two names are the same.

The rules are IRC's (RFC 2812 nicknames, RFC 1459 case mapping, where C{[]\\~} are the
upper case of C{{}|^}), applied on every door, so that any nick taken on the plain-line
door is also a valid nick on the IRC door, and "Alice" and "alice" are one person.
"""

from __future__ import annotations

import re

__all__ = ["NICK_MAX", "ROOM_MAX", "fold", "room_name", "valid_nick", "valid_room"]

NICK_MAX = 30
ROOM_MAX = 50
_NICK = re.compile(r"[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]*\Z")
_ROOM = re.compile(r"#[^\s,:\x00-\x1f\x7f]+\Z")
_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ[]\\~", "abcdefghijklmnopqrstuvwxyz{}|^")


def fold(name: str) -> str:
    """The case-folded key of a nick or room (RFC 1459 case mapping)."""
    return name.translate(_FOLD)


def valid_nick(nick: str) -> bool:
    return 0 < len(nick) <= NICK_MAX and _NICK.match(nick) is not None


def valid_room(room: str) -> bool:
    return 1 < len(room) <= ROOM_MAX and _ROOM.match(room) is not None


def room_name(text: str) -> str:
    """C{lobby} and C{#lobby} both name C{#lobby} (the line door lets people omit the #)."""
    return text if text.startswith("#") else "#" + text
