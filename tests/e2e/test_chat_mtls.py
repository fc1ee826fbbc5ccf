"""
Mutual TLS on the chat doors: a verified client certificate's name is the member's nick,
held for it alone, and IRC's WHOIS shows it.
"""

import socket
import ssl
import subprocess
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TLSFiles, TwistdProcess, converse, require_tool

from .chatclient import LineClient


class TLSLineClient(LineClient):
    def __init__(self, address: tuple[str, int], context: ssl.SSLContext) -> None:
        raw = socket.create_connection(address, timeout=15)
        self.sock = context.wrap_socket(raw, server_hostname="localhost")
        self.timeout = 15.0
        self.buffer = b""
        self.lines = []
        self.nick = self.expect("welcome to").split(", ")[1].split(".")[0]


class ChatMutualTLSTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.files = TLSFiles(Path(self.mktemp()))
        tls = self.files.nstls(0, clientCA=self.files.ca_path, verifyClient="optional")
        self.server = TwistdProcess(
            "netsuite-chat", ["--listen", tls, "--irc-listen", tls], expect=2
        ).start()
        self.addCleanup(self.server.stop)

    def context(self, client: str | None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.files.ca_path)
        if client:
            cert, key = self.files.leaf(client, [client])
            context.load_cert_chain(cert, key)
        return context

    def test_certificate_name_is_the_nick(self) -> None:
        address = self.server.address("chat/line-tls")
        alice = TLSLineClient(address, self.context("alice"))
        self.addCleanup(alice.close)
        self.assertEqual(alice.nick, "alice")
        guest = TLSLineClient(address, self.context(None))
        self.addCleanup(guest.close)
        self.assertTrue(guest.nick.startswith("guest"))
        guest.send("/nick alice")
        guest.expect("!! nick alice is")
        alice.send("/nick mallory")
        alice.expect("!! your nick is your certificate's name")
        # IRC: the certificate holder's identity shows in WHOIS.
        irc = self.context(None).wrap_socket(
            socket.create_connection(self.server.address("chat/irc-tls"), timeout=15),
            server_hostname="localhost",
        )
        self.addCleanup(irc.close)
        irc.sendall(b"NICK bob\r\nUSER bob 0 * :Bob\r\nWHOIS alice\r\nNICK Alice\r\n")
        seen = b""
        while b" 433 " not in seen:
            chunk = irc.recv(65536)
            self.assertTrue(chunk, seen)
            seen += chunk
        self.assertIn(b" 330 bob alice alice :is logged in as", seen)

    def test_untrusted_certificate_refused(self) -> None:
        stranger = TLSFiles(Path(self.mktemp()))
        cert, key = stranger.leaf("mallory", ["mallory"])
        context = self.context(None)
        context.load_cert_chain(cert, key)
        with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
            TLSLineClient(self.server.address("chat/line-tls"), context)


class RequiredClientCertificateTests(SynchronousTestCase):
    """openssl s_client against verifyClient=required: refused without, accepted with."""

    def test_openssl_with_and_without_certificate(self) -> None:
        openssl = require_tool("openssl")
        files = TLSFiles(Path(self.mktemp()))
        tls = files.nstls(0, clientCA=files.ca_path, verifyClient="required")
        with TwistdProcess("netsuite-echo", ["--listen", tls]) as server:
            host, port = server.address("echo/tls")
            base = [openssl, "s_client", "-connect", f"{host}:{port}", "-CAfile", files.ca_path,
                    "-servername", "localhost", "-tls1_2"]  # fmt: skip
            refused = subprocess.run(base, input=b"hello\n", capture_output=True, timeout=30)
            self.assertNotEqual(refused.returncode, 0)
            self.assertNotIn(b"hello", refused.stdout.split(b"---")[-1])
            server.wait_for_line(r"closed \(.*(peer did not return a certificate|certificate)")
            cert, key = files.leaf("carol", ["carol"])
            out = converse([*base, "-cert", cert, "-key", key], b"hello\n", until=b"hello\n")
            self.assertIn(b"Verify return code: 0 (ok)", out)
