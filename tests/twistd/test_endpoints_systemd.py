"""
systemd socket activation: which inherited socket a C{systemd:} description names, and
what the error says when it names none.

The environment is a plain mapping and the socket kinds a table, so nothing here needs
real inherited descriptors; the adopting endpoints run on real sockets, on a
L{MemoryReactorClock} stand-in that records what it was asked to adopt.
"""

from __future__ import annotations

import fcntl
import os
import socket
from typing import Any

from twisted.internet.endpoints import AdoptedStreamServerEndpoint
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from netsuite.twistd._endpoints import (
    AdoptedDatagramEndpoint,
    DescriptionError,
    InheritedSockets,
    SocketKind,
    is_datagram,
    parse_systemd_datagram,
    parse_systemd_stream,
    socket_kind,
    startup_environment,
    stream_from_string,
)

PID = 4242
TCP4 = (socket.AF_INET, socket.SOCK_STREAM)
UDP4 = (socket.AF_INET, socket.SOCK_DGRAM)
TCP6 = (socket.AF_INET6, socket.SOCK_STREAM)


def inherited(kinds: list[SocketKind], names: str | None = None) -> InheritedSockets:
    """What C{systemd-socket-activate} would hand over: C{kinds} as fds 3, 4, ..."""
    environ = {"LISTEN_PID": str(PID), "LISTEN_FDS": str(len(kinds))}
    if names is not None:
        environ["LISTEN_FDNAMES"] = names
    table = dict(enumerate(kinds, start=3))
    return InheritedSockets.from_environ(environ, PID, inspect=table.get)


class EnvironmentTests(SynchronousTestCase):
    def test_unnamed_sockets_are_kept(self) -> None:
        """No LISTEN_FDNAMES (the tool without --fdname): Twisted keeps none, we keep them."""
        fds = inherited([TCP4, UDP4])
        self.assertEqual((fds.fds, fds.names), ((3, 4), ()))
        self.assertEqual(fds.select("INET", "stream", "0", None), 3)
        self.assertEqual(fds.select("INET", "dgram", "1", None), 4)

    def test_named(self) -> None:
        fds = inherited([TCP4, UDP4], "web:probe")
        self.assertEqual(fds.names, ("web", "probe"))
        self.assertEqual(fds.select("INET", "dgram", None, "probe"), 4)
        self.assertEqual(fds.select("INET", "stream", None, "web"), 3)

    def test_one_name_for_a_stream_and_a_datagram_socket(self) -> None:
        """One .socket unit names all its sockets alike: the type tells them apart."""
        fds = inherited([UDP4, TCP4], "echo:echo")
        self.assertEqual(fds.select("INET", "stream", None, "echo"), 4)
        self.assertEqual(fds.select("INET", "dgram", None, "echo"), 3)

    def test_not_for_this_process(self) -> None:
        fds = InheritedSockets.from_environ({"LISTEN_PID": "1", "LISTEN_FDS": "1"}, PID)
        self.assertEqual(fds.fds, ())
        self.assertIn("LISTEN_PID=1, not this process (4242)", fds.describe())
        self.assertIn("LISTEN_FDS is not set", InheritedSockets.from_environ({}, PID).describe())

    def test_names_that_do_not_match_the_count_are_ignored(self) -> None:
        fds = inherited([TCP4, UDP4], "web")
        self.assertEqual((fds.fds, fds.names), ((3, 4), ()))
        self.assertIn("names 1, not 2: names ignored", fds.describe())

    def test_startup_environment_survives_twisted(self) -> None:
        """
        Twisted deletes LISTEN_FDS from os.environ as twisted.internet.endpoints is
        imported; the values come back from the environment the process started with.
        """
        environ = startup_environment()
        self.assertEqual(set(environ) - {"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"}, set())
        self.patch(os, "environ", {"LISTEN_FDS": "2", "LISTEN_PID": "7", "PATH": "/bin"})
        self.assertEqual(startup_environment(), {"LISTEN_FDS": "2", "LISTEN_PID": "7"})


