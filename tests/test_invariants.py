"""
Parser invariants, h11 style, for every sans-IO core (issue 13, item 2).

The property, for each core that reads a byte stream: any bytes, fed whole, fed one byte
at a time, or cut at arbitrary points, give identical events, or the core's own protocol
error, never another exception. A core that reads whole units (a datagram, a config
file, a WebSocket text message) takes arbitrary units and gives its result or its own
error. Each test runs a fixed 2,000 examples, derandomized (the same examples on every
run, in CI as on a laptop: a failure reproduces), with no deadline; a few fixed
C{@example}s pin the cases that once mattered. The repo has no hypothesis profile, so
each test states its settings (L{INVARIANT}).

The same cores have atheris harnesses in C{bench/fuzz/}, run by hand (docs/fuzzing.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase
from wsproto import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage

from netsuite.chat import tap as chat_tap
from netsuite.chat._irc_session import IRCSession
from netsuite.chat._line import LineSession
from netsuite.datagram._probe import HEADER_SIZE, MAGIC, Probe, ProbeError, decode, encode
from netsuite.echo import tap as echo_tap
from netsuite.stream._lines import Line, LineSplitter, Overlong
from netsuite.testing import hub_on_clock
from netsuite.twistd._config import Config, ConfigError, load
from netsuite.web import tap as web_tap
from netsuite.web._chatws_session import WebChatSession
from netsuite.web._http_limits import ChunkedFraming, HeadLimits, RequestError, RequestHead
from netsuite.web._wsguard import FrameGuard

#: 2,000 examples each (the issue's floor), no deadline, the same examples every run.
INVARIANT = settings(max_examples=2000, deadline=None, derandomize=True)

#: Cut points: sorted and clipped to the data by L{chunkings}.
CUTS = st.lists(st.integers(min_value=0, max_value=200), max_size=8)


def chunkings(data: bytes, cuts: Iterable[int]) -> list[list[bytes]]:
    """C{data} whole, one byte at a time, and cut at C{cuts}: three ways to feed it."""
    points = sorted({c for c in cuts if 0 < c < len(data)})
    split = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    return [[data], [data[i : i + 1] for i in range(len(data))], split]


def stream_of(*tokens: bytes) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, or a run of C{tokens} (the bytes that make a parser branch)."""
    return st.binary(max_size=64) | st.lists(st.sampled_from(tokens), max_size=24).map(b"".join)


# --- line framing (netsuite/stream/_lines.py) ------------------------------------------


def split_lines(chunks: list[bytes], limit: int) -> list[Line | Overlong]:
    splitter = LineSplitter(limit)
    events: list[Line | Overlong] = []
    for chunk in chunks:
        events += splitter.feed(chunk)
    return events


class LineFramingTests(SynchronousTestCase):
    @INVARIANT
    @given(stream_of(b"\r", b"\n", b"\r\n", b"a", b"bc", b"\xff"), CUTS,
           st.integers(min_value=0, max_value=12))  # fmt: skip
    @example(b"ab\r\n", [], 0)
    @example(b"x" * 13 + b"\r\nok\n", [13, 14], 12)
    @example(b"a\r\r\n", [], 1)
    def test_whole_bytewise_split_agree(self, data: bytes, cuts: list[int], limit: int) -> None:
        """The same lines and overlong notices however the stream is cut (never raises)."""
        whole, *others = (split_lines(chunks, limit) for chunks in chunkings(data, cuts))
        for event in whole:
            if isinstance(event, Line):
                self.assertLessEqual(len(event.data), limit)
                self.assertNotIn(b"\n", event.data)
        for other in others:
            self.assertEqual(other, whole, data)

    def test_overlong_length_excludes_cr_when_split(self) -> None:
        """
        C{b"ab\r\n"} over a limit of 0 is C{Overlong(2)} however it arrives: the CR of a
        line discarded across reads is its ending, not part of its length.
        """
        self.assertEqual(split_lines([b"ab\r\n"], 0), [Overlong(2)])
        self.assertEqual(split_lines([b"a", b"b", b"\r", b"\n"], 0), [Overlong(2)])
        self.assertEqual(split_lines([b"abc\r", b"\n"], 0), [Overlong(3)])


