"""
The HTTP/1.1 request smuggling catalogue, against the real site in memory (one
L{StringTransport} per connection): each ambiguous framing is either refused (400 and
the connection closed, nothing after it parsed) or read exactly as RFC 9112 says, in
which case the request that follows it on the connection is answered as its own.

Expected behaviour, case by case (RFC 9112 unless said; "400" means 400, then closed):

==================================  ======  ==============================================
case                                answer  why
==================================  ======  ==============================================
Content-Length: +5                  400     8.6 (RFC 9110): 1*DIGIT; int() would take it
Content-Length: 0x5                 400     idem
Content-Length: 5 5 (space inside)  400     idem
Content-Length:   5   (OWS around)  body 5  5.1: OWS around a field value is not part of it
Content-Length: 5, 5 (two values)   400     RFC 9110 8.6 allows refusing a list
two Content-Length fields (5, 5)    400     6.3 rule 5: invalid; refused either way
two Content-Length fields (5, 6)    400     6.3 rule 5
Content-Length and TE: chunked      400     6.1: a server MAY reject, and must close
TE: chunked, identity               400     6.3 rule 4: chunked is not the final coding
TE: identity                        400     idem (Twisted ignored it: body as next request)
TE: xchunked                        400     idem
TE: Chunked                         body    7: coding names are case-insensitive
two TE: chunked fields              400     chunked twice (6.1: MUST NOT apply twice)
Transfer-Encoding : chunked         400     5.1: whitespace before the colon, MUST 400
TE: chunked on HTTP/1.0             400     6.1: faulty framing on HTTP/1.0
chunk size 1_0                      400     7.1: chunk-size = 1*HEXDIG
chunk size 0x5                      400     idem
chunk size with a leading space     400     idem
chunk extension 5;a=b;c             body    7.1.1: unknown extensions are ignored
chunk extension over 1 KiB          400     Twisted's bound on a chunk size line
chunk data without its CRLF         400     7.1: chunk-data CRLF
chunk size line ending in bare LF   400     at once (2.2's leniency is for the head only)
obs-fold (a line starting with SP)  400     5.2: reject or replace; we reject
whitespace before the first field   400     2.2: reject or ignore; we reject
NUL in a field value                400     RFC 9110 5.5: MUST reject or replace
NUL in a field name                 400     5.1: field-name is a token
NUL in the request target           400     3.2: request-target has no NUL
DEL or 0x80 in the request target   400     3.2, RFC 3986: visible ASCII only
bare CR in a field value            400     2.2: bare CR MUST be invalid or replaced
bare CR in the request line         400     idem
bare LF ending every line           answer  2.2: MAY recognise LF alone (nginx, h11 do)
bare LF, with --reject-bare-lf      400     at once, never the 408 at the deadline
HTTP/1.1 without Host               400     3.2: MUST 400
two Host fields                     400     3.2: MUST 400
Host: a b / Host: a/b               400     3.2: MUST 400 an invalid Host value
empty Host                          answer  3.2: empty when the target has no authority
HTTP/1.0 without Host               answer  3.2's MUST is for HTTP/1.1
==================================  ======  ==============================================

HTTP/2 (frames, not lines: most of the above cannot be said) is in
L{tests.e2e.test_h2_abuse} where it was done.
"""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource

from netsuite.web import WebConfig, WebLimits
from tests.web.helpers import Connection, WebClient, parse_responses


class Echo(Resource):
    """Answers a POST with its body, so a test sees how the site framed it."""

    isLeaf = True

    def render_POST(self, request: Any) -> bytes:
        return b"body=" + request.content.read()

    def render_GET(self, request: Any) -> bytes:
        return b"path=" + request.path


#: After each request: a GET that is answered as its own request only if the framing
#: before it was read as the RFC says (a refused request leaves it unparsed).
FOLLOW = b"GET /echo/next HTTP/1.1\r\nHost: x\r\n\r\n"


def connect(**limits: Any) -> tuple[WebClient, Connection]:
    client = WebClient(WebConfig(limits=WebLimits(**limits)), children={"echo": Echo()})
    return client, client.connect()


def post(head: bytes, body: bytes = b"", version: bytes = b"HTTP/1.1") -> bytes:
    return b"POST /echo " + version + b"\r\nHost: x\r\n" + head + b"\r\n" + body


#: name -> (the request's bytes, the body read, or None: refused)
ACCEPTED: dict[str, tuple[bytes, bytes]] = {
    "cl_ows": (post(b"Content-Length:   5  \r\n", b"hello"), b"hello"),
    "te_case": (post(b"Transfer-Encoding: Chunked\r\n", b"5\r\nhello\r\n0\r\n\r\n"), b"hello"),
    "chunk_extension": (
        post(b"Transfer-Encoding: chunked\r\n", b"5;a=b;c\r\nhello\r\n0\r\n\r\n"),
        b"hello",
    ),
    "chunk_trailer": (
        post(b"Transfer-Encoding: chunked\r\n", b"5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"),
        b"hello",
    ),
}

