"""
End to end: the real `twistd -n netsuite-chat`, raw-socket line clients (what nc does)
on 127.0.0.1.
"""

import os
import select
import socket
import time

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TwistdProcess

from .chatclient import LineClient

LINE = "tcp:0:interface=127.0.0.1"
IRC = "tcp:0:interface=127.0.0.1"


def chat_server(*args: str, irc: bool = False) -> TwistdProcess:
    doors = ["--listen", LINE, "--irc-listen", IRC if irc else "none"]
    return TwistdProcess("netsuite-chat", [*doors, *args], expect=2 if irc else 1)


class ChatProcessTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.server = chat_server("--flood-rate", "1000", "--flood-burst", "1000").start()
        self.addCleanup(self.stop)
        self.address = self.server.address("chat/line")

    def stop(self) -> None:
        self.assertEqual(self.server.stop(), 0, self.server.log())

    def client(self) -> LineClient:
        c = LineClient(self.address)
        self.addCleanup(c.close)
        return c

    def test_talk_history_private(self) -> None:
        alice = self.client()
        alice.send("/nick alice")
        alice.expect("is now known as alice")
        alice.send("first words")
        alice.expect("<alice> first words")
        bob = self.client()
        bob.expect("[history ")  # replayed on join
        alice.expect(f"-> {bob.nick} joined")
        bob.send("hello alice")
        alice.expect(f"[#lobby] <{bob.nick}> hello alice")
        bob.send("/msg alice psst")
        alice.expect(f"[private] <{bob.nick}> psst")
        alice.send("/nick " + bob.nick.upper())
        alice.expect("!! nick")

    def test_same_order_for_everyone(self) -> None:
        clients = [self.client() for _ in range(3)]
        for c in clients:
            c.send("/join #order")
            c.expect(f"[#order] -> {c.nick} joined")
        for i in range(30):
            clients[i % 3].send(f"m{i}")
        orders = []
        for c in clients:
            seen = []
            while len(seen) < 30:
                line = c.expect("[#order] <")
                seen.append(line.rsplit(" ", 1)[1])
            orders.append(seen)
        self.assertEqual(orders[0], orders[1])
        self.assertEqual(orders[1], orders[2])
        self.assertEqual(sorted(orders[0], key=lambda m: int(m[1:])), [f"m{i}" for i in range(30)])

    def test_bad_input_one_error_others_unaffected(self) -> None:
        bad = self.client()
        good = self.client()
        bad.sock.sendall(b"\xff\xfe not utf8\r\n")
        bad.expect("!! not UTF-8")
        bad.sock.sendall(b"x" * 10_000 + b"\r\n")
        bad.expect("!! line too long")
        bad.send("/frob")
        bad.expect("!! unknown command /frob")
        bad.send("still here")
        good.expect(f"<{bad.nick}> still here")

    def test_shutdown_notice_then_exit_0(self) -> None:
        c = self.client()
        self.server.process.terminate()
        c.expect("-!- server shutting down")
        self.assertTrue(c.closed())


class ChatFloodTests(SynchronousTestCase):
    def test_flood_notice_then_kick(self) -> None:
        """Over the rate, lines queue (one notice); the queue full, the spammer is cut off."""
        flood = ("--flood-rate", "1", "--flood-burst", "3", "--flood-queue", "5")
        with chat_server(*flood) as server:
            spammer = LineClient(server.address("chat/line"))
            watcher = LineClient(server.address("chat/line"))
            for i in range(10):
                spammer.send(f"spam {i}")
            spammer.expect("-!- slow down: your lines are queued")
            watcher.expect(f"<- {spammer.nick} quit (flooding (5 lines queued))")
            self.assertTrue(spammer.closed())
            spammer.close()
            watcher.close()


class _Counter:
    """Counts complete message lines from one sender, and checks they come in order."""

    def __init__(self, nick: str) -> None:
        self.marker = f"] <{nick}> ".encode()
        self.tail = b""
        self.count = 0

    def feed(self, data: bytes) -> None:
        lines = (self.tail + data).split(b"\n")
        self.tail = lines.pop()
        for line in lines:
            if self.marker in line:
                number = int(line.split(self.marker, 1)[1].split(b" ", 1)[0])
                assert number == self.count, (number, self.count)
                self.count += 1


class SlowReaderTests(SynchronousTestCase):
    def test_slow_reader_cut_off_memory_bounded(self) -> None:
        """
        A member that stops reading while the room sends 200 MiB is disconnected ("send
        queue exceeded"); the server stays under 150 MiB RSS; the other members receive
        every message, in order.
        """
        server = chat_server("--flood-rate", "1000000", "--flood-burst", "1000000")
        with server:
            address = server.address("chat/line")
            slow = socket.create_connection(address)
            self.addCleanup(slow.close)
            reader = LineClient(address, timeout=60)
            sender = LineClient(address, timeout=60)
            text = os.urandom(1500).hex()  # 3,000 characters a message
            count = (200 << 20) // len(text)
            counters = {reader.sock: _Counter(sender.nick), sender.sock: _Counter(sender.nick)}
            for c in (reader, sender):
                c.sock.setblocking(False)
                counters[c.sock].feed(c.buffer)
            pending = b""
            sent = 0
            peak = 0
            deadline = time.monotonic() + 240
            while counters[reader.sock].count < count and time.monotonic() < deadline:
                # At most 1,000 messages in flight: the sender is a client, not a flood test.
                if not pending and sent < count and sent - counters[reader.sock].count < 1000:
                    batch = min(100, count - sent)
                    pending = "".join(f"{sent + i} {text}\r\n" for i in range(batch)).encode()
                    sent += batch
                want_write = [sender.sock] if pending else []
                readable, writable, _ = select.select(list(counters), want_write, [], 5)
                if writable:
                    pending = pending[sender.sock.send(pending) :]
                for s in readable:
                    counters[s].feed(s.recv(1 << 20))
                peak = max(peak, server.rss_bytes())
            server.wait_for_line(r"send queue exceeded")
            self.assertEqual(counters[reader.sock].count, count)
            self.assertLess(peak, 150 << 20)
            for c in (reader, sender):
                c.close()
