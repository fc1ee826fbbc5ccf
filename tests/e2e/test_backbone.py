"""
End to end: three real `twistd -n netsuite-chat` processes on one real `redis-server`
(Debian's, on a free loopback port, persistence off), line and IRC members on each.
"""

from __future__ import annotations

import os
import signal
import socket
import time

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TwistdProcess
from netsuite.testing.redisserver import RedisServer

from .chatclient import LineClient

LOCAL = "tcp:0:interface=127.0.0.1"


class IRCLine:
    """A raw IRC client (what a person's client sends): registers, answers PING."""

    def __init__(self, address: tuple[str, int], nick: str, timeout: float = 15.0) -> None:
        self.sock = socket.create_connection(address, timeout=timeout)
        self.timeout = timeout
        self.buffer = b""
        self.lines: list[str] = []
        self.nick = nick
        self.send(f"NICK {nick}")
        self.send(f"USER {nick} 0 * :{nick} tester")
        self.expect(" 001 ")

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode() + b"\r\n")

    def expect(self, needle: str) -> str:
        deadline = time.monotonic() + self.timeout
        while True:
            while b"\n" not in self.buffer:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{needle!r} never came:\n" + "\n".join(self.lines[-10:]))
                self.sock.settimeout(left)
                try:
                    chunk = self.sock.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:
                    raise ConnectionError("closed:\n" + "\n".join(self.lines[-5:]))
                self.buffer += chunk
            raw, _, self.buffer = self.buffer.partition(b"\n")
            line = raw.decode().rstrip("\r")
            self.lines.append(line)
            if line.startswith("PING"):
                self.send("PONG" + line[4:])
            if needle in line:
                return line

    def close(self) -> None:
        self.sock.close()


class BackboneProcessTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.stop)
        self.servers = [self.server() for _ in range(3)]

    def server(self, lease: str = "30") -> TwistdProcess:
        server = TwistdProcess(
            "netsuite-chat",
            ["--listen", LOCAL, "--irc-listen", LOCAL, "--backbone", self.redis.url,
             "--backbone-lease", lease, "--flood-rate", "1000", "--flood-burst", "1000"],
            expect=2,
        ).start()  # fmt: skip
        server.wait_for_line("joined the shared hub")
        self.addCleanup(self._stop, server)
        return server

    def _stop(self, server: TwistdProcess) -> None:
        if server.process is not None and server.process.poll() is None:
            self.assertEqual(server.stop(), 0, server.log())

    def line(self, server: TwistdProcess, nick: str) -> LineClient:
        c = LineClient(server.address("chat/line"))
        self.addCleanup(c.close)
        c.send(f"/nick {nick}")
        c.expect(f"is now known as {nick}")
        return c

    def irc(self, server: TwistdProcess, nick: str) -> IRCLine:
        c = IRCLine(server.address("chat/irc"), nick)
        self.addCleanup(c.close)
        c.send("JOIN #lobby")
        c.expect(" 366 ")
        return c

    def members(self) -> tuple[list[LineClient], list[IRCLine]]:
        lines = [self.line(s, f"line{i}") for i, s in enumerate(self.servers)]
        ircs = [self.irc(s, f"irc{i}") for i, s in enumerate(self.servers)]
        # everyone sees the last joiner: the room is one room on every process
        for c in lines:
            c.expect("irc2 joined")
        for c in ircs[:2]:
            c.expect(":irc2!")
        return lines, ircs

    def test_one_order_everywhere(self) -> None:
        lines, ircs = self.members()
        count = 30
        senders = [*lines, *ircs]
        for n in range(count):
            sender = senders[n % len(senders)]
            if isinstance(sender, IRCLine):
                sender.send(f"PRIVMSG #lobby :m{n}")
            else:
                sender.send(f"m{n}")
        orders = []
        for c in lines:
            orders.append([c.expect("[#lobby] <").rsplit(" ", 1)[1] for _ in range(count)])
        for c in ircs:  # IRC senders do not see their own (no echo-message asked)
            own = sum(1 for n in range(count) if senders[n % len(senders)] is c)
            orders.append(
                [c.expect("PRIVMSG #lobby :").rsplit(":", 1)[1] for _ in range(count - own)]
            )
        for order in orders[1 : len(lines)]:
            self.assertEqual(order, orders[0])
        self.assertEqual(sorted(orders[0], key=lambda m: int(m[1:])),
                         [f"m{n}" for n in range(count)])  # fmt: skip
        for order in orders[len(lines) :]:
            self.assertEqual(order, [m for m in orders[0] if m in order])  # same order
        names = ircs[0]
        names.send("NAMES #lobby")
        reply = names.expect(" 353 ")
        for nick in ("line0", "line1", "line2", "irc0", "irc1", "irc2"):
            self.assertIn(nick, [n.lstrip("@+") for n in reply.split(":", 2)[2].split()])

    def test_nick_held_elsewhere_refused_on_every_door(self) -> None:
        self.line(self.servers[0], "alice")
        watcher = self.line(self.servers[1], "watcher")
        watcher.expect("alice")  # the rename reached process 1
        other = self.line(self.servers[2], "other")
        other.send("/nick Alice")
        other.expect("!! nick")
        irc = IRCLine.__new__(IRCLine)
        irc.sock = socket.create_connection(self.servers[1].address("chat/irc"), timeout=15)
        irc.timeout, irc.buffer, irc.lines, irc.nick = 15.0, b"", [], "alice"
        self.addCleanup(irc.close)
        irc.send("NICK alice")
        irc.send("USER a 0 * :a")
        self.assertIn("alice", irc.expect(" 433 "))

    def test_history_across_processes(self) -> None:
        a = self.line(self.servers[0], "alice")
        a.send("/join #hist")
        a.expect("alice joined")
        for n in range(3):
            a.send(f"old {n}")
            a.expect(f"old {n}")
        b = LineClient(self.servers[2].address("chat/line"))
        self.addCleanup(b.close)
        b.send("/join #hist")
        for n in range(3):
            self.assertIn(f"<alice> old {n}", b.expect("[history "))

    def test_room_only_elsewhere_in_list(self) -> None:
        """IRC LIST on one process shows a room only another process's member is in, with
        its count and topic, within a snapshot (lease/10: 0.2 s at a 2 s lease)."""
        here, there = self.server(lease="2"), self.server(lease="2")
        a = self.line(here, "alice")
        a.send("/join #far")
        a.expect("alice joined")
        a.send("/topic far away")
        a.expect("far away")
        irc = IRCLine(there.address("chat/irc"), "bob")
        self.addCleanup(irc.close)
        deadline = time.monotonic() + 10
        found = ""
        while not found and time.monotonic() < deadline:  # bounded; each turn waits for 323
            irc.send("LIST")
            reply = ""
            while " 323 " not in reply:
                reply = irc.expect(" 32")
                if " 322 " in reply and " #far " in reply:
                    found = reply
        self.assertIn(" #far 1 :far away", found)

    def test_kill_frees_nicks_within_the_lease(self) -> None:
        short = self.server(lease="2")
        self.line(short, "doomed")
        watcher = self.line(self.servers[0], "watcher")
        watcher.send("/who")
        watcher.expect("doomed")  # a member of #lobby here too
        assert short.process is not None
        os.kill(short.process.pid, signal.SIGKILL)
        short.process.wait(10)
        started = time.monotonic()
        watcher.expect("<- doomed quit")
        # the lease (2 s) from the last renewal, a refresh (0.2 s), and slack for a busy CI
        self.assertLess(time.monotonic() - started, 2 * 2 + 1)
        self.line(self.servers[1], "doomed")  # free again, on another process

    def test_redis_restart_loses_nothing_silently_and_duplicates_nothing(self) -> None:
        lines, ircs = self.members()
        sender = lines[0]
        sent = []
        for n in range(5):
            sender.send(f"before{n}")
            sent.append(f"before{n}")
        for c in lines:
            c.expect("before4")
        self.redis.restart()
        for n in range(5):
            sender.send(f"after{n}")
        sender.expect("after4")  # held while Redis was away, then delivered
        for c in lines[1:]:
            got = []
            while len(got) < 5:
                line = c.expect("[#lobby] <line0> ")
                got.append(line.rsplit(" ", 1)[1])
            self.assertEqual(got, [f"after{n}" for n in range(5)])
        for c in ircs:
            got = [c.expect("PRIVMSG #lobby :after").rsplit(":", 1)[1] for _ in range(5)]
            self.assertEqual(got, [f"after{n}" for n in range(5)])
        # nothing more: a marker sent last is the next line each sees
        sender.send("marker")
        for c in lines[1:]:
            self.assertIn("marker", c.expect("[#lobby] <line0> "))

    def test_modes_and_kicks_cross_processes(self) -> None:
        """Over Redis: the operator on one process keys, moderates and kicks; a member
        on another process is held to the key (put out when his process learnt of it
        only after his join), the +m and the kick."""
        alice = IRCLine(self.servers[0].address("chat/irc"), "alice")
        self.addCleanup(alice.close)
        alice.send("JOIN #ops")
        self.assertIn("@alice", alice.expect(" 353 "))
        alice.send("MODE #ops +k sesame")
        alice.expect(" MODE #ops +k sesame")
        bob = IRCLine(self.servers[1].address("chat/irc"), "bob")
        self.addCleanup(bob.close)
        bob.send("JOIN #ops")
        self.assertIn(":Cannot join channel (+k)", bob.expect(" KICK #ops bob "))
        bob.send("JOIN #ops wrong")
        bob.expect(" 475 bob #ops ")
        bob.send("JOIN #ops sesame")
        names = bob.expect(" 353 ")
        self.assertIn("@alice", names)
        self.assertNotIn("@bob", names)
        alice.send("MODE #ops +m")
        self.assertTrue(bob.expect(" MODE #ops +m").startswith(":alice!"))
        bob.send("PRIVMSG #ops :hi")
        bob.expect(" 404 bob #ops ")
        alice.send("KICK #ops bob :bye")
        bob.expect(" KICK #ops bob :bye")
        alice.expect(" KICK #ops bob :bye")
