"""
End to end: a room's operator in Debian's irssi, against the real
`twistd -n netsuite-chat` on 127.0.0.1, as a person would use it (typed into a tmux pane),
while other members (a raw IRC socket, the line door) see what it does.

irssi joins #ops first, so it is the room's operator; it must report the join synced
within 2 s (every query it waits for answered: MODE #ops, WHO #ops, MODE #ops b; its own
client-side pacing off, as in test_chat_irc_sync.py). It then moderates the room (+m),
sets a key (+k), kicks a member and bans it; the others see each change as it happens
and are refused what the modes refuse (404, 475, 474). Before that, irssi shows a line
said on the line door, and a member's away message (on its /msg and in its /whois).
Commands name the room (C{/mode #ops ...}, C{/kick #ops ...}): irssi's active window
after an autojoin is not always the room's.
"""

from __future__ import annotations

import re
import time
from typing import Any

from twisted.internet import defer

from netsuite.testing import require_tool

from .chatclient import LineClient
from .chatserver import ChatServerCase
from .ircclients import IrssiClient, RawIRC, blocking


class IrssiOperatorTests(ChatServerCase):
    def setUp(self) -> Any:
        self.irssi = require_tool("irssi")
        self.tmux = require_tool("tmux")
        return super().setUp()

    def raw(self, nick: str, *lines: str) -> RawIRC:
        client = RawIRC(self.address("irc"))
        self.addCleanup(client.close)
        client.register(nick, *lines)
        client.expect(f" 376 {nick} ")
        return client

    @defer.inlineCallbacks
    def test_operator_moderates_keys_and_kicks(self) -> Any:
        ivy = IrssiClient(
            self.irssi, self.tmux, self.tempdir(), self.address("irc"), "ivy",
            autojoin="#ops", settings={"irc/core": {"cmd_queue_speed": "0"}},
        )  # fmt: skip
        self.addCleanup(blocking, ivy.quit)

        # Synced within 2 s, and ivy, the first in, is the operator.
        line = yield blocking(ivy.wait_log, "#ops", "was synced in")
        match = re.search(r"Join to #ops was synced in (\d+) secs", line)
        assert match is not None, line
        self.assertLessEqual(int(match.group(1)), 2, line)
        yield blocking(ivy.wait_log, "#ops", "@ivy")  # irssi's names list shows the @

        def members() -> tuple[RawIRC, RawIRC, LineClient]:
            rosa = self.raw("rosa", "JOIN #ops")
            rosa.expect(" 366 rosa #ops ")
            vic = self.raw("vic", "JOIN #ops")
            vic.expect(" 366 vic #ops ")
            lina = LineClient(self.address("line"))
            self.addCleanup(lina.sock.close)
            lina.send("/nick lina")
            lina.send("/join #ops")
            lina.expect("[#ops] -> lina joined")
            return rosa, vic, lina

        rosa, vic, lina = yield blocking(members)
        yield blocking(ivy.wait_log, "#ops", "lina")

        # A line said on the line door shows in irssi's room window.
        yield blocking(lina.send, "hello from the line door")
        said = yield blocking(ivy.wait_log, "#ops", "hello from the line door")
        self.assertIn("lina", said)

        # Away notices: rosa is away; irssi's WHOIS and its message to her say so.
        yield blocking(rosa.send, "AWAY :at lunch")
        yield blocking(rosa.expect, " 306 rosa ")
        yield blocking(ivy.type, "/msg rosa are you there?")
        yield blocking(ivy.wait_log, "rosa", "at lunch")
        yield blocking(ivy.type, "/whois rosa")
        channels = yield blocking(ivy.wait_log, "rosa", "channels")
        self.assertIn("#ops", channels)  # WHOIS's 319, as irssi shows it
        yield blocking(ivy.wait_log, "rosa", "End of WHOIS")

        # +m: told to everyone; vic may no longer speak; ivy still may.
        yield blocking(ivy.type, "/mode #ops +m")
        said = yield blocking(rosa.expect, " MODE #ops +m")
        self.assertEqual(said, ":ivy!ivy@netsuite MODE #ops +m")
        yield blocking(lina.expect, "[#ops] -- ivy sets mode +m")
        yield blocking(ivy.wait_log, "#ops", "mode/#ops [+m] by ivy")
        yield blocking(vic.send, "PRIVMSG #ops :may I?")
        refused = yield blocking(vic.expect, " 404 vic #ops ")
        self.assertEqual(refused, ":netsuite 404 vic #ops :Cannot send to channel (+m)")
        yield blocking(ivy.type, "/msg #ops the op speaks")
        yield blocking(rosa.expect, ":ivy!ivy@netsuite PRIVMSG #ops :the op speaks")

        # +k: a newcomer without the key is refused (475), with it joins.
        yield blocking(ivy.type, "/mode #ops +k sekrit")
        yield blocking(rosa.expect, ":ivy!ivy@netsuite MODE #ops +k sekrit")

        def newcomer() -> tuple[str, str]:
            nell = self.raw("nell", "JOIN #ops")
            refused = nell.expect(" 475 nell ")
            nell.send("JOIN #ops sekrit")
            return refused, nell.expect(" JOIN #ops")

        refused, joined = yield blocking(newcomer)
        self.assertEqual(refused, ":netsuite 475 nell #ops :Cannot join channel (+k)")
        self.assertEqual(joined, ":nell!nell@netsuite JOIN #ops")

        # KICK with a reason: the room and the kicked see it; irssi shows it too.
        start = time.monotonic()
        yield blocking(ivy.type, "/kick #ops vic out you go")
        kicked = yield blocking(rosa.expect, " KICK #ops vic ")
        self.assertEqual(kicked, ":ivy!ivy@netsuite KICK #ops vic :out you go")
        yield blocking(vic.expect, ":ivy!ivy@netsuite KICK #ops vic :out you go")
        yield blocking(lina.expect, "[#ops] <- vic was kicked by ivy (out you go)")
        yield blocking(ivy.wait_log, "#ops", "vic was kicked from #ops by ivy")
        self.assertLess(time.monotonic() - start, 10)

        # A ban (the mask completed), shown in irssi's window too; vic cannot come back.
        yield blocking(ivy.type, "/mode #ops +b vic")
        banned = yield blocking(rosa.expect, " MODE #ops +b ")
        self.assertEqual(banned, ":ivy!ivy@netsuite MODE #ops +b vic!*@*")
        yield blocking(ivy.wait_log, "#ops", "mode/#ops [+b vic!*@*] by ivy")
        yield blocking(vic.send, "JOIN #ops sekrit")
        refused = yield blocking(vic.expect, " 474 vic ")
        self.assertEqual(refused, ":netsuite 474 vic #ops :Cannot join channel (+b)")
