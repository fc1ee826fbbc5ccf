"""
The TCP listen backlog: netsuite's 511 (nginx's), not Twisted's 50, on every C{tcp:},
C{tcp6:} and C{nstls:} listener; C{--backlog} changes it, a description's own
C{backlog=} wins. Checked where it matters: the backlog the reactor's C{listenTCP} gets.
"""

from __future__ import annotations

from pathlib import Path

from twisted.internet.testing import MemoryReactorClock
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat import tap as chat_tap
from netsuite.testing import TLSFiles
from netsuite.twistd._endpoints import (
    LISTEN_BACKLOG,
    DescriptionError,
    stream_from_string,
    with_backlog,
)


def listened_backlogs(arguments: list[str]) -> list[int]:
    """Parse chat options on a memory reactor, listen on every door: each backlog asked."""
    options = chat_tap.Options()
    reactor = MemoryReactorClock()
    options.reactor = reactor
    options.parseOptions(arguments)
    for name in ("endpoints", "endpoints:irc-listen"):
        for _, endpoint, _ in options[name]:
            endpoint.listen(object())
    return [backlog for _, _, backlog, _ in reactor.tcpServers]


class BacklogDefaultTests(SynchronousTestCase):
    def test_default_is_511(self) -> None:
        self.assertEqual(LISTEN_BACKLOG, 511)

    def test_chat_doors_listen_with_511(self) -> None:
        """Both default doors (line and IRC) ask listenTCP for 511, not Twisted's 50."""
        self.assertEqual(listened_backlogs([]), [511, 511])

    def test_option_sets_every_tcp_listener(self) -> None:
        arguments = ["--backlog", "1024", "--listen", "tcp6:7777:interface=\\:\\:1"]
        self.assertEqual(listened_backlogs(arguments), [1024, 1024])

    def test_description_backlog_wins(self) -> None:
        arguments = ["--backlog", "1024", "--listen", "tcp:7777:backlog=7"]
        self.assertEqual(listened_backlogs(arguments), [7, 1024])

    def test_backlog_bound(self) -> None:
        """1 is accepted, 0 refused (n accepted, n-1 refused)."""
        self.assertEqual(listened_backlogs(["--backlog", "1", "--irc-listen", "none"]), [1])
        with self.assertRaises(usage.UsageError) as e:
            listened_backlogs(["--backlog", "0"])
        self.assertIn("--backlog must be 1 or more", str(e.exception))

    def test_nstls_default_and_own(self) -> None:
        files = TLSFiles(Path(self.mktemp()))
        reactor = MemoryReactorClock()
        stream_from_string(reactor, files.nstls(7443)).listen(object())
        stream_from_string(reactor, files.nstls(7444), backlog=64).listen(object())
        stream_from_string(reactor, files.nstls(7445) + ":backlog=9", backlog=64).listen(object())
        self.assertEqual([b for _, _, b, _ in reactor.tcpServers], [511, 64, 9])

    def test_nstls_bad_backlog(self) -> None:
        files = TLSFiles(Path(self.mktemp()))
        for value in ("x", "0"):
            with self.assertRaises(DescriptionError):
                stream_from_string(MemoryReactorClock(), files.nstls(7443) + f":backlog={value}")


class WithBacklogTests(SynchronousTestCase):
    def test_only_tcp_without_own(self) -> None:
        self.assertEqual(with_backlog("tcp:80"), "tcp:80:backlog=511")
        self.assertEqual(with_backlog("tcp6:80", 9), "tcp6:80:backlog=9")
        self.assertEqual(with_backlog("tcp:80:backlog=3"), "tcp:80:backlog=3")
        for other in ("unix:/tmp/s", "udp:80", "systemd:domain=INET:index=0"):
            self.assertEqual(with_backlog(other), other)

    def test_errors_quote_the_description_as_written(self) -> None:
        with self.assertRaises(DescriptionError) as e:
            stream_from_string(MemoryReactorClock(), "tcp:notaport", backlog=511)
        self.assertIn("'tcp:notaport'", str(e.exception))
        self.assertNotIn("backlog", str(e.exception))
