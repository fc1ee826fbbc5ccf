"""
End to end: Debian's weechat-headless logs in with SASL PLAIN to an account given on
the real C{twistd netsuite-chat}'s command line (a real Scrypt hash), set up as a person
sets it up (C{sasl_mechanism}, C{sasl_username}, C{sasl_password} in its C{irc.conf});
the account's nick is then its own, and a line-door member is refused it, also once
weechat has gone.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._accounts import hash_password
from netsuite.testing import TwistdProcess, require_tool

from .chatclient import LineClient
from .weechat import Weechat

TCP = "tcp:0:interface=127.0.0.1"


class WeechatSaslTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.executable = require_tool("weechat-headless")
        self.server = TwistdProcess(
            "netsuite-chat",
            [
                "--listen",
                TCP,
                "--irc-listen",
                TCP,
                "--account",
                f"jilles:{hash_password('sesame')}",
            ],
            expect=2,
        ).start()
        self.addCleanup(self.server.stop)

    def address(self, door: str) -> tuple[str, int]:
        return self.server.address(next(k for k in self.server.listeners if door in k))

    def test_sasl_plain(self) -> None:
        root = Path(tempfile.mkdtemp(prefix="netsuite-e2e-"))
        self.addCleanup(shutil.rmtree, root, True)
        options = (
            "ns.sasl_mechanism = plain\n"
            'ns.sasl_username = "jilles"\n'
            'ns.sasl_password = "sesame"\n'
            "ns.sasl_fail = disconnect\n"  # a failed login must not register quietly
        )
        wee = Weechat(
            self.executable, root, self.address("irc"), "jilles", "#lobby",
            "/msg #lobby hello", server_options=options,
        )  # fmt: skip
        self.addCleanup(wee.quit)
        wee.wait_log("server.ns", "You are now logged in as jilles")
        wee.wait_log("server.ns", "SASL authentication successful")
        wee.wait_log("server.ns", "Welcome to the netsuite IRC network jilles!jilles@netsuite")
        bob = LineClient(self.address("line"))
        self.addCleanup(bob.close)
        bob.send("/nick jilles")
        self.assertIn("is taken", bob.expect("!! nick jilles"))
        wee.quit()  # jilles gone: its nick stays its account's
        bob.expect("<- jilles quit")
        bob.send("/nick jilles")
        self.assertIn("reserved by a different account", bob.expect("!! nick jilles"))
