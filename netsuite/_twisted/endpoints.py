"""
Splitting a listen description as Twisted does.

Why no public API serves: L{twisted.internet.endpoints} parses descriptions (with their
backslash escaping) only in the private C{_parse}; a parser of our own would escape
differently.

The systemd sockets are not read through Twisted (its C{_SystemdParser} keeps none when
C{LISTEN_FDNAMES} is missing): L{netsuite.twistd._endpoints} reads C{LISTEN_*} itself.
"""

from __future__ import annotations

from twisted.internet.endpoints import _parse

__all__ = ["PRIVATE_NAMES", "split_description"]

#: The private names this module relies on, as (object, attribute) pairs the pin test checks.
PRIVATE_NAMES = (("twisted.internet.endpoints", "_parse"),)


def split_description(description: str) -> tuple[list[str], dict[str, str]]:
    """The positional and keyword arguments of C{description}, unescaped as Twisted does."""
    args, kwargs = _parse(description)
    return list(args), dict(kwargs)
