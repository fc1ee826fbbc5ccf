"""
The backbone's L{Store} on a real Redis, through txredisapi.

What the store writes itself (everything else is the backbone's):

  - the presence stream (C{{prefix}presence}, capped at L{PRESENCE_MAXLEN}): a claim
    that changes a nick's holder or spelling adds L{claim_fields}, a release or a reap
    that drops a claim adds L{release_fields};
  - C{created} in a room's meta: the server's clock (C{TIME}) when its first member came,
    as seconds with a fraction.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

__all__ = [
    "PRESENCE_MAXLEN",
    "BackboneAddress",
    "claim_fields",
    "parse_url",
    "release_fields",
]

#: Entries the presence stream keeps (C{MAXLEN ~}): a mirror further behind than this
#: rebuilds from L{Store.snapshot} instead.
PRESENCE_MAXLEN = 1000


def claim_fields(proc: str, folded: str, nick: str) -> dict[str, str]:
    """The presence entry of a claim: C{folded} is now C{proc}'s, written C{nick}."""
    return {"op": "claim", "proc": proc, "folded": folded, "nick": nick}


def release_fields(proc: str, folded: str) -> dict[str, str]:
    """The presence entry of a release: C{proc} no longer holds C{folded}."""
    return {"op": "release", "proc": proc, "folded": folded}


@dataclass(frozen=True)
class BackboneAddress:
    """Where a backbone URL points: C{redis://[:password@]host[:port][/db]}."""

    host: str
    port: int = 6379
    db: int = 0
    password: str | None = None
    tls: bool = False


def parse_url(url: str) -> BackboneAddress:
    """
    C{redis://[:password@]host[:port][/db]} or C{rediss://...} (TLS) as a
    L{BackboneAddress} (port 6379 and db 0 by default); L{ValueError} names what is
    wrong with anything else.
    """
    expected = "expected redis://[:password@]host[:port][/db] or rediss://..."
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise ValueError(f"bad backbone URL {url!r}: {e}; {expected}") from None
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"bad backbone URL {url!r}: scheme must be redis or rediss; {expected}")
    if not parts.hostname:
        raise ValueError(f"bad backbone URL {url!r}: no host; {expected}")
    if parts.query or parts.fragment:
        raise ValueError(f"bad backbone URL {url!r}: no query or fragment allowed; {expected}")
    if parts.username:
        raise ValueError(
            f"bad backbone URL {url!r}: a user name is not supported, only :password@; {expected}"
        )
    path = parts.path.lstrip("/")
    if path and not (path.isascii() and path.isdigit()):
        raise ValueError(f"bad backbone URL {url!r}: the database must be a number; {expected}")
    password = unquote(parts.password) if parts.password is not None else None
    return BackboneAddress(
        host=parts.hostname,
        port=6379 if port is None else port,
        db=int(path) if path else 0,
        password=password or None,
        tls=parts.scheme == "rediss",
    )
