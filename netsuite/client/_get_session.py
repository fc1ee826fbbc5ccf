"""
The sans-IO half of C{netsuite get}: what to do with an answer, which exit status a
failure is, and how the progress bar reads. No sockets, no reactor, no files: the Twisted
side (L{netsuite.client._get}) asks, these answer.

  - L{range_header} and L{decide}: resuming a download (C{--continue}). The request asks
    for the bytes after the ones on disk; the answer decides whether the body is appended
    (206 from that offset), written over the file (200: the range was ignored), not
    needed at all (416: the file is complete), or refused (the server sent some other
    range, or the file is longer than the resource).
  - L{exit_code}: curl's exit statuses for the ways a transfer fails.
  - L{Progress}: bytes, percentage, rate and time left, as one line.

The module is above 400 lines because it is the sans-IO side of C{netsuite get}: the
request plan, the exit statuses, the failure wording and the progress line are all
decisions about one download, made without I/O.
"""

from __future__ import annotations

import enum
import re
import socket
from dataclasses import dataclass, field
from typing import Any

from OpenSSL import SSL
from service_identity import VerificationError
from twisted.internet import defer
from twisted.internet import error as net_error
from twisted.python.failure import Failure
from twisted.web import error as web_error
from twisted.web.client import (
    RequestTransmissionFailed,
    ResponseFailed,
    ResponseNeverReceived,
)
from twisted.web.http import PotentialDataLoss

from netsuite.client._common import TLSHandshakeError

__all__ = [
    "Action",
    "ContentRange",
    "Decision",
    "ExitCode",
    "Progress",
    "WriteError",
    "decide",
    "exit_code",
    "format_duration",
    "format_size",
    "parse_content_range",
    "range_header",
    "root_cause",
]


class ExitCode(enum.IntEnum):
    """C{netsuite get}'s exit statuses: curl's numbers, for scripts that know them."""

    OK = 0
    FAILED = 1  # anything else (an unsupported scheme, a bug's traceback)
    USAGE = 2  # argparse, and arguments that do not fit together
    RESOLVE = 6  # the host name does not resolve
    CONNECT = 7  # refused, unreachable
    WEIRD_REPLY = 8  # not HTTP, or a redirect without a Location
    PARTIAL = 18  # the connection ended before the body did
    HTTP_ERROR = 22  # status >= 400 with --fail (or when resuming)
    WRITE = 23  # the output could not be written
    TIMEOUT = 28  # --max-time, or connecting took longer than --connect-timeout
    RANGE = 33  # the server answered a resumed download with another range
    TLS_HANDSHAKE = 35  # TLS failed for another reason than the certificate
    TOO_MANY_REDIRECTS = 47  # more than --max-redirs with -L
    EMPTY_REPLY = 52  # the server closed the connection without answering
    SEND = 55  # the request could not be sent
    RECEIVE = 56  # the connection failed while the answer was read
    TLS_VERIFY = 60  # the certificate is not trusted, or not for this host


class WriteError(Exception):
    """The output (stdout or C{-o FILE}) refused a write: exit status 23."""


# -- resuming -----------------------------------------------------------------------------


def range_header(offset: int) -> bytes | None:
    """The C{Range} to resume after C{offset} bytes on disk (none for an empty file)."""
    return f"bytes={offset}-".encode("ascii") if offset > 0 else None


@dataclass(frozen=True)
class ContentRange:
    """A C{Content-Range}: C{first}-C{last} of C{total} (L{None}: not said, or C{*})."""

    first: int | None
    last: int | None
    total: int | None


_CONTENT_RANGE = re.compile(
    r"^\s*bytes\s+(?:(?P<first>\d+)-(?P<last>\d+)|\*)\s*/\s*(?:(?P<total>\d+)|\*)\s*$",
    re.IGNORECASE,
)


def parse_content_range(value: bytes | str | None) -> ContentRange | None:
    """C{bytes 10-19/20}, C{bytes 10-19/*}, C{bytes */20}; L{None} if absent or invalid."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    m = _CONTENT_RANGE.match(value)
    if m is None:
        return None
    first = int(m["first"]) if m["first"] is not None else None
    last = int(m["last"]) if m["last"] is not None else None
    total = int(m["total"]) if m["total"] is not None else None
    if first is not None and last is not None and last < first:
        return None
    if total is not None and last is not None and last >= total:
        return None
    if first is None and total is None:  # "bytes */*" says nothing
        return None
    return ContentRange(first, last, total)


class Action(enum.Enum):
    """What to do with an answer's body."""

    WRITE = "write"  # write it (to stdout, or over -o FILE)
    APPEND = "append"  # append it to -o FILE (206 from the offset asked for)
    RESTART = "restart"  # the range was ignored (200): write the whole body over FILE
    COMPLETE = "complete"  # 416 and FILE is the whole resource: nothing to fetch
    SKIP = "skip"  # write nothing and leave FILE as it was (an error answer)
    MISMATCH = "mismatch"  # the answer does not continue FILE: leave it, fail (33)


