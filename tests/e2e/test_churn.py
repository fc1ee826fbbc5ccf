"""
End to end: data integrity under churn (issue 13, item 7).

Real C{twistd -n netsuite-echo} and C{twistd -n netsuite-chat} processes on 127.0.0.1,
driven by raw sockets in this process:

  - echo: 100 steady connections each stream seeded random bytes and check every byte
    that comes back (against what was sent, and by SHA-256 of both directions), while a
    churner thread opens connections and drops them abruptly (RST through C{SO_LINGER}
    0, with nothing, half a write, or a quarter MiB of unread echo owed to it);
  - chat: steady members on the line and IRC doors, one room, a sender whose numbered
    messages go out under the flood rate, while churners join the room and vanish
    (RST) the same ways; every steady member must get every message, in order.

Nothing sleeps: one selector loop per test, bounded by byte and message counts and a
deadline. The small variants run by default; the big ones (1 GiB of echo, a bigger chat)
run only with C{NETSUITE_HEAVY=1}, and are skipped with that reason otherwise.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import selectors
import socket
import struct
import threading
import time
import unittest
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TwistdProcess

from .chatclient import LineClient
from .ircclients import RawIRC

TCP = "tcp:0:interface=127.0.0.1"
SEED = 13_07
MiB = 1 << 20

#: C{NETSUITE_HEAVY=1} runs the big variants (the heavy tier).
HEAVY = os.environ.get("NETSUITE_HEAVY", "") == "1"
HEAVY_REASON = "heavy tier: set NETSUITE_HEAVY=1 to run it"


def require_heavy() -> None:
    """Skip (never silently: pytest -ra prints the reason) unless the heavy tier is on."""
    if not HEAVY:
        raise unittest.SkipTest(HEAVY_REASON)


def rst_close(sock: socket.socket) -> None:
    """Vanish abruptly: SO_LINGER 0 makes close() send an RST, not a FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def stop_if_running(server: TwistdProcess) -> None:
    """Cleanup for a failed test: the passing path stops the server itself, once."""
    if server.process is not None and server.process.poll() is None:
        server.stop()


def clean_log(server: TwistdProcess) -> None:
    """The server logged no traceback: churn is an ordinary event, not an error."""
    for bad in ("Traceback", "Unhandled Error"):
        assert bad not in server.log(), f"{bad!r} in the server's log:\n{server.log()}"


class Churner(threading.Thread):
    """
    Opens connections and drops them abruptly, round-robin over C{kinds}, until
    L{stop}. Each kind is a callable taking a fresh counter key; what happened is
    counted in C{counts} (C{"error"} when the server refused or reset us first, which
    is allowed: the point is the load, not the churner's own success).
    """

    def __init__(self, kinds: list[tuple[str, Callable[[int], None]]]) -> None:
        super().__init__(daemon=True)
        self.kinds = kinds
        self.counts: Counter[str] = Counter()
        self._stop_event = threading.Event()

    def run(self) -> None:
        n = 0
        while not self._stop_event.is_set():
            name, kind = self.kinds[n % len(self.kinds)]
            try:
                kind(n)
                self.counts[name] += 1
            except (OSError, AssertionError, ConnectionError):
                self.counts["error"] += 1
            n += 1

    def stop(self) -> Counter[str]:
        self._stop_event.set()
        self.join(30)
        assert not self.is_alive(), "the churner did not stop"
        return self.counts

    @property
    def done(self) -> int:
        return sum(v for k, v in self.counts.items() if k != "error")


# --- echo ----------------------------------------------------------------------------


#: Most bytes a steady echo connection has sent and not yet seen back.
WINDOW = 1 * MiB


