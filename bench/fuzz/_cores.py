"""
The property every harness in C{bench/fuzz/} checks, and the runner they share.

The property is the one C{tests/test_invariants.py} states with hypothesis: bytes fed
to a sans-IO core whole, one byte at a time, or in chunks give the same events, or the
core's own protocol error, never another exception. Here the bytes come from atheris
(libFuzzer, coverage-guided, unbounded: run by hand, never in CI); the first byte of
each input picks the chunk size and a limit, the rest is the stream.

atheris is imported only when a harness runs, so this directory imports (and its checks
replay inputs) in an environment without it, such as the project's own venv. How to
install atheris and run a harness: docs/fuzzing.md.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any, cast


def feeds(data: bytes) -> tuple[int, list[list[bytes]]]:
    """C{(knob, [whole, bytewise, chunked])} from one fuzz input (its first byte: the knob)."""
    knob, stream = (data[0], data[1:]) if data else (0, b"")
    step = knob % 7 + 1
    chunked = [stream[i : i + step] for i in range(0, len(stream), step)]
    return knob, [[stream], [stream[i : i + 1] for i in range(len(stream))], chunked]


def agree(results: list[Any], core: str) -> None:
    first = results[0]
    for other in results[1:]:
        if other != first:
            raise AssertionError(f"{core}: whole {first!r} != split {other!r}")


# --- one check per core: each takes one fuzz input and raises only on a broken property ---


def check_lines(data: bytes) -> None:
    from netsuite.stream._lines import LineSplitter, Overlong

    knob, ways = feeds(data)
    results = []
    for chunks in ways:
        splitter = LineSplitter(knob % 16)
        events = []
        for chunk in chunks:
            events += splitter.feed(chunk)
        # Known: an Overlong's length may count its CR when split (see tests/test_invariants).
        results.append([Overlong(0) if isinstance(e, Overlong) else e for e in events])
    agree(results, "lines")


_LENGTH = re.compile(rb"line too long \(\d+ bytes")


def check_chat_line(data: bytes) -> None:
    from netsuite.chat._line import LineSession
    from netsuite.testing import hub_on_clock

    _, ways = feeds(data)
    results = []
    for chunks in ways:
        hub, _clock = hub_on_clock()
        out: list[bytes] = []
        closed: list[str] = []
        LineSession(hub, lambda _: None, lambda _: None).start("bob")
        session = LineSession(hub, out.append, closed.append, max_line=24)
        session.start("alice")
        for chunk in chunks:
            session.data_received(chunk)
        results.append((_LENGTH.sub(b"", b"".join(out)), closed))
    agree(results, "chat line")


def check_irc(data: bytes) -> None:
    from twisted.logger import ILogObserver, globalLogPublisher

    from netsuite.chat._irc_session import IRCSession
    from netsuite.testing import hub_on_clock

    knob, ways = feeds(data)
    failures: list[dict[str, Any]] = []

    def observe(event: dict[str, Any]) -> None:
        if "log_failure" in event:
            failures.append(event)

    observer = cast(ILogObserver, observe)
    globalLogPublisher.addObserver(observer)
    try:
        results = []
        for chunks in ways:
            hub, _clock = hub_on_clock()
            out: list[bytes] = []
            closed: list[str] = []
            session = IRCSession(hub, out.append, closed.append, max_line=64)
            if knob & 0x80:
                session.data_received(b"NICK alice\r\nUSER a 0 * :A\r\n")
            for chunk in chunks:
                session.data_received(chunk)
            results.append((b"".join(out), closed))
    finally:
        globalLogPublisher.removeObserver(observer)
    if failures:  # the session logs a command that raised rather than raising
        raise failures[0]["log_failure"].value
    agree(results, "irc")


def check_http(data: bytes) -> None:
    from netsuite.web._http_limits import ChunkedFraming, HeadLimits, RequestError, RequestHead

    knob, ways = feeds(data)
    results: list[Any] = []
    for chunks in ways:
        framing = ChunkedFraming()
        used = 0
        try:
            for chunk in chunks:
                if framing.done:
                    break
                used += framing.receive(chunk)
            results.append((used, framing.done))
        except RequestError as refused:
            results.append(refused.counter)
    agree(results, "chunked")
    head = RequestHead(HeadLimits(knob % 64, require_host=bool(knob & 64),
                                  reject_bare_lf=bool(knob & 128)))  # fmt: skip
    try:
        for raw in ways[0][0].split(b"\n")[:-1]:
            head.line(raw)
            if head.expecting_request_line:
                head.end()
    except RequestError as refused:
        if refused.status not in (400, 414):
            raise


def check_ws(data: bytes) -> None:
    _, ways = feeds(data)
    agree([_ws_way(chunks) for chunks in ways], "websocket")


def _ws_way(chunks: list[bytes]) -> tuple[Any, ...]:
    """The chat WebSocket door's read path fed C{chunks}: guard, wsproto, session."""
    from wsproto import Connection, ConnectionType
    from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage

    from netsuite.testing import hub_on_clock
    from netsuite.web._chatws_session import WebChatSession
    from netsuite.web._wsguard import FrameGuard

    hub, _clock = hub_on_clock()
    sent: list[str] = []
    closes: list[tuple[int, str]] = []
    session = WebChatSession(hub, sent.append, lambda c, r: closes.append((c, r)))
    session.start("alice")
    guard = FrameGuard(max_frame=100, max_message=160)
    ws = Connection(ConnectionType.SERVER)
    seen: list[Any] = []
    text: list[str] = []
    ended = False
    for chunk in chunks:
        ok = guard.feed(chunk)
        if ok:
            ws.receive_data(chunk[:ok])
        for event in ws.events():
            if isinstance(event, CloseConnection):
                ended = True
                break
            if isinstance(event, TextMessage):
                text.append(event.data)
                if event.message_finished:
                    seen.append("".join(text))
                    session.text_received("".join(text))
                    text = []
            elif isinstance(event, BytesMessage) and event.message_finished:
                seen.append(None)
                session.binary_received()
            elif isinstance(event, Ping | Pong):
                seen.append(bytes(event.payload))
        if ended or guard.breach is not None:
            ended = True
            break
    # How it ends (1009 from the guard or wsproto's own close) may differ when the guard
    # reads ahead of wsproto; that it ends, and what came before, may not.
    return seen, sent, closes, ended


