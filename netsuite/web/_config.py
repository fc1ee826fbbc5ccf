"""
What a netsuite web site is configured with: its limits and its policies, as plain
frozen values with safe defaults, so the site, the tap and tests share one description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from netsuite.limits._defaults import (
    BODY_TIMEOUT,
    CACHE_BYTES,
    CACHE_FILE_MAX,
    HEADER_TIMEOUT,
    MAX_BODY,
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    WEB_ABORT_TIMEOUT,
    WEB_IDLE_TIMEOUT,
)
from netsuite.web._http_limits import MAX_REQUEST_LINE, HeadLimits

__all__ = ["HeaderError", "WebConfig", "WebLimits", "parse_header_line"]


@dataclass(frozen=True)
class WebLimits:
    """
    What one client may make the web service spend. Each limit is tested at its edge.

    @ivar max_body: largest request body, in bytes; more is answered 413 and the
        connection closed (HTTP/1.1) or the stream refused (HTTP/2).
    @ivar max_headers: most header fields in one request (431 beyond).
    @ivar max_header_bytes: most bytes of request line plus header fields, and so also
        the longest single header line (431 beyond).
    @ivar max_request_line: longest request line, in bytes (414 beyond; nginx's 8 KiB).
    @ivar require_host: whether an HTTP/1.1 request without C{Host} is answered 400
        (RFC 9112 3.2 says it must be; off only for a client that cannot send one).
    @ivar reject_bare_lf: whether a request line or header line ending in a bare LF is
        answered 400 at once; by default LF alone is taken as the line end (RFC 9112
        2.2 allows it; nginx, Apache and h11 do it).
    @ivar header_timeout: seconds from a request's first byte (or from connecting) to
        the end of its header, however slowly bytes trickle in (408, then closed).
    @ivar body_timeout: seconds from the end of the header to the end of the body.
    @ivar idle_timeout: seconds a kept-alive connection may sit with no request.
    @ivar abort_timeout: seconds a closing connection gets to flush before it is
        aborted (a client that never reads must not hold its socket).
    """

    max_body: int = MAX_BODY
    max_headers: int = MAX_HEADERS
    max_header_bytes: int = MAX_HEADER_BYTES
    header_timeout: float = HEADER_TIMEOUT
    body_timeout: float = BODY_TIMEOUT
    idle_timeout: float = WEB_IDLE_TIMEOUT
    abort_timeout: float = WEB_ABORT_TIMEOUT
    max_request_line: int = MAX_REQUEST_LINE
    require_host: bool = True
    reject_bare_lf: bool = False

    @property
    def head(self) -> HeadLimits:
        """The limits the request head checker (L{netsuite.web._http_limits}) applies."""
        return HeadLimits(self.max_request_line, self.require_host, self.reject_bare_lf)


@dataclass(frozen=True)
class WebConfig:
    """
    A web site's configuration.

    @ivar static_root: the directory served, or L{None} for the API and pages only.
    @ivar listings: whether a directory without C{index.html} is listed.
    @ivar cache_bytes: bytes of small files kept in memory (bodies and gzipped copies).
    @ivar cache_file_max: files up to this size are cached; larger ones are streamed.
    @ivar gzip_min: compressible files larger than this are gzipped for clients that
        accept it (0: never gzip on the fly).
    @ivar charset: the charset named in text types (empty: none named).
    @ivar cors_origins: origins allowed cross-origin reads (C{"*"}: any).
    @ivar extra_headers: C{(name, value)} pairs added to every response.
    @ivar hsts_max_age: C{Strict-Transport-Security} max-age on TLS responses (0: off).
    @ivar api_token: the bearer token of the write API (L{None}: writes are off).
    @ivar api_nick: the nick messages posted through the API are said under.
    @ivar api_clients: identities (certificate DNS name or CN) whose verified TLS client
        certificate may post without the token (the listener needs C{clientCA=}).
    @ivar access_log: whether each request is logged (combined log format).
    """

    static_root: str | None = None
    listings: bool = True
    limits: WebLimits = field(default_factory=WebLimits)
    cache_bytes: int = CACHE_BYTES
    cache_file_max: int = CACHE_FILE_MAX
    gzip_min: int = 1024
    charset: str = "utf-8"
    cors_origins: tuple[str, ...] = ()
    extra_headers: tuple[tuple[str, str], ...] = ()
    hsts_max_age: int = 31_536_000
    api_token: str | None = None
    api_nick: str = "api"
    api_clients: tuple[str, ...] = ()
    access_log: bool = True


class HeaderError(ValueError):
    """An C{--add-header} value is not C{Name: value} with a valid name and value."""


_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def parse_header_line(line: str) -> tuple[str, str]:
    """
    C{"Name: value"} as C{(name, value)}, or L{HeaderError}. The name must be an HTTP
    token and the value printable with no line breaks, so an operator's typo cannot split
    a response.
    """
    name, sep, value = line.partition(":")
    name, value = name.strip(), value.strip()
    if not sep or not _TOKEN.match(name):
        raise HeaderError(f"{line!r}: expected 'Name: value' with a token as the name")
    if any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in value):
        raise HeaderError(f"{line!r}: the value holds control characters")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise HeaderError(f"{line!r}: the value must be Latin-1 (ASCII is safest)") from None
    return name, value
