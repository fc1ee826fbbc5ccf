"""
End to end: Debian's weechat-headless as an ordinary member of a room run by an operator
(a raw IRC client), against the real `twistd -n netsuite-chat` on 127.0.0.1: what weechat
shows of the room's modes, as a person would see them.

weechat's commands are fixed before it starts (its server's C{command} option, run in
order once registered; L{tests.e2e.weechat}): a JOIN into the full room (refused: 471,
the limit checked before the key, as Ergo does), then, after C{/wait} (weechat's own
timer: the operator lifts the limit as soon as the test has read the 471 in weechat's
log), a JOIN with a wrong key (refused: 475), the JOIN that gets in, a TOPIC under +t
(refused: 482) and an AWAY. Then the test checks, in weechat's logs: the refusals'
texts; the topic and who set it; the operator (weechat's count of ops, and the C{@}
before its lines); a line said on the line door; the operator's ban; and its KICK. The
operator's client sees weechat's away message (WHOIS 301, and 301 on a private message).
"""

from __future__ import annotations

from .chatclient import LineClient
from .ircclients import RawIRC
from .weechat import Weechat, WeechatServerCase


class WeechatModesTests(WeechatServerCase):
    def test_member_of_a_moderated_room(self) -> None:
        opal = RawIRC(self.address("irc"))
        self.addCleanup(opal.close)
        opal.register("opal", "JOIN #ops")
        opal.expect(" 366 opal #ops ")
        opal.send("TOPIC #ops :locked topic")
        opal.expect(" TOPIC #ops :locked topic")
        opal.send("MODE #ops +kl sekrit 1")
        opal.expect(" MODE #ops +kl sekrit 1")

        wee = Weechat(
            self.executable, self.tempdir(), self.address("irc"), "wee", "#ops",
            "/wait 3 /join #ops wrong;/wait 4 /join #ops sekrit;/wait 5 /topic #ops mine;"
            "/wait 5 /away gone fishing",
            buffers=("server.ns", "ns.#ops"),
        )  # fmt: skip
        self.addCleanup(wee.quit)

        # The refusals, in weechat's words; then the operator lifts the limit.
        wee.wait_log("server.ns", "#ops: Cannot join channel (+l)")  # the limit is checked first
        opal.send("MODE #ops -l")
        opal.expect(" MODE #ops -l")
        wee.wait_log("server.ns", "#ops: Cannot join channel (+k)")  # the wrong key

        # In: the topic and who set it, the names with the operator's @.
        wee.wait_log("ns.#ops", "has joined #ops")
        self.assertIn("locked topic", wee.wait_log("ns.#ops", "Topic for #ops is"))
        self.assertIn("opal", wee.wait_log("ns.#ops", "Topic set by"))
        wee.wait_log("ns.#ops", "Channel #ops: 2 nicks (1 op, 0 voices, 1 normal)")
        opal.send("PRIVMSG #ops :welcome")
        self.assertEqual(wee.wait_log("ns.#ops", "welcome"), "@opal\twelcome")  # the prefix
        wee.wait_log("ns.#ops", "You're not channel operator")  # its TOPIC under +t
        wee.wait_log("server.ns", "You have been marked as being away")

        # Away, seen from the operator's client.
        opal.send("WHOIS wee")
        self.assertEqual(opal.expect(" 301 opal wee "), ":netsuite 301 opal wee :gone fishing")
        opal.send("PRIVMSG wee :are you there?")
        opal.expect(" 301 opal wee :gone fishing")

        # A line from the line door reaches weechat.
        lina = LineClient(self.address("line"))
        self.addCleanup(lina.sock.close)
        lina.send("/nick lina")
        lina.send("/join #ops sekrit")
        lina.expect("[#ops] -> lina joined")
        lina.send("hello from the line door")  # to the room it joined last
        self.assertEqual(wee.wait_log("ns.#ops", "hello from the line door"),
                         "lina\thello from the line door")  # fmt: skip

        # The ban and the kick, as weechat shows them.
        opal.send("MODE #ops +b wee")
        self.assertIn("[+b wee!*@*] by opal", wee.wait_log("ns.#ops", "+b wee!*@*"))
        opal.send("KICK #ops wee :bye now")
        kicked = wee.wait_log("ns.#ops", "has kicked wee")
        self.assertIn("bye now", kicked)