REFUSED: dict[str, bytes] = {
    "cl_plus": post(b"Content-Length: +5\r\n", b"hello"),
    "cl_hex": post(b"Content-Length: 0x5\r\n", b"hello"),
    "cl_space_inside": post(b"Content-Length: 5 5\r\n", b"hello"),
    "cl_two_values": post(b"Content-Length: 5, 5\r\n", b"hello"),
    "cl_duplicate_same": post(b"Content-Length: 5\r\nContent-Length: 5\r\n", b"hello"),
    "cl_duplicate_differ": post(b"Content-Length: 5\r\nContent-Length: 6\r\n", b"hello!"),
    "cl_negative": post(b"Content-Length: -1\r\n"),
    "cl_and_te": post(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
    "te_and_cl": post(b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", b"0\r\n\r\n"),
    "te_chunked_identity": post(b"Transfer-Encoding: chunked, identity\r\n", b"0\r\n\r\n"),
    "te_identity_chunked": post(b"Transfer-Encoding: identity, chunked\r\n", b"0\r\n\r\n"),
    "te_identity": post(b"Transfer-Encoding: identity\r\nContent-Length: 5\r\n", b"hello"),
    "te_identity_alone": post(b"Transfer-Encoding: identity\r\n", b"hello"),
    "te_xchunked": post(b"Transfer-Encoding: xchunked\r\n", b"0\r\n\r\n"),
    "te_twice": post(
        b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"
    ),
    "te_space_before_colon": post(b"Transfer-Encoding : chunked\r\n", b"0\r\n\r\n"),
    "te_http10": post(b"Transfer-Encoding: chunked\r\n", b"0\r\n\r\n", b"HTTP/1.0"),
    "chunk_underscore": post(b"Transfer-Encoding: chunked\r\n", b"1_0\r\n" + b"a" * 16),
    "chunk_0x": post(b"Transfer-Encoding: chunked\r\n", b"0x5\r\nhello\r\n0\r\n\r\n"),
    "chunk_leading_space": post(b"Transfer-Encoding: chunked\r\n", b" 5\r\nhello\r\n0\r\n\r\n"),
    "chunk_extension_long": post(
        b"Transfer-Encoding: chunked\r\n", b"5;" + b"a" * 1100 + b"\r\nhello\r\n0\r\n\r\n"
    ),
    "chunk_no_crlf": post(b"Transfer-Encoding: chunked\r\n", b"5\r\nhelloXX0\r\n\r\n"),
    "chunk_bare_lf": post(b"Transfer-Encoding: chunked\r\n", b"5\nhello\n0\n\n"),
    "obs_fold": post(b"X-A: one\r\n two\r\n"),
    "space_before_first_field": b"GET /echo/ HTTP/1.1\r\n Host: x\r\n\r\n",
    "nul_in_value": b"GET /echo/ HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
    "nul_in_name": b"GET /echo/ HTTP/1.1\r\nHost: x\r\nX\x00A: a\r\n\r\n",
    "nul_in_target": b"GET /echo/\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
    "del_in_target": b"GET /echo/\x7f HTTP/1.1\r\nHost: x\r\n\r\n",
    "high_byte_in_target": b"GET /echo/\x80 HTTP/1.1\r\nHost: x\r\n\r\n",
    "bare_cr_in_value": b"GET /echo/ HTTP/1.1\r\nHost: x\r\nX-A: a\rX-B: b\r\n\r\n",
    "bare_cr_in_request_line": b"GET /echo/ HTTP/1.1\rHost: x\r\n\r\n",
    "no_host": b"GET /echo/ HTTP/1.1\r\n\r\n",
    "two_hosts": b"GET /echo/ HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
    "host_with_space": b"GET /echo/ HTTP/1.1\r\nHost: a b\r\n\r\n",
    "host_with_slash": b"GET /echo/ HTTP/1.1\r\nHost: a/b\r\n\r\n",
}


class SmugglingTests(SynchronousTestCase):
    """Each case of the table, whole and then one byte at a time."""

    def refused(self, data: bytes, **limits: Any) -> None:
        for chunks in ([data + FOLLOW], [bytes([b]) for b in data + FOLLOW]):
            client, conn = connect(**limits)
            for chunk in chunks:
                if conn.closing:
                    break
                conn.send(chunk)
            got, _ = parse_responses(conn.transport.value())
            self.assertEqual([r.status for r in got], [400], (data, got))
            self.assertTrue(conn.closing, data)
            self.assertEqual(got[0].header("connection"), "close")

    def accepted(self, data: bytes, body: bytes, **limits: Any) -> None:
        for chunks in ([data + FOLLOW], [bytes([b]) for b in data + FOLLOW]):
            client, conn = connect(**limits)
            for chunk in chunks:
                conn.send(chunk)
            got = conn.responses()
            self.assertEqual([r.status for r in got], [200, 200], (data, got))
            self.assertEqual(got[0].body, b"body=" + body)
            self.assertEqual(got[1].body, b"path=/echo/next")
            self.assertFalse(conn.closing, data)


def _add(name: str, test: Any) -> None:
    test.__name__ = f"test_{name}"
    setattr(SmugglingTests, test.__name__, test)


for _name, (_data, _body) in ACCEPTED.items():
    _add(_name, lambda self, d=_data, b=_body: self.accepted(d, b))
for _name, _data in REFUSED.items():
    _add(_name, lambda self, d=_data: self.refused(d))


class HeadLineEndTests(SynchronousTestCase):
    """Bare LF, bare CR, Host: the head cases that are not about the body's framing."""

    def test_bare_lf_is_a_line_end(self) -> None:
        """Every line in LF alone: answered at once (it waited for the 408 before)."""
        _, conn = connect()
        conn.send(b"GET /echo/a HTTP/1.1\nHost: x\n\nGET /echo/b HTTP/1.1\nHost: x\n\n")
        self.assertEqual([r.body for r in conn.responses()], [b"path=/echo/a", b"path=/echo/b"])
        self.assertFalse(conn.closing)

    def test_bare_lf_post_body(self) -> None:
        """The body is counted from after the LF that ends the head, not one byte later."""
        _, conn = connect()
        conn.send(b"POST /echo HTTP/1.1\nHost: x\nContent-Length: 5\n\nhello" + FOLLOW)
        self.assertEqual([r.body for r in conn.responses()], [b"body=hello", b"path=/echo/next"])

    def test_mixed_line_ends(self) -> None:
        _, conn = connect()
        conn.send(b"GET /echo/a HTTP/1.1\r\nHost: x\nX-A: 1\r\n\n")
        self.assertEqual([r.status for r in conn.responses()], [200])

    def test_bare_lf_refused_at_once_when_asked(self) -> None:
        client, conn = connect(reject_bare_lf=True)
        conn.send(b"GET /echo/a HTTP/1.1\n")
        got, _ = parse_responses(conn.transport.value())
        self.assertEqual([r.status for r in got], [400])
        self.assertTrue(conn.closing)
        self.assertEqual(client.site.counters["refused.bare_lf"], 1)

    def test_bare_lf_refused_in_a_header_when_asked(self) -> None:
        _, conn = connect(reject_bare_lf=True)
        conn.send(b"GET /echo/a HTTP/1.1\r\nHost: x\n")
        got, _ = parse_responses(conn.transport.value())
        self.assertEqual([r.status for r in got], [400])

    def test_crlf_still_fine_when_bare_lf_is_refused(self) -> None:
        _, conn = connect(reject_bare_lf=True)
        conn.send(FOLLOW)
        self.assertEqual([r.status for r in conn.responses()], [200])

    def test_chunk_size_in_bare_lf_refused_at_once(self) -> None:
        """Not left waiting for a CRLF until the body deadline (Twisted's decoder would)."""
        _, conn = connect()
        conn.send(post(b"Transfer-Encoding: chunked\r\n", b"5\n"))
        got, _ = parse_responses(conn.transport.value())
        self.assertEqual([r.status for r in got], [400])
        self.assertTrue(conn.closing)

    def test_empty_host(self) -> None:
        _, conn = connect()
        conn.send(b"GET /echo/a HTTP/1.1\r\nHost:\r\n\r\n")
        self.assertEqual([r.status for r in conn.responses()], [200])

    def test_host_forms(self) -> None:
        for host in (b"example.com", b"example.com:8080", b"127.0.0.1:1", b"[::1]:8080"):
            _, conn = connect()
            conn.send(b"GET /echo/a HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
            self.assertEqual([r.status for r in conn.responses()], [200], host)

    def test_http10_needs_no_host(self) -> None:
        _, conn = connect()
        conn.send(b"GET /echo/a HTTP/1.0\r\n\r\n")
        self.assertEqual([r.status for r in conn.responses()], [200])

    def test_no_host_counted(self) -> None:
        client, conn = connect()
        conn.send(b"GET /echo/a HTTP/1.1\r\n\r\n")
        (r,), _ = parse_responses(conn.transport.value())
        self.assertIn(b"Host", r.body)
        self.assertEqual(client.site.counters["refused.no_host"], 1)

    def test_no_host_served_when_allowed(self) -> None:
        _, conn = connect(require_host=False)
        conn.send(b"GET /echo/a HTTP/1.1\r\n\r\n")
        self.assertEqual([r.status for r in conn.responses()], [200])

    def test_two_hosts_refused_even_when_host_is_not_required(self) -> None:
        _, conn = connect(require_host=False)
        conn.send(b"GET /echo/a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        got, _ = parse_responses(conn.transport.value())
        self.assertEqual([r.status for r in got], [400])
