"""
Splitting a byte stream into lines, with a length limit that does not cost the connection.

Sans-IO: C{feed(bytes)} returns what the bytes completed. Unlike
L{twisted.protocols.basic.LineReceiver}, a line over the limit is not a disconnect and
does not leak its tail as a new line: the splitter reports L{Overlong} once, discards
bytes until the next newline, and goes on. CRLF and bare LF both end a line.
"""

from __future__ import annotations

from dataclasses import dataclass

from netsuite.limits._defaults import MAX_LINE

__all__ = ["Line", "LineSplitter", "Overlong"]


@dataclass(frozen=True)
class Line:
    """A complete line, without its line ending."""

    data: bytes


@dataclass(frozen=True)
class Overlong:
    """A line longer than the limit was discarded; C{length} bytes were seen of it."""

    length: int


class LineSplitter:
    """
    @ivar max_length: the longest line accepted, in bytes, line ending excluded.
    """

    #: One per connection: no per-instance __dict__.
    __slots__ = (
        "_buffer",
        "_discarded_cr",
        "_discarding",
        "max_length",
    )

    def __init__(self, max_length: int = MAX_LINE) -> None:
        self.max_length = max_length
        self._buffer = b""
        self._discarding = 0  # bytes of an overlong line seen so far (0: not discarding)
        self._discarded_cr = False  # whether the last byte discarded was a CR

    def feed(self, data: bytes) -> list[Line | Overlong]:
        """Take C{data}; return the lines (and overlong notices) it completes, in order."""
        out: list[Line | Overlong] = []
        buffer = self._buffer + data if self._buffer else data
        start = 0
        limit = self.max_length
        while True:
            end = buffer.find(b"\n", start)
            if end < 0:
                break
            if self._discarding:
                length = self._discarding + end - start
                # Its line ending is not part of the length, whichever read brought the CR.
                if (buffer[end - 1] == 13) if end > start else self._discarded_cr:
                    length -= 1
                out.append(Overlong(length))
                self._discarding = 0
            else:
                stop = end - 1 if end > start and buffer[end - 1] == 13 else end
                if stop - start > limit:
                    out.append(Overlong(stop - start))
                else:
                    out.append(Line(buffer[start:stop]))
            start = end + 1
        rest = buffer[start:]
        if self._discarding:
            self._discarding += len(rest)
            if rest:
                self._discarded_cr = rest[-1] == 13
            rest = b""
        elif len(rest) > limit + 1:  # +1: a CR may still come before the LF
            self._discarding = len(rest)
            self._discarded_cr = rest[-1] == 13
            rest = b""
        self._buffer = rest
        return out
