"""
C{netsuite get URL}: download over HTTP/1.1 or HTTPS with treq, curl's way.

The body goes to stdout, or to C{-o FILE}, as it arrives (never held in memory: each
chunk is written before the next is read). C{-i} prints the status line and headers
first (on stdout, also with C{-o}); C{-I} asks for them alone (HEAD). C{-C}/C{--continue}
resumes C{-o FILE}: it asks for the bytes after those on disk and appends them when the
server sends exactly those (206), starts the file over when the server ignores the range
(200, and says so), and stops with status 0 when the server says the file is complete
(416). C{-L} follows redirects (at most C{--max-redirs}, 10). A progress bar (bytes,
percentage, rate, time left) is drawn on stderr when stderr is a terminal and the body
does not go to that terminal.

HTTPS checks the server: the certificate must chain to C{--ca} (or the system's trust
store) and name the URL's host (service_identity), for every host a redirect leads to;
C{--cert}/C{--key} present a client certificate; C{--insecure} checks nothing, and says
so on stderr. C{--resolve HOST:PORT:ADDRESS} connects to ADDRESS for HOST:PORT while
keeping HOST for the certificate check and the C{Host} header (curl's option).

The body is the resource's own bytes: the request says C{Accept-Encoding: identity}
(treq would ask for gzip and unpack it, which would make C{--continue}'s offsets count
something else than the file's bytes); C{--compressed} asks for gzip.

Exit statuses are curl's (L{netsuite.client._get_session.ExitCode}): 0 done (whatever the
HTTP status, as curl), 22 an HTTP error with C{--fail}, 6 the host does not resolve, 7
no connection, 8 the answer is not HTTP, 18 the body stopped short, 23 the output could
not be written, 28 timed out (C{--max-time}, C{--connect-timeout}), 33 a resumed
download that the server's answer does not continue, 35 TLS failed, 47 too many
redirects, 52 no answer at all, 55/56 the connection failed sending/receiving, 60 the
certificate is not trusted or not for the host, 2 bad arguments, 1 anything else, 130
interrupted. Every failure is one line on stderr.

Layout: the decisions (resume, exit statuses, progress line) are sans-IO, in
L{netsuite.client._get_session}; here L{TLSPolicy} (Twisted's L{IPolicyForHTTPS}) and
L{Endpoints} connect, L{Download} runs one transfer on any L{IAgent}, L{Output} and
L{ProgressLine} write, and L{run} wires them to the reactor.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, TextIO

from cryptography import x509
from OpenSSL import SSL
from twisted.internet import defer
from twisted.internet.defer import CancelledError, ensureDeferred
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator, IReactorTime
from twisted.python.failure import Failure
from twisted.web.client import URI
from twisted.web.error import InfiniteRedirection, RedirectWithNoLocation, SchemeNotSupported
from twisted.web.http_headers import Headers
from twisted.web.iweb import UNKNOWN_LENGTH, IAgent, IAgentEndpointFactory, IPolicyForHTTPS
from zope.interface import implementer

from netsuite.client._common import (
    INSECURE_WARNING,
    UncheckedClientTLS,
    add_tls_arguments,
    check_tls_arguments,
    connection_failure_message,
    describe_endpoint,
    positive_int,
    positive_seconds,
    react_command,
    say,
)
from netsuite.client._get_session import (
    Action,
    ExitCode,
    Progress,
    WriteError,
    decide,
    exit_code,
    format_size,
    parse_content_range,
    range_header,
    root_cause,
)
from netsuite.client.main import CommandLineError
from netsuite.tls._contexts import TLSConfigError, client_tls_options

__all__ = [
    "MAX_REDIRECTS",
    "NAME",
    "SUMMARY",
    "Download",
    "Endpoints",
    "IdentityEncoding",
    "Output",
    "ProgressLine",
    "Request",
    "TLSPolicy",
    "add_arguments",
    "build_agent",
    "http_url",
    "resolve_entry",
    "run",
    "wrap_agent",
]

NAME = "get"
SUMMARY = "Download a URL over HTTP or HTTPS (curl-like: -i, -o, -C, -L, --fail)."
PROG = "netsuite get"

#: Redirects C{-L} follows by default.
MAX_REDIRECTS = 10
#: Seconds to connect (resolving included), unless C{--connect-timeout} says otherwise.
DEFAULT_CONNECT_TIMEOUT = 30.0
USER_AGENT = b"netsuite-get"


# -- argument types ------------------------------------------------------------------------


def http_url(text: str) -> str:
    """
    An C{http://} or C{https://} URL with a host (C{host/path} alone means http://),
    returned as treq sends it: ASCII, the host IDNA-encoded, the rest percent-encoded.
    """
    import hyperlink

    if "://" not in text:
        text = "http://" + text
    if "[" in text.split("/", 3)[2]:
        # hyperlink (under treq) cannot encode an IPv6 literal; --resolve can reach one.
        raise argparse.ArgumentTypeError(
            f"{text!r}: IPv6 address literals are not supported; use a name and "
            "--resolve NAME:PORT:[ADDRESS]"
        )
    try:
        url = hyperlink.URL.from_text(text)
        url = url.replace(scheme=url.scheme.lower())
        uri = url.to_uri()
        port = url.port
    except (ValueError, UnicodeError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a URL") from None
    if url.scheme not in ("http", "https"):
        raise argparse.ArgumentTypeError(f"{text!r}: only http:// and https:// URLs are supported")
    if not url.host:
        raise argparse.ArgumentTypeError(f"{text!r} is not a URL (no host)")
    if port is None or not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: {port} is not a port (1-65535)")
    return str(uri.to_text())


def resolve_entry(text: str) -> tuple[str, int, str]:
    """C{HOST:PORT:ADDRESS} (C{--resolve}); an IPv6 address may be in brackets."""
    host, sep1, rest = text.partition(":")
    port_text, sep2, address = rest.partition(":")
    address = address.strip("[]")
    if not (sep1 and sep2 and host and address):
        raise argparse.ArgumentTypeError(f"{text!r}: expected HOST:PORT:ADDRESS")
    try:
        port = int(port_text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: {port_text!r} is not a port") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: {port} is not a port (1-65535)")
    return host.lower(), port, address


# -- connecting ------------------------------------------------------------------------------


@implementer(IOpenSSLClientConnectionCreator)
class _Recording:
    """Passes a creator's connections on, keeping the last for the failure message."""

    def __init__(self, creator: Any, policy: TLSPolicy, where: tuple[str, int]) -> None:
        self.creator = creator
        self.policy = policy
        self.where = where

    def clientConnectionForTLS(self, tlsProtocol: Any) -> SSL.Connection:
        connection = self.creator.clientConnectionForTLS(tlsProtocol)
        self.policy.connections[self.where] = connection
        return connection


@implementer(IPolicyForHTTPS)
class TLSPolicy:
    """
    How every HTTPS connection is checked, per host (Agent asks once per connection):
    L{netsuite.tls._contexts.client_tls_options} for the host, which verifies the certificate
    against C{ca} (or the system's trust store) and the host name with
    service_identity, and presents C{cert}/C{key}; with C{insecure}, nothing checked.

    It keeps each host's last TLS connection so that a failure can say what the server's
    certificate was (L{peer_chain}).
    """

    def __init__(
        self,
        ca: str | None = None,
        cert: str | None = None,
        key: str | None = None,
        insecure: bool = False,
        alpn: Sequence[str] = ("http/1.1",),
    ) -> None:
        self.ca = ca
        self.cert = cert
        self.key = key
        self.insecure = insecure
        self.alpn = tuple(alpn)
        self.connections: dict[tuple[str, int], SSL.Connection] = {}

    def creatorForNetloc(self, hostname: bytes, port: int) -> IOpenSSLClientConnectionCreator:
        """The client TLS options for C{hostname} (raises L{TLSConfigError} on bad files)."""
        host = hostname.decode("ascii").strip("[]").lower()
        if self.insecure:
            creator: Any = UncheckedClientTLS(host, self.cert, self.key)
        else:
            creator = client_tls_options(host, self.ca, self.cert, self.key, alpn=self.alpn)
        return _Recording(creator, self, (host, port))

    def peer_chain(self, host: str, port: int) -> list[x509.Certificate]:
        """The certificates the server at C{host}:C{port} sent last (leaf first)."""
        connection = self.connections.get((host.lower(), port))
        if connection is None:
            return []
        with contextlib.suppress(SSL.Error, ValueError):
            return [c.to_cryptography() for c in connection.get_peer_cert_chain() or ()]
        return []


@implementer(IAgentEndpointFactory)
class Endpoints:
    """
    Agent's endpoints: L{HostnameEndpoint} (IPv4 and IPv6, C{connect_timeout} for
    resolving and connecting), wrapped in TLS from C{policy} for https. C{resolve} maps
    C{(host, port)} to the address to connect to instead (C{--resolve}). C{last} is the
    host and port asked for last: the one a failure is about, redirects included.
    """

    def __init__(
        self,
        reactor: Any,
        policy: IPolicyForHTTPS,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        resolve: dict[tuple[str, int], str] | None = None,
    ) -> None:
        self.reactor = reactor
        self.policy = policy
        self.connect_timeout = connect_timeout
        self.resolve = dict(resolve or {})
        self.last: tuple[str, int] | None = None

    def endpointForURI(self, uri: URI) -> Any:
        from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS

        if uri.scheme not in (b"http", b"https"):
            raise SchemeNotSupported(
                f"unsupported scheme: {uri.scheme.decode('ascii', 'replace')}"
            )
        host = uri.host.decode("ascii").lower()
        self.last = (host, uri.port)
        address = self.resolve.get((host, uri.port), host)
        endpoint: Any = HostnameEndpoint(
            self.reactor, address.encode("ascii"), uri.port, timeout=self.connect_timeout
        )
        if uri.scheme == b"https":
            endpoint = wrapClientTLS(self.policy.creatorForNetloc(uri.host, uri.port), endpoint)
        return endpoint


@implementer(IAgent)
class IdentityEncoding:
    """
    Asks for the resource's own bytes (C{Accept-Encoding: identity}).

    treq's L{HTTPClient} always asks for gzip and unpacks it; below it, this replaces
    that, so that what is written is the file byte for byte and a resumed download's
    offset counts the same bytes as the server's ranges.
    """

    def __init__(self, agent: IAgent) -> None:
        self.agent = agent

    def request(
        self,
        method: bytes,
        uri: bytes,
        headers: Headers | None = None,
        bodyProducer: Any = None,
    ) -> defer.Deferred[Any]:
        headers = Headers() if headers is None else headers.copy()
        headers.setRawHeaders(b"Accept-Encoding", [b"identity"])
        return self.agent.request(method, uri, headers, bodyProducer)


def wrap_agent(
    agent: IAgent,
    follow: bool = False,
    max_redirects: int = MAX_REDIRECTS,
    compressed: bool = False,
) -> IAgent:
    """C{agent} following redirects (C{follow}, at most C{max_redirects}), asking for the
    bytes as they are unless C{compressed}: what goes under treq's L{HTTPClient}."""
    from twisted.web.client import RedirectAgent

    if follow:
        agent = RedirectAgent(agent, redirectLimit=max_redirects)
    if not compressed:
        agent = IdentityEncoding(agent)
    return agent


def build_agent(
    reactor: Any,
    endpoints: IAgentEndpointFactory,
    follow: bool = False,
    max_redirects: int = MAX_REDIRECTS,
    compressed: bool = False,
) -> IAgent:
    """An HTTP/1.1 Agent on C{endpoints} (one connection per request), wrapped by
    L{wrap_agent}."""
    from twisted.web.client import Agent, HTTPConnectionPool

    pool = HTTPConnectionPool(reactor, persistent=False)
    agent = Agent.usingEndpointFactory(reactor, endpoints, pool=pool)
    return wrap_agent(agent, follow, max_redirects, compressed)


# -- writing -----------------------------------------------------------------------------------


class Output:
    """
    Where the body goes: C{stdout} (a binary stream), or the file C{path}, opened only
    once there is a body to write (so C{--fail} on a 404 leaves no empty file behind).
    Every failure is a L{WriteError} that names it.
    """

    def __init__(self, path: str | None, stdout: BinaryIO) -> None:
        self.path = path
        self.stdout = stdout
        self.file: BinaryIO | None = None
        self.written = 0
        self.broken_pipe = False
        self._fd: int | None = None
        with contextlib.suppress(AttributeError, OSError, ValueError):
            self._fd = stdout.fileno()

    def _to_stdout(self, data: bytes) -> None:
        """
        All of C{data} on stdout, waiting (blocking) until it is taken: a pipe left
        non-blocking by another process (Twisted's StandardIO does that to a shared pipe)
        would otherwise refuse a write half done.
        """
        if self._fd is None:
            self.stdout.write(data)
            self.stdout.flush()
            return
        import select

        self.stdout.flush()  # nothing of ours is buffered there, but keep the order
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self._fd, view) :]
            except BlockingIOError:
                select.select([], [self._fd], [])

    @property
    def name(self) -> str:
        return self.path if self.path is not None else "stdout"

    def existing_size(self) -> int:
        """Bytes already in the file (0 when there is none)."""
        if self.path is None:
            return 0
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return 0
        except OSError as e:
            raise WriteError(f"cannot read {self.path}: {e.strerror}") from None
        if not os.path.isfile(self.path):
            raise WriteError(f"{self.path} is not a regular file")
        return st.st_size

    def open(self, action: Action) -> None:
        """Open the file: appending for L{Action.APPEND}, else from empty."""
        if self.path is None:
            return
        mode = "ab" if action is Action.APPEND else "wb"
        try:
            self.file = open(self.path, mode)  # noqa: SIM115 - closed by close()/abort()
        except OSError as e:
            raise WriteError(f"cannot write {self.path}: {e.strerror}") from None

    def write(self, data: bytes) -> None:
        try:
            if self.file is not None:
                self.file.write(data)
            else:
                self._to_stdout(data)
        except BrokenPipeError:
            self.broken_pipe = self.file is None
            raise WriteError(f"cannot write to {self.name}: broken pipe") from None
        except OSError as e:
            raise WriteError(f"cannot write to {self.name}: {e.strerror}") from None
        self.written += len(data)

    def head(self, data: bytes) -> None:
        """Status lines and headers (C{-i}): always on stdout."""
        try:
            self._to_stdout(data)
        except BrokenPipeError:
            self.broken_pipe = True
            raise WriteError("cannot write to stdout: broken pipe") from None
        except OSError as e:
            raise WriteError(f"cannot write to stdout: {e.strerror}") from None

    def close(self) -> None:
        """Flush and close the file (a full disk may only show here)."""
        file, self.file = self.file, None
        if file is not None:
            try:
                file.close()
            except OSError as e:
                raise WriteError(f"cannot write {self.path}: {e.strerror}") from None

    def abort(self) -> None:
        """Close without raising: what is written stays (for a later --continue)."""
        with contextlib.suppress(OSError):
            self.close()


