"""
The Twisted half of C{netsuite get}: L{Download} through treq against netsuite's own web
site in memory (treq's L{RequestTraversalAgent}: Agent's real HTTP/1.1 client and the
site's real resources over L{twisted.test.iosim}), with a L{Clock} for C{--max-time};
failures that need no server from a stub client; and L{TLSPolicy}, L{Endpoints} and the
whole agent for real on 127.0.0.1 in this process (TLS verification, C{--resolve}).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from twisted.internet import defer
from twisted.internet import error as net_error
from twisted.internet import reactor as global_reactor
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import ResponseNeverReceived
from twisted.web.iweb import IAgentEndpointFactory, IPolicyForHTTPS
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET
from twisted.web.util import Redirect
from zope.interface.verify import verifyObject

from netsuite.client._common import UncheckedClientTLS
from netsuite.client._get_agent import (
    Endpoints,
    IdentityEncoding,
    TLSPolicy,
    build_agent,
    wrap_agent,
)
from netsuite.client._get_download import Download, Request
from netsuite.client._get_output import Output, ProgressLine
from netsuite.client._get_session import ExitCode
from netsuite.testing import TLSFiles
from netsuite.tls._contexts import TLSConfigError, TLSServerSettings, server_context_factory
from netsuite.web import build_site
from netsuite.web._config import WebConfig

reactor: Any = global_reactor
BLOB = os.urandom(200_000)
TEXT = b".rule { color: red }\n" * 500  # compressible, above the site's --gzip-min


class NoRanges(Resource):
    """Always the whole body, whatever Range says (a server that does not resume)."""

    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        request.setHeader(b"content-type", b"application/octet-stream")
        return BLOB


class Held(Resource):
    """
    Sends C{head} bytes of a C{length}-byte body and holds the request (C{requests}),
    for a test to cut or leave stalled. C{length} None: not even the status line.
    """

    isLeaf = True

    def __init__(self, length: int | None, head: int = 0) -> None:
        super().__init__()
        self.length = length
        self.head = head
        self.requests: list[Any] = []

    def render_GET(self, request: Any) -> Any:
        self.requests.append(request)
        if self.length is not None:
            request.setHeader(b"content-length", str(self.length).encode())
            request.write(b"x" * self.head)
        return NOT_DONE_YET


class CapturedStdout(io.BytesIO):
    """stdout as a binary stream that can be made to fail."""

    def __init__(self, error: OSError | None = None) -> None:
        super().__init__()
        self.error = error

    def write(self, data: Any) -> int:
        if self.error is not None:
            raise self.error
        return super().write(data)


class InMemoryDownloadTests(SynchronousTestCase):
    def setUp(self) -> None:
        from treq.testing import RequestTraversalAgent

        base = Path(self.mktemp())
        root = base / "root"
        root.mkdir(parents=True)
        (root / "blob.bin").write_bytes(BLOB)
        (root / "hello.txt").write_bytes(b"hello over http\n")
        (root / "page.css").write_bytes(TEXT)
        self.dir = base
        self.stall = Held(1000, head=100)
        self.never = Held(None)
        self.cut = Held(1000, head=100)
        children = {
            "noranges": NoRanges(),
            "loop": Redirect(b"/loop"),
            "hop": Redirect(b"/hop2"),
            "hop2": Redirect(b"/hello.txt"),
            "stall": self.stall,
            "never": self.never,
            "cut": self.cut,
        }
        from twisted.internet.testing import MemoryReactorClock

        # The site's own clock: a body over 64 KiB streams a chunk per turn (FileBody).
        self.site_clock = MemoryReactorClock()
        site = build_site(
            WebConfig(static_root=str(root), access_log=False),
            reactor=self.site_clock,
            children=children,
        )
        self.agent = RequestTraversalAgent(site.resource)
        self.clock = Clock()
        self.messages: list[str] = []
        self.notes: list[str] = []

    def start(
        self,
        path: str,
        output: str | None = None,
        stdout: CapturedStdout | None = None,
        follow: bool = False,
        max_redirects: int = 10,
        compressed: bool = False,
        progress: ProgressLine | None = None,
        **options: Any,
    ) -> tuple[Deferred[int], Output]:
        from treq.client import HTTPClient

        agent = wrap_agent(self.agent, follow, max_redirects, compressed)
        client = HTTPClient(agent)
        out = Output(output, stdout if stdout is not None else CapturedStdout())
        request = Request(f"http://127.0.0.1:8080{path}", max_redirects=max_redirects, **options)
        download = Download(
            client,
            request,
            out,
            self.clock,
            say=self.messages.append,
            inform=self.notes.append,
            progress=progress,
        )
        return ensureDeferred(download.run()), out

    def finish(self, d: Deferred[int]) -> int:
        for _ in range(200):  # bounded: a 1 MiB body streams in chunks of 16 to 64 KiB
            if d.called:
                break
            self.agent.flush()
            self.site_clock.advance(0)
        return int(self.successResultOf(d))

    def get(self, path: str, **kwargs: Any) -> tuple[int, bytes]:
        d, out = self.start(path, **kwargs)
        code = self.finish(d)
        assert isinstance(out.stdout, io.BytesIO)
        return code, out.stdout.getvalue()

    def test_body_to_stdout(self) -> None:
        code, stdout = self.get("/blob.bin")
        self.assertEqual(code, 0)
        self.assertEqual(stdout, BLOB)
        self.assertEqual(self.messages + self.notes, [])

    def test_include_prints_the_head_first(self) -> None:
        code, stdout = self.get("/hello.txt", include=True)
        self.assertEqual(code, 0)
        head, _, body = stdout.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 OK\r\n"), head)
        self.assertIn(b"\r\nContent-Type: text/plain; charset=utf-8", head)
        self.assertIn(b"\r\nAccept-Ranges: bytes", head)
        # Twisted's ContentDecoderAgent adds an empty Content-Encoding; it is not shown.
        self.assertNotIn(b"Content-Encoding", head)
        self.assertEqual(body, b"hello over http\n")

    def test_bytes_as_they_are(self) -> None:
        """No gzip asked for: the server's bytes are the file's (what --continue counts)."""
        code, stdout = self.get("/page.css", include=True)
        self.assertEqual(code, 0)
        head, _, body = stdout.partition(b"\r\n\r\n")
        self.assertIn(f"\r\nContent-Length: {len(TEXT)}".encode(), head)
        self.assertNotIn(b"gzip", head)
        self.assertEqual(body, TEXT)

    def test_compressed(self) -> None:
        """--compressed: gzip on the wire, unpacked by treq."""
        code, stdout = self.get("/page.css", compressed=True)
        self.assertEqual(code, 0)
        self.assertEqual(stdout, TEXT)
        code, stdout = self.get("/page.css", compressed=True, include=True)
        self.assertIn(b"\r\nVary: Accept-Encoding", stdout)

    def test_head(self) -> None:
        code, stdout = self.get("/hello.txt", head=True)
        self.assertEqual(code, 0)
        self.assertTrue(stdout.startswith(b"HTTP/1.1 200 OK\r\n"))
        self.assertTrue(stdout.endswith(b"\r\n\r\n"))
        self.assertIn(b"\r\nContent-Length: 16\r\n", stdout)

    def test_output_file(self) -> None:
        target = self.dir / "out.bin"
        code, stdout = self.get("/blob.bin", output=str(target))
        self.assertEqual(code, 0)
        self.assertEqual(stdout, b"")
        self.assertEqual(target.read_bytes(), BLOB)

    def test_output_file_gets_the_body_and_stdout_the_head(self) -> None:
        target = self.dir / "out.txt"
        code, stdout = self.get("/hello.txt", output=str(target), include=True)
        self.assertEqual(code, 0)
        self.assertTrue(stdout.startswith(b"HTTP/1.1 200 OK\r\n"))
        self.assertTrue(stdout.endswith(b"\r\n\r\n"))
        self.assertEqual(target.read_bytes(), b"hello over http\n")

    def test_continue_appends_the_rest(self) -> None:
        target = self.dir / "part.bin"
        target.write_bytes(BLOB[:12345])
        lines = io.StringIO()
        now = [0.0]
        progress = ProgressLine(lines, lambda: now[0], width=70)
        code, _ = self.get("/blob.bin", output=str(target), resume=True, progress=progress)
        self.assertEqual(code, 0)
        self.assertEqual(target.read_bytes(), BLOB)
        self.assertEqual(self.messages + self.notes, [])
        drawn = lines.getvalue()
        self.assertTrue(drawn.startswith("\r"), drawn)
        self.assertTrue(drawn.endswith("\n"), drawn)
        last = drawn.rstrip("\n").rsplit("\r", 1)[-1]
        self.assertTrue(last.startswith("100% [==="), last)
        self.assertIn("195 KiB/195 KiB", last)

    def test_continue_when_complete(self) -> None:
        target = self.dir / "whole.bin"
        target.write_bytes(BLOB)
        code, stdout = self.get("/blob.bin", output=str(target), resume=True)
        self.assertEqual(code, 0)
        self.assertEqual(target.read_bytes(), BLOB)
        self.assertEqual(self.notes, [f"{target} is already complete ({len(BLOB)} bytes)"])
        self.assertEqual(self.messages, [])

    def test_continue_when_the_file_is_longer(self) -> None:
        target = self.dir / "long.bin"
        target.write_bytes(BLOB + b"more")
        code, _ = self.get("/blob.bin", output=str(target), resume=True)
        self.assertEqual(code, ExitCode.RANGE)
        self.assertEqual(target.read_bytes(), BLOB + b"more")
        self.assertIn(f"the server's copy has {len(BLOB)}", self.messages[0])

    def test_continue_starts_over_when_the_server_ignores_the_range(self) -> None:
        target = self.dir / "restart.bin"
        target.write_bytes(b"stale bytes, not the start of BLOB")
        code, _ = self.get("/noranges", output=str(target), resume=True)
        self.assertEqual(code, 0)
        self.assertEqual(target.read_bytes(), BLOB)
        self.assertEqual(
            self.notes,
            [
                "the server does not resume (200 OK to a range): "
                f"downloading {target} again from the start"
            ],
        )

    def test_continue_without_a_file_downloads_it(self) -> None:
        target = self.dir / "new.bin"
        code, _ = self.get("/blob.bin", output=str(target), resume=True)
        self.assertEqual(code, 0)
        self.assertEqual(target.read_bytes(), BLOB)

    def test_continue_leaves_the_file_on_an_error(self) -> None:
        target = self.dir / "kept.bin"
        target.write_bytes(b"partial")
        code, _ = self.get("/gone.bin", output=str(target), resume=True)
        self.assertEqual(code, ExitCode.HTTP_ERROR)
        self.assertEqual(target.read_bytes(), b"partial")
        self.assertEqual(
            self.messages, [f"the server answered 404 Not Found; {target} left as it was"]
        )

    def test_http_error_without_fail_prints_the_body(self) -> None:
        code, stdout = self.get("/missing.txt")
        self.assertEqual(code, 0)
        self.assertIn(b"404", stdout)

    def test_fail_writes_nothing(self) -> None:
        target = self.dir / "never-created"
        code, stdout = self.get("/missing.txt", output=str(target), fail=True, include=True)
        self.assertEqual(code, ExitCode.HTTP_ERROR)
        self.assertFalse(target.exists())
        self.assertTrue(stdout.startswith(b"HTTP/1.1 404 Not Found\r\n"))
        self.assertTrue(stdout.endswith(b"\r\n\r\n"))  # the head only
        self.assertEqual(self.messages, ["the server answered 404 Not Found"])

    def test_redirect_not_followed(self) -> None:
        code, stdout = self.get("/hop", include=True)
        self.assertEqual(code, 0)
        self.assertTrue(stdout.startswith(b"HTTP/1.1 302 Found\r\n"))
        self.assertIn(b"\r\nLocation: /hop2\r\n", stdout)

    def test_redirects_followed(self) -> None:
        code, stdout = self.get("/hop", include=True, follow=True)
        self.assertEqual(code, 0)
        heads = stdout.split(b"\r\n\r\n")
        self.assertTrue(heads[0].startswith(b"HTTP/1.1 302 Found\r\n"))
        self.assertIn(b"Location: /hop2", heads[0])
        self.assertIn(b"Location: /hello.txt", heads[1])
        self.assertTrue(heads[2].startswith(b"HTTP/1.1 200 OK\r\n"))
        self.assertEqual(heads[3], b"hello over http\n")

    def test_redirect_loop(self) -> None:
        code, stdout = self.get("/loop", follow=True, max_redirects=3)
        self.assertEqual(code, ExitCode.TOO_MANY_REDIRECTS)
        self.assertEqual(stdout, b"")
        self.assertEqual(self.messages, ["more than 3 redirects (--max-redirs)"])

    def test_connection_cut_in_the_body(self) -> None:
        target = self.dir / "cut.bin"
        d, _ = self.start("/cut", output=str(target))
        self.agent.flush()
        self.assertNoResult(d)
        self.cut.requests[0].channel.transport.loseConnection()
        code = self.finish(d)
        self.assertEqual(code, ExitCode.PARTIAL)
        self.assertEqual(target.read_bytes(), b"x" * 100)  # kept, for --continue
        self.assertEqual(
            self.messages,
            ["the transfer stopped after 100 B (100 of 1000 bytes): "
             "the server closed the connection"],
        )  # fmt: skip

    def test_max_time_before_the_answer(self) -> None:
        d, _ = self.start("/never", max_time=5.0)
        self.agent.flush()
        self.clock.advance(4.9)
        self.assertNoResult(d)
        self.clock.advance(0.1)
        self.assertEqual(self.successResultOf(d), ExitCode.TIMEOUT)
        self.assertEqual(self.messages, ["timed out after 5s (nothing received)"])

    def test_max_time_in_the_body(self) -> None:
        target = self.dir / "slow.bin"
        d, _ = self.start("/stall", output=str(target), max_time=2.0)
        self.agent.flush()
        self.assertNoResult(d)
        self.clock.advance(2.0)
        self.assertEqual(self.successResultOf(d), ExitCode.TIMEOUT)
        self.assertEqual(self.messages, ["timed out after 2s (100 of 1000 bytes received)"])
        self.assertEqual(target.read_bytes(), b"x" * 100)
        # Bytes arriving after that are not written: the connection is closed instead.
        self.stall.requests[0].write(b"y" * 100)
        self.agent.flush()
        self.assertEqual(target.read_bytes(), b"x" * 100)

    def test_write_error(self) -> None:
        stdout = CapturedStdout(OSError(28, "No space left on device"))
        code, _ = self.get("/blob.bin", stdout=stdout)
        self.assertEqual(code, ExitCode.WRITE)
        self.assertEqual(self.messages, ["cannot write to stdout: No space left on device"])

    def test_broken_pipe_is_quiet(self) -> None:
        d, out = self.start("/blob.bin", stdout=CapturedStdout(BrokenPipeError()))
        self.assertEqual(self.finish(d), ExitCode.WRITE)
        self.assertTrue(out.broken_pipe)
        self.assertEqual(self.messages, [])

    def test_output_cannot_be_opened(self) -> None:
        target = self.dir / "no" / "such" / "dir" / "f"
        code, _ = self.get("/hello.txt", output=str(target))
        self.assertEqual(code, ExitCode.WRITE)
        self.assertEqual(self.messages, [f"cannot write {target}: No such file or directory"])

    def test_resume_target_is_a_directory(self) -> None:
        code, _ = self.get("/hello.txt", output=str(self.dir), resume=True)
        self.assertEqual(code, ExitCode.WRITE)
        self.assertEqual(self.messages, [f"{self.dir} is not a regular file"])


class OutputTests(SynchronousTestCase):
    def test_non_blocking_stdout_gets_every_byte(self) -> None:
        """A pipe left non-blocking by someone else: waited on, never a short write."""
        import fcntl
        import threading

        r, w = os.pipe()
        flags = fcntl.fcntl(w, fcntl.F_GETFL)
        fcntl.fcntl(w, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        got: list[bytes] = []

        def drain() -> None:
            with open(r, "rb") as reader:
                got.append(reader.read())

        reader = threading.Thread(target=drain)
        reader.start()
        with open(w, "wb") as stdout:
            out = Output(None, stdout)
            out.head(b"HTTP/1.1 200 OK\r\n\r\n")
            for _ in range(4):
                out.write(BLOB)  # 200 kB each: more than a pipe holds
        reader.join()
        self.assertEqual(got, [b"HTTP/1.1 200 OK\r\n\r\n" + BLOB * 4])
        self.assertEqual(out.written, 4 * len(BLOB))


class StubClient:
    """An HTTPClient whose request fails with C{error}, as Agent reports it."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def request(self, *args: Any, **kwargs: Any) -> Deferred[Any]:
        return defer.fail(self.error)


