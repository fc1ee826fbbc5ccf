"""
Where IRC over WebSocket is and what its session says: the options' side of
L{netsuite.web._ircws}, apart from it because that module imports the IRC door (and
through C{twisted.words} the global reactor), which parsing options must not do: a
program or C{.tac} may still choose its reactor after parsing (tests/e2e/test_reactors.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["DEFAULT_PATH", "IRCWebSettings", "check_path"]

DEFAULT_PATH = "/irc"
#: One path segment, not one the site uses already.
_PATH = re.compile(r"^/[A-Za-z0-9._~-]+$")
_TAKEN = frozenset({"api", "metrics", "chat", "ui"})


def check_path(path: str) -> str | None:
    """Why C{path} cannot be the IRC WebSocket's (L{None}: it can)."""
    if not _PATH.match(path):
        return f"{path!r}: expected one path segment like /irc"
    if path[1:] in _TAKEN:
        return f"{path!r} is taken (by /{path[1:]}/)"
    return None


@dataclass(frozen=True)
class IRCWebSettings:
    """
    What the IRC session over WebSocket says and asks, as the IRC door does (the suite
    passes the chat's: its server name, PASS and MOTD).

    @ivar path: where the WebSocket is (L{None}: nowhere, the door is off).
    """

    path: str | None = DEFAULT_PATH
    server_name: str = "netsuite"
    password: str | None = None
    motd: str | None = None
