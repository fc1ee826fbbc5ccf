"""A raw-socket line-door client for end-to-end tests: reads lines with a deadline."""

from __future__ import annotations

import socket
import time


class LineClient:
    """Connects to the line door; C{expect(text)} reads until a line containing it."""

    def __init__(self, address: tuple[str, int], timeout: float = 15.0) -> None:
        self.sock = socket.create_connection(address, timeout=timeout)
        self.timeout = timeout
        self.buffer = b""
        self.lines: list[str] = []
        self.nick = self.expect("welcome to").split(", ")[1].split(".")[0]

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode() + b"\r\n")

    def read_line(self, deadline: float) -> str | None:
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                return None
            if not chunk:
                raise ConnectionError("closed by the server:\n" + "\n".join(self.lines[-5:]))
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        text = line.decode().rstrip("\r")
        self.lines.append(text)
        return text

    def expect(self, needle: str) -> str:
        """The first line (from now on) containing C{needle}; fail after the timeout."""
        deadline = time.monotonic() + self.timeout
        while (line := self.read_line(deadline)) is not None:
            if needle in line:
                return line
        raise AssertionError(f"{needle!r} never came; last lines:\n" + "\n".join(self.lines[-10:]))

    def closed(self) -> bool:
        """Read until the server closes (True) or the timeout passes (False)."""
        deadline = time.monotonic() + self.timeout
        try:
            while self.read_line(deadline) is not None:
                pass
        except (ConnectionError, OSError):
            return True
        return False

    def close(self) -> None:
        self.sock.close()