class FailureMessageTests(SynchronousTestCase):
    """The one line, and the status, for a transfer that never got an answer."""

    def run_with(self, error: BaseException, where: tuple[str, int], chain: Any = ()) -> int:
        self.messages: list[str] = []
        download = Download(
            StubClient(error),
            Request("https://example.test/"),
            Output(None, CapturedStdout()),
            Clock(),
            say=self.messages.append,
            where=lambda: where,
            peer_chain=lambda host, port: list(chain),
        )
        return int(self.successResultOf(ensureDeferred(download.run())))

    def test_wrong_name(self) -> None:
        from service_identity import VerificationError

        tls = TLSFiles(Path(self.mktemp()))
        from cryptography import x509

        leaf = x509.load_pem_x509_certificate(Path(tls.cert_path).read_bytes())
        error = ResponseNeverReceived([Failure(VerificationError(errors=[]))])
        code = self.run_with(error, ("wrong.test", 8443), [leaf])
        self.assertEqual(code, ExitCode.TLS_VERIFY)
        self.assertEqual(
            self.messages,
            ["TLS verification failed for wrong.test: the certificate is for "
             "DNS:localhost, IP:127.0.0.1, IP:::1, not wrong.test"],
        )  # fmt: skip

    def test_resolve_and_connect(self) -> None:
        code = self.run_with(net_error.DNSLookupError("nope.invalid"), ("nope.invalid", 80))
        self.assertEqual(code, ExitCode.RESOLVE)
        self.assertTrue(self.messages[0].startswith("cannot resolve nope.invalid: "))
        code = self.run_with(net_error.ConnectionRefusedError(), ("127.0.0.1", 1))
        self.assertEqual(code, ExitCode.CONNECT)
        self.assertEqual(self.messages, ["cannot connect to 127.0.0.1:1: connection refused"])
        code = self.run_with(net_error.TimeoutError(), ("::1", 80))
        self.assertEqual(code, ExitCode.TIMEOUT)
        self.assertEqual(self.messages, ["cannot connect to [::1]:80: timed out"])

    def test_empty_reply(self) -> None:
        error = ResponseNeverReceived([Failure(net_error.ConnectionDone())])
        self.assertEqual(self.run_with(error, ("h", 8)), ExitCode.EMPTY_REPLY)
        self.assertEqual(self.messages, ["h:8 closed the connection without answering"])


