"""
Splitting a listen description as Twisted does, and the systemd sockets it inherited.

Why no public API serves: L{twisted.internet.endpoints} parses descriptions (with their
backslash escaping) only in the private C{_parse}, and reads systemd's C{LISTEN_FDS}
(then deletes it from the environment) once, into the private
C{_SystemdParser._sddaemon}; a parser of our own would escape differently, and a second
read of the environment would find nothing.
"""

from __future__ import annotations

from twisted.internet.endpoints import _parse, _SystemdParser
from twisted.python.systemd import ListenFDs

__all__ = ["PRIVATE_NAMES", "inherited_systemd_sockets", "split_description"]

#: The private names this module relies on, as (object, attribute) pairs the pin test checks.
PRIVATE_NAMES = (
    ("twisted.internet.endpoints", "_parse"),
    ("twisted.internet.endpoints", "_SystemdParser"),
    ("twisted.internet.endpoints._SystemdParser", "_sddaemon"),
)


def split_description(description: str) -> tuple[list[str], dict[str, str]]:
    """The positional and keyword arguments of C{description}, unescaped as Twisted does."""
    args, kwargs = _parse(description)
    return list(args), dict(kwargs)


def inherited_systemd_sockets() -> ListenFDs:
    """The sockets systemd handed this process, as Twisted's C{systemd:} parser read them."""
    return _SystemdParser._sddaemon  # type: ignore[no-any-return]
