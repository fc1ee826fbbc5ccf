"""
C{netsuite get}'s command line: argument types, combinations refused before anything
connects (exit status 2), and when the progress bar is drawn. In-process, with the
sub-command registered the way C{SUBCOMMANDS} does it.
"""

from __future__ import annotations

import argparse
import io
import sys

from twisted.trial.unittest import SynchronousTestCase

import netsuite.client.main as main_module
from netsuite.client import _get as get
from netsuite.client._get import MAX_REDIRECTS, http_url, resolve_entry
from netsuite.client.main import build_parser, main

MODULES = (
    *(m for m in main_module.SUBCOMMANDS if m != "netsuite.client._get"),
    "netsuite.client._get",
)


class ArgumentTypeTests(SynchronousTestCase):
    def test_urls(self) -> None:
        for text in ("http://127.0.0.1:8080/x", "https://localhost/", "http://h:81/a?b=c"):
            self.assertEqual(http_url(text), text)
        self.assertEqual(http_url("127.0.0.1:8080/x"), "http://127.0.0.1:8080/x")
        self.assertEqual(http_url("HTTPS://h/"), "https://h/")
        # As treq sends it: the host in IDNA, the rest percent-encoded.
        self.assertEqual(
            http_url("http://bücher.example/ä b?q=ü"),
            "http://xn--bcher-kva.example/%C3%A4%20b?q=%C3%BC",
        )
        cases = {
            "ftp://h/": "only http:// and https://",
            "file:///etc/passwd": "only http:// and https://",
            "http://": "no host",
            "http://h:99999/": "99999 is not a port",
            "http://h:x/": "is not a URL",
            "http://[::1]:8080/": "--resolve NAME:PORT:[ADDRESS]",
        }
        for bad, expected in cases.items():
            with self.assertRaises(argparse.ArgumentTypeError, msg=bad) as caught:
                http_url(bad)
            self.assertIn(expected, str(caught.exception), bad)

    def test_resolve(self) -> None:
        self.assertEqual(resolve_entry("LocalHost:443:127.0.0.1"), ("localhost", 443, "127.0.0.1"))
        self.assertEqual(resolve_entry("h:80:[::1]"), ("h", 80, "::1"))
        self.assertEqual(resolve_entry("h:80:::1"), ("h", 80, "::1"))
        for bad in ("h:80", "h::1.2.3.4", ":80:1.2.3.4", "h:x:1.2.3.4", "h:0:1.2.3.4", "h:80:"):
            with self.assertRaises(argparse.ArgumentTypeError, msg=bad):
                resolve_entry(bad)


class CommandLineTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.stderr = io.StringIO()
        self.patch(sys, "stderr", self.stderr)
        self.patch(sys, "stdout", io.StringIO())
        self.patch(main_module, "SUBCOMMANDS", MODULES)

    def test_registered_by_one_line(self) -> None:
        args = build_parser().parse_args(["get", "http://127.0.0.1:8080/"])
        self.assertEqual(args.command, "get")
        self.assertIs(args._command, get)
        self.assertEqual(args.max_redirs, MAX_REDIRECTS)
        self.assertEqual(args.resolve, [])
        self.assertFalse(args.resume or args.fail or args.location or args.insecure)

    def test_bad_arguments(self) -> None:
        url = "http://127.0.0.1:8080/f"
        cases = {
            ("ftp://h/",): "only http:// and https:// URLs are supported",
            (url, "-C"): "--continue needs -o FILE",
            (url, "-C", "-o", "-"): "--continue needs -o FILE",
            (url, "-I", "-o", "f"): "-o FILE would stay empty",
            (url, "-I", "-C", "-o", "f"): "--continue has nothing to resume",
            (url, "-C", "-o", "f", "--compressed"): "--continue's offset",
            (url, "--max-redirs", "3"): "--max-redirs: only meaningful with -L",
            (url, "--max-time", "0"): "is not a positive number of seconds",
            (url, "--resolve", "h:80"): "expected HOST:PORT:ADDRESS",
            (url, "--key", "k.pem"): "--key needs --cert",
            (url, "--insecure", "--ca", "c.pem"): "--ca would not be used",
            (url, "--ca", "/nonexistent/ca.pem"): "cannot read '/nonexistent/ca.pem'",
        }
        for argv, expected in cases.items():
            self.stderr.truncate(0)
            self.stderr.seek(0)
            with self.assertRaises(SystemExit) as caught:
                main(["get", *argv])
            self.assertEqual(caught.exception.code, 2, argv)
            self.assertIn(expected, self.stderr.getvalue(), argv)
            self.assertIn("netsuite get: error:", self.stderr.getvalue(), argv)


class ShowProgressTests(SynchronousTestCase):
    """The bar goes to stderr when it is a terminal, and never onto the body."""

    def check(self, stderr_tty: bool, stdout_tty: bool, output: str | None, **flags: bool) -> bool:
        args = argparse.Namespace(silent=False, head=False)
        vars(args).update(flags)
        ttys = {sys.stderr.fileno(): stderr_tty, sys.stdout.fileno(): stdout_tty}
        self.patch(get.os, "isatty", lambda fd: ttys.get(fd, False))
        return get._show_progress(args, output)

    def setUp(self) -> None:
        # Real descriptors 1 and 2, whatever the test runner put in sys.stdout/stderr.
        for name, fd in (("stdout", 1), ("stderr", 2)):
            stream = open(fd, "w", closefd=False)  # noqa: SIM115 - closed by the cleanup
            self.addCleanup(stream.close)
            self.patch(sys, name, stream)

    def test_when(self) -> None:
        self.assertTrue(self.check(True, False, None))  # body piped, stderr a terminal
        self.assertTrue(self.check(True, True, "f.bin"))  # body to a file
        self.assertFalse(self.check(True, True, None))  # body on the terminal
        self.assertFalse(self.check(False, False, "f.bin"))  # stderr not a terminal
        self.assertFalse(self.check(True, False, "f.bin", silent=True))
        self.assertFalse(self.check(True, False, None, head=True))
