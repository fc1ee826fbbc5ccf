"""
The HTTP rules a static file server applies, with no I/O: byte ranges (RFC 9110 14),
entity tags and conditional requests (RFC 9110 13), HTTP dates, and the negotiation of
media types and content codings (RFC 9110 12).

Everything here takes header values as bytes (as Twisted hands them over) and returns
plain values, so each rule is tested on its own, at its edges, without a request.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "ByteRange",
    "Precondition",
    "RangeNotSatisfiableError",
    "accepted_codings",
    "choose_media_type",
    "evaluate_preconditions",
    "http_date",
    "if_range_allows",
    "parse_http_date",
    "parse_range",
]

#: More ranges than this in one request are not served as ranges but as the whole
#: representation (RFC 9110 14.2 lets a server ignore Range), so that a request for
#: thousands of tiny or overlapping ranges cannot make a small file a large response.
MAX_RANGES = 16


@dataclass(frozen=True)
class ByteRange:
    """Bytes C{start} up to, not including, C{stop}: what C{bytes=start-(stop-1)} asks."""

    start: int
    stop: int

    @property
    def length(self) -> int:
        return self.stop - self.start

    def content_range(self, size: int) -> bytes:
        """The C{Content-Range} value for this range of a representation of C{size} bytes."""
        return b"bytes %d-%d/%d" % (self.start, self.stop - 1, size)


class RangeNotSatisfiableError(Exception):
    """The Range header is well formed but asks for nothing inside the representation."""


_RANGE_SPEC = re.compile(rb"^\s*(\d*)\s*-\s*(\d*)\s*$")


def parse_range(
    header: bytes | None, size: int, max_ranges: int = MAX_RANGES
) -> list[ByteRange] | None:
    """
    The ranges a C{Range} header asks of a representation of C{size} bytes.

    @return: L{None} when the whole representation is to be sent: no header, a unit
        other than C{bytes}, a malformed header (RFC 9110 says to ignore it), or more than
        C{max_ranges} ranges. Otherwise the satisfiable ranges, sorted and with
        overlapping or adjacent ones merged (so the response is never larger than the
        representation plus part headers).
    @raise RangeNotSatisfiableError: the header is valid but no range overlaps the content.
    """
    if header is None:
        return None
    unit, sep, specs = header.partition(b"=")
    if not sep or unit.strip().lower() != b"bytes":
        return None
    parts = specs.split(b",")
    if len(parts) > max_ranges:
        return None
    wanted: list[ByteRange] = []
    for part in parts:
        if not part.strip():
            continue  # RFC 9110 5.6.1: empty list elements are allowed and ignored
        m = _RANGE_SPEC.match(part)
        if m is None:
            return None
        first, last = m.groups()
        if first:
            start = int(first)
            if last:
                end = int(last)
                if end < start:
                    return None  # an invalid range-spec makes the whole field invalid
                stop = min(end + 1, size)
            else:
                stop = size
            if start < size:
                wanted.append(ByteRange(start, stop))
        elif last:
            suffix = int(last)
            if suffix > 0 and size > 0:
                wanted.append(ByteRange(max(0, size - suffix), size))
        else:
            return None  # "-" alone
    if not wanted:
        raise RangeNotSatisfiableError()
    wanted.sort(key=lambda r: r.start)
    merged = [wanted[0]]
    for r in wanted[1:]:
        last_range = merged[-1]
        if r.start <= last_range.stop:
            merged[-1] = ByteRange(last_range.start, max(last_range.stop, r.stop))
        else:
            merged.append(r)
    return merged


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def http_date(seconds: float) -> bytes:
    """C{Sun, 06 Nov 1994 08:49:37 GMT} for a POSIX time (IMF-fixdate)."""
    year, month, day, hh, mm, ss, weekday, _, _ = time.gmtime(int(seconds))
    date = f"{_WEEKDAYS[weekday]}, {day:02d} {_MONTHS[month - 1].title()} {year:4d}"
    return f"{date} {hh:02d}:{mm:02d}:{ss:02d} GMT".encode()


def parse_http_date(value: bytes | None) -> int | None:
    """
    Seconds since the epoch for an HTTP date in any of its three formats, or L{None}
    when the value is absent or not a date (a broken date means "no condition").

    The rules are Twisted's C{twisted.web.http.stringToDatetime} (the same value for
    the same bytes, which a test checks), in plain Python: the weekday may be missing,
    two-digit years of RFC 850 dates are 1969-2068, and fields are not range-checked.
    """
    if not value:
        return None
    try:
        return _seconds(value)
    except (ValueError, IndexError, KeyError, OverflowError):
        return None


def _seconds(value: bytes) -> int:
    """C{parse_http_date}'s parser: raises on what is not an HTTP date."""
    parts = value.decode("ascii").split()
    if parts[0][0:3].lower() not in {d.lower() for d in _WEEKDAYS}:
        try:  # the weekday may have been left out
            return _seconds(b"Sun, " + value)
        except ValueError:
            pass
    count = len(parts)
    if count in (5, 6) and parts[1].isdigit():  # Sun, 06 Nov 1994 08:49:37 GMT
        day, month, year, clock = parts[1], parts[2], int(parts[3]), parts[4]
    elif count in (3, 4) and "-" in parts[1]:  # Sunday, 06-Nov-94 08:49:37 GMT
        day, month, two_digits = parts[1].split("-")
        clock = parts[2]
        year = int(two_digits)
        if year < 69:
            year += 2000
        elif year < 100:
            year += 1900
    elif count == 5:  # Sun Nov  6 08:49:37 1994 (asctime)
        day, month, year, clock = parts[2], parts[1], int(parts[4]), parts[3]
    else:
        raise ValueError(f"Unknown datetime format {value!r}")
    month_number = _MONTHS.index(month.lower()) + 1
    hour, minute, second = map(int, clock.split(":"))
    if year < 1970:
        raise ValueError("Years prior to 1970 not supported")
    days = 365 * (year - 1970) + calendar.leapdays(1970, year)
    days += sum(calendar.monthrange(year, m)[1] for m in range(1, month_number))
    days += int(day) - 1
    return ((days * 24 + hour) * 60 + minute) * 60 + second


