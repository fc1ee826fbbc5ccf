"""The line splitter and the bounded outbox: the shared pieces of line-based doors."""

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from netsuite.stream._lines import Line, LineSplitter, Overlong
from netsuite.stream._outbox import Outbox


class LineSplitterTests(SynchronousTestCase):
    def test_crlf_and_lf(self) -> None:
        s = LineSplitter(10)
        self.assertEqual(s.feed(b"a\r\nb\nc"), [Line(b"a"), Line(b"b")])
        self.assertEqual(s.feed(b"\r"), [])
        self.assertEqual(s.feed(b"\n"), [Line(b"c")])

    def test_limit_boundary(self) -> None:
        """A line of exactly max_length passes; one byte more is reported, not delivered."""
        s = LineSplitter(5)
        self.assertEqual(s.feed(b"12345\r\n123456\n"), [Line(b"12345"), Overlong(6)])

    def test_overlong_tail_is_not_a_line(self) -> None:
        """The rest of an overlong line, arriving later, is discarded up to its newline."""
        s = LineSplitter(4)
        self.assertEqual(s.feed(b"abcdefgh"), [])
        self.assertEqual(s.feed(b"ijkl"), [])
        self.assertEqual(s.feed(b"mn\nok\n"), [Overlong(14), Line(b"ok")])
        self.assertLessEqual(len(s._buffer), 5)

    @settings(max_examples=300, derandomize=True, deadline=None)
    @given(st.binary(max_size=200), st.integers(1, 30), st.integers(1, 20))
    def test_chunking_never_matters(self, data: bytes, limit: int, chunk: int) -> None:
        """Any bytes, fed whole or in pieces, give the same lines, and memory stays bounded."""
        whole = LineSplitter(limit).feed(data)
        pieces = LineSplitter(limit)
        out = []
        for i in range(0, len(data), chunk):
            out += pieces.feed(data[i : i + chunk])
            self.assertLessEqual(len(pieces._buffer), limit + 1)
        self.assertEqual(out, whole)
        for item in whole:
            if isinstance(item, Line):
                self.assertLessEqual(len(item.data), limit)
                self.assertNotIn(b"\n", item.data)


class OutboxTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.written: list[bytes] = []
        self.overflows: list[str] = []
        self.box = Outbox(self.written.append, 10, self.overflows.append)

    def test_writes_through_until_paused(self) -> None:
        self.box.send(b"abc")
        self.box.pauseProducing()
        self.box.send(b"defg")
        self.assertEqual((self.written, self.box.queued), ([b"abc"], 4))
        self.box.resumeProducing()
        self.assertEqual((self.written, self.box.queued), ([b"abc", b"defg"], 0))

    def test_bound(self) -> None:
        """10 bytes may wait; the 11th cuts the reader off, once, and frees the queue."""
        self.box.pauseProducing()
        self.box.send(b"x" * 10)
        self.assertEqual(self.overflows, [])
        self.box.send(b"y")
        self.box.send(b"z")
        self.assertEqual(self.overflows, ["send queue exceeded (10 bytes)"])
        self.assertEqual(self.box.queued, 0)
        self.box.resumeProducing()
        self.assertEqual(self.written, [])

    def test_pause_during_drain(self) -> None:
        def write(data: bytes) -> None:
            self.written.append(data)
            self.box.pauseProducing()

        self.box.write = write
        self.box.pauseProducing()
        self.box.send(b"1")
        self.box.send(b"2")
        self.box.resumeProducing()
        self.assertEqual(self.written, [b"1"])
        self.box.resumeProducing()
        self.assertEqual(self.written, [b"1", b"2"])

    def test_sized_items(self) -> None:
        """Text messages count for their UTF-8 bytes: 5 two-byte letters fill 10 bytes."""
        texts: list[str] = []
        box: Outbox[str] = Outbox(
            texts.append, 10, self.overflows.append, size=lambda t: len(t.encode("utf-8"))
        )
        box.pauseProducing()
        box.send("ééééé")
        self.assertEqual((box.queued, self.overflows), (10, []))
        box.resumeProducing()
        self.assertEqual((texts, box.queued), (["ééééé"], 0))
        box.pauseProducing()
        box.send("éééééé")
        self.assertEqual(self.overflows, ["send queue exceeded (10 bytes)"])
