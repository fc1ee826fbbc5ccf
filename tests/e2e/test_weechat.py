"""
End to end: Debian's weechat-headless against the real `twistd -n netsuite-chat`, on
127.0.0.1, set up as a person sets up weechat: a server in its C{irc.conf} (address,
nick, realname, a room to join, a line to say once connected), started, and read from the
log files weechat writes for each buffer.

Debian's weechat-headless package has no fifo plugin (that is in weechat-plugins, which
CI does not install), so what weechat does is decided before it starts: its server's
C{command} option (commands run in order once registered: a JOIN, then a PRIVMSG). Its
own flood protection is turned off (C{anti_flood_prio_high}/C{_low} 0, as a person on a
local server would; weechat otherwise spaces its queued lines 2 s apart, the MODE it
sends on joining included), so the join's timing is the server's.

What is checked: registration; the capabilities weechat asks for are all granted (its
server buffer says which it was offered, asked and got), extended-join shown on its own
join (the realname in weechat's join line), the join synced (names and the room's
creation time, the answer to its MODE, within 1 s), a message weechat sends reaching the
line door, and a message from the line door arriving in weechat.

weechat's log files are FIFOs the test reads as weechat writes them (L{Weechat.wait_log}
waits on a C{select}, to a deadline; L{tests.e2e.weechat} says how).
"""

from __future__ import annotations

import time

from netsuite.chat._irc_caps import CAPABILITIES

from .chatclient import LineClient
from .weechat import Weechat, WeechatServerCase


class WeechatTests(WeechatServerCase):
    def test_weechat(self) -> None:
        bob = LineClient(self.address("line"))  # in #lobby from the start
        self.addCleanup(bob.close)
        bob.send("/nick bob")
        bob.expect("is now known as bob")
        wee = Weechat(
            self.executable, self.tempdir(), self.address("irc"), "wee", "#lobby",
            "/msg #lobby hello from weechat",
        )  # fmt: skip
        self.addCleanup(wee.quit)

        # registration, and the capabilities: offered, asked, granted
        wee.wait_log("server.ns", "Welcome to the netsuite IRC network wee!wee@netsuite")
        offered, asked, granted = (
            set(wee.wait_log("server.ns", needle).partition(needle)[2].split())
            for needle in (
                "client capability, server supports: ",
                "client capability, requesting: ",
                "client capability, enabled: ",
            )
        )
        self.assertEqual(offered, {f"{k}={v}" if v else k for k, v in CAPABILITIES.items()})
        self.assertEqual(granted, asked)  # every one it asked for (its choice, not ours)
        self.assertLessEqual({"server-time", "message-tags", "extended-join"}, granted)
        wee.wait_log("server.ns", "There are 2 users and 0 invisible on 1 servers")

        # the join, synced: names and the answer to weechat's MODE, within 1 s
        joined = wee.wait_log("ns.#lobby", "has joined #lobby")
        start = time.monotonic()
        self.assertIn("wee (Wee Example) (wee@netsuite) has joined #lobby", joined)
        wee.wait_log("ns.#lobby", "Channel #lobby: 2 nicks")
        wee.wait_log("ns.#lobby", "Channel created on ")
        self.assertLess(time.monotonic() - start, 1.0)

        # weechat's line reaches the line door; the line door's reaches weechat
        self.assertIn("hello from weechat", bob.expect("hello from weechat"))
        self.assertTrue(bob.lines[-1].endswith("<wee> hello from weechat"), bob.lines[-1])
        bob.send("hello from the line door")
        said = wee.wait_log("ns.#lobby", "hello from the line door")
        self.assertEqual(said, "@bob\thello from the line door")  # bob came first: operator

        # weechat leaves cleanly on SIGTERM: it sends QUIT, the line door sees it go
        wee.quit()
        self.assertEqual(wee.process.returncode, 0)
        self.assertTrue(bob.expect("<- wee quit").startswith("<- wee quit"), bob.lines[-1])