class IdentityEncodingTests(SynchronousTestCase):
    def test_asks_for_identity(self) -> None:
        seen: list[Any] = []

        class Recorder:
            def request(self, method: bytes, uri: bytes, headers: Any, body: Any) -> Any:
                seen.append(headers)
                return defer.succeed(None)

        from twisted.web.http_headers import Headers

        given = Headers({b"Accept-Encoding": [b"gzip"], b"Range": [b"bytes=1-"]})
        IdentityEncoding(Recorder()).request(b"GET", b"http://h/", given)
        self.assertEqual(seen[0].getRawHeaders(b"Accept-Encoding"), [b"identity"])
        self.assertEqual(seen[0].getRawHeaders(b"Range"), [b"bytes=1-"])
        self.assertEqual(given.getRawHeaders(b"Accept-Encoding"), [b"gzip"])  # not changed
        IdentityEncoding(Recorder()).request(b"GET", b"http://h/")
        self.assertEqual(seen[1].getRawHeaders(b"Accept-Encoding"), [b"identity"])


class TLSPolicyTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.tls = TLSFiles(Path(self.mktemp()))

    def test_interfaces(self) -> None:
        policy = TLSPolicy(self.tls.ca_path)
        self.assertTrue(verifyObject(IPolicyForHTTPS, policy))
        creator = policy.creatorForNetloc(b"LocalHost", 443)
        self.assertTrue(verifyObject(IOpenSSLClientConnectionCreator, creator))
        self.assertEqual(creator.where, ("localhost", 443))
        self.assertEqual(policy.peer_chain("localhost", 443), [])
        endpoints = Endpoints(reactor, policy)
        self.assertTrue(verifyObject(IAgentEndpointFactory, endpoints))

    def test_insecure(self) -> None:
        creator = TLSPolicy(insecure=True).creatorForNetloc(b"localhost", 443)
        self.assertIsInstance(creator.creator, UncheckedClientTLS)

    def test_bad_files(self) -> None:
        with self.assertRaises(TLSConfigError):
            TLSPolicy("/nonexistent/ca.pem").creatorForNetloc(b"localhost", 443)
        with self.assertRaises(TLSConfigError):
            TLSPolicy(cert=self.tls.ca_path).creatorForNetloc(b"localhost", 443)


