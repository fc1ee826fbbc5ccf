"""
SASL and operators over a real TLS connection to a real C{twistd netsuite-chat}:
EXTERNAL from a verified client certificate, PLAIN against an account of the command
line (a real Scrypt hash, checked in the reactor's thread pool), the account's nick
held, and OPER/KILL with irctest's operator.
"""

from __future__ import annotations

import base64
import socket
import ssl
import time
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._accounts import hash_password
from netsuite.testing import TLSFiles, TwistdProcess


class IRC:
    """A raw IRC client over TLS that reads until a line it waits for comes."""

    def __init__(self, address: tuple[str, int], context: ssl.SSLContext) -> None:
        raw = socket.create_connection(address, timeout=15)
        self.sock = context.wrap_socket(raw, server_hostname="localhost")
        self.buffer = b""

    def send(self, *lines: str) -> None:
        self.sock.sendall("".join(line + "\r\n" for line in lines).encode())

    def expect(self, words: str, deadline: float = 15.0) -> list[str]:
        """Lines read up to and including the first containing C{words}."""
        seen: list[str] = []
        end = time.monotonic() + deadline
        while True:
            while b"\r\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\r\n", 1)
                seen.append(line.decode())
                if words in seen[-1]:
                    return seen
            self.sock.settimeout(max(end - time.monotonic(), 0.01))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError(f"closed before {words!r}: {seen}")
            self.buffer += chunk

    def wait_closed(self, deadline: float = 15.0) -> None:
        """Read until the server closes the connection (or fail at the deadline)."""
        end = time.monotonic() + deadline
        while True:
            self.sock.settimeout(max(end - time.monotonic(), 0.01))
            if not self.sock.recv(65536):
                return

    def close(self) -> None:
        self.sock.close()


class SaslOverTLSTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.files = TLSFiles(Path(self.mktemp()))
        tls = self.files.nstls(0, clientCA=self.files.ca_path, verifyClient="optional")
        self.server = TwistdProcess(
            "netsuite-chat",
            [
                "--listen", "none", "--irc-listen", tls,
                "--account", f"jilles:{hash_password('sesame')}",
                "--irc-oper", f"operuser:{hash_password('operpassword')}",
            ],
        ).start()  # fmt: skip
        self.addCleanup(self.server.stop)

    def client(self, certificate: str | None = None) -> IRC:
        context = ssl.create_default_context(cafile=self.files.ca_path)
        if certificate:
            context.load_cert_chain(*self.files.leaf(certificate, [certificate]))
        irc = IRC(self.server.address("chat/irc-tls"), context)
        self.addCleanup(irc.close)
        return irc

    def test_external(self) -> None:
        alice = self.client("alice")
        alice.send("CAP LS 302", "NICK alice", "USER alice 0 * :Alice")
        self.assertIn("sasl=PLAIN,EXTERNAL", " ".join(alice.expect(" LS ")))
        alice.send("CAP REQ sasl", "AUTHENTICATE EXTERNAL")
        alice.expect("AUTHENTICATE +")
        alice.send("AUTHENTICATE +")
        seen = alice.expect(" 903 ")
        logged = ":netsuite 900 * alice!alice@netsuite alice :You are now logged in as alice"
        self.assertIn(logged, seen)
        alice.send("CAP END")
        alice.expect(" 001 alice ")

    def test_plain_nick_held_oper_kill(self) -> None:
        guest = self.client()
        guest.send("NICK jilles", "USER j 0 * :J")
        guest.expect(" 433 * jilles :nick jilles is reserved by a different account")
        guest.send("NICK guest")
        guest.expect(" 001 guest ")
        jilles = self.client()
        response = base64.b64encode(b"\0jilles\0sesame").decode()
        jilles.send("CAP LS 302", "NICK jilles", "USER jilles 0 * :Jilles", "CAP REQ sasl")
        jilles.expect(" ACK ")
        jilles.send("AUTHENTICATE PLAIN", "AUTHENTICATE " + response, "CAP END")
        seen = jilles.expect(" 001 jilles ")
        numerics = [line.split()[1] for line in seen if line.startswith(":netsuite 9")]
        self.assertEqual(numerics, ["900", "903"])  # before 001: registration waited
        self.assertIn(":netsuite 903 * :SASL authentication successful", seen)
        guest.send("WHOIS jilles", "OPER operuser nottheoperpassword")
        self.assertIn(":netsuite 330 guest jilles jilles :is logged in as", guest.expect(" 318 "))
        guest.expect(" 464 guest :Password incorrect")
        # irctest's way: a command, then PING, and read until PONG; the answer of a
        # password checked in a thread must come before the PONG all the same.
        guest.send("OPER operuser operpassword", "PING :sync")
        seen = guest.expect("PONG")
        self.assertIn(":netsuite 381 guest :You are now an IRC operator", seen)
        self.assertIn(":guest MODE guest :+o", seen)
        guest.send("KILL jilles :spam")
        jilles.expect("ERROR :Closing link: Killed (guest (spam))")
        jilles.wait_closed()  # irctest: assertDisconnected
