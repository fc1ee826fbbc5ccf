"""
The soak's Python clients: each a thread that loops until a deadline at a paced rate,
checks what it gets back, and counts. A count under C{errors} is a failure of the soak;
the other counts say how much load there was.

Why Python here and C in L{bench.soak._bursts}: these clients do what the C generators
do not (UDP probes, HTTP bodies checked by digest, slow and vanishing clients), at
rates low enough that the driver's own CPU stays small beside the server's.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import random
import socket
import ssl
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

#: SO_LINGER on, 0 seconds: close() sends a RST, the abrupt end a crashed client gives.
RESET = struct.pack("ii", 1, 0)


@dataclass
class Worker:
    """A load that runs in its own thread until L{run}'s deadline."""

    name: str
    counts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    thread: threading.Thread | None = None

    def fail(self, what: str) -> None:
        self.errors[what[:120]] += 1

    def start(self, deadline: float) -> None:
        self.thread = threading.Thread(target=self._guarded, args=(deadline,), daemon=True)
        self.thread.start()

    def _guarded(self, deadline: float) -> None:
        try:
            self.run(deadline)
        except Exception as e:  # the soak reports it, it does not die of it
            self.fail(f"worker died: {e!r}")

    def run(self, deadline: float) -> None:
        raise NotImplementedError

    def join(self, timeout: float) -> None:
        if self.thread is not None:
            self.thread.join(timeout)


def pace(start: float, done: int, rate: float, deadline: float) -> None:
    """Wait until the C{done}-th operation is due at C{rate} a second (not past the end)."""
    due = min(start + done / rate, deadline)
    left = due - time.monotonic()
    if left > 0:
        time.sleep(left)


def reset_close(sock: socket.socket) -> None:
    """Close with a RST (the peer sees ECONNRESET), as a client that vanishes does."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET)
    sock.close()


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 262144))
        if not chunk:
            raise ConnectionError(f"closed after {got} of {n} bytes")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


@dataclass
class EchoStream(Worker):
    """C{conns} connections, each streaming seeded random chunks and checking each echo."""

    port: int = 0
    conns: int = 4
    rate: float = 1 << 20  # bytes a second per connection
    reconnect_every: int = 16 << 20

    def run(self, deadline: float) -> None:
        threads = [
            threading.Thread(target=self._one, args=(i, deadline), daemon=True)
            for i in range(self.conns)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()) + 30)

    def _one(self, seed: int, deadline: float) -> None:
        rng = random.Random(seed)
        start, sent = time.monotonic(), 0
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
                    self.counts["connections"] += 1
                    on_this = 0
                    while on_this < self.reconnect_every and time.monotonic() < deadline:
                        data = rng.randbytes(rng.randint(1, 32768))
                        s.sendall(data)
                        back = recv_exactly(s, len(data))
                        if back != data:
                            bad = sum(a != b for a, b in zip(back, data, strict=True))
                            self.errors["mismatched bytes"] += bad
                        self.counts["bytes verified"] += len(data)
                        on_this += len(data)
                        sent += len(data)
                        pace(start, sent, self.rate, deadline)
            except OSError as e:
                self.fail(f"echo: {e!r}")
                time.sleep(0.5)


@dataclass
class UdpProbe(Worker):
    """Numbered datagrams to the UDP echo, each awaited for a second."""

    port: int = 0
    rate: float = 50.0

    def run(self, deadline: float) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(1.0)
            start, n = time.monotonic(), 0
            while time.monotonic() < deadline:
                payload = b"soak %d %s" % (n, random.randbytes(8).hex().encode())
                s.sendto(payload, ("127.0.0.1", self.port))
                self.counts["sent"] += 1
                try:
                    while True:  # skip late answers to earlier probes
                        back = s.recv(2048)
                        if back == payload:
                            self.counts["answered"] += 1
                            break
                        if not back.startswith(b"soak "):
                            self.fail(f"udp: unexpected datagram {back[:40]!r}")
                            break
                        self.counts["late"] += 1
                except TimeoutError:
                    self.counts["lost"] += 1
                n += 1
                pace(start, n, self.rate, deadline)


@dataclass
class HttpGets(Worker):
    """GETs over keep-alive connections (20 requests each); bodies checked by digest."""

    port: int = 0
    rate: float = 20.0
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256 hex

    def run(self, deadline: float) -> None:
        paths = [*self.files, "/api/stats"]
        start, n = time.monotonic(), 0
        conn: http.client.HTTPConnection | None = None
        while time.monotonic() < deadline:
            if conn is None or n % 20 == 0:
                if conn is not None:
                    conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                self.counts["connections"] += 1
            path = paths[n % len(paths)]
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                body = response.read()
                if response.status != 200:
                    self.fail(f"http: {path} {response.status}")
                elif path in self.files and hashlib.sha256(body).hexdigest() != self.files[path]:
                    self.fail(f"http: {path} body differs")
                else:
                    self.counts["served"] += 1
                    self.counts["bytes"] += len(body)
            except (OSError, http.client.HTTPException) as e:
                self.fail(f"http: {path} {e!r}")
                conn.close()
                conn = None
            n += 1
            pace(start, n, self.rate, deadline)
        if conn is not None:
            conn.close()


@dataclass
class TlsHandshakes(Worker):
    """Full TLS handshakes to the TLS echo (the chain checked), one echo each."""

    port: int = 0
    ca: str = ""
    rate: float = 10.0

    def run(self, deadline: float) -> None:
        context = ssl.create_default_context(cafile=self.ca)
        start, n = time.monotonic(), 0
        while time.monotonic() < deadline:
            data = random.randbytes(64)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=10) as raw:
                    with context.wrap_socket(raw, server_hostname="localhost") as s:
                        s.sendall(data)
                        if recv_exactly(s, len(data)) != data:
                            self.errors["mismatched bytes"] += 1
                        self.counts["handshakes"] += 1
            except (OSError, ssl.SSLError) as e:
                self.fail(f"tls: {e!r}")
            n += 1
            pace(start, n, self.rate, deadline)


@dataclass
class AbruptDisconnects(Worker):
    """Connects to every TCP door that reset half-way through what they send."""

    ports: dict[str, int] = field(default_factory=dict)
    rate: float = 20.0

    HALVES = {
        "echo/tcp": b"half an echo, then gone",
        "echo/tls": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a ClientHello cut short
        "chat/line": b"/nick vanish",
        "chat/irc": b"NICK vanish\r\nUSER vanish 0 * :",
        "web/http": b"GET /index.html HTTP/1.1\r\nHost: x\r\nAcc",
    }

    def run(self, deadline: float) -> None:
        doors = list(self.HALVES)
        start, n = time.monotonic(), 0
        while time.monotonic() < deadline:
            door = doors[n % len(doors)]
            try:
                s = socket.create_connection(("127.0.0.1", self.ports[door]), timeout=5)
                s.sendall(self.HALVES[door])
                reset_close(s)
                self.counts[door] += 1
            except OSError as e:
                self.fail(f"abrupt {door}: {e!r}")
            n += 1
            pace(start, n, self.rate, deadline)


@dataclass(eq=False)
class Peer:
    """One slow client of L{SlowClients}."""

    sock: socket.socket
    kind: str  # "trickle" or "reader"
    begun: float
    next: float
    done: str = ""


def tcp_state(sock: socket.socket) -> int:
    """The kernel's TCP state of C{sock} (1: established), from C{TCP_INFO}."""
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]


