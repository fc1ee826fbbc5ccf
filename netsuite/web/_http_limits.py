"""
The HTTP/1.1 request head and chunked framing, checked where Twisted's parser is lax.

Sans-IO: L{RequestHead} takes each line of a request head (what precedes the LF) and
L{ChunkedFraming} each body byte of a chunked request; both raise L{RequestError} with the
status to answer. L{netsuite.web._channel.WebChannel} feeds them the bytes it hands
Twisted's L{HTTPChannel}, so a request Twisted would accept but RFC 9112 says to refuse
is answered before Twisted acts on it.

What is checked here, and why Twisted alone does not:

  - the request line's length (414 over C{max_request_line}, as nginx's 8 KiB): Twisted
    has one cap for every line, the header's total size;
  - a bare LF as line end (RFC 9112 2.2): accepted by default, as nginx, Apache and h11
    do; Twisted waits for a CRLF that never comes until the header deadline;
  - C{Host} (RFC 9112 3.2): an HTTP/1.1 request without one, any request with two, or
    one whose value is not a host and port, is answered 400; Twisted serves them;
  - C{Transfer-Encoding} (RFC 9112 6.1, 6.3): anything but C{chunked} alone, or on an
    HTTP/1.0 request, is 400; Twisted takes C{identity} and then frames the body by
    C{Content-Length} or not at all;
  - C{Content-Length} (RFC 9110 8.6): one field, C{1*DIGIT}; Twisted agrees today,
    checked here too so an upgrade cannot loosen it silently;
  - obs-fold (RFC 9112 5.2): refused (400), which the RFC allows; Twisted joins the
    lines, which a proxy in front may not;
  - bare CR anywhere in a line (RFC 9112 2.2): 400;
  - a request target with a byte outside visible ASCII (RFC 9112 3.2, RFC 3986): 400;
    Twisted lets 0x7F to 0xB0 through;
  - chunked framing (RFC 9112 7.1): a size line or the CRLF after chunk data that ends
    in a bare LF is 400 at once; Twisted waits for a CRLF (until the body deadline).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MAX_REQUEST_LINE", "ChunkedFraming", "HeadLimits", "RequestError", "RequestHead"]

#: nginx's default (C{large_client_header_buffers 4 8k}): a longer request line is 414.
MAX_REQUEST_LINE = 8192


class RequestError(Exception):
    """A request to answer C{status} and close: C{message} for the client and the log."""

    def __init__(self, status: int, message: str, counter: str) -> None:
        super().__init__(status, message, counter)
        self.status = status
        self.message = message
        self.counter = counter


@dataclass(frozen=True)
class HeadLimits:
    """
    @ivar max_request_line: longest request line, in bytes, without its line end (414).
    @ivar require_host: whether an HTTP/1.1 request without C{Host} is refused (400).
    @ivar reject_bare_lf: whether a line ending in LF without CR is refused (400)
        rather than taken as the line end.
    """

    max_request_line: int = MAX_REQUEST_LINE
    require_host: bool = True
    reject_bare_lf: bool = False


# RFC 3986 host (reg-name or IPv4, or an IP-literal in brackets), then an optional port.
_HOST = re.compile(rb"(?:\[[0-9A-Fa-f:.]+\]|\[v[0-9A-Fa-f]+\.[!$&'()*+,;=:\w.~-]+\]"
                   rb"|[A-Za-z0-9\-._~%!$&'()*+,;=]*)(?::[0-9]*)?\Z")  # fmt: skip
_DIGITS = re.compile(rb"[0-9]+\Z")
_TARGET_BAD = re.compile(rb"[^\x21-\x7e]")


class RequestHead:
    """
    One connection's request heads, line by line. Call L{line} with each line as the
    LF-split gives it (CR included); it returns the line without its CR, to parse.
    After the empty line that ends a head, call L{end}: what is wrong with the head as
    a whole (its C{Host}) is raised there, once the parser behind has refused what it
    refuses of the last field (so that its own answer, say 431, comes first). The next
    line is the next request's.
    """

    def __init__(self, limits: HeadLimits) -> None:
        self.limits = limits
        self._reset()

    def _reset(self) -> None:
        #: Whether the next line is a request line (else a header field or the end).
        self.expecting_request_line = True
        self._blank_seen = False
        self.version = b""
        self._hosts = 0
        self._te = False
        self._cl = False
        self._ended: RequestError | None = None

    def line(self, raw: bytes) -> bytes:
        """C{raw} (a line without its LF) checked; the line without its CR returned."""
        if raw.endswith(b"\r"):
            line = raw[:-1]
        elif self.limits.reject_bare_lf:
            raise RequestError(400, "a line ends in a bare LF (CRLF expected)", "refused.bare_lf")
        else:
            line = raw
        if b"\r" in line:
            raise RequestError(400, "a bare CR in the request head", "refused.bad_request")
        if self.expecting_request_line:
            self._request_line(line)
        elif line == b"":
            self._end()
        else:
            self._field(line)
        return line

    def _request_line(self, line: bytes) -> None:
        if line == b"" and not self._blank_seen:
            self._blank_seen = True  # one empty line before a request (RFC 9112 2.2)
            return
        limit = self.limits.max_request_line
        if len(line) > limit:
            raise RequestError(
                414, f"request line longer than {limit} bytes", "refused.uri_too_long"
            )
        parts = line.split(b" ")
        if len(parts) == 3 and _TARGET_BAD.search(parts[1]):
            # Twisted lets bytes 0x7F to 0xB0 through (it tests for > 176, not > 126).
            raise RequestError(400, "the request target holds bytes outside visible ASCII",
                               "refused.bad_request")  # fmt: skip
        self.version = parts[-1]
        self.expecting_request_line = False

    def _field(self, line: bytes) -> None:
        if line[:1] in (b" ", b"\t"):
            raise RequestError(400, "a header line starts with whitespace (obs-fold)",
                          "refused.bad_request")  # fmt: skip
        name, colon, value = line.partition(b":")
        if not colon:
            return  # Twisted refuses it (400)
        name = name.lower()
        value = value.strip(b" \t")
        if name == b"host":
            self._hosts += 1
            if self._hosts > 1:
                raise RequestError(400, "more than one Host field", "refused.bad_host")
            if not _HOST.match(value):
                raise RequestError(400, "the Host field is not a host[:port]", "refused.bad_host")
        elif name == b"transfer-encoding":
            if self.version != b"HTTP/1.1":
                raise RequestError(400, "Transfer-Encoding on an HTTP/1.0 request",
                              "refused.bad_framing")  # fmt: skip
            if self._te or value.lower() != b"chunked":
                raise RequestError(400, "Transfer-Encoding other than one 'chunked'",
                              "refused.bad_framing")  # fmt: skip
            self._te = True
        elif name == b"content-length":
            if self._cl or not _DIGITS.match(value):
                raise RequestError(400, "Content-Length must be one field of digits",
                              "refused.bad_framing")  # fmt: skip
            self._cl = True
        if self._te and self._cl:
            raise RequestError(400, "both Content-Length and Transfer-Encoding",
                          "refused.bad_framing")  # fmt: skip

    def _end(self) -> None:
        hosts, version = self._hosts, self.version
        self._reset()
        if hosts == 0 and version == b"HTTP/1.1" and self.limits.require_host:
            self._ended = RequestError(400, "an HTTP/1.1 request needs a Host field",
                                  "refused.no_host")  # fmt: skip

    def end(self) -> None:
        """The head just ended (its empty line was given to L{line}): refuse it, or not."""
        refused, self._ended = self._ended, None
        if refused is not None:
            raise refused


class ChunkedFraming:
    """
    The framing of one chunked body (RFC 9112 7.1), byte for byte as Twisted's decoder
    reads it, to refuse at once what it would wait on: a framing line ending in a bare
    LF. Twisted's decoder still decodes; this only refuses sooner. L{receive} returns
    how many bytes of C{data} were body (the rest is the next request), or raises.
    """

    def __init__(self) -> None:
        self._state = "size"  # size, data, crlf, trailer, done
        self._left = 0
        self._line = bytearray()
        self._cr = False

    @property
    def done(self) -> bool:
        return self._state == "done"

    def receive(self, data: bytes) -> int:
        i, n = 0, len(data)
        while i < n and self._state != "done":
            state = self._state
            if state == "data":
                take = min(self._left, n - i)
                i += take
                self._left -= take
                if self._left == 0:
                    self._state = "crlf"
                continue
            byte = data[i]
            i += 1
            if byte == 0x0A:  # LF
                if not self._cr:
                    raise RequestError(400, "chunked framing with a bare LF", "refused.bare_lf")
                self._cr = False
                self._end_line()
            elif self._cr:
                raise RequestError(400, "chunked framing with a bare CR", "refused.bad_framing")
            elif byte == 0x0D:
                self._cr = True
            elif state == "crlf":
                raise RequestError(400, "chunk data not followed by CRLF", "refused.bad_framing")
            elif len(self._line) < 1024:  # Twisted refuses longer lines itself
                self._line.append(byte)
        return i

    def _end_line(self) -> None:
        line, self._line = bytes(self._line), bytearray()
        if self._state == "crlf":
            self._state = "size"
        elif self._state == "size":
            size = line.partition(b";")[0]
            if not re.fullmatch(rb"[0-9A-Fa-f]+", size):
                raise RequestError(400, "a chunk size is not hex digits", "refused.bad_framing")
            self._left = int(size, 16)
            self._state = "data" if self._left else "trailer"
        elif line == b"":  # trailer section's end
            self._state = "done"
