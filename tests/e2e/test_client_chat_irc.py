"""
End to end: C{netsuite chat} in #lobby next to a raw line-door client and a raw IRC
client, on a real C{twistd -n netsuite-chat} with both doors. Everyone sends at once;
everyone sees everyone's messages in the hub's one order. (What
C{tests/e2e/test_chat_irc.py} checks for Twisted's IRCClient and ii, for our own client.)
"""

from __future__ import annotations

import socket
import time

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TwistdProcess
from tests.e2e.chatclient import LineClient
from tests.e2e.test_client_chat import DEADLINE, ClientProcess

TCP = "tcp:0:interface=127.0.0.1"
COUNT = 5


class RawIRC:
    """Just enough IRC: register, join, say, and read PRIVMSGs (answering PINGs)."""

    def __init__(self, address: tuple[str, int], nick: str) -> None:
        self.sock = socket.create_connection(address, timeout=DEADLINE)
        self.buffer = b""
        self.said: list[tuple[str, str]] = []
        self.send(f"NICK {nick}", f"USER {nick} 0 * :{nick}")
        self.expect(" 001 ")
        self.send("JOIN #lobby")
        self.expect(" 366 ")

    def send(self, *lines: str) -> None:
        self.sock.sendall("".join(line + "\r\n" for line in lines).encode())

    def line(self, deadline: float) -> str:
        while b"\n" not in self.buffer:
            self.sock.settimeout(max(0.001, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server")
            self.buffer += chunk
        raw, _, self.buffer = self.buffer.partition(b"\n")
        line = raw.decode().rstrip("\r")
        if line.startswith("PING "):
            self.send("PONG " + line[5:])
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[1] == "PRIVMSG" and parts[2] == "#lobby":
            self.said.append((parts[0][1:].split("!")[0], parts[3][1:]))
        return line

    def expect(self, text: str) -> str:
        deadline = time.monotonic() + DEADLINE
        while True:
            line = self.line(deadline)
            if text in line:
                return line

    def wait_said(self, count: int) -> list[tuple[str, str]]:
        deadline = time.monotonic() + DEADLINE
        while len([m for m in self.said if "order " in m[1]]) < count:
            self.line(deadline)
        return [m for m in self.said if "order " in m[1]]

    def close(self) -> None:
        self.sock.close()


def said(lines: list[str]) -> list[tuple[str, str]]:
    """(sender, text) of the #lobby messages among line-door lines."""
    out = []
    for line in lines:
        if line.startswith("[#lobby] <") and "order " in line:
            sender, _, text = line[len("[#lobby] <") :].partition("> ")
            out.append((sender, text))
    return out


class SharedLobbyTests(SynchronousTestCase):
    def test_same_messages_same_order(self) -> None:
        server = TwistdProcess(
            "netsuite-chat",
            [
                "--listen",
                TCP,
                "--irc-listen",
                TCP,
                "--flood-rate",
                "1000",
                "--flood-burst",
                "1000",
            ],
            expect=2,
        ).start()
        self.addCleanup(server.stop)
        line_address, irc_address = server.address("chat/line"), server.address("chat/irc")

        cleo = ClientProcess(["chat", *map(str, line_address), "--nick", "cleo"])
        self.addCleanup(cleo.kill)
        cleo.expect("is now known as cleo")
        lina = LineClient(line_address)
        self.addCleanup(lina.close)
        lina.send("/nick lina")
        lina.expect("is now known as lina")
        tom = RawIRC(irc_address, "tom")
        self.addCleanup(tom.close)
        cleo.expect("-> tom joined")

        for i in range(COUNT):
            cleo.send(f"order cleo {i}")
            lina.send(f"order lina {i}")
            tom.send(f"PRIVMSG #lobby :order tom {i}")

        members = 3
        reference: list[tuple[str, str]] = []
        while len(reference) < members * COUNT:
            line = lina.expect("[#lobby] <")
            reference += said([line])
        deadline = time.monotonic() + DEADLINE
        while len(said(cleo.stdout)) < members * COUNT and time.monotonic() < deadline:
            cleo.expect("[#lobby] <")
        tom_view = tom.wait_said((members - 1) * COUNT)

        for nick in ("cleo", "lina", "tom"):
            self.assertEqual(
                [text for sender, text in reference if sender == nick],
                [f"order {nick} {i}" for i in range(COUNT)],
            )
        self.assertEqual(said(cleo.stdout), reference)  # sees its own, as the hub ordered
        self.assertEqual(tom_view, [m for m in reference if m[0] != "tom"])

        cleo.close_stdin()
        self.assertEqual(cleo.wait(), 0)
        self.assertEqual(cleo.stderr, [])