# --- chat commands on the line door (netsuite/chat/_line.py) ---------------------------

_WORDS = [b"/nick", b"/join", b"/part", b"/msg", b"/me", b"/who", b"/rooms", b"/topic",
          b"/history", b"/help", b"/quit", b"/frob", b"//", b"/", b"#lobby", b"#x", b"bob",
          b" ", b"-1", b"99", b"\xc3\xa9", b"\xff", b"\x00", b"\x1b[31m", b"hi"]  # fmt: skip
CHAT_BYTES = st.binary(max_size=80) | st.lists(
    st.sampled_from([*_WORDS, b"\r\n", b"\n", b"\r", b"\r\n/", b"\n/"]), max_size=30
).map(b"".join)

#: The overlong notice says how long the line was: that length may differ by its CR.
_LENGTH = re.compile(rb"line too long \(\d+ bytes")


def line_door(chunks: list[bytes]) -> tuple[bytes, list[str]]:
    """A started line session (with a second member to talk to) fed C{chunks}."""
    hub, _clock = hub_on_clock()
    out: list[bytes] = []
    closed: list[str] = []
    bob = LineSession(hub, lambda _: None, lambda _: None)
    bob.start("bob")
    session = LineSession(hub, out.append, closed.append, max_line=24)
    session.start("alice")
    for chunk in chunks:
        session.data_received(chunk)
    return _LENGTH.sub(b"line too long (N bytes", b"".join(out)), closed


class ChatCommandTests(SynchronousTestCase):
    @INVARIANT
    @given(CHAT_BYTES, CUTS)
    @example(b"/join #x\r\n/part\r\n/who\r\n", [3, 11])
    @example(b"/history -1\n/history 99\n/msg bob\n/quit bye\nafter\n", [])
    @example(b"x" * 30 + b"\r\n/nick \xff\r\n", [25, 26])
    def test_whole_bytewise_split_agree(self, data: bytes, cuts: list[int]) -> None:
        """The same replies and the same close however the bytes arrive (never raises)."""
        whole, *others = (line_door(chunks) for chunks in chunkings(data, cuts))
        for other in others:
            self.assertEqual(other, whole)


# --- IRC as the door parses it (netsuite/chat/_irc_session.py, twisted.words) ----------

_IRC = [b"NICK ", b"USER u 0 * :r", b"JOIN ", b"PART ", b"PRIVMSG ", b"NOTICE ", b"TOPIC ",
        b"NAMES", b"WHO ", b"WHOIS ", b"LIST", b"MODE ", b"CAP LS", b"CAP REQ :", b"CAP END",
        b"PING :", b"PONG ", b"ISON ", b"USERHOST ", b"AWAY :", b"QUIT :", b"PASS ",
        b"GET / HTTP/1.1", b"@a=b ", b":pre ", b"#lobby", b"alice", b",", b":", b" ",
        b"\x01ACTION x\x01", b"\xff", b"\x00"]  # fmt: skip
IRC_BYTES = st.binary(max_size=80) | st.lists(
    st.sampled_from([*_IRC, b"\r\n", b"\n", b"\r"]), max_size=30
).map(b"".join)


def irc_door(chunks: list[bytes], register: bool) -> tuple[bytes, list[str]]:
    """An IRC session (registered first, or not) fed C{chunks}."""
    hub, _clock = hub_on_clock()
    out: list[bytes] = []
    closed: list[str] = []
    session = IRCSession(hub, out.append, closed.append, max_line=64)
    if register:
        session.data_received(b"NICK alice\r\nUSER a 0 * :A\r\n")
    for chunk in chunks:
        session.data_received(chunk)
    return b"".join(out), closed


