"""
The request head limits of RFC 9112 that Twisted's parser does not apply: the request
line's length (414), C{Host} (400), bare LF (accepted, or refused at once), each at its
edge (n accepted, n+1 refused) through the real site in memory, each an option of
C{twistd netsuite-web}; and their sans-IO core (L{netsuite.web._http_limits}) fed whole
and one byte at a time.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.testing import MemoryReactorClock
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from netsuite.twistd._config import option_specs
from netsuite.web import WebConfig, WebLimits, tap
from netsuite.web._http_limits import (
    MAX_REQUEST_LINE,
    ChunkedFraming,
    HeadLimits,
    RequestError,
    RequestHead,
)
from tests.web.helpers import WebClient, parse_responses


def status_of(data: bytes, **limits: Any) -> tuple[int | None, bool]:
    """The status of the first response to C{data} (None: none yet), and whether closing."""
    client = WebClient(WebConfig(limits=WebLimits(**limits)))
    conn = client.connect()
    conn.send(data)
    got, _ = parse_responses(conn.transport.value())
    return (got[0].status if got else None), conn.closing


def request_line(length: int) -> bytes:
    """A GET request line of exactly C{length} bytes (a path that is not found)."""
    fixed = len(b"GET /") + len(b" HTTP/1.1")
    return b"GET /" + b"a" * (length - fixed) + b" HTTP/1.1"


class RequestLineTests(SynchronousTestCase):
    def test_default_is_nginx_8k(self) -> None:
        self.assertEqual(WebLimits().max_request_line, 8192)
        self.assertEqual(MAX_REQUEST_LINE, 8192)

    def test_edge_at_the_default(self) -> None:
        for length, status in ((8192, 404), (8193, 414)):
            got, _ = status_of(request_line(length) + b"\r\nHost: x\r\n\r\n")
            self.assertEqual(got, status, length)

    def test_nine_thousand_bytes_is_414(self) -> None:
        """The issue's case: 9,000 bytes got 404 (only the 16 KiB header cap applied)."""
        got, closing = status_of(request_line(9000) + b"\r\nHost: x\r\n\r\n")
        self.assertEqual((got, closing), (414, True))

    def test_edge_with_bare_lf(self) -> None:
        """The CR is not counted: a bare-LF line may be as long as a CRLF one."""
        for length, status in ((8192, 404), (8193, 414)):
            got, _ = status_of(request_line(length) + b"\nHost: x\n\n")
            self.assertEqual(got, status, length)

    def test_edge_at_a_set_limit(self) -> None:
        for length, status in ((100, 404), (101, 414)):
            got, _ = status_of(request_line(length) + b"\r\nHost: x\r\n\r\n", max_request_line=100)
            self.assertEqual(got, status, length)

    def test_unterminated_line_refused_without_waiting_for_more(self) -> None:
        """A line past the cap is answered before its end comes (at most one byte late)."""
        self.assertEqual(status_of(b"GET /" + b"a" * 8188), (None, False))  # 8193 bytes
        self.assertEqual(status_of(b"GET /" + b"a" * 8189), (414, True))

    def test_header_lines_keep_their_own_cap(self) -> None:
        """A header line longer than the request line's cap is fine within the header's."""
        got, _ = status_of(b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 9000 + b"\r\n\r\n")
        self.assertEqual(got, 200)

    def test_second_request_line_capped_too(self) -> None:
        client = WebClient(WebConfig(limits=WebLimits(max_request_line=100)))
        conn = client.connect()
        conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + request_line(101) + b"\r\n\r\n")
        got, _ = parse_responses(conn.transport.value())
        self.assertEqual([r.status for r in got], [200, 414])


