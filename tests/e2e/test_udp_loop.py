"""
End to end: two real `twistd -n netsuite-echo` processes cross-wired by one datagram
(CVE-2024-2169: two echo services bouncing one datagram between them for ever).

The forged datagram must come from one server's port and go to the other. Nothing but
a raw socket (root) can send from a port another socket holds, so the test holds the
port itself: it binds B's UDP socket on 127.0.0.1, hands it to B by socket activation
(the socket as fd 3, LISTEN_PID B's own pid: what systemd does), and sends one datagram
to A from its own copy of that very socket. A answers B's port, B answers A's, and so
on: before the loop damping, at some 20,000 datagrams a second until either is stopped.

The test never reads that copy (B reads every datagram), it only peeks: a datagram from
A still queued on B's socket, one second after the forgery, means the loop is alive.
"""

from __future__ import annotations

import errno
import os
import re
import select
import socket
import sys
import time

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TwistdProcess

#: What systemd does before starting a socket-activated service: the socket as fd 3,
#: LISTEN_PID the service's own pid (kept across exec).
#: (A socket that is fd 3 already stays as it is.)
SYSTEMD_LIKE = (
    "import os, sys; fd = int(sys.argv[1])\n"
    "if fd != 3: os.dup2(fd, 3); os.close(fd)\n"
    "os.environ['LISTEN_PID'] = str(os.getpid()); os.execv(sys.argv[2], sys.argv[2:])"
)
#: The target (issue 13): a cross-wired pair has stopped within this many seconds.
DIES_WITHIN = 1.0
#: How long after that the test watches B's socket for a datagram from A.
WATCH = 0.5
#: A drop batch line of the loop damping.
LOOP_DROP = re.compile(
    r"echo/udp dropped (\d+) datagram\(s\), latest from 127\.0\.0\.1:(\d+): loop"
)


def seen_from(sock: socket.socket, source: tuple[str, int], start: float, end: float) -> int:
    """
    How many times, between the monotonic times C{start} and C{end}, a datagram from
    C{source} was waiting on C{sock}; peeked at (C{MSG_PEEK}), never taken, so the
    server that reads C{sock} gets every datagram as if nobody looked.
    """
    seen = 0
    while (now := time.monotonic()) < end:
        if now < start:
            select.select([], [], [], start - now)  # the loop's first second: not watched
            continue
        if not select.select([sock], [], [], end - now)[0]:
            continue
        try:
            _, sender = sock.recvfrom(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except OSError as e:  # the server took it first
            if e.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
                raise
            continue
        if sender == source:
            seen += 1
            select.select([], [], [], 0.001)  # let the server take it before looking again
    return seen


class UDPLoopTests(SynchronousTestCase):
    def test_cross_wired_pair_dies_out(self) -> None:
        """
        One datagram from B's port to A: the pair has stopped answering each other within
        a second, and each drop is logged in a batch, by reason (C{loop}), not per drop.
        """
        b_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(b_socket.close)
        b_socket.bind(("127.0.0.1", 0))
        b_address = b_socket.getsockname()
        env = dict(os.environ, LISTEN_FDS="1", LISTEN_FDNAMES="echo-udp")
        b = TwistdProcess(
            "netsuite-echo",
            ["--listen", "systemd:domain=INET:name=echo-udp:type=dgram"],
            env=env,
            pass_fds=[b_socket.fileno()],
            launcher=[sys.executable, "-c", SYSTEMD_LIKE, str(b_socket.fileno())],
        )
        a = TwistdProcess("netsuite-echo", ["--listen", "udp:0:interface=127.0.0.1"])
        with b, a:
            self.assertEqual(b.address("echo/udp"), b_address)
            a_address = a.address("echo/udp")
            forged = time.monotonic()
            b_socket.sendto(b"cross-wired", a_address)  # "from" B's port, to A
            late = seen_from(
                b_socket, a_address, forged + DIES_WITHIN, forged + DIES_WITHIN + WATCH
            )
            self.assertEqual(late, 0, f"datagrams from A still reach B {DIES_WITHIN} s later")
        # Stopped, each has logged what it had not yet: the server that stopped the loop
        # says so in one batch line (count and latest source), never a line per drop.
        drops = {"a": LOOP_DROP.findall(a.log()), "b": LOOP_DROP.findall(b.log())}
        self.assertTrue(drops["a"] or drops["b"], a.log() + "\n" + b.log())
        self.assertTrue(all(int(port) == b_address[1] for _, port in drops["a"]), drops)
        self.assertTrue(all(int(port) == a_address[1] for _, port in drops["b"]), drops)
        for server in (a, b):
            self.assertNotIn("Traceback", server.log())
            self.assertLessEqual(len(LOOP_DROP.findall(server.log())), 2, server.log())