@dataclass(frozen=True)
class Decision:
    """L{decide}'s answer: the action, the exit status, a line for stderr (or none)."""

    action: Action
    code: ExitCode = ExitCode.OK
    message: str | None = None

    @property
    def writes(self) -> bool:
        """Whether the body is written out."""
        return self.action in (Action.WRITE, Action.APPEND, Action.RESTART)


def _status(code: int, phrase: str) -> str:
    return f"{code} {phrase}".rstrip()


def decide(
    status: int,
    phrase: str = "",
    *,
    offset: int = 0,
    content_range: ContentRange | None = None,
    fail: bool = False,
    target: str = "the file",
) -> Decision:
    """
    What to do with an answer of C{status}, for a request that asked for the bytes from
    C{offset} on (0: the whole resource, no C{Range} was sent).

    Without a range, the body is written, whatever the status (curl's way), unless
    C{fail} and the status is an error (>= 400): then nothing is written, exit 22.

    With a range (resuming C{target}, of C{offset} bytes):
      - 206 whose C{content_range} starts at C{offset}: append; any other range: 33.
      - 200: the server ignored the range; write the whole body over C{target}, and say so.
      - 416: C{target} is complete when the server's total (C{bytes */N}) is C{offset}
        (or unsaid): exit 0, nothing written. A total below C{offset}: C{target} is not
        what the server has, 33.
      - any other error: C{target} is left as it was, exit 22 (an error page appended to
        a partial download would spoil it), whether or not C{fail}.
      - anything else (a redirect not followed, 204 ...): left as it was, exit 0.
    """
    answer = _status(status, phrase)
    if offset <= 0:
        if fail and status >= 400:
            return Decision(Action.SKIP, ExitCode.HTTP_ERROR, f"the server answered {answer}")
        return Decision(Action.WRITE)
    if status == 206:
        if content_range is None or content_range.first is None:
            return Decision(
                Action.MISMATCH,
                ExitCode.RANGE,
                f"asked for the bytes from {offset} on, the server sent no single range; "
                f"{target} left as it was",
            )
        if content_range.first != offset:
            return Decision(
                Action.MISMATCH,
                ExitCode.RANGE,
                f"asked for the bytes from {offset} on, the server sent "
                f"{content_range.first}-{content_range.last}; {target} left as it was",
            )
        return Decision(Action.APPEND)
    if status == 200:
        return Decision(
            Action.RESTART,
            message=f"the server does not resume ({answer} to a range): "
            f"downloading {target} again from the start",
        )
    if status == 416:
        total = content_range.total if content_range is not None else None
        if total is None or total == offset:
            return Decision(
                Action.COMPLETE, message=f"{target} is already complete ({offset} bytes)"
            )
        return Decision(
            Action.MISMATCH,
            ExitCode.RANGE,
            f"{target} has {offset} bytes but the server's copy has {total}: "
            f"it is not a part of it; {target} left as it was",
        )
    if status >= 400:
        return Decision(
            Action.SKIP,
            ExitCode.HTTP_ERROR,
            f"the server answered {answer}; {target} left as it was",
        )
    hint = " (-L follows redirects)" if 300 <= status < 400 else ""
    return Decision(
        Action.SKIP, message=f"the server answered {answer}{hint}; {target} left as it was"
    )


# -- failures -------------------------------------------------------------------------------


_WRAPPERS = (ResponseNeverReceived, ResponseFailed, RequestTransmissionFailed)


def root_cause(reason: Failure) -> Failure:
    """
    The failure inside Agent's wrappers (L{ResponseNeverReceived} and friends carry a
    list of reasons): a TLS one if there is one, since that is what the user must hear
    about, else the first that is not a plain "connection closed", else the first.
    """
    seen = 0
    while reason.check(*_WRAPPERS) and getattr(reason.value, "reasons", None) and seen < 8:
        seen += 1
        wrapper: Any = reason.value  # one of _WRAPPERS: each has .reasons
        reasons: list[Failure] = list(wrapper.reasons)
        tls = [r for r in reasons if _is_tls(root_cause(r))]
        if tls:
            reason = tls[0]
            continue
        real = [r for r in reasons if not r.check(net_error.ConnectionDone)]
        reason = (real or reasons)[0]
    return reason


def _is_tls(reason: Failure) -> bool:
    return reason.check(SSL.Error, VerificationError, TLSHandshakeError) is not None


def _tls_code(reason: Failure) -> ExitCode:
    if reason.check(VerificationError):
        return ExitCode.TLS_VERIFY
    if reason.check(SSL.Error) and "certificate verify failed" in str(reason.value):
        return ExitCode.TLS_VERIFY
    return ExitCode.TLS_HANDSHAKE


