"""The sans-IO HTTP rules: ranges, preconditions, dates, negotiation, media types."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.http import datetimeToString, stringToDatetime

from netsuite.web._conditions import (
    MAX_RANGES,
    ByteRange,
    Precondition,
    RangeNotSatisfiableError,
    accepted_codings,
    choose_media_type,
    evaluate_preconditions,
    http_date,
    if_range_allows,
    parse_http_date,
    parse_range,
)
from netsuite.web._mediatypes import media_type

ETAG = b'"abc"'
WHEN = 784111777  # Sun, 06 Nov 1994 08:49:37 GMT


class RangeTests(SynchronousTestCase):
    def test_forms(self) -> None:
        self.assertEqual(parse_range(b"bytes=0-9", 100), [ByteRange(0, 10)])
        self.assertEqual(parse_range(b"bytes=90-", 100), [ByteRange(90, 100)])
        self.assertEqual(parse_range(b"bytes=-10", 100), [ByteRange(90, 100)])
        self.assertEqual(parse_range(b"bytes=-1000", 100), [ByteRange(0, 100)])
        self.assertEqual(parse_range(b"bytes=95-1000", 100), [ByteRange(95, 100)])
        self.assertEqual(parse_range(b"Bytes = 1-2 , , 5-6", 100),
                         [ByteRange(1, 3), ByteRange(5, 7)])  # fmt: skip

    def test_whole_representation_cases(self) -> None:
        for header in (None, b"items=0-1", b"bytes=5-1", b"bytes=-", b"bytes=a-b", b"0-1"):
            self.assertIsNone(parse_range(header, 100), header)

    def test_unsatisfiable(self) -> None:
        for header in (b"bytes=100-", b"bytes=200-300", b"bytes=-0"):
            with self.assertRaises(RangeNotSatisfiableError, msg=header):
                parse_range(header, 100)
        with self.assertRaises(RangeNotSatisfiableError):
            parse_range(b"bytes=0-", 0)

    def test_overlaps_are_merged(self) -> None:
        """bytes=0-,0-,0-... must not turn 100 bytes into a response of 100 x N."""
        self.assertEqual(parse_range(b"bytes=0-,0-,0-,50-60", 100), [ByteRange(0, 100)])
        self.assertEqual(parse_range(b"bytes=10-19,20-29,0-4", 100),
                         [ByteRange(0, 5), ByteRange(10, 30)])  # fmt: skip

    def test_too_many_ranges_serve_everything(self) -> None:
        many = b"bytes=" + b",".join(b"%d-%d" % (i * 2, i * 2) for i in range(MAX_RANGES + 1))
        self.assertIsNone(parse_range(many, 1000))
        few = b"bytes=" + b",".join(b"%d-%d" % (i * 2, i * 2) for i in range(MAX_RANGES))
        self.assertEqual(len(parse_range(few, 1000) or []), MAX_RANGES)

    def test_content_range(self) -> None:
        self.assertEqual(ByteRange(0, 10).content_range(100), b"bytes 0-9/100")

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(st.binary(max_size=40), st.integers(0, 10_000))
    def test_any_header_gives_ranges_inside_or_a_known_answer(
        self, tail: bytes, size: int
    ) -> None:
        for header in (tail, b"bytes=" + tail):
            try:
                ranges = parse_range(header, size)
            except RangeNotSatisfiableError:
                continue
            if ranges is None:
                continue
            previous_stop = -1
            for r in ranges:
                self.assertTrue(0 <= r.start < r.stop <= size)
                self.assertGreater(r.start, previous_stop)
                previous_stop = r.stop

    @settings(max_examples=200, deadline=None, derandomize=True)
    @given(st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), min_size=1, max_size=8))
    def test_response_never_exceeds_the_representation(self, pairs) -> None:  # type: ignore[no-untyped-def]
        header = b"bytes=" + b",".join(b"%d-%d" % (min(a, b), max(a, b)) for a, b in pairs)
        try:
            ranges = parse_range(header, 300) or []
        except RangeNotSatisfiableError:
            return
        self.assertLessEqual(sum(r.length for r in ranges), 300)


class PreconditionTests(SynchronousTestCase):
    def verdict(self, **headers: bytes) -> int:
        return evaluate_preconditions(ETAG, WHEN, **headers)

    def test_none(self) -> None:
        self.assertEqual(self.verdict(), Precondition.PROCEED)

    def test_if_none_match(self) -> None:
        self.assertEqual(self.verdict(if_none_match=b'"x", "abc"'), Precondition.NOT_MODIFIED)
        self.assertEqual(self.verdict(if_none_match=b'W/"abc"'), Precondition.NOT_MODIFIED)
        self.assertEqual(self.verdict(if_none_match=b"*"), Precondition.NOT_MODIFIED)
        self.assertEqual(self.verdict(if_none_match=b'"abcd"'), Precondition.PROCEED)

    def test_if_modified_since(self) -> None:
        same = http_date(WHEN)
        self.assertEqual(self.verdict(if_modified_since=same), Precondition.NOT_MODIFIED)
        older = http_date(WHEN - 1)
        self.assertEqual(self.verdict(if_modified_since=older), Precondition.PROCEED)
        self.assertEqual(self.verdict(if_modified_since=b"garbage"), Precondition.PROCEED)

    def test_if_none_match_overrides_if_modified_since(self) -> None:
        verdict = self.verdict(if_none_match=b'"other"', if_modified_since=http_date(WHEN))
        self.assertEqual(verdict, Precondition.PROCEED)

    def test_if_match_is_strong(self) -> None:
        self.assertEqual(self.verdict(if_match=b'"abc"'), Precondition.PROCEED)
        self.assertEqual(self.verdict(if_match=b'W/"abc"'), Precondition.FAILED)
        self.assertEqual(self.verdict(if_match=b'"zzz"'), Precondition.FAILED)

    def test_if_unmodified_since(self) -> None:
        self.assertEqual(self.verdict(if_unmodified_since=http_date(WHEN - 5)),
                         Precondition.FAILED)  # fmt: skip
        self.assertEqual(self.verdict(if_unmodified_since=http_date(WHEN)), Precondition.PROCEED)

    def test_if_range(self) -> None:
        self.assertTrue(if_range_allows(None, ETAG, WHEN))
        self.assertTrue(if_range_allows(b'"abc"', ETAG, WHEN))
        self.assertFalse(if_range_allows(b'W/"abc"', ETAG, WHEN))
        self.assertFalse(if_range_allows(b'"old"', ETAG, WHEN))
        self.assertTrue(if_range_allows(http_date(WHEN), ETAG, WHEN))
        self.assertFalse(if_range_allows(http_date(WHEN + 1), ETAG, WHEN))
        self.assertFalse(if_range_allows(b"junk", ETAG, WHEN))

    def test_dates_in_all_three_formats(self) -> None:
        for value in (b"Sun, 06 Nov 1994 08:49:37 GMT", b"Sunday, 06-Nov-94 08:49:37 GMT",
                      b"Sun Nov  6 08:49:37 1994"):  # fmt: skip
            self.assertEqual(parse_http_date(value), WHEN, value)
        self.assertIsNone(parse_http_date(b"yesterday"))
        self.assertIsNone(parse_http_date(None))


def twisted_parse(value: bytes) -> int | None:
    """What parse_http_date gave when it called Twisted's parser."""
    try:
        return int(stringToDatetime(value))
    except (ValueError, IndexError, KeyError, OverflowError):
        return None