class IRCParsingTests(SynchronousTestCase):
    @INVARIANT
    @given(IRC_BYTES, CUTS, st.booleans())
    @example(b"NICK bob\r\nUSER b 0 * :B\r\nJOIN #lobby\r\nPRIVMSG #lobby :hi\r\n", [5], False)
    @example(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", [1, 2], False)
    @example(b":\r\n@\r\nPRIVMSG\r\nMODE #lobby +b\r\n" + b"x" * 70 + b"\n", [40], True)
    def test_whole_bytewise_split_agree(self, data: bytes, cuts: list[int], reg: bool) -> None:
        """The same lines back and the same close however the bytes arrive; nothing logged
        as a failure (the session logs a command that raised instead of raising)."""
        whole, *others = (irc_door(chunks, reg) for chunks in chunkings(data, cuts))
        for other in others:
            self.assertEqual(other, whole)
        self.assertEqual(self.flushLoggedErrors(), [])


# --- the HTTP limit layer (netsuite/web/_http_limits.py) -------------------------------
# tests/web/test_http_limits.py has whole-vs-bytewise for ChunkedFraming and the head's
# line checks; here: arbitrary cuts of the chunked body, and heads of arbitrary bytes.


def chunked(chunks: list[bytes]) -> tuple[int, bool] | str:
    """Body bytes used and whether the body ended, or the refusal's counter."""
    framing = ChunkedFraming()
    used = 0
    try:
        for chunk in chunks:
            if framing.done:
                break
            used += framing.receive(chunk)
    except RequestError as refused:
        return refused.counter
    return used, framing.done


def head(data: bytes, limits: HeadLimits) -> list[bytes | tuple[int, str]]:
    """Each line of C{data} as L{RequestHead} gives it back, then its refusal if any."""
    request = RequestHead(limits)
    seen: list[bytes | tuple[int, str]] = []
    try:
        for raw in data.split(b"\n")[:-1]:
            seen.append(request.line(raw))
            if request.expecting_request_line:
                request.end()
    except RequestError as refused:
        seen.append((refused.status, refused.counter))
    return seen


class HTTPLimitTests(SynchronousTestCase):
    @INVARIANT
    @given(stream_of(b"\r", b"\n", b"\r\n", b"0", b"5", b"a", b"F", b"_", b";", b"x", b"hello"),
           CUTS)  # fmt: skip
    @example(b"5\r\nhello\r\n0\r\n\r\nNEXT", [1, 4, 9, 15])
    @example(b"5;a=b\r\nhello\r\n0\r\nX: 1\r\n\r\n", [6, 7])
    @example(b"5\r\nhello\n", [9])
    def test_chunked_whole_bytewise_split_agree(self, data: bytes, cuts: list[int]) -> None:
        whole, *others = (chunked(chunks) for chunks in chunkings(data, cuts))
        for other in others:
            self.assertEqual(other, whole)

    @INVARIANT
    @given(
        st.binary(max_size=100)
        | st.lists(st.sampled_from([b"GET / HTTP/1.1", b"HTTP/1.0", b"Host: x", b"Host:",
                                    b"Transfer-Encoding: chunked", b"Content-Length: 1",
                                    b"Content-Length: +1", b" ", b"\t", b":", b"\r", b"\n",
                                    b"\r\n", b"\x7f", b"[::1]:80"]),
                   max_size=30).map(b"".join),
        st.integers(min_value=0, max_value=40), st.booleans(), st.booleans(),
    )  # fmt: skip
    @example(b"GET / HTTP/1.1\r\n\r\n", 40, True, False)
    @example(b"\r\n\r\nGET / HTTP/1.1\nHost: a\nHost: b\n", 40, True, False)
    def test_head_of_any_bytes(self, data: bytes, limit: int, host: bool, lf: bool) -> None:
        """Any head: its lines back without CR, or a 400/414 L{RequestError}, nothing else."""
        for item in head(data, HeadLimits(limit, require_host=host, reject_bare_lf=lf)):
            if isinstance(item, tuple):
                self.assertIn(item[0], (400, 414))
            else:
                self.assertNotIn(b"\r", item)


# --- WebSocket frames as the chat door reads them (_wsguard.py, _chatws_session.py) ----


def ws_frame(opcode: int, fin: bool, payload: bytes, mask: bool, rsv: int) -> bytes:
    """One client frame; a zero mask key keeps the payload readable."""
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 1 << 16:
        head += bytes([bit | 126]) + n.to_bytes(2, "big")
    else:  # pragma: no cover - the strategies stay below 64 KiB
        head += bytes([bit | 127]) + n.to_bytes(8, "big")
    return head + (b"\0\0\0\0" if mask else b"") + payload


_PAYLOADS = st.sampled_from([
    b"", b"{}", b'{"type":"say","room":"#lobby","text":"hi"}', b'{"type":"join","room":"#x"}',
    b'{"type":"who"}', b'{"type":"nick","nick":"z"}', b'{"type":"quit"}', b"[1]", b"\xff",
    b"\x03\xe8", b"\xc3", b"x" * 130,
]) | st.binary(max_size=40)  # fmt: skip
WS_FRAMES = st.lists(
    st.builds(
        ws_frame,
        st.sampled_from([0, 1, 2, 8, 9, 10, 3, 15]),
        st.booleans(),
        _PAYLOADS,
        st.booleans() | st.just(True),
        st.sampled_from([0, 0, 0, 4]),
    )
    | st.binary(max_size=12),
    max_size=8,
).map(b"".join)


def ws_door(chunks: list[bytes]) -> tuple[Any, ...]:
    """
    The chat WebSocket door's read path without Twisted's transport: the guard, wsproto's
    server connection (as C{twisted.web.websocket} drives it), messages gathered until
    their last frame, text to the session. Returns everything the peer could observe.
    """
    hub, _clock = hub_on_clock()
    sent: list[str] = []
    closes: list[tuple[int, str]] = []
    session = WebChatSession(hub, sent.append, lambda c, r: closes.append((c, r)))
    session.start("alice")
    guard = FrameGuard(max_frame=100, max_message=160)
    ws = Connection(ConnectionType.SERVER)
    seen: list[tuple[str, Any]] = []
    text: list[str] = []
    closed: int | None = None
    for chunk in chunks:
        ok = guard.feed(chunk)
        if ok:
            ws.receive_data(chunk[:ok])
        for event in ws.events():
            if isinstance(event, CloseConnection):
                closed = event.code
                break
            if isinstance(event, TextMessage):
                text.append(event.data)
                if event.message_finished:
                    seen.append(("text", "".join(text)))
                    session.text_received("".join(text))
                    text = []
            elif isinstance(event, BytesMessage):
                if event.message_finished:
                    seen.append(("binary", None))
                    session.binary_received()
            elif isinstance(event, Ping | Pong):
                seen.append((type(event).__name__, bytes(event.payload)))
        if closed is not None or guard.breach is not None:
            break
    return guard.breach, closed, (seen, sent, closes)


def ws_agree(got: tuple[Any, ...], whole: tuple[Any, ...]) -> bool:
    """
    The same messages and session replies, and an end in both or neither. How it ends
    may differ when the guard looked ahead of wsproto: whole, the guard sees a later
    frame over the cap before wsproto refuses an earlier one (or reads the peer's close);
    a byte at a time, wsproto ends the stream first and the guard never sees that frame.
    Either way the peer is closed. With no breach in either, wsproto's close code is the
    same; with no close from wsproto in either, the breach is the same.
    """
    (breach_a, closed_a, observed_a), (breach_b, closed_b, observed_b) = got, whole
    if observed_a != observed_b:
        return False
    if (breach_a is None and closed_a is None) != (breach_b is None and closed_b is None):
        return False
    if breach_a is None and breach_b is None and closed_a != closed_b:
        return False
    return not (closed_a is None and closed_b is None and breach_a != breach_b)


class WebSocketTests(SynchronousTestCase):
    @INVARIANT
    @given(WS_FRAMES, CUTS)
    @example(ws_frame(1, True, b'{"type":"say","room":"#lobby","text":"hi"}', True, 0), [1, 3])
    @example(ws_frame(1, False, b"x" * 90, True, 0) + ws_frame(0, True, b"x" * 90, True, 0), [])
    @example(ws_frame(1, True, b"x" * 130, True, 0), [1])
    @example(ws_frame(9, True, b"p", True, 0) + ws_frame(1, True, b"\xff", True, 0), [2])
    @example(b"\x00\x00\x82\x00\x00\x00\x00{}", [])  # wsproto refuses before the breach
    def test_whole_bytewise_split_agree(self, data: bytes, cuts: list[int]) -> None:
        """The same breach, messages, session replies and close however the bytes arrive."""
        whole, *others = (ws_door(chunks) for chunks in chunkings(data, cuts))
        for other in others:
            self.assertTrue(ws_agree(other, whole), (other, whole))


# --- the probe format (netsuite/datagram/_probe.py) ------------------------------------


#: Any datagram, or one with our magic (and version): the decoder's every branch.
PROBE_BYTES = (
    st.binary(max_size=64)
    | st.binary(min_size=HEADER_SIZE, max_size=40).map(lambda b: MAGIC + b[4:])
    | st.binary(max_size=40).map(lambda b: MAGIC + b"\x01" + b)
)


class ProbeTests(SynchronousTestCase):
    @INVARIANT
    @given(PROBE_BYTES)
    @example(b"")
    @example(MAGIC + b"\x01" + bytes(19))
    @example(MAGIC + b"\x02" + bytes(19))
    def test_any_datagram_is_a_probe_or_probe_error(self, data: bytes) -> None:
        """A probe of the datagram's size that encodes back to its header, or ProbeError."""
        try:
            probe = decode(data)
        except ProbeError:
            return
        self.assertIsInstance(probe, Probe)
        self.assertEqual(probe.size, len(data))
        again = encode(probe.seq, probe.sent_ns, probe.size, probe.flags)
        self.assertEqual(again[:6], data[:6])
        self.assertEqual(again[8:HEADER_SIZE], data[8:HEADER_SIZE])
        self.assertEqual(decode(data[:HEADER_SIZE]).seq, probe.seq)


# --- the config parser (netsuite/twistd/_config.py) ------------------------------------

SERVICES: dict[str, type[usage.Options]] = {
    "echo": echo_tap.Options,
    "chat": chat_tap.Options,
    "web": web_tap.Options,
}
_TOML = ["[echo]", "[chat]", "[chat.irc]", "[web]", "[web.ws]", "[tls]", "[log]", "[suite]",
         "[wbe]", "[[echo]]", "listen = ", "max_per_ip = ", "history = ", "flood_rate = ",
         "path = ", "cert = ", "format = ", "services = ", "a.b = ", '"q" = ', "1", "-1",
         "0.5", "true", '"tcp:0"', '["tcp:0:interface=127.0.0.1"]', '["udp:0"]', '["none"]',
         '"json"', '"/nonexistent"', "[", "]", "{", "}", ",", "=", '"', "'''", '"""', "#",
         " ", "\n", "\r\n", "\t", "\x00", "é"]  # fmt: skip
CONFIG_TEXT = st.text(max_size=80) | st.lists(st.sampled_from(_TOML), max_size=24).map("".join)


class ConfigTests(SynchronousTestCase):
    @INVARIANT
    @given(CONFIG_TEXT)
    @example("")
    @example('[echo]\nmax_per_ip = "eight"\n[chat]\nhistroy = 5\n[log]\nformat = "xml"\n[wbe]\n')
    @example('[web]\nlisten = ["udp:0"]\n[echo]\nlisten = ["tcp:0"]\n')
    @example("[echo]\nlisten = [\n")
    def test_any_text_loads_or_reports(self, text: str) -> None:
        """A L{Config} whose problems are L{ConfigError}s at lines of the file, never raised."""
        config = load(text, "f.toml", SERVICES, known_sections=())
        self.assertIsInstance(config, Config)
        lines = max(1, len(text.splitlines()))
        for error in config.errors:
            self.assertIsInstance(error, ConfigError)
            self.assertTrue(error.line is None or 1 <= error.line <= lines + 1, error)
            self.assertTrue(str(error).startswith("f.toml"))
        self.assertEqual(
            [str(e) for e in load(text, "f.toml", SERVICES).errors],
            [str(e) for e in config.errors],
        )
