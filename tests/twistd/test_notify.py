"""
sd_notify: one datagram to the socket NOTIFY_SOCKET names, read back here from a real
AF_UNIX datagram socket in a temporary directory (or the abstract namespace).
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile

from twisted.internet.testing import MemoryReactor
from twisted.trial.unittest import SynchronousTestCase

from netsuite.twistd._notify import notify, notify_address
from netsuite.twistd._service import ServiceRoot


class Receiver:
    """A systemd stand-in: a bound AF_UNIX datagram socket, read without blocking."""

    def __init__(self, test: SynchronousTestCase, abstract: bool = False) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        test.addCleanup(self.sock.close)
        if abstract:
            name = f"netsuite-test-notify-{os.getpid()}-{id(self)}"
            self.sock.bind("\0" + name)
            self.env = {"NOTIFY_SOCKET": "@" + name}
        else:
            # A short directory: unix socket paths are limited to 107 bytes.
            directory = tempfile.mkdtemp(prefix="ns-notify-")
            test.addCleanup(shutil.rmtree, directory)
            path = os.path.join(directory, "notify")
            self.sock.bind(path)
            self.env = {"NOTIFY_SOCKET": path}
        self.sock.setblocking(False)

    def messages(self) -> list[str]:
        out = []
        while True:
            try:
                out.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return out


class NotifyTests(SynchronousTestCase):
    def test_path(self) -> None:
        receiver = Receiver(self)
        self.assertTrue(notify("READY=1", receiver.env))
        self.assertEqual(receiver.messages(), ["READY=1"])

    def test_abstract_namespace(self) -> None:
        receiver = Receiver(self, abstract=True)
        self.assertTrue(notify("READY=1\nSTATUS=up", receiver.env))
        self.assertEqual(receiver.messages(), ["READY=1\nSTATUS=up"])

    def test_unset_sends_nothing(self) -> None:
        self.assertIsNone(notify_address({}))
        self.assertIsNone(notify_address({"NOTIFY_SOCKET": "vsock:2:1234"}))
        self.assertFalse(notify("READY=1", {}))

    def test_nobody_listening_is_not_an_error(self) -> None:
        directory = tempfile.mkdtemp(prefix="ns-notify-")
        self.addCleanup(shutil.rmtree, directory)
        self.assertFalse(notify("READY=1", {"NOTIFY_SOCKET": os.path.join(directory, "gone")}))


class ServiceRootTests(SynchronousTestCase):
    def test_ready_when_running_stopping_at_shutdown(self) -> None:
        receiver = Receiver(self)
        reactor = MemoryReactor()
        root = ServiceRoot("t", reactor)
        root.environ = receiver.env
        root.startService()
        self.assertEqual(receiver.messages(), [])  # not before the reactor runs
        for f, args, kwargs in reactor.whenRunningHooks:
            f(*args, **kwargs)
        self.assertEqual(receiver.messages(), ["READY=1\nSTATUS=t: 0 listener(s) ready"])
        before = reactor.triggers["before"]["shutdown"]
        for f, args, kwargs in before:
            f(*args, **kwargs)
        self.assertEqual(receiver.messages(), ["STOPPING=1\nSTATUS=t: shutting down"])

    def test_part_of_a_suite_says_nothing(self) -> None:
        receiver = Receiver(self)
        reactor = MemoryReactor()
        top = ServiceRoot("suite", reactor)
        part = ServiceRoot("echo", reactor)
        part.environ = receiver.env
        part.setServiceParent(top)
        part.startService()
        self.assertEqual(reactor.whenRunningHooks, [])
        self.assertEqual(receiver.messages(), [])
