"""
One C{netsuite get} transfer: L{Request} (what to fetch, and how) and L{Download}, which runs
it on any L{IAgent}, writes through an L{netsuite.client._get_output.Output}, and turns the
outcome into curl's exit status (the decisions are L{netsuite.client._get_session}'s).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from twisted.internet import defer
from twisted.internet.defer import CancelledError, ensureDeferred
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure
from twisted.web.client import URI
from twisted.web.error import InfiniteRedirection, RedirectWithNoLocation, SchemeNotSupported
from twisted.web.http_headers import Headers
from twisted.web.iweb import UNKNOWN_LENGTH

from netsuite.client._common import (
    connection_failure_message,
    describe_endpoint,
)
from netsuite.client._get_agent import MAX_REDIRECTS
from netsuite.client._get_output import Output, ProgressLine
from netsuite.client._get_session import (
    Action,
    ExitCode,
    WriteError,
    decide,
    exit_code,
    format_size,
    parse_content_range,
    range_header,
    root_cause,
)

__all__ = ["USER_AGENT", "Download", "Request", "host_port"]

#: The C{User-Agent} of every request.
USER_AGENT = b"netsuite-get"


def _head_bytes(response: Any) -> bytes:
    """
    C{HTTP/1.1 200 OK}, the headers, and an empty line, with CRLFs (curl's C{-i}).

    Agent keeps the connection's own headers (C{Content-Length}, C{Connection},
    C{Transfer-Encoding} ...) to itself; C{Content-Length} is given back from the length
    it parsed, the others are not shown.
    """
    proto, major, minor = response.version
    proto = proto.decode("ascii") if isinstance(proto, bytes) else str(proto)
    phrase = response.phrase.decode("latin-1") if response.phrase else ""
    lines = [f"{proto}/{major}.{minor} {response.code} {phrase}".rstrip().encode("latin-1")]
    for name, values in response.headers.getAllRawHeaders():
        if name.lower() == b"content-encoding" and not any(values):
            # Twisted's ContentDecoderAgent (under treq) adds an empty one to an answer
            # that had none: not the server's.
            continue
        lines.extend(name + b": " + value for value in values)
    length = response.length
    request = getattr(response, "request", None)
    bodiless = response.code in (204, 304) or getattr(request, "method", b"GET") == b"HEAD"
    if not (bodiless or length is UNKNOWN_LENGTH or response.headers.hasHeader(b"Content-Length")):
        lines.append(b"Content-Length: %d" % length)  # Agent's length is always parsed
    return b"\r\n".join(lines) + b"\r\n\r\n"


class _DiscardError(Exception):
    """Raised from a collector to make treq close a body nobody wants."""


@dataclass
class Request:
    """What to fetch and how."""

    url: str
    head: bool = False
    include: bool = False
    fail: bool = False
    resume: bool = False
    max_time: float | None = None
    max_redirects: int = MAX_REDIRECTS


class Download:
    """
    One transfer of C{request.url} through the treq C{client} (an L{HTTPClient} on any
    L{IAgent}: the real one of L{build_agent}, or an in-memory one in tests).

    L{run} returns the exit status; the lines for stderr go to C{say} (failures and
    what the user must know) and C{inform} (what only matters when not C{--silent}).
    C{where} says which host and port the last connection was for (the URL's, without
    redirects) and C{peer_chain} what certificate it showed, for the failure message.
    """

    def __init__(
        self,
        client: Any,
        request: Request,
        output: Output,
        clock: IReactorTime,
        *,
        say: Callable[[str], None],
        inform: Callable[[str], None] | None = None,
        progress: ProgressLine | None = None,
        where: Callable[[], tuple[str, int] | None] | None = None,
        peer_chain: Callable[[str, int], list[x509.Certificate]] | None = None,
        ca: str | None = None,
    ) -> None:
        self.client = client
        self.request = request
        self.output = output
        self.clock = clock
        self.say = say
        self.inform = inform or say
        self.progress = progress
        self.where = where or (lambda: None)
        self.peer_chain = peer_chain or (lambda host, port: [])
        self.ca = ca
        self.received = 0
        self.expected: int | None = None
        self._stopped = False

    async def run(self) -> int:
        """The transfer, within C{max_time}; returns the exit status."""
        d = ensureDeferred(self._transfer())
        if self.request.max_time is not None:
            d.addTimeout(self.request.max_time, self.clock)
        try:
            return await d
        except defer.TimeoutError:
            self._stop(done=False)
            got = f"{self.received} bytes received" if self.received else "nothing received"
            if self.expected is not None and self.received:
                got = f"{self.received} of {self.expected} bytes received"
            self.say(f"timed out after {self.request.max_time:g}s ({got})")
            return ExitCode.TIMEOUT
        except CancelledError:
            self._stop(done=False)
            raise

    def _stop(self, done: bool) -> None:
        """No more body: a late chunk makes treq close the connection."""
        self._stopped = True
        if self.progress is not None:
            self.progress.finish(done)
        self.output.abort()

    async def _transfer(self) -> int:
        request = self.request
        try:
            offset = self.output.existing_size() if request.resume else 0
        except WriteError as e:
            self.say(str(e))
            return ExitCode.WRITE
        headers = Headers({b"User-Agent": [USER_AGENT]})
        ranged = range_header(offset)
        if ranged is not None:
            headers.setRawHeaders(b"Range", [ranged])
        try:
            response = await self.client.request(
                "HEAD" if request.head else "GET",
                request.url,
                headers=headers,
                allow_redirects=False,  # our agent follows them (-L), up to its limit
                unbuffered=True,
            )
        except CancelledError:
            raise
        except Exception:
            reason = Failure()
            if root_cause(reason).check(CancelledError):
                raise CancelledError() from None  # Agent wraps its cancellation
            return self._failed(reason)
        try:
            if request.include or request.head:
                for each in [*response.history(), response]:
                    self.output.head(_head_bytes(each))
        except WriteError as e:
            self._discard(response)
            return self._write_failed(e)
        phrase = response.phrase.decode("latin-1", "replace") if response.phrase else ""
        content_range = parse_content_range(
            (response.headers.getRawHeaders(b"Content-Range") or [None])[0]
        )
        decision = decide(
            response.code,
            phrase,
            offset=offset,
            content_range=content_range,
            fail=request.fail,
            target=self.output.name,
        )
        if decision.message is not None:
            (self.say if decision.code else self.inform)(decision.message)
        if request.head or not decision.writes:
            self._discard(response)
            return decision.code
        if decision.action is Action.RESTART:
            offset = 0
        return await self._body(response, decision.action, offset, content_range)

    async def _body(self, response: Any, action: Action, offset: int, content_range: Any) -> int:
        length = response.length if response.length is not UNKNOWN_LENGTH else None
        self.expected = length
        total = None
        if content_range is not None and content_range.total is not None and offset:
            total = content_range.total
        elif length is not None:
            total = offset + length
        try:
            self.output.open(action)
        except WriteError as e:
            self._discard(response)
            return self._write_failed(e)
        if self.progress is not None:
            self.progress.start(total, offset)
        try:
            await response.collect(self._chunk)
        except CancelledError:
            raise
        except Exception:
            reason = Failure()
            if root_cause(reason).check(CancelledError):
                raise CancelledError() from None
            self._stop(done=False)
            code = exit_code(reason, in_body=True)
            if code is ExitCode.WRITE:
                return self._write_failed(reason.value or OSError("write failed"))
            of = f" of {length}" if length is not None else ""
            self.say(
                f"the transfer stopped after {format_size(self.received)} "
                f"({self.received}{of} bytes): {self._why(root_cause(reason))}"
            )
            return code
        try:
            self.output.close()
        except WriteError as e:
            self._stop(done=False)
            return self._write_failed(e)
        if self.progress is not None:
            self.progress.finish(True)
        return ExitCode.OK

    def _chunk(self, data: bytes) -> None:
        if self._stopped:
            raise _DiscardError()
        self.output.write(data)  # blocks until written: the next chunk waits for it
        self.received += len(data)
        if self.progress is not None:
            self.progress.update(len(data))

    def _discard(self, response: Any) -> None:
        """Leave a body unread: treq closes the connection at its first byte."""

        def refuse(data: bytes) -> None:
            raise _DiscardError()

        response.collect(refuse).addErrback(lambda _: None)

    def _write_failed(self, e: BaseException) -> int:
        if not self.output.broken_pipe:  # "| head" stopped reading: nothing to say
            self.say(str(e))
        return ExitCode.WRITE

    def _why(self, inner: Failure) -> str:
        text = inner.getErrorMessage()
        name = type(inner.value).__name__
        if "ConnectionDone" in name or "_DataLoss" in name or text.strip() in ("", "[]"):
            return "the server closed the connection"
        return text

    def _failed(self, reason: Failure) -> int:
        """One line for a transfer that never got its answer; returns its status."""
        code = exit_code(reason)
        inner = root_cause(reason)
        where = self.where() or host_port(self.request.url)
        host, port = where
        endpoint = describe_endpoint(host, port)
        if code in (
            ExitCode.RESOLVE,
            ExitCode.CONNECT,
            ExitCode.TLS_HANDSHAKE,
            ExitCode.TLS_VERIFY,
        ) or (code is ExitCode.TIMEOUT and not reason.check(defer.TimeoutError)):
            message = connection_failure_message(
                inner, host, port, self.peer_chain(host, port), self.ca
            )
        elif inner.check(InfiniteRedirection):
            message = f"more than {self.request.max_redirects} redirects (--max-redirs)"
        elif inner.check(RedirectWithNoLocation):
            message = f"{endpoint} answered with a redirect that says not where to"
        elif code is ExitCode.EMPTY_REPLY:
            message = f"{endpoint} closed the connection without answering"
        elif code is ExitCode.WEIRD_REPLY:
            message = f"{endpoint} did not answer in HTTP ({inner.getErrorMessage()})"
        elif inner.check(SchemeNotSupported):
            message = f"{inner.getErrorMessage()}"
        else:
            message = f"request to {endpoint} failed: {self._why(inner)}"
        self.say(message)
        return code


def host_port(url: str) -> tuple[str, int]:
    uri = URI.fromBytes(url.encode("ascii", "replace"))
    return uri.host.decode("ascii", "replace"), uri.port
