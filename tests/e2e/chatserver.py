"""
A trial test case with a real C{twistd -n netsuite-chat} for end-to-end tests of IRC
clients: both doors on free loopback ports, the flood limits out of the way (the clients
under test, not the pacing, are what is measured), stopped after the test with exit 0.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from twisted.internet import defer
from twisted.trial.unittest import TestCase

from netsuite.testing import TwistdProcess

from .ircclients import blocking

__all__ = ["CHAT_ARGS", "ChatServerCase"]

TCP = "tcp:0:interface=127.0.0.1"
#: Both doors on free ports; 1000 lines a second before any pacing.
CHAT_ARGS = ["--listen", TCP, "--irc-listen", TCP, "--flood-rate", "1000",
             "--flood-burst", "1000"]  # fmt: skip


class ChatServerCase(TestCase):
    server: TwistdProcess

    @defer.inlineCallbacks
    def setUp(self) -> Any:
        process = TwistdProcess("netsuite-chat", CHAT_ARGS, expect=2)
        self.server = yield blocking(process.start)
        self.addCleanup(self.stop_server)

    @defer.inlineCallbacks
    def stop_server(self) -> Any:
        code = yield blocking(self.server.stop)
        self.assertEqual(code, 0, self.server.log())

    def address(self, door: str) -> tuple[str, int]:
        """The address of the C{"irc"} or the C{"line"} door."""
        keys = [k for k in self.server.listeners if ("irc" in k) == (door == "irc")]
        return self.server.address(keys[0])

    @property
    def irc_address(self) -> tuple[str, int]:
        return self.address("irc")

    def tempdir(self) -> Path:
        path = Path(tempfile.mkdtemp(prefix="netsuite-e2e-"))
        self.addCleanup(shutil.rmtree, path, True)
        return path