class ProgressLine:
    """L{Progress} drawn on a terminal (C{stream}, stderr): one line, redrawn in place."""

    def __init__(
        self,
        stream: TextIO,
        now: Callable[[], float],
        width: int = 80,
    ) -> None:
        self.stream = stream
        self.now = now
        self.width = width
        self.progress: Progress | None = None
        self._drawn = False

    def start(self, total: int | None, offset: int) -> None:
        self.progress = Progress(self.now(), total=total, offset=offset)

    def update(self, count: int) -> None:
        if self.progress is None:
            return
        now = self.now()
        self.progress.update(count, now)
        if self.progress.due(now):
            self._draw(self.progress.render(now, self.width))

    def _draw(self, line: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stream.write("\r" + line.ljust(self.width)[: self.width])
            self.stream.flush()
            self._drawn = True

    def finish(self, done: bool) -> None:
        """The last line (the average rate, when C{done}), and a newline after it."""
        if self.progress is None:
            return
        if done:
            self._draw(self.progress.render(self.now(), self.width, final=True))
        if self._drawn:
            with contextlib.suppress(OSError, ValueError):
                self.stream.write("\n")
                self.stream.flush()
        self.progress = None
        self._drawn = False


# -- one transfer ------------------------------------------------------------------------------


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
                return self._write_failed(reason.value)
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
        where = self.where() or _host_port(self.request.url)
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


def _host_port(url: str) -> tuple[str, int]:
    uri = URI.fromBytes(url.encode("ascii", "replace"))
    return uri.host.decode("ascii", "replace"), uri.port


# -- the command -----------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of C{netsuite get}."""
    parser.add_argument(
        "url", metavar="URL", type=http_url, help="http:// or https:// URL (host/path: http)"
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write the body to FILE (default: stdout)"
    )
    parser.add_argument(
        "-C",
        "--continue",
        dest="resume",
        action="store_true",
        help="resume -o FILE: ask for the bytes after those it holds (Range)",
    )
    parser.add_argument(
        "-i", "--include", action="store_true", help="print the status line and headers first"
    )
    parser.add_argument(
        "-I", "--head", action="store_true", help="ask for the headers only (HEAD) and print them"
    )
    parser.add_argument(
        "-f",
        "--fail",
        action="store_true",
        help="on an HTTP error (status >= 400) write no body and exit 22",
    )
    parser.add_argument("-L", "--location", action="store_true", help="follow redirects")
    parser.add_argument(
        "--max-redirs",
        metavar="N",
        type=positive_int,
        default=MAX_REDIRECTS,
        help="most redirects -L follows (default %(default)s; more: exit 47)",
    )
    parser.add_argument(
        "-m",
        "--max-time",
        metavar="SECONDS",
        type=positive_seconds,
        help="give up on the whole transfer after SECONDS (exit 28)",
    )
    parser.add_argument(
        "--connect-timeout",
        metavar="SECONDS",
        type=positive_seconds,
        default=DEFAULT_CONNECT_TIMEOUT,
        help="to resolve and connect (default %(default)g; exit 28)",
    )
    parser.add_argument(
        "--compressed",
        action="store_true",
        help="ask for gzip and unpack it (the default asks for the bytes as they are)",
    )
    parser.add_argument(
        "-s", "--silent", action="store_true", help="no progress bar, no notes; errors only"
    )
    parser.add_argument(
        "--resolve",
        metavar="HOST:PORT:ADDRESS",
        type=resolve_entry,
        action="append",
        default=[],
        help="connect to ADDRESS for HOST:PORT (the certificate must still name HOST)",
    )
    tls = parser.add_argument_group("TLS (https:// URLs)")
    add_tls_arguments(tls, "https://")


def _validate(args: argparse.Namespace) -> None:
    """Refuse combinations argparse cannot express, before anything connects."""
    # TLS settings stay meaningful for http:// URLs: -L may lead to https.
    check_tls_arguments(args, True, "https://")
    output = None if args.output in (None, "-") else args.output
    if args.resume and output is None:
        raise CommandLineError("--continue needs -o FILE (it resumes a file)")
    if args.head and args.resume:
        raise CommandLineError("--head fetches no body: --continue has nothing to resume")
    if args.head and output is not None:
        raise CommandLineError("--head prints headers on stdout: -o FILE would stay empty")
    if args.resume and args.compressed:
        raise CommandLineError(
            "--compressed unpacks gzip: --continue's offset would not count the server's bytes"
        )
    if args.max_redirs != MAX_REDIRECTS and not args.location:
        raise CommandLineError("--max-redirs: only meaningful with -L")


def _show_progress(args: argparse.Namespace, output: str | None) -> bool:
    """A bar on stderr when it is a terminal, the body does not go there, and not -s."""
    if args.silent or args.head:
        return False
    try:
        if not os.isatty(sys.stderr.fileno()):
            return False
        return output is not None or not os.isatty(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return False


def _terminal_width() -> int:
    try:
        columns = os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError):
        columns = 0
    return max(20, columns - 1) if columns else 79


def _quiet_stdout() -> None:
    """stdout's reader went away: point it at /dev/null so the exit flush is silent."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def run(args: argparse.Namespace) -> int:
    """Run C{netsuite get} with parsed C{args}; returns the exit status."""
    import time

    from treq.client import HTTPClient

    _validate(args)
    output_path = None if args.output in (None, "-") else args.output
    policy = TLSPolicy(args.ca, args.cert, args.key, insecure=args.insecure)
    host, port = _host_port(args.url)
    if args.ca or args.cert:
        try:  # read the files now: a bad one is a usage error, before connecting
            policy.creatorForNetloc(host.encode("ascii"), port)
        except TLSConfigError as e:
            raise CommandLineError(str(e)) from None
    if args.insecure:
        say(PROG, INSECURE_WARNING)
    resolve = {(h, p): a for h, p, a in args.resolve}
    request = Request(
        url=args.url,
        head=args.head,
        include=args.include or args.head,
        fail=args.fail,
        resume=args.resume,
        max_time=args.max_time,
        max_redirects=args.max_redirs,
    )
    output = Output(output_path, sys.stdout.buffer)

    def note(line: str) -> None:
        if not args.silent:
            say(PROG, line)

    async def main(reactor: Any) -> int:
        endpoints = Endpoints(reactor, policy, args.connect_timeout, resolve)
        agent = build_agent(
            reactor,
            endpoints,
            follow=args.location,
            max_redirects=args.max_redirs,
            compressed=args.compressed,
        )
        progress = None
        if _show_progress(args, output_path):
            progress = ProgressLine(sys.stderr, time.monotonic, _terminal_width())
        download = Download(
            HTTPClient(agent),
            request,
            output,
            reactor,
            say=lambda line: say(PROG, line),
            inform=note,
            progress=progress,
            where=lambda: endpoints.last,
            peer_chain=policy.peer_chain,
            ca=args.ca,
        )
        return await download.run()

    code = react_command(PROG, main)
    if output.broken_pipe:
        _quiet_stdout()
    return code