class ErrorTests(SynchronousTestCase):
    """Each error says what was asked and exactly what was inherited."""

    def assert_error(self, fds: InheritedSockets, args: tuple[Any, ...], *parts: str) -> None:
        with self.assertRaises(DescriptionError) as e:
            fds.select(*args)
        for part in parts:
            self.assertIn(part, str(e.exception))

    def test_index_past_the_end(self) -> None:
        self.assert_error(
            inherited([TCP4]),
            ("INET", "stream", "1", None),
            "systemd:domain=INET:index=1:type=stream asked for",
            "1 socket(s) were inherited: fd 3, unnamed (LISTEN_FDNAMES is not set)",
        )
        self.assert_error(
            InheritedSockets.from_environ({}, PID),
            ("INET", "dgram", "0", None),
            "index=0:type=dgram asked for, but 0 sockets were inherited (LISTEN_FDS is not set)",
        )

    def test_unknown_name(self) -> None:
        self.assert_error(
            inherited([TCP4, UDP4], "web:probe"),
            ("INET", "stream", None, "nope"),
            "name=nope:type=stream asked for",
            "2 socket(s) were inherited: fd 3 named 'web', fd 4 named 'probe'",
        )
        self.assert_error(
            inherited([TCP4]),
            ("INET", "stream", None, "web"),
            "unnamed (LISTEN_FDNAMES is not set); name sockets with FileDescriptorName=",
        )

    def test_wrong_kind(self) -> None:
        self.assert_error(
            inherited([UDP4]),
            ("INET", "stream", "0", None),
            "asks for a stream socket of domain=INET, but fd 3 is a dgram socket of "
            "domain=INET; say type=dgram",
        )
        self.assert_error(inherited([TCP6]), ("INET", "stream", "0", None), "; say domain=INET6")
        self.assert_error(
            inherited([TCP4], "web"),
            ("INET", "dgram", None, "web"),
            "asks for a dgram socket of domain=INET, but fd 3 is a stream socket",
        )
        self.assert_error(inherited([None]), ("INET", "stream", "0", None), "not an open socket")

    def test_ambiguous_name(self) -> None:
        self.assert_error(
            inherited([TCP4, TCP4], "chat:chat"),
            ("INET", "stream", None, "chat"),
            "2 sockets named 'chat' are a stream socket",
            "pick one with index=N",
        )

    def test_index_and_name_exactly_one(self) -> None:
        fds = inherited([TCP4], "web")
        self.assert_error(fds, ("INET", "stream", None, None), "give exactly one of index=N")
        self.assert_error(fds, ("INET", "stream", "0", "web"), "give exactly one of index=N")

    def test_bad_domain_or_type(self) -> None:
        fds = inherited([TCP4])
        self.assert_error(fds, ("IPX", "stream", "0", None), "domain='IPX'; expected INET")
        self.assert_error(fds, ("INET", "seqpacket", "0", None), "expected stream or dgram")


class ParserTests(SynchronousTestCase):
    def test_datagram(self) -> None:
        reactor = MemoryReactorClock()
        fds = inherited([TCP4, UDP4, (socket.AF_INET6, socket.SOCK_DGRAM)], "web:probe:six")
        self.assertEqual(
            parse_systemd_datagram(reactor, index="1", sockets=fds),
            AdoptedDatagramEndpoint(reactor, 4, socket.AF_INET),
        )
        by_name = parse_systemd_datagram(reactor, "INET6", name="six", sockets=fds)
        self.assertEqual((by_name.fileno, by_name.family), (5, socket.AF_INET6))
        for kwargs, message in (
            ({"domain": "UNIX", "index": "0"}, "expected INET or INET6"),
            ({"type": "stream", "index": "0"}, "needs type=dgram"),
        ):
            with self.assertRaises(DescriptionError) as e:
                parse_systemd_datagram(reactor, sockets=fds, **kwargs)
            self.assertIn(message, str(e.exception))

    def test_stream(self) -> None:
        reactor = MemoryReactorClock()
        endpoint = parse_systemd_stream(reactor, "INET", index="0", sockets=inherited([TCP4]))
        self.assertIsInstance(endpoint, AdoptedStreamServerEndpoint)
        self.assertEqual(endpoint.fileno, 3)

    def test_stream_description_is_ours(self) -> None:
        """stream_from_string parses systemd: itself, and quotes it in every error."""
        self.assertFalse(is_datagram("systemd:domain=INET:name=web"))
        self.assertFalse(is_datagram("systemd:domain=INET:name=web:type=stream"))
        with self.assertRaises(DescriptionError) as e:
            stream_from_string(MemoryReactorClock(), "systemd:domain=INET:index=0")
        self.assertIn("index=0:type=stream asked for, but", str(e.exception))
        with self.assertRaises(DescriptionError) as e:
            stream_from_string(MemoryReactorClock(), "systemd:domain=INET:index=0:colour=red")
        self.assertIn("'systemd:domain=INET:index=0:colour=red'", str(e.exception))


class AdoptTests(SynchronousTestCase):
    def test_socket_kind(self) -> None:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            self.assertEqual(socket_kind(s.fileno()), (socket.AF_INET6, socket.SOCK_DGRAM))
            s.fileno()  # still open: inspecting does not own it
        read, write = os.pipe()
        self.addCleanup(os.close, write)
        self.assertIsNone(socket_kind(read))
        os.close(read)
        self.assertIsNone(socket_kind(read))

    def test_datagram_socket_made_non_blocking_then_closed(self) -> None:
        """
        systemd hands over blocking sockets: adopted as they come, the port's read loop
        blocks in recvfrom and the reactor never sees SIGTERM again.
        """
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        fd = sock.detach()
        seen: list[bool] = []

        class Reactor:
            def adoptDatagramPort(self, fileno: int, family: int, protocol: object,
                                  maxPacketSize: int) -> str:  # fmt: skip
                seen.append(bool(fcntl.fcntl(fileno, fcntl.F_GETFL) & os.O_NONBLOCK))
                return "port"

        endpoint = AdoptedDatagramEndpoint(Reactor(), fd, socket.AF_INET)
        self.assertEqual(self.successResultOf(endpoint.listen(object())), "port")  # type: ignore[arg-type]
        self.assertEqual(seen, [True])
        self.assertIsNone(socket_kind(fd))  # closed: the port holds its own copy