@dataclass
class EchoStream:
    """
    One steady echo connection: sends C{total} seeded random bytes in chunks of random
    size, keeps what is in flight, and checks each byte that comes back against it.
    """

    sock: socket.socket
    total: int
    rng: random.Random
    sent: int = 0
    received: int = 0
    corrupt: int = 0
    out: memoryview = field(default_factory=lambda: memoryview(b""))
    pending: bytearray = field(default_factory=bytearray)
    sent_hash: hashlib._Hash = field(default_factory=hashlib.sha256)
    received_hash: hashlib._Hash = field(default_factory=hashlib.sha256)
    generated: int = 0
    half_closed: bool = False
    eof: bool = False

    def wants(self) -> int:
        """The selector events this stream waits for now."""
        if self.eof:
            return 0
        events = selectors.EVENT_READ
        if not self.half_closed and (len(self.out) or len(self.pending) < WINDOW):
            events |= selectors.EVENT_WRITE
        return events

    def writable(self) -> None:
        if not len(self.out):
            if self.generated == self.total:
                self.sock.shutdown(socket.SHUT_WR)  # the server echoes the rest, then closes
                self.half_closed = True
                return
            size = min(self.rng.randrange(1, 128 * 1024), self.total - self.generated)
            self.out = memoryview(self.rng.randbytes(size))
            self.generated += size
        try:
            n = self.sock.send(self.out)
        except BlockingIOError:
            return
        chunk = self.out[:n]
        self.pending += chunk
        self.sent_hash.update(chunk)
        self.sent += n
        self.out = self.out[n:]

    def readable(self) -> None:
        try:
            data = self.sock.recv(256 * 1024)
        except BlockingIOError:
            return
        if not data:
            self.eof = True
            return
        expected = self.pending[: len(data)]
        if data != expected:
            self.corrupt += sum(a != b for a, b in zip(data, expected, strict=False))
            self.corrupt += max(0, len(data) - len(expected))  # bytes never sent
        del self.pending[: len(data)]
        self.received_hash.update(data)
        self.received += len(data)


def echo_churner(address: tuple[str, int]) -> Churner:
    rng = random.Random(SEED + 1)

    def connect() -> socket.socket:
        return socket.create_connection(address, timeout=10)

    def vanish(n: int) -> None:  # connect, RST at once
        rst_close(connect())

    def half_write(n: int) -> None:  # part of a write, then RST
        s = connect()
        s.sendall(rng.randbytes(rng.randrange(1, 64 * 1024)))
        rst_close(s)

    def owed(n: int) -> None:  # a quarter MiB the server must echo, never read: RST
        s = connect()
        s.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            s.send(rng.randbytes(256 * 1024))
        rst_close(s)

    def read_some(n: int) -> None:  # an echo seen in part, then RST mid-stream
        s = connect()
        s.sendall(rng.randbytes(32 * 1024))
        s.recv(1024)
        rst_close(s)

    return Churner(
        [("vanish", vanish), ("half-write", half_write), ("owed", owed), ("read-some", read_some)]
    )


def run_echo_churn(case: SynchronousTestCase, total: int, deadline_s: float) -> None:
    connections = 100
    server = TwistdProcess(
        "netsuite-echo",
        ["--listen", TCP, "--max-per-ip", "0", "--max-connections", "4000"],
    ).start()
    case.addCleanup(stop_if_running, server)
    address = server.address("echo/tcp")

    streams = []
    selector = selectors.DefaultSelector()
    case.addCleanup(selector.close)
    for i in range(connections):
        sock = socket.create_connection(address, timeout=10)
        case.addCleanup(sock.close)
        sock.setblocking(False)
        share = total // connections + (1 if i < total % connections else 0)
        stream = EchoStream(sock, share, random.Random(SEED * 1000 + i))
        streams.append(stream)
        selector.register(sock, stream.wants(), stream)

    churner = echo_churner(address)
    churner.start()
    start = time.monotonic()
    deadline = start + deadline_s
    try:
        live = len(streams)
        while live and (left := deadline - time.monotonic()) > 0:
            for key, events in selector.select(left):
                stream = key.data
                if events & selectors.EVENT_READ:
                    stream.readable()
                if events & selectors.EVENT_WRITE and not stream.eof:
                    stream.writable()
                wants = stream.wants()
                if not wants:
                    selector.unregister(stream.sock)
                    live -= 1
                elif wants != key.events:
                    selector.modify(stream.sock, wants, stream)
    finally:
        counts = churner.stop()
    elapsed = time.monotonic() - start

    moved = sum(s.received for s in streams)
    corrupt = sum(s.corrupt for s in streams)
    summary = (
        f"{moved / MiB:.0f} of {total / MiB:.0f} MiB echoed in {elapsed:.1f}s"
        f" ({2 * moved / MiB / elapsed:.0f} MiB/s both ways) across {connections}"
        f" connections; churn: {dict(counts)}"
    )
    case.assertEqual(corrupt, 0, summary)
    for i, s in enumerate(streams):
        case.assertTrue(s.eof, f"connection {i} did not finish: {summary}")
        case.assertEqual((s.sent, s.received), (s.total, s.total), f"connection {i}: {summary}")
        case.assertEqual(
            s.sent_hash.hexdigest(), s.received_hash.hexdigest(), f"connection {i}: {summary}"
        )
    case.assertGreaterEqual(churner.done, 20, f"too little churn to mean anything: {summary}")

    # The server still serves a newcomer, then stops cleanly.
    with socket.create_connection(address, timeout=10) as newcomer:
        newcomer.sendall(b"still here\n")
        newcomer.shutdown(socket.SHUT_WR)
        case.assertEqual(newcomer.recv(100), b"still here\n")
    case.assertEqual(server.stop(), 0, server.log())
    clean_log(server)
    print(f"\necho churn: {summary}")


