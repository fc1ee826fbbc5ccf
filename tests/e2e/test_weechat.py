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

weechat's log files can only be polled (L{Weechat.wait_log}: every L{Weechat.POLL}
seconds, up to a deadline), as irssi's and ii's are (L{tests.e2e.ircclients}).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._irc_caps import CAPABILITIES
from netsuite.testing import TwistdProcess, require_tool

from .chatclient import LineClient
from .ircclients import TIMEOUT

TCP = "tcp:0:interface=127.0.0.1"


class Weechat:
    """
    weechat-headless with its own C{--dir} under C{root}, configured to connect to
    C{address} as C{nick}, then (once registered) join C{room} and run C{command}.
    """

    POLL = 0.02

    def __init__(
        self,
        executable: str,
        root: Path,
        address: tuple[str, int],
        nick: str,
        room: str,
        command: str,
    ) -> None:
        host, port = address
        self.dir = root
        self.logs = root / "logs"
        (root / "irc.conf").write_text(
            "[server]\n"
            f'ns.addresses = "{host}/{port}"\n'
            "ns.ssl = off\n"  # weechat 3.8's name (4.0 calls it tls)
            f'ns.nicks = "{nick}"\n'
            f'ns.username = "{nick}"\n'
            'ns.realname = "Wee Example"\n'
            "ns.autoconnect = on\n"
            "ns.autoreconnect = off\n"
            "ns.anti_flood_prio_high = 0\n"
            "ns.anti_flood_prio_low = 0\n"
            f'ns.command = "/join {room};{command}"\n'  # in order, once registered
        )
        (root / "logger.conf").write_text("[file]\nflush_delay = 0\n")  # write at once
        self.process = subprocess.Popen(
            [executable, "--dir", str(root)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def log(self, buffer: str) -> list[str]:
        """The lines weechat logged for C{buffer} (C{server.ns}, C{ns.#room}), as
        C{prefix<TAB>message} without the date."""
        try:
            data = (self.logs / f"irc.{buffer}.weechatlog").read_text("utf-8", "replace")
        except FileNotFoundError:
            return []
        return [line.split("\t", 1)[1] for line in data.split("\n")[:-1] if "\t" in line]

    def wait_log(self, buffer: str, needle: str, timeout: float = TIMEOUT) -> str:
        """The first line of C{buffer}'s log containing C{needle}, polled to a deadline."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((line for line in self.log(buffer) if needle in line), None)
            if found is not None:
                return found
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(
                    f"weechat: {needle!r} never came in {buffer} "
                    f"(exit status {self.process.poll()})\n" + "\n".join(self.log(buffer)[-20:])
                )
            time.sleep(self.POLL)  # a poll of a file only weechat writes, to a deadline

    def quit(self) -> None:
        """SIGTERM (weechat quits cleanly on it), then wait; SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class WeechatTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.executable = require_tool("weechat-headless")
        process = TwistdProcess(
            "netsuite-chat",
            ["--listen", TCP, "--irc-listen", TCP, "--flood-rate", "1000",
             "--flood-burst", "1000"],
            expect=2,
        )  # fmt: skip
        self.server = process.start()
        self.addCleanup(self.stop_server)

    def stop_server(self) -> None:
        self.assertEqual(self.server.stop(), 0, self.server.log())

    def address(self, door: str) -> tuple[str, int]:
        return self.server.address(next(k for k in self.server.listeners if door in k))

    def tempdir(self) -> Path:
        path = Path(tempfile.mkdtemp(prefix="netsuite-e2e-"))
        self.addCleanup(shutil.rmtree, path, True)
        return path

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
        self.assertEqual(offered, set(CAPABILITIES))
        self.assertEqual(granted, asked)  # every one it asked for (its choice, not ours)
        self.assertLessEqual({"server-time", "message-tags", "extended-join"}, granted)
        server_log = wee.log("server.ns")
        self.assertIn("There are 2 users and 0 invisible on 1 servers", "\n".join(server_log))

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
        self.assertEqual(said, "bob\thello from the line door")

        # weechat leaves cleanly on SIGTERM: it sends QUIT, the line door sees it go
        wee.quit()
        self.assertEqual(wee.process.returncode, 0)
        self.assertTrue(bob.expect("<- wee quit").startswith("<- wee quit"), bob.lines[-1])
