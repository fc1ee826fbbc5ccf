"""
What the sub-commands share (L{netsuite.client._common}): the TLS arguments and their
checks, C{--insecure} for TLS and DTLS, and Ctrl-C handling in L{react_command}.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
from pathlib import Path

from OpenSSL import SSL, crypto
from twisted.internet import ssl
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase

from netsuite.client._common import (
    INSECURE_WARNING,
    UncheckedClientTLS,
    UncheckedDTLSOptions,
    add_tls_arguments,
    check_tls_arguments,
    dtls_client_options,
    tls_client_options,
)
from netsuite.client.main import CommandLineError
from netsuite.testing import TLSFiles
from netsuite.tls._dtls_context import DTLSClientOptions
from netsuite.tls._pki import create_ca, issue


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tls", action="store_true")
    add_tls_arguments(parser, "--tls")
    return parser.parse_args(argv)


class TLSArgumentTests(SynchronousTestCase):
    def test_checks(self) -> None:
        cases = {
            ("--ca", "x", "--insecure"): "--ca, --insecure: only meaningful with --tls",
            ("--tls", "--key", "k"): "--key needs --cert",
            ("--tls", "--insecure", "--ca", "x"): "--insecure checks no certificate",
        }
        for argv, message in cases.items():
            args = parse(*argv)
            with self.assertRaises(CommandLineError) as caught:
                check_tls_arguments(args, args.tls, "--tls")
            self.assertIn(message, str(caught.exception))
        for argv in ((), ("--tls",), ("--tls", "--insecure"), ("--tls", "--ca", "x")):
            args = parse(*argv)
            check_tls_arguments(args, args.tls, "--tls")


class Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


class Collect(Protocol):
    def __init__(self) -> None:
        self.received = b""

    def connectionMade(self) -> None:
        self.transport.write(b"ping")

    def dataReceived(self, data: bytes) -> None:
        self.received += data


class InsecureTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.stderr = io.StringIO()
        self.patch(sys, "stderr", self.stderr)
        scratch = tempfile.TemporaryDirectory(prefix="netsuite-common-test-")
        self.addCleanup(scratch.cleanup)
        self.files = TLSFiles(Path(scratch.name), names=("127.0.0.1",))

    def test_unchecked_tls_talks_to_any_certificate(self) -> None:
        """Not trusted, not for this name: --insecure connects anyway, and sends SNI."""
        leaf = issue(create_ca("nobody trusts me"), ["other.invalid"])
        server_options = ssl.CertificateOptions(
            privateKey=crypto.PKey.from_cryptography_key(leaf.key),
            certificate=crypto.X509.from_cryptography(leaf.cert),
        )
        names: list[bytes | None] = []
        context = server_options.getContext()
        context.set_tlsext_servername_callback(lambda conn: names.append(conn.get_servername()))
        clock = Clock()  # TLS transports gather writes until the clock moves on
        server_factory = TLSMemoryBIOFactory(
            server_options, False, Factory.forProtocol(Echo), clock=clock
        )
        collect = Collect()
        client_factory = TLSMemoryBIOFactory(
            UncheckedClientTLS("example.test"),
            True,
            Factory.forProtocol(lambda: collect),
            clock=clock,
        )
        client, server, pump = iosim.connectedServerAndClient(
            lambda: server_factory.buildProtocol(None),
            lambda: client_factory.buildProtocol(None),
            clock=clock,
        )
        pump.flush()
        self.assertEqual(collect.received, b"ping")
        self.assertEqual(names, [b"example.test"])

    def test_unchecked_tls_minimum_version_and_client_certificate(self) -> None:
        cert, key = self.files.leaf("client", ["client.test"])
        options = UncheckedClientTLS("127.0.0.1", cert, key)
        conn = options.clientConnectionForTLS(None)
        self.assertIsNone(conn.get_servername())  # no SNI for an IP address
        self.assertEqual(
            conn.get_certificate().to_cryptography().subject.rfc4514_string(),  # type: ignore[union-attr]
            "CN=client.test",
        )
        self.assertEqual(options.context.get_verify_mode(), SSL.VERIFY_NONE)
        fresh = UncheckedClientTLS("127.0.0.1").context  # (a used context is read-only)
        self.assertTrue(fresh.set_options(0) & SSL.OP_NO_TLSv1_1)

    def test_tls_options_warn_only_when_insecure(self) -> None:
        args = parse("--tls", "--ca", self.files.ca_path)
        self.assertNotIsInstance(tls_client_options("netsuite x", "h", args), UncheckedClientTLS)
        self.assertEqual(self.stderr.getvalue(), "")
        options = tls_client_options("netsuite echo", "h", parse("--tls", "--insecure"))
        self.assertIsInstance(options, UncheckedClientTLS)
        self.assertEqual(self.stderr.getvalue(), f"netsuite echo: {INSECURE_WARNING}\n")
        self.assertEqual(
            INSECURE_WARNING, "WARNING: --insecure: the server's certificate is not checked"
        )

    def test_unreadable_files_are_usage_errors(self) -> None:
        for argv in (("--tls", "--ca", "/nonexistent.pem"), ("--tls", "--cert", "/nope.pem")):
            with self.assertRaises(CommandLineError):
                tls_client_options("p", "h", parse(*argv))
            with self.assertRaises(CommandLineError):
                dtls_client_options("p", "h", parse(*argv))
        with self.assertRaises(CommandLineError):
            tls_client_options("p", "h", parse("--tls", "--insecure", "--cert", "/nope.pem"))

    def test_dtls(self) -> None:
        checked = dtls_client_options("p", "127.0.0.1", parse("--ca", self.files.ca_path))
        self.assertIsInstance(checked, DTLSClientOptions)
        self.assertNotIsInstance(checked, UncheckedDTLSOptions)
        self.assertEqual(checked.context.get_verify_mode(), SSL.VERIFY_PEER)
        unchecked = dtls_client_options("netsuite ping", "127.0.0.1", parse("--insecure"))
        self.assertIsInstance(unchecked, UncheckedDTLSOptions)
        self.assertEqual(unchecked.context.get_verify_mode(), SSL.VERIFY_NONE)
        unchecked.verify(None)  # type: ignore[arg-type]  # no name check: no exception
        self.assertEqual(self.stderr.getvalue(), f"netsuite ping: {INSECURE_WARNING}\n")


_INTERRUPTED = """
import os, signal, sys
from twisted.internet.defer import Deferred
from netsuite.client._common import react_command

async def main(reactor):
    reactor.callLater(0, os.kill, os.getpid(), signal.SIGINT)
    await Deferred()  # until interrupted

def hook():
    print("summary so far", flush=True)
    return None if sys.argv[1] == "none" else int(sys.argv[1])

sys.exit(react_command("netsuite test", main, hook if sys.argv[1] != "nohook" else None))
"""


class InterruptTests(SynchronousTestCase):
    def run_script(self, arg: str) -> tuple[int, str, str]:
        result = subprocess.run(
            [sys.executable, "-c", _INTERRUPTED, arg],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return result.returncode, result.stdout, result.stderr

    def test_hook_decides_the_status(self) -> None:
        self.assertEqual(self.run_script("0"), (0, "summary so far\n", ""))
        self.assertEqual(self.run_script("1"), (1, "summary so far\n", ""))

    def test_hook_returning_none_keeps_interrupted(self) -> None:
        self.assertEqual(
            self.run_script("none"), (130, "summary so far\n", "netsuite test: interrupted\n")
        )
        self.assertEqual(self.run_script("nohook"), (130, "", "netsuite test: interrupted\n"))