def exit_code(reason: Failure, *, in_body: bool = False) -> ExitCode:
    """
    curl's exit status for a transfer that failed with C{reason} (C{in_body}: after the
    answer's head arrived, while its body was read).
    """
    inner = root_cause(reason)
    if inner.check(WriteError):
        return ExitCode.WRITE
    if _is_tls(inner):
        return _tls_code(inner)
    if inner.check(net_error.DNSLookupError, socket.gaierror):
        return ExitCode.RESOLVE
    if inner.check(net_error.TimeoutError, defer.TimeoutError, TimeoutError):
        return ExitCode.TIMEOUT
    if inner.check(web_error.InfiniteRedirection):
        return ExitCode.TOO_MANY_REDIRECTS
    if inner.check(web_error.RedirectWithNoLocation):
        return ExitCode.WEIRD_REPLY
    if in_body:
        return ExitCode.PARTIAL
    if reason.check(ResponseNeverReceived):
        if inner.check(net_error.ConnectionDone, net_error.ConnectionLost):
            return ExitCode.EMPTY_REPLY
        if inner.check(net_error.ConnectError):
            return ExitCode.CONNECT
        return ExitCode.RECEIVE
    if reason.check(ResponseFailed, PotentialDataLoss):
        # Agent gives up on an answer it cannot parse as HTTP with a ParseError inside.
        if type(inner.value).__name__.endswith("ParseError"):
            return ExitCode.WEIRD_REPLY
        return ExitCode.RECEIVE
    if reason.check(RequestTransmissionFailed):
        return ExitCode.SEND
    if inner.check(net_error.ConnectError, ConnectionError):
        return ExitCode.CONNECT
    return ExitCode.FAILED


# -- progress -------------------------------------------------------------------------------

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def format_size(n: float) -> str:
    """C{512 B}, C{1.5 KiB}, C{12.3 MiB}: binary units, three significant figures or so."""
    if n < 1024:
        return f"{int(n)} B"
    for unit in _UNITS[1:]:
        n /= 1024
        if n < 1024 or unit == _UNITS[-1]:
            return f"{n:.0f} {unit}" if n >= 100 else f"{n:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def format_duration(seconds: float) -> str:
    """C{0:07}, C{12:34}, C{1:02:03}: minutes and seconds, hours when needed."""
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


@dataclass
class Progress:
    """
    A download's progress, fed byte counts and times, drawn as one line.

    C{offset} bytes were on disk before (a resumed download): they count toward the
    percentage, not toward the rate. C{total} is the whole size when known (the
    resource's, not this answer's). Redraws are asked for at most every C{interval}
    seconds (L{due}), so a fast download does not spend its time drawing.
    """

    started: float
    total: int | None = None
    offset: int = 0
    interval: float = 0.25
    received: int = 0
    _drawn_at: float | None = field(default=None, repr=False)
    _samples: list[tuple[float, int]] = field(default_factory=list, repr=False)

    #: Seconds of recent samples the rate is measured over.
    WINDOW = 5.0

    def update(self, count: int, now: float) -> None:
        """C{count} more bytes arrived at C{now}."""
        self.received += count
        self._samples.append((now, self.received))
        # Keep the newest sample at least WINDOW old (the rate's anchor) and the later ones.
        while len(self._samples) > 1 and now - self._samples[1][0] >= self.WINDOW:
            del self._samples[0]

    def due(self, now: float) -> bool:
        """Whether to redraw now (and note that it is drawn)."""
        if self._drawn_at is not None and now - self._drawn_at < self.interval:
            return False
        self._drawn_at = now
        return True

    def rate(self, now: float) -> float | None:
        """Bytes a second over the last L{WINDOW} seconds (L{None} before any time passed)."""
        t0, n0 = self.started, 0
        if self._samples and now - self.started > self.WINDOW:
            t0, n0 = self._samples[0]
        elapsed = now - t0
        if elapsed <= 0:
            return None
        return (self.received - n0) / elapsed

    def average(self, now: float) -> float | None:
        """Bytes a second since the start."""
        elapsed = now - self.started
        return self.received / elapsed if elapsed > 0 else None

    def render(self, now: float, width: int = 80, final: bool = False) -> str:
        """
        One line, at most C{width} characters: with a known total
        C{" 42% [=====>      ] 4.2 MiB/10.0 MiB  1.1 MiB/s  ETA 0:05"}, without one
        C{"4.2 MiB  1.1 MiB/s  0:03"}. C{final}: the average rate and the time taken.
        """
        have = self.offset + self.received
        rate = self.average(now) if final else self.rate(now)
        speed = f"{format_size(rate)}/s" if rate is not None else "--/s"
        if self.total is None or self.total <= 0:
            tail = f"{format_size(have)}  {speed}  {format_duration(now - self.started)}"
            return tail[:width]
        fraction = min(1.0, have / self.total)
        if final:
            when = format_duration(now - self.started)
        elif rate:
            when = "ETA " + format_duration(max(0, self.total - have) / rate)
        else:
            when = "ETA --:--"
        head = f"{int(fraction * 100):3d}% "
        tail = f" {format_size(have)}/{format_size(self.total)}  {speed}  {when}"
        bar_width = width - len(head) - len(tail) - 2
        if bar_width < 5:
            return (head.strip() + tail)[:width]
        filled = int(fraction * bar_width)
        if filled >= bar_width:
            bar = "=" * bar_width
        else:
            bar = "=" * filled + ">" + " " * (bar_width - filled - 1)
        return f"{head}[{bar}]{tail}"
