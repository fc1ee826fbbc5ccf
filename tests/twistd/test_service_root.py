"""The top service of a netsuite process: a clean exit however shutdown is signalled."""

import signal

from twisted.internet.testing import MemoryReactor
from twisted.trial.unittest import SynchronousTestCase

from netsuite.twistd._service import ServiceRoot


class ExitTests(SynchronousTestCase):
    def setUp(self) -> None:
        for number in (signal.SIGTERM, signal.SIGINT):
            self.addCleanup(signal.signal, number, signal.getsignal(number))
        self.reactor = MemoryReactor()
        self.root = ServiceRoot("t", self.reactor)

    def test_sigterm_exit_becomes_clean(self) -> None:
        self.reactor._exitSignal = signal.SIGTERM  # type: ignore[attr-defined]
        self.root._exit_cleanly()
        self.assertIsNone(self.reactor._exitSignal)  # type: ignore[attr-defined]

    def test_repeated_sigterm_while_winding_down_is_ignored(self) -> None:
        """
        A supervisor that sends SIGTERM again after shutdown completed must not turn the
        exit into "killed by SIGTERM". Ignored at the OS level, the signal cannot land in
        Twisted's handler nor, during interpreter exit, in the default action.
        """
        self.assertNotEqual(signal.getsignal(signal.SIGTERM), signal.SIG_IGN)
        self.root._exit_cleanly()
        self.assertEqual(signal.getsignal(signal.SIGTERM), signal.SIG_IGN)
        self.assertEqual(signal.getsignal(signal.SIGINT), signal.SIG_IGN)