class HTTPDateTests(SynchronousTestCase):
    """Our plain-Python HTTP dates give Twisted's bytes and numbers, for the same input."""

    def test_format_matches_twisted(self) -> None:
        for when in (0, 1, 59.9, WHEN, 951782400, 1700000000, 2**31 - 1, 2**31, 253402300799):
            self.assertEqual(http_date(when), datetimeToString(int(when)), when)

    def test_parse_matches_twisted(self) -> None:
        values = [
            b"Sun, 06 Nov 1994 08:49:37 GMT",
            b"Sun, 06 Nov 1994 08:49:37",
            b"06 Nov 1994 08:49:37 GMT",
            b"Sunday, 06-Nov-94 08:49:37 GMT",
            b"Sunday, 06-Nov-68 08:49:37 GMT",
            b"Sunday, 06-Nov-69 08:49:37",
            b"Sun Nov  6 08:49:37 1994",
            b"Tue, 29 Feb 2000 23:59:59 GMT",
            b"Mon, 40 Jan 2001 25:61:61 GMT",  # not range-checked, by either
            b"Thu, 01 Jan 1970 00:00:00 GMT",
            b"Wed, 31 Dec 1969 23:59:59 GMT",  # before 1970: not a date
            b"Sun, 06 Foo 1994 08:49:37 GMT",
            b"Sun, 06 Nov 1994 08:49 GMT",
            b"yesterday",
            b"   ",
            b"Sun, 06 Nov 1994 08:49:37 GMT \xff",
            b"Sun, 06 Nov 99999 08:49:37 GMT",
        ]
        for value in values:
            self.assertEqual(parse_http_date(value), twisted_parse(value), value)


class NegotiationTests(SynchronousTestCase):
    def test_accepted_codings(self) -> None:
        self.assertEqual(accepted_codings(b"gzip, deflate, br"), {b"gzip", b"deflate", b"br"})
        self.assertEqual(accepted_codings(b"gzip;q=0, br;q=0.5"), {b"br"})
        self.assertEqual(accepted_codings(b"*"), {b"*"})
        self.assertEqual(accepted_codings(b"*, gzip;q=0"), {b"*"} - {b"gzip"})
        self.assertEqual(accepted_codings(b"GZIP"), {b"gzip"})
        self.assertEqual(accepted_codings(None), set())

    def test_choose_media_type(self) -> None:
        offers = ("text/html", "application/json", "text/plain")
        self.assertEqual(choose_media_type(None, offers), "text/html")
        self.assertEqual(choose_media_type(b"*/*", offers), "text/html")
        self.assertEqual(choose_media_type(b"application/json", offers), "application/json")
        self.assertEqual(choose_media_type(b"text/*;q=0.5, application/json;q=0.4", offers),
                         "text/html")  # fmt: skip
        self.assertEqual(choose_media_type(b"text/html;q=0, text/*", offers), "text/plain")
        self.assertEqual(choose_media_type(b"image/png", offers), "text/html")


class MediaTypeTests(SynchronousTestCase):
    def test_compressed_files_are_themselves(self) -> None:
        for name, kind in (("x.tar.gz", b"application/gzip"), ("x.tgz", b"application/gzip"),
                           ("x.css.br", b"application/octet-stream"),
                           ("x.json.zst", b"application/zstd")):  # fmt: skip
            m = media_type(name)
            self.assertEqual(m.content_type, kind, name)
            self.assertFalse(m.compressible, name)

    def test_text_gets_a_charset_and_is_compressible(self) -> None:
        m = media_type("Site.CSS")
        self.assertEqual((m.content_type, m.compressible), (b"text/css; charset=utf-8", True))
        self.assertEqual(media_type("a.json", charset="").content_type, b"application/json")

    def test_unknown_and_scripts_are_octet_streams(self) -> None:
        for name in ("x.rpy", "x.epy", "x.cgi", "noext", ".bashrc"):
            self.assertEqual(media_type(name).content_type, b"application/octet-stream", name)
