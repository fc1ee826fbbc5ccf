"""
Drive a netsuite web site in memory, byte by byte: one L{StringTransport} per
connection, a L{MemoryReactorClock} for every timer, and a small HTTP/1.1 response
parser. The site comes from the kit (L{netsuite.testing.memory_site}); these tests need
raw requests (malformed, pipelined, slow), which the kit's treq client does not send.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import ISSLTransport
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from zope.interface import implementer

from netsuite.testing import memory_site
from netsuite.web import WebConfig
from netsuite.web._site import WebSite


@dataclass
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The last value of C{name} (case-insensitive), or None."""
        values = self.headers_named(name)
        return values[-1] if values else None

    def headers_named(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name.lower()]

    def json(self) -> Any:
        import json

        return json.loads(self.body)


def parse_responses(data: bytes, heads: Iterable[bool] = ()) -> tuple[list[Response], bytes]:
    """
    Every complete response in C{data}, and what is left. C{heads} says, per response,
    whether it answers a HEAD (no body whatever the headers say).
    """
    heads = list(heads)
    out: list[Response] = []
    while b"\r\n\r\n" in data:
        head, rest = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        _, status, *reason = lines[0].split(" ", 2)
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name.strip().lower(), value.strip()))
        code = int(status)
        is_head = heads[len(out)] if len(out) < len(heads) else False
        names = dict(headers)
        if is_head or code in (204, 304) or 100 <= code < 200:
            body, data = b"", rest
        elif names.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                if b"\r\n" not in rest:
                    return out, data
                size_line, rest2 = rest.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                if len(rest2) < size + 2:
                    return out, data
                body += rest2[:size]
                rest = rest2[size + 2 :]
                if size == 0:
                    break
            data = rest
        elif "content-length" in names:
            length = int(names["content-length"])
            if len(rest) < length:
                return out, data
            body, data = rest[:length], rest[length:]
        else:
            body, data = rest, b""
        out.append(Response(code, reason[0] if reason else "", headers, body))
    return out, data


@dataclass
class Connection:
    """One client connection to the site, in memory."""

    client: WebClient
    protocol: Any
    transport: StringTransport
    heads: list[bool] = field(default_factory=list)
    _read: int = 0

    def send(self, data: bytes) -> None:
        self.protocol.dataReceived(data)

    def responses(self) -> list[Response]:
        """Every response received so far on this connection (parsed afresh)."""
        self.client.pump()
        parsed, _ = parse_responses(self.transport.value(), self.heads)
        return parsed

    def request(
        self,
        method: str,
        path: str | bytes,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        version: str = "HTTP/1.1",
    ) -> Response:
        """Send one request and return its response (which must be complete)."""
        before = len(self.responses())
        self.heads.append(method == "HEAD")
        raw_path = path if isinstance(path, bytes) else path.encode()
        lines = [method.encode() + b" " + raw_path + b" " + version.encode(), b"Host: test"]
        lines += [f"{k}: {v}".encode("latin-1") for k, v in headers]
        if body or method in ("POST", "PUT"):
            lines.append(b"Content-Length: %d" % len(body))
        self.send(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        got = self.responses()
        assert len(got) > before, (
            f"no response; sent {raw_path!r}, have {self.transport.value()!r}"
        )
        return got[before]

    @property
    def closing(self) -> bool:
        return bool(self.transport.disconnecting)

    def lose(self) -> None:
        """The client goes away (the site then releases the connection)."""
        self.protocol.connectionLost(Failure(ConnectionDone()))


@implementer(ISSLTransport)
class _TLSStringTransport(StringTransport):
    """What the site sees of a TLS connection (it only asks whether it is one)."""

    def setTcpNoDelay(self, enabled: bool) -> None:
        pass

    def getPeerCertificate(self) -> None:
        return None


class WebClient:
    """
    A site and a clock; L{connect} opens in-memory connections to it.
    """

    def __init__(
        self,
        config: WebConfig | None = None,
        *,
        site: WebSite | None = None,
        clock: MemoryReactorClock | None = None,
        **build: Any,
    ) -> None:
        self.clock = clock or MemoryReactorClock()
        if site is None:
            site = memory_site(config=config, clock=self.clock, **build)  # started
        else:
            site.doStart()
        self.site = site

    def connect(self, host: str = "127.0.0.1", port: int = 40000, tls: bool = False) -> Connection:
        peer = IPv4Address("TCP", host, port)
        protocol = self.site.buildProtocol(peer)
        assert protocol is not None, "refused"
        kind = _TLSStringTransport if tls else StringTransport
        transport = kind(hostAddress=IPv4Address("TCP", "127.0.0.1", 8080), peerAddress=peer)
        protocol.makeConnection(transport)
        return Connection(self, protocol, transport)

    def get(self, path: str | bytes, headers: Iterable[tuple[str, str]] = ()) -> Response:
        """One GET on a fresh connection."""
        return self.connect().request("GET", path, headers)

    def pump(self, turns: int = 1000) -> None:
        """Run what is due now (streamed bodies, batched logs) until nothing is left."""
        for _ in range(turns):
            if not any(c.getTime() <= self.clock.seconds() for c in self.clock.getDelayedCalls()):
                return
            self.clock.advance(0)


def make_tree(root: Path) -> Path:
    """A small served tree: files, a subdirectory, hidden names, an index-less dir."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "hello.txt").write_bytes(b"hello, world\n")
    (root / "index.html").write_bytes(b"<!doctype html><title>home</title>\n")
    (root / "docs").mkdir()
    (root / "docs" / "a.txt").write_bytes(b"a" * 10)
    (root / "docs" / "b.css").write_bytes(b"body{}" * 5)
    (root / "docs" / "zdir").mkdir()
    (root / "docs" / ".secret").write_bytes(b"hidden")
    (root / ".env").write_bytes(b"PASSWORD=hunter2\n")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_bytes(b"[core]\n")
    (root / ".well-known").mkdir()
    (root / ".well-known" / "security.txt").write_bytes(b"Contact: mailto:x@example.com\n")
    return root


def touch_later(path: Path, seconds: int = 10) -> None:
    """Move C{path}'s mtime forward, as an edit would (no waiting for the clock)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + seconds * 1_000_000_000))