class HostTests(SynchronousTestCase):
    def test_required_by_default(self) -> None:
        self.assertEqual(status_of(b"GET / HTTP/1.1\r\n\r\n"), (400, True))
        self.assertEqual(status_of(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")[0], 200)

    def test_not_required(self) -> None:
        self.assertEqual(status_of(b"GET / HTTP/1.1\r\n\r\n", require_host=False)[0], 200)


class BareLineFeedTests(SynchronousTestCase):
    def test_accepted_by_default(self) -> None:
        self.assertEqual(status_of(b"GET / HTTP/1.1\nHost: x\n\n")[0], 200)

    def test_refused_at_once(self) -> None:
        self.assertEqual(status_of(b"GET / HTTP/1.1\n", reject_bare_lf=True), (400, True))


class OptionTests(SynchronousTestCase):
    def parse(self, *argv: str) -> tap.Options:
        options = tap.Options()
        options.reactor = MemoryReactorClock()
        options.parseOptions(list(argv))
        return options

    def test_defaults(self) -> None:
        limits = self.parse()["config"].limits
        self.assertEqual((limits.max_request_line, limits.require_host, limits.reject_bare_lf),
                         (8192, True, False))  # fmt: skip

    def test_set(self) -> None:
        limits = self.parse("--max-request-line", "64", "--no-require-host", "--reject-bare-lf")[
            "config"
        ].limits
        self.assertEqual((limits.max_request_line, limits.require_host, limits.reject_bare_lf),
                         (64, False, True))  # fmt: skip

    def test_least(self) -> None:
        with self.assertRaises(usage.UsageError) as caught:
            self.parse("--max-request-line", "63")
        self.assertIn("--max-request-line must be 64 or more", str(caught.exception))

    def test_config_keys(self) -> None:
        specs = option_specs(tap.Options)
        self.assertEqual(specs["max-request-line"].least, 64)
        self.assertEqual(specs["no-require-host"].kind, "flag")
        self.assertEqual(specs["reject-bare-lf"].kind, "flag")


def feed_lines(head: RequestHead, data: bytes) -> list[bytes | RequestError]:
    """Each LF-ended line of C{data} through C{head}: the lines, or the refusal last."""
    out: list[bytes | RequestError] = []
    *lines, _ = data.split(b"\n")
    for raw in lines:
        try:
            line = head.line(raw)
            out.append(line)
            if line == b"" and head.expecting_request_line:
                head.end()
        except RequestError as refused:
            out.append(refused)
            break
    return out


class RequestHeadTests(SynchronousTestCase):
    def test_lines_without_cr(self) -> None:
        head = RequestHead(HeadLimits())
        got = feed_lines(head, b"GET / HTTP/1.1\r\nHost: x\nA: b\r\n\r\n")
        self.assertEqual(got, [b"GET / HTTP/1.1", b"Host: x", b"A: b", b""])
        self.assertTrue(head.expecting_request_line)

    def test_refusals(self) -> None:
        cases = {
            b"GET / HTTP/1.1\r\n\r\n": "refused.no_host",
            b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n": "refused.bad_host",
            b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n": "refused.bad_framing",
            b"GET / HTTP/1.1\r\nContent-Length: +1\r\n": "refused.bad_framing",
            b"GET / HTTP/1.1\r\nA: b\r\n c\r\n": "refused.bad_request",
            b"GET / HTTP/1.1\r\nA: b\rc\r\n": "refused.bad_request",
            b"GET /" + b"a" * 8200 + b" HTTP/1.1\r\n": "refused.uri_too_long",
        }
        for data, counter in cases.items():
            got = feed_lines(RequestHead(HeadLimits()), data)
            last = got[-1]
            self.assertIsInstance(last, RequestError, data)
            assert isinstance(last, RequestError)
            self.assertEqual(last.counter, counter, data)

    def test_one_blank_line_before_a_request(self) -> None:
        got = feed_lines(RequestHead(HeadLimits()), b"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(got[-1], b"")


class ChunkedFramingTests(SynchronousTestCase):
    def outcome(self, data: bytes, bytewise: bool) -> tuple[int, bool] | str:
        framing = ChunkedFraming()
        used = 0
        try:
            for chunk in [bytes([b]) for b in data] if bytewise else [data]:
                if framing.done:
                    break
                used += framing.receive(chunk)
        except RequestError as refused:
            return refused.counter
        return used, framing.done

    def test_whole_and_bytewise_agree(self) -> None:
        cases = {
            b"5\r\nhello\r\n0\r\n\r\nNEXT": (15, True),
            b"5;a=b\r\nhello\r\n0\r\nX: 1\r\n\r\n": (25, True),
            b"5\r\nhel": (6, False),
            b"5\nhello": "refused.bare_lf",
            b"5\r\nhelloX": "refused.bad_framing",
            b"5\rX": "refused.bad_framing",
            b"1_0\r\n": "refused.bad_framing",
            b"\r\n": "refused.bad_framing",
        }
        for data, expected in cases.items():
            self.assertEqual(self.outcome(data, False), expected, data)
            self.assertEqual(self.outcome(data, True), expected, data)


#: Bytes that make framing interesting: the delimiters, digits, hex, separators.
FRAMING_BYTES = st.binary(max_size=80) | st.lists(
    st.sampled_from([b"\r", b"\n", b"\r\n", b"0", b"5", b"a", b"_", b";", b":", b" ", b"x"]),
    max_size=40,
).map(b"".join)
FUZZ = settings(max_examples=2000, deadline=None, derandomize=True)


class InvariantTests(SynchronousTestCase):
    """Any bytes, whole or one at a time: the same outcome, or L{RequestError}, never
    another exception."""

    @FUZZ
    @given(FRAMING_BYTES)
    def test_chunked_framing(self, data: bytes) -> None:
        outcomes = ChunkedFramingTests().outcome
        self.assertEqual(outcomes(data, False), outcomes(data, True))

    @FUZZ
    @given(FRAMING_BYTES, st.booleans(), st.booleans())
    def test_request_head(self, data: bytes, require_host: bool, reject_bare_lf: bool) -> None:
        """Each line back without its CR and with no CR left in it, or L{RequestError}."""
        limits = HeadLimits(max_request_line=64, require_host=require_host,
                            reject_bare_lf=reject_bare_lf)  # fmt: skip
        head = RequestHead(limits)
        for raw in (b"GET / HTTP/1.1\r\n" + data).split(b"\n")[:-1]:
            try:
                line = head.line(raw)
                if head.expecting_request_line:
                    head.end()
            except RequestError as refused:
                self.assertIn(refused.status, (400, 414))
                return
            self.assertNotIn(b"\r", line)
            if reject_bare_lf:
                self.assertEqual(raw, line + b"\r")

    @settings(max_examples=200, deadline=None, derandomize=True)
    @given(FRAMING_BYTES)
    def test_site_whole_and_bytewise(self, data: bytes) -> None:
        """The real site answers the same bytes the same, whole or one byte at a time."""
        outputs = []
        for chunks in ([data], [bytes([b]) for b in data]):
            conn = WebClient(WebConfig(limits=WebLimits(max_request_line=64))).connect()
            conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            for chunk in chunks:
                if conn.closing:
                    break
                conn.send(chunk)
            outputs.append((conn.transport.value(), conn.closing))
        self.assertEqual(outputs[0], outputs[1])
