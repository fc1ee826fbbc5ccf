"""
The C{netsuite} console script's parser: sub-command registration and exit statuses of
bad arguments (in-process: argparse's exits are L{SystemExit}).
"""

from __future__ import annotations

import argparse
import io
import sys
import types

from twisted.trial.unittest import SynchronousTestCase

import netsuite.client.main as main_module
from netsuite.client.main import CommandLineError, build_parser, main


def _fake_command() -> types.ModuleType:
    """A sub-command module as a later issue would add one (C{netsuite fake})."""
    module = types.ModuleType("tests.client._fake_command")
    module.NAME = "fake"  # type: ignore[attr-defined]
    module.SUMMARY = "A stand-in."  # type: ignore[attr-defined]

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--n", type=int, default=0)

    def run(args: argparse.Namespace) -> int:
        if args.n < 0:
            raise CommandLineError("--n must not be negative")
        return args.n

    module.add_arguments = add_arguments  # type: ignore[attr-defined]
    module.run = run  # type: ignore[attr-defined]
    return module


class MainTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.stderr = io.StringIO()
        self.stdout = io.StringIO()
        self.patch(sys, "stderr", self.stderr)
        self.patch(sys, "stdout", self.stdout)

    def exit_status(self, argv: list[str]) -> int | str | None:
        with self.assertRaises(SystemExit) as caught:
            main(argv)
        return caught.exception.code

    def test_echo_is_registered(self) -> None:
        parser = build_parser()
        args = parser.parse_args(["echo", "127.0.0.1", "7"])
        self.assertEqual((args.command, args.host, args.port), ("echo", "127.0.0.1", 7))

    def test_one_line_registers_a_command(self) -> None:
        """A module plus its dotted name in SUBCOMMANDS is all a new sub-command needs."""
        sys.modules["tests.client._fake_command"] = _fake_command()
        self.addCleanup(sys.modules.pop, "tests.client._fake_command")
        self.patch(
            main_module, "SUBCOMMANDS", (*main_module.SUBCOMMANDS, "tests.client._fake_command")
        )
        self.assertEqual(main(["fake", "--n", "3"]), 3)
        self.assertEqual(self.exit_status(["fake", "--n", "-1"]), 2)
        self.assertIn("netsuite fake: error: --n must not be negative", self.stderr.getvalue())

    def test_no_command(self) -> None:
        self.assertEqual(self.exit_status([]), 2)
        self.assertIn("usage: netsuite", self.stderr.getvalue())

    def test_version(self) -> None:
        self.assertEqual(self.exit_status(["--version"]), 0)
        self.assertTrue(self.stdout.getvalue().startswith("netsuite "))

    def test_echo_bad_arguments(self) -> None:
        """Every inconsistent combination is a usage error (2) that says what is wrong."""
        cases = {
            ("echo",): "the following arguments are required: HOST, PORT",
            ("echo", "h", "0"): "argument PORT: 0 is not a port number (1-65535)",
            ("echo", "h", "x"): "argument PORT: 'x' is not a port number",
            ("echo", "h", "1", "--count", "0"): "argument --count: 0 is not at least 1",
            ("echo", "h", "1", "--timeout", "-1"): "is not a positive number of seconds",
            ("echo", "h", "1", "--size", "10"): "--size: only meaningful with --count",
            ("echo", "h", "1", "--window", "2", "--seed", "1"): (
                "--window, --seed: only meaningful with --count"
            ),
            ("echo", "h", "1", "--ca", "x.pem"): "--ca: only meaningful with --tls",
            ("echo", "h", "1", "--tls", "--key", "k.pem"): "--key needs --cert",
            ("echo", "h", "1", "--udp", "--tls"): "--tls is for TCP",
            ("echo", "h", "1", "--udp", "--count", "1", "--size", "3"): (
                "a UDP check datagram holds 4 to 65507 bytes"
            ),
            ("echo", "h", "1", "--tls", "--ca", "/nonexistent/ca.pem"): (
                "ca: cannot read '/nonexistent/ca.pem'"
            ),
        }
        for argv, expected in cases.items():
            self.stderr.truncate(0)
            self.stderr.seek(0)
            self.assertEqual(self.exit_status(list(argv)), 2, argv)
            self.assertIn(expected, self.stderr.getvalue(), argv)
            self.assertIn("netsuite echo: error:", self.stderr.getvalue(), argv)

    def test_every_command_is_registered(self) -> None:
        parser = build_parser()
        self.assertEqual(parser.parse_args(["chat", "h", "1"]).command, "chat")
        self.assertEqual(parser.parse_args(["ping", "h", "1"]).command, "ping")
        self.assertEqual(parser.parse_args(["certs", "show", "f.pem"]).command, "certs")
        self.assertTrue(parser.parse_args(["echo", "h", "1", "--tls", "--insecure"]).insecure)

    def test_new_commands_bad_arguments(self) -> None:
        cases = {
            ("ping", "h", "1", "--size", "10"): "argument -s/--size: 10: a probe is 24 to 65507",
            ("ping", "h", "1", "--rate", "0"): "is not a positive number of probes a second",
            ("ping", "h", "1", "--interval", "x"): "is not a number of seconds",
            ("ping", "h", "1", "--ca", "c.pem"): "--ca: only meaningful with --dtls",
            ("ping", "h", "1", "--insecure"): "--insecure: only meaningful with --dtls",
            ("ping", "h", "1", "--json", "--quiet"): "--quiet is not needed",
            ("ping", "h", "1", "--dtls", "--ca", "/nonexistent/ca.pem"): "cannot read",
            ("chat", "h", "1", "--cert", "c.pem"): "--cert: only meaningful with --tls",
            ("chat", "h", "1", "--tls", "--insecure", "--ca", "c"): "--ca would not be used",
            ("echo", "h", "1", "--insecure"): "--insecure: only meaningful with --tls",
            ("certs",): "the following arguments are required: ACTION",
            ("certs", "issue"): "the following arguments are required: NAME",
        }
        for argv, expected in cases.items():
            self.stderr.truncate(0)
            self.stderr.seek(0)
            self.assertEqual(self.exit_status(list(argv)), 2, argv)
            self.assertIn(expected, self.stderr.getvalue(), argv)
            self.assertIn(f"netsuite {argv[0]}", self.stderr.getvalue(), argv)

    def test_broken_pipe_is_quiet(self) -> None:
        """stdout closed by its reader ("| head"): status 0, no traceback."""
        sys.modules["tests.client._fake_command"] = _fake_command()
        self.addCleanup(sys.modules.pop, "tests.client._fake_command")
        self.patch(main_module, "SUBCOMMANDS", ("tests.client._fake_command",))
        module = sys.modules["tests.client._fake_command"]

        def run(args: argparse.Namespace) -> int:
            raise BrokenPipeError()

        self.patch(module, "run", run)
        self.assertEqual(main(["fake"]), 0)