class EchoChurnTests(SynchronousTestCase):
    def test_echo_checksums_under_churn(self) -> None:
        """64 MiB over 100 connections, churned: not one byte corrupt or lost."""
        run_echo_churn(self, 64 * MiB, deadline_s=120)

    def test_echo_checksums_under_churn_1gib(self) -> None:
        """The heavy variant: 1 GiB over 100 connections, churned."""
        require_heavy()
        run_echo_churn(self, 1 << 30, deadline_s=600)


# --- chat ----------------------------------------------------------------------------


ROOM = "#lobby"  # the line door's auto-join room: line churners land in it at once


@dataclass
class Member:
    """A steady chat member read by the selector loop: the sender's messages it got."""

    name: str
    sock: socket.socket
    prefix: str  # what starts a line carrying one of the sender's messages
    marker: str  # what separates that prefix from the text
    buffer: bytes = b""
    got: list[str] = field(default_factory=list)
    eof: bool = False

    def readable(self) -> None:
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return
        except ConnectionError:
            data = b""
        if not data:
            self.eof = True
            return
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        for raw in lines:
            line = raw.decode("utf-8", "replace").rstrip("\r")
            if line.startswith(self.prefix) and self.marker in line:
                self.got.append(line.split(self.marker, 1)[1])
            elif line.startswith("PING "):  # IRC keepalive: answer it
                self.sock.sendall(b"PONG " + line[5:].encode() + b"\r\n")


def steady_line(address: tuple[str, int], sender: str) -> Member:
    client = LineClient(address)
    client.expect(f"[{ROOM}] -> {client.nick} joined")
    client.sock.setblocking(False)
    return Member(client.nick, client.sock, f"[{ROOM}] <{sender}> ", "> ", client.buffer)


def steady_irc(address: tuple[str, int], nick: str, sender: str) -> Member:
    client = RawIRC(address)
    client.register(nick, f"JOIN {ROOM}")
    client.expect(f" 366 {nick} {ROOM} ")
    client.sock.setblocking(False)
    return Member(nick, client.sock, f":{sender}!", f" PRIVMSG {ROOM} :", client.buffer)


def chat_churner(line: tuple[str, int], irc: tuple[str, int]) -> Churner:
    def joined_line(n: int) -> None:  # in the room (history replayed), says a word, RST
        client = LineClient(line, timeout=10)
        if n % 2:
            client.send(f"churner {n} was here")
        rst_close(client.sock)

    def half_line(n: int) -> None:  # half a line, RST
        s = socket.create_connection(line, timeout=10)
        s.sendall(b"this line never ends")
        rst_close(s)

    def joined_irc(n: int) -> None:  # registered, joined, RST
        client = RawIRC(irc, timeout=10)
        client.register(f"churn{n}", f"JOIN {ROOM}")
        client.expect(f" 366 churn{n} {ROOM} ")
        rst_close(client.sock)

    def half_irc(n: int) -> None:  # half a registration, RST
        s = socket.create_connection(irc, timeout=10)
        s.sendall(f"NICK half{n}\r\nUSER half".encode())
        rst_close(s)

    return Churner(
        [
            ("line-joined", joined_line),
            ("line-half", half_line),
            ("irc-joined", joined_irc),
            ("irc-half", half_irc),
        ]
    )


