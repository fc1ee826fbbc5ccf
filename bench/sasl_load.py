"""
Password checks and the reactor: while N connections each send SASL PLAIN logins with a
wrong password as fast as they are answered, how long does a PING take on another
connection of the same netsuite-chat?

Why: a Scrypt check (n=2**14, r=8, p=1) takes about 57 ms of CPU. Run in the reactor
thread it would hold every connection that long per attempt; netsuite runs it in the
reactor's thread pool (netsuite.chat._accounts_thread), where OpenSSL's scrypt releases
the GIL. If that holds, the PING's round trip stays far below one check's 57 ms.

    PYTHONPATH=. .venv/bin/python bench/sasl_load.py [--seconds 2] [--hammers 1,4,10]

Starts twistd netsuite-chat (IRC door only, one account), measures PING round trips
alone, then with each count of hammering connections, and prints checks/s and the
round trip's p50, p99 and maximum.
"""

from __future__ import annotations

import argparse
import base64
import socket
import statistics
import threading
import time

from netsuite.chat._accounts import hash_password
from netsuite.testing import TwistdProcess


def _until(sock: socket.socket, buf: bytes, word: bytes) -> bytes:
    """Read until C{word} and the end of its line; return what follows."""
    while word not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError(buf[-200:])
        buf += chunk
    end = buf.index(b"\r\n", buf.index(word)) + 2
    return buf[end:]


def hammer(address: tuple[str, int], stop: threading.Event, done: list[int]) -> None:
    with socket.create_connection(address, timeout=30) as sock:
        sock.sendall(b"CAP REQ sasl\r\n")
        buf = _until(sock, b"", b" ACK ")
        wrong = base64.b64encode(b"\0jilles\0millet")
        while not stop.is_set():
            sock.sendall(b"AUTHENTICATE PLAIN\r\nAUTHENTICATE " + wrong + b"\r\n")
            buf = _until(sock, buf, b" 904 ")
            done.append(1)


def probe(address: tuple[str, int], seconds: float, nick: str) -> list[float]:
    """PING round trips, in ms, one after the other for C{seconds}."""
    with socket.create_connection(address, timeout=30) as sock:
        sock.sendall(f"NICK {nick}\r\nUSER p 0 * :p\r\n".encode())
        buf = _until(sock, b"", b" 376 ")
        rtts = []
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            token = b":t%d" % len(rtts)
            start = time.perf_counter()
            sock.sendall(b"PING " + token + b"\r\n")
            buf = _until(sock, buf, token)
            rtts.append((time.perf_counter() - start) * 1000)
        return rtts


def summary(rtts: list[float]) -> str:
    q = statistics.quantiles(rtts, n=100)
    return f"PING ms p50 {q[49]:.2f} p99 {q[98]:.2f} max {max(rtts):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--hammers", default="1,4,10")
    args = parser.parse_args()
    options = [
        "--listen", "none", "--irc-listen", "tcp:0:interface=127.0.0.1",
        "--flood-rate", "1000", "--flood-burst", "1000",
        "--account", f"jilles:{hash_password('sesame')}",
    ]  # fmt: skip
    with TwistdProcess("netsuite-chat", options) as server:
        address = server.address("chat/irc")
        print(f"alone:          {summary(probe(address, args.seconds, 'alone'))}")
        for count in (int(n) for n in args.hammers.split(",")):
            stop, done = threading.Event(), []
            threads = [threading.Thread(target=hammer, args=(address, stop, done))
                       for _ in range(count)]  # fmt: skip
            for thread in threads:
                thread.start()
            time.sleep(0.5)  # every hammer under way
            before, start = len(done), time.perf_counter()
            rtts = probe(address, args.seconds, f"probe{count}")
            rate = (len(done) - before) / (time.perf_counter() - start)
            stop.set()
            for thread in threads:
                thread.join()
            print(f"{count:2d} hammering:  {rate:5.1f} checks/s  {summary(rtts)}")


if __name__ == "__main__":
    main()
