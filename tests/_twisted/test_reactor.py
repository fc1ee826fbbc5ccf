"""
netsuite's reactor (L{netsuite._twisted.reactor}) does what the epoll reactor does with
each event: reads, writes, errors logged and the connection dropped, a selectable whose
descriptor went away disconnected. Each test runs its own reactor instance, turned by
hand (C{iterate}), with no global reactor touched.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from twisted.internet import error, protocol
from twisted.internet.abstract import FileDescriptor
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

import netsuite
from netsuite._twisted.reactor import NetsuiteReactor

#: Turns of the reactor a test may wait for something (each blocks at most 10 ms).
TURNS = 500


class Echo(protocol.Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


class Raises(protocol.Protocol):
    lost: list[Failure] = []

    def dataReceived(self, data: bytes) -> None:
        raise ValueError("bad input")

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        Raises.lost.append(reason)


class Gone(FileDescriptor):
    """A reader whose descriptor is gone (C{fileno()} -1), as after a close."""

    lost: list[Failure]

    def fileno(self) -> int:
        return -1

    def doRead(self) -> None:
        raise AssertionError("read after its descriptor went")

    def connectionLost(self, reason: Failure) -> None:
        self.lost.append(reason)


class NetsuiteReactorTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.reactor = NetsuiteReactor()
        self.addCleanup(self._close)

    def _close(self) -> None:
        for reader in list(self.reactor.getReaders()) + list(self.reactor.getWriters()):
            if hasattr(reader, "connectionLost") and not isinstance(reader, Gone):
                reader.connectionLost(Failure(error.ConnectionDone()))
        self.reactor.removeAll()
        self.reactor._poller.close()

    def turn_until(self, done: Any) -> None:
        for _ in range(TURNS):
            if done():
                return
            self.reactor.iterate(0.01)
        self.fail("never happened")

    def listen(self, factory: protocol.Factory) -> socket.socket:
        port = self.reactor.listenTCP(0, factory, interface="127.0.0.1")
        client = socket.create_connection(("127.0.0.1", port.getHost().port), timeout=5)
        self.addCleanup(client.close)
        self.addCleanup(port.stopListening)
        client.setblocking(False)
        return client

    def test_echo(self) -> None:
        client = self.listen(protocol.Factory.forProtocol(Echo))
        client.sendall(b"hello")
        got = bytearray()

        def echoed() -> bool:
            with contextlib.suppress(BlockingIOError):
                got.extend(client.recv(100))
            return bytes(got) == b"hello"

        self.turn_until(echoed)

    def test_error_in_a_read_is_logged_and_drops_the_connection(self) -> None:
        Raises.lost = []
        client = self.listen(protocol.Factory.forProtocol(Raises))
        client.sendall(b"x")
        self.turn_until(lambda: Raises.lost)
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)
        [reason] = Raises.lost
        self.assertTrue(reason.check(ValueError))

    def test_closed_descriptor_disconnected(self) -> None:
        """An event for a selectable whose fileno() is -1: disconnected, never read."""
        gone = Gone(reactor=self.reactor)
        gone.lost = []
        self.reactor._selectables[12345] = gone
        self.reactor._reads.add(12345)
        events = [(12345, 1)]  # EPOLLIN: the read-only path
        poller = self.reactor._poller

        class OnePoll:
            def poll(self, timeout: float, count: int) -> list[tuple[int, int]]:
                return events

            def unregister(self, fd: int) -> None:
                """Never registered with the real poller."""

        self.reactor._poller = OnePoll()  # type: ignore[assignment]
        try:
            self.reactor.doPoll(0)
        finally:
            self.reactor._poller = poller
            self.reactor._selectables.pop(12345, None)
            self.reactor._reads.discard(12345)
        [reason] = gone.lost
        self.assertTrue(reason.check(error.ConnectionFdescWentAway))

    def test_install(self) -> None:
        """C{install} makes it the global reactor, in a fresh process."""
        out = subprocess.run(
            [sys.executable, "-c",
             "from netsuite._twisted.reactor import install; install(); "
             "from twisted.internet import reactor; print(type(reactor).__name__)"],
            capture_output=True, text=True, timeout=60, check=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(
                [str(Path(netsuite.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]
            )},
        ).stdout  # fmt: skip
        self.assertEqual(out.strip(), "NetsuiteReactor")
