"""
What a WebSocket door checks before it trusts a peer, with no I/O: the page the
connection comes from (L{OriginPolicy}) and the size of what it sends (L{FrameGuard}).

Why an origin check: a browser lets any page open a WebSocket to any host and sends
along the cookies of that host; the server is the only one who can refuse a page from
elsewhere (cross-site WebSocket hijacking). The request's C{Origin} header names the
page; by default only the site's own origin (what its C{Host} header says) is let in.

Why a frame guard of our own: Twisted's WebSocket layer (over wsproto) gathers a
message's frames until the last one arrives, however large it grows. The guard reads
only the frame headers of the byte stream before Twisted does, so a frame or a message
over its cap is refused as soon as its header says so, before its payload is buffered.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from netsuite.limits._defaults import WS_MAX_MESSAGE

__all__ = ["FrameGuard", "OriginPolicy", "SizeBreach", "normalize_origin"]

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def normalize_origin(origin: str) -> str | None:
    """
    C{scheme://host[:port]} in lower case with the scheme's default port left out, or
    L{None} when C{origin} is not an http(s) origin (C{null}, a path, a bad port).
    """
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in ("http", "https") or not host or parts.path not in ("", "/"):
        return None
    if parts.query or parts.fragment or parts.username is not None:
        return None
    shown = f"[{host}]" if ":" in host else host
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{shown}"
    return f"{scheme}://{shown}:{port}"


@dataclass(frozen=True)
class OriginPolicy:
    """
    Which pages may open a WebSocket here.

    @ivar allowed: origins let in besides the site's own (C{https://chat.example.com});
        C{"*"} among them lets every origin in.
    @ivar same_origin: whether the site's own origin (from the request's C{Host} header
        and whether it came over TLS) is let in.
    @ivar allow_missing: whether a request with no C{Origin} header is let in. Browsers
        always send one on WebSocket requests, so a request without one is not a page
        (a command-line client or a script); refusing it stops no browser attack.
    """

    allowed: tuple[str, ...] = ()
    same_origin: bool = True
    allow_missing: bool = True

    def __post_init__(self) -> None:
        for origin in self.allowed:
            if origin != "*" and normalize_origin(origin) is None:
                raise ValueError(f"{origin!r} is not an origin (expected https://host[:port])")

    def check(self, origin: bytes | None, host: bytes | None, secure: bool) -> str | None:
        """L{None} when the request may upgrade, else why not (for the log and the 403)."""
        if origin is None:
            return None if self.allow_missing else "no Origin header"
        try:
            text = origin.decode("ascii")
        except UnicodeDecodeError:
            return "Origin is not ASCII"
        if "*" in self.allowed:
            return None
        normal = normalize_origin(text)
        if normal is None:
            return f"Origin {text[:100]!r} is not an http(s) origin"
        if normal in {normalize_origin(o) for o in self.allowed}:
            return None
        if self.same_origin and host:
            scheme = "https://" if secure else "http://"
            try:
                own = normalize_origin(scheme + host.decode("ascii"))
            except UnicodeDecodeError:
                own = None
            if own is not None and own == normal:
                return None
        return f"Origin {normal} is not allowed"


@dataclass(frozen=True)
class SizeBreach:
    """A frame or a message over its cap: which (C{"frame"} or C{"message"}), how big."""

    kind: str
    size: int
    limit: int

    def __str__(self) -> str:
        return f"{self.kind} of {self.size} bytes is over the {self.limit}-byte limit"


class FrameGuard:
    """
    Follows the frames of a client's WebSocket byte stream (RFC 6455 5.2) by their
    headers alone, and stops at the first one over a cap.

    Feed it every byte received after the upgrade, in order; L{feed} returns how many
    of them may be passed on. That is all of them until a frame's header announces a
    frame larger than C{max_frame} bytes, or a data frame that brings its message past
    C{max_message} bytes; then it is the offset where that frame starts (the complete
    frames before it may still be handled), L{breach} says what happened, and every
    later call returns 0.

    Control frames (ping, pong, close) interleaved in a fragmented message do not count
    towards it. Malformed frames are wsproto's to refuse; the guard only counts.
    """

    def __init__(self, max_frame: int = WS_MAX_MESSAGE, max_message: int = WS_MAX_MESSAGE) -> None:
        self.max_frame = max_frame
        self.max_message = max_message
        self.breach: SizeBreach | None = None
        self._header = b""  # a frame header split across reads
        self._skip = 0  # payload bytes of the current frame still to come
        self._message = 0  # bytes of the current (fragmented) message so far

    def feed(self, data: bytes) -> int:
        if self.breach is not None:
            return 0
        i, n = 0, len(data)
        while i < n:
            if self._skip:
                step = min(self._skip, n - i)
                self._skip -= step
                i += step
                continue
            held = self._header
            start = i if not held else 0  # where this frame starts in data
            peek = held + data[i : i + 14 - len(held)]
            size = _header_size(peek)
            if size is None or len(peek) < size:
                self._header = peek
                return n
            i += size - len(held)
            self._header = b""
            length = _payload_length(peek)
            if length > self.max_frame:
                return self._refuse(SizeBreach("frame", length, self.max_frame), start)
            if peek[0] & 0x0F < 8:  # a data frame: text, binary or continuation
                total = self._message + length
                if total > self.max_message:
                    return self._refuse(SizeBreach("message", total, self.max_message), start)
                self._message = 0 if peek[0] & 0x80 else total
            self._skip = length
        return n

    def _refuse(self, breach: SizeBreach, start: int) -> int:
        self.breach = breach
        return start


def _header_size(peek: bytes) -> int | None:
    """The size of the frame header at the start of C{peek} (L{None}: too few bytes)."""
    if len(peek) < 2:
        return None
    second = peek[1]
    code = second & 0x7F
    size = 2 + (2 if code == 126 else 8 if code == 127 else 0)
    return size + (4 if second & 0x80 else 0)


def _payload_length(header: bytes) -> int:
    code = header[1] & 0x7F
    if code == 126:
        return int.from_bytes(header[2:4], "big")
    if code == 127:
        return int.from_bytes(header[2:10], "big")
    return code