class RealConnectionTests(TestCase):
    """The whole agent (L{Endpoints}, L{TLSPolicy}) against the site on 127.0.0.1."""

    def setUp(self) -> None:
        base = Path(self.mktemp())
        root = base / "root"
        root.mkdir(parents=True)
        (root / "blob.bin").write_bytes(BLOB)
        self.tls = TLSFiles(base / "pki")
        site = build_site(WebConfig(static_root=str(root), access_log=False), reactor=reactor)
        context, _ = server_context_factory(
            TLSServerSettings(cert=self.tls.cert_path, key=self.tls.key_path)
        )
        https = reactor.listenSSL(0, site, context, interface="127.0.0.1")
        self.addCleanup(https.stopListening)
        self.port = https.getHost().port
        closed = reactor.listenTCP(0, site, interface="127.0.0.1")
        self.closed_port = closed.getHost().port
        return closed.stopListening()

    async def fetch(self, url: str, ca: str | None = None, **resolve: str) -> tuple[int, bytes]:
        from treq.client import HTTPClient

        self.messages: list[str] = []
        policy = TLSPolicy(ca)
        mapping = {(host.replace("_", "."), self.port): a for host, a in resolve.items()}
        endpoints = Endpoints(reactor, policy, 10.0, mapping)
        out = Output(None, CapturedStdout())
        download = Download(
            HTTPClient(build_agent(reactor, endpoints)),
            Request(url, max_time=20.0),
            out,
            reactor,
            say=self.messages.append,
            where=lambda: endpoints.last,
            peer_chain=policy.peer_chain,
            ca=ca,
        )
        code = await download.run()
        assert isinstance(out.stdout, io.BytesIO)
        return code, out.stdout.getvalue()

    async def test_verified(self) -> None:
        url = f"https://localhost:{self.port}/blob.bin"
        code, body = await self.fetch(url, self.tls.ca_path, localhost="127.0.0.1")
        self.assertEqual((code, self.messages), (0, []))
        self.assertEqual(body, BLOB)

    async def test_untrusted(self) -> None:
        url = f"https://localhost:{self.port}/blob.bin"
        code, body = await self.fetch(url, None, localhost="127.0.0.1")
        self.assertEqual(code, ExitCode.TLS_VERIFY)
        self.assertEqual(body, b"")
        self.assertEqual(
            self.messages,
            ["TLS verification failed for localhost: certificate verify failed: certificate "
             "issued by CN=netsuite test CA does not chain to a system-trusted CA "
             "(--ca FILE trusts another)"],
        )  # fmt: skip

    async def test_wrong_name(self) -> None:
        url = f"https://wrong.test:{self.port}/blob.bin"
        code, body = await self.fetch(url, self.tls.ca_path, wrong_test="127.0.0.1")
        self.assertEqual(code, ExitCode.TLS_VERIFY)
        self.assertEqual(
            self.messages,
            ["TLS verification failed for wrong.test: the certificate is for "
             "DNS:localhost, IP:127.0.0.1, IP:::1, not wrong.test"],
        )  # fmt: skip

    async def test_refused(self) -> None:
        code, _ = await self.fetch(f"http://127.0.0.1:{self.closed_port}/")
        self.assertEqual(code, ExitCode.CONNECT)
        self.assertEqual(
            self.messages, [f"cannot connect to 127.0.0.1:{self.closed_port}: connection refused"]
        )

    async def test_https_to_plain_http(self) -> None:
        """The handshake meets HTTP: TLS failed, not verification (35)."""
        from twisted.internet.protocol import Factory, Protocol

        class Silent(Protocol):
            def dataReceived(self, data: bytes) -> None:
                self.transport.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                self.transport.loseConnection()

        plain = reactor.listenTCP(0, Factory.forProtocol(Silent), interface="127.0.0.1")
        self.addCleanup(plain.stopListening)
        code, _ = await self.fetch(f"https://127.0.0.1:{plain.getHost().port}/")
        self.assertEqual(code, ExitCode.TLS_HANDSHAKE)
        self.assertTrue(self.messages[0].startswith("TLS handshake with 127.0.0.1:"))