def run_chat_churn(
    case: SynchronousTestCase,
    line_members: int,
    irc_members: int,
    messages: int,
    rate: float,
    deadline_s: float,
) -> None:
    flood_rate = 2 * rate  # the sender stays at half the flood rate
    server = TwistdProcess(
        "netsuite-chat",
        [
            "--listen",
            TCP,
            "--irc-listen",
            TCP,
            "--max-per-ip",
            "0",
            "--max-connections",
            "4000",
            "--flood-rate",
            str(flood_rate),
            "--flood-burst",
            str(flood_rate),
        ],
        expect=2,
    ).start()
    case.addCleanup(stop_if_running, server)
    line, irc = server.address("chat/line"), server.address("chat/irc")

    sender = LineClient(line)
    case.addCleanup(sender.close)
    sender.expect(f"[{ROOM}] -> {sender.nick} joined")
    members = [steady_line(line, sender.nick) for _ in range(line_members)]
    members += [steady_irc(irc, f"steady{i}", sender.nick) for i in range(irc_members)]
    for m in members:
        case.addCleanup(m.sock.close)
    sender.sock.setblocking(False)
    rng = random.Random(SEED + 2)
    expected = [f"msg {k:06d} {rng.randbytes(24).hex()}" for k in range(messages)]

    selector = selectors.DefaultSelector()
    case.addCleanup(selector.close)
    for m in members:
        selector.register(m.sock, selectors.EVENT_READ, m)
    echo = Member(sender.nick, sender.sock, f"[{ROOM}] <{sender.nick}> ", "> ", sender.buffer)
    selector.register(sender.sock, selectors.EVENT_READ, echo)  # read, or be cut off

    churner = chat_churner(line, irc)
    churner.start()
    start = time.monotonic()
    deadline = start + deadline_s
    sent = 0
    try:
        while (left := deadline - time.monotonic()) > 0:
            if sent == messages and all(len(m.got) >= messages or m.eof for m in members):
                break
            now = time.monotonic()
            due = start + sent / rate
            if sent < messages and now >= due:
                sender.sock.setblocking(True)
                sender.send(expected[sent])
                sender.sock.setblocking(False)
                sent += 1
                continue
            timeout = min(left, due - now) if sent < messages else left
            for key, _ in selector.select(timeout):
                key.data.readable()
                if key.data.eof:
                    selector.unregister(key.data.sock)
    finally:
        counts = churner.stop()
    elapsed = time.monotonic() - start

    summary = (
        f"{sent} messages to {len(members)} steady members ({line_members} line,"
        f" {irc_members} IRC) in {elapsed:.1f}s; churn: {dict(counts)}"
    )
    for m in members:
        case.assertFalse(m.eof, f"{m.name} was disconnected: {summary}")
        case.assertEqual(m.got, expected, f"{m.name} got {len(m.got)}: {summary}")
    case.assertGreaterEqual(churner.done, 20, f"too little churn to mean anything: {summary}")
    case.assertEqual(server.stop(), 0, server.log())
    clean_log(server)
    print(f"\nchat churn: {summary}")


class ChatChurnTests(SynchronousTestCase):
    def test_steady_members_get_everything_in_order(self) -> None:
        """8 line and 4 IRC members, 150 messages at 50/s, while others churn."""
        run_chat_churn(self, 8, 4, messages=150, rate=50, deadline_s=60)

    def test_steady_members_get_everything_in_order_heavy(self) -> None:
        """The heavy variant: 100 line and 50 IRC members, 1,000 messages at 80/s."""
        require_heavy()
        run_chat_churn(self, 100, 50, messages=1000, rate=80, deadline_s=240)
