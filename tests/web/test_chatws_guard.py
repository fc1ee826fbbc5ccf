"""The WebSocket door's sans-IO checks: the frame-size guard and the origin policy."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase
from wsproto.frame_protocol import Opcode

from netsuite.web._wsguard import FrameGuard, OriginPolicy, SizeBreach, normalize_origin

FUZZ = settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


def frame(payload: bytes, opcode: int = Opcode.TEXT, fin: bool = True, mask: bool = True) -> bytes:
    """One client frame, as a browser would send it (masked; the key is all zeros)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 1 << 16:
        head += bytes([bit | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([bit | 127]) + n.to_bytes(8, "big")
    return head + (b"\0\0\0\0" if mask else b"") + payload


def header_only(length: int) -> bytes:
    """A text frame header announcing C{length} bytes (the payload never needs to come)."""
    return bytes([0x81, 0x80 | 127]) + length.to_bytes(8, "big") + b"\0\0\0\0"


def feed_in_pieces(guard: FrameGuard, data: bytes, cuts: list[int]) -> int:
    """Feed C{data} cut at C{cuts}; return how many bytes in all were let through."""
    passed, start = 0, 0
    for cut in [*sorted(set(cuts)), len(data)]:
        piece = data[start:cut]
        ok = guard.feed(piece)
        passed += ok
        if ok < len(piece):
            return passed
        start = cut
    return passed


class FrameGuardTests(SynchronousTestCase):
    def test_frames_up_to_the_cap_pass(self) -> None:
        guard = FrameGuard(max_frame=1000, max_message=1000)
        data = frame(b"x" * 1000) + frame(b"y") + frame(b"p" * 10, Opcode.PING)
        self.assertEqual(guard.feed(data), len(data))
        self.assertIsNone(guard.breach)

    def test_a_frame_one_byte_over_is_refused_at_its_start(self) -> None:
        guard = FrameGuard(max_frame=1000, max_message=5000)
        good = frame(b"a" * 10)
        bad = frame(b"b" * 1001)
        self.assertEqual(guard.feed(good + bad + frame(b"c")), len(good))
        self.assertEqual(guard.breach, SizeBreach("frame", 1001, 1000))
        self.assertEqual(guard.feed(frame(b"d")), 0)  # nothing after a breach

    def test_refused_from_the_header_alone(self) -> None:
        """A header announcing 2**62 bytes is refused before any payload is read."""
        guard = FrameGuard()
        self.assertEqual(guard.feed(header_only(1 << 62)), 0)
        self.assertEqual(guard.breach, SizeBreach("frame", 1 << 62, 1 << 16))

    def test_fragmented_message_counts_its_frames(self) -> None:
        guard = FrameGuard(max_frame=100, max_message=250)
        ok = (frame(b"a" * 100, fin=False) + frame(b"p", Opcode.PING)
              + frame(b"b" * 100, Opcode.CONTINUATION, fin=False)
              + frame(b"c" * 50, Opcode.CONTINUATION))  # fmt: skip
        self.assertEqual(guard.feed(ok), len(ok))
        self.assertIsNone(guard.breach)
        # A new message starts from zero; this one goes one byte over.
        over = frame(b"a" * 100, fin=False) + frame(b"b" * 100, Opcode.CONTINUATION, fin=False)
        last = frame(b"c" * 51, Opcode.CONTINUATION)
        self.assertEqual(guard.feed(over + last), len(over))
        self.assertEqual(guard.breach, SizeBreach("message", 251, 250))

    def test_header_split_across_reads(self) -> None:
        guard = FrameGuard(max_frame=70000, max_message=70000)
        data = frame(b"z" * 66000)  # an 8-byte length
        for i in range(len(data)):
            self.assertEqual(guard.feed(data[i : i + 1]), 1)
        self.assertIsNone(guard.breach)
        guard = FrameGuard(max_frame=10)
        bad = header_only(11)
        self.assertEqual(guard.feed(bad[:5]), 5)  # not yet known
        self.assertEqual(guard.feed(bad[5:]), 0)
        self.assertEqual(guard.breach, SizeBreach("frame", 11, 10))

    @FUZZ
    @given(
        sizes=st.lists(st.integers(0, 300), min_size=1, max_size=12),
        fins=st.lists(st.booleans(), min_size=12, max_size=12),
        cuts=st.lists(st.integers(0, 4000), max_size=10),
    )
    def test_any_split_gives_the_same_verdict(
        self, sizes: list[int], fins: list[bool], cuts: list[int]
    ) -> None:
        """
        Fed whole or in pieces, the guard finds the same breach, and lets through the
        same bytes but for the start of the refused frame's header when a read ends
        inside it (at most 13 bytes, which wsproto only buffers).
        """
        data = b""
        first = True
        for size, fin in zip(sizes, fins, strict=False):
            opcode = Opcode.TEXT if first else Opcode.CONTINUATION
            data += frame(bytes(size), opcode, fin=fin)
            first = fin
        whole = FrameGuard(max_frame=200, max_message=500)
        passed_whole = whole.feed(data)
        pieces = FrameGuard(max_frame=200, max_message=500)
        passed_pieces = feed_in_pieces(pieces, data, [c for c in cuts if c < len(data)])
        self.assertEqual(pieces.breach, whole.breach)
        if whole.breach is None:
            self.assertEqual((passed_whole, passed_pieces), (len(data), len(data)))
        else:
            self.assertLessEqual(passed_whole, passed_pieces)
            self.assertLessEqual(passed_pieces, passed_whole + 13)


class OriginTests(SynchronousTestCase):
    def test_normalize(self) -> None:
        for given_, expected in [
            ("http://Example.COM", "http://example.com"),
            ("http://example.com:80", "http://example.com"),
            ("https://example.com:443/", "https://example.com"),
            ("https://example.com:8443", "https://example.com:8443"),
            ("http://[::1]:8080", "http://[::1]:8080"),
            ("null", None),
            ("file://", None),
            ("http://example.com/path", None),
            ("http://user@example.com", None),
            ("http://example.com:99999", None),
            ("ws://example.com", None),
        ]:
            self.assertEqual(normalize_origin(given_), expected, given_)

    def test_same_origin_by_default(self) -> None:
        policy = OriginPolicy()
        self.assertIsNone(policy.check(b"http://127.0.0.1:8080", b"127.0.0.1:8080", False))
        self.assertIsNone(policy.check(b"https://chat.example", b"chat.example:443", True))
        self.assertIsNone(policy.check(b"http://[::1]:8080", b"[::1]:8080", False))
        for origin, host, secure in [
            (b"http://evil.example", b"127.0.0.1:8080", False),
            (b"http://127.0.0.1:8081", b"127.0.0.1:8080", False),
            (b"http://chat.example", b"chat.example", True),  # page over http, socket over TLS
            (b"null", b"127.0.0.1:8080", False),
            (b"http://127.0.0.1:8080", None, False),
            (b"\xff", b"x", False),
        ]:
            self.assertIsNotNone(policy.check(origin, host, secure), origin)

    def test_no_origin_header(self) -> None:
        self.assertIsNone(OriginPolicy().check(None, b"h", False))
        self.assertEqual(OriginPolicy(allow_missing=False).check(None, b"h", False),
                         "no Origin header")  # fmt: skip

    def test_allowed_origins(self) -> None:
        policy = OriginPolicy(allowed=("https://chat.example.com",))
        self.assertIsNone(policy.check(b"https://CHAT.example.com:443", b"internal:8080", False))
        self.assertIsNone(policy.check(b"http://internal:8080", b"internal:8080", False))
        only = OriginPolicy(allowed=("https://chat.example.com",), same_origin=False)
        self.assertIsNotNone(only.check(b"http://internal:8080", b"internal:8080", False))
        anyone = OriginPolicy(allowed=("*",))
        self.assertIsNone(anyone.check(b"http://anything.example", b"x", False))
        with self.assertRaises(ValueError):
            OriginPolicy(allowed=("chat.example.com",))