def check_probe(data: bytes) -> None:
    from netsuite.datagram._probe import ProbeError, decode

    try:
        probe = decode(data)
    except ProbeError:
        return
    if probe.size != len(data):
        raise AssertionError(f"probe size {probe.size} for {len(data)} bytes")


def check_config(data: bytes) -> None:
    from netsuite.chat import tap as chat_tap
    from netsuite.echo import tap as echo_tap
    from netsuite.twistd._config import ConfigError, load
    from netsuite.web import tap as web_tap

    services = {"echo": echo_tap.Options, "chat": chat_tap.Options, "web": web_tap.Options}
    text = data.decode("utf-8", "replace")
    for error in load(text, "fuzz.toml", services).errors:
        if not isinstance(error, ConfigError):
            raise AssertionError(repr(error))


# --- the runner -----------------------------------------------------------------------


def run(check: Callable[[bytes], None]) -> None:
    """
    Fuzz C{check} with atheris (libFuzzer's arguments: C{-max_total_time=60}, a corpus
    directory ...). Without atheris, replay the files named on the command line.
    """
    try:
        import atheris  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        files = [a for a in sys.argv[1:] if not a.startswith("-")]
        if not files:
            sys.exit("atheris is not installed (see docs/fuzzing.md); give files to replay")
        for name in files:
            with open(name, "rb") as f:
                check(f.read())
        print(f"replayed {len(files)} input(s): the property holds")
        return
    check(b"")  # import what the check imports, so that it is instrumented below
    atheris.instrument_all()
    atheris.Setup(sys.argv, check)
    atheris.Fuzz()