@dataclass
class SlowClients(Worker):
    """
    A few slow peers at all times: header trickles (cut by the web door's header
    deadline), slow readers of the big files, and a chat member that never reads (cut
    at its send-queue bound while the fan-out bursts run). Each is replaced as it ends.
    """

    web: int = 0
    chat: int = 0
    trickles: int = 8
    readers: int = 4
    read_for: float = 15.0
    paths: tuple[str, ...] = ("/big.bin", "/huge.bin")

    def run(self, deadline: float) -> None:
        peers: list[Peer] = []
        mute: socket.socket | None = None
        n = 0
        while time.monotonic() < deadline:
            now = time.monotonic()
            try:
                while sum(p.kind == "trickle" for p in peers) < self.trickles:
                    s = socket.create_connection(("127.0.0.1", self.web), timeout=5)
                    s.sendall(b"GET /index.html HTTP/1.1\r\n")
                    s.setblocking(False)
                    peers.append(Peer(s, "trickle", now, now + 1.0))
                while sum(p.kind == "reader" for p in peers) < self.readers:
                    s = socket.socket()
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                    s.settimeout(5)
                    s.connect(("127.0.0.1", self.web))
                    path = self.paths[n % len(self.paths)]
                    n += 1
                    s.sendall(f"GET {path} HTTP/1.1\r\nHost: soak\r\n\r\n".encode())
                    s.setblocking(False)
                    peers.append(Peer(s, "reader", now, now + 0.5))
                if mute is None:
                    mute = socket.socket()
                    mute.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                    mute.settimeout(5)
                    mute.connect(("127.0.0.1", self.chat))
                    mute.sendall(b"/nick mute%d\n" % n)
                    n += 1
                    self.counts["mute members"] += 1
            except OSError as e:
                self.fail(f"slow: connect {e!r}")
            for peer in [p for p in peers if p.next <= now]:
                try:
                    self._step(peer, now)
                except OSError:
                    peer.done = "ended by the server"
                if peer.done:
                    peers.remove(peer)
                    self.counts[peer.done] += 1
                    peer.sock.close()
            if mute is not None and tcp_state(mute) != 1:  # the server cut it
                reset_close(mute)
                mute = None
                self.counts["mute member cut"] += 1
            time.sleep(0.1)  # pacing: every step is due 0.5 or 1 s after the last
        for peer in peers:
            peer.sock.close()
        if mute is not None:
            mute.close()

    def _step(self, peer: Peer, now: float) -> None:
        try:
            got: bytes | None = peer.sock.recv(4096)
        except BlockingIOError:
            got = None
        if peer.kind == "trickle":
            if got is not None:  # an answer (408) or a close: the header deadline
                peer.done = "trickle cut" if now - peer.begun > 5 else "trickle cut early"
                if now - peer.begun <= 5:
                    self.fail("slow: a header trickle was cut within 5 s")
                return
            peer.sock.send(b"X-Soak: %d\r\n" % int(now))
            peer.next = now + 1.0
            return
        if got == b"":
            peer.done = "reader closed by the server"
        elif now - peer.begun > self.read_for:
            peer.done = "reader gave up"
        peer.next = now + 0.5