_ENTITY_TAG = re.compile(rb'\s*(W/)?("[^"]*")\s*(?:,|$)')


def _entity_tags(header: bytes) -> list[tuple[bool, bytes]]:
    """C{(weak, opaque-tag)} for each entity tag in a list; malformed parts are skipped."""
    return [(bool(m.group(1)), m.group(2)) for m in _ENTITY_TAG.finditer(header)]


def _tag(etag: bytes) -> tuple[bool, bytes]:
    return (True, etag[2:]) if etag.startswith(b"W/") else (False, etag)


def _matches(header: bytes, etag: bytes, strong: bool) -> bool:
    if header.strip() == b"*":
        return True
    weak, opaque = _tag(etag)
    if strong and weak:
        return False
    for other_weak, other in _entity_tags(header):
        if other == opaque and not (strong and other_weak):
            return True
    return False


class Precondition:
    """What evaluating a request's preconditions decided (RFC 9110 13.2.2)."""

    PROCEED = 0
    NOT_MODIFIED = 304
    FAILED = 412


def evaluate_preconditions(
    etag: bytes,
    last_modified: int,
    *,
    if_match: bytes | None = None,
    if_unmodified_since: bytes | None = None,
    if_none_match: bytes | None = None,
    if_modified_since: bytes | None = None,
) -> int:
    """
    Decide a GET or HEAD request's conditions against the selected representation, in
    the order RFC 9110 13.2.2 gives: If-Match, else If-Unmodified-Since; then
    If-None-Match, else If-Modified-Since.

    @return: a L{Precondition} value.
    """
    if if_match is not None:
        if not _matches(if_match, etag, strong=True):
            return Precondition.FAILED
    elif if_unmodified_since is not None:
        date = parse_http_date(if_unmodified_since)
        if date is not None and last_modified > date:
            return Precondition.FAILED
    if if_none_match is not None:
        if _matches(if_none_match, etag, strong=False):
            return Precondition.NOT_MODIFIED
    elif if_modified_since is not None:
        date = parse_http_date(if_modified_since)
        if date is not None and last_modified <= date:
            return Precondition.NOT_MODIFIED
    return Precondition.PROCEED


def if_range_allows(if_range: bytes | None, etag: bytes, last_modified: int) -> bool:
    """
    Whether a Range may be honoured given C{If-Range} (RFC 9110 13.1.5): with no header,
    yes; with an entity tag, only if it matches strongly; with a date, only if it is
    exactly the representation's modification time.
    """
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith((b'"', b"W/")):
        return _matches(value, etag, strong=True) and value != b"*"
    return parse_http_date(value) == last_modified


_PARAMETER_Q = re.compile(rb";\s*q\s*=\s*([0-9.]+)", re.IGNORECASE)


def _q(params: bytes) -> float:
    m = _PARAMETER_Q.search(params)
    if m is None:
        return 1.0
    try:
        return max(0.0, min(1.0, float(m.group(1))))
    except ValueError:
        return 0.0


@lru_cache(maxsize=512)
def accepted_codings(header: bytes | None) -> frozenset[bytes]:
    """
    The content codings C{Accept-Encoding} allows (q > 0), lower-cased. A wildcard is
    returned as C{b"*"} unless refused. Cached: clients send the same few values.
    """
    if not header:
        return frozenset()
    accepted: set[bytes] = set()
    refused: set[bytes] = set()
    for item in header.split(b","):
        name, _, params = item.partition(b";")
        name = name.strip().lower()
        if not name:
            continue
        (accepted if _q(b";" + params) > 0 else refused).add(name)
    if b"*" in accepted:
        accepted.discard(b"*")
        accepted |= {b"*"} - refused
    return frozenset(accepted - refused)


@lru_cache(maxsize=512)
def choose_media_type(header: bytes | None, offers: Sequence[str]) -> str:
    """
    The offer (a C{type/subtype} string) the C{Accept} header ranks highest; ties go to
    the earlier offer, and an absent, empty or unsatisfiable header gets the first offer
    (RFC 9110 12.5.1 allows answering with a default rather than 406).
    """
    if not header:
        return offers[0]
    ranges: list[tuple[bytes, float]] = []
    for item in header.split(b","):
        media, _, params = item.partition(b";")
        media = media.strip().lower()
        if media:
            ranges.append((media, _q(b";" + params)))
    best, best_q = offers[0], 0.0
    for offer in offers:
        kind = offer.encode().lower()
        major = kind.split(b"/")[0] + b"/*"
        q, specificity = 0.0, -1
        for media, value in ranges:
            level = 2 if media == kind else 1 if media == major else 0 if media == b"*/*" else -1
            if level > specificity:
                q, specificity = value, level
        if q > best_q:
            best, best_q = offer, q
    return best
